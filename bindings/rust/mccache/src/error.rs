//! Errors: the header's stable `MCCACHE_E*` codes plus the calling thread's
//! `mccache_last_error()` message, read right after the failing call.
use std::ffi::{c_int, CStr};
use std::fmt;

use mccache_sys as sys;

/// A libmccache error code (the stable negative `MCCACHE_E*` values of
/// `mccache.h`).
///
/// The enum is `#[non_exhaustive]`: newer libraries append codes, which this
/// binding reports as [`ErrorCode::Unknown`] until it learns them.
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ErrorCode {
    /// `MCCACHE_EINVAL`: an argument is invalid (empty key, NUL byte, ...).
    InvalidArgument,
    /// `MCCACHE_ENOMEM`: out of memory.
    NoMemory,
    /// `MCCACHE_ENOTFOUND`: the key, setting or entry does not exist.
    ///
    /// Lookups report a missing key as `Ok(None)`/`Ok(false)` instead.
    NotFound,
    /// `MCCACHE_EEXISTS`: already exists.
    Exists,
    /// `MCCACHE_EBUFS`: the caller's buffer is too small; see
    /// [`Error::needed_size`].
    BufferTooSmall,
    /// `MCCACHE_ETOOBIG`: a key or value exceeds the configured maximum.
    TooBig,
    /// `MCCACHE_ECLOSED`: the node was closed.
    Closed,
    /// `MCCACHE_ETIMEDOUT`: a deadline passed.
    TimedOut,
    /// `MCCACHE_ECANCELED`: the operation was cancelled by shutdown.
    Canceled,
    /// `MCCACHE_EBUSY`: not allowed now (closing a node from its own callback).
    Busy,
    /// `MCCACHE_ECONFIG`: a setting is unknown or its value is invalid.
    Config,
    /// `MCCACHE_EIO`: a file or socket operation failed.
    Io,
    /// `MCCACHE_ESTALE`: a write lost to a newer version.
    Stale,
    /// `MCCACHE_EUSER`: a loader's failure (never produced by the library itself).
    User,
    /// `MCCACHE_ENOTSUP`: not supported by this build or configuration.
    NotSupported,
    /// `MCCACHE_EINTERNAL`: a bug in libmccache.
    Internal,
    /// A code this binding does not know (a newer library), kept raw.
    Unknown(i32),
}

/// The mirror of the header's codes, from the generated constants, so a
/// value can never drift; `tests/errors.rs` checks the names against
/// `mccache_err_name()` for every code.
const CODES: [(ErrorCode, c_int, &str); 16] = [
    (
        ErrorCode::InvalidArgument,
        sys::MCCACHE_EINVAL,
        "MCCACHE_EINVAL",
    ),
    (ErrorCode::NoMemory, sys::MCCACHE_ENOMEM, "MCCACHE_ENOMEM"),
    (
        ErrorCode::NotFound,
        sys::MCCACHE_ENOTFOUND,
        "MCCACHE_ENOTFOUND",
    ),
    (ErrorCode::Exists, sys::MCCACHE_EEXISTS, "MCCACHE_EEXISTS"),
    (
        ErrorCode::BufferTooSmall,
        sys::MCCACHE_EBUFS,
        "MCCACHE_EBUFS",
    ),
    (ErrorCode::TooBig, sys::MCCACHE_ETOOBIG, "MCCACHE_ETOOBIG"),
    (ErrorCode::Closed, sys::MCCACHE_ECLOSED, "MCCACHE_ECLOSED"),
    (
        ErrorCode::TimedOut,
        sys::MCCACHE_ETIMEDOUT,
        "MCCACHE_ETIMEDOUT",
    ),
    (
        ErrorCode::Canceled,
        sys::MCCACHE_ECANCELED,
        "MCCACHE_ECANCELED",
    ),
    (ErrorCode::Busy, sys::MCCACHE_EBUSY, "MCCACHE_EBUSY"),
    (ErrorCode::Config, sys::MCCACHE_ECONFIG, "MCCACHE_ECONFIG"),
    (ErrorCode::Io, sys::MCCACHE_EIO, "MCCACHE_EIO"),
    (ErrorCode::Stale, sys::MCCACHE_ESTALE, "MCCACHE_ESTALE"),
    (ErrorCode::User, sys::MCCACHE_EUSER, "MCCACHE_EUSER"),
    (
        ErrorCode::NotSupported,
        sys::MCCACHE_ENOTSUP,
        "MCCACHE_ENOTSUP",
    ),
    (
        ErrorCode::Internal,
        sys::MCCACHE_EINTERNAL,
        "MCCACHE_EINTERNAL",
    ),
];

impl ErrorCode {
    /// Every code this binding knows, in the header's order.
    pub fn all() -> impl Iterator<Item = ErrorCode> {
        CODES.iter().map(|&(code, _, _)| code)
    }

    /// The code for a raw C return value (anything but `MCCACHE_OK`).
    pub fn from_raw(raw: i32) -> ErrorCode {
        CODES
            .iter()
            .find(|&&(_, r, _)| r == raw)
            .map_or(ErrorCode::Unknown(raw), |&(code, _, _)| code)
    }

    /// The raw C value, e.g. `-3` for [`ErrorCode::NotFound`].
    pub fn raw(self) -> i32 {
        match self {
            ErrorCode::Unknown(raw) => raw,
            known => CODES
                .iter()
                .find(|&&(c, _, _)| c == known)
                .map_or(sys::MCCACHE_EINTERNAL, |&(_, r, _)| r),
        }
    }

    /// The symbolic name, e.g. `"MCCACHE_ENOTFOUND"` (`"MCCACHE_EUNKNOWN"`
    /// for a code this binding does not know), as `mccache_err_name()`.
    pub fn name(self) -> &'static str {
        match self {
            ErrorCode::Unknown(_) => "MCCACHE_EUNKNOWN",
            known => CODES
                .iter()
                .find(|&&(c, _, _)| c == known)
                .map_or("MCCACHE_EUNKNOWN", |&(_, _, n)| n),
        }
    }
}

impl fmt::Display for ErrorCode {
    /// The library's own sentence for the code (`mccache_strerror()`).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // SAFETY: mccache_strerror accepts any int and returns a static,
        // NUL-terminated string, never NULL.
        let text = unsafe { CStr::from_ptr(sys::mccache_strerror(self.raw())) };
        f.write_str(&text.to_string_lossy())
    }
}

/// A failed libmccache call: its code and the library's message, which
/// names the argument, key, source or range at fault.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Error {
    code: ErrorCode,
    message: String,
    needed: Option<usize>,
}

impl Error {
    /// An error made by the binding itself (e.g. a string holding a NUL byte,
    /// which cannot cross into C).
    pub(crate) fn new(code: ErrorCode, message: impl Into<String>) -> Error {
        Error {
            code,
            message: message.into(),
            needed: None,
        }
    }

    /// The error of the call that just returned `rc` on this thread.
    ///
    /// Must run right after that call, before any other call on this thread
    /// could fail and replace the thread-local message.
    #[cold]
    #[inline(never)]
    pub(crate) fn last(rc: c_int) -> Error {
        // SAFETY: mccache_last_error returns a thread-local, NUL-terminated
        // string, never NULL, valid until the next failing call on this
        // thread; it is copied at once.
        let message = unsafe { CStr::from_ptr(sys::mccache_last_error()) }
            .to_string_lossy()
            .into_owned();
        Error {
            code: ErrorCode::from_raw(rc),
            message,
            needed: None,
        }
    }

    pub(crate) fn with_needed(mut self, needed: usize) -> Error {
        self.needed = Some(needed);
        self
    }

    /// The error code.
    pub fn code(&self) -> ErrorCode {
        self.code
    }

    /// The library's message for this failure (may be empty).
    pub fn message(&self) -> &str {
        &self.message
    }

    /// For [`ErrorCode::BufferTooSmall`]: the buffer size the call needed.
    pub fn needed_size(&self) -> Option<usize> {
        self.needed
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.message.is_empty() {
            write!(f, "{} ({})", self.code, self.code.name())
        } else {
            write!(f, "{} ({})", self.message, self.code.name())
        }
    }
}

impl std::error::Error for Error {}

/// `Result` with this crate's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Maps a C return value to `Ok(())` or the thread's last error.
#[inline(always)]
pub(crate) fn check(rc: c_int) -> Result<()> {
    if rc == sys::MCCACHE_OK {
        Ok(())
    } else {
        Err(Error::last(rc))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_code_round_trips_through_last() {
        for raw in -16..=-1 {
            let e = Error::last(raw);
            assert_eq!(e.code().raw(), raw);
            assert_ne!(
                e.code(),
                ErrorCode::Unknown(raw),
                "code {raw} is not mirrored"
            );
        }
        assert_eq!(Error::last(-17).code(), ErrorCode::Unknown(-17));
    }

    #[test]
    fn display_names_the_code() {
        let e = Error::new(ErrorCode::Closed, "mccache_put: the node is closed");
        assert_eq!(
            e.to_string(),
            "mccache_put: the node is closed (MCCACHE_ECLOSED)"
        );
        let bare = Error::new(ErrorCode::NotFound, "");
        assert_eq!(bare.to_string(), "not found (MCCACHE_ENOTFOUND)");
    }
}
