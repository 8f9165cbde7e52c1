//! The license, the SARI it grants, and the health states that say why.

use super::*;
use ipc::api::store::StoreRequest;
use model::Omm;
use mom_tests::sim::{runtime, wait};
use mom_tests::Mom;
use std::time::Duration;

pub(crate) fn health_json(mom: &Mom) -> (i32, serde_json::Value) {
    let out = mom.cli(&["health", "--json"]);
    let code = out.status.code().unwrap_or(-1);
    let value = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("health --json: {e}: {out:?}"));
    (code, value)
}

#[test]
fn only_a_signed_license_sets_the_sari_and_the_health_states_say_why() {
    let rt = runtime();
    let (fleet, mom, _) = linked(&rt, 2);

    // No license: no SARI anywhere, and the health states say so (exit 3).
    let (code, health) = health_json(&mom);
    assert_eq!(code, 3, "{health}");
    assert_eq!(health[0]["health_state"], "License");
    assert_eq!(health[0]["reason"], "No license available");
    assert_eq!(health[1]["health_state"], "OMM connections");
    assert_eq!(health[1]["severity"], serde_json::Value::Null);
    assert!((1..=2).all(|i| fleet.omm(i).lock().state.sari.is_none()));

    // A license from a key the MOM does not trust, and a tampered one, are refused.
    let dir = mom.dir.path();
    let stranger = dir.join("stranger.key");
    let created = mom.cli(&[
        "license",
        "create-issuer-key",
        "--out",
        stranger.to_str().unwrap(),
    ]);
    assert!(created.status.success(), "{created:?}");
    assert!(String::from_utf8_lossy(&created.stdout).contains("issuer-keys = [\""));
    let forged = dir.join("forged.txt");
    let issued = mom.cli(&[
        "license",
        "issue",
        "--key",
        stranger.to_str().unwrap(),
        "--installation-id",
        "271110277",
        "--customer",
        "X",
        "--country",
        "DE",
        "--system-license",
        "K",
        "--licensed-version",
        "10.1",
        "--sari",
        "1F1028D085",
        "--out",
        forged.to_str().unwrap(),
    ]);
    assert!(issued.status.success(), "{issued:?}");
    let refused = mom.cli(&["license", "install", forged.to_str().unwrap()]);
    assert_eq!(refused.status.code(), Some(1));
    assert!(
        String::from_utf8_lossy(&refused.stderr).contains("not a configured issuer key"),
        "{refused:?}"
    );
    let good = mom.install_license("271110277", "1F1028D085");
    assert!(good.status.success(), "{good:?}");
    let genuine = dir.join("license-271110277-1F1028D085.txt");
    let tampered = dir.join("tampered.txt");
    std::fs::write(
        &tampered,
        std::fs::read_to_string(&genuine)
            .unwrap()
            .replace("Test customer", "Other customer"),
    )
    .unwrap();
    let refused = mom.cli(&["license", "install", tampered.to_str().unwrap()]);
    assert_eq!(refused.status.code(), Some(1));
    assert!(
        String::from_utf8_lossy(&refused.stderr).contains("altered or forged"),
        "{refused:?}"
    );

    // The genuine one set the SARI on every OMM; the links came back after the restart.
    wait("SARI on every OMM", Duration::from_secs(20), || {
        (1..=2).all(|i| fleet.omm(i).lock().state.sari.as_deref() == Some("1F1028D085"))
    });
    // (The links go down for the SARI restart and come back; the health states follow.)
    wait("every health state well", Duration::from_secs(20), || {
        health_json(&mom).0 == 0
    });
    let shown = mom.cli(&["license", "show", "--json"]);
    let shown: serde_json::Value = serde_json::from_slice(&shown.stdout).unwrap();
    assert_eq!(shown["valid"], true);
    assert_eq!(shown["license"]["customer_name"], "Test customer");
    // The printed PARK beside the hex, as the guide shows it.
    let shown = mom.cli(&["license", "show"]);
    assert!(
        String::from_utf8_lossy(&shown.stdout).contains("31100 5064 1024 * / 1F1028D085"),
        "{shown:?}"
    );
    let settings = mom.cli(&["settings", "show"]);
    assert!(
        String::from_utf8_lossy(&settings.stdout).contains("31100 5064 1024 * / 1F1028D085"),
        "{settings:?}"
    );

    // A license for another installation is refused.
    let other = mom.install_license("999", "1F1028D085");
    assert_eq!(other.status.code(), Some(1));
    assert!(
        String::from_utf8_lossy(&other.stderr).contains("installation"),
        "{other:?}"
    );

    // An enabled OMM that cannot be reached turns "OMM connections" into a warning.
    ok(mom.store(StoreRequest::PutOmm(Omm {
        enabled: true,
        name: "Unreachable site".into(),
        omm1: "127.0.0.1:1".into(),
        user: "omm".into(),
        password: "x".into(),
        ..Omm::default()
    })));
    wait("OMM connections warning", Duration::from_secs(10), || {
        let (code, health) = health_json(&mom);
        code == 3 && health[1]["reason"] == "OMM not connected: Unreachable site"
    });
}
