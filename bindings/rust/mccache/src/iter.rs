//! [`Iter`]: iteration over one cache.
use std::ffi::c_void;
use std::iter::FusedIterator;
use std::ptr::{self, NonNull};

use mccache_sys as sys;

use crate::error::{Error, Result};
use crate::value::ValueRef;

/// An iterator over a cache's live entries, from [`Cache::iter`](crate::Cache::iter).
///
/// It walks one shard at a time, taking a snapshot of each shard under its
/// lock: an entry live for the whole iteration is returned exactly once; one
/// inserted or deleted meanwhile may or may not be; none is returned that
/// had expired when reached. Writers are never blocked for longer than one
/// shard copy. Items are `Result`s because the node may close meanwhile
/// ([`ErrorCode::Closed`](crate::ErrorCode::Closed)); the iterator ends
/// after an error.
///
/// ```
/// # fn main() -> Result<(), mccache::Error> {
/// # let node = mccache::Node::open(&mccache::Config::new()?)?;
/// let cache = node.cache("listing")?;
/// cache.put_batch(&[("a", "1"), ("b", "2")], mccache::Ttl::Default)?;
/// let mut keys = Vec::new();
/// for entry in cache.iter()? {
///     let (key, value) = entry?;
///     keys.push((key, value.to_vec()));
/// }
/// keys.sort();
/// assert_eq!(keys, [(b"a".to_vec(), b"1".to_vec()), (b"b".to_vec(), b"2".to_vec())]);
/// # Ok(()) }
/// ```
pub struct Iter {
    raw: NonNull<sys::mccache_iter_t>,
    done: bool,
}

// SAFETY: an iterator may be used by one thread at a time, from any thread:
// it has no thread affinity and keeps its own references. Every method takes
// `&mut self`, so `&Iter` allows nothing and sharing it is harmless.
unsafe impl Send for Iter {}
// SAFETY: as for Send, above.
unsafe impl Sync for Iter {}

impl Iter {
    pub(crate) fn from_raw(raw: *mut sys::mccache_iter_t) -> Iter {
        Iter {
            raw: NonNull::new(raw).expect("mccache_iter_new returned OK and NULL"),
            done: false,
        }
    }
}

impl Iterator for Iter {
    type Item = Result<(Vec<u8>, ValueRef)>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.done {
            return None;
        }
        let mut key: *const c_void = ptr::null();
        let mut klen = 0usize;
        let mut value = ptr::null_mut();
        // SAFETY: we own the iterator (`&mut self`: no concurrent call);
        // valid out-pointers.
        let rc =
            unsafe { sys::mccache_iter_next(self.raw.as_ptr(), &mut key, &mut klen, &mut value) };
        match rc {
            sys::MCCACHE_OK => {
                // SAFETY: the key is valid until the next call on the
                // iterator, so it is copied now; the value is ours.
                let k = if klen == 0 {
                    Vec::new()
                } else {
                    // SAFETY: `klen` bytes at `key`, valid until the next call.
                    unsafe { std::slice::from_raw_parts(key.cast::<u8>(), klen) }.to_vec()
                };
                // SAFETY: on success `value` is a reference we own.
                Some(Ok((k, unsafe { ValueRef::from_raw(value) })))
            }
            sys::MCCACHE_ENOTFOUND => {
                self.done = true;
                None
            }
            rc => {
                self.done = true;
                Some(Err(Error::last(rc)))
            }
        }
    }
}

impl FusedIterator for Iter {}

impl Drop for Iter {
    fn drop(&mut self) {
        // SAFETY: we own the iterator.
        unsafe { sys::mccache_iter_free(self.raw.as_ptr()) }
    }
}

impl std::fmt::Debug for Iter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Iter")
            .field("done", &self.done)
            .finish_non_exhaustive()
    }
}
