//! Change callbacks and loggers: delivery, ownership of the closure (freed
//! exactly once), the panic firewall, and calls made from inside callbacks.
mod common;

use std::sync::atomic::Ordering;
use std::sync::mpsc::{self, Sender};
use std::sync::{Arc, Mutex};

use common::{recv_matching, tracked, wait_until};
use mccache::{ErrorCode, Event, EventKind, LogLevel, Node, Origin, Ttl};

fn sender_callback(tx: Sender<Event>) -> impl Fn(Event) + Send + Sync + 'static {
    move |e| {
        let _ = tx.send(e);
    }
}

#[test]
fn events_describe_each_change() {
    let node = common::open();
    let cache = node.cache("events").unwrap();
    let (tx, rx) = mpsc::channel();
    cache.on_change(sender_callback(tx)).unwrap();

    cache.put("k", "v1", Ttl::Default).unwrap();
    let m1 = cache.metadata("k").unwrap().unwrap();
    cache.get("k").unwrap();
    cache.put("k", "v2", Ttl::Default).unwrap();
    cache.delete("k").unwrap();

    let insert = recv_matching(&rx, "insert", |e| e.kind == EventKind::Insert);
    assert_eq!(insert.key, b"k");
    assert_eq!(insert.value.as_deref(), Some(&b"v1"[..]));
    assert_eq!(insert.origin, Origin::Local);
    assert_eq!(insert.cache, cache);
    assert_eq!(insert.cache.name(), "events");
    assert_eq!(insert.version, m1.version);
    assert_eq!(insert.last_lookup, None);
    let update = recv_matching(&rx, "update", |e| e.kind == EventKind::Update);
    assert_eq!(update.value.as_deref(), Some(&b"v2"[..]));
    assert!(update.version > insert.version);
    assert!(
        update.last_lookup.is_some(),
        "the key was read before the update"
    );
    assert!(update.time >= insert.time);
    let delete = recv_matching(&rx, "delete", |e| e.kind == EventKind::Delete);
    assert_eq!(delete.key, b"k");

    cache.put("a", "1", Ttl::Default).unwrap();
    cache.put("b", "2", Ttl::Default).unwrap();
    cache.clear().unwrap();
    let mut cleared = Vec::new();
    while cleared.len() < 2 {
        let e = recv_matching(&rx, "clear deletes", |e| e.kind == EventKind::Delete);
        cleared.push(e.key);
    }
    cleared.sort();
    assert_eq!(cleared, [b"a".to_vec(), b"b".to_vec()]);
}

#[test]
fn evictions_are_reported() {
    // LRU, so which entry goes is certain; W-TinyLFU may refuse the newcomer.
    let node = common::open_with(&[("small.cache_max", "2"), ("small.eviction_policy", "lru")]);
    let cache = node.cache("small").unwrap();
    let (tx, rx) = mpsc::channel();
    cache.on_change(sender_callback(tx)).unwrap();
    for k in ["a", "b", "c"] {
        cache.put(k, "v", Ttl::Default).unwrap();
    }
    let evicted = recv_matching(&rx, "evict", |e| e.kind == EventKind::Evict);
    assert_eq!(evicted.key, b"a", "the least recently used entry goes");
    assert_eq!(cache.len().unwrap(), 2);
}

#[test]
fn event_values_outlive_the_callback() {
    let node = common::open();
    let cache = node.cache("kept").unwrap();
    let kept = Arc::new(Mutex::new(Vec::new()));
    let k2 = kept.clone();
    cache
        .on_change(move |e| k2.lock().unwrap().push(e))
        .unwrap();
    cache.put("k", "first", Ttl::Default).unwrap();
    wait_until("an event", || !kept.lock().unwrap().is_empty());
    node.close().unwrap();
    let events = kept.lock().unwrap();
    assert_eq!(
        events[0].value.as_deref(),
        Some(&b"first"[..]),
        "readable after close"
    );
}

#[test]
fn closure_is_freed_once_on_replacement_clear_and_close() {
    let node = common::open();
    let cache = node.cache("owned").unwrap();

    let (first, first_drops) = tracked();
    cache
        .on_change(move |_| {
            let _ = &first;
        })
        .unwrap();
    let (second, second_drops) = tracked();
    cache
        .on_change(move |_| {
            let _ = &second;
        })
        .unwrap();
    // Replacement happens on the loop thread.
    wait_until("the first closure to be freed", || {
        first_drops.load(Ordering::SeqCst) == 1
    });

    cache.clear_on_change().unwrap();
    wait_until("the second closure to be freed", || {
        second_drops.load(Ordering::SeqCst) == 1
    });

    let (third, third_drops) = tracked();
    cache
        .on_change(move |_| {
            let _ = &third;
        })
        .unwrap();
    node.close().unwrap();
    assert_eq!(
        third_drops.load(Ordering::SeqCst),
        1,
        "close frees the closure before it returns"
    );

    // A registration that fails frees the closure at once.
    let (fourth, fourth_drops) = tracked();
    let e = cache
        .on_change(move |_| {
            let _ = &fourth;
        })
        .unwrap_err();
    assert_eq!(e.code(), ErrorCode::Closed);
    assert_eq!(fourth_drops.load(Ordering::SeqCst), 1);

    drop(node);
    for n in [&first_drops, &second_drops, &third_drops, &fourth_drops] {
        assert_eq!(
            n.load(Ordering::SeqCst),
            1,
            "each closure is freed exactly once"
        );
    }
}

#[test]
fn dropping_the_node_frees_callbacks() {
    let (state, drops) = tracked();
    let (log_state, log_drops) = tracked();
    {
        let node = common::open();
        node.cache("c")
            .unwrap()
            .on_change(move |_| {
                let _ = &state;
            })
            .unwrap();
        node.set_logger(move |_, _| {
            let _ = &log_state;
        })
        .unwrap();
    }
    assert_eq!(drops.load(Ordering::SeqCst), 1);
    assert_eq!(log_drops.load(Ordering::SeqCst), 1);
}

#[test]
fn a_panicking_callback_is_contained() {
    let node = common::open();
    let cache = node.cache("panics").unwrap();
    let (tx, rx) = mpsc::channel();
    let before = mccache::callback_panics();
    cache
        .on_change(move |e: Event| {
            if e.key == b"boom" {
                panic!("callback panic (expected by the test)");
            }
            let _ = tx.send(e);
        })
        .unwrap();
    cache.put("boom", "v", Ttl::Default).unwrap();
    cache.put("after", "v", Ttl::Default).unwrap();
    let e = recv_matching(&rx, "the event after the panic", |e| e.key == b"after");
    assert_eq!(e.kind, EventKind::Insert);
    assert!(mccache::callback_panics() > before);
    // The node still works, and closes normally.
    assert_eq!(cache.get("boom").unwrap(), Some(b"v".to_vec()));
    node.close().unwrap();
}

#[test]
fn a_panicking_drop_of_captured_state_is_contained() {
    struct PanicOnDrop;
    impl Drop for PanicOnDrop {
        fn drop(&mut self) {
            panic!("drop panic (expected by the test)");
        }
    }
    let node = common::open();
    let cache = node.cache("droppanic").unwrap();
    let before = mccache::callback_panics();
    let state = PanicOnDrop;
    cache
        .on_change(move |_| {
            let _ = &state;
        })
        .unwrap();
    node.close().unwrap();
    assert!(mccache::callback_panics() > before);
}

#[test]
fn logger_receives_lines_and_is_freed_once() {
    let node = common::open_with(&[("log_level", "info")]);
    let lines = Arc::new(Mutex::new(Vec::new()));
    let (state, drops) = tracked();
    let sink = lines.clone();
    node.set_logger(move |level, line| {
        let _ = &state;
        sink.lock().unwrap().push((level, line.to_owned()));
    })
    .unwrap();
    node.cache("logged").unwrap();
    wait_until("the cache-open log line", || {
        lines
            .lock()
            .unwrap()
            .iter()
            .any(|(l, s)| *l == LogLevel::Info && s.contains("logged"))
    });
    node.clear_logger().unwrap();
    wait_until("the logger to be freed", || {
        drops.load(Ordering::SeqCst) == 1
    });
    let n = lines.lock().unwrap().len();
    node.cache("unlogged").unwrap();
    assert_eq!(
        lines.lock().unwrap().len(),
        n,
        "no lines after clear_logger"
    );

    // A panicking logger is contained too.
    let before = mccache::callback_panics();
    node.set_logger(|_, _| panic!("logger panic (expected by the test)"))
        .unwrap();
    node.cache("again").unwrap();
    // Lines reach the logger on the node's callback thread, soon after.
    wait_until("the logger's panic to be contained", || {
        mccache::callback_panics() > before
    });
    node.close().unwrap();
    assert_eq!(drops.load(Ordering::SeqCst), 1);
}

#[test]
fn callbacks_run_on_one_thread_of_the_node_never_the_callers() {
    let node = common::open_with(&[("log_level", "info")]);
    let cache = node.cache("threads").unwrap();
    let (tx, rx) = mpsc::channel();
    let change_tx = tx.clone();
    cache
        .on_change(move |e: Event| {
            let _ = change_tx.send(("change", std::thread::current().id(), e.key));
        })
        .unwrap();
    let (release_tx, release_rx) = mpsc::channel::<()>();
    let release_rx = Mutex::new(release_rx);
    node.set_logger(move |_, line| {
        if line.contains("logged-later") {
            let _ = tx.send(("log", std::thread::current().id(), line.as_bytes().to_vec()));
            // Blocks the logger, never the thread that logged.
            let _ = release_rx.lock().unwrap().recv_timeout(common::DEADLINE);
        }
    })
    .unwrap();

    // Opening a cache logs a line; the logger blocks on it, and the call
    // returns all the same: lines are delivered later, on the callback thread.
    node.cache("logged-later").unwrap();
    cache.put("k", "v", Ttl::Default).unwrap();

    let mut threads = Vec::new();
    let mut kinds = Vec::new();
    while kinds.len() < 2 {
        let (kind, thread, _) = rx.recv_timeout(common::DEADLINE).expect("a callback");
        if kind == "log" {
            release_tx.send(()).unwrap();
        }
        kinds.push(kind);
        threads.push(thread);
    }
    kinds.sort();
    assert_eq!(kinds, ["change", "log"]);
    assert!(
        threads.iter().all(|t| *t != std::thread::current().id()),
        "a callback ran on the caller's thread"
    );
    assert_eq!(
        threads[0], threads[1],
        "the node's callbacks run on one thread"
    );
    node.close().unwrap();
}

#[test]
fn callbacks_may_call_the_api_but_not_close_their_node() {
    let node = Arc::new(common::open());
    let cache = node.cache("source").unwrap();
    let mirror = node.cache("mirror").unwrap();
    let (tx, rx) = mpsc::channel();
    let inner_node = Arc::downgrade(&node);
    let m = mirror.clone();
    cache
        .on_change(move |e: Event| {
            if let Some(v) = &e.value {
                m.put(&e.key, v, Ttl::Default).unwrap();
            }
            let node = inner_node.upgrade().unwrap();
            let _ = tx.send((
                node.close().map_err(|e| e.code()),
                node.housekeep().map_err(|e| e.code()),
            ));
        })
        .unwrap();
    cache.put("k", "v", Ttl::Default).unwrap();
    let (close, housekeep) = rx.recv_timeout(common::DEADLINE).unwrap();
    assert_eq!(close, Err(ErrorCode::Busy));
    assert_eq!(housekeep, Err(ErrorCode::Busy));
    wait_until("the mirrored write", || mirror.get("k").unwrap().is_some());
    cache.clear_on_change().unwrap();
}

#[test]
fn dropping_a_node_inside_its_own_callback_closes_it_after() {
    let node = common::open();
    let cache = node.cache("selfdrop").unwrap();
    let slot = Arc::new(Mutex::new(Some(node)));
    let s = slot.clone();
    cache
        .on_change(move |_| {
            let taken: Option<Node> = s.lock().unwrap().take();
            drop(taken);
        })
        .unwrap();
    cache.put("k", "v", Ttl::Default).unwrap();
    wait_until(
        "the node to close",
        || matches!(cache.len(), Err(e) if e.code() == ErrorCode::Closed),
    );
    assert!(slot.lock().unwrap().is_none());
}
