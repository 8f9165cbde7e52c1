//! svc-web: the MOM's HTTPS server and admin API.
#![forbid(unsafe_code)]

fn main() {
    std::process::exit(svc_web::main_with_args());
}
