//! Users and DECT phones over MAXI (profile §9): paging, lookups by number and IPEI, create,
//! set and delete of users and devices, binding with `SetPP`, and the relation type. Every
//! write goes through the store's rules, so it is refused for the same reasons as in the
//! web API, and reaches the OMMs through svc-axi like any change made at the MOM. Each
//! accepted write is added to the audit trail.

use crate::audit;
use crate::caller::Caller;
use crate::records::{device_in, device_out, user_in, user_out};
use crate::refusal::Refusal;
use crate::service::Service;
use axi::message::{
    CreatePPDevResp, CreatePPUserResp, DeletePPDevResp, DeletePPUserResp, GetPPDevByIPEIResp,
    GetPPDevResp, GetPPUserByNumberResp, GetPPUserResp, SetPPDevResp, SetPPResp,
    SetPPUserDevRelationResp, SetPPUserResp,
};
use axi::record::AxiRecord;
use axi::{ErrCode, Message, PpDev, PpUser};
use ipc::api::store::StoreError;
use model::{Device, Entity, Filter, FilterOp, Query, RelType, SortDirection, User};

/// Records per page at most (as an OMM pages).
const PAGE: u32 = 20;

/// A record that must exist: a missing one refused as the store's "not found" is.
fn must<T>(found: Option<T>, entity: Entity, id: u32) -> Result<T, Refusal> {
    found.ok_or_else(|| StoreError::NotFound { entity, id }.into())
}

async fn user(service: &Service, uid: u32) -> Result<User, Refusal> {
    must(service.store.user(uid).await?, Entity::User, uid)
}

async fn device(service: &Service, ppn: u32) -> Result<Device, Refusal> {
    must(service.store.device(ppn).await?, Entity::Device, ppn)
}

/// The page query from id `from` on: ids ≥ `from`, in id order.
fn page_query(id_column: &str, from: u32, max_records: Option<u32>) -> Query {
    Query {
        filters: if from == 0 {
            Vec::new()
        } else {
            vec![Filter {
                column: id_column.into(),
                op: FilterOp::Greater,
                value: (from - 1).to_string(),
            }]
        },
        sort_column: String::new(),
        sort: SortDirection::None,
        offset: 0,
        limit: max_records.unwrap_or(1).clamp(1, PAGE),
    }
}

/// `GetPPUser uid maxRecords`: the users with `uid` ≥ the given one; `ENoEnt` past the end.
///
/// # Errors
/// `ENoEnt bad="uid"` when there are none.
pub async fn get_users(
    service: &Service,
    caller: &Caller,
    uid: u32,
    max_records: Option<u32>,
) -> Result<Message, Refusal> {
    let query = page_query("uid", uid, max_records);
    let page = service.store.query_users(query).await?;
    if page.items.is_empty() {
        return Err(Refusal::no_ent("uid", "no more users"));
    }
    let key = caller.client_key.as_ref();
    Ok(GetPPUserResp {
        users: page
            .items
            .iter()
            .map(|u| user_out(u, key, caller.extensions))
            .collect(),
    }
    .into())
}

/// `GetPPDev ppn maxRecords`, as [`get_users`].
///
/// # Errors
/// `ENoEnt bad="ppn"` when there are none.
pub async fn get_devices(
    service: &Service,
    caller: &Caller,
    ppn: u32,
    max_records: Option<u32>,
) -> Result<Message, Refusal> {
    let query = page_query("ppn", ppn, max_records);
    let page = service.store.query_devices(query).await?;
    if page.items.is_empty() {
        return Err(Refusal::no_ent("ppn", "no more devices"));
    }
    Ok(GetPPDevResp {
        devices: page
            .items
            .iter()
            .map(|d| device_out(d, caller.extensions))
            .collect(),
    }
    .into())
}

/// `GetPPUserByNumber num`.
///
/// # Errors
/// `ENoEnt bad="num"`.
pub async fn user_by_number(
    service: &Service,
    caller: &Caller,
    num: &str,
) -> Result<Message, Refusal> {
    match service.store.user_by_number(num).await? {
        Some(u) => Ok(GetPPUserByNumberResp {
            user: Some(user_out(&u, caller.client_key.as_ref(), caller.extensions)),
        }
        .into()),
        None => Err(Refusal::no_ent("num", "no user has this number")),
    }
}

/// `GetPPDevByIPEI ipei`.
///
/// # Errors
/// `ENoEnt bad="ipei"`.
pub async fn device_by_ipei(
    service: &Service,
    caller: &Caller,
    ipei: model::Ipei,
) -> Result<Message, Refusal> {
    match service.store.device_by_ipei(ipei).await? {
        Some(d) => Ok(GetPPDevByIPEIResp {
            pp: Some(device_out(&d, caller.extensions)),
        }
        .into()),
        None => Err(Refusal::no_ent("ipei", "no device has this IPEI")),
    }
}

/// Refuses an `ommId` that names no OMM record.
async fn check_omm(service: &Service, omm: u32) -> Result<(), Refusal> {
    if omm == 0 {
        return Ok(());
    }
    match service.store.omm(omm).await {
        Ok(Some(_)) => Ok(()),
        Ok(None) | Err(_) => Err(Refusal::no_ent("ommId", format!("there is no OMM {omm}"))),
    }
}

/// The id a record names with attribute `name`.
fn id_of<R: AxiRecord>(rec: &R, name: &str) -> Result<u32, Refusal> {
    let text = rec.raw(name).ok_or_else(|| {
        Refusal::new(ErrCode::EMissing, format!("the record needs {name}")).bad(name)
    })?;
    text.parse()
        .map_err(|_| Refusal::inval(name, format!("{name} must be a number")))
}

/// `CreatePPUser`: a new unbound user; its `uid` is assigned.
///
/// # Errors
/// The store's refusal (`EExist bad="num"`, `EInval bad`, ...).
pub async fn create_user(
    service: &Service,
    caller: &Caller,
    rec: &PpUser,
) -> Result<Message, Refusal> {
    let mut new = user_in(&User::default(), rec, &service.key, model::now())?;
    new.uid = 0;
    check_omm(service, new.home_omm).await?;
    let uid = audit::store(service, caller, "users.create")
        .put_user(new)
        .await?;
    let after = user(service, uid).await?;
    Ok(CreatePPUserResp {
        user: Some(user_out(
            &after,
            caller.client_key.as_ref(),
            caller.extensions,
        )),
    }
    .into())
}

/// `SetPPUser`: changes the attributes the record carries.
///
/// # Errors
/// `ENoEnt bad="uid"`, the store's refusal, `EInval bad` for a binding change.
pub async fn set_user(
    service: &Service,
    caller: &Caller,
    rec: &PpUser,
) -> Result<Message, Refusal> {
    let uid = id_of(rec, "uid")?;
    let before = user(service, uid).await?;
    let edited = user_in(&before, rec, &service.key, model::now())?;
    if edited.home_omm != before.home_omm {
        check_omm(service, edited.home_omm).await?;
    }
    audit::store(service, caller, "users.edit")
        .put_user(edited)
        .await?;
    let after = user(service, uid).await?;
    Ok(SetPPUserResp {
        user: Some(user_out(
            &after,
            caller.client_key.as_ref(),
            caller.extensions,
        )),
    }
    .into())
}

/// `DeletePPUser uid`.
///
/// # Errors
/// `ENoEnt bad="uid"`.
pub async fn delete_user(service: &Service, caller: &Caller, uid: u32) -> Result<Message, Refusal> {
    audit::store(service, caller, "users.delete")
        .delete_user(uid)
        .await?;
    Ok(DeletePPUserResp { uid: Some(uid) }.into())
}

/// `CreatePPDev`: a new unbound device (`ipei` required); its `ppn` is assigned.
///
/// # Errors
/// `EMissing bad="ipei"`, the store's refusal (`EExist bad="ipei"`, ...).
pub async fn create_device(
    service: &Service,
    caller: &Caller,
    rec: &PpDev,
) -> Result<Message, Refusal> {
    let Some(ipei) = rec.get(PpDev::IPEI) else {
        return Err(Refusal::new(ErrCode::EMissing, "a device needs its ipei").bad("ipei"));
    };
    let mut new = device_in(&Device::new(ipei), rec, model::now())?;
    new.ppn = 0;
    check_omm(service, new.location).await?;
    let ppn = audit::store(service, caller, "devices.create")
        .put_device(new)
        .await?;
    let after = device(service, ppn).await?;
    Ok(CreatePPDevResp {
        pp: Some(device_out(&after, caller.extensions)),
    }
    .into())
}

/// `SetPPDev`: changes the attributes the record carries.
///
/// # Errors
/// `ENoEnt bad="ppn"`, the store's refusal, `EInval bad` for a binding change.
pub async fn set_device(
    service: &Service,
    caller: &Caller,
    rec: &PpDev,
) -> Result<Message, Refusal> {
    let ppn = id_of(rec, "ppn")?;
    let before = device(service, ppn).await?;
    let edited = device_in(&before, rec, model::now())?;
    if edited.location != before.location {
        check_omm(service, edited.location).await?;
    }
    audit::store(service, caller, "devices.edit")
        .put_device(edited)
        .await?;
    let after = device(service, ppn).await?;
    Ok(SetPPDevResp {
        pp: Some(device_out(&after, caller.extensions)),
    }
    .into())
}

/// `DeletePPDev ppn`.
///
/// # Errors
/// `ENoEnt bad="ppn"`.
pub async fn delete_device(
    service: &Service,
    caller: &Caller,
    ppn: u32,
) -> Result<Message, Refusal> {
    audit::store(service, caller, "devices.delete")
        .delete_device(ppn)
        .await?;
    Ok(DeletePPDevResp { ppn: Some(ppn) }.into())
}

/// `SetPP`: binds (crossed ids, the same relation type Dynamic or Fixed on both children)
/// or unbinds (`ppn="0"`/`uid="0"`, `Unbound`); answers both records.
///
/// # Errors
/// `EMissing`/`EInval bad` for a malformed pair; the store's refusal.
pub async fn set_pp(
    service: &Service,
    caller: &Caller,
    user_rec: Option<&PpUser>,
    pp_rec: Option<&PpDev>,
) -> Result<Message, Refusal> {
    let (Some(u), Some(d)) = (user_rec, pp_rec) else {
        return Err(
            Refusal::new(ErrCode::EMissing, "SetPP needs a user and a pp child")
                .bad(if user_rec.is_none() { "user" } else { "pp" }),
        );
    };
    let uid = id_of(u, "uid")?;
    let user_ppn = id_of(u, "ppn")?;
    let ppn = id_of(d, "ppn")?;
    let pp_uid = id_of(d, "uid")?;
    let rel = |r: Option<RelType>, bad: &str| {
        r.ok_or_else(|| {
            Refusal::new(ErrCode::EMissing, "relType is needed on both children").bad(bad)
        })
    };
    let user_rel = rel(u.get(PpUser::REL_TYPE), "relType")?;
    let pp_rel = rel(d.get(PpDev::REL_TYPE), "relType")?;
    let before = (
        user(service, uid).await.ok(),
        device(service, ppn).await.ok(),
    );
    // The relation to bind with, or `None` to unbind.
    let (action, bind) = match (user_ppn, pp_uid, user_rel, pp_rel) {
        (0, 0, RelType::Unbound, RelType::Unbound) => {
            // The user's side decides: unbinding a user that is bound to another device is
            // not what was asked.
            let bound_to = before.0.as_ref().map_or(0, |x| x.ppn);
            if bound_to != 0 && ppn != 0 && bound_to != ppn {
                return Err(Refusal::inval("ppn", format!("user {uid} is bound to device {bound_to}, not {ppn}")));
            }
            ("relations.unbind", None)
        }
        (p, u2, a, b) if p == ppn && u2 == uid && a == b && a != RelType::Unbound => {
            ("relations.bind", Some(a))
        }
        _ => {
            return Err(Refusal::inval(
                "relType",
                "a bind needs crossed ids and the same relType (Dynamic or Fixed) on both children; an unbind ids 0 and Unbound",
            ))
        }
    };
    let store = audit::store(service, caller, action);
    match bind {
        Some(rel_type) => store.bind(uid, ppn, rel_type).await?,
        None => store.unbind(uid).await?,
    }
    let after = (user(service, uid).await?, device(service, ppn).await?);
    Ok(SetPPResp {
        user: Some(user_out(
            &after.0,
            caller.client_key.as_ref(),
            caller.extensions,
        )),
        pp: Some(device_out(&after.1, caller.extensions)),
    }
    .into())
}

/// `SetPPUserDevRelation uid relType`: Dynamic ↔ Fixed of a bound user.
///
/// # Errors
/// `ENoEnt bad="uid"`, the store's refusal (`EInval bad="relType"`).
pub async fn set_relation(
    service: &Service,
    caller: &Caller,
    uid: u32,
    rel_type: RelType,
) -> Result<Message, Refusal> {
    audit::store(service, caller, "relations.type")
        .change_relation_type(uid, rel_type)
        .await?;
    let after = user(service, uid).await?;
    Ok(SetPPUserDevRelationResp {
        uid: Some(uid),
        rel_type: Some(after.rel_type),
    }
    .into())
}
