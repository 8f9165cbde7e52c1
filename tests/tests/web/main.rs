//! End-to-end tests of svc-web: the real MOM, a real HTTPS client (rustls, HTTP/2 and
//! HTTP/1.1), real sessions, and the store behind them.

use mom_tests::web::Web;
use mom_tests::{Mom, Options};
use serde_json::json;

mod api;
mod directory;
mod https;
mod maintenance;
mod second_factor;
mod sessions;

const PASSWORD: &str = "Blau.Wal42";

fn start() -> (Mom, Web) {
    let mom = Mom::start(&Options::default());
    let web = Web::when_ready(mom.listener("https"));
    (mom, web)
}

/// A logged-in administrator on a MOM past its first login.
fn admin() -> (Mom, Web) {
    let (mom, mut web) = start();
    web.first_login(PASSWORD);
    (mom, web)
}

fn user_json(number: &str) -> serde_json::Value {
    // Every field of a user record, as GET returns it: the API takes records whole.
    let template = serde_json::to_value(model::User::default()).unwrap();
    let mut user = template;
    user["num"] = json!(number);
    user["name"] = json!(format!("User {number}"));
    user
}

/// One simulated OMM (on its own runtime, returned to keep it alive) and a MOM past its
/// first login whose links retry every second.
fn one_omm(
    records: u32,
    tls: impl FnOnce(&mut omm_sim::FleetOptions),
) -> (tokio::runtime::Runtime, omm_sim::Fleet, Mom, Web) {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let fleet = rt
        .block_on(omm_sim::Fleet::start({
            let mut options = omm_sim::FleetOptions {
                omms: 1,
                users: records,
                devices: records,
                ..omm_sim::FleetOptions::default()
            };
            tls(&mut options);
            options
        }))
        .unwrap();
    let mom = Mom::start(&Options {
        extra: "[axi]\nretry-secs = 1\nping-secs = 5\n".into(),
        ..Options::default()
    });
    let mut web = Web::when_ready(mom.listener("https"));
    web.first_login(PASSWORD);
    (rt, fleet, mom, web)
}
