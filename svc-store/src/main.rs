//! svc-store: the only process that opens the MOM's database.
fn main() {
    std::process::exit(svc_store::main_with_args());
}
