//! The loaded library must be the version these bindings were generated
//! from: the `+x.y.z` build metadata of the crate version (rdkafka-sys's
//! `tests/version_check.rs`).
use std::ffi::CStr;

use mccache_sys as sys;

#[test]
fn library_version_matches_crate_metadata() {
    let crate_version = env!("CARGO_PKG_VERSION");
    let (_, c_version) = crate_version
        .split_once('+')
        .expect("version has +C build metadata");
    assert_eq!(c_version, sys::BUILT_FOR_VERSION);

    let header = CStr::from_bytes_with_nul(sys::MCCACHE_VERSION_STRING).unwrap();
    assert_eq!(
        header.to_str().unwrap(),
        c_version,
        "bindings.rs is stale: run update-bindings.sh"
    );

    let loaded = unsafe { CStr::from_ptr(sys::mccache_version_string()) };
    assert_eq!(loaded.to_str().unwrap(), c_version);

    let mut parts = c_version.split('.').map(|p| p.parse::<u32>().unwrap());
    let (major, minor, patch) = (
        parts.next().unwrap(),
        parts.next().unwrap(),
        parts.next().unwrap(),
    );
    let number = major * 10000 + minor * 100 + patch;
    assert_eq!(unsafe { sys::mccache_version() }, number);
    assert_eq!(sys::MCCACHE_VERSION_NUMBER, number);
}
