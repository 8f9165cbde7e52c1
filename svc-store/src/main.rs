//! svc-store: the only process that opens the MOM's database.
#![forbid(unsafe_code)]

fn main() {
    std::process::exit(svc_store::main_with_args());
}
