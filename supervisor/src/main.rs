//! `sip-dect-mom`: see the library for everything it does.
fn main() {
    std::process::exit(supervisor::main());
}
