//! Links the system libopus and spandsp (Debian: libopus-dev, libspandsp-dev).
fn main() {
    println!("cargo:rustc-link-lib=opus");
    println!("cargo:rustc-link-lib=spandsp");
}
