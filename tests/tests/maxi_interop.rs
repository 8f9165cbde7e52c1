//! Interoperability: the PyPI AXI client library mitel-ommclient2 0.0.1, unchanged, against
//! the real MOM's plain MAXI debug listener (the library speaks no TLS; profile §10
//! "MAXI"). Its Python environment comes from `scripts/interop-env` (run by `scripts/test`);
//! without it this test fails and says how to make it.

use ipc::api::store::{NewAccount, StoreRequest, StoreResponse};
use mom_tests::{Mom, Options};
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
fn mitel_ommclient2_logs_in_pages_creates_edits_and_reads_back_unchanged() {
    let python = python();
    let script = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("interop/ommclient2_check.py");
    let mom = Mom::start(&Options::default());
    let created = mom.store(StoreRequest::CreateAccount(NewAccount {
        name: "provisioner".into(),
        password: "Blue.Whale-2024".into(),
        enabled: true,
        write: true,
    }));
    assert!(matches!(created, StoreResponse::Created(_)), "{created:?}");
    let addr = mom.listener("maxi-debug");
    let mut child = Command::new(python)
        .arg(script)
        .arg(addr.ip().to_string())
        .arg(addr.port().to_string())
        .arg("provisioner")
        .arg("Blue.Whale-2024")
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("python");
    // The library waits for ever on an answer it cannot read: a bound of our own.
    let deadline = Instant::now() + Duration::from_secs(60);
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
    assert_eq!(mom.totals().0, 25);
}
