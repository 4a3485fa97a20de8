//! The C side of the layout check: the table `layout.c` builds from the
//! header. The comparison lives in `tests/layout.rs`.
use std::ffi::{c_char, CStr};

#[repr(C)]
struct Item {
    name: *const c_char,
    value: i64,
}

extern "C" {
    // A NULL-terminated array, defined in layout.c.
    static mccache_systest_items: [Item; 0];
}

/// Every (name, value) pair the C compiler computed.
pub fn c_items() -> Vec<(String, i64)> {
    let mut out = Vec::new();
    // SAFETY: the array is static, NULL-terminated and never written.
    unsafe {
        let mut p = std::ptr::addr_of!(mccache_systest_items).cast::<Item>();
        while !(*p).name.is_null() {
            out.push((
                CStr::from_ptr((*p).name).to_string_lossy().into_owned(),
                (*p).value,
            ));
            p = p.add(1);
        }
    }
    out
}
