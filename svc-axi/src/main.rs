//! svc-axi: the MOM's links to its OMMs.
#![forbid(unsafe_code)]

fn main() {
    std::process::exit(svc_axi::main_with_args());
}
