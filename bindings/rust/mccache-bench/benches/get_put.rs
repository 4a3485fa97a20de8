//! get/put through the safe binding vs. the raw C API (through mccache-sys,
//! the same FFI) and vs. native Rust caches (quick_cache, moka), all in one
//! run, so the ratios compare like with like on the same machine state.
//!
//! Run: `cargo bench -p mccache-bench` (with PKG_CONFIG_PATH/LD_LIBRARY_PATH
//! pointing at a libmccache build). BENCH_OPS and BENCH_ROUNDS scale it.
//!
//! A plain harness rather than criterion: the point is one table of ratios
//! measured interleaved (every case once per round, median over rounds),
//! which criterion's per-benchmark reports do not give.
use std::hint::black_box;
use std::ptr;
use std::sync::Arc;
use std::time::Instant;

use mccache::{sys, Cache, Config, Node, Ttl};

const KEYS: usize = 10_000;
const VALUE_SIZE: usize = 64;

fn env_usize(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// One benchmark case: runs `ops` operations and returns nothing (results go
/// through black_box inside).
struct Case<'a> {
    name: &'static str,
    run: Box<dyn FnMut(usize) + 'a>,
    samples: Vec<f64>,
}

impl<'a> Case<'a> {
    fn new(name: &'static str, run: impl FnMut(usize) + 'a) -> Case<'a> {
        Case {
            name,
            run: Box::new(run),
            samples: Vec::new(),
        }
    }

    fn median(&self) -> f64 {
        let mut s = self.samples.clone();
        s.sort_by(|a, b| a.partial_cmp(b).unwrap());
        s[s.len() / 2]
    }
}

fn raw_get(cache: *mut sys::mccache_cache_t, key: &[u8]) -> u8 {
    let mut v = ptr::null_mut();
    // SAFETY: valid cache handle and key; the reference is released below.
    unsafe {
        if sys::mccache_get(cache, key.as_ptr().cast(), key.len(), &mut v) != sys::MCCACHE_OK {
            return 0;
        }
        let mut len = 0;
        let data = sys::mccache_value_data(v, &mut len).cast::<u8>();
        let first = if len > 0 { *data } else { 0 };
        sys::mccache_value_free(v);
        first
    }
}

fn main() {
    // `cargo bench` passes --bench; nothing else is accepted.
    let ops = env_usize("BENCH_OPS", 200_000);
    let rounds = env_usize("BENCH_ROUNDS", 15);

    let mut config = Config::new().expect("config");
    config
        .set(
            "cluster_name",
            &format!("rust-bench-{}", std::process::id()),
        )
        .and_then(|c| c.set("cache_max", &(KEYS * 2).to_string()))
        // Local only, like the peers: puts measure the engine, not UDP sends.
        .and_then(|c| c.set("transport", "none"))
        .and_then(|c| c.set("log_level", "error"))
        .expect("settings");
    let node = Node::open(&config).expect("open");
    let cache: Cache = node.cache("bench").expect("cache");
    let raw = cache.as_raw();

    let keys: Vec<Vec<u8>> = (0..KEYS)
        .map(|i| format!("key:{i:010}").into_bytes())
        .collect();
    let missing: Vec<Vec<u8>> = (0..KEYS)
        .map(|i| format!("nokey:{i:08}").into_bytes())
        .collect();
    let value: Arc<[u8]> = vec![7u8; VALUE_SIZE].into();
    for k in &keys {
        cache.put(k, &value, Ttl::Never).unwrap();
    }
    let quick: quick_cache::sync::Cache<Vec<u8>, Arc<[u8]>> =
        quick_cache::sync::Cache::new(KEYS * 2);
    let moka: moka::sync::Cache<Vec<u8>, Arc<[u8]>> = moka::sync::Cache::new((KEYS * 2) as u64);
    for k in &keys {
        quick.insert(k.clone(), value.clone());
        moka.insert(k.clone(), value.clone());
    }

    let k = &keys;
    let m = &missing;
    let mut cases = vec![
        Case::new("C API get (mccache_get+data+free)", |n| {
            for i in 0..n {
                black_box(raw_get(raw, black_box(&k[i % KEYS])));
            }
        }),
        Case::new("Rust get_ref (zero copy)", |n| {
            for i in 0..n {
                let v = cache.get_ref(black_box(&k[i % KEYS])).unwrap().unwrap();
                black_box(v[0]);
            }
        }),
        Case::new("C API get miss", |n| {
            for i in 0..n {
                black_box(raw_get(raw, black_box(&m[i % KEYS])));
            }
        }),
        Case::new("Rust get_ref miss", |n| {
            for i in 0..n {
                black_box(cache.get_ref(black_box(&m[i % KEYS])).unwrap().is_none());
            }
        }),
        Case::new("C API get_copy (64 B buffer)", |n| {
            let mut buf = [0u8; VALUE_SIZE];
            for i in 0..n {
                let key = black_box(&k[i % KEYS]);
                let mut len = buf.len();
                // SAFETY: valid handle, key and buffer of `len` bytes.
                let rc = unsafe {
                    sys::mccache_get_copy(
                        raw,
                        key.as_ptr().cast(),
                        key.len(),
                        buf.as_mut_ptr().cast(),
                        &mut len,
                    )
                };
                black_box((rc, buf[0]));
            }
        }),
        Case::new("Rust get_into (64 B buffer)", |n| {
            let mut buf = [0u8; VALUE_SIZE];
            for i in 0..n {
                black_box(cache.get_into(black_box(&k[i % KEYS]), &mut buf).unwrap());
            }
        }),
        Case::new("Rust get (owned Vec)", |n| {
            for i in 0..n {
                black_box(cache.get(black_box(&k[i % KEYS])).unwrap());
            }
        }),
        Case::new("C API put (update)", |n| {
            for i in 0..n {
                let key = black_box(&k[i % KEYS]);
                // SAFETY: valid handle, key and value.
                black_box(unsafe {
                    sys::mccache_put(
                        raw,
                        key.as_ptr().cast(),
                        key.len(),
                        value.as_ptr().cast(),
                        value.len(),
                        -1,
                    )
                });
            }
        }),
        Case::new("Rust put (update)", |n| {
            for i in 0..n {
                cache
                    .put(black_box(&k[i % KEYS]), &value, Ttl::Never)
                    .unwrap();
            }
        }),
        Case::new("quick_cache get (Arc clone)", |n| {
            for i in 0..n {
                let v = quick.get(black_box(k[i % KEYS].as_slice())).unwrap();
                black_box(v[0]);
            }
        }),
        Case::new("quick_cache insert (update)", |n| {
            for i in 0..n {
                quick.insert(black_box(&k[i % KEYS]).clone(), value.clone());
            }
        }),
        Case::new("moka get (Arc clone)", |n| {
            for i in 0..n {
                let v = moka.get(black_box(k[i % KEYS].as_slice())).unwrap();
                black_box(v[0]);
            }
        }),
        Case::new("moka insert (update)", |n| {
            for i in 0..n {
                moka.insert(black_box(&k[i % KEYS]).clone(), value.clone());
            }
        }),
    ];

    // Warm up every case once, then interleave: one batch per case per
    // round, so drift (frequency, other load) hits all cases alike; every
    // other round runs the cases in reverse, so no case always follows the
    // same neighbour.
    for c in &mut cases {
        (c.run)(ops / 10);
    }
    for round in 0..rounds {
        let order: Vec<usize> = if round % 2 == 0 {
            (0..cases.len()).collect()
        } else {
            (0..cases.len()).rev().collect()
        };
        for i in order {
            let c = &mut cases[i];
            let start = Instant::now();
            (c.run)(ops);
            c.samples
                .push(start.elapsed().as_nanos() as f64 / ops as f64);
        }
    }

    let find = |name: &str| cases.iter().find(|c| c.name == name).unwrap();
    println!(
        "\nmccache Rust binding: {KEYS} keys, {VALUE_SIZE}-byte values, {ops} ops x {rounds} rounds\n"
    );
    println!("  {:<38} {:>9} {:>9}", "case", "median", "min");
    for c in &cases {
        let min = c.samples.iter().cloned().fold(f64::INFINITY, f64::min);
        println!("  {:<38} {:>6.1} ns {:>6.1} ns", c.name, c.median(), min);
    }
    // Ratios pair the two cases' samples of the same round (measured next
    // to each other), then take the median: robust to load that comes and
    // goes during the run.
    let ratio = |label: &str, rust: &str, base: &str| -> f64 {
        let (r, b) = (find(rust), find(base));
        let mut per_round: Vec<f64> = r
            .samples
            .iter()
            .zip(&b.samples)
            .map(|(r, b)| r / b)
            .collect();
        per_round.sort_by(|a, b| a.partial_cmp(b).unwrap());
        let q = per_round[per_round.len() / 2];
        println!(
            "  {:<38} {:>6.2}x  ({:+.1} ns at the medians)",
            label,
            q,
            r.median() - b.median()
        );
        q
    };
    const C_GET: &str = "C API get (mccache_get+data+free)";
    const R_GET: &str = "Rust get_ref (zero copy)";
    const R_PUT: &str = "Rust put (update)";
    println!("\nBinding overhead vs. the C API (target for get: <= 1.20x):");
    let get_ratio = ratio("get_ref / C get", R_GET, C_GET);
    ratio(
        "get_ref miss / C get miss",
        "Rust get_ref miss",
        "C API get miss",
    );
    ratio(
        "get_into / C get_copy",
        "Rust get_into (64 B buffer)",
        "C API get_copy (64 B buffer)",
    );
    ratio("get (Vec) / C get", "Rust get (owned Vec)", C_GET);
    ratio("put / C put", R_PUT, "C API put (update)");
    println!("\nStanding vs. native Rust caches (mccache get_ref and put):");
    ratio(
        "get_ref / quick_cache get",
        R_GET,
        "quick_cache get (Arc clone)",
    );
    ratio("get_ref / moka get", R_GET, "moka get (Arc clone)");
    ratio(
        "put / quick_cache insert",
        R_PUT,
        "quick_cache insert (update)",
    );
    ratio("put / moka insert", R_PUT, "moka insert (update)");
    let verdict = if get_ratio <= 1.20 { "PASS" } else { "FAIL" };
    println!("\nget overhead target (<= 1.20x the C API): {verdict} ({get_ratio:.2}x)");
    drop(node);
}
