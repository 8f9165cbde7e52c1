//! Provisioning benchmarks through real processes and HTTPS: `cargo bench -p mom-tests
//! --bench provisioning` (build the release binaries first; scripts/bench does both).
//!
//! 500 simulated OMMs linked to the MOM with Provisioning enabled and a 50 KB template:
//! "Update all" through the admin API, then the time until every OMM fetched its ipdect.cfg
//! over HTTPS with its own credentials (each from its own loopback address), with the
//! distribution of the times from the update to each fetch; and the download rate of a
//! 20 MB base-station image from `/resources/` (whole and in 1 MB ranges).

use mom_tests::bench::{ms, percentile, Size};
use mom_tests::web::{Offer, Web};
use mom_tests::{Mom, Options};
use omm_sim::{Fleet, FleetOptions};
use serde_json::json;
use std::time::{Duration, Instant};

const IMAGE: usize = 20 * 1024 * 1024;

fn template() -> String {
    let mut t = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    for i in 0..200 {
        t.push_str(&format!(
            "<!-- setting {i} -->\n<SetSystemName name=\"%VALUE_{i}%\" location=\"%MOM_IP_ADDR%\"/>\n"
        ));
    }
    while t.len() < 50 * 1024 {
        t.push_str("<!-- padding so that the template is as large as a real one -->\n");
    }
    t
}

fn main() {
    let omms = Size::from_env().omms;
    let rt = mom_tests::sim::runtime_with(1);
    let fleet = rt
        .block_on(Fleet::start(FleetOptions {
            omms,
            users: 0,
            devices: 0,
            ..FleetOptions::default()
        }))
        .expect("fleet");
    let mom = Mom::start(&Options {
        extra: "[axi]\nretry-secs = 2\n".into(),
        sample_secs: 60,
        ..Options::default()
    });
    let https = mom.listener("https");
    let mut web = Web::new(https, Offer::Any);
    while web.try_send("GET", "/healthz", None).is_err() {
        std::thread::sleep(Duration::from_millis(50));
    }
    web.first_login("Blau.Wal42");
    let started = Instant::now();
    let placeholders: String = (0..200).map(|i| format!("VALUE_{i}=value {i}\n")).collect();
    for i in 1..=omms {
        let created = web.send(
            "POST",
            "/api/v1/omms",
            Some(&json!({
                "enabled": true, "name": format!("Site {i}"),
                "omm1": format!("127.0.0.1:{}", fleet.omm(i).addr.port()),
                "user": "omm", "password": "omm-password", "provisioning": true,
                "placeholders": placeholders,
            })),
        );
        assert_eq!(created.status, 201, "{}", created.text);
    }
    let stored = web.send_raw(
        "PUT",
        "/api/v1/provisioning/template",
        "text/plain",
        template().into_bytes(),
    );
    assert_eq!(stored.status, 200, "{}", stored.text);
    while !(1..=omms).all(|i| fleet.omm(i).lock().state.config_url.is_some()) {
        assert!(
            started.elapsed() < Duration::from_secs(300),
            "links did not come up"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    println!("provisioning with {omms} simulated OMMs (TLS links, simulator in the bench process), a 50 KB template with 200 placeholders:");
    println!(
        "  from the first OMM record added (through the API) to every OMM linked with its configuration URL set: {}",
        ms(started.elapsed())
    );

    // The fetches are watched from their own thread while the update request runs.
    let update = Instant::now();
    let (answer, asked, done) = std::thread::scope(|scope| {
        let watcher = scope.spawn(|| {
            let mut done: Vec<Option<Duration>> = vec![None; omms as usize];
            while done.iter().any(Option::is_none) {
                for (slot, omm) in done.iter_mut().zip(&fleet.omms) {
                    if slot.is_none() {
                        let state = &omm.lock().state;
                        if state.fetches > 0 {
                            assert!(
                                state.last_fetch_error.is_empty(),
                                "{}",
                                state.last_fetch_error
                            );
                            *slot = Some(update.elapsed());
                        }
                    }
                }
                assert!(
                    update.elapsed() < Duration::from_secs(300),
                    "not every OMM fetched"
                );
                std::thread::sleep(Duration::from_millis(2));
            }
            done
        });
        let answer = web.send("POST", "/api/v1/omms/update", Some(&json!({"all": true})));
        let asked = update.elapsed();
        (answer, asked, watcher.join().expect("watcher"))
    });
    let outcome = answer.json.as_array().expect("outcome").clone();
    assert_eq!(outcome.len(), omms as usize);
    assert!(
        outcome.iter().all(|o| o["error"].is_null()),
        "{}",
        answer.text
    );
    let mut times: Vec<Duration> = done.into_iter().flatten().collect();
    let all = *times.iter().max().expect("times");
    println!(
        "  Update all: every OMM fetched by {1}; from the update to an OMM's fetch done: p50 {2} p99 {3}; the API answered (every OMM's outcome) after {0}",
        ms(asked),
        ms(all),
        ms(percentile(&mut times, 0.5)),
        ms(percentile(&mut times, 0.99))
    );

    let image: Vec<u8> = (0..IMAGE).map(|i| (i % 251) as u8).collect();
    let put = Instant::now();
    web.put_resource("iprfp4G.dnld", image.clone());
    let put = put.elapsed();
    let anonymous = Web::new(https, Offer::Any);
    let mut whole = Vec::new();
    for _ in 0..5 {
        let t = Instant::now();
        let (status, bytes) = anonymous.get_bytes("/resources/iprfp4G.dnld");
        whole.push(t.elapsed());
        assert_eq!((status, bytes.len()), (200, IMAGE));
    }
    whole.sort();
    let mb = IMAGE as f64 / (1024.0 * 1024.0);
    let t = Instant::now();
    for part in 0..20usize {
        let answer = anonymous.send_with(
            "GET",
            "/resources/iprfp4G.dnld",
            &[(
                "range",
                format!("bytes={}-{}", part << 20, ((part + 1) << 20) - 1),
            )],
            Vec::new(),
        );
        assert_eq!(answer.status, 206);
    }
    let ranged = t.elapsed();
    println!(
        "  a 20 MB image: upload {} ({:.0} MB/s); download over HTTPS, best of 5: {} ({:.0} MB/s); in twenty 1 MB ranges: {} ({:.0} MB/s)",
        ms(put),
        mb / put.as_secs_f64(),
        ms(whole[0]),
        mb / whole[0].as_secs_f64(),
        ms(ranged),
        mb / ranged.as_secs_f64()
    );
    drop(rt);
}
