//! The `extern "C"` trampolines, and the panic firewall around each of them.
//!
//! Policy: a panic must never unwind into C (since Rust 1.81 that aborts the
//! process). Each trampoline runs the user's closure under `catch_unwind`.
//! A caught panic has already been reported by the panic hook (stderr by
//! default); the event or log line is dropped, the callback stays
//! registered, and [`callback_panics`] counts it. Build with
//! `panic = "abort"` to abort instead.
use std::any::Any;
use std::ffi::{c_char, c_int, c_void, CStr};
use std::panic::{self, AssertUnwindSafe};
use std::sync::atomic::{AtomicU64, Ordering};

use mccache_sys as sys;

use crate::cluster::Reply;
use crate::event::{Event, MemberEvent};

static PANICS: AtomicU64 = AtomicU64::new(0);

/// How many panics the callback firewall has caught in this process (in
/// change callbacks, loggers, or the `Drop` of their captured state).
pub fn callback_panics() -> u64 {
    PANICS.load(Ordering::Relaxed)
}

/// Runs `f`, keeping any panic from reaching the C caller.
fn firewall(f: impl FnOnce()) {
    if let Err(payload) = panic::catch_unwind(AssertUnwindSafe(f)) {
        PANICS.fetch_add(1, Ordering::Relaxed);
        discard(payload);
    }
}

/// Drops a panic payload; its own `Drop` could panic too, and that second
/// payload is leaked rather than risk unwinding further.
fn discard(payload: Box<dyn Any + Send>) {
    if let Err(again) = panic::catch_unwind(AssertUnwindSafe(move || drop(payload))) {
        std::mem::forget(again);
    }
}

/// A boxed closure as the C `opaque` pointer; one allocation, thin pointer.
pub(crate) fn into_opaque<F>(f: F) -> *mut c_void {
    Box::into_raw(Box::new(f)).cast()
}

/// `opaque_free` for a closure boxed by [`into_opaque`]. The library calls it
/// exactly once, after the last call of the callback.
pub(crate) unsafe extern "C" fn free_opaque<F>(opaque: *mut c_void) {
    // SAFETY: `opaque` came from into_opaque::<F> and is freed only here.
    firewall(|| drop(unsafe { Box::from_raw(opaque.cast::<F>()) }));
}

/// `mccache_change_cb` for a closure `F`.
pub(crate) unsafe extern "C" fn change_trampoline<F>(
    event: *const sys::mccache_event_t,
    opaque: *mut c_void,
) where
    F: Fn(Event) + Send + Sync + 'static,
{
    firewall(|| {
        // SAFETY: `opaque` is the live Box<F> registered with this callback
        // (it is freed only by free_opaque, after the last call), and
        // `event` is valid for the duration of the call.
        let f = unsafe { &*opaque.cast::<F>() };
        // SAFETY: `event` is NULL or valid for the duration of the call.
        if let Some(event) = unsafe { event.as_ref() } {
            // SAFETY: as above; from_raw copies what it keeps.
            f(unsafe { Event::from_raw(event) });
        }
    });
}

/// `mccache_log_cb` for a closure `F`.
pub(crate) unsafe extern "C" fn log_trampoline<F>(
    level: c_int,
    message: *const c_char,
    opaque: *mut c_void,
) where
    F: Fn(crate::LogLevel, &str) + Send + Sync + 'static,
{
    firewall(|| {
        // SAFETY: as in change_trampoline; `message` is a NUL-terminated
        // string borrowed for the call.
        let f = unsafe { &*opaque.cast::<F>() };
        if message.is_null() {
            return;
        }
        // SAFETY: a non-NULL, NUL-terminated line borrowed for the call.
        let text = unsafe { CStr::from_ptr(message) }.to_string_lossy();
        f(crate::LogLevel::from_raw(level), &text);
    });
}

/// `mccache_member_cb` for a closure `F`.
pub(crate) unsafe extern "C" fn member_trampoline<F>(
    member: *const sys::mccache_member_t,
    opaque: *mut c_void,
) where
    F: Fn(MemberEvent) + Send + Sync + 'static,
{
    firewall(|| {
        // SAFETY: as in change_trampoline.
        let f = unsafe { &*opaque.cast::<F>() };
        // SAFETY: `member` is NULL or valid for the duration of the call.
        if let Some(member) = unsafe { member.as_ref() } {
            // SAFETY: as above; from_raw copies what it keeps.
            f(unsafe { MemberEvent::from_raw(member) });
        }
    });
}

/// `mccache_reply_cb` for a closure `F`.
pub(crate) unsafe extern "C" fn reply_trampoline<F>(
    member_id: u64,
    json: *const c_char,
    opaque: *mut c_void,
) where
    F: FnMut(Reply) + Send + 'static,
{
    firewall(|| {
        // SAFETY: the library makes the calls of one request one after the
        // other (on the callback thread, or the last one in close after that
        // thread stopped), never concurrently, so a unique borrow is sound.
        let f = unsafe { &mut *opaque.cast::<F>() };
        let reply = if member_id == 0 || json.is_null() {
            Reply::Done
        } else {
            // SAFETY: a NUL-terminated answer borrowed for the call.
            let json = unsafe { CStr::from_ptr(json) }
                .to_string_lossy()
                .into_owned();
            Reply::Answer {
                member: member_id,
                json,
            }
        };
        f(reply);
    });
}
