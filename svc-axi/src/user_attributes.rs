//! A user's attributes set by the names an OMM gives them (`pin`, `sipAuthId`, `sosNum`, …),
//! each value checked as an OMM checks it: the admin CLI's `user edit --set`. The typing
//! lives here, where the AXI schema is, so the privileged CLI parses no AXI.

use axi::record::AxiRecord;
use model::User;

/// Attributes that cannot be set by name: ids, the binding (the `user`/`device` bind
/// commands make it) and the stamps, which the MOM sets.
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

/// Applies `(attribute, value)` pairs to `user`. An error names the attribute and says why
/// (`sosNum: …`); nothing is applied then.
pub fn apply(user: &mut User, attributes: &[(String, String)]) -> Result<(), String> {
    let mut rec = axi::convert::user_to_axi(user);
    let mut secrets = Vec::new();
    for (name, value) in attributes {
        let name = name.as_str();
        if NOT_SETTABLE.contains(&name) {
            return Err(format!("{name}: the MOM sets {name} itself"));
        }
        let Some((_, valid)) = axi::PpUser::SCHEMA.iter().find(|(n, _)| *n == name) else {
            return Err(format!(
                "{name}: not a user attribute (names as an OMM has them, such as pin, sipAuthId, sipPw, sosNum, hierarchy1)"
            ));
        };
        if !valid(value) {
            return Err(format!("{name}: {value:?} is not a valid value"));
        }
        if axi::convert::USER_SECRETS.contains(&name) {
            secrets.push((name, value.clone()));
        } else {
            rec.set_raw(name, value.clone());
        }
    }
    axi::convert::user_from_axi(user, &rec);
    for (name, value) in secrets {
        axi::convert::set_user_secret(user, name, value);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn set(pairs: &[(&str, &str)]) -> Result<User, String> {
        let mut user = User {
            uid: 7,
            num: "100".into(),
            name: "Ann".into(),
            ..User::default()
        };
        let pairs: Vec<_> = pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        apply(&mut user, &pairs).map(|()| user)
    }

    #[test]
    fn known_attributes_secrets_and_unmapped_ones_are_typed_and_kept() {
        let user = set(&[
            ("sipAuthId", "alice"),
            ("pin", "1234"),
            ("callWaitingDisabled", "true"),
            ("forwardState", "Busy"),
            ("keyLockEnable", "true"),
        ])
        .unwrap();
        assert_eq!(
            (user.sip_auth_id.as_str(), user.pin.as_str()),
            ("alice", "1234")
        );
        assert!(user.call_waiting_disabled);
        assert_eq!(user.forward_state, model::ForwardState::Busy);
        assert!(user
            .extra
            .contains(&("keyLockEnable".to_owned(), "true".to_owned())));
        assert_eq!((user.uid, user.name.as_str()), (7, "Ann"), "the rest stays");
    }

    #[test]
    fn ids_unknown_names_and_bad_values_are_refused_with_the_reason() {
        for (pair, why) in [
            (("uid", "5"), "uid: the MOM sets uid itself"),
            (("relType", "Fixed"), "the MOM sets relType itself"),
            (("bogus", "1"), "bogus: not a user attribute"),
            (("callWaitingDisabled", "maybe"), "not a valid value"),
            (("forwardTime", "-1"), "not a valid value"),
        ] {
            let err = set(&[pair]).unwrap_err();
            assert!(err.contains(why), "{pair:?}: {err}");
        }
    }
}
