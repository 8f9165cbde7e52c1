//! `sip-dect-mom license ...`: creating an issuer key and issuing licenses (offline, on the
//! issuer's machine: no MOM needed), installing and showing the license.

use crate::client::{self, audit_of, fail, json, why, why_write};
use clap::Subcommand;
use license::IssuerKey;
use model::License;
use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

/// `sip-dect-mom license ...`
#[derive(Debug, Subcommand)]
pub enum LicenseAction {
    /// Create a license issuer key (a secret file) and print the public key for
    /// `[license] issuer-keys` in mom.toml. Needs no running MOM.
    CreateIssuerKey {
        /// Where to write the key (created with mode 0600; an existing file is kept).
        #[arg(long)]
        out: PathBuf,
    },
    /// Issue a signed license file with an issuer key. Needs no running MOM.
    Issue {
        /// The issuer key file.
        #[arg(long)]
        key: PathBuf,
        /// Installation id; every later license of this MOM must carry the same one.
        #[arg(long)]
        installation_id: String,
        /// Customer name.
        #[arg(long)]
        customer: String,
        /// Country of installation.
        #[arg(long)]
        country: String,
        /// System license key.
        #[arg(long)]
        system_license: String,
        /// Licensed software version, e.g. 10.1.
        #[arg(long)]
        licensed_version: String,
        /// SARI, 10 upper-case hex digits.
        #[arg(long)]
        sari: String,
        /// Where to write the license file.
        #[arg(long)]
        out: PathBuf,
    },
    /// Install a license file in the running MOM (its SARI goes to every OMM).
    Install {
        /// The license file.
        file: PathBuf,
    },
    /// Show the installed license and whether it is valid.
    Show {
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
}

impl LicenseAction {
    /// Whether the action runs without a MOM (and so without its configuration).
    #[must_use]
    pub fn is_offline(&self) -> bool {
        matches!(self, Self::CreateIssuerKey { .. } | Self::Issue { .. })
    }
}

/// Runs an offline `license` action (see [`LicenseAction::is_offline`]).
#[must_use]
pub fn offline(action: &LicenseAction) -> i32 {
    match action {
        LicenseAction::CreateIssuerKey { out } => {
            let key = IssuerKey::generate();
            if let Err(e) = write_new(out, key.to_file().as_bytes(), 0o600) {
                return fail(&e);
            }
            println!("issuer key written to {} (keep it secret)", out.display());
            println!("trust it on the MOM with this line in mom.toml:");
            println!("[license]\nissuer-keys = [\"{}\"]", key.public());
            0
        }
        LicenseAction::Issue {
            key,
            installation_id,
            customer,
            country,
            system_license,
            licensed_version,
            sari,
            out,
        } => {
            let key = match std::fs::read(key)
                .map_err(|e| format!("cannot read {}: {e}", key.display()))
                .and_then(|bytes| {
                    IssuerKey::from_file(&bytes)
                        .map_err(|e| format!("{}: not an issuer key: {e}", key.display()))
                }) {
                Ok(k) => k,
                Err(e) => return fail(&e),
            };
            let license = License {
                installation_id: installation_id.clone(),
                customer_name: customer.clone(),
                country: country.clone(),
                system_license: system_license.clone(),
                licensed_version: licensed_version.clone(),
                sari: sari.clone(),
            };
            let text = match key.issue(&license) {
                Ok(t) => t,
                Err(e) => return fail(&format!("cannot issue: {e}")),
            };
            if let Err(e) = write_new(out, text.as_bytes(), 0o644) {
                return fail(&e);
            }
            println!(
                "license for installation {installation_id} written to {}",
                out.display()
            );
            0
        }
        LicenseAction::Install { .. } | LicenseAction::Show { .. } => {
            fail("this license action needs the running MOM")
        }
    }
}

/// Runs a `license` action against the running MOM's store.
pub async fn online(socket: &Path, action: &LicenseAction) -> i32 {
    match action {
        LicenseAction::Install { file } => {
            let bytes = match read_limited(file) {
                Ok(b) => b,
                Err(e) => return fail(&e),
            };
            let store = match client::store(socket).await {
                Ok(store) => store,
                Err(e) => return fail(&e),
            };
            if let Err(e) = store.install_license(bytes).await {
                return fail(&why_write(e));
            }
            // A license file is checked before any transaction, so the store does not
            // audit it itself: its entry is appended after it.
            let entry = audit_of("InstallLicense", String::new());
            if let Err(e) = store.append_audit(entry).await {
                eprintln!("sip-dect-mom: warning: the change is made but the audit trail could not record it: {e}");
            }
            match store.license().await {
                Ok(Some(l)) => {
                    println!(
                        "license installed: installation {}, SARI {}; connected OMMs receive the SARI now",
                        l.installation_id, l.sari
                    );
                    0
                }
                Ok(None) => fail("the store shows no license after installing it"),
                Err(e) => fail(&why(e)),
            }
        }
        LicenseAction::Show { json: as_json } => {
            let store = match client::store(socket).await {
                Ok(store) => store,
                Err(e) => return fail(&e),
            };
            let license = match store.license().await {
                Ok(l) => l,
                Err(e) => return fail(&why(e)),
            };
            let state = match store.health().await {
                Ok(h) => h
                    .into_iter()
                    .find(|h| h.check == model::HealthCheck::License),
                Err(e) => return fail(&why(e)),
            };
            let problem = state.map(|s| s.reason).unwrap_or_default();
            if *as_json {
                return json(&serde_json::json!({
                    "license": license,
                    "valid": problem.is_empty(),
                    "problem": problem,
                }));
            }
            match license {
                None => println!("no license installed"),
                Some(l) => {
                    println!("installation id:   {}", l.installation_id);
                    println!("customer name:     {}", l.customer_name);
                    println!("country:           {}", l.country);
                    println!("system license:    {}", l.system_license);
                    println!("licensed version:  {}", l.licensed_version);
                    println!(
                        "SARI:              {} / {}",
                        model::park::printed(&l.sari).unwrap_or_default(),
                        l.sari
                    );
                }
            }
            if !problem.is_empty() {
                println!("state:             {problem}");
            }
            0
        }
        offline_action => offline(offline_action),
    }
}

/// Writes a file that must not exist yet, with `mode`.
fn write_new(path: &Path, bytes: &[u8], mode: u32) -> Result<(), String> {
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(mode)
        .open(path)
        .map_err(|e| format!("cannot create {}: {e}", path.display()))?;
    file.write_all(bytes)
        .and_then(|()| file.sync_all())
        .map_err(|e| format!("cannot write {}: {e}", path.display()))
}

/// Reads a file the MOM will refuse anyway when it is larger than a license can be.
fn read_limited(path: &Path) -> Result<Vec<u8>, String> {
    let meta =
        std::fs::metadata(path).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    if meta.len() > license::MAX_FILE_BYTES as u64 {
        return Err(format!(
            "{} is {} bytes; a license file is at most {}",
            path.display(),
            meta.len(),
            license::MAX_FILE_BYTES
        ));
    }
    std::fs::read(path).map_err(|e| format!("cannot read {}: {e}", path.display()))
}
