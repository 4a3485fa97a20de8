//! The README's quick start, kept compiling by `cargo test`.
//! Run: `cargo run --example quickstart`.
use std::time::Duration;

use mccache::{Config, ErrorCode, EventKind, Node, Ttl};

fn main() -> Result<(), mccache::Error> {
    let mut config = Config::new()?;
    config
        .set("cache_ttl", "10m")?
        .set("sessions.cache_max", "100000")?;
    let node = Node::open(&config)?;
    let sessions = node.cache("sessions")?;

    sessions.on_change(|event| {
        if event.kind == EventKind::Expire {
            println!("expired: {}", String::from_utf8_lossy(&event.key));
        }
    })?;

    sessions.put("s:42", "alice", Ttl::After(Duration::from_secs(30)))?;
    if let Some(user) = sessions.get_ref("s:42")? {
        println!("s:42 -> {}", String::from_utf8_lossy(&user)); // zero copy
    }

    match sessions.put("", "no key", Ttl::Default) {
        Err(e) if e.code() == ErrorCode::InvalidArgument => println!("rejected: {e}"),
        other => panic!("expected an error, got {other:?}"),
    }
    node.close()
}
