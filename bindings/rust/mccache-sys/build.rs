//! Finds libmccache through pkg-config (the build tree's
//! `mccache-uninstalled.pc` when `PKG_CONFIG_PATH` points at it).
//!
//! `MCCACHE_LIB_DIR` (plus `MCCACHE_INCLUDE_DIR`) bypasses pkg-config for
//! systems that have the library but no `.pc` file.
use std::env;

fn main() {
    // The version this crate's bindings were generated from: the `+x.y.z`
    // build metadata of the crate version, so it is written in one place.
    let pkg_version = env::var("CARGO_PKG_VERSION").expect("cargo sets CARGO_PKG_VERSION");
    let c_version = pkg_version
        .split_once('+')
        .map(|(_, c)| c)
        .expect("mccache-sys's version must carry the C version as build metadata");

    println!("cargo:rerun-if-env-changed=MCCACHE_LIB_DIR");
    println!("cargo:rerun-if-env-changed=MCCACHE_INCLUDE_DIR");
    println!("cargo:rustc-env=MCCACHE_SYS_C_VERSION={c_version}");

    let include_dirs: Vec<String> = if let Ok(dir) = env::var("MCCACHE_LIB_DIR") {
        println!("cargo:rustc-link-search=native={dir}");
        println!("cargo:rustc-link-lib=dylib=mccache");
        env::var("MCCACHE_INCLUDE_DIR").into_iter().collect()
    } else {
        match pkg_config::Config::new().atleast_version(c_version).probe("mccache") {
            Ok(lib) => lib
                .include_paths
                .iter()
                .map(|p| p.display().to_string())
                .collect(),
            Err(e) => panic!(
                "\n\nmccache-sys needs libmccache >= {c_version}. pkg-config could not find it:\n{e}\n\
                 Point PKG_CONFIG_PATH at the directory holding mccache.pc (an install) or\n\
                 <build>/pkgconfig (a CMake build tree), or set MCCACHE_LIB_DIR.\n"
            ),
        }
    };
    // Read by dependents' build scripts as DEP_MCCACHE_INCLUDE (systest
    // compiles a C layout probe against the same header).
    println!(
        "cargo:include={}",
        env::join_paths(&include_dirs)
            .expect("include paths contain no separator")
            .to_string_lossy()
    );
}
