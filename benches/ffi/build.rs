//! Links libsrtp2 only when the `libsrtp` feature is on.
fn main() {
    if std::env::var_os("CARGO_FEATURE_LIBSRTP").is_some() {
        println!("cargo:rustc-link-lib=srtp2");
    }
}
