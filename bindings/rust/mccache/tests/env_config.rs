//! The environment source. One test in its own binary: it changes the
//! process environment, which must not race with other threads' reads.
use mccache::{Config, ErrorCode, Node};

#[test]
fn environment_source() {
    std::env::set_var("MCCACHE_PACKET_MTU", "1300");
    let mut c = Config::new().unwrap();
    c.load_env().unwrap();
    assert_eq!(c.get("packet_mtu").unwrap(), "1300");
    assert!(c.to_json().unwrap().contains("env:MCCACHE_PACKET_MTU"));

    // The setter outranks the environment whatever the order.
    let mut c = Config::new().unwrap();
    c.set("packet_mtu", "1400").unwrap().load_env().unwrap();
    assert_eq!(c.get("packet_mtu").unwrap(), "1400");

    // open_default reads the environment too.
    std::env::set_var(
        "MCCACHE_CLUSTER_NAME",
        format!("rust-env-{}", std::process::id()),
    );
    let node = Node::open_default().unwrap();
    let json = node.config_json().unwrap();
    assert!(json.contains("env:MCCACHE_PACKET_MTU"), "{json}");
    node.close().unwrap();

    std::env::set_var("MCCACHE_PACKET_MTU", "tiny");
    let e = Config::new().unwrap().load_env().unwrap_err();
    assert_eq!(e.code(), ErrorCode::Config);
    assert!(e.message().contains("MCCACHE_PACKET_MTU"), "{e}");
    assert_eq!(Node::open_default().unwrap_err().code(), ErrorCode::Config);

    std::env::remove_var("MCCACHE_PACKET_MTU");
    std::env::remove_var("MCCACHE_CLUSTER_NAME");
}
