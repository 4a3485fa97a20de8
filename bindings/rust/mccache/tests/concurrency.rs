//! Threads: shared handles, values read across threads, and a node closed
//! or dropped while other threads are calling in.
mod common;

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Barrier};
use std::thread;

use mccache::{Cache, Config, ErrorCode, Event, Iter, Node, Ttl, ValueRef};

#[test]
fn handles_are_send_and_sync() {
    fn assert_send_sync<T: Send + Sync + 'static>() {}
    assert_send_sync::<Node>();
    assert_send_sync::<Cache>();
    assert_send_sync::<ValueRef>();
    assert_send_sync::<Config>();
    assert_send_sync::<Iter>();
    assert_send_sync::<Event>();
    assert_send_sync::<mccache::Error>();
}

#[test]
fn threads_share_a_cache() {
    let node = common::open();
    let cache = node.cache("shared").unwrap();
    const THREADS: usize = 4;
    const KEYS: usize = 2000;
    let barrier = Arc::new(Barrier::new(THREADS));
    let workers: Vec<_> = (0..THREADS)
        .map(|t| {
            let (cache, barrier) = (cache.clone(), barrier.clone());
            thread::spawn(move || {
                barrier.wait();
                for i in 0..KEYS {
                    let key = format!("t{t}-{i}");
                    cache.put(&key, key.as_bytes(), Ttl::Default).unwrap();
                    assert_eq!(
                        cache.get_ref(&key).unwrap().as_deref(),
                        Some(key.as_bytes())
                    );
                    cache.get(format!("t{}-{i}", (t + 1) % THREADS)).unwrap();
                    if i % 3 == 0 {
                        assert!(cache.delete(&key).unwrap());
                    }
                }
            })
        })
        .collect();
    for w in workers {
        w.join().unwrap();
    }
    let expected = THREADS * (KEYS - KEYS.div_ceil(3));
    assert_eq!(cache.len().unwrap(), expected);
    assert_eq!(cache.iter().unwrap().count(), expected);
}

#[test]
fn values_are_read_across_threads_while_writers_replace_them() {
    let node = common::open();
    let cache = node.cache("readers").unwrap();
    cache.put("k", vec![1u8; 4096], Ttl::Default).unwrap();
    let held = cache.get_ref("k").unwrap().unwrap();
    let stop = Arc::new(AtomicBool::new(false));
    let writer = {
        let (cache, stop) = (cache.clone(), stop.clone());
        thread::spawn(move || {
            let mut n = 2u8;
            while !stop.load(Ordering::Relaxed) {
                cache.put("k", vec![n; 4096], Ttl::Default).unwrap();
                n = n.wrapping_add(1).max(2);
            }
        })
    };
    let readers: Vec<_> = (0..3)
        .map(|_| {
            let (held, cache) = (held.clone(), cache.clone());
            thread::spawn(move || {
                for _ in 0..2000 {
                    assert!(held.iter().all(|&b| b == 1), "a held value changed");
                    let v = cache.get_ref("k").unwrap().unwrap();
                    assert!(v.iter().all(|&b| b == v[0]), "a value was torn");
                }
            })
        })
        .collect();
    for r in readers {
        r.join().unwrap();
    }
    stop.store(true, Ordering::Relaxed);
    writer.join().unwrap();
}

#[test]
fn closing_while_threads_call_in() {
    for round in 0..5 {
        let node = common::open();
        let cache = node.cache("race").unwrap();
        cache.put("held", "still readable", Ttl::Default).unwrap();
        let held = cache.get_ref("held").unwrap().unwrap();
        let started = Arc::new(Barrier::new(5));
        let ok_calls = Arc::new(AtomicUsize::new(0));
        let workers: Vec<_> = (0..4)
            .map(|t| {
                let (cache, started, ok_calls) = (cache.clone(), started.clone(), ok_calls.clone());
                thread::spawn(move || {
                    started.wait();
                    let mut i = 0u64;
                    loop {
                        let key = format!("{t}-{}", i % 64);
                        let results = [
                            cache.put(&key, "v", Ttl::Default).map(|_| ()),
                            cache.get_ref(&key).map(|_| ()),
                            cache.delete(&key).map(|_| ()),
                            cache
                                .iter()
                                .and_then(|mut it| it.try_for_each(|e| e.map(|_| ()))),
                            cache.len().map(|_| ()),
                        ];
                        for r in results {
                            match r {
                                Ok(()) => {
                                    ok_calls.fetch_add(1, Ordering::Relaxed);
                                }
                                Err(e) if e.code() == ErrorCode::Closed => return,
                                Err(e) => panic!("unexpected error: {e}"),
                            }
                        }
                        i += 1;
                    }
                })
            })
            .collect();
        started.wait();
        // Let the workers get going, then close under them.
        common::wait_until("some calls", || ok_calls.load(Ordering::Relaxed) > 100);
        if round % 2 == 0 {
            node.close().unwrap();
        } else {
            drop(node);
        }
        for w in workers {
            w.join().unwrap();
        }
        assert_eq!(
            cache.put("k", "v", Ttl::Default).unwrap_err().code(),
            ErrorCode::Closed
        );
        assert_eq!(&*held, b"still readable");
    }
}

#[test]
fn concurrent_registrations_free_every_closure_once() {
    let node = common::open();
    let cache = node.cache("registrations").unwrap();
    let drops = Arc::new(AtomicUsize::new(0));
    const THREADS: usize = 4;
    const EACH: usize = 50;
    let workers: Vec<_> = (0..THREADS)
        .map(|_| {
            let (cache, drops) = (cache.clone(), drops.clone());
            thread::spawn(move || {
                for i in 0..EACH {
                    let state = common::Tracked(common::DropCounter(drops.clone()));
                    cache
                        .on_change(move |_| {
                            let _ = &state;
                        })
                        .unwrap();
                    cache.put(format!("k{i}"), "v", Ttl::Default).unwrap();
                }
            })
        })
        .collect();
    for w in workers {
        w.join().unwrap();
    }
    drop(node);
    assert_eq!(drops.load(Ordering::SeqCst), THREADS * EACH);
}

#[test]
fn several_nodes_in_one_process() {
    let nodes: Vec<Node> = (0..3).map(|_| common::open()).collect();
    let caches: Vec<Cache> = nodes
        .iter()
        .map(|n| n.cache("same-name").unwrap())
        .collect();
    for (i, c) in caches.iter().enumerate() {
        c.put("k", i.to_string(), Ttl::Default).unwrap();
    }
    for (i, c) in caches.iter().enumerate() {
        assert_eq!(c.get("k").unwrap(), Some(i.to_string().into_bytes()));
    }
    let ids: std::collections::HashSet<u64> = nodes.iter().map(|n| n.id().unwrap()).collect();
    assert_eq!(ids.len(), 3);
}
