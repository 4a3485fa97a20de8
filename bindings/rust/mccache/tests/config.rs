//! Config: set/get, files, JSON, and the errors of each source.
mod common;

use std::io::Write;
use std::path::PathBuf;

use mccache::{Config, ErrorCode, Node};

fn temp_ini(name: &str, text: &str) -> PathBuf {
    let path = std::env::temp_dir().join(format!("mccache-rust-{}-{name}.ini", std::process::id()));
    let mut f = std::fs::File::create(&path).unwrap();
    f.write_all(text.as_bytes()).unwrap();
    path
}

#[test]
fn set_and_get_round_trip() {
    let mut c = Config::new().unwrap();
    c.set("packet_mtu", "1400")
        .unwrap()
        .set("sessions.cache_max", "10")
        .unwrap();
    assert_eq!(c.get("packet_mtu").unwrap(), "1400");
    assert_eq!(c.get("sessions.cache_max").unwrap(), "10");
    assert_eq!(c.get("interface").unwrap(), "127.0.0.1");
}

#[test]
fn get_grows_its_buffer_for_long_values() {
    let mut c = Config::new().unwrap();
    let long = "n".repeat(64);
    c.set("cluster_name", &long).unwrap();
    assert_eq!(c.get("cluster_name").unwrap(), long);
}

#[test]
fn secrets_read_back_masked() {
    let mut c = Config::new().unwrap();
    assert_eq!(c.get("crypto_key").unwrap(), "");
    c.set("crypto_key", "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=")
        .unwrap();
    assert_eq!(c.get("crypto_key").unwrap(), "(set)");
    assert!(!c.to_json().unwrap().contains("AAECAw"));
}

#[test]
fn bad_settings_name_the_key() {
    let mut c = Config::new().unwrap();
    let e = c.set("no_such_key", "1").unwrap_err();
    assert_eq!(e.code(), ErrorCode::Config);
    assert!(e.message().contains("no_such_key"), "{e}");

    let e = c.set("packet_mtu", "10").unwrap_err();
    assert_eq!(e.code(), ErrorCode::Config);
    assert!(e.message().contains("packet_mtu"), "{e}");
    assert_eq!(
        c.get("packet_mtu").unwrap(),
        "0",
        "a failed set changes nothing"
    );

    assert_eq!(c.get("no_such_key").unwrap_err().code(), ErrorCode::Config);
}

#[test]
fn nul_bytes_are_invalid_arguments() {
    let mut c = Config::new().unwrap();
    assert_eq!(
        c.set("cache\0ttl", "1").unwrap_err().code(),
        ErrorCode::InvalidArgument
    );
    assert_eq!(
        c.set("cache_ttl", "1\0").unwrap_err().code(),
        ErrorCode::InvalidArgument
    );
    assert_eq!(
        c.get("a\0b").unwrap_err().code(),
        ErrorCode::InvalidArgument
    );
    assert_eq!(
        c.load_file("a\0b").unwrap_err().code(),
        ErrorCode::InvalidArgument
    );
}

#[test]
fn load_file_sections_and_precedence() {
    let path = temp_ini(
        "good",
        "[mccache]\ncache_ttl = 5m\npacket_mtu = 1300\n\n[sessions]\nmax_entries = 10\n",
    );
    let mut c = Config::new().unwrap();
    c.set("packet_mtu", "1400").unwrap();
    c.load_file(&path).unwrap();
    assert_eq!(c.get("sessions.cache_max").unwrap(), "10");
    assert_eq!(
        c.get("packet_mtu").unwrap(),
        "1400",
        "the setter outranks the file"
    );
    let json = c.to_json().unwrap();
    assert!(json.contains("\"node\""), "{json}");
    assert!(json.contains("\"sessions\""), "{json}");
    assert!(json.contains(&format!("file:{}", path.display())), "{json}");
    assert!(json.contains("\"api\""), "{json}");
    std::fs::remove_file(path).unwrap();
}

#[test]
fn load_file_errors() {
    let mut c = Config::new().unwrap();
    let e = c.load_file("/nonexistent/mccache.ini").unwrap_err();
    assert_eq!(e.code(), ErrorCode::Io);
    assert!(e.message().contains("/nonexistent/mccache.ini"), "{e}");

    let path = temp_ini("bad", "[mccache]\ncache_ttl = 5m\npacket_mtu = tiny\n");
    let e = c.load_file(&path).unwrap_err();
    assert_eq!(e.code(), ErrorCode::Config);
    assert!(
        e.message().contains(&format!("{}:3", path.display())),
        "{e}"
    );
    assert_eq!(
        c.get("cache_ttl").unwrap(),
        Config::new().unwrap().get("cache_ttl").unwrap(),
        "loading is all or nothing"
    );
    std::fs::remove_file(path).unwrap();
}

#[test]
fn inconsistent_settings_fail_at_open() {
    let mut c = common::config();
    c.set("cache_pulse", "1m")
        .unwrap()
        .set("tombstone_ttl", "1s")
        .unwrap();
    let e = Node::open(&c).unwrap_err();
    assert_eq!(e.code(), ErrorCode::Config);
    assert!(e.message().contains("tombstone_ttl"), "{e}");
}

#[test]
fn a_config_can_be_reused_after_open() {
    let c = common::config();
    let a = Node::open(&c).unwrap();
    let b = Node::open(&c).unwrap();
    drop(c);
    assert_ne!(a.id().unwrap(), b.id().unwrap());
}
