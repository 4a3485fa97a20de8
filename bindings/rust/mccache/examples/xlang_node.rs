//! The Rust member of the cross-language cluster test
//! (tests/xlang/run_xlang.py starts it beside the C, Go and Java nodes).
//!
//! It speaks the line protocol of tests/xlang/README.md on stdin/stdout:
//! "ready", then one reply line per command (members, write PHASE, sync,
//! checksum, events, probe KEY..., quit). It uses only the safe `mccache`
//! crate; errors go to stderr, stdout carries protocol lines only.
//! Build: `cargo build --example xlang_node`.
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::io::{self, BufRead, Write};
use std::process;
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

use mccache::{Cache, Config, Event, EventKind, Node, Origin, Ttl, Version};

#[derive(Default)]
struct PrefixStats {
    local: u64,
    remote: u64,
    repair: u64,
    /// Key indexes that got a remote or repair insert/update.
    seen: BTreeSet<usize>,
    /// Remote or repair inserts/updates by the writer label in the value.
    from: BTreeMap<String, u64>,
}

#[derive(Default)]
struct Stats {
    /// In order of first appearance, as the other nodes print them.
    prefixes: Vec<(String, PrefixStats)>,
    /// The latest version of this node's own writes, by key.
    mine: HashMap<String, Version>,
}

struct Setup {
    label: String,
    index: usize,
    keys: usize,
    shared: usize,
    /// Pause between write iterations, so that the four writers overlap.
    pace: Duration,
}

fn fail(what: &str, err: impl std::fmt::Display) -> ! {
    eprintln!("xlang_node(rust): {what}: {err}");
    process::exit(1);
}

/// Splits "PREFIX-INDEX"; `None` for any other shape.
fn split_key(key: &str) -> Option<(&str, usize)> {
    let (prefix, idx) = key.split_once('-')?;
    if prefix.is_empty() {
        return None;
    }
    Some((prefix, idx.parse().ok()?))
}

/// Runs on the node's callback thread.
fn on_change(stats: &Mutex<Stats>, self_id: u64, ev: Event) {
    let key = String::from_utf8_lossy(&ev.key).into_owned();
    let Some((prefix, idx)) = split_key(&key) else {
        return;
    };
    let mut st = stats.lock().unwrap_or_else(|e| e.into_inner());
    let pos = match st.prefixes.iter().position(|(name, _)| name == prefix) {
        Some(pos) => pos,
        None => {
            st.prefixes
                .push((prefix.to_string(), PrefixStats::default()));
            st.prefixes.len() - 1
        }
    };
    let p = &mut st.prefixes[pos].1;
    match ev.origin {
        Origin::Local => p.local += 1,
        Origin::Remote => p.remote += 1,
        Origin::Repair => p.repair += 1,
        _ => {}
    }
    let upsert = matches!(ev.kind, EventKind::Insert | EventKind::Update);
    if ev.origin != Origin::Local && upsert {
        p.seen.insert(idx);
        if let Some(value) = &ev.value {
            if let Some(colon) = value.iter().position(|&b| b == b':') {
                let label = String::from_utf8_lossy(&value[..colon]).into_owned();
                *p.from.entry(label).or_insert(0) += 1;
            }
        }
    }
    if ev.version.node == self_id {
        let slot = st.mine.entry(key).or_insert(Version { hlc: 0, node: 0 });
        if *slot < ev.version {
            *slot = ev.version;
        }
    }
}

/// One write phase, as tests/xlang/README.md defines it.
fn write_phase(setup: &Setup, cache: &Cache, phase: u32) {
    let (mut ops, mut errors) = (0u64, 0u64);
    let start = Instant::now();
    let mut count = |r: Result<(), mccache::Error>| {
        ops += 1;
        if let Err(e) = r {
            errors += 1;
            eprintln!("xlang_node(rust): phase {phase}: {e}");
        }
    };
    for i in 0..setup.keys {
        // Each writer starts the shared keys at another quarter, so that which
        // writer writes a key last (and wins it) varies from key to key.
        let j = (i + setup.index * (setup.shared / 4)) % setup.shared;
        let value = format!("{}:{}:{}", setup.label, phase, i);
        let own = format!("{}-{}", setup.label, i);
        if phase == 1 || i % 5 == 1 {
            count(cache.put(&own, &value, Ttl::Never));
        } else if i % 5 == 0 {
            count(cache.delete(&own).map(|_| ()));
        }
        let shared = format!("shared-{j}");
        if phase == 2 && j % 8 == 0 {
            if i < setup.shared && (j / 8) % 4 == setup.index {
                count(cache.delete(&shared).map(|_| ()));
            }
        } else {
            count(cache.put(&shared, &value, Ttl::Never));
        }
        // Pacing, not synchronisation: iteration i+1 starts pace*(i+1) after
        // the phase began, so the four writers keep in step.
        let at = start + setup.pace * (i as u32 + 1);
        thread::sleep(at.saturating_duration_since(Instant::now()));
    }
    println!("written {phase} {ops} {errors}");
}

fn print_events(stats: &Mutex<Stats>) {
    let st = stats.lock().unwrap_or_else(|e| e.into_inner());
    let mut out = String::from("events {");
    for (n, (name, p)) in st.prefixes.iter().enumerate() {
        if n > 0 {
            out.push(',');
        }
        let seen: Vec<String> = p.seen.iter().map(|i| i.to_string()).collect();
        let from: Vec<String> = p.from.iter().map(|(l, c)| format!("\"{l}\":{c}")).collect();
        out.push_str(&format!(
            "\"{name}\":{{\"local\":{},\"remote\":{},\"repair\":{},\"seen\":[{}],\"from\":{{{}}}}}",
            p.local,
            p.remote,
            p.repair,
            seen.join(","),
            from.join(",")
        ));
    }
    out.push('}');
    println!("{out}");
}

fn print_probe(stats: &Mutex<Stats>, cache: &Cache, keys: &[&str]) {
    let mut parts = Vec::new();
    for key in keys {
        let value = cache.get_ref(key).unwrap_or_else(|e| fail("get_ref", e));
        let meta = cache.metadata(key).unwrap_or_else(|e| fail("metadata", e));
        let mut part = match (value, meta) {
            // Values are the test's own ASCII ("label:phase:index"): no escaping needed.
            (Some(v), Some(m)) => format!(
                "\"{key}\":{{\"value\":\"{}\",\"hlc\":\"{:016x}\",\"node\":\"{:016x}\"",
                String::from_utf8_lossy(&v),
                m.version.hlc,
                m.version.node
            ),
            _ => format!("\"{key}\":{{\"value\":null"),
        };
        let st = stats.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(mine) = st.mine.get(*key) {
            part.push_str(&format!(
                ",\"mine\":[\"{:016x}\",\"{:016x}\"]",
                mine.hlc, mine.node
            ));
        }
        part.push('}');
        parts.push(part);
    }
    println!("probe {{{}}}", parts.join(","));
}

fn main() {
    let argv: Vec<String> = std::env::args().collect();
    let args: HashMap<&str, &str> = argv[1..]
        .chunks(2)
        .filter(|c| c.len() == 2)
        .map(|c| (c[0].as_str(), c[1].as_str()))
        .collect();
    let need = |name: &str| -> String {
        match args.get(name) {
            Some(v) => v.to_string(),
            None => {
                eprintln!("xlang_node(rust): missing {name}");
                process::exit(2);
            }
        }
    };
    let number = |name: &str| -> usize {
        need(name).parse().unwrap_or_else(|_| {
            eprintln!("xlang_node(rust): bad {name}");
            process::exit(2);
        })
    };
    let setup = Setup {
        label: need("--label"),
        index: number("--index"),
        keys: number("--keys"),
        shared: number("--shared"),
        pace: Duration::from_micros(number("--pace-us") as u64),
    };
    if setup.keys == 0 || setup.shared == 0 {
        eprintln!("xlang_node(rust): --keys and --shared must be positive");
        process::exit(2);
    }

    // Built-in defaults plus these settings; the environment is not read.
    let mut config = Config::new().unwrap_or_else(|e| fail("Config::new", e));
    for (key, value) in [
        ("interface", "127.0.0.1".to_string()), // loopback only, whatever the caller says
        ("cluster_name", need("--cluster")),
        ("transport", "multicast".to_string()),
        ("multicast_ip", need("--group")),
        ("multicast_port", need("--port")),
    ] {
        config.set(key, &value).unwrap_or_else(|e| fail(key, e));
    }
    let iface = config
        .get("interface")
        .unwrap_or_else(|e| fail("Config::get", e));
    let node = Node::open(&config).unwrap_or_else(|e| fail("Node::open", e));
    drop(config);
    let self_id = node.id().unwrap_or_else(|e| fail("Node::id", e));
    let cache = node
        .cache("xlang")
        .unwrap_or_else(|e| fail("Node::cache", e));
    let stats = Arc::new(Mutex::new(Stats::default()));
    let in_callback = Arc::clone(&stats);
    cache
        .on_change(move |ev| on_change(&in_callback, self_id, ev))
        .unwrap_or_else(|e| fail("on_change", e));
    println!("ready {self_id:016x} {iface}");

    for line in io::stdin().lock().lines() {
        let line = line.unwrap_or_else(|e| fail("stdin", e));
        let (cmd, rest) = line.split_once(' ').unwrap_or((line.as_str(), ""));
        match cmd {
            "members" => {
                let json = node
                    .members_json()
                    .unwrap_or_else(|e| fail("members_json", e));
                println!("members {}", json.matches("\"alive\"").count());
            }
            "write" => {
                let phase = rest.parse().unwrap_or_else(|e| fail("write", e));
                write_phase(&setup, &cache, phase);
            }
            "sync" => {
                node.sync().unwrap_or_else(|e| fail("sync", e));
                println!("synced");
            }
            "checksum" => {
                let sum = cache.checksum().unwrap_or_else(|e| fail("checksum", e));
                let len = cache.len().unwrap_or_else(|e| fail("len", e));
                println!("checksum {sum:016x} {len}");
            }
            "events" => print_events(&stats),
            "probe" => print_probe(&stats, &cache, &rest.split_whitespace().collect::<Vec<_>>()),
            "quit" => break,
            _ => {
                eprintln!("xlang_node(rust): unknown command {line:?}");
                println!("error unknown command");
            }
        }
        io::stdout().flush().unwrap_or_else(|e| fail("stdout", e));
    }
    node.close().unwrap_or_else(|e| fail("close", e));
    println!("bye");
}
