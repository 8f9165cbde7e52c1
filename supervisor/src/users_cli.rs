//! `sip-dect-mom user ...` and `sip-dect-mom device ...`: the "Users/DECT phones" pane for
//! scripts. Lists page through every record (`--offset`, `--all`); `user edit --set` changes
//! any attribute an OMM's own pages offer, by its AXI name, checked like an OMM record.

use crate::admin::{fail, json};
use crate::cli::{store, why, why_write};
use clap::Subcommand;
use ipc::store_client::{Result as Answer, Store};
use model::{Device, Filter, FilterOp, Ipei, Query, RelType, SortDirection, User};
use std::future::Future;
use std::path::Path;
use std::pin::Pin;

/// A page the store is asked for.
type PageFuture<'a, T> = Pin<Box<dyn Future<Output = Answer<model::Page<T>>> + Send + 'a>>;

/// One write to the store at `socket`: `said` of its answer printed when it is made (exit
/// 0), its failure in the CLI's words otherwise.
async fn write<T>(
    socket: &Path,
    f: impl FnOnce(Store) -> Pin<Box<dyn Future<Output = Answer<T>> + Send>>,
    said: impl FnOnce(T) -> String,
) -> i32 {
    let made = async { f(store(socket).await?).await.map_err(why_write) };
    match made.await {
        Ok(answer) => {
            println!("{}", said(answer));
            0
        }
        Err(e) => fail(&e),
    }
}

/// Which rows a list shows.
#[derive(Debug, Clone, clap::Args)]
pub struct Pages {
    /// Rows to skip.
    #[arg(long, default_value_t = 0)]
    offset: u32,
    /// Rows to show at most.
    #[arg(long, default_value_t = 100)]
    limit: u32,
    /// Every row from the offset on, page by page (no limit).
    #[arg(long, conflicts_with = "limit")]
    all: bool,
}

/// Reads the rows `pages` asks for, a store page (at most `model::MAX_PAGE`) at a time;
/// returns them with the total the store counts.
async fn paged<T>(
    socket: &Path,
    pages: &Pages,
    query: Query,
    page_of: for<'a> fn(&'a Store, Query) -> PageFuture<'a, T>,
) -> Result<(Vec<T>, u64), String> {
    let store = store(socket).await?;
    let wanted = if pages.all {
        u64::MAX
    } else {
        u64::from(pages.limit)
    };
    let mut out = Vec::new();
    let mut offset = pages.offset;
    loop {
        let left = wanted.saturating_sub(out.len() as u64);
        let limit = u32::try_from(left.min(u64::from(model::MAX_PAGE))).unwrap_or(model::MAX_PAGE);
        if limit == 0 {
            return Ok((out, u64::MAX));
        }
        let q = Query {
            offset,
            limit,
            ..query.clone()
        };
        let page = page_of(&store, q).await.map_err(why)?;
        let got = page.items.len();
        out.extend(page.items);
        offset = offset.saturating_add(u32::try_from(got).unwrap_or(u32::MAX));
        if got == 0 || out.len() as u64 >= wanted || u64::from(offset) >= page.total {
            return Ok((out, page.total));
        }
    }
}

/// Attributes `--set` leaves alone: ids, the binding (`user`/`device` bind commands do it)
/// and the stamps, which the MOM sets.
const NOT_SETTABLE: &[&str] = &[
    "uid",
    "ppn",
    "relType",
    "ppnOld",
    "uidSec",
    "deleted",
    "timeStamp",
    "timeStampAdmin",
    "timeStampRelation",
    "calculatedSipPort",
];

/// Applies `--set ATTRIBUTE=VALUE` pairs to `user`, each checked as an OMM checks it.
fn apply_sets(user: &mut User, sets: &[String]) -> Result<(), String> {
    use axi::record::AxiRecord;
    let mut rec = axi::convert::user_to_axi(user);
    let mut secrets = Vec::new();
    for pair in sets {
        let (name, value) = pair
            .split_once('=')
            .ok_or_else(|| format!("--set {pair:?}: give ATTRIBUTE=VALUE"))?;
        if NOT_SETTABLE.contains(&name) {
            return Err(format!("--set {name}: the MOM sets {name} itself"));
        }
        let Some((_, valid)) = axi::PpUser::SCHEMA.iter().find(|(n, _)| *n == name) else {
            return Err(format!(
                "--set {name}: not a user attribute (names as an OMM has them, such as pin, sipAuthId, sipPw, sosNum, hierarchy1)"
            ));
        };
        if !valid(value) {
            return Err(format!("--set {name}: {value:?} is not a valid value"));
        }
        if axi::convert::USER_SECRETS.contains(&name) {
            secrets.push((name, value.to_owned()));
        } else {
            rec.set_raw(name, value.to_owned());
        }
    }
    axi::convert::user_from_axi(user, &rec);
    for (name, value) in secrets {
        axi::convert::set_user_secret(user, name, value);
    }
    Ok(())
}

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

/// `sip-dect-mom device ...`
#[derive(Debug, Subcommand)]
pub enum DeviceAction {
    /// List handsets with their location.
    List {
        /// Which rows.
        #[command(flatten)]
        pages: Pages,
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

/// Runs a `user` subcommand.
pub async fn user(socket: &Path, action: &UserAction) -> i32 {
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
            if let Err(e) = apply_sets(&mut user, set) {
                return fail(&e);
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

/// Runs a `device` subcommand.
pub async fn device(socket: &Path, action: &DeviceAction) -> i32 {
    match action {
        DeviceAction::List {
            pages,
            json: as_json,
        } => {
            let found = paged(socket, pages, Query::default(), |store, q| {
                Box::pin(store.query_devices(q))
            })
            .await;
            match found {
                Ok((items, _)) if *as_json => json(&items),
                Ok((items, total)) => {
                    println!(
                        "{:>6} {:<16} {:>5} {:>6} {:<8} {:<12}",
                        "PPN", "IPEI", "OMM", "UID", "RELTYPE", "SUBSCRIBED"
                    );
                    for d in &items {
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
                    println!("{} of {total} handsets", items.len());
                    0
                }
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
            write(
                socket,
                |store| Box::pin(async move { store.put_device(device).await }),
                |ppn| format!("handset {ppn} created"),
            )
            .await
        }
        DeviceAction::Unsubscribe { ppn } => {
            let id = *ppn;
            write(
                socket,
                |store| Box::pin(async move { store.unsubscribe_device(id).await }),
                |()| format!("handset {ppn} unsubscribed and removed from its OMM"),
            )
            .await
        }
        DeviceAction::Delete { ppn } => {
            let id = *ppn;
            write(
                socket,
                |store| Box::pin(async move { store.delete_device(id).await }),
                |()| format!("handset {ppn} deleted"),
            )
            .await
        }
    }
}
