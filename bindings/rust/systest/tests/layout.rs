//! mccache-sys's structs and constants must match what the C compiler makes
//! of mccache.h (git2-rs's systest, without ctest2's code generator).
use std::collections::BTreeMap;
use std::mem::{align_of, offset_of, size_of};

use mccache_sys::*;

/// The size of a field, from a pointer to the struct (no value needed).
fn field_size<T, F>(_: fn(*const T) -> *const F) -> usize {
    size_of::<F>()
}

macro_rules! size {
    ($m:ident, $t:ty, $name:literal) => {
        $m.insert(concat!("size ", $name).to_string(), size_of::<$t>() as i64);
        $m.insert(
            concat!("align ", $name).to_string(),
            align_of::<$t>() as i64,
        );
    };
}

macro_rules! field {
    ($m:ident, $t:ty, $name:literal, $f:ident, $cf:literal) => {
        $m.insert(
            concat!($name, ".", $cf).to_string(),
            offset_of!($t, $f) as i64,
        );
        $m.insert(
            concat!("size ", $name, ".", $cf).to_string(),
            field_size(|p: *const $t| unsafe { std::ptr::addr_of!((*p).$f) }) as i64,
        );
    };
}

macro_rules! constant {
    ($m:ident, $($c:ident),* $(,)?) => {
        $( $m.insert(stringify!($c).to_string(), $c as i64); )*
    };
}

fn rust_items() -> BTreeMap<String, i64> {
    let mut m = BTreeMap::new();
    size!(m, mccache_metadata_t, "mccache_metadata_t");
    for_each_metadata_field(&mut m);
    size!(m, mccache_event_t, "mccache_event_t");
    for_each_event_field(&mut m);
    size!(m, mccache_member_t, "mccache_member_t");
    for_each_member_field(&mut m);
    constant!(
        m,
        MCCACHE_VERSION_MAJOR,
        MCCACHE_VERSION_MINOR,
        MCCACHE_VERSION_PATCH,
        MCCACHE_VERSION_NUMBER,
        MCCACHE_TTL_DEFAULT,
        MCCACHE_TTL_NEVER,
        MCCACHE_OK,
        MCCACHE_EINVAL,
        MCCACHE_ENOMEM,
        MCCACHE_ENOTFOUND,
        MCCACHE_EEXISTS,
        MCCACHE_EBUFS,
        MCCACHE_ETOOBIG,
        MCCACHE_ECLOSED,
        MCCACHE_ETIMEDOUT,
        MCCACHE_ECANCELED,
        MCCACHE_EBUSY,
        MCCACHE_ECONFIG,
        MCCACHE_EIO,
        MCCACHE_ESTALE,
        MCCACHE_EUSER,
        MCCACHE_ENOTSUP,
        MCCACHE_EINTERNAL,
        MCCACHE_LOG_ERROR,
        MCCACHE_LOG_WARN,
        MCCACHE_LOG_INFO,
        MCCACHE_LOG_DEBUG,
        MCCACHE_MODE_UPDATE,
        MCCACHE_MODE_REPLICATE,
        MCCACHE_MODE_INVALIDATE,
        MCCACHE_EVENT_INSERT,
        MCCACHE_EVENT_UPDATE,
        MCCACHE_EVENT_DELETE,
        MCCACHE_EVENT_EVICT,
        MCCACHE_EVENT_EXPIRE,
        MCCACHE_ORIGIN_LOCAL,
        MCCACHE_ORIGIN_REMOTE,
        MCCACHE_ORIGIN_REPAIR,
        MCCACHE_MEMBER_JOINED,
        MCCACHE_MEMBER_LEFT,
        MCCACHE_MEMBER_DOWN,
        MCCACHE_MEMBER_RECOVERED,
        MCCACHE_MEMBER_RESTARTED,
        MCCACHE_QUERY_METRICS,
        MCCACHE_QUERY_CHECKSUMS,
    );
    m
}

fn for_each_metadata_field(m: &mut BTreeMap<String, i64>) {
    field!(
        m,
        mccache_metadata_t,
        "mccache_metadata_t",
        struct_size,
        "struct_size"
    );
    field!(
        m,
        mccache_metadata_t,
        "mccache_metadata_t",
        reserved0,
        "reserved0"
    );
    field!(
        m,
        mccache_metadata_t,
        "mccache_metadata_t",
        version_hlc,
        "version_hlc"
    );
    field!(
        m,
        mccache_metadata_t,
        "mccache_metadata_t",
        version_node,
        "version_node"
    );
    field!(
        m,
        mccache_metadata_t,
        "mccache_metadata_t",
        created_ms,
        "created_ms"
    );
    field!(
        m,
        mccache_metadata_t,
        "mccache_metadata_t",
        updated_ms,
        "updated_ms"
    );
    field!(
        m,
        mccache_metadata_t,
        "mccache_metadata_t",
        expires_ms,
        "expires_ms"
    );
    field!(
        m,
        mccache_metadata_t,
        "mccache_metadata_t",
        last_lookup_ms,
        "last_lookup_ms"
    );
    field!(
        m,
        mccache_metadata_t,
        "mccache_metadata_t",
        lookups,
        "lookups"
    );
    field!(
        m,
        mccache_metadata_t,
        "mccache_metadata_t",
        key_size,
        "key_size"
    );
    field!(
        m,
        mccache_metadata_t,
        "mccache_metadata_t",
        value_size,
        "value_size"
    );
    field!(
        m,
        mccache_metadata_t,
        "mccache_metadata_t",
        charged_bytes,
        "charged_bytes"
    );
    field!(
        m,
        mccache_metadata_t,
        "mccache_metadata_t",
        checksum,
        "checksum"
    );
}

fn for_each_event_field(m: &mut BTreeMap<String, i64>) {
    field!(
        m,
        mccache_event_t,
        "mccache_event_t",
        struct_size,
        "struct_size"
    );
    field!(m, mccache_event_t, "mccache_event_t", type_, "type");
    field!(m, mccache_event_t, "mccache_event_t", origin, "origin");
    field!(
        m,
        mccache_event_t,
        "mccache_event_t",
        reserved0,
        "reserved0"
    );
    field!(m, mccache_event_t, "mccache_event_t", cache, "cache");
    field!(m, mccache_event_t, "mccache_event_t", key, "key");
    field!(m, mccache_event_t, "mccache_event_t", klen, "klen");
    field!(m, mccache_event_t, "mccache_event_t", value, "value");
    field!(
        m,
        mccache_event_t,
        "mccache_event_t",
        version_hlc,
        "version_hlc"
    );
    field!(
        m,
        mccache_event_t,
        "mccache_event_t",
        version_node,
        "version_node"
    );
    field!(
        m,
        mccache_event_t,
        "mccache_event_t",
        last_lookup_ms,
        "last_lookup_ms"
    );
    field!(m, mccache_event_t, "mccache_event_t", time_ms, "time_ms");
}

fn for_each_member_field(m: &mut BTreeMap<String, i64>) {
    field!(
        m,
        mccache_member_t,
        "mccache_member_t",
        struct_size,
        "struct_size"
    );
    field!(m, mccache_member_t, "mccache_member_t", event, "event");
    field!(m, mccache_member_t, "mccache_member_t", node_id, "node_id");
    field!(
        m,
        mccache_member_t,
        "mccache_member_t",
        incarnation,
        "incarnation"
    );
    field!(m, mccache_member_t, "mccache_member_t", address, "address");
    field!(
        m,
        mccache_member_t,
        "mccache_member_t",
        last_seen_ms,
        "last_seen_ms"
    );
}

#[test]
fn layouts_and_constants_match_the_c_compiler() {
    let c: BTreeMap<String, i64> = mccache_systest::c_items().into_iter().collect();
    let rust = rust_items();
    assert!(c.len() > 60, "layout.c produced only {} items", c.len());
    let mut mismatches = Vec::new();
    for (name, c_value) in &c {
        match rust.get(name) {
            Some(r) if r == c_value => {}
            Some(r) => mismatches.push(format!("{name}: C {c_value}, Rust {r}")),
            None => mismatches.push(format!("{name}: checked in C but not in Rust")),
        }
    }
    for name in rust.keys().filter(|n| !c.contains_key(*n)) {
        mismatches.push(format!("{name}: checked in Rust but not in C"));
    }
    assert!(
        mismatches.is_empty(),
        "mccache-sys disagrees with mccache.h:\n{}",
        mismatches.join("\n")
    );
}

#[test]
fn every_struct_field_is_checked() {
    // A field added to a C struct must be added to layout.c (and so here):
    // the last checked field must end where the struct ends.
    let c: BTreeMap<String, i64> = mccache_systest::c_items().into_iter().collect();
    let end = |t: &str, f: &str| c[&format!("{t}.{f}")] + c[&format!("size {t}.{f}")];
    assert_eq!(
        end("mccache_metadata_t", "checksum"),
        c["size mccache_metadata_t"]
    );
    assert_eq!(end("mccache_event_t", "time_ms"), c["size mccache_event_t"]);
    assert_eq!(
        end("mccache_member_t", "last_seen_ms"),
        c["size mccache_member_t"]
    );
}
