//! The cluster calls: membership, anti-entropy, cluster-wide queries and
//! keys, on one node and on two nodes of one cluster over loopback.
mod common;

use std::sync::atomic::Ordering;
use std::sync::mpsc;
use std::time::Duration;

use common::{recv_matching, tracked, wait_until};
use mccache::{ErrorCode, EventKind, MemberEventKind, Node, Origin, Query, Reply, Ttl};

const WAIT: Duration = Duration::from_secs(5);

fn has_id(json: &str, id: u64) -> bool {
    json.contains(&format!("{id:016x}")) || json.contains(&format!("{id:x}"))
}

#[test]
fn a_lone_node_answers_its_own_queries() {
    let node = common::open();
    let cache = node.cache("c").unwrap();
    cache.put("k", "v", Ttl::Default).unwrap();
    let id = node.id().unwrap();

    let members = node.members_json().unwrap();
    assert!(members.contains("\"self\""), "{members}");
    node.sync().unwrap();

    let metrics = node.cluster_collect(Query::Metrics, WAIT).unwrap();
    assert!(
        metrics.contains("\"replies\"") && has_id(&metrics, id),
        "{metrics}"
    );
    let sums = node
        .cluster_collect(Query::Checksums(Some("c")), WAIT)
        .unwrap();
    assert!(sums.contains("\"c\""), "{sums}");

    let (tx, rx) = mpsc::channel();
    let (state, drops) = tracked();
    node.cluster_request(Query::Checksums(None), WAIT, move |reply| {
        let _ = &state;
        let _ = tx.send(reply);
    })
    .unwrap();
    let first = rx.recv_timeout(common::DEADLINE).unwrap();
    match first {
        Reply::Answer { member, json } => {
            assert_eq!(member, id);
            assert!(json.contains("\"checksum\""), "{json}");
        }
        Reply::Done => panic!("no answer before Done"),
    }
    assert_eq!(rx.recv_timeout(common::DEADLINE).unwrap(), Reply::Done);
    wait_until("the reply closure to be freed", || {
        drops.load(Ordering::SeqCst) == 1
    });
}

#[test]
fn refused_requests_free_their_closure_at_once() {
    let node = common::open();
    let (state, drops) = tracked();
    let e = node
        .cluster_request(Query::Metrics, Duration::ZERO, move |_| {
            let _ = &state;
        })
        .unwrap_err();
    assert_eq!(e.code(), ErrorCode::InvalidArgument);
    assert_eq!(drops.load(Ordering::SeqCst), 1);
    let e = node
        .cluster_collect(Query::Metrics, Duration::from_secs(3600))
        .unwrap_err();
    assert_eq!(e.code(), ErrorCode::InvalidArgument);
    assert!(e.message().contains("timeout"), "{e}");
}

#[test]
fn two_nodes_replicate_and_see_each_other() {
    let cluster = common::unique_cluster();
    let a = Node::open(&common::config_in(&cluster)).unwrap();
    let (members_tx, members) = mpsc::channel();
    let (state, member_drops) = tracked();
    a.on_member(move |m| {
        let _ = &state;
        let _ = members_tx.send(m);
    })
    .unwrap();
    let a_cache = a.cache("shared").unwrap();
    let (events_tx, events) = mpsc::channel();
    a_cache
        .on_change(move |e| {
            let _ = events_tx.send(e);
        })
        .unwrap();

    let b = Node::open(&common::config_in(&cluster)).unwrap();
    let b_id = b.id().unwrap();
    let b_cache = b.cache("shared").unwrap();

    let joined = loop {
        let m = members.recv_timeout(common::DEADLINE).expect("a join");
        if m.kind == MemberEventKind::Joined && m.node_id == b_id {
            break m;
        }
    };
    assert!(joined.address.starts_with("127.0.0.1:"), "{joined:?}");

    b_cache.put("from-b", "hello", Ttl::Default).unwrap();
    let e = recv_matching(&events, "the replicated write", |e| e.key == b"from-b");
    assert_eq!(e.kind, EventKind::Insert);
    // The write arrives by the stream (Remote) or, when anti-entropy gets
    // there first (a round runs when b joins), by a repair: a race decides
    // which, so either is right. It is never Local.
    assert!(
        matches!(e.origin, Origin::Remote | Origin::Repair),
        "{:?}",
        e.origin
    );
    assert_eq!(e.version.node, b_id);
    assert_eq!(e.value.as_deref(), Some(&b"hello"[..]));
    assert_eq!(a_cache.get("from-b").unwrap(), Some(b"hello".to_vec()));

    a_cache.put("from-a", "hi", Ttl::Default).unwrap();
    wait_until("checksums to converge", || {
        a_cache.checksum().unwrap() == b_cache.checksum().unwrap() && b_cache.len().unwrap() == 2
    });
    let collected = a
        .cluster_collect(Query::Checksums(Some("shared")), WAIT)
        .unwrap();
    assert!(collected.contains("\"members\":2"), "{collected}");
    assert!(has_id(&collected, b_id), "{collected}");
    assert!(has_id(&a.members_json().unwrap(), b_id));

    b.close().unwrap();
    loop {
        let m = members.recv_timeout(common::DEADLINE).expect("a leave");
        if m.kind == MemberEventKind::Left && m.node_id == b_id {
            break;
        }
    }
    a.clear_on_member().unwrap();
    wait_until("the member closure to be freed", || {
        member_drops.load(Ordering::SeqCst) == 1
    });
}

#[test]
fn keys_can_be_generated_and_rotated() {
    let k1 = mccache::generate_key().unwrap();
    let k2 = mccache::generate_key().unwrap();
    assert_eq!(k1.len(), 44);
    assert_ne!(k1, k2);

    let mut config = common::config();
    config.set("crypto_key", &k1).unwrap();
    let node = Node::open(&config).unwrap();
    node.set_keys(Some(&k1), Some(&k2)).unwrap();
    node.set_keys(Some(&k2), None).unwrap();
    let e = node.set_keys(Some("not base64"), None).unwrap_err();
    assert_eq!(e.code(), ErrorCode::InvalidArgument);
    assert_eq!(
        node.set_keys(Some("a\0b"), None).unwrap_err().code(),
        ErrorCode::InvalidArgument
    );
    node.set_keys(None, None).unwrap();
}
