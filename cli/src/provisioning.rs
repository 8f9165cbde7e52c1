//! `sip-dect-mom provisioning ...` and `sip-dect-mom omm update`: centralized OMM
//! provisioning from the console (admin guide "Modifying the configuration template",
//! "Configuring OMM-specific placeholder values", "Verifying the OMM configuration",
//! "Update OMM"). Texts are read from and written to files (or `-` for stdin/stdout) byte for
//! byte; the store checks them as it checks the web API's.

use crate::client::{self, audit_of, call, connect, fail, json, why, why_write};
use crate::omms::omms;
use clap::Subcommand;
use ipc::api::axi::{AxiApi, AxiRequest, AxiResponse};
use model::{Omm, Settings};
use std::io::{Read, Write};
use std::path::{Path, PathBuf};

/// `sip-dect-mom provisioning ...`
#[derive(Debug, Subcommand)]
pub enum ProvisioningAction {
    /// Print the configuration template, or write it to FILE.
    Template {
        /// Where to write it (stdout when absent).
        #[arg(long)]
        output: Option<PathBuf>,
    },
    /// Replace the configuration template with FILE (`-` for stdin), then print the check.
    SetTemplate {
        /// The new template.
        file: PathBuf,
    },
    /// Print an OMM's placeholder file.
    Placeholders {
        /// OMM id.
        id: u32,
    },
    /// Replace an OMM's placeholder file with FILE (`-` for stdin).
    SetPlaceholders {
        /// OMM id.
        id: u32,
        /// The new `name=value` lines.
        file: PathBuf,
    },
    /// Let the MOM provision these OMMs (their configuration URL points at the MOM).
    Enable {
        /// OMM ids.
        #[arg(required = true)]
        ids: Vec<u32>,
    },
    /// Stop provisioning these OMMs (their configuration URL is disabled).
    Disable {
        /// OMM ids.
        #[arg(required = true)]
        ids: Vec<u32>,
    },
    /// "Show config file": what the OMM would get now.
    Show {
        /// OMM id.
        id: u32,
    },
    /// Check the template and every OMM's placeholders (exit 3 when an error is found).
    Lint {
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Each OMM's last fetch and whether what it would get now differs (`--diff` prints
    /// the differences).
    Preview {
        /// Print the diff of every OMM that would get something new.
        #[arg(long)]
        diff: bool,
    },
}

/// Where the MOM's HTTPS listener is, for `%MOM_WEB_HTTPS_PORT%` in `show` and `lint`.
pub struct Web {
    /// The port.
    pub https_port: u16,
}

impl Web {
    /// The port the running supervisor bound for `https` (asked on its control socket),
    /// else the configured one.
    pub async fn find(control: &Path, configured: u16) -> Self {
        use ipc::api::control::{ControlApi, ControlRequest, ControlResponse};
        let bound = match connect::<ControlApi>(control).await {
            Ok(mut ch) => match call::<ControlApi>(&mut ch, 1, ControlRequest::Listeners).await {
                Ok(ControlResponse::Listeners(list)) => list
                    .iter()
                    .find(|(name, _)| name == "https")
                    .and_then(|(_, a)| a.parse::<std::net::SocketAddr>().ok())
                    .map(|a| a.port()),
                _ => None,
            },
            Err(_) => None,
        };
        Self {
            https_port: bound.unwrap_or(configured),
        }
    }
}

fn read_input(file: &Path) -> Result<String, String> {
    let mut bytes = Vec::new();
    if file == Path::new("-") {
        std::io::stdin()
            .read_to_end(&mut bytes)
            .map_err(|e| format!("stdin: {e}"))?;
    } else {
        bytes = std::fs::read(file).map_err(|e| format!("{}: {e}", file.display()))?;
    }
    String::from_utf8(bytes).map_err(|e| {
        format!(
            "{} is not UTF-8 text (byte {})",
            file.display(),
            e.utf8_error().valid_up_to()
        )
    })
}

async fn template(store: &Path) -> Result<String, String> {
    Ok(client::store(store)
        .await?
        .template()
        .await
        .map_err(why)?
        .text)
}

/// OMM record `id` (one store read).
async fn omm(store: &Path, id: u32) -> Result<Omm, String> {
    client::store(store)
        .await?
        .omm(id)
        .await
        .map_err(why)?
        .ok_or_else(|| format!("there is no OMM {id}"))
}

async fn settings(store: &Path) -> Result<Settings, String> {
    client::store(store).await?.settings().await.map_err(why)
}

/// Saves OMM record `omm`.
async fn put_omm(store: &Path, omm: Omm) -> Result<u32, String> {
    client::store(store)
        .await?
        .put_omm(omm)
        .await
        .map_err(why_write)
}

fn print(text: &str) -> i32 {
    let mut out = std::io::stdout().lock();
    match out.write_all(text.as_bytes()).and_then(|()| out.flush()) {
        Ok(()) => 0,
        Err(e) => fail(&e.to_string()),
    }
}

/// The check of `text` against every OMM, printed; exit 3 when an error is found.
async fn print_lint(store: &Path, web: &Web, text: &str, as_json: bool) -> i32 {
    let (omms, settings) = match (omms(store).await, settings(store).await) {
        (Ok(o), Ok(s)) => (o, s),
        (Err(e), _) | (_, Err(e)) => return fail(&e),
    };
    let findings = provisioning::omm::lint(text, &omms, &settings, None, web.https_port);
    let errors = findings
        .iter()
        .filter(|f| f.severity == provisioning::lint::Severity::Error)
        .count();
    if as_json {
        let list: Vec<serde_json::Value> = findings
            .iter()
            .map(|f| {
                serde_json::json!({
                    "severity": f.severity.as_str(),
                    "code": f.code, "message": f.message, "line": f.line, "omms": f.omms,
                })
            })
            .collect();
        json(&list);
    } else if findings.is_empty() {
        println!("the template and every placeholder file check out");
    } else {
        for f in &findings {
            println!("{}: {} [{}]", f.severity.as_str(), f.message, f.code);
        }
    }
    if errors > 0 {
        crate::client::EXIT_DEGRADED
    } else {
        0
    }
}

async fn set_flag(store: &Path, ids: &[u32], on: bool) -> i32 {
    let mut code = 0;
    for id in ids {
        let result = match omm(store, *id).await {
            Ok(o) => {
                put_omm(
                    store,
                    Omm {
                        provisioning: on,
                        ..o
                    },
                )
                .await
            }
            Err(e) => Err(e),
        };
        match result {
            Ok(_) => println!(
                "OMM {id}: provisioning {}",
                if on { "enabled" } else { "disabled" }
            ),
            Err(e) => code = fail(&format!("OMM {id}: {e}")),
        }
    }
    code
}

/// Runs a `provisioning` subcommand.
pub async fn provisioning(store: &Path, web: &Web, action: &ProvisioningAction) -> i32 {
    use ProvisioningAction as P;
    let outcome: Result<i32, String> = async {
        Ok(match action {
            P::Template { output: None } => print(&template(store).await?),
            P::Template { output: Some(file) } => {
                std::fs::write(file, template(store).await?)
                    .map_err(|e| format!("{}: {e}", file.display()))?;
                0
            }
            P::SetTemplate { file } => {
                let text = read_input(file)?;
                client::store(store)
                    .await?
                    .put_template(text.clone())
                    .await
                    .map_err(why_write)?;
                println!("template saved ({} bytes)", text.len());
                print_lint(store, web, &text, false).await
            }
            P::Placeholders { id } => print(&omm(store, *id).await?.placeholders),
            P::SetPlaceholders { id, file } => {
                let text = read_input(file)?;
                let current = omm(store, *id).await?;
                put_omm(
                    store,
                    Omm {
                        placeholders: text,
                        ..current
                    },
                )
                .await?;
                println!("OMM {id}: placeholder file saved");
                0
            }
            P::Enable { ids } => set_flag(store, ids, true).await,
            P::Disable { ids } => set_flag(store, ids, false).await,
            P::Show { id } => {
                let (omm, settings) = (omm(store, *id).await?, settings(store).await?);
                let address = provisioning::omm::address_for(&settings, &omm, None);
                if address.is_empty() {
                    eprintln!(
                        "note: OMM {id} has not fetched yet and no provisioning address is set, \
                         so %MOM_IP_ADDR% stays empty here"
                    );
                }
                let text = template(store).await?;
                print(&provisioning::omm::generate(&text, &omm, &address, web.https_port).text)
            }
            P::Lint { json } => print_lint(store, web, &template(store).await?, *json).await,
            P::Preview { diff } => preview(store, web, *diff).await?,
        })
    }
    .await;
    outcome.unwrap_or_else(|e| fail(&e))
}

async fn preview(store: &Path, web: &Web, with_diff: bool) -> Result<i32, String> {
    let (list, settings, text) = (
        omms(store).await?,
        settings(store).await?,
        template(store).await?,
    );
    println!(
        "{:>4} {:<5} {:<20} {:<26} NOW",
        "ID", "PROV", "NAME", "LAST FETCH"
    );
    let client = client::store(store).await?;
    for o in list {
        let served = client.served_config(o.id).await.map_err(why)?;
        let address = provisioning::omm::address_for(&settings, &o, None);
        let now = provisioning::omm::generate(&text, &o, &address, web.https_port);
        let last = o.provisioning_state.last_fetch.as_ref().map_or_else(
            || "never".to_owned(),
            |f| {
                if f.refused.is_empty() {
                    f.time.to_string()
                } else {
                    format!("{} refused", f.time)
                }
            },
        );
        let state = match &served {
            None => "new",
            Some(s) if *s == now.text => "unchanged",
            Some(_) => "changed",
        };
        println!(
            "{:>4} {:<5} {:<20} {:<26} {state}",
            o.id,
            if o.provisioning { "yes" } else { "no" },
            o.name,
            last
        );
        if let (true, Some(s)) = (with_diff, &served) {
            print!("{}", provisioning::diff(s, &now.text));
        }
    }
    Ok(0)
}

/// `sip-dect-mom omm update`: "Update OMM" through svc-axi; exit 1 when one was not sent.
pub async fn update(axi: &Path, store: &Path, ids: &[u32], all: bool) -> i32 {
    let ids: Vec<u32> = if all {
        match omms(store).await {
            Ok(list) => list
                .into_iter()
                .filter(|o| o.provisioning)
                .map(|o| o.id)
                .collect(),
            Err(e) => return fail(&e),
        }
    } else {
        ids.to_vec()
    };
    if ids.is_empty() {
        return fail("no OMM to update (give ids, or --all for every provisioned OMM)");
    }
    let mut ch = match connect::<AxiApi>(axi).await {
        Ok(ch) => ch,
        Err(e) => return fail(&e),
    };
    let asked = ids.clone();
    let outcome = match call::<AxiApi>(&mut ch, 1, AxiRequest::SoftwareUpdate(ids)).await {
        Ok(AxiResponse::Updated(o)) => o,
        Ok(other) => return fail(&format!("unexpected answer {other:?}")),
        Err(e) => return fail(&e),
    };
    let mut code = 0;
    for (id, error) in outcome {
        match error {
            None => println!("OMM {id}: told to fetch its configuration"),
            Some(why) => code = fail(&format!("OMM {id}: {why}")),
        }
    }
    if code == 0 {
        // "Update OMM" is no store write: its entry is appended as it is.
        let entry = audit_of("SoftwareUpdate", format!("{asked:?}"));
        if let Ok(client) = client::store(store).await {
            if let Err(e) = client.append_audit(entry).await {
                eprintln!("sip-dect-mom: warning: the audit trail could not record it: {e}");
            }
        }
    }
    code
}
