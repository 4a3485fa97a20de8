package mccache

import "fmt"

// BuiltVersion is the version of mccache.h this package was compiled
// against, as MAJOR*10000 + MINOR*100 + PATCH.
const BuiltVersion = builtVersion

// LibraryVersion returns the loaded library's version string, e.g. "0.1.0".
func LibraryVersion() string { return cVersionString() }

// LibraryVersionNumber returns the loaded library's version as MAJOR*10000 + MINOR*100 + PATCH.
func LibraryVersionNumber() int { return cVersion() }

// versionErr is decided once, when the package loads; Open and NewConfig
// return it, so a mismatched libmccache.so fails the first call, not init.
var versionErr = checkVersion(cVersion(), builtVersion)

// checkVersion accepts a library of the same major version and at least the
// version the binding was built for. Within major 0 every minor may change
// the ABI, so there the minor must match too.
func checkVersion(loaded, built int) error {
	ok := loaded/10000 == built/10000 && loaded >= built
	if built/10000 == 0 {
		ok = ok && loaded/100 == built/100
	}
	if ok {
		return nil
	}
	return &Error{Code: int(ErrNotSupported), Message: fmt.Sprintf(
		"libmccache %s is loaded, but this binding was built for %s (it needs the same major version, at least that recent)",
		fmtVersion(loaded), fmtVersion(built))}
}

func fmtVersion(v int) string { return fmt.Sprintf("%d.%d.%d", v/10000, v/100%100, v%100) }
