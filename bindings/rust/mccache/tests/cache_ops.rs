//! Every cache operation, on a live node.
mod common;

use std::collections::{BTreeMap, HashSet};
use std::time::{Duration, SystemTime};

use mccache::{ErrorCode, Ttl, ValueRef};

#[test]
fn put_get_variants() {
    let node = common::open();
    let cache = node.cache("ops").unwrap();
    assert_eq!(cache.name(), "ops");
    cache.put("k", "v1", Ttl::Default).unwrap();
    assert_eq!(cache.get("k").unwrap(), Some(b"v1".to_vec()));
    assert_eq!(cache.get(b"k").unwrap(), Some(b"v1".to_vec()));
    assert_eq!(cache.get(String::from("k")).unwrap(), Some(b"v1".to_vec()));

    let v = cache.get_ref("k").unwrap().unwrap();
    assert_eq!(&*v, b"v1");
    assert_eq!(v, &b"v1"[..]);
    assert_eq!(v.as_bytes(), b"v1");
    cache.put("k", "v2", Ttl::Default).unwrap();
    assert_eq!(&*v, b"v1", "a held value never changes");
    assert_eq!(cache.get("k").unwrap(), Some(b"v2".to_vec()));

    let mut buf = [0u8; 8];
    assert_eq!(cache.get_into("k", &mut buf).unwrap(), Some(2));
    assert_eq!(&buf[..2], b"v2");
    let mut exact = [0u8; 2];
    assert_eq!(cache.get_into("k", &mut exact).unwrap(), Some(2));
    let e = cache.get_into("k", &mut [0u8; 1]).unwrap_err();
    assert_eq!(
        (e.code(), e.needed_size()),
        (ErrorCode::BufferTooSmall, Some(2))
    );
}

#[test]
fn binary_and_empty_values() {
    let node = common::open();
    let cache = node.cache("binary").unwrap();
    let key = [0u8, 255, 0, 7];
    let value: Vec<u8> = (0..=255).collect();
    cache.put(key, &value, Ttl::Never).unwrap();
    assert_eq!(cache.get(key).unwrap(), Some(value));

    cache.put("empty", b"", Ttl::Never).unwrap();
    let v = cache
        .get_ref("empty")
        .unwrap()
        .expect("an empty value is a value");
    assert!(v.is_empty());
    assert_eq!(cache.get_into("empty", &mut []).unwrap(), Some(0));
    assert!(cache.contains("empty").unwrap());
}

#[test]
fn value_ref_is_a_refcounted_guard() {
    let node = common::open();
    let cache = node.cache("guards").unwrap();
    cache.put("k", "shared", Ttl::Default).unwrap();
    let a = cache.get_ref("k").unwrap().unwrap();
    let b = a.clone();
    assert_eq!(
        a.as_ptr(),
        b.as_ptr(),
        "clone takes a reference, not a copy"
    );
    assert_eq!(a, b);
    assert_eq!(format!("{a:?}"), "ValueRef(b\"shared\")");
    let set: HashSet<ValueRef> = [a.clone(), b.clone()].into_iter().collect();
    assert!(set.contains(&b"shared"[..]));
    drop(a);
    cache.delete("k").unwrap();
    assert_eq!(&*b, b"shared");

    // into_raw/from_raw hand the reference to C code and back.
    let raw = b.into_raw();
    let back = unsafe { ValueRef::from_raw(raw) };
    assert_eq!(&*back, b"shared");
}

#[test]
fn delete_contains_len_clear() {
    let node = common::open();
    let cache = node.cache("counts").unwrap();
    assert!(cache.is_empty().unwrap());
    for i in 0..10 {
        cache.put(format!("k{i}"), "v", Ttl::Default).unwrap();
    }
    assert_eq!(cache.len().unwrap(), 10);
    assert!(cache.contains("k3").unwrap());
    assert!(cache.delete("k3").unwrap());
    assert!(!cache.delete("k3").unwrap());
    assert!(!cache.contains("k3").unwrap());
    assert_eq!(cache.len().unwrap(), 9);
    cache.clear().unwrap();
    assert_eq!(cache.len().unwrap(), 0);
    assert!(cache.is_empty().unwrap());
    assert_eq!(cache.get("k1").unwrap(), None);
}

#[test]
fn same_name_same_cache() {
    let node = common::open();
    let a = node.cache("one").unwrap();
    let b = node.cache("one").unwrap();
    assert_eq!(a, b);
    assert_ne!(a, node.cache("two").unwrap());
    a.put("k", "v", Ttl::Default).unwrap();
    assert_eq!(b.get("k").unwrap(), Some(b"v".to_vec()));
    assert_eq!(format!("{a:?}"), "Cache { name: \"one\" }");
}

#[test]
fn iteration_sees_every_entry_once() {
    let node = common::open();
    let cache = node.cache("iter").unwrap();
    assert_eq!(cache.iter().unwrap().count(), 0);
    let expected: BTreeMap<Vec<u8>, Vec<u8>> = (0..500)
        .map(|i| {
            (
                format!("key{i}").into_bytes(),
                format!("value{i}").into_bytes(),
            )
        })
        .collect();
    for (k, v) in &expected {
        cache.put(k, v, Ttl::Default).unwrap();
    }
    let mut seen = BTreeMap::new();
    let mut it = cache.iter().unwrap();
    for entry in &mut it {
        let (k, v) = entry.unwrap();
        assert!(seen.insert(k, v.to_vec()).is_none(), "a key came twice");
    }
    assert_eq!(seen, expected);
    assert!(it.next().is_none(), "fused after the end");

    // Iteration is not a lookup.
    assert_eq!(cache.metadata("key1").unwrap().unwrap().lookups, 0);
}

#[test]
fn metadata_fields() {
    let node = common::open();
    let cache = node.cache("meta").unwrap();
    let before = SystemTime::now() - Duration::from_secs(1);
    cache
        .put("k", "12345", Ttl::After(Duration::from_secs(60)))
        .unwrap();
    cache.put("forever", "x", Ttl::Never).unwrap();
    let m = cache.metadata("k").unwrap().unwrap();
    assert_eq!(m.value_size, 5);
    assert_eq!(m.key_size, 1);
    assert!(m.charged_bytes >= 6);
    assert_eq!(m.lookups, 0);
    assert_eq!(m.last_lookup, None);
    assert!(m.created >= before && m.updated >= m.created);
    let ttl = m.expires.unwrap().duration_since(m.updated).unwrap();
    assert!(
        ttl > Duration::from_secs(58) && ttl <= Duration::from_secs(60),
        "{ttl:?}"
    );
    assert_eq!(m.version.node, node.id().unwrap());
    assert!(m.version.time() >= before);
    assert_eq!(Some(m.checksum), cache.key_checksum("k").unwrap());

    cache.get("k").unwrap();
    cache.get_ref("k").unwrap();
    let m2 = cache.metadata("k").unwrap().unwrap();
    assert_eq!(m2.lookups, 2);
    assert!(m2.last_lookup.is_some());
    assert_eq!(cache.metadata("forever").unwrap().unwrap().expires, None);

    cache.put("k", "new", Ttl::Default).unwrap();
    let m3 = cache.metadata("k").unwrap().unwrap();
    assert!(m3.version > m.version);
    assert_eq!(m3.created, m.created);
}

#[test]
fn batches() {
    let node = common::open_with(&[("max_value_size", "64")]);
    let cache = node.cache("batch").unwrap();
    cache
        .put_batch(&[("a", "1"), ("b", "2"), ("c", "3")], Ttl::Default)
        .unwrap();
    cache.put_batch::<&str, &str>(&[], Ttl::Default).unwrap();
    let got = cache.get_batch(&["a", "missing", "c"]).unwrap();
    let got: Vec<Option<Vec<u8>>> = got.into_iter().map(|v| v.map(|v| v.to_vec())).collect();
    assert_eq!(got, [Some(b"1".to_vec()), None, Some(b"3".to_vec())]);
    assert!(cache.get_batch::<&str>(&[]).unwrap().is_empty());

    let e = cache.get_batch(&["a", ""]).unwrap_err();
    assert_eq!(e.code(), ErrorCode::InvalidArgument);
    assert!(e.message().contains("[1]"), "{e}");

    let big = [0u8; 65];
    let e = cache
        .put_batch(
            &[(&b"x"[..], &b"ok"[..]), (&b"y"[..], &big[..])],
            Ttl::Default,
        )
        .unwrap_err();
    assert_eq!(e.code(), ErrorCode::TooBig);
    assert!(e.message().contains("[1]"), "{e}");
    assert!(!cache.contains("x").unwrap(), "a bad batch stores nothing");

    let owned: Vec<(String, Vec<u8>)> = (0..100)
        .map(|i| (format!("k{i}"), vec![i as u8; 3]))
        .collect();
    cache.put_batch(&owned, Ttl::Never).unwrap();
    assert_eq!(cache.get("k42").unwrap(), Some(vec![42; 3]));
}

#[test]
fn checksums() {
    let node = common::open();
    let cache = node.cache("sums").unwrap();
    assert_eq!(cache.checksum().unwrap(), 0);
    cache.put("a", "1", Ttl::Default).unwrap();
    cache.put("b", "2", Ttl::Default).unwrap();
    let a = cache.key_checksum("a").unwrap().unwrap();
    let b = cache.key_checksum("b").unwrap().unwrap();
    assert_eq!(cache.checksum().unwrap(), a.wrapping_add(b));
    cache.delete("a").unwrap();
    assert_eq!(cache.checksum().unwrap(), b);
}

#[test]
fn metrics_json() {
    let node = common::open();
    let cache = node.cache("metered").unwrap();
    cache.put("k", "v", Ttl::Default).unwrap();
    cache.get("k").unwrap();
    cache.get("nope").unwrap();
    let json = cache.metrics_json().unwrap();
    assert!(json.contains("\"hits\":1"), "{json}");
    assert!(json.contains("\"misses\":1"), "{json}");
    let all = node.metrics_json().unwrap();
    assert!(all.contains("\"metered\""), "{all}");
}
