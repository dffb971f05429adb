//! Generates the Kotlin, Swift and Python bindings from the built library:
//! `cargo run -p doorstep-ffi --bin uniffi-bindgen -- generate --library target/debug/libdoorstep_ffi.so --language python --out-dir out`
fn main() {
    uniffi::uniffi_bindgen_main()
}
