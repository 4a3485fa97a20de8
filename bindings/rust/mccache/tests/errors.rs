//! The error mirror against the library's own names, and the mapping of
//! real failures to codes and messages.
mod common;

use std::collections::HashSet;
use std::ffi::CStr;

use mccache::{sys, Error, ErrorCode, Ttl};

fn c_name(code: i32) -> String {
    unsafe { CStr::from_ptr(sys::mccache_err_name(code)) }
        .to_str()
        .unwrap()
        .to_owned()
}

fn c_text(code: i32) -> String {
    unsafe { CStr::from_ptr(sys::mccache_strerror(code)) }
        .to_str()
        .unwrap()
        .to_owned()
}

#[test]
fn mirror_matches_mccache_err_name_for_every_code() {
    assert_eq!(c_name(0), "MCCACHE_OK");
    assert_eq!(sys::MCCACHE_OK, 0);
    // Success is never an Error, so 0 has no variant of its own.
    assert_eq!(ErrorCode::from_raw(0), ErrorCode::Unknown(0));
    for raw in -16..=-1 {
        let code = ErrorCode::from_raw(raw);
        assert!(
            !matches!(code, ErrorCode::Unknown(_)),
            "code {raw} is not mirrored"
        );
        assert_eq!(code.name(), c_name(raw), "name of {raw}");
        assert_eq!(code.raw(), raw);
        assert_eq!(code.to_string(), c_text(raw), "text of {raw}");
    }
    let all: Vec<ErrorCode> = ErrorCode::all().collect();
    assert_eq!(all.len(), 16);
    assert_eq!(all.iter().collect::<HashSet<_>>().len(), 16);
    assert!(all.iter().all(|c| (-16..=-1).contains(&c.raw())));
}

#[test]
fn unknown_codes_keep_their_value() {
    for raw in [-17, -100, 5] {
        let code = ErrorCode::from_raw(raw);
        assert_eq!(code, ErrorCode::Unknown(raw));
        assert_eq!(code.raw(), raw);
        assert_eq!(code.name(), c_name(raw));
        assert_eq!(code.to_string(), c_text(raw));
    }
}

#[test]
fn error_is_a_std_error() {
    fn assert_error<E: std::error::Error + Send + Sync + 'static>() {}
    assert_error::<Error>();
    let boxed: Box<dyn std::error::Error + Send + Sync> =
        Box::new(mccache::Config::new().unwrap().set("x", "y").unwrap_err());
    assert!(boxed.to_string().ends_with("(MCCACHE_ECONFIG)"), "{boxed}");
}

#[test]
fn real_failures_map_to_their_codes() {
    let node = common::open_with(&[("max_key_size", "16"), ("max_value_size", "64")]);
    let cache = node.cache("errors").unwrap();

    let e = cache.put("", "v", Ttl::Default).unwrap_err();
    assert_eq!(e.code(), ErrorCode::InvalidArgument);
    assert!(
        e.message().contains("mccache_put") && e.message().contains("empty"),
        "{e}"
    );
    assert_eq!(
        cache.get("").unwrap_err().code(),
        ErrorCode::InvalidArgument
    );

    let long_key = [b'k'; 17];
    let e = cache.put(long_key, "v", Ttl::Default).unwrap_err();
    assert_eq!(e.code(), ErrorCode::TooBig);
    assert!(e.message().contains("max_key_size"), "{e}");
    assert_eq!(cache.get(long_key).unwrap_err().code(), ErrorCode::TooBig);
    assert_eq!(
        cache.contains(long_key).unwrap_err().code(),
        ErrorCode::TooBig
    );
    assert_eq!(
        cache.delete(long_key).unwrap_err().code(),
        ErrorCode::TooBig
    );

    let e = cache.put("k", [0u8; 65], Ttl::Default).unwrap_err();
    assert_eq!(e.code(), ErrorCode::TooBig);
    assert!(e.message().contains("max_value_size"), "{e}");
    assert_eq!(cache.get("k").unwrap(), None, "nothing was stored");

    cache.put("k", "0123456789", Ttl::Default).unwrap();
    let e = cache.get_into("k", &mut [0u8; 3]).unwrap_err();
    assert_eq!(e.code(), ErrorCode::BufferTooSmall);
    assert_eq!(e.needed_size(), Some(10));

    assert_eq!(
        node.cache("a.b").unwrap_err().code(),
        ErrorCode::InvalidArgument
    );
    assert_eq!(
        node.cache("").unwrap_err().code(),
        ErrorCode::InvalidArgument
    );
    assert_eq!(
        node.cache(&"n".repeat(256)).unwrap_err().code(),
        ErrorCode::InvalidArgument
    );
    assert_eq!(
        node.cache("a\0b").unwrap_err().code(),
        ErrorCode::InvalidArgument
    );

    // Absence is a value, not an error.
    assert_eq!(cache.get("absent").unwrap(), None);
    assert!(!cache.delete("absent").unwrap());
    assert!(!cache.contains("absent").unwrap());
    assert_eq!(cache.metadata("absent").unwrap(), None);
    assert_eq!(cache.key_checksum("absent").unwrap(), None);
    assert_eq!(cache.get_into("absent", &mut [0u8; 4]).unwrap(), None);

    node.close().unwrap();
    let e = cache.get("k").unwrap_err();
    assert_eq!(e.code(), ErrorCode::Closed);
    assert!(e.message().contains("closed"), "{e}");
    assert_eq!(node.close().unwrap_err().code(), ErrorCode::Closed);
}

#[test]
fn messages_belong_to_the_failing_thread() {
    let node = common::open();
    let cache = node.cache("threads").unwrap();
    let other = {
        let cache = cache.clone();
        std::thread::spawn(move || cache.put("", "v", Ttl::Default).unwrap_err())
    };
    let here = cache.put([b'k'; 5000], "v", Ttl::Default).unwrap_err();
    let there = other.join().unwrap();
    assert_eq!(here.code(), ErrorCode::TooBig);
    assert!(here.message().contains("max_key_size"), "{here}");
    assert_eq!(there.code(), ErrorCode::InvalidArgument);
    assert!(there.message().contains("empty"), "{there}");
}
