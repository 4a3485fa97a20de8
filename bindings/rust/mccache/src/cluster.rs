//! The cluster side of a [`Node`]: membership, anti-entropy, cluster-wide
//! queries, and key rotation.
use std::ffi::{c_char, c_int, CStr};
use std::ptr;
use std::time::Duration;

use mccache_sys as sys;

use crate::callback::{free_opaque, into_opaque, member_trampoline, reply_trampoline};
use crate::error::{check, Result};
use crate::event::MemberEvent;
use crate::ffi_util::{c_string, take_string};
use crate::node::Node;

/// What a cluster-wide request asks every member for.
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Query<'a> {
    /// Each member's [`Node::metrics_json`].
    Metrics,
    /// Each member's checksums (`{"node":HEX,"caches":{"NAME":{"checksum":HEX,"entries":N}}}`),
    /// of one cache or (`None`) of every cache.
    Checksums(Option<&'a str>),
}

/// One call of a [`Node::cluster_request`] callback.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reply {
    /// A member's answer (this node answers too).
    Answer {
        /// The answering member's node id.
        member: u64,
        /// Its answer, as JSON.
        json: String,
    },
    /// The request is over: every live member answered, or the timeout
    /// passed. Always the last call.
    Done,
}

/// The C arguments of a query; `cache` keeps the name alive as a C string.
struct RawQuery {
    kind: c_int,
    cache: Option<std::ffi::CString>,
}

impl RawQuery {
    fn new(query: Query<'_>) -> Result<RawQuery> {
        Ok(match query {
            Query::Metrics => RawQuery {
                kind: sys::MCCACHE_QUERY_METRICS as c_int,
                cache: None,
            },
            Query::Checksums(cache) => RawQuery {
                kind: sys::MCCACHE_QUERY_CHECKSUMS as c_int,
                cache: cache.map(|c| c_string("cache name", c)).transpose()?,
            },
        })
    }

    fn cache_ptr(&self) -> *const c_char {
        self.cache.as_ref().map_or(ptr::null(), |c| c.as_ptr())
    }
}

/// A timeout as the C `timeout_ms`; the library checks the range (1 ms to
/// 60 s), so an out-of-range one saturates and is refused there.
fn timeout_ms(timeout: Duration) -> c_int {
    c_int::try_from(timeout.as_millis()).unwrap_or(c_int::MAX)
}

impl Node {
    /// Calls `callback` when members join, leave, go down, recover or
    /// restart (replacing an earlier one), on the node's callback thread.
    /// The same rules as [`Cache::on_change`](crate::Cache::on_change):
    /// return quickly, panics are caught, and the closure is dropped exactly
    /// once.
    pub fn on_member<F>(&self, callback: F) -> Result<()>
    where
        F: Fn(MemberEvent) + Send + Sync + 'static,
    {
        let opaque = into_opaque(callback);
        // SAFETY: the trampolines match F; on any failure but EINVAL on a
        // NULL node (impossible here) the library frees `opaque` itself.
        check(unsafe {
            sys::mccache_on_member(
                self.as_raw(),
                Some(member_trampoline::<F>),
                opaque,
                Some(free_opaque::<F>),
            )
        })
    }

    /// Unregisters the membership callback.
    pub fn clear_on_member(&self) -> Result<()> {
        // SAFETY: valid node; no callback, no opaque.
        check(unsafe { sys::mccache_on_member(self.as_raw(), None, ptr::null_mut(), None) })
    }

    /// The members this node knows, as JSON:
    /// `{"self":{"id":HEX,"address":"ip:port"},"members":[{"id":HEX,"address":..,"state":"alive|down|left","last_seen_ms":N}]}`.
    pub fn members_json(&self) -> Result<String> {
        // SAFETY: valid node and out-pointer.
        take_string(|out| unsafe { sys::mccache_members_json(self.as_raw(), out) })
    }

    /// Starts an anti-entropy round with every member now; repairs follow
    /// asynchronously (and are reported with [`Origin::Repair`](crate::Origin::Repair)).
    pub fn sync(&self) -> Result<()> {
        // SAFETY: valid node.
        check(unsafe { sys::mccache_sync(self.as_raw()) })
    }

    /// Asks every member (this one included) for `query`; `on_reply` gets
    /// one [`Reply::Answer`] per member, then [`Reply::Done`] once every
    /// live member answered or `timeout` (1 ms to 60 s) passed. It runs on
    /// the node's callback thread (`Done` on the closing thread if the node
    /// closes first) and is dropped after `Done`.
    pub fn cluster_request<F>(&self, query: Query<'_>, timeout: Duration, on_reply: F) -> Result<()>
    where
        F: FnMut(Reply) + Send + 'static,
    {
        let q = RawQuery::new(query)?;
        let opaque = into_opaque(on_reply);
        // SAFETY: the trampolines match F; the cache name is copied; on any
        // failure but EINVAL on a NULL node the library frees `opaque`.
        check(unsafe {
            sys::mccache_cluster_request(
                self.as_raw(),
                q.kind,
                q.cache_ptr(),
                timeout_ms(timeout),
                Some(reply_trampoline::<F>),
                opaque,
                Some(free_opaque::<F>),
            )
        })
    }

    /// Asks every member and waits: `{"replies":{"HEX-ID":ANSWER,...},"members":N}`,
    /// where `N` members were alive when asked (compare it with the number
    /// of replies). Blocks up to `timeout`; returns
    /// [`ErrorCode::Busy`](crate::ErrorCode::Busy) from this node's callbacks.
    pub fn cluster_collect(&self, query: Query<'_>, timeout: Duration) -> Result<String> {
        let q = RawQuery::new(query)?;
        // SAFETY: valid node, C string and out-pointer.
        take_string(|out| unsafe {
            sys::mccache_cluster_collect(
                self.as_raw(),
                q.kind,
                q.cache_ptr(),
                timeout_ms(timeout),
                out,
            )
        })
    }

    /// Changes the node's keys without downtime: `seal` seals what it sends
    /// (and is accepted), `accept` is only accepted; `None` for none. Rotate
    /// by giving every member the new key as `accept`, then as `seal` with
    /// the old one as `accept`, then dropping the old one.
    pub fn set_keys(&self, seal: Option<&str>, accept: Option<&str>) -> Result<()> {
        let seal = seal.map(|k| c_string("seal key", k)).transpose()?;
        let accept = accept.map(|k| c_string("accept key", k)).transpose()?;
        let ptr_of = |k: &Option<std::ffi::CString>| k.as_ref().map_or(ptr::null(), |k| k.as_ptr());
        // SAFETY: valid node; NULL or NUL-terminated keys, copied by the call.
        check(unsafe { sys::mccache_set_keys(self.as_raw(), ptr_of(&seal), ptr_of(&accept)) })
    }
}

/// A new cluster key: 32 random bytes from the OS, as base64 (for
/// `crypto_key` or [`Node::set_keys`]).
pub fn generate_key() -> Result<String> {
    let mut buf = [0u8; 64];
    // SAFETY: `buf` has 64 writable bytes, more than the 45 needed.
    check(unsafe { sys::mccache_generate_key(buf.as_mut_ptr().cast(), buf.len()) })?;
    let key = CStr::from_bytes_until_nul(&buf)
        .map(|k| k.to_string_lossy().into_owned())
        .unwrap_or_default();
    // The caller owns the only copy now; wipe ours, as the header asks.
    for b in &mut buf {
        // SAFETY: a valid, aligned byte of `buf`; volatile so it is not elided.
        unsafe { ptr::write_volatile(b, 0) };
    }
    Ok(key)
}
