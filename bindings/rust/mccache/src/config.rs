//! [`Config`]: the settings a node opens with.
use std::ffi::{c_char, CStr};
use std::fmt;
use std::path::Path;
use std::ptr::NonNull;

use mccache_sys as sys;

use crate::error::{check, Error, ErrorCode, Result};
use crate::ffi_util::{c_path, c_string, take_string};

/// Settings for [`Node::open`](crate::Node::open), as string key/value pairs
/// (`docs/CONFIG.md` lists every key, its default and range).
///
/// Sources, from the weakest to the strongest: built-in defaults,
/// [`load_file`](Config::load_file), [`load_env`](Config::load_env), then
/// [`set`](Config::set). A weaker source never overwrites a stronger one,
/// whatever the order of the calls. Per-cache keys take the cache's name as
/// a prefix (`"sessions.cache_ttl"`).
///
/// ```
/// # fn main() -> Result<(), mccache::Error> {
/// let mut config = mccache::Config::new()?;
/// config.set("cache_ttl", "10m")?.set("sessions.cache_max", "1000")?;
/// assert_eq!(config.get("sessions.cache_max")?, "1000");
///
/// let err = config.set("cache_ttl", "soon").unwrap_err();
/// assert_eq!(err.code(), mccache::ErrorCode::Config);
/// assert!(err.message().contains("cache_ttl"));
/// # Ok(()) }
/// ```
pub struct Config {
    raw: NonNull<sys::mccache_config_t>,
}

// SAFETY: a configuration is plain data with no thread affinity, so it may
// move between threads. Sharing is sound because the header only forbids
// racing with *writes* to the same configuration, and every writer here
// takes `&mut self`, so `&Config` allows reads only.
unsafe impl Send for Config {}
// SAFETY: as for Send, above.
unsafe impl Sync for Config {}

impl Config {
    /// A configuration holding the built-in defaults.
    pub fn new() -> Result<Config> {
        crate::version::ensure_compatible()?;
        let mut raw = std::ptr::null_mut();
        // SAFETY: `raw` is a valid out-pointer.
        check(unsafe { sys::mccache_config_new(&mut raw) })?;
        let raw = NonNull::new(raw).expect("mccache_config_new returned OK and NULL");
        Ok(Config { raw })
    }

    /// Sets one key (the strongest source). Fails with
    /// [`ErrorCode::Config`](crate::ErrorCode::Config) for an unknown key or
    /// a bad value; the message names the key and the accepted range.
    pub fn set(&mut self, key: &str, value: &str) -> Result<&mut Config> {
        let k = c_string("key", key)?;
        let v = c_string("value", value)?;
        // SAFETY: valid config and NUL-terminated strings, copied by the call.
        check(unsafe { sys::mccache_config_set(self.raw.as_ptr(), k.as_ptr(), v.as_ptr()) })?;
        Ok(self)
    }

    /// Loads an INI file: `[mccache]` for the node, `[NAME]` for cache NAME.
    /// All or nothing: on error the configuration is unchanged and the
    /// message names `path:line`.
    pub fn load_file(&mut self, path: impl AsRef<Path>) -> Result<&mut Config> {
        let p = c_path(path.as_ref())?;
        // SAFETY: valid config and NUL-terminated path, not retained.
        check(unsafe { sys::mccache_config_load_file(self.raw.as_ptr(), p.as_ptr()) })?;
        Ok(self)
    }

    /// Loads the `MCCACHE_<KEY>` environment variables. All or nothing.
    ///
    /// The C library reads the process environment directly, so this must
    /// not run while another thread calls `std::env::set_var` (which is why
    /// that function is `unsafe` from Rust 2024 on).
    pub fn load_env(&mut self) -> Result<&mut Config> {
        // SAFETY: valid config; see the note above about the environment.
        check(unsafe { sys::mccache_config_load_env(self.raw.as_ptr()) })?;
        Ok(self)
    }

    /// One key's effective value as text (secrets read back as `"(set)"`).
    pub fn get(&self, key: &str) -> Result<String> {
        let k = c_string("key", key)?;
        let mut buf: Vec<u8> = vec![0; 64];
        loop {
            let mut len = buf.len();
            // SAFETY: `buf` has `len` writable bytes; the call writes at most
            // that many, or reports the size it needs.
            let rc = unsafe {
                sys::mccache_config_get(
                    self.raw.as_ptr(),
                    k.as_ptr(),
                    buf.as_mut_ptr().cast::<c_char>(),
                    &mut len,
                )
            };
            match rc {
                sys::MCCACHE_OK => {
                    let text = CStr::from_bytes_until_nul(&buf).map_err(|_| {
                        Error::new(ErrorCode::Internal, "mccache_config_get: no NUL")
                    })?;
                    return Ok(text.to_string_lossy().into_owned());
                }
                // Only `&mut self` writes, so one retry with the size asked
                // for succeeds; the loop just keeps that argument local.
                sys::MCCACHE_EBUFS if len > buf.len() => buf.resize(len, 0),
                rc => return Err(Error::last(rc)),
            }
        }
    }

    /// The whole configuration as JSON, with the source of every value:
    /// `{"node":{"KEY":{"value":V,"source":"default|file:PATH:LINE|env:VAR|api"}},"caches":{...}}`.
    pub fn to_json(&self) -> Result<String> {
        // SAFETY: valid config and out-pointer.
        take_string(|out| unsafe { sys::mccache_config_to_json(self.raw.as_ptr(), out) })
    }

    pub(crate) fn as_ptr(&self) -> *const sys::mccache_config_t {
        self.raw.as_ptr()
    }
}

impl Drop for Config {
    fn drop(&mut self) {
        // SAFETY: we own the configuration; nothing else refers to it.
        unsafe { sys::mccache_config_free(self.raw.as_ptr()) }
    }
}

impl fmt::Debug for Config {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Config").finish_non_exhaustive()
    }
}
