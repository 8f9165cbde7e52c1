//! svc-web: the MOM's HTTPS server and admin API.
fn main() {
    std::process::exit(svc_web::main_with_args());
}
