//! Compiles the C shim over the system libjpeg(-turbo) and links `libjpeg`.

fn main() {
    println!("cargo:rerun-if-changed=csrc/vjpeg.c");
    cc::Build::new()
        .file("csrc/vjpeg.c")
        .warnings(true)
        .flag_if_supported("-Wextra")
        .compile("vigil_vjpeg");
    println!("cargo:rustc-link-lib=jpeg");
}
