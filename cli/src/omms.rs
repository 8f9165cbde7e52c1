//! `sip-dect-mom omm ...`: the "OMMs" pane for scripts (`omm update` is in
//! [`crate::provisioning`]). Every refused change prints the store's reason and exits 1;
//! `--json` prints machine-readable output.

use crate::client::{fail, json, store, why, why_write};
use clap::{Subcommand, ValueEnum};
use model::Omm;
use std::path::Path;

/// `sip-dect-mom omm ...`
#[derive(Debug, Subcommand)]
pub enum OmmAction {
    /// List the OMM records with their link state.
    List {
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Add an OMM record.
    Add {
        /// Site name.
        #[arg(long)]
        name: String,
        /// Address of OMM 1 (`host` or `host:port`; port 12622 by default).
        #[arg(long)]
        omm1: String,
        /// Address of OMM 2.
        #[arg(long, default_value = "")]
        omm2: String,
        /// Login user on the OMM.
        #[arg(long)]
        user: String,
        /// Login password on the OMM.
        #[arg(long)]
        password: String,
        /// Description.
        #[arg(long, default_value = "")]
        description: String,
        /// Add it disabled.
        #[arg(long)]
        disabled: bool,
    },
    /// Change an OMM record.
    Edit {
        /// OMM id.
        id: u32,
        /// New name.
        #[arg(long)]
        name: Option<String>,
        /// New OMM 1 address.
        #[arg(long)]
        omm1: Option<String>,
        /// New OMM 2 address.
        #[arg(long)]
        omm2: Option<String>,
        /// New login user.
        #[arg(long)]
        user: Option<String>,
        /// New login password.
        #[arg(long)]
        password: Option<String>,
    },
    /// Enable an OMM record (the MOM links to it).
    Enable {
        /// OMM id.
        id: u32,
    },
    /// Disable an OMM record (the MOM drops its link).
    Disable {
        /// OMM id.
        id: u32,
    },
    /// Delete an OMM record.
    Delete {
        /// OMM id.
        id: u32,
    },
    /// "Update OMM": tell these OMMs (or every provisioned one) to fetch their configuration
    /// now; the fetch is recorded with each OMM (see `provisioning preview`).
    Update {
        /// OMM ids.
        #[arg(required_unless_present = "all", conflicts_with = "all")]
        ids: Vec<u32>,
        /// Every OMM with Provisioning enabled.
        #[arg(long)]
        all: bool,
    },
}

/// Subscription modes as the admin guide names them.
#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum Mode {
    /// Subscription is disabled.
    Off,
    /// Configured IPEIs (and auto-create) only.
    Subscription,
    /// Handsets without configured IPEIs (with an additional ID).
    Wildcard,
}

/// Every OMM record.
pub(crate) async fn omms(socket: &Path) -> Result<Vec<Omm>, String> {
    store(socket).await?.omms().await.map_err(why)
}

async fn put_omm(socket: &Path, omm: Omm) -> i32 {
    let saved = async { store(socket).await?.put_omm(omm).await.map_err(why_write) };
    match saved.await {
        Ok(id) => {
            println!("OMM {id} saved");
            0
        }
        Err(e) => fail(&e),
    }
}

/// Runs an `omm` subcommand.
pub async fn omm(socket: &Path, action: &OmmAction) -> i32 {
    match action {
        OmmAction::List { json: as_json } => match omms(socket).await {
            Ok(list) if *as_json => json(&list),
            Ok(list) => {
                println!(
                    "{:>4} {:<3} {:<20} {:<22} {:<14} {:<11} LAST ERROR",
                    "ID", "ON", "NAME", "OMM 1", "CLOUD-ID", "LINK"
                );
                for o in list {
                    println!(
                        "{:>4} {:<3} {:<20} {:<22} {:<14} {:<11} {}",
                        o.id,
                        if o.enabled { "yes" } else { "no" },
                        o.name,
                        o.omm1,
                        o.cloud_id,
                        format!("{:?}", o.health.link),
                        o.health.last_error
                    );
                }
                0
            }
            Err(e) => fail(&e),
        },
        OmmAction::Add {
            name,
            omm1,
            omm2,
            user,
            password,
            description,
            disabled,
        } => {
            let omm = Omm {
                enabled: !disabled,
                name: name.clone(),
                description: description.clone(),
                omm1: omm1.clone(),
                omm2: omm2.clone(),
                user: user.clone(),
                password: password.clone(),
                ..Omm::default()
            };
            put_omm(socket, omm).await
        }
        OmmAction::Edit {
            id,
            name,
            omm1,
            omm2,
            user,
            password,
        } => {
            let Some(mut omm) = omms(socket)
                .await
                .ok()
                .and_then(|l| l.into_iter().find(|o| o.id == *id))
            else {
                return fail(&format!("there is no OMM {id}"));
            };
            for (field, value) in [
                (&mut omm.name, name),
                (&mut omm.omm1, omm1),
                (&mut omm.omm2, omm2),
                (&mut omm.user, user),
                (&mut omm.password, password),
            ] {
                if let Some(v) = value {
                    field.clone_from(v);
                }
            }
            put_omm(socket, omm).await
        }
        OmmAction::Enable { id } | OmmAction::Disable { id } => {
            let Some(mut omm) = omms(socket)
                .await
                .ok()
                .and_then(|l| l.into_iter().find(|o| o.id == *id))
            else {
                return fail(&format!("there is no OMM {id}"));
            };
            omm.enabled = matches!(action, OmmAction::Enable { .. });
            put_omm(socket, omm).await
        }
        OmmAction::Update { .. } => fail("`omm update` is run by the CLI's entry point"),
        OmmAction::Delete { id } => match async {
            store(socket)
                .await?
                .delete_omm(*id)
                .await
                .map_err(why_write)
        }
        .await
        {
            Ok(()) => {
                println!("OMM {id} deleted");
                0
            }
            Err(e) => fail(&e),
        },
    }
}
