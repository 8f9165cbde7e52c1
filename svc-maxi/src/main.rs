//! svc-maxi: the MOM's interface for applications.
#![forbid(unsafe_code)]

fn main() {
    std::process::exit(svc_maxi::main_with_args());
}
