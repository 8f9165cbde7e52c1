//! Data rules that need no database: the password policy's refusal, relation and source
//! changes.

use ipc::api::store::StoreError;
use model::{RelType, Source, SubscriptionState};

/// Most permanent users the MOM deploys to every OMM.
pub const MAX_PERMANENT_USERS: usize = 512;

/// Checks a new password against the admin guide's policy (the `password-policy` crate,
/// the rules the web UI shows).
///
/// # Errors
/// [`StoreError::Invalid`] naming the first rule it breaks.
pub fn check_password(password: &str, account: &str, old: Option<&str>) -> Result<(), StoreError> {
    password_policy::refusal(password, account, old)
        .map_or(Ok(()), |why| Err(StoreError::Invalid(why)))
}

/// Checks a source change of a user whose relation type is `rel_type`.
///
/// # Errors
/// [`StoreError::SourceChange`] or [`StoreError::PermanentMustBeInternal`].
pub fn check_source_change(
    from: Source,
    to: Source,
    rel_type: RelType,
    permanent: bool,
) -> Result<(), StoreError> {
    if to == Source::External && permanent {
        return Err(StoreError::PermanentMustBeInternal);
    }
    match (from, to) {
        (a, b) if a == b => Ok(()),
        (Source::Internal, Source::External) => Err(StoreError::SourceChange(
            "a user cannot move from the OMM database (Internal) to an external server".into(),
        )),
        (_, _) if rel_type != RelType::Dynamic => Err(StoreError::SourceChange(
            "only a user with relation type Dynamic can change its source".into(),
        )),
        _ => Ok(()),
    }
}

/// Checks a relation-type change of a bound pair.
///
/// # Errors
/// [`StoreError::RelationChange`] saying why.
pub fn check_relation_change(
    current: RelType,
    wanted: RelType,
    subscription: SubscriptionState,
) -> Result<(), StoreError> {
    if current == RelType::Unbound || wanted == RelType::Unbound {
        return Err(StoreError::RelationChange(
            "only a bound pair can change between Dynamic and Fixed".into(),
        ));
    }
    if subscription != SubscriptionState::Yes {
        return Err(StoreError::RelationChange(
            "the device is not subscribed".into(),
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn password_policy_follows_the_admin_guide() {
        check_password("Tr0ub4dor&", "admin", None).unwrap();
        for bad in [
            "Ab1!",
            "alllowercase",
            "World11111",
            "W1o1r1l1d1",
            "xAdmin9!",
            "nimdA9!x",
            "Qwer9!zz",
            "x1234Abc",
        ] {
            assert!(
                check_password(bad, "admin", None).is_err(),
                "{bad} accepted"
            );
        }
        assert!(check_password("Zebra#42x", "a", Some("Zebra#42")).is_err());
    }

    #[test]
    fn source_moves_only_from_external_to_internal_and_only_when_dynamic() {
        check_source_change(Source::External, Source::Internal, RelType::Dynamic, false).unwrap();
        assert!(matches!(
            check_source_change(Source::Internal, Source::External, RelType::Dynamic, false),
            Err(StoreError::SourceChange(_))
        ));
        assert!(matches!(
            check_source_change(Source::External, Source::Internal, RelType::Fixed, false),
            Err(StoreError::SourceChange(_))
        ));
        assert_eq!(
            check_source_change(Source::External, Source::External, RelType::Dynamic, true),
            Err(StoreError::PermanentMustBeInternal)
        );
    }

    #[test]
    fn relation_changes_need_a_subscribed_bound_pair() {
        check_relation_change(RelType::Dynamic, RelType::Fixed, SubscriptionState::Yes).unwrap();
        check_relation_change(RelType::Fixed, RelType::Dynamic, SubscriptionState::Yes).unwrap();
        assert!(
            check_relation_change(RelType::Unbound, RelType::Fixed, SubscriptionState::Yes)
                .is_err()
        );
        assert!(
            check_relation_change(RelType::Fixed, RelType::Unbound, SubscriptionState::Yes)
                .is_err()
        );
        assert!(
            check_relation_change(RelType::Dynamic, RelType::Fixed, SubscriptionState::No).is_err()
        );
    }
}
