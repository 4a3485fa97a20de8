//! Node lifecycle: ids, JSON views, close and drop, and closed handles.
mod common;

use std::time::Duration;

use mccache::{ErrorCode, Result, Ttl};

fn closed<T: std::fmt::Debug>(r: Result<T>) {
    assert_eq!(r.unwrap_err().code(), ErrorCode::Closed);
}

#[test]
fn version_matches_the_binding() {
    assert_eq!(mccache::library_version(), mccache::BUILT_FOR_VERSION);
    assert_eq!(
        mccache::library_version_string(),
        mccache::sys::BUILT_FOR_VERSION
    );
    mccache::check_version().unwrap();
}

#[test]
fn node_identity_and_json_views() {
    let node = common::open_with(&[("node_id", "42")]);
    assert_eq!(node.id().unwrap(), 42);
    let config = node.config_json().unwrap();
    assert!(config.contains("\"node_id\""), "{config}");
    assert!(config.contains("\"api\""), "{config}");
    node.cache("c").unwrap();
    let metrics = node.metrics_json().unwrap();
    assert!(
        metrics.contains("\"node\"") && metrics.contains("\"caches\""),
        "{metrics}"
    );
    assert!(format!("{node:?}").starts_with("Node"));
}

#[test]
fn every_call_after_close_is_closed() {
    let node = common::open();
    let cache = node.cache("c").unwrap();
    cache.put("k", "v", Ttl::Default).unwrap();
    let value = cache.get_ref("k").unwrap().unwrap();
    let mut iter = cache.iter().unwrap();
    node.close().unwrap();

    closed(node.close());
    closed(node.cache("c"));
    closed(node.id());
    closed(node.config_json());
    closed(node.metrics_json());
    closed(node.housekeep());
    closed(node.set_logger(|_, _| {}));
    closed(node.clear_logger());
    closed(node.on_member(|_| {}));
    closed(node.clear_on_member());
    closed(node.members_json());
    closed(node.sync());
    closed(node.cluster_request(mccache::Query::Metrics, Duration::from_secs(1), |_| {}));
    closed(node.cluster_collect(mccache::Query::Metrics, Duration::from_secs(1)));
    closed(node.set_keys(None, None));

    closed(cache.put("k", "v", Ttl::Default));
    closed(cache.get("k"));
    closed(cache.get_ref("k"));
    closed(cache.get_into("k", &mut [0u8; 8]));
    closed(cache.delete("k"));
    closed(cache.contains("k"));
    closed(cache.len());
    closed(cache.is_empty());
    closed(cache.clear());
    closed(cache.iter());
    closed(cache.metadata("k"));
    closed(cache.get_batch(&["k"]));
    closed(cache.put_batch(&[("k", "v")], Ttl::Default));
    closed(cache.checksum());
    closed(cache.key_checksum("k"));
    closed(cache.metrics_json());
    closed(cache.on_change(|_| {}));
    closed(cache.clear_on_change());
    assert_eq!(cache.name(), "c", "the name outlives the node");

    // An iterator started before close reports it once, then ends.
    closed(iter.next().unwrap());
    assert!(iter.next().is_none());
    // Values keep their own reference.
    assert_eq!(&*value, b"v");
    drop(node);
    assert_eq!(&*value, b"v");
}

#[test]
fn dropping_the_node_closes_it() {
    let node = common::open();
    let cache = node.cache("c").unwrap();
    drop(node);
    closed(cache.get("k"));
}

#[test]
fn close_is_bounded() {
    let node = common::open();
    let cache = node.cache("c").unwrap();
    for i in 0..10_000 {
        cache.put(format!("k{i}"), "v", Ttl::Default).unwrap();
    }
    let start = std::time::Instant::now();
    node.close().unwrap();
    assert!(
        start.elapsed() < Duration::from_secs(5),
        "close took {:?}",
        start.elapsed()
    );
}
