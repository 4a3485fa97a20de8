//! Helpers shared by the integration tests.
#![allow(dead_code)]

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc::Receiver;
use std::sync::Arc;
use std::time::{Duration, Instant};

use mccache::{Config, Event, Node};

/// How long any wait in these tests may take before it counts as a failure.
pub const DEADLINE: Duration = Duration::from_secs(10);

/// A cluster name no other test (or test process) uses.
pub fn unique_cluster() -> String {
    static NEXT: AtomicUsize = AtomicUsize::new(0);
    let n = NEXT.fetch_add(1, Ordering::Relaxed);
    format!("rust-test-{}-{n}", std::process::id())
}

/// A configuration for a node of `cluster`. The interface stays the
/// default, 127.0.0.1. Fast heartbeats let cluster tests see joins and
/// leaves quickly; only errors are logged.
pub fn config_in(cluster: &str) -> Config {
    let mut c = Config::new().expect("config");
    for (k, v) in [
        ("cluster_name", cluster),
        ("heartbeat_interval", "50ms"),
        ("member_timeout", "1s"),
        ("log_level", "error"),
    ] {
        c.set(k, v).unwrap_or_else(|e| panic!("set {k}={v}: {e}"));
    }
    c
}

/// A configuration whose node is alone in its cluster (a unique
/// `cluster_name`), so nodes of concurrent tests never replicate to each
/// other.
pub fn config() -> Config {
    config_in(&unique_cluster())
}

pub fn open() -> Node {
    Node::open(&config()).expect("open node")
}

pub fn open_with(settings: &[(&str, &str)]) -> Node {
    let mut c = config();
    for (k, v) in settings {
        c.set(k, v).unwrap_or_else(|e| panic!("set {k}={v}: {e}"));
    }
    Node::open(&c).expect("open node")
}

/// Polls `cond` until it holds, failing the test at the deadline.
pub fn wait_until(what: &str, mut cond: impl FnMut() -> bool) {
    let deadline = Instant::now() + DEADLINE;
    while !cond() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(2));
    }
}

/// Receives events until one matches `pred`, failing the test at the deadline.
pub fn recv_matching(rx: &Receiver<Event>, what: &str, pred: impl Fn(&Event) -> bool) -> Event {
    let deadline = Instant::now() + DEADLINE;
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        match rx.recv_timeout(left) {
            Ok(e) if pred(&e) => return e,
            Ok(_) => continue,
            Err(_) => panic!("timed out waiting for event: {what}"),
        }
    }
}

/// Counts how many times values holding it were dropped: captured by a
/// callback, it tells when (and how often) the library freed the closure.
#[derive(Clone, Default)]
pub struct DropCounter(pub Arc<AtomicUsize>);

impl DropCounter {
    pub fn new() -> (DropCounter, Arc<AtomicUsize>) {
        let n = Arc::new(AtomicUsize::new(0));
        (DropCounter(n.clone()), n)
    }
}

/// A value holding the counter; dropping it counts once.
pub struct Tracked(pub DropCounter);

impl Drop for Tracked {
    fn drop(&mut self) {
        (self.0).0.fetch_add(1, Ordering::SeqCst);
    }
}

pub fn tracked() -> (Tracked, Arc<AtomicUsize>) {
    let (c, n) = DropCounter::new();
    (Tracked(c), n)
}
