//! Safe Rust binding of libmccache: an in-process, bounded, thread-safe
//! cache whose members stay coherent over UDP multicast.
//!
//! A [`Node`] owns its named [`Cache`]s, a loop thread for the cluster and
//! housekeeping, and a callback thread for every callback. Caches map byte
//! keys to byte values with per-entry TTLs ([`Ttl`]) and versions; reads are
//! zero copy through [`ValueRef`] or copies through [`Cache::get`]. Every
//! call returns [`Result`], whose [`Error`] carries the library's code and
//! message.
//!
//! ```
//! use std::time::Duration;
//! use mccache::{Config, Node, Ttl};
//!
//! # fn main() -> Result<(), mccache::Error> {
//! let mut config = Config::new()?;
//! config.set("cache_ttl", "10m")?;
//! let node = Node::open(&config)?;
//! let cache = node.cache("users")?;
//! cache.put("alice", "admin", Ttl::After(Duration::from_secs(30)))?;
//! if let Some(role) = cache.get_ref("alice")? {
//!     assert_eq!(&*role, b"admin");
//! }
//! # Ok(()) }
//! ```
//!
//! # Cluster
//!
//! Each node joins its cluster when it opens (`cluster_name`, `transport`
//! and friends in the configuration); writes replicate to every member.
//! [`Node::on_member`] reports joins and departures, [`Node::sync`] starts
//! an anti-entropy round, [`Node::cluster_collect`] and
//! [`Node::cluster_request`] ask every member for metrics or checksums
//! ([`Query`]), and [`Node::set_keys`]/[`generate_key`] rotate the
//! AES-256-GCM cluster key. Changes from other members reach
//! [`Cache::on_change`] with [`Origin::Remote`] (or [`Origin::Repair`]).
//!
//! # Threads and callbacks
//!
//! Every type is `Send + Sync`: all C calls are thread-safe. Every callback
//! ([`Cache::on_change`], [`Node::on_member`], [`Node::set_logger`],
//! [`Node::cluster_request`]) runs on the node's callback thread, one at a
//! time: a thread of the library (not spawned by Rust), never the one
//! that wrote or logged, and never the one that sends heartbeats and
//! replication. A slow callback delays the node's other callbacks, not its
//! cluster; still, return quickly (changes beyond `event_queue_max` are
//! dropped). Log lines arrive asynchronously, shortly after they were
//! logged. A panic in a callback never unwinds into C: it is caught,
//! counted by [`callback_panics`], and the callback stays registered.
//!
//! # Lifetimes
//!
//! Dropping (or [closing](Node::close)) a [`Node`] closes it; its caches then
//! answer [`ErrorCode::Closed`]. [`ValueRef`]s and iterators stay readable.
#![warn(missing_docs)]

mod cache;
mod callback;
mod cluster;
mod config;
mod error;
mod event;
mod ffi_util;
mod iter;
mod load;
mod metadata;
mod node;
mod time;
mod value;
mod version;

pub use cache::Cache;
pub use callback::callback_panics;
pub use cluster::{generate_key, Query, Reply};
pub use config::Config;
pub use error::{Error, ErrorCode, Result};
pub use event::{Event, EventKind, MemberEvent, MemberEventKind, Origin};
pub use iter::Iter;
pub use load::{memoize, LoadError};
pub use metadata::Metadata;
pub use node::{LogLevel, Node};
pub use time::{Ttl, Version};
pub use value::ValueRef;
pub use version::{check_version, library_version, library_version_string, BUILT_FOR_VERSION};

/// The raw FFI crate, for calls the safe API does not cover.
pub use mccache_sys as sys;
