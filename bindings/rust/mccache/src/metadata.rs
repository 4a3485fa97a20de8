//! [`Metadata`] of one entry.
use std::time::SystemTime;

use mccache_sys as sys;

use crate::time::{from_unix_ms, optional_unix_ms, Version};

/// Metadata of one live entry, from [`Cache::metadata`](crate::Cache::metadata).
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Metadata {
    /// The version of the write that the entry holds.
    pub version: Version,
    /// The first write of this key on this node.
    pub created: SystemTime,
    /// The last write applied on this node.
    pub updated: SystemTime,
    /// When the entry expires; `None` for never.
    pub expires: Option<SystemTime>,
    /// The last get; `None` if never looked up.
    pub last_lookup: Option<SystemTime>,
    /// How many gets hit this entry.
    pub lookups: u64,
    /// Bytes of the key.
    pub key_size: u64,
    /// Bytes of the value.
    pub value_size: u64,
    /// Bytes counted against `cache_size` (key, value and overhead).
    pub charged_bytes: u64,
    /// The entry's checksum (as [`Cache::key_checksum`](crate::Cache::key_checksum)).
    pub checksum: u64,
}

impl Metadata {
    pub(crate) fn from_raw(m: &sys::mccache_metadata_t) -> Metadata {
        Metadata {
            version: Version {
                hlc: m.version_hlc,
                node: m.version_node,
            },
            created: from_unix_ms(m.created_ms),
            updated: from_unix_ms(m.updated_ms),
            expires: optional_unix_ms(m.expires_ms, -1),
            last_lookup: optional_unix_ms(m.last_lookup_ms, 0),
            lookups: m.lookups,
            key_size: m.key_size,
            value_size: m.value_size,
            charged_bytes: m.charged_bytes,
            checksum: m.checksum,
        }
    }
}
