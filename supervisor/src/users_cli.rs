//! `sip-dect-mom user ...` and `sip-dect-mom device ...`: the "Users/DECT phones" pane for
//! scripts. Lists page through every record (`--offset`, `--all`); `user edit --set` changes
//! any attribute an OMM's own pages offer, by its AXI name, checked like an OMM record.

use crate::admin::{fail, json, request};
use clap::Subcommand;
use ipc::api::store::{StoreRequest, StoreResponse};
use model::{Device, Filter, FilterOp, Ipei, Query, RelType, SortDirection, User};
use std::path::Path;

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
    make: fn(Query) -> StoreRequest,
    take: fn(StoreResponse) -> Option<model::Page<T>>,
) -> Result<(Vec<T>, u64), String> {
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
        let answer = request(socket, make(q)).await?;
        let page = take(answer).ok_or("unexpected answer from the store")?;
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
            let found = paged(
                socket,
                pages,
                query,
                StoreRequest::QueryUsers,
                StoreResponse::into_users,
            )
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
        UserAction::Edit {
            uid,
            name,
            num,
            set,
        } => {
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
            if let Err(e) = apply_sets(&mut user, set) {
                return fail(&e);
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
            pages,
            json: as_json,
        } => {
            let found = paged(
                socket,
                pages,
                Query::default(),
                StoreRequest::QueryDevices,
                StoreResponse::into_devices,
            )
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
