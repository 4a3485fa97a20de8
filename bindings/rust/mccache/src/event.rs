//! Events from the library, converted from borrowed C structs into owned
//! Rust values in this one place: changes to entries ([`Event`], from
//! `mccache_event_t`) and to cluster membership ([`MemberEvent`], from
//! `mccache_member_t`).
use std::ffi::CStr;
use std::time::SystemTime;

use mccache_sys as sys;

use crate::cache::Cache;
use crate::time::{from_unix_ms, optional_unix_ms, Version};
use crate::value::ValueRef;

/// What happened to an entry.
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum EventKind {
    /// A new key was stored.
    Insert,
    /// An existing key got a newer value.
    Update,
    /// The key was deleted (or cleared).
    Delete,
    /// The key was evicted to respect `cache_max`/`cache_size`.
    Evict,
    /// The key's TTL ran out.
    Expire,
    /// A kind this binding does not know (a newer library), kept raw.
    Other(i32),
}

impl EventKind {
    fn from_raw(raw: i32) -> EventKind {
        match raw as sys::mccache_event_type {
            sys::MCCACHE_EVENT_INSERT => EventKind::Insert,
            sys::MCCACHE_EVENT_UPDATE => EventKind::Update,
            sys::MCCACHE_EVENT_DELETE => EventKind::Delete,
            sys::MCCACHE_EVENT_EVICT => EventKind::Evict,
            sys::MCCACHE_EVENT_EXPIRE => EventKind::Expire,
            _ => EventKind::Other(raw),
        }
    }
}

/// Where a change came from.
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Origin {
    /// A call on this node.
    Local,
    /// A write replicated from another member.
    Remote,
    /// Anti-entropy found this member incoherent and repaired the entry.
    Repair,
    /// An origin this binding does not know, kept raw.
    Other(i32),
}

impl Origin {
    fn from_raw(raw: i32) -> Origin {
        match raw as sys::mccache_event_origin {
            sys::MCCACHE_ORIGIN_LOCAL => Origin::Local,
            sys::MCCACHE_ORIGIN_REMOTE => Origin::Remote,
            sys::MCCACHE_ORIGIN_REPAIR => Origin::Repair,
            _ => Origin::Other(raw),
        }
    }
}

/// One change to a cache, owned: the key is copied and the value is a
/// reference of its own, so an event may be kept or sent anywhere.
#[non_exhaustive]
#[derive(Debug, Clone)]
pub struct Event {
    /// What happened.
    pub kind: EventKind,
    /// Where it came from.
    pub origin: Origin,
    /// The cache it happened to.
    pub cache: Cache,
    /// The key.
    pub key: Vec<u8>,
    /// The new value (insert, update), else the old one if known.
    pub value: Option<ValueRef>,
    /// The version of the change.
    pub version: Version,
    /// The key's last get on this node before the change, if any.
    pub last_lookup: Option<SystemTime>,
    /// When the change was applied on this node.
    pub time: SystemTime,
}

impl Event {
    /// Copies a borrowed C event.
    ///
    /// # Safety
    /// `ev` must be a valid event for the duration of the call, as the
    /// library passes it to a change callback.
    pub(crate) unsafe fn from_raw(ev: &sys::mccache_event_t) -> Event {
        // Every field read here is in the first layout. Fields appended
        // later must be read only when `ev.struct_size` covers them.
        let key = if ev.key.is_null() || ev.klen == 0 {
            Vec::new()
        } else {
            std::slice::from_raw_parts(ev.key.cast::<u8>(), ev.klen).to_vec()
        };
        let value = if ev.value.is_null() {
            None
        } else {
            // The event's value is borrowed: take a reference of our own.
            Some(ValueRef::from_raw(sys::mccache_value_ref(ev.value)))
        };
        Event {
            kind: EventKind::from_raw(ev.type_),
            origin: Origin::from_raw(ev.origin),
            cache: Cache::from_raw(ev.cache),
            key,
            value,
            version: Version {
                hlc: ev.version_hlc,
                node: ev.version_node,
            },
            last_lookup: optional_unix_ms(ev.last_lookup_ms, 0),
            time: from_unix_ms(ev.time_ms),
        }
    }
}

/// What happened to a cluster member.
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum MemberEventKind {
    /// First heard from.
    Joined,
    /// Said goodbye (closed cleanly).
    Left,
    /// Silent for `member_timeout`.
    Down,
    /// Heard from again after being down or gone.
    Recovered,
    /// Came back with a new incarnation (a restart).
    Restarted,
    /// A kind this binding does not know (a newer library), kept raw.
    Other(i32),
}

impl MemberEventKind {
    fn from_raw(raw: i32) -> MemberEventKind {
        match raw as sys::mccache_member_event {
            sys::MCCACHE_MEMBER_JOINED => MemberEventKind::Joined,
            sys::MCCACHE_MEMBER_LEFT => MemberEventKind::Left,
            sys::MCCACHE_MEMBER_DOWN => MemberEventKind::Down,
            sys::MCCACHE_MEMBER_RECOVERED => MemberEventKind::Recovered,
            sys::MCCACHE_MEMBER_RESTARTED => MemberEventKind::Restarted,
            _ => MemberEventKind::Other(raw),
        }
    }
}

/// One membership change, owned, from [`Node::on_member`](crate::Node::on_member).
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MemberEvent {
    /// What happened.
    pub kind: MemberEventKind,
    /// The member's node id.
    pub node_id: u64,
    /// Random per start of that member (a restart changes it).
    pub incarnation: u64,
    /// `"ip:port"` of its unicast socket.
    pub address: String,
    /// When the last datagram from it arrived.
    pub last_seen: SystemTime,
}

impl MemberEvent {
    /// Copies a borrowed C membership change.
    ///
    /// # Safety
    /// `m` must be valid for the duration of the call, as the library passes
    /// it to a membership callback.
    pub(crate) unsafe fn from_raw(m: &sys::mccache_member_t) -> MemberEvent {
        let address = if m.address.is_null() {
            String::new()
        } else {
            CStr::from_ptr(m.address).to_string_lossy().into_owned()
        };
        MemberEvent {
            kind: MemberEventKind::from_raw(m.event),
            node_id: m.node_id,
            incarnation: m.incarnation,
            address,
            last_seen: from_unix_ms(m.last_seen_ms),
        }
    }
}
