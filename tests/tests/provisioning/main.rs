//! Centralized OMM provisioning end to end: the real MOM (svc-store, svc-axi, svc-web) and
//! simulated OMMs that set their configuration URL from the MOM and fetch `ipdect.cfg` over
//! real HTTPS with their own credentials; the admin API and CLI in front.

use base64::Engine;
use mom_tests::web::{raw_tls, Answer, Offer, Web};
use mom_tests::{Mom, Options};
use omm_sim::{Fleet, FleetOptions};
use serde_json::json;
use std::time::{Duration, Instant};

mod bad_input;
mod credentials;
mod update;

const PASSWORD: &str = "Blau.Wal42";
/// The Cloud-IDs the simulated OMMs 1 and 2 report (from their PARKs).
const CLOUD_1: &str = "001F10000001";
const CLOUD_2: &str = "001F10000002";

fn wait(what: &str, timeout: Duration, mut done: impl FnMut() -> bool) {
    let deadline = Instant::now() + timeout;
    while !done() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

fn web_of(mom: &Mom) -> Web {
    let https = mom.listener("https");
    let web = Web::new(https, Offer::Any);
    wait("svc-web", Duration::from_secs(20), || {
        web.try_send("GET", "/healthz", None)
            .is_ok_and(|a| a.status == 200)
    });
    web
}

/// A MOM with an administrator logged in, and `omms` simulated OMMs added through the API
/// with Provisioning enabled, linked and their Cloud-IDs learnt. Returns their record ids.
struct Site {
    rt: tokio::runtime::Runtime,
    fleet: Fleet,
    mom: Mom,
    web: Web,
    ids: Vec<u32>,
}

fn site(omms: u32, extra: &str) -> Site {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let fleet = rt
        .block_on(Fleet::start(FleetOptions {
            omms,
            users: 2,
            devices: 2,
            ..FleetOptions::default()
        }))
        .unwrap();
    // Each OMM its own login, so that one OMM's credentials can be tried on another's files.
    for i in 1..=omms {
        let mut inner = fleet.omm(i).lock();
        inner.state.config.username = format!("omm{i}");
        inner.state.config.password = format!("pw-{i}");
    }
    let mom = Mom::start(&Options {
        extra: format!("[axi]\nretry-secs = 1\nping-secs = 5\n{extra}"),
        ..Options::default()
    });
    let mut web = web_of(&mom);
    web.first_login(PASSWORD);
    let ids = (1..=omms)
        .map(|i| {
            let created = web.send(
                "POST",
                "/api/v1/omms",
                Some(&json!({
                    "enabled": true, "name": format!("Site {i}"),
                    "omm1": format!("127.0.0.1:{}", fleet.omm(i).addr.port()),
                    "user": format!("omm{i}"), "password": format!("pw-{i}"),
                    "provisioning": true,
                })),
            );
            assert_eq!(created.status, 201, "{}", created.text);
            u32::try_from(created.json["id"].as_u64().unwrap()).unwrap()
        })
        .collect::<Vec<_>>();
    wait(
        "links up, Cloud-IDs learnt",
        Duration::from_secs(30),
        || {
            ids.iter().all(|id| {
                let omm = web.get(&format!("/api/v1/omms/{id}")).json;
                omm["health"]["link"] == "Up"
                    && omm["cloud_id"].as_str().is_some_and(|c| c.len() == 12)
            })
        },
    );
    Site {
        rt,
        fleet,
        mom,
        web,
        ids,
    }
}

fn basic(user: &str, password: &str) -> (&'static str, String) {
    let token = base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"));
    ("authorization", format!("Basic {token}"))
}

fn put_text(web: &Web, path: &str, text: &[u8]) -> Answer {
    web.send_raw("PUT", path, "text/plain; charset=utf-8", text.to_vec())
}

fn sha256(bytes: &[u8]) -> String {
    use sha2::Digest;
    sha2::Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// A client without a session, as an OMM or a base station is.
fn anonymous(mom: &Mom) -> Web {
    Web::new(mom.listener("https"), Offer::Any)
}

/// Starts a `PUT` of `path` as OMM 1 announcing 100,000 bytes and sends only half of them;
/// the connection stays open until the returned stream is dropped.
fn half_upload(
    https: std::net::SocketAddr,
    path: &str,
) -> rustls::StreamOwned<rustls::ClientConnection, std::net::TcpStream> {
    use std::io::Write;
    let mut tls = raw_tls(https);
    let (name, value) = basic("omm1", "pw-1");
    tls.write_all(
        format!("PUT {path} HTTP/1.1\r\nHost: localhost\r\n{name}: {value}\r\nContent-Length: 100000\r\n\r\n")
            .as_bytes(),
    )
    .unwrap();
    tls.write_all(&[b'y'; 50_000]).unwrap();
    tls.flush().unwrap();
    tls
}

const TEMPLATE: &str = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\r\n\
<!-- the site's own name -->\r\n\
<SetSystemName name=\"%SITE%\"/>\r\n\
<SetSystemName cloudId=\"001F10000001\" name=\"only one\"/>\r\n\
<SetRemoteAccess enable=\"%REMOTE%\" user=\"%MDB_OMM_username%\"/>\r\n";
