//! [`ValueRef`]: a zero-copy guard over a refcounted `mccache_value_t`.
use std::borrow::Borrow;
use std::fmt;
use std::hash::{Hash, Hasher};
use std::ops::Deref;
use std::ptr::NonNull;

use mccache_sys as sys;

/// One reference to an immutable cached value, read in place (zero copy).
///
/// The bytes never change or move while the guard lives, whatever writers,
/// eviction, expiry or even closing the node do. It derefs to `[u8]`;
/// [`Clone`] takes another reference (no copy), and `Drop` releases it.
///
/// ```
/// # fn main() -> Result<(), mccache::Error> {
/// # let node = mccache::Node::open(&mccache::Config::new()?)?;
/// let cache = node.cache("docs")?;
/// cache.put("k", "hello", mccache::Ttl::Default)?;
/// let v = cache.get_ref("k")?.expect("just stored");
/// cache.put("k", "replaced", mccache::Ttl::Default)?;
/// assert_eq!(&*v, b"hello"); // the reader's bytes are untouched
/// # Ok(()) }
/// ```
pub struct ValueRef {
    raw: NonNull<sys::mccache_value_t>,
    // Cached from mccache_value_data at creation: the bytes are immutable
    // for the life of the reference, so deref needs no call into C.
    data: NonNull<u8>,
    len: usize,
}

// SAFETY: a value is immutable and its reference count is atomic: the header
// declares mccache_value_data/_ref/_free safe from any thread, so a guard may
// move to, and be read from, any thread.
unsafe impl Send for ValueRef {}
// SAFETY: as for Send, above.
unsafe impl Sync for ValueRef {}

impl ValueRef {
    /// Takes ownership of one reference returned by the C API.
    ///
    /// # Safety
    /// `raw` must be a non-NULL `mccache_value_t*` whose reference the caller
    /// owns (e.g. from `mccache_get` or `mccache_value_ref`); the guard
    /// releases it with `mccache_value_free`.
    #[inline]
    pub unsafe fn from_raw(raw: *mut sys::mccache_value_t) -> ValueRef {
        let raw = NonNull::new(raw).expect("ValueRef::from_raw: NULL value");
        let mut len = 0usize;
        let data = sys::mccache_value_data(raw.as_ptr(), &mut len);
        // An empty value may come back with no storage at all; a slice still
        // needs a non-null, aligned pointer.
        let data = NonNull::new(data as *mut u8)
            .filter(|_| len > 0)
            .unwrap_or(NonNull::dangling());
        ValueRef { raw, data, len }
    }

    /// Gives the reference back to the caller, who must release it with
    /// `mccache_value_free`.
    pub fn into_raw(self) -> *mut sys::mccache_value_t {
        let raw = self.raw.as_ptr();
        std::mem::forget(self);
        raw
    }

    /// The bytes (also reachable through `Deref`).
    #[inline]
    pub fn as_bytes(&self) -> &[u8] {
        // SAFETY: `data` points at `len` bytes that stay valid and unchanged
        // while this reference is held (the header's value contract).
        unsafe { std::slice::from_raw_parts(self.data.as_ptr(), self.len) }
    }
}

impl Deref for ValueRef {
    type Target = [u8];
    #[inline]
    fn deref(&self) -> &[u8] {
        self.as_bytes()
    }
}

impl AsRef<[u8]> for ValueRef {
    fn as_ref(&self) -> &[u8] {
        self.as_bytes()
    }
}

impl Borrow<[u8]> for ValueRef {
    fn borrow(&self) -> &[u8] {
        self.as_bytes()
    }
}

impl Clone for ValueRef {
    fn clone(&self) -> ValueRef {
        // SAFETY: we hold a reference, so the value is alive; the new
        // reference is owned by the returned guard.
        let raw = unsafe { sys::mccache_value_ref(self.raw.as_ptr()) };
        ValueRef {
            raw: NonNull::new(raw).expect("mccache_value_ref returned NULL"),
            ..*self
        }
    }
}

impl Drop for ValueRef {
    #[inline]
    fn drop(&mut self) {
        // SAFETY: releases the one reference this guard owns.
        unsafe { sys::mccache_value_free(self.raw.as_ptr()) }
    }
}

impl PartialEq for ValueRef {
    fn eq(&self, other: &ValueRef) -> bool {
        self.as_bytes() == other.as_bytes()
    }
}

impl Eq for ValueRef {}

impl PartialEq<[u8]> for ValueRef {
    fn eq(&self, other: &[u8]) -> bool {
        self.as_bytes() == other
    }
}

impl PartialEq<&[u8]> for ValueRef {
    fn eq(&self, other: &&[u8]) -> bool {
        self.as_bytes() == *other
    }
}

impl<const N: usize> PartialEq<&[u8; N]> for ValueRef {
    fn eq(&self, other: &&[u8; N]) -> bool {
        self.as_bytes() == other.as_slice()
    }
}

impl Hash for ValueRef {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.as_bytes().hash(state)
    }
}

impl fmt::Debug for ValueRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Values are often text; show them as an escaped byte string.
        write!(f, "ValueRef(b\"{}\")", self.as_bytes().escape_ascii())
    }
}
