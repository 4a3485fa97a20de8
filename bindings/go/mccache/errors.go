package mccache

//go:generate go run ../internal/generr -header ../../../include/mccache.h -out errors_gen.go

// Errno is an error code of the C library (a negative MCCACHE_E* value).
// The constants ErrInvalid, ErrNotFound, ... are the sentinels to test with
// errors.Is; every error this package returns wraps one of them.
type Errno int

// Error returns the library's sentence for the code.
func (e Errno) Error() string { return "mccache: " + cStrerror(int(e)) }

// Name returns the C name of the code, e.g. "MCCACHE_ENOTFOUND".
func (e Errno) Name() string {
	if n, ok := errnoNames[e]; ok {
		return n
	}
	return "MCCACHE_EUNKNOWN"
}

// Error is a failure of a call: the code and the library's message, which
// names the argument, key, source or range at fault. It unwraps to its
// Errno, so errors.Is(err, mccache.ErrTooBig) works.
type Error struct {
	Code    int
	Message string
}

func (e *Error) Error() string {
	msg := e.Message
	if msg == "" {
		msg = cStrerror(e.Code)
	}
	return "mccache: " + msg + " (" + Errno(e.Code).Name() + ")"
}

// Unwrap returns the Errno sentinel of the code.
func (e *Error) Unwrap() error { return Errno(e.Code) }

// errKeyNotFound is returned for every miss: misses are frequent, and the
// library's message for them ("key not found") adds nothing, so they
// allocate nothing.
var errKeyNotFound = &Error{Code: int(ErrNotFound), Message: "key not found"}

// codeError is the error for a code that came without a message.
func codeError(code int) error {
	if code == int(ErrNotFound) {
		return errKeyNotFound
	}
	return &Error{Code: code}
}

// invalid is an argument error detected before calling the library.
func invalid(msg string) error { return &Error{Code: int(ErrInvalid), Message: msg} }
