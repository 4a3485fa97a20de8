package mccache

// Internals the black-box tests read.
var (
	LiveHandles    = liveHandles.Load
	BadReleases    = badReleases.Load
	CallbackPanics = callbackPanics.Load
	CErrName       = cErrName
	CStrerror      = cStrerror
	CheckVersion   = checkVersion
)
