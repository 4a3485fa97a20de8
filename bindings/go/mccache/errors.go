package mccache

import "strings"

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

// Error is a failure of a call: the function of this package that failed,
// the code, and the library's message, which names the argument, key,
// source or range at fault. It unwraps to its Errno, so
// errors.Is(err, mccache.ErrTooBig) works. Its text reads
// "mccache: Cache.Set: value of 2097152 bytes exceeds max_value_size (1048576); nothing was stored".
type Error struct {
	Op      string // the function of this package, e.g. "Cache.Get" or "Open"
	Code    int
	Message string // why; empty means the code's sentence (mccache_strerror)
}

func (e *Error) Error() string {
	msg := e.Message
	if msg == "" {
		msg = cStrerror(e.Code)
	}
	if e.Op == "" {
		return "mccache: " + msg
	}
	return "mccache: " + e.Op + ": " + msg
}

// Unwrap returns the Errno sentinel of the code.
func (e *Error) Unwrap() error { return Errno(e.Code) }

// newError is a failure of op with the library's message. The library
// starts its messages with the C function that failed ("mccache_put: key
// is empty"); the user called op, not that function, so op replaces it.
func newError(op string, code int, libMsg string) *Error {
	if strings.HasPrefix(libMsg, "mccache_") {
		if i := strings.Index(libMsg, ": "); i > 0 && !strings.ContainsAny(libMsg[:i], " (") {
			libMsg = libMsg[i+2:]
		}
	}
	return &Error{Op: op, Code: code, Message: libMsg}
}

// notFound is the error of a miss in op. Misses are frequent, and the
// library's message for them ("key not found") adds nothing, so each
// operation that can miss returns one shared value and allocates nothing.
func notFound(op string) *Error {
	return &Error{Op: op, Code: int(ErrNotFound), Message: "key not found"}
}

var (
	errGetMiss         = notFound("Cache.Get")
	errGetIntoMiss     = notFound("Cache.GetInto")
	errMetadataMiss    = notFound("Cache.Metadata")
	errKeyChecksumMiss = notFound("Cache.KeyChecksum")
)

// invalid is an argument error of op detected before calling the library.
func invalid(op, msg string) error { return &Error{Op: op, Code: int(ErrInvalid), Message: msg} }

// withOp names op as the failed function of err, when err is this package's
// *Error naming another (Open reports the Config calls it makes as its own).
func withOp(op string, err error) error {
	if e, ok := err.(*Error); ok && e.Op != op {
		c := *e
		c.Op = op
		return &c
	}
	return err
}
