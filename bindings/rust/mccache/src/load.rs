//! Loaders: [`Cache::get_or_try_insert_with`] and [`memoize`], over
//! `mccache_get_or_load`.
use std::any::Any;
use std::ffi::{c_int, c_void, CString};
use std::fmt;
use std::panic::{self, AssertUnwindSafe};
use std::ptr;

use mccache_sys as sys;

use crate::cache::Cache;
use crate::error::Error;

/// Why [`Cache::get_or_try_insert_with`] returned no value.
#[derive(Debug)]
pub enum LoadError<E> {
    /// This caller's loader ran and failed with this error.
    Loader(E),
    /// The library failed: a timeout, a closed node, a value over the
    /// limits, or the failure of a load another caller ran (here or on
    /// another member), which arrives as [`ErrorCode::User`](crate::ErrorCode::User)
    /// with that loader's message.
    Cache(Error),
}

impl<E: fmt::Display> fmt::Display for LoadError<E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            LoadError::Loader(e) => write!(f, "loader failed: {e}"),
            LoadError::Cache(e) => e.fmt(f),
        }
    }
}

impl<E: fmt::Debug + fmt::Display> std::error::Error for LoadError<E> {}

impl<E> From<Error> for LoadError<E> {
    fn from(e: Error) -> Self {
        LoadError::Cache(e)
    }
}

// What the loader's opaque pointer refers to during one call.
struct LoadState<F, E> {
    f: Option<F>,
    err: Option<E>,
    panic: Option<Box<dyn Any + Send>>,
}

fn fail(load: *mut sys::mccache_load_t, message: &str) -> c_int {
    let text = CString::new(message.replace('\0', " ")).unwrap_or_default();
    // SAFETY: `load` is the loader's argument, valid during the loader;
    // the message is copied.
    unsafe { sys::mccache_load_set_error(load, text.as_ptr()) };
    sys::MCCACHE_EUSER
}

extern "C" fn trampoline<F, V, E>(
    load: *mut sys::mccache_load_t,
    _key: *const c_void,
    _klen: usize,
    opaque: *mut c_void,
) -> c_int
where
    F: FnOnce() -> Result<V, E>,
    V: AsRef<[u8]>,
    E: fmt::Display,
{
    // SAFETY: `opaque` is the LoadState of the call that is running this
    // loader on this very thread (get_or_try_insert_with), alive until it returns.
    let state = unsafe { &mut *(opaque as *mut LoadState<F, E>) };
    let Some(f) = state.f.take() else {
        return fail(load, "the loader already ran in this call");
    };
    match panic::catch_unwind(AssertUnwindSafe(f)) {
        Ok(Ok(value)) => {
            let v = value.as_ref();
            // SAFETY: valid `load`; the value is copied.
            unsafe { sys::mccache_load_set_value(load, v.as_ptr().cast(), v.len(), 0) }
        }
        Ok(Err(e)) => {
            let rc = fail(load, &e.to_string());
            state.err = Some(e);
            rc
        }
        Err(payload) => {
            // Never unwind into C: the panic resumes on the caller's side.
            state.panic = Some(payload);
            fail(load, "the loader panicked")
        }
    }
}

impl Cache {
    /// The value of `key`, calling `f` to produce it when it is absent, and
    /// storing what `f` returns with the cache's `cache_ttl` (replicated as
    /// [`put`](Cache::put) would be). Caffeine's `get(key, mappingFunction)`
    /// and moka's `try_get_with`.
    ///
    /// Concurrent callers of one key on a node wait for one load; in a cache
    /// of mode `replicate`, one load serves the whole cluster (the member
    /// that misses first takes the key's load lease; callers on the other
    /// members wait for its value, or take over when it goes down or its
    /// lease runs out). `refresh_after` and `stale_while_revalidate` make it
    /// serve a present value while one reload runs.
    ///
    /// `f` runs on the calling thread, at most once. A caller waits for
    /// another's load at most twice the cache's `load_lease`. If `f` panics,
    /// the load fails for every waiter and the panic resumes here.
    ///
    /// ```
    /// # fn main() -> Result<(), mccache::Error> {
    /// # let node = mccache::Node::open(&mccache::Config::new()?)?;
    /// let users = node.cache("users")?;
    /// let v = users.get_or_try_insert_with("alice", || Ok::<_, std::io::Error>(b"admin".to_vec()));
    /// assert_eq!(v.unwrap(), b"admin");
    /// # Ok(()) }
    /// ```
    pub fn get_or_try_insert_with<F, V, E>(
        &self,
        key: impl AsRef<[u8]>,
        f: F,
    ) -> Result<Vec<u8>, LoadError<E>>
    where
        F: FnOnce() -> Result<V, E>,
        V: AsRef<[u8]>,
        E: fmt::Display,
    {
        let key = key.as_ref();
        let mut state = LoadState::<F, E> {
            f: Some(f),
            err: None,
            panic: None,
        };
        let mut out = ptr::null_mut();
        // SAFETY: valid handle and key; the loader and its state are live for
        // the whole call, and the loader runs on this thread only.
        let rc = unsafe {
            sys::mccache_get_or_load(
                self.as_raw(),
                key.as_ptr().cast(),
                key.len(),
                Some(trampoline::<F, V, E>),
                (&mut state as *mut LoadState<F, E>).cast(),
                0,
                &mut out,
            )
        };
        let error = (rc != sys::MCCACHE_OK).then(|| Error::last(rc));
        if let Some(payload) = state.panic.take() {
            panic::resume_unwind(payload);
        }
        if let Some(error) = error {
            return Err(match state.err.take() {
                Some(e) => LoadError::Loader(e),
                None => LoadError::Cache(error),
            });
        }
        // SAFETY: on success we own one reference to `out`.
        let value = unsafe { crate::value::ValueRef::from_raw(out) };
        Ok(value.to_vec())
    }

    /// Invalidates every entry of a cache with a `key_prefix` or
    /// `key_version`, on every member, at O(1) cost; returns the new
    /// generation. A cache without a namespace is
    /// [`ErrorCode::InvalidArgument`](crate::ErrorCode::InvalidArgument).
    pub fn bump_namespace(&self) -> crate::Result<u64> {
        let mut g = 0u64;
        // SAFETY: valid handle and out-pointer.
        crate::error::check(unsafe { sys::mccache_namespace_bump(self.as_raw(), &mut g) })?;
        Ok(g)
    }
}

/// `f` memoized in `cache`: the returned function answers a key the cache
/// holds from the cache, and otherwise calls `f` once for all concurrent
/// callers of the key (across the cluster, in a replicated cache) and
/// stores its value.
///
/// ```
/// # fn main() -> Result<(), mccache::Error> {
/// # let node = mccache::Node::open(&mccache::Config::new()?)?;
/// let squares = mccache::memoize(node.cache("squares")?, |key: &[u8]| {
///     let n: u64 = std::str::from_utf8(key).unwrap().parse().unwrap();
///     Ok::<_, std::num::ParseIntError>((n * n).to_string())
/// });
/// assert_eq!(squares(b"12").unwrap(), b"144");
/// # Ok(()) }
/// ```
pub fn memoize<F, V, E>(cache: Cache, f: F) -> impl Fn(&[u8]) -> Result<Vec<u8>, LoadError<E>>
where
    F: Fn(&[u8]) -> Result<V, E>,
    V: AsRef<[u8]>,
    E: fmt::Display,
{
    move |key| cache.get_or_try_insert_with(key, || f(key))
}
