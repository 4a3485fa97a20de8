//! Compiles `layout.c` against the same mccache.h that mccache-sys found
//! (exported by its `links = "mccache"` build script as DEP_MCCACHE_INCLUDE).
use std::env;

fn main() {
    println!("cargo:rerun-if-changed=layout.c");
    let mut build = cc::Build::new();
    build
        .file("layout.c")
        .warnings(true)
        .extra_warnings(true)
        .warnings_into_errors(true);
    if let Some(dirs) = env::var_os("DEP_MCCACHE_INCLUDE") {
        for dir in env::split_paths(&dirs) {
            println!("cargo:rerun-if-changed={}", dir.join("mccache.h").display());
            build.include(dir);
        }
    }
    build.compile("mccache_systest_layout");
}
