//! Development mode's demo fleet: three simulated OMMs (the `omm-sim` binary beside this one)
//! linked to the MOM, and a development license issued on the spot that sets a SARI, so a
//! newcomer sees OMMs connect, records sync and handsets roam. `--no-fleet` leaves both out.
//!
//! Development mode always trusts its own issuer key, `dev-issuer.key` in the state folder
//! (created on first start), so tests and newcomers can issue licenses with
//! `sip-dect-mom license issue --key <state>/dev-issuer.key ...`.

use crate::config::Config;
use ipc::api::store::StoreApi;
use ipc::store_client::{Failure, Store};
use ipc::{Client, ClientOptions, Hello};
use license::IssuerKey;
use model::{License, Omm};
use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use std::time::Duration;
use tokio::io::{AsyncBufReadExt, BufReader};

/// SARI of the development license.
pub const DEV_SARI: &str = "1F10DE0000";

/// One simulated OMM as `omm-sim` announces it.
#[derive(Debug, Clone)]
struct SimOmm {
    index: u64,
    port: u64,
    username: String,
    password: String,
}

/// Where development mode keeps its issuer key.
#[must_use]
pub fn issuer_key_path(config: &Config) -> PathBuf {
    config.paths.state_dir.join("dev-issuer.key")
}

/// Adds development mode's issuer key (created when missing) to the trusted issuers.
///
/// # Errors
/// A message when the key cannot be created or read.
pub fn trust_development_issuer(config: &mut Config) -> Result<(), String> {
    let path = issuer_key_path(config);
    let key = match std::fs::read(&path) {
        Ok(bytes) => IssuerKey::from_file(&bytes)
            .map_err(|e| format!("{}: not an issuer key: {e}", path.display()))?,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            let key = IssuerKey::generate();
            std::fs::create_dir_all(&config.paths.state_dir)
                .map_err(|e| format!("cannot create {}: {e}", config.paths.state_dir.display()))?;
            std::fs::OpenOptions::new()
                .write(true)
                .create_new(true)
                .mode(0o600)
                .open(&path)
                .and_then(|mut f| f.write_all(key.to_file().as_bytes()))
                .map_err(|e| format!("cannot write {}: {e}", path.display()))?;
            key
        }
        Err(e) => return Err(format!("cannot read {}: {e}", path.display())),
    };
    let public = key.public().to_hex();
    if !config.license.issuer_keys.contains(&public) {
        config.license.issuer_keys.push(public);
    }
    Ok(())
}

/// Starts the fleet and links it to the MOM; runs until dropped (which stops `omm-sim`).
pub async fn run(store_socket: PathBuf, issuer_key: PathBuf) {
    let Some(binary) = std::env::current_exe()
        .ok()
        .and_then(|e| e.parent().map(|d| d.join("omm-sim")))
        .filter(|b| b.exists())
    else {
        println!("  fleet:   omm-sim is not built (cargo build --release --workspace --bins); no demo OMMs");
        return;
    };
    let mut command = tokio::process::Command::new(&binary);
    command
        .args(["--omms", "3", "--users", "100", "--devices", "100"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .kill_on_drop(true);
    crate::sys::end_with_supervisor(&mut command);
    let mut child = match command.spawn() {
        Ok(c) => c,
        Err(e) => {
            println!("  fleet:   cannot start {}: {e}", binary.display());
            return;
        }
    };
    let Some(stdout) = child.stdout.take() else {
        return;
    };
    let mut lines = BufReader::new(stdout).lines();
    let mut omms = Vec::new();
    let mut control = String::new();
    while let Ok(Some(line)) = lines.next_line().await {
        let Ok(v) = serde_json::from_str::<serde_json::Value>(&line) else {
            continue;
        };
        if let Some(c) = v.get("control").and_then(serde_json::Value::as_str) {
            control = c.to_owned();
            break;
        }
        omms.push(SimOmm {
            index: v["omm"].as_u64().unwrap_or(0),
            port: v["port"].as_u64().unwrap_or(0),
            username: v["username"].as_str().unwrap_or("").to_owned(),
            password: v["password"].as_str().unwrap_or("").to_owned(),
        });
    }
    if let Err(e) = link_fleet(&store_socket, &issuer_key, &omms).await {
        println!("  fleet:   could not register the demo OMMs: {e}");
        return;
    }
    println!("  fleet:   {} simulated OMMs (ports {}), control socket {control}, license SARI {DEV_SARI}", omms.len(), omms.iter().map(|o| o.port.to_string()).collect::<Vec<_>>().join(", "));
    println!(
        "           try: sip-dect-mom --dev omm list; sip-dect-mom --dev user list --number 1000"
    );
    let _ = child.wait().await;
}

/// Adds (or points at the new ports) the demo OMM records and installs the development
/// license unless another one is installed.
async fn link_fleet(store_socket: &Path, issuer_key: &Path, omms: &[SimOmm]) -> Result<(), String> {
    let options = ClientOptions {
        request_timeout: Duration::from_secs(30),
        ..ClientOptions::default()
    };
    let (client, _events) =
        Client::<StoreApi>::start(store_socket.to_owned(), Hello::new("dev-fleet", 0), options);
    let store = Store::new(client);
    let existing = store.omms().await.map_err(admin_cli::client::why)?;
    for sim in omms {
        let name = format!("Demo site {}", sim.index);
        let mut record = existing
            .iter()
            .find(|o| o.name == name)
            .cloned()
            .unwrap_or_else(|| Omm {
                enabled: true,
                name: name.clone(),
                ..Omm::default()
            });
        record.omm1 = format!("127.0.0.1:{}", sim.port);
        record.user.clone_from(&sim.username);
        record.password.clone_from(&sim.password);
        record.description = "omm-sim (development mode)".into();
        store
            .put_omm(record)
            .await
            .map_err(admin_cli::client::why)?;
    }
    let installed = matches!(store.license().await, Ok(Some(_)));
    if !installed {
        let license = License {
            installation_id: "development".into(),
            customer_name: "Development".into(),
            country: "-".into(),
            system_license: "DEVELOPMENT-ONLY".into(),
            licensed_version: env!("CARGO_PKG_VERSION").into(),
            sari: DEV_SARI.into(),
        };
        let key = std::fs::read(issuer_key)
            .map_err(|e| e.to_string())
            .and_then(|b| IssuerKey::from_file(&b).map_err(|e| e.to_string()))
            .map_err(|e| format!("development issuer key {}: {e}", issuer_key.display()))?;
        let file = key.issue(&license).map_err(|e| e.to_string())?;
        if let Err(Failure::Refused(e)) = store.install_license(file.into_bytes()).await {
            return Err(e.to_string());
        }
    }
    Ok(())
}
