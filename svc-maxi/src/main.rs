//! svc-maxi: the MOM's interface for applications.
fn main() {
    std::process::exit(svc_maxi::main_with_args());
}
