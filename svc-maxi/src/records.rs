//! Users and devices as MAXI shows and takes them (profile §9): the MOM's own ids (`uid`,
//! `ppn`), the OMM as `ommId` (a user's home, a device's location), and compact records that
//! strict client libraries read unchanged.
//!
//! - Out: attributes with an empty value are left out (absent means empty), and so are
//!   `altDisplayNum`, `pickupGroupNum` and `sipProfileId` while unset: the PyPI library
//!   mitel-ommclient2 0.0.1 stops at attribute names it does not know, and these are newer
//!   than it (axi-reference.md §5). The MOM's own `ommId` goes only to a client that asked
//!   for the MOM's extensions (`Open … momExtensions="1"`, profile §9 1.2). Secrets (`pin`, `sipPw`, ...) go out only to a
//!   client that announced its key (`SetMOMKey`, as the MOM does on an OMM link), encrypted
//!   with it; to any other client, and in events, they are left out.
//! - In: a record changes only the attributes it carries. Secrets must come encrypted with
//!   the key of `GetPublicKey`; one that does not decrypt is refused (`EInval bad`). Ids and
//!   the binding change only through `SetPP` (`EInval bad` otherwise).

use crate::refusal::Refusal;
use axi::convert::{
    device_from_axi, device_to_axi, set_user_secret, user_from_axi, user_secret, user_to_axi,
    USER_SECRETS,
};
use axi::record::AxiRecord;
use axi::{PpDev, PpUser};
use model::{Device, RelType, User};
use rsa::{RsaPrivateKey, RsaPublicKey};

/// Attributes left out while unset (newer than strict client libraries).
const NEWER: [&str; 4] = ["ommId", "altDisplayNum", "pickupGroupNum", "sipProfileId"];

/// The MOM's extensions (profile §9 1.2): only for clients that asked for them.
const EXTENSIONS: [&str; 1] = ["ommId"];

/// Attributes a record never changes through `SetPPUser`/`SetPPDev`/`Create…`.
const IDS_AND_BINDING: [&str; 4] = ["uid", "ppn", "relType", "ommId"];

fn rel_type(r: RelType) -> &'static str {
    match r {
        RelType::Unbound => "Unbound",
        RelType::Dynamic => "Dynamic",
        RelType::Fixed => "Fixed",
    }
}

fn compact<R: AxiRecord>(rec: &mut R, extensions: bool) {
    rec.attrs_mut().retain(|(k, v)| {
        let name: &str = k.as_ref();
        !(v.is_empty()
            || (NEWER.contains(&name) && v.as_ref() as &str == "0")
            || (!extensions && EXTENSIONS.contains(&name)))
    });
}

/// The `<user>` of `user` for a client; its secrets encrypted for `client_key`, or left out;
/// the MOM's extensions only with `extensions`.
#[must_use]
pub fn user_out(user: &User, client_key: Option<&RsaPublicKey>, extensions: bool) -> PpUser {
    let mut rec = PpUser::default();
    rec.set_raw("uid", user.uid.to_string());
    rec.set_raw("ppn", user.ppn.to_string());
    rec.set_raw("relType", rel_type(user.rel_type));
    for (k, v) in &user_to_axi(user).attrs {
        rec.set_raw(k, v.to_string());
    }
    rec.set_raw("ommId", user.home_omm.to_string());
    if let Some(key) = client_key {
        for name in USER_SECRETS {
            let plain = user_secret(user, name);
            if !plain.is_empty() {
                // A secret too long for the client's key stays out rather than going plain.
                if let Ok(cipher) = axi::secret::encrypt(key, plain) {
                    rec.set_raw(name, cipher);
                }
            }
        }
    }
    compact(&mut rec, extensions);
    rec
}

/// The `<pp>` of `device` for a client; the MOM's extensions only with `extensions`.
#[must_use]
pub fn device_out(device: &Device, extensions: bool) -> PpDev {
    let mut rec = PpDev::default();
    rec.set_raw("ppn", device.ppn.to_string());
    rec.set_raw("uid", device.uid.to_string());
    rec.set_raw("relType", rel_type(device.rel_type));
    for (k, v) in &device_to_axi(device).attrs {
        rec.set_raw(k, v.to_string());
    }
    for (name, value) in [
        ("timeStampRelation", device.timestamp_relation),
        ("timeStampRoaming", device.timestamp_roaming),
        ("timeStampSubscription", device.timestamp_subscription),
    ] {
        rec.set_raw(name, value.to_string());
    }
    rec.set_raw("ommId", device.location.to_string());
    compact(&mut rec, extensions);
    rec
}

/// The OMM a record names with `ommId`, if it names one.
///
/// # Errors
/// `EInval bad="ommId"` when it is not a number.
pub fn omm_of<R: AxiRecord>(rec: &R) -> Result<Option<u32>, Refusal> {
    rec.raw("ommId")
        .map(|v| {
            v.parse()
                .map_err(|_| Refusal::inval("ommId", "ommId must be an OMM id (a number)"))
        })
        .transpose()
}

/// Refuses a change of `uid`, `ppn` or `relType` of a record whose stored values are these.
fn check_binding<R: AxiRecord>(rec: &R, uid: u32, ppn: u32, rel: RelType) -> Result<(), Refusal> {
    for (name, now) in [
        ("uid", uid.to_string()),
        ("ppn", ppn.to_string()),
        ("relType", rel_type(rel).to_owned()),
    ] {
        if rec.raw(name).is_some_and(|v| v != now) {
            return Err(Refusal::inval(
                name,
                "ids and the binding change only through SetPP (and SetPPUserDevRelation)",
            ));
        }
    }
    Ok(())
}

/// `current` with the attributes of `rec` over it; the secrets decrypted with `key`.
/// `timeStamp` and `timeStampAdmin` are `now` unless the record gives them.
///
/// # Errors
/// `EInval bad` for a secret that does not decrypt, or an id or binding change.
pub fn user_in(
    current: &User,
    rec: &PpUser,
    key: &RsaPrivateKey,
    now: u64,
) -> Result<User, Refusal> {
    if current.uid != 0 {
        check_binding(rec, current.uid, current.ppn, current.rel_type)?;
    }
    let mut merged = user_to_axi(current);
    merged.set_raw("timeStamp", now.to_string());
    merged.set_raw("timeStampAdmin", now.to_string());
    for (k, v) in &rec.attrs {
        if !IDS_AND_BINDING.contains(&k.as_ref()) && !USER_SECRETS.contains(&k.as_ref()) {
            merged.set_raw(k, v.to_string());
        }
    }
    let mut user = current.clone();
    user_from_axi(&mut user, &merged);
    user.timestamp_relation = current.timestamp_relation;
    for name in USER_SECRETS {
        match rec.raw(name) {
            None => {}
            Some("") => set_user_secret(&mut user, name, String::new()),
            Some(cipher) => {
                let plain = axi::secret::decrypt(key, cipher).map_err(|_| {
                    Refusal::inval(
                        name,
                        "secrets must be encrypted with the key of GetPublicKey (RSA PKCS#1 v1.5, base64)",
                    )
                })?;
                set_user_secret(&mut user, name, plain);
            }
        }
    }
    if let Some(omm) = omm_of(rec)? {
        user.home_omm = omm;
    }
    Ok(user)
}

/// `current` with the attributes of `rec` over it (see [`user_in`]).
///
/// # Errors
/// `EInval bad` for an id or binding change.
pub fn device_in(current: &Device, rec: &PpDev, now: u64) -> Result<Device, Refusal> {
    if current.ppn != 0 {
        check_binding(rec, current.uid, current.ppn, current.rel_type)?;
    }
    let mut merged = device_to_axi(current);
    merged.set_raw("timeStamp", now.to_string());
    merged.set_raw("timeStampAdmin", now.to_string());
    for (name, value) in [
        ("timeStampRelation", current.timestamp_relation),
        ("timeStampRoaming", current.timestamp_roaming),
        ("timeStampSubscription", current.timestamp_subscription),
    ] {
        merged.set_raw(name, value.to_string());
    }
    for (k, v) in &rec.attrs {
        if !IDS_AND_BINDING.contains(&k.as_ref()) {
            merged.set_raw(k, v.to_string());
        }
    }
    let mut device = current.clone();
    device_from_axi(&mut device, &merged);
    if let Some(omm) = omm_of(rec)? {
        device.location = omm;
    }
    Ok(device)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key() -> RsaPrivateKey {
        axi::secret::generate(1024).unwrap()
    }

    #[test]
    fn records_go_out_with_mom_ids_and_nothing_a_strict_client_does_not_know() {
        let user = User {
            uid: 7,
            num: "1000".into(),
            name: "Ward 3".into(),
            pin: "1234".into(),
            ..User::default()
        };
        let rec = user_out(&user, None, false);
        assert_eq!(rec.raw("uid"), Some("7"));
        assert_eq!(rec.raw("relType"), Some("Unbound"));
        for absent in [
            "pin",
            "ommId",
            "altDisplayNum",
            "sipProfileId",
            "hierarchy1",
        ] {
            assert_eq!(rec.raw(absent), None, "{absent}");
        }
        let client = key();
        let with_key = user_out(&user, Some(&client.to_public_key()), false);
        let cipher = with_key.raw("pin").expect("pin for a client with a key");
        assert_eq!(axi::secret::decrypt(&client, cipher).unwrap(), "1234");
        let device = Device {
            ppn: 3,
            location: 2,
            ..Device::new(model::Ipei::new(2, 5).unwrap())
        };
        let pp = device_out(&device, false);
        assert_eq!((pp.raw("ppn"), pp.raw("ommId")), (Some("3"), None));
        // A client that asked for the MOM's extensions gets the OMM a record lives at.
        let pp = device_out(&device, true);
        assert_eq!((pp.raw("ppn"), pp.raw("ommId")), (Some("3"), Some("2")));
        let at_omm = User {
            home_omm: 4,
            ..user.clone()
        };
        assert_eq!(user_out(&at_omm, None, false).raw("ommId"), None);
        assert_eq!(user_out(&at_omm, None, true).raw("ommId"), Some("4"));
    }

    #[test]
    fn a_record_changes_only_what_it_carries_and_secrets_must_be_encrypted() {
        let key = key();
        let current = User {
            uid: 7,
            num: "1000".into(),
            name: "old".into(),
            sip_pw: "keep".into(),
            home_omm: 2,
            ..User::default()
        };
        let mut rec = PpUser::default();
        rec.set_raw("uid", "7");
        rec.set_raw("name", "new");
        rec.set_raw(
            "pin",
            axi::secret::encrypt(&key.to_public_key(), "4321").unwrap(),
        );
        let user = user_in(&current, &rec, &key, 1_800_000_000).unwrap();
        assert_eq!(
            (
                user.name.as_str(),
                user.num.as_str(),
                user.pin.as_str(),
                user.sip_pw.as_str()
            ),
            ("new", "1000", "4321", "keep")
        );
        assert_eq!((user.home_omm, user.timestamp), (2, 1_800_000_000));

        rec.set_raw("pin", "4321");
        let plain = user_in(&current, &rec, &key, 1).unwrap_err();
        assert_eq!(
            (plain.code.as_str(), plain.bad.as_deref()),
            ("EInval", Some("pin"))
        );

        let mut rebind = PpUser::default();
        rebind.set_raw("uid", "7");
        rebind.set_raw("ppn", "9");
        let e = user_in(&current, &rebind, &key, 1).unwrap_err();
        assert_eq!(e.bad.as_deref(), Some("ppn"));
    }
}
