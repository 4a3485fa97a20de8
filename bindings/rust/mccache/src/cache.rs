//! [`Cache`]: a named cache of a node, and its operations.
use std::ffi::{c_void, CStr};
use std::fmt;
use std::ptr::{self, NonNull};

use mccache_sys as sys;

use crate::callback::{change_trampoline, free_opaque, into_opaque};
use crate::error::{check, Error, Result};
use crate::event::Event;
use crate::iter::Iter;
use crate::metadata::Metadata;
use crate::time::Ttl;
use crate::value::ValueRef;

/// A named cache of a [`Node`](crate::Node): a bounded, thread-safe map from
/// byte keys to byte values, with per-entry TTLs and versions.
///
/// A `Cache` is a cheap handle (`Clone`, `Send`, `Sync`, `'static`), so it
/// can move into threads and callbacks. It does not keep its node open:
/// once the node is closed or dropped, every call returns
/// [`ErrorCode::Closed`](crate::ErrorCode::Closed). That is the C contract
/// (closed handles stay valid tokens for the life of the process), which is
/// what makes the handle sound without a lifetime.
///
/// Keys and values are anything `AsRef<[u8]>` (`&str`, `String`, `Vec<u8>`,
/// byte slices); both are copied by the library. A missing key is
/// `Ok(None)`/`Ok(false)`, not an error.
///
/// ```
/// # fn main() -> Result<(), mccache::Error> {
/// use std::time::Duration;
/// use mccache::Ttl;
/// # let node = mccache::Node::open(&mccache::Config::new()?)?;
/// let sessions = node.cache("sessions")?;
/// sessions.put("s1", "alice", Ttl::After(Duration::from_secs(60)))?;
/// assert_eq!(sessions.get("s1")?, Some(b"alice".to_vec()));
/// assert!(sessions.contains("s1")?);
/// assert!(sessions.delete("s1")?);
/// assert_eq!(sessions.get("s1")?, None);
/// # Ok(()) }
/// ```
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct Cache {
    raw: NonNull<sys::mccache_cache_t>,
}

// SAFETY: every cache function in the header is thread-safe, and a cache
// handle stays a valid token (answering MCCACHE_ECLOSED) after its node
// closes, so it may be used from, and sent to, any thread at any time.
unsafe impl Send for Cache {}
// SAFETY: as for Send, above.
unsafe impl Sync for Cache {}

#[inline(always)]
fn key_parts(key: &[u8]) -> (*const c_void, usize) {
    (key.as_ptr().cast(), key.len())
}

impl Cache {
    pub(crate) fn from_raw(raw: *mut sys::mccache_cache_t) -> Cache {
        Cache {
            raw: NonNull::new(raw).expect("NULL cache handle from libmccache"),
        }
    }

    /// The raw handle, for calls through `mccache-sys`.
    pub fn as_raw(&self) -> *mut sys::mccache_cache_t {
        self.raw.as_ptr()
    }

    /// The cache's name.
    pub fn name(&self) -> &str {
        // SAFETY: the name is owned by the handle, which is never freed; it
        // was given to the library as UTF-8.
        let name = unsafe { CStr::from_ptr(sys::mccache_cache_name(self.raw.as_ptr())) };
        name.to_str().unwrap_or("\u{FFFD}")
    }

    /// Inserts or replaces an entry; `ttl` says when it expires.
    #[inline]
    pub fn put(&self, key: impl AsRef<[u8]>, value: impl AsRef<[u8]>, ttl: Ttl) -> Result<()> {
        let (k, klen) = key_parts(key.as_ref());
        let value = value.as_ref();
        // SAFETY: valid handle; both buffers are live for the call and copied.
        check(unsafe {
            sys::mccache_put(
                self.raw.as_ptr(),
                k,
                klen,
                value.as_ptr().cast(),
                value.len(),
                ttl.as_ms(),
            )
        })
    }

    /// The value of `key` as an owned copy, or `None` if absent or expired.
    #[inline]
    pub fn get(&self, key: impl AsRef<[u8]>) -> Result<Option<Vec<u8>>> {
        Ok(self.get_ref(key)?.map(|v| v.to_vec()))
    }

    /// The value of `key` without copying it: a guard over the library's
    /// refcounted value, or `None` if absent or expired.
    #[inline]
    pub fn get_ref(&self, key: impl AsRef<[u8]>) -> Result<Option<ValueRef>> {
        let (k, klen) = key_parts(key.as_ref());
        let mut out = ptr::null_mut();
        // SAFETY: valid handle, key and out-pointer.
        match unsafe { sys::mccache_get(self.raw.as_ptr(), k, klen, &mut out) } {
            // SAFETY: on success we own one reference to `out`.
            sys::MCCACHE_OK => Ok(Some(unsafe { ValueRef::from_raw(out) })),
            sys::MCCACHE_ENOTFOUND => Ok(None),
            rc => Err(Error::last(rc)),
        }
    }

    /// Copies the value of `key` into `buf`: `Some(len)` on a hit, `None` if
    /// absent. A value larger than `buf` fails with
    /// [`ErrorCode::BufferTooSmall`](crate::ErrorCode::BufferTooSmall), and
    /// [`Error::needed_size`] tells the size to retry with.
    ///
    /// ```
    /// # fn main() -> Result<(), mccache::Error> {
    /// # let node = mccache::Node::open(&mccache::Config::new()?)?;
    /// # let cache = node.cache("docs")?;
    /// cache.put("k", "twelve bytes", mccache::Ttl::Default)?;
    /// let mut small = [0u8; 4];
    /// let err = cache.get_into("k", &mut small).unwrap_err();
    /// assert_eq!(err.needed_size(), Some(12));
    /// let mut buf = vec![0u8; 12];
    /// assert_eq!(cache.get_into("k", &mut buf)?, Some(12));
    /// # Ok(()) }
    /// ```
    pub fn get_into(&self, key: impl AsRef<[u8]>, buf: &mut [u8]) -> Result<Option<usize>> {
        let (k, klen) = key_parts(key.as_ref());
        let mut len = buf.len();
        // SAFETY: valid handle and key; `buf` has `len` writable bytes.
        let rc = unsafe {
            sys::mccache_get_copy(
                self.raw.as_ptr(),
                k,
                klen,
                buf.as_mut_ptr().cast(),
                &mut len,
            )
        };
        match rc {
            sys::MCCACHE_OK => Ok(Some(len)),
            sys::MCCACHE_ENOTFOUND => Ok(None),
            sys::MCCACHE_EBUFS => Err(Error::last(rc).with_needed(len)),
            rc => Err(Error::last(rc)),
        }
    }

    /// Deletes `key`; `true` if an entry was there. Either way a versioned
    /// tombstone makes the delete win over older writes still in flight.
    pub fn delete(&self, key: impl AsRef<[u8]>) -> Result<bool> {
        let (k, klen) = key_parts(key.as_ref());
        // SAFETY: valid handle and key.
        match unsafe { sys::mccache_delete(self.raw.as_ptr(), k, klen) } {
            sys::MCCACHE_OK => Ok(true),
            sys::MCCACHE_ENOTFOUND => Ok(false),
            rc => Err(Error::last(rc)),
        }
    }

    /// Whether a live entry exists (not counted as a lookup).
    pub fn contains(&self, key: impl AsRef<[u8]>) -> Result<bool> {
        let (k, klen) = key_parts(key.as_ref());
        // SAFETY: valid handle and key.
        match unsafe { sys::mccache_contains(self.raw.as_ptr(), k, klen) } {
            sys::MCCACHE_OK => Ok(true),
            sys::MCCACHE_ENOTFOUND => Ok(false),
            rc => Err(Error::last(rc)),
        }
    }

    /// The number of live entries.
    pub fn len(&self) -> Result<usize> {
        let mut n = 0;
        // SAFETY: valid handle and out-pointer.
        check(unsafe { sys::mccache_len(self.raw.as_ptr(), &mut n) })?;
        Ok(n)
    }

    /// Whether the cache has no live entry.
    pub fn is_empty(&self) -> Result<bool> {
        Ok(self.len()? == 0)
    }

    /// Removes every entry (a versioned clear: newer racing writes survive).
    pub fn clear(&self) -> Result<()> {
        // SAFETY: valid handle.
        check(unsafe { sys::mccache_clear(self.raw.as_ptr()) })
    }

    /// Iterates over the live entries, one shard snapshot at a time (see
    /// [`Iter`] for the consistency guarantees). Not a lookup.
    pub fn iter(&self) -> Result<Iter> {
        let mut raw = ptr::null_mut();
        // SAFETY: valid handle and out-pointer; we own the iterator.
        check(unsafe { sys::mccache_iter_new(self.raw.as_ptr(), &mut raw) })?;
        Ok(Iter::from_raw(raw))
    }

    /// Metadata of a live entry (versions, times, sizes), or `None`. Not a
    /// lookup.
    pub fn metadata(&self, key: impl AsRef<[u8]>) -> Result<Option<Metadata>> {
        let (k, klen) = key_parts(key.as_ref());
        let mut raw = sys::mccache_metadata_t {
            struct_size: std::mem::size_of::<sys::mccache_metadata_t>() as u32,
            ..Default::default()
        };
        // SAFETY: valid handle and key; `raw` is a sized out-struct.
        match unsafe { sys::mccache_metadata(self.raw.as_ptr(), k, klen, &mut raw) } {
            sys::MCCACHE_OK => Ok(Some(Metadata::from_raw(&raw))),
            sys::MCCACHE_ENOTFOUND => Ok(None),
            rc => Err(Error::last(rc)),
        }
    }

    /// Gets several keys in one call: one `Option` per key, in order.
    pub fn get_batch<K: AsRef<[u8]>>(&self, keys: &[K]) -> Result<Vec<Option<ValueRef>>> {
        let (ptrs, lens): (Vec<*const c_void>, Vec<usize>) =
            keys.iter().map(|k| key_parts(k.as_ref())).unzip();
        let mut values: Vec<*mut sys::mccache_value_t> = vec![ptr::null_mut(); keys.len()];
        // SAFETY: three arrays of `keys.len()` elements; the keys outlive the
        // call; each non-NULL value returned is a reference we own.
        let rc = unsafe {
            sys::mccache_get_batch(
                self.raw.as_ptr(),
                keys.len(),
                ptrs.as_ptr(),
                lens.as_ptr(),
                values.as_mut_ptr(),
                ptr::null_mut(),
            )
        };
        // Own whatever came back before looking at `rc`, so nothing leaks.
        let values: Vec<Option<ValueRef>> = values
            .into_iter()
            // SAFETY: each non-NULL entry is a reference we own.
            .map(|v| (!v.is_null()).then(|| unsafe { ValueRef::from_raw(v) }))
            .collect();
        check(rc)?;
        Ok(values)
    }

    /// Puts several entries in one call, all with the same TTL. If any entry
    /// is invalid, none is stored (the message names its index).
    pub fn put_batch<K, V>(&self, entries: &[(K, V)], ttl: Ttl) -> Result<()>
    where
        K: AsRef<[u8]>,
        V: AsRef<[u8]>,
    {
        let n = entries.len();
        let mut kptrs = Vec::with_capacity(n);
        let mut klens = Vec::with_capacity(n);
        let mut vptrs = Vec::with_capacity(n);
        let mut vlens = Vec::with_capacity(n);
        for (k, v) in entries {
            let (k, v) = (k.as_ref(), v.as_ref());
            kptrs.push(k.as_ptr().cast::<c_void>());
            klens.push(k.len());
            vptrs.push(v.as_ptr().cast::<c_void>());
            vlens.push(v.len());
        }
        // SAFETY: four arrays of `n` elements pointing into `entries`, which
        // outlives the call; everything is copied.
        check(unsafe {
            sys::mccache_put_batch(
                self.raw.as_ptr(),
                n,
                kptrs.as_ptr(),
                klens.as_ptr(),
                vptrs.as_ptr(),
                vlens.as_ptr(),
                ttl.as_ms(),
            )
        })
    }

    /// An order-independent digest of every live entry: two members holding
    /// the same keys, versions and values have the same checksum.
    pub fn checksum(&self) -> Result<u64> {
        let mut sum = 0;
        // SAFETY: valid handle and out-pointer.
        check(unsafe { sys::mccache_checksum(self.raw.as_ptr(), &mut sum) })?;
        Ok(sum)
    }

    /// The checksum of one live entry, or `None` if absent.
    pub fn key_checksum(&self, key: impl AsRef<[u8]>) -> Result<Option<u64>> {
        let (k, klen) = key_parts(key.as_ref());
        let mut sum = 0;
        // SAFETY: valid handle, key and out-pointer.
        match unsafe { sys::mccache_key_checksum(self.raw.as_ptr(), k, klen, &mut sum) } {
            sys::MCCACHE_OK => Ok(Some(sum)),
            sys::MCCACHE_ENOTFOUND => Ok(None),
            rc => Err(Error::last(rc)),
        }
    }

    /// This cache's metrics as JSON (hits, misses, entries, bytes, ...).
    pub fn metrics_json(&self) -> Result<String> {
        // SAFETY: valid handle and out-pointer.
        crate::ffi_util::take_string(|out| unsafe {
            sys::mccache_cache_metrics_json(self.raw.as_ptr(), out)
        })
    }

    /// Calls `callback` for every change to this cache (replacing an earlier
    /// one), on the node's callback thread, with this cache's changes in the
    /// order they were made.
    ///
    /// The callback never runs on the thread that wrote, and never delays
    /// replication or heartbeats (they run on another thread), but the
    /// node's other callbacks wait for it, and changes beyond
    /// `event_queue_max` are dropped: return quickly. It may call any
    /// method, including writes to this node, but not
    /// [`Node::close`](crate::Node::close),
    /// [`Node::housekeep`](crate::Node::housekeep) or
    /// [`Node::cluster_collect`](crate::Node::cluster_collect) of its own
    /// node (they return [`ErrorCode::Busy`](crate::ErrorCode::Busy)). A panic inside
    /// it is caught (see [`callback_panics`](crate::callback_panics)). The
    /// closure and its captured state are dropped exactly once, after its
    /// last call: on replacement, [`clear_on_change`](Cache::clear_on_change)
    /// or close.
    ///
    /// ```
    /// # fn main() -> Result<(), mccache::Error> {
    /// use std::sync::mpsc;
    /// use std::time::Duration;
    /// # let node = mccache::Node::open(&mccache::Config::new()?)?;
    /// let cache = node.cache("watched")?;
    /// let (tx, rx) = mpsc::channel();
    /// cache.on_change(move |event| {
    ///     let _ = tx.send((event.kind, event.key));
    /// })?;
    /// cache.put("k", "v", mccache::Ttl::Default)?;
    /// let (kind, key) = rx.recv_timeout(Duration::from_secs(5)).expect("an event");
    /// assert_eq!((kind, key), (mccache::EventKind::Insert, b"k".to_vec()));
    /// # Ok(()) }
    /// ```
    pub fn on_change<F>(&self, callback: F) -> Result<()>
    where
        F: Fn(Event) + Send + Sync + 'static,
    {
        let opaque = into_opaque(callback);
        // SAFETY: the trampolines match F; on any failure but EINVAL on a
        // NULL cache (impossible here) the library frees `opaque` itself.
        check(unsafe {
            sys::mccache_on_change(
                self.raw.as_ptr(),
                Some(change_trampoline::<F>),
                opaque,
                Some(free_opaque::<F>),
            )
        })
    }

    /// Unregisters the change callback (its state is dropped on the loop).
    pub fn clear_on_change(&self) -> Result<()> {
        // SAFETY: valid handle; no callback, no opaque.
        check(unsafe { sys::mccache_on_change(self.raw.as_ptr(), None, ptr::null_mut(), None) })
    }
}

impl fmt::Debug for Cache {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Cache").field("name", &self.name()).finish()
    }
}
