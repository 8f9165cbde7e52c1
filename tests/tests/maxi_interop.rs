//! Interoperability: the PyPI AXI client library mitel-ommclient2 0.0.1, unchanged, against
//! the real MOM's plain MAXI debug listener (the library speaks no TLS; profile §10
//! "MAXI"), with users and handsets that live on linked simulated OMMs: the library is a
//! strict reader, so this is where an attribute of the MOM's own would break it. Its Python environment comes from `scripts/interop-env` (run by `scripts/test`);
//! without it this test fails and says how to make it.

use axi::record::AxiRecord;
use ipc::api::store::{NewAccount, StoreRequest, StoreResponse};
use model::LinkState;
use mom_tests::sim::{add_omm, omms, runtime, wait};
use mom_tests::{Mom, Options};
use omm_sim::{Fleet, FleetOptions};
use std::path::PathBuf;
use std::process::Command;
use std::time::{Duration, Instant};

fn python() -> PathBuf {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..");
    let python = root.join("target/interop-venv/bin/python");
    assert!(
        python.exists(),
        "{} is missing: run scripts/interop-env (scripts/test does)",
        python.display()
    );
    python
}

#[test]
fn mitel_ommclient2_reads_records_that_live_on_omms_and_every_call_works_unchanged() {
    let python = python();
    let script = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("interop/ommclient2_check.py");
    // Users and handsets that live on two linked OMMs; 5 handsets per OMM without a user.
    let rt = runtime();
    let fleet = rt
        .block_on(Fleet::start(FleetOptions {
            omms: 2,
            users: 20,
            devices: 25,
            ..FleetOptions::default()
        }))
        .expect("fleet");
    let mom = Mom::start(&Options {
        extra: "[axi]\nretry-secs = 1\nping-secs = 5\n".into(),
        ..Options::default()
    });
    let created = mom.store(StoreRequest::CreateAccount(NewAccount {
        name: "provisioner".into(),
        password: "Blue.Whale-2024".into(),
        enabled: true,
        write: true,
        must_change_password: false,
    }));
    assert!(matches!(created, StoreResponse::Created(_)), "{created:?}");
    for i in 1..=2 {
        add_omm(&mom, &fleet, i);
    }
    wait(
        "both OMMs linked and imported",
        Duration::from_secs(30),
        || mom.totals() == (40, 50) && omms(&mom).iter().all(|o| o.health.link == LinkState::Up),
    );

    let addr = mom.listener("maxi-debug");
    let mut child = Command::new(python)
        .arg(script)
        .arg(addr.ip().to_string())
        .arg(addr.port().to_string())
        .arg("provisioner")
        .arg("Blue.Whale-2024")
        .arg("40")
        .arg("50")
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("python");
    // The library waits for ever on an answer it cannot read: a bound of our own.
    let deadline = Instant::now() + Duration::from_secs(90);
    while child.try_wait().expect("wait").is_none() {
        if Instant::now() > deadline {
            let _ = child.kill();
            break;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    let out = child.wait_with_output().expect("output");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success() && stdout.contains("\nok"),
        "mitel-ommclient2 failed ({}):\n{stdout}\n{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout.contains("paged 40 users 50 devices"), "{stdout}");
    assert!(stdout.contains("listed 25"), "{stdout}");
    let user = match mom.store(StoreRequest::GetUserByNumber("5000".into())) {
        StoreResponse::User(u) => u,
        other => panic!("{other:?}"),
    };
    assert_eq!(user.name, "Interop Ward");
    assert_eq!(
        (user.sip_auth_id.as_str(), user.sip_pw.as_str()),
        ("sip5000", "Sip.Secret-1"),
        "the SIP password arrived encrypted with the MOM's key and is stored as set"
    );
    assert_eq!(mom.totals().0, 65);

    // The user bound over MAXI to a handset at an OMM now lives there, bound, with its
    // number: the handset works (profile §4, §9).
    let device = match mom.store(StoreRequest::GetDevice(user.ppn)) {
        StoreResponse::Device(d) => d,
        other => panic!("{other:?}"),
    };
    assert_ne!(device.location, 0, "the handset lives at an OMM");
    let index = omms(&mom)
        .iter()
        .position(|o| o.id == device.location)
        .expect("its OMM")
        + 1;
    let at_omm = || {
        let omm = fleet.omm(u32::try_from(index).unwrap()).lock();
        let ipei = device.ipei.to_string();
        let pp = omm
            .state
            .devices
            .values()
            .find(|d| d.raw("ipei") == Some(ipei.as_str()))
            .cloned();
        let bound = pp.and_then(|pp| {
            let uid: u32 = pp.raw("uid")?.parse().ok()?;
            omm.state.users.get(&uid).cloned()
        });
        bound.and_then(|u| u.raw("num").map(str::to_owned))
    };
    wait(
        "the bound user on the handset's OMM",
        Duration::from_secs(15),
        || at_omm().as_deref() == Some("5000"),
    );
    let home = match mom.store(StoreRequest::GetUserByNumber("5000".into())) {
        StoreResponse::User(u) => u.home_omm,
        other => panic!("{other:?}"),
    };
    assert_eq!(
        home, device.location,
        "the user's home is the handset's OMM"
    );
}
