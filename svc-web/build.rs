//! Rebuilds svc-web when the built UI (`ui/dist`, made by `scripts/ui-build`) changes, so
//! the embedded assets are never stale. It only watches: npm is never run from here.
fn main() {
    println!("cargo:rerun-if-changed=../ui/dist");
}
