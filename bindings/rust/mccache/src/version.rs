//! The library's version, and the check that the loaded libmccache fits the
//! one this binding was built for.
use std::ffi::CStr;
use std::sync::OnceLock;

use mccache_sys as sys;

use crate::error::{Error, ErrorCode, Result};

/// The loaded library's version as `MAJOR*10000 + MINOR*100 + PATCH`.
pub fn library_version() -> u32 {
    // SAFETY: no arguments, no state.
    unsafe { sys::mccache_version() }
}

/// The loaded library's version as text, e.g. `"0.1.0"`.
pub fn library_version_string() -> &'static str {
    // SAFETY: a static, NUL-terminated string, never NULL.
    unsafe { CStr::from_ptr(sys::mccache_version_string()) }
        .to_str()
        .unwrap_or("?")
}

/// The libmccache version this binding was built for, as
/// `MAJOR*10000 + MINOR*100 + PATCH` (`MCCACHE_VERSION_NUMBER`).
pub const BUILT_FOR_VERSION: u32 = sys::MCCACHE_VERSION_NUMBER;

/// Whether the loaded library can serve this binding: the same major
/// version (the ABI is stable within one, and the soname carries it), and
/// at least the minor/patch the bindings were generated from (functions are
/// only ever added).
pub fn check_version() -> Result<()> {
    let loaded = library_version();
    if loaded / 10000 == BUILT_FOR_VERSION / 10000 && loaded >= BUILT_FOR_VERSION {
        return Ok(());
    }
    Err(Error::new(
        ErrorCode::NotSupported,
        format!(
            "libmccache {} is loaded, but this binding needs {}.x.y >= {}",
            library_version_string(),
            BUILT_FOR_VERSION / 10000,
            sys::BUILT_FOR_VERSION
        ),
    ))
}

/// Runs [`check_version`] once per process; every constructor calls it, as
/// Rust has no load-time hook.
pub(crate) fn ensure_compatible() -> Result<()> {
    static CHECKED: OnceLock<Result<()>> = OnceLock::new();
    CHECKED.get_or_init(check_version).clone()
}
