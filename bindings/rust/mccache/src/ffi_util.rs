//! Small conversions at the C boundary shared by every module.
use std::ffi::{c_char, CStr, CString};
use std::path::Path;

use mccache_sys as sys;

use crate::error::{check, Error, ErrorCode, Result};

/// A Rust string as a C string; a NUL byte inside cannot cross into C.
pub(crate) fn c_string(what: &str, s: &str) -> Result<CString> {
    CString::new(s).map_err(|_| {
        Error::new(
            ErrorCode::InvalidArgument,
            format!("{what} {s:?} contains a NUL byte"),
        )
    })
}

#[cfg(unix)]
pub(crate) fn c_path(path: &Path) -> Result<CString> {
    use std::os::unix::ffi::OsStrExt;
    CString::new(path.as_os_str().as_bytes()).map_err(|_| {
        Error::new(
            ErrorCode::InvalidArgument,
            format!("path {path:?} contains a NUL byte"),
        )
    })
}

#[cfg(not(unix))]
pub(crate) fn c_path(path: &Path) -> Result<CString> {
    let s = path.to_str().ok_or_else(|| {
        Error::new(
            ErrorCode::InvalidArgument,
            format!("path {path:?} is not valid Unicode"),
        )
    })?;
    c_string("path", s)
}

/// Runs a C call that hands back a `char *` to free with `mccache_free()`,
/// and returns it as an owned `String`.
pub(crate) fn take_string(call: impl FnOnce(*mut *mut c_char) -> i32) -> Result<String> {
    let mut out: *mut c_char = std::ptr::null_mut();
    check(call(&mut out))?;
    if out.is_null() {
        return Ok(String::new());
    }
    // SAFETY: on success the library stored a NUL-terminated string that the
    // caller owns; it is copied, then released with the library's allocator.
    let s = unsafe { CStr::from_ptr(out) }
        .to_string_lossy()
        .into_owned();
    // SAFETY: `out` came from the library and is freed once, here.
    unsafe { sys::mccache_free(out.cast()) };
    Ok(s)
}
