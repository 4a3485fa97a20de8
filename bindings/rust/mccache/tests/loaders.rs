//! Cache::get_or_try_insert_with and memoize: one load for concurrent
//! callers (on a node and across a cluster), errors, panics, namespaces.
mod common;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Barrier, Condvar, Mutex};
use std::thread;
use std::time::Duration;

use common::*;
use mccache::{memoize, ErrorCode, LoadError, Node};

fn alone() -> Node {
    open_with(&[("transport", "none")])
}

#[test]
fn concurrent_callers_wait_for_one_load() {
    let node = alone();
    let cache = node.cache("c").unwrap();
    let calls = Arc::new(AtomicUsize::new(0));
    let gate = Arc::new((Mutex::new(false), Condvar::new()));
    let handles: Vec<_> = (0..16)
        .map(|_| {
            let (cache, calls, gate) = (cache.clone(), calls.clone(), gate.clone());
            thread::spawn(move || {
                cache.get_or_try_insert_with("k", || {
                    calls.fetch_add(1, Ordering::SeqCst);
                    let (open, cv) = &*gate;
                    let _g = cv.wait_while(open.lock().unwrap(), |o| !*o).unwrap();
                    Ok::<_, String>("v")
                })
            })
        })
        .collect();
    wait_until("the load to start", || calls.load(Ordering::SeqCst) == 1);
    *gate.0.lock().unwrap() = true;
    gate.1.notify_all();
    for h in handles {
        assert_eq!(h.join().unwrap().unwrap(), b"v");
    }
    assert_eq!(calls.load(Ordering::SeqCst), 1);
    assert_eq!(cache.get("k").unwrap(), Some(b"v".to_vec()));
    // Present: the closure is not called.
    let v = cache.get_or_try_insert_with("k", || -> Result<&str, String> { panic!("called") });
    assert_eq!(v.unwrap(), b"v");
}

#[test]
fn loader_errors_reach_the_caller_and_the_waiters() {
    let node = alone();
    let cache = node.cache("c").unwrap();
    match cache.get_or_try_insert_with("k", || Err::<Vec<u8>, _>(std::io::Error::other("db down")))
    {
        Err(LoadError::Loader(e)) => assert_eq!(e.to_string(), "db down"),
        other => panic!("got {other:?}"),
    }
    assert_eq!(cache.get("k").unwrap(), None);

    // A waiter gets the library's error with the loader's text.
    let started = Arc::new(Barrier::new(2));
    let gate = Arc::new((Mutex::new(false), Condvar::new()));
    let loader = {
        let (cache, started, gate) = (cache.clone(), started.clone(), gate.clone());
        thread::spawn(move || {
            cache.get_or_try_insert_with("w", || {
                started.wait();
                let (open, cv) = &*gate;
                let _g = cv.wait_while(open.lock().unwrap(), |o| !*o).unwrap();
                Err::<Vec<u8>, _>("no such row".to_string())
            })
        })
    };
    started.wait();
    let waiter = {
        let cache = cache.clone();
        thread::spawn(move || cache.get_or_try_insert_with("w", || Ok::<_, String>("unexpected")))
    };
    wait_until("the waiter to wait", || {
        let m = cache.metrics_json().unwrap();
        !m.contains("\"waits\":0")
    });
    *gate.0.lock().unwrap() = true;
    gate.1.notify_all();
    assert!(matches!(loader.join().unwrap(), Err(LoadError::Loader(_))));
    match waiter.join().unwrap() {
        Err(LoadError::Cache(e)) => {
            assert_eq!(e.code(), ErrorCode::User);
            assert!(e.message().contains("no such row"), "{e}");
        }
        other => panic!("got {other:?}"),
    }
}

#[test]
fn a_panicking_loader_fails_the_load_and_resumes_on_the_caller() {
    let node = alone();
    let cache = node.cache("c").unwrap();
    let c2 = cache.clone();
    let r = std::panic::catch_unwind(move || {
        let _ = c2.get_or_try_insert_with("k", || -> Result<&str, String> { panic!("boom") });
    });
    assert!(r.is_err());
    // The library is fine, and the key loads again.
    assert_eq!(
        cache
            .get_or_try_insert_with("k", || Ok::<_, String>("ok"))
            .unwrap(),
        b"ok"
    );
}

#[test]
fn one_load_in_a_cluster_of_three() {
    let cluster = unique_cluster();
    let nodes: Vec<Node> = (0..3)
        .map(|_| Node::open(&config_in(&cluster)).unwrap())
        .collect();
    for n in &nodes {
        wait_until("three members", || {
            n.members_json().unwrap().matches("\"alive\"").count() == 2
        });
    }
    let calls = Arc::new(AtomicUsize::new(0));
    let start = Arc::new(Barrier::new(3 * 8));
    let mut handles = Vec::new();
    for n in &nodes {
        for _ in 0..8 {
            let (cache, calls, start) = (n.cache("c").unwrap(), calls.clone(), start.clone());
            handles.push(thread::spawn(move || {
                start.wait();
                cache.get_or_try_insert_with("hot", || {
                    calls.fetch_add(1, Ordering::SeqCst);
                    thread::sleep(Duration::from_millis(100)); // a slow backend
                    Ok::<_, String>("v")
                })
            }));
        }
    }
    for h in handles {
        assert_eq!(h.join().unwrap().unwrap(), b"v");
    }
    assert_eq!(
        calls.load(Ordering::SeqCst),
        1,
        "one load in the whole cluster"
    );
}

#[test]
fn memoize_calls_once_per_key() {
    let node = alone();
    let calls = AtomicUsize::new(0);
    let upper = memoize(node.cache("c").unwrap(), |key: &[u8]| {
        calls.fetch_add(1, Ordering::SeqCst);
        Ok::<_, String>(key.to_ascii_uppercase())
    });
    for _ in 0..3 {
        assert_eq!(upper(b"ab").unwrap(), b"AB");
        assert_eq!(upper(b"cd").unwrap(), b"CD");
    }
    assert_eq!(calls.load(Ordering::SeqCst), 2);
}

#[test]
fn bump_namespace_invalidates() {
    let node = open_with(&[("transport", "none"), ("key_version", "3")]);
    let cache = node.cache("c").unwrap();
    cache.put("k", "old", mccache::Ttl::Default).unwrap();
    assert_eq!(cache.bump_namespace().unwrap(), 1);
    assert_eq!(cache.get("k").unwrap(), None);
    let other = alone();
    let plain = other.cache("plain").unwrap();
    assert_eq!(
        plain.bump_namespace().unwrap_err().code(),
        ErrorCode::InvalidArgument
    );
}
