//! `sip-dect-mom user ...`: the "Users" pane for scripts. Lists page through every record
//! (`--offset`, `--all`); `user edit --set` changes any attribute an OMM's own pages offer, by
//! its AXI name, typed and checked by svc-axi (which holds the AXI schema) as an OMM checks it.

use crate::client::{call, connect, fail, json, store, why, why_write, write};
use crate::pages::{paged, Pages};
use clap::Subcommand;
use ipc::api::axi::{AxiApi, AxiRequest, AxiResponse};
use model::{Device, Filter, FilterOp, Ipei, Query, SortDirection, User};
use std::path::Path;

/// `sip-dect-mom user ...`
#[derive(Debug, Subcommand)]
pub enum UserAction {
    /// List users with their location (home OMM).
    List {
        /// Only users whose number starts with this.
        #[arg(long)]
        number: Option<String>,
        /// Which rows.
        #[command(flatten)]
        pages: Pages,
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
        /// Any other attribute by its AXI name, as an OMM's pages offer it (repeatable):
        /// `--set pin=1234 --set sipAuthId=alice --set sipPw=secret --set sosNum=112`.
        #[arg(long = "set", value_name = "ATTRIBUTE=VALUE")]
        set: Vec<String>,
    },
    /// Delete a user (its handset is unbound).
    Delete {
        /// User id.
        uid: u32,
    },
}

/// Runs a `user` subcommand.
pub async fn user(socket: &Path, axi_socket: &Path, action: &UserAction) -> i32 {
    match action {
        UserAction::List {
            number,
            pages,
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
                ..Query::default()
            };
            let found = paged(socket, pages, query, |store, q| {
                Box::pin(store.query_users(q))
            })
            .await;
            match found {
                Ok((items, _)) if *as_json => json(&items),
                Ok((items, total)) => {
                    println!(
                        "{:>6} {:<12} {:<24} {:>5} {:>6} {:<8} PERMANENT",
                        "UID", "NUMBER", "NAME", "OMM", "PPN", "RELTYPE"
                    );
                    for u in &items {
                        println!(
                            "{:>6} {:<12} {:<24} {:>5} {:>6} {:<8} {}",
                            u.uid,
                            model::printable(&u.num),
                            model::printable(&u.name),
                            u.home_omm,
                            u.ppn,
                            format!("{:?}", u.rel_type),
                            u.permanent
                        );
                    }
                    println!("{} of {total} users", items.len());
                    0
                }
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
            let device = match ipei.as_deref().map(Ipei::parse).transpose() {
                Ok(ipei) => ipei.map(|ipei| Device {
                    location: *omm,
                    timestamp: model::now(),
                    ..Device::new(ipei)
                }),
                Err(e) => return fail(&format!("invalid IPEI: {e}")),
            };
            let store = match store(socket).await {
                Ok(store) => store,
                Err(e) => return fail(&e),
            };
            match device {
                Some(device) => match store.create_fixed(user, device).await {
                    Ok((uid, ppn)) => {
                        println!("user {uid} and handset {ppn} created, bound Fixed");
                        0
                    }
                    Err(e) => fail(&why_write(e)),
                },
                None => match store.put_user(user).await {
                    Ok(uid) => {
                        println!("user {uid} created");
                        0
                    }
                    Err(e) => fail(&why_write(e)),
                },
            }
        }
        UserAction::Edit {
            uid,
            name,
            num,
            set,
        } => {
            let store = match store(socket).await {
                Ok(store) => store,
                Err(e) => return fail(&e),
            };
            let mut user = match store.user(*uid).await {
                Ok(Some(u)) => u,
                Ok(None) => {
                    let missing = ipc::api::store::StoreError::NotFound {
                        entity: model::Entity::User,
                        id: *uid,
                    };
                    return fail(&missing.to_string());
                }
                Err(e) => return fail(&why(e)),
            };
            if let Some(n) = name {
                user.name.clone_from(n);
            }
            if let Some(n) = num {
                user.num.clone_from(n);
            }
            if !set.is_empty() {
                user = match set_attributes(axi_socket, user, set).await {
                    Ok(user) => user,
                    Err(e) => return fail(&e),
                };
            }
            user.timestamp = model::now();
            user.timestamp_admin = user.timestamp;
            match store.put_user(user).await {
                Ok(_) => {
                    println!("user {uid} saved");
                    0
                }
                Err(e) => fail(&why_write(e)),
            }
        }
        UserAction::Delete { uid } => {
            let id = *uid;
            write(
                socket,
                |store| Box::pin(async move { store.delete_user(id).await }),
                |()| format!("user {uid} deleted"),
            )
            .await
        }
    }
}

/// `--set ATTRIBUTE=VALUE` pairs applied to `user` by svc-axi, which types and checks each
/// as an OMM does; the record comes back unsaved.
async fn set_attributes(axi_socket: &Path, user: User, sets: &[String]) -> Result<User, String> {
    let attributes = sets
        .iter()
        .map(|pair| {
            pair.split_once('=')
                .map(|(name, value)| (name.to_owned(), value.to_owned()))
                .ok_or_else(|| format!("--set {pair:?}: give ATTRIBUTE=VALUE"))
        })
        .collect::<Result<Vec<_>, _>>()?;
    let mut axi = connect::<AxiApi>(axi_socket).await?;
    let request = AxiRequest::SetUserAttributes {
        user: Box::new(user),
        attributes,
    };
    match call::<AxiApi>(&mut axi, 1, request).await? {
        AxiResponse::User(user) => Ok(*user),
        AxiResponse::Error(why) => Err(format!("--set {why}")),
        other => Err(format!("unexpected answer from svc-axi: {other:?}")),
    }
}
