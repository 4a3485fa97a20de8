//! [`Node`]: one libmccache node, which owns its threads and its caches.
use std::ffi::c_int;
use std::fmt;
use std::ptr::NonNull;

use mccache_sys as sys;

use crate::cache::Cache;
use crate::callback::{free_opaque, into_opaque, log_trampoline};
use crate::config::Config;
use crate::error::{check, ErrorCode, Result};
use crate::ffi_util::{c_string, take_string};

/// Log levels, most severe first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum LogLevel {
    /// Something failed.
    Error,
    /// Something looks wrong.
    Warn,
    /// Lifecycle news (a cache opened, a member joined).
    Info,
    /// Details for debugging.
    Debug,
}

impl LogLevel {
    pub(crate) fn from_raw(raw: c_int) -> LogLevel {
        match raw as sys::mccache_log_level {
            sys::MCCACHE_LOG_ERROR => LogLevel::Error,
            sys::MCCACHE_LOG_WARN => LogLevel::Warn,
            sys::MCCACHE_LOG_INFO => LogLevel::Info,
            // Levels added later are more verbose than these.
            _ => LogLevel::Debug,
        }
    }
}

/// A libmccache node: its settings, its named caches, a loop thread (the
/// cluster and housekeeping) and a callback thread (every callback).
///
/// Dropping the node closes it (as [`close`](Node::close) does): the
/// callbacks still queued are delivered, its threads stop, the caches are
/// freed, and every registered callback's captured
/// state is dropped. [`Cache`] handles do not keep the node open; after
/// close, their calls return [`ErrorCode::Closed`]. Share a node between
/// threads with `&Node` or `Arc<Node>`: every method takes `&self`.
///
/// ```
/// # fn main() -> Result<(), mccache::Error> {
/// let mut config = mccache::Config::new()?;
/// config.set("cache_ttl", "10m")?;
/// let node = mccache::Node::open(&config)?;
/// let users = node.cache("users")?;
/// users.put("alice", "admin", mccache::Ttl::Default)?;
/// assert_eq!(users.get("alice")?.as_deref(), Some(&b"admin"[..]));
/// node.close()?;
/// assert_eq!(users.get("alice").unwrap_err().code(), mccache::ErrorCode::Closed);
/// # Ok(()) }
/// ```
pub struct Node {
    raw: NonNull<sys::mccache_t>,
}

// SAFETY: the header makes every node function thread-safe, including
// mccache_close concurrently with calls in flight (they finish first; later
// ones get MCCACHE_ECLOSED), and the handle has no thread affinity.
unsafe impl Send for Node {}
// SAFETY: as for Send, above.
unsafe impl Sync for Node {}

impl Node {
    /// Opens a node with `config` (copied: it can be reused or dropped).
    pub fn open(config: &Config) -> Result<Node> {
        Node::open_raw(config.as_ptr())
    }

    /// Opens a node with the defaults plus the `MCCACHE_*` environment (the
    /// same caveat about `std::env::set_var` as [`Config::load_env`]).
    pub fn open_default() -> Result<Node> {
        Node::open_raw(std::ptr::null())
    }

    fn open_raw(config: *const sys::mccache_config_t) -> Result<Node> {
        crate::version::ensure_compatible()?;
        let mut raw = std::ptr::null_mut();
        // SAFETY: valid out-pointer; `config` is NULL or a live configuration.
        check(unsafe { sys::mccache_open(config, &mut raw) })?;
        Ok(Node {
            raw: NonNull::new(raw).expect("mccache_open returned OK and NULL"),
        })
    }

    /// Opens (or finds) the cache `name`: 1 to 255 bytes, no `.`. The same
    /// name always gives the same cache.
    pub fn cache(&self, name: &str) -> Result<Cache> {
        let n = c_string("cache name", name)?;
        let mut raw = std::ptr::null_mut();
        // SAFETY: valid node, NUL-terminated name, valid out-pointer.
        check(unsafe { sys::mccache_cache_open(self.raw.as_ptr(), n.as_ptr(), &mut raw) })?;
        Ok(Cache::from_raw(raw))
    }

    /// The node's 64-bit id (configured `node_id`, or random).
    pub fn id(&self) -> Result<u64> {
        let mut id = 0;
        // SAFETY: valid node and out-pointer.
        check(unsafe { sys::mccache_node_id(self.raw.as_ptr(), &mut id) })?;
        Ok(id)
    }

    /// The effective configuration as JSON, with the source of each value.
    pub fn config_json(&self) -> Result<String> {
        // SAFETY: valid node and out-pointer.
        take_string(|out| unsafe { sys::mccache_node_config_json(self.raw.as_ptr(), out) })
    }

    /// Metrics of the node and every cache, as JSON
    /// (`{"node":{...},"caches":{"NAME":{...}}}`).
    pub fn metrics_json(&self) -> Result<String> {
        // SAFETY: valid node and out-pointer.
        take_string(|out| unsafe { sys::mccache_metrics_json(self.raw.as_ptr(), out) })
    }

    /// Runs one housekeeping pass now (expiry, tombstones) and waits for it.
    /// Returns [`ErrorCode::Busy`] from this node's own callbacks.
    pub fn housekeep(&self) -> Result<()> {
        // SAFETY: valid node.
        check(unsafe { sys::mccache_housekeep(self.raw.as_ptr()) })
    }

    /// Sends the node's log lines to `logger` instead of `log_filename`
    /// (or stderr), replacing an earlier logger.
    ///
    /// Lines are delivered asynchronously on the node's callback thread,
    /// never on the thread that logged: a slow logger never stalls a caller,
    /// but lines beyond 1024 waiting are dropped (and counted). A panic inside it
    /// is caught (see [`callback_panics`](crate::callback_panics)). Its
    /// captured state is dropped once, after its last call: on replacement,
    /// [`clear_logger`](Node::clear_logger) or close.
    pub fn set_logger<F>(&self, logger: F) -> Result<()>
    where
        F: Fn(LogLevel, &str) + Send + Sync + 'static,
    {
        let opaque = into_opaque(logger);
        // SAFETY: the trampolines match F; on any failure but EINVAL on a
        // NULL node (impossible here) the library frees `opaque` itself.
        check(unsafe {
            sys::mccache_set_log_cb(
                self.raw.as_ptr(),
                Some(log_trampoline::<F>),
                opaque,
                Some(free_opaque::<F>),
            )
        })
    }

    /// Goes back to logging to the configured file (or stderr).
    pub fn clear_logger(&self) -> Result<()> {
        // SAFETY: valid node; no callback, no opaque.
        check(unsafe {
            sys::mccache_set_log_cb(self.raw.as_ptr(), None, std::ptr::null_mut(), None)
        })
    }

    /// Closes the node: waits for calls in flight, delivers the callbacks
    /// still queued (a callback that never returns makes close wait
    /// forever), stops its threads and frees the caches; later calls on the node or its
    /// caches return [`ErrorCode::Closed`] (so does a second close).
    ///
    /// Returns [`ErrorCode::Busy`] from one of this node's own callbacks,
    /// where it would wait for itself. Values already read stay valid.
    pub fn close(&self) -> Result<()> {
        // SAFETY: valid node; safe concurrently with any other call.
        check(unsafe { sys::mccache_close(self.raw.as_ptr()) })
    }

    /// The raw handle, for calls through `mccache-sys`. It stays a valid
    /// token forever (calls return `MCCACHE_ECLOSED` after close).
    pub fn as_raw(&self) -> *mut sys::mccache_t {
        self.raw.as_ptr()
    }
}

impl Drop for Node {
    fn drop(&mut self) {
        // SAFETY: valid node (closed or not: a closed one answers ECLOSED).
        let rc = unsafe { sys::mccache_close(self.raw.as_ptr()) };
        if ErrorCode::from_raw(rc) == ErrorCode::Busy {
            // Dropped inside one of its own callbacks (it was moved into
            // one): close cannot wait for the running callback from its own
            // thread, so a helper thread closes it once the callback returns.
            let node = SendPtr(self.raw);
            std::thread::Builder::new()
                .name("mccache-close".into())
                .spawn(move || {
                    let node = node;
                    // SAFETY: the handle is a valid token forever.
                    unsafe { sys::mccache_close(node.0.as_ptr()) };
                })
                .ok();
        }
    }
}

/// A node handle moved to the helper thread of `Drop`.
struct SendPtr(NonNull<sys::mccache_t>);
// SAFETY: node handles are thread-safe tokens (see `impl Send for Node`).
unsafe impl Send for SendPtr {}

impl fmt::Debug for Node {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Node").field("raw", &self.raw).finish()
    }
}
