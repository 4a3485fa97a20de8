//! TTLs: per entry, the cache default, never, and expiry events. Every wait
//! has a deadline.
mod common;

use std::sync::mpsc;
use std::time::Duration;

use common::{recv_matching, wait_until};
use mccache::{EventKind, Ttl};

#[test]
fn entries_expire_after_their_ttl() {
    let node = common::open_with(&[("daemon_sleep", "10ms")]);
    let cache = node.cache("ttl").unwrap();
    let (tx, rx) = mpsc::channel();
    cache
        .on_change(move |e| {
            let _ = tx.send(e);
        })
        .unwrap();
    cache
        .put("short", "v", Ttl::After(Duration::from_millis(50)))
        .unwrap();
    cache
        .put("long", "v", Ttl::After(Duration::from_secs(3600)))
        .unwrap();
    cache.put("never", "v", Ttl::Never).unwrap();
    assert!(cache.contains("short").unwrap());
    wait_until("the short entry to expire", || {
        !cache.contains("short").unwrap()
    });
    assert_eq!(cache.get("short").unwrap(), None);
    let e = recv_matching(&rx, "expire", |e| e.kind == EventKind::Expire);
    assert_eq!(e.key, b"short");
    assert!(cache.contains("long").unwrap());
    assert!(cache.contains("never").unwrap());
}

#[test]
fn default_ttl_comes_from_the_cache_settings() {
    let node = common::open_with(&[("brief.cache_ttl", "100ms"), ("daemon_sleep", "10ms")]);
    let brief = node.cache("brief").unwrap();
    brief.put("default", "v", Ttl::Default).unwrap();
    brief.put("never", "v", Ttl::Never).unwrap();
    let m = brief.metadata("default").unwrap().unwrap();
    let ttl = m.expires.unwrap().duration_since(m.updated).unwrap();
    assert_eq!(ttl, Duration::from_millis(100));
    wait_until("the default-TTL entry to expire", || {
        !brief.contains("default").unwrap()
    });
    assert!(brief.contains("never").unwrap());

    // Another cache keeps the node-wide default (1h).
    let other = node.cache("other").unwrap();
    other.put("k", "v", Ttl::Default).unwrap();
    let m = other.metadata("k").unwrap().unwrap();
    assert_eq!(
        m.expires.unwrap().duration_since(m.updated).unwrap(),
        Duration::from_secs(3600)
    );
}

#[test]
fn housekeep_removes_expired_entries_now() {
    // A housekeeper too slow to matter: only explicit passes run.
    let node = common::open_with(&[("daemon_sleep", "1m")]);
    let cache = node.cache("manual").unwrap();
    let (tx, rx) = mpsc::channel();
    cache
        .on_change(move |e| {
            let _ = tx.send(e);
        })
        .unwrap();
    cache
        .put("k", "v", Ttl::After(Duration::from_millis(1)))
        .unwrap();
    wait_until("expiry", || {
        node.housekeep().unwrap();
        cache.len().unwrap() == 0
    });
    let e = recv_matching(&rx, "expire", |e| e.kind == EventKind::Expire);
    assert_eq!(e.key, b"k");
}
