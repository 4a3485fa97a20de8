//! Raw FFI bindings to libmccache, generated from `include/mccache.h` by
//! `update-bindings.sh` and committed (builds never run bindgen).
//!
//! Everything here is `unsafe` and mirrors the C header one to one; the
//! header's documentation is the reference for each function (threading,
//! ownership and callback context). Most users want the safe `mccache` crate.
//!
//! The library is found by `build.rs` through pkg-config (`mccache.pc`, or the
//! build tree's `mccache-uninstalled.pc`), or through `MCCACHE_LIB_DIR`.
#![no_std]
#![allow(non_camel_case_types, non_upper_case_globals, non_snake_case)]

mod bindings;
pub use bindings::*;

/// `MCCACHE_TTL_DEFAULT`: use the cache's configured `cache_ttl`. (A cast
/// macro in C, which bindgen cannot translate; systest checks the value.)
pub const MCCACHE_TTL_DEFAULT: i64 = 0;
/// `MCCACHE_TTL_NEVER`: the entry never expires (it can still be evicted).
pub const MCCACHE_TTL_NEVER: i64 = -1;

/// The libmccache version these bindings were generated from, as
/// "MAJOR.MINOR.PATCH" (the `+` build metadata of this crate's version).
pub const BUILT_FOR_VERSION: &str = env!("MCCACHE_SYS_C_VERSION");
