//! Administrator subcommands on the MOM's records (OMMs, users, devices, settings), over the
//! store's socket: what the web UI will offer, for scripts and for the console. Every refused
//! change prints the store's reason and exits 1; `--json` prints machine-readable output.

use crate::cli::{call, connect};
use clap::{Subcommand, ValueEnum};
use ipc::api::store::{StoreApi, StoreRequest, StoreResponse};
use model::{
    Device, Filter, FilterOp, Ipei, Omm, Query, RelType, SortDirection, SubscriptionMode, User,
};
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
}

/// `sip-dect-mom user ...`
#[derive(Debug, Subcommand)]
pub enum UserAction {
    /// List users with their location (home OMM).
    List {
        /// Only users whose number starts with this.
        #[arg(long)]
        number: Option<String>,
        /// Rows to show at most.
        #[arg(long, default_value_t = 100)]
        limit: u32,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Add an unbound user, or a fixed user/device pair with `--ipei`.
    Add {
        /// Number / SIP user name.
        #[arg(long)]
        num: String,
        /// Display name.
        #[arg(long)]
        name: String,
        /// OMM where the records are created.
        #[arg(long, default_value_t = 0)]
        omm: u32,
        /// Deploy to every OMM.
        #[arg(long)]
        permanent: bool,
        /// IPEI of a handset bound to the user with relation Fixed.
        #[arg(long)]
        ipei: Option<String>,
    },
    /// Change a user's name or number.
    Edit {
        /// User id.
        uid: u32,
        /// New display name.
        #[arg(long)]
        name: Option<String>,
        /// New number.
        #[arg(long)]
        num: Option<String>,
    },
    /// Delete a user (its handset is unbound).
    Delete {
        /// User id.
        uid: u32,
    },
}

/// `sip-dect-mom device ...`
#[derive(Debug, Subcommand)]
pub enum DeviceAction {
    /// List handsets with their location.
    List {
        /// Rows to show at most.
        #[arg(long, default_value_t = 100)]
        limit: u32,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Add an unbound handset record.
    Add {
        /// IPEI (`EEEEE PPPPPPP C`).
        #[arg(long)]
        ipei: String,
        /// OMM where the record is created.
        #[arg(long, default_value_t = 0)]
        omm: u32,
    },
    /// Unsubscribe a handset (relation type Fixed only): removed from its OMM and the MOM.
    Unsubscribe {
        /// Handset id (PPN).
        ppn: u32,
    },
    /// Delete a handset record.
    Delete {
        /// Device id (ppn).
        ppn: u32,
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

/// `sip-dect-mom settings ...`
#[derive(Debug, Subcommand)]
pub enum SettingsAction {
    /// Show the system settings.
    Show {
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Change DECT settings; every connected OMM receives them.
    Set {
        /// Subscription mode.
        #[arg(long)]
        subscription: Option<Mode>,
        /// Auto-create a handset record on subscription.
        #[arg(long)]
        auto_create: Option<bool>,
        /// Global FAC prefix (empty removes it).
        #[arg(long)]
        fac_prefix: Option<String>,
        /// System name.
        #[arg(long)]
        system_name: Option<String>,
    },
}

pub(crate) fn fail(e: &str) -> i32 {
    eprintln!("sip-dect-mom: {e}");
    1
}

pub(crate) async fn request(socket: &Path, req: StoreRequest) -> Result<StoreResponse, String> {
    let mut ch = connect::<StoreApi>(socket).await?;
    match call::<StoreApi>(&mut ch, 1, req).await? {
        StoreResponse::Error(e) => Err(e.to_string()),
        other => Ok(other),
    }
}

pub(crate) fn json<T: serde::Serialize>(value: &T) -> i32 {
    match serde_json::to_string_pretty(value) {
        Ok(text) => {
            println!("{text}");
            0
        }
        Err(e) => fail(&e.to_string()),
    }
}

async fn omms(socket: &Path) -> Result<Vec<Omm>, String> {
    match request(socket, StoreRequest::ListOmms).await? {
        StoreResponse::Omms(o) => Ok(o),
        other => Err(format!("unexpected answer {other:?}")),
    }
}

async fn put_omm(socket: &Path, omm: Omm) -> i32 {
    match request(socket, StoreRequest::PutOmm(omm)).await {
        Ok(StoreResponse::Created(id)) => {
            println!("OMM {id} saved");
            0
        }
        Ok(other) => fail(&format!("unexpected answer {other:?}")),
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
        OmmAction::Delete { id } => match request(socket, StoreRequest::DeleteOmm(*id)).await {
            Ok(_) => {
                println!("OMM {id} deleted");
                0
            }
            Err(e) => fail(&e),
        },
    }
}

/// Runs a `user` subcommand.
pub async fn user(socket: &Path, action: &UserAction) -> i32 {
    match action {
        UserAction::List {
            number,
            limit,
            json: as_json,
        } => {
            let filters = number
                .iter()
                .map(|n| Filter {
                    column: "num".into(),
                    op: FilterOp::StartsWith,
                    value: n.clone(),
                })
                .collect();
            let query = Query {
                filters,
                sort_column: "num".into(),
                sort: SortDirection::Ascending,
                offset: 0,
                limit: *limit,
            };
            match request(socket, StoreRequest::QueryUsers(query)).await {
                Ok(StoreResponse::Users(page)) if *as_json => json(&page.items),
                Ok(StoreResponse::Users(page)) => {
                    println!(
                        "{:>6} {:<12} {:<24} {:>5} {:>6} {:<8} PERMANENT",
                        "UID", "NUMBER", "NAME", "OMM", "PPN", "RELTYPE"
                    );
                    for u in &page.items {
                        println!(
                            "{:>6} {:<12} {:<24} {:>5} {:>6} {:<8} {}",
                            u.uid,
                            u.num,
                            u.name,
                            u.home_omm,
                            u.ppn,
                            format!("{:?}", u.rel_type),
                            u.permanent
                        );
                    }
                    println!("{} of {} users", page.items.len(), page.total);
                    0
                }
                Ok(other) => fail(&format!("unexpected answer {other:?}")),
                Err(e) => fail(&e),
            }
        }
        UserAction::Add {
            num,
            name,
            omm,
            permanent,
            ipei,
        } => {
            let user = User {
                num: num.clone(),
                name: name.clone(),
                home_omm: *omm,
                permanent: *permanent,
                timestamp: model::now(),
                ..User::default()
            };
            let request_body = match ipei {
                Some(text) => match Ipei::parse(text) {
                    Ok(ipei) => StoreRequest::CreateFixed {
                        user,
                        device: Device {
                            location: *omm,
                            timestamp: model::now(),
                            ..Device::new(ipei)
                        },
                    },
                    Err(e) => return fail(&format!("invalid IPEI: {e}")),
                },
                None => StoreRequest::PutUser(user),
            };
            match request(socket, request_body).await {
                Ok(StoreResponse::Created(uid)) => {
                    println!("user {uid} created");
                    0
                }
                Ok(StoreResponse::CreatedFixed { uid, ppn }) => {
                    println!("user {uid} and handset {ppn} created, bound Fixed");
                    0
                }
                Ok(other) => fail(&format!("unexpected answer {other:?}")),
                Err(e) => fail(&e),
            }
        }
        UserAction::Edit { uid, name, num } => {
            let mut user = match request(socket, StoreRequest::GetUser(*uid)).await {
                Ok(StoreResponse::User(u)) => u,
                Ok(other) => return fail(&format!("unexpected answer {other:?}")),
                Err(e) => return fail(&e),
            };
            if let Some(n) = name {
                user.name.clone_from(n);
            }
            if let Some(n) = num {
                user.num.clone_from(n);
            }
            user.timestamp = model::now();
            user.timestamp_admin = user.timestamp;
            match request(socket, StoreRequest::PutUser(user)).await {
                Ok(_) => {
                    println!("user {uid} saved");
                    0
                }
                Err(e) => fail(&e),
            }
        }
        UserAction::Delete { uid } => match request(socket, StoreRequest::DeleteUser(*uid)).await {
            Ok(_) => {
                println!("user {uid} deleted");
                0
            }
            Err(e) => fail(&e),
        },
    }
}

/// Runs a `device` subcommand.
pub async fn device(socket: &Path, action: &DeviceAction) -> i32 {
    match action {
        DeviceAction::List {
            limit,
            json: as_json,
        } => {
            let query = Query {
                limit: *limit,
                ..Query::default()
            };
            match request(socket, StoreRequest::QueryDevices(query)).await {
                Ok(StoreResponse::Devices(page)) if *as_json => json(&page.items),
                Ok(StoreResponse::Devices(page)) => {
                    println!(
                        "{:>6} {:<16} {:>5} {:>6} {:<8} {:<12}",
                        "PPN", "IPEI", "OMM", "UID", "RELTYPE", "SUBSCRIBED"
                    );
                    for d in &page.items {
                        println!(
                            "{:>6} {:<16} {:>5} {:>6} {:<8} {:<12}",
                            d.ppn,
                            d.ipei.to_string(),
                            d.location,
                            d.uid,
                            format!("{:?}", d.rel_type),
                            format!("{:?}", d.s)
                        );
                    }
                    println!("{} of {} handsets", page.items.len(), page.total);
                    0
                }
                Ok(other) => fail(&format!("unexpected answer {other:?}")),
                Err(e) => fail(&e),
            }
        }
        DeviceAction::Add { ipei, omm } => {
            let ipei = match Ipei::parse(ipei) {
                Ok(i) => i,
                Err(e) => return fail(&format!("invalid IPEI: {e}")),
            };
            let device = Device {
                location: *omm,
                rel_type: RelType::Unbound,
                timestamp: model::now(),
                ..Device::new(ipei)
            };
            match request(socket, StoreRequest::PutDevice(device)).await {
                Ok(StoreResponse::Created(ppn)) => {
                    println!("handset {ppn} created");
                    0
                }
                Ok(other) => fail(&format!("unexpected answer {other:?}")),
                Err(e) => fail(&e),
            }
        }
        DeviceAction::Unsubscribe { ppn } => {
            match request(socket, StoreRequest::UnsubscribeDevice(*ppn)).await {
                Ok(_) => {
                    println!("handset {ppn} unsubscribed and removed from its OMM");
                    0
                }
                Err(e) => fail(&e),
            }
        }
        DeviceAction::Delete { ppn } => {
            match request(socket, StoreRequest::DeleteDevice(*ppn)).await {
                Ok(_) => {
                    println!("handset {ppn} deleted");
                    0
                }
                Err(e) => fail(&e),
            }
        }
    }
}

/// Runs a `settings` subcommand.
pub async fn settings(socket: &Path, action: &SettingsAction) -> i32 {
    let mut settings = match request(socket, StoreRequest::GetSettings).await {
        Ok(StoreResponse::Settings(s)) => s,
        Ok(other) => return fail(&format!("unexpected answer {other:?}")),
        Err(e) => return fail(&e),
    };
    match action {
        SettingsAction::Show { json: true } => json(&settings),
        SettingsAction::Show { json: false } => {
            println!("system name:   {}", settings.system_name);
            println!(
                "SARI:          {}",
                if settings.sari.is_empty() {
                    "(no license)"
                } else {
                    &settings.sari
                }
            );
            println!("subscription:  {:?}", settings.subscription_mode);
            println!("auto-create:   {}", settings.auto_create);
            println!("FAC prefix:    {}", settings.fac_prefix);
            0
        }
        SettingsAction::Set {
            subscription,
            auto_create,
            fac_prefix,
            system_name,
        } => {
            if let Some(mode) = subscription {
                settings.subscription_mode = match mode {
                    Mode::Off => SubscriptionMode::Off,
                    Mode::Subscription => SubscriptionMode::Subscription,
                    Mode::Wildcard => SubscriptionMode::Wildcard,
                };
            }
            if let Some(a) = auto_create {
                settings.auto_create = *a;
            }
            if let Some(p) = fac_prefix {
                settings.fac_prefix.clone_from(p);
            }
            if let Some(n) = system_name {
                settings.system_name.clone_from(n);
            }
            match request(socket, StoreRequest::PutSettings(settings)).await {
                Ok(_) => {
                    println!("settings saved; connected OMMs receive them now");
                    0
                }
                Err(e) => fail(&e),
            }
        }
    }
}
