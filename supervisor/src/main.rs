//! `sip-dect-mom`: see the library for everything it does.
#![forbid(unsafe_code)]

fn main() {
    std::process::exit(supervisor::main());
}
