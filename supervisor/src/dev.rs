//! Development mode's demo fleet: three simulated OMMs (the `omm-sim` binary beside this one)
//! linked to the MOM, and a development license that sets a SARI, so a newcomer sees OMMs
//! connect, records sync and handsets roam. `--no-fleet` leaves both out.

use ipc::api::store::{StoreApi, StoreRequest, StoreResponse};
use ipc::{Client, ClientOptions, Hello};
use model::{License, Omm};
use std::path::Path;
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

/// Starts the fleet and links it to the MOM; runs until dropped (which stops `omm-sim`).
pub async fn run(store_socket: std::path::PathBuf) {
    let Some(binary) = std::env::current_exe()
        .ok()
        .and_then(|e| e.parent().map(|d| d.join("omm-sim")))
        .filter(|b| b.exists())
    else {
        println!("  fleet:   omm-sim is not built (cargo build --release --workspace --bins); no demo OMMs");
        return;
    };
    let mut child = match tokio::process::Command::new(&binary)
        .args(["--omms", "3", "--users", "100", "--devices", "100"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .kill_on_drop(true)
        .spawn()
    {
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
    if let Err(e) = link_fleet(&store_socket, &omms).await {
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
async fn link_fleet(store_socket: &Path, omms: &[SimOmm]) -> Result<(), String> {
    let options = ClientOptions {
        request_timeout: Duration::from_secs(30),
        ..ClientOptions::default()
    };
    let (client, _events) =
        Client::<StoreApi>::start(store_socket.to_owned(), Hello::new("dev-fleet", 0), options);
    let existing = match client
        .request(StoreRequest::ListOmms)
        .await
        .map_err(|e| e.to_string())?
    {
        StoreResponse::Omms(o) => o,
        other => return Err(format!("{other:?}")),
    };
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
        if let StoreResponse::Error(e) = client
            .request(StoreRequest::PutOmm(record))
            .await
            .map_err(|e| e.to_string())?
        {
            return Err(e.to_string());
        }
    }
    let installed = matches!(
        client.request(StoreRequest::GetLicense).await,
        Ok(StoreResponse::License(Some(_)))
    );
    if !installed {
        let license = License {
            installation_id: "development".into(),
            customer_name: "Development".into(),
            country: "-".into(),
            system_license: "DEVELOPMENT-ONLY".into(),
            licensed_version: env!("CARGO_PKG_VERSION").into(),
            sari: DEV_SARI.into(),
        };
        if let Ok(StoreResponse::Error(e)) = client.request(StoreRequest::PutLicense(license)).await
        {
            return Err(e.to_string());
        }
    }
    Ok(())
}
