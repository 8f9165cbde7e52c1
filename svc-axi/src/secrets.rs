//! A user's secrets on an OMM link (axi-profile.md §2 and §10): `pin`, `sipPw`,
//! `credentialPw` and `serviceAuthPassword` go to an OMM encrypted with that OMM's key and
//! come back encrypted with the MOM's key (announced with `SetMOMKey`). An empty value
//! clears a secret; a missing one leaves it as it is.

use axi::convert::{set_user_secret, user_secret, USER_SECRETS};
use axi::record::AxiRecord;
use axi::PpUser;
use model::User;

/// Adds `user`'s secrets to `rec`, encrypted for the OMM's `key`.
///
/// # Errors
/// Why a secret cannot be sent (no key from the OMM, or too long for its key), naming it;
/// nothing of the record should be sent then.
pub fn encrypt_into(
    rec: &mut PpUser,
    user: &User,
    key: Option<&rsa::RsaPublicKey>,
) -> Result<(), String> {
    for name in USER_SECRETS {
        let plain = user_secret(user, name);
        if plain.is_empty() {
            continue;
        }
        let key = key.ok_or_else(|| format!("{name}: the OMM sent no key for secrets"))?;
        let cipher = axi::secret::encrypt(key, plain).map_err(|e| format!("{name}: {e}"))?;
        rec.set_raw(name, cipher);
    }
    Ok(())
}

/// Takes the secrets an OMM's record carries into `user`, decrypted with the MOM's `key`;
/// returns the names of those that did not decrypt (they stay as they were).
pub fn decrypt_from(user: &mut User, rec: &PpUser, key: &rsa::RsaPrivateKey) -> Vec<&'static str> {
    let mut bad = Vec::new();
    for name in USER_SECRETS {
        match rec.raw(name) {
            None => {}
            Some("") => set_user_secret(user, name, String::new()),
            Some(cipher) => match axi::secret::decrypt(key, cipher) {
                Ok(plain) => set_user_secret(user, name, plain),
                Err(_) => bad.push(name),
            },
        }
    }
    bad
}

/// The plain secrets of `user`, for its fingerprint (a PIN change is a change).
pub fn plain(user: &User) -> impl Iterator<Item = (&'static str, &str)> {
    USER_SECRETS.into_iter().map(|n| (n, user_secret(user, n)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_go_encrypted_and_come_back_plain() {
        let omm = axi::secret::generate(1024).unwrap();
        let user = User {
            pin: "1234".into(),
            sip_pw: "s3cret".into(),
            ..User::default()
        };
        let mut rec = PpUser::default();
        encrypt_into(&mut rec, &user, Some(&omm.to_public_key())).unwrap();
        assert_ne!(rec.raw("pin"), Some("1234"));
        assert_eq!(rec.raw("credentialPw"), None, "an empty secret is not sent");
        let mut back = User::default();
        assert!(decrypt_from(&mut back, &rec, &omm).is_empty());
        assert_eq!(
            (back.pin.as_str(), back.sip_pw.as_str()),
            ("1234", "s3cret")
        );
    }

    #[test]
    fn a_secret_without_a_key_or_that_does_not_decrypt_is_refused() {
        let user = User {
            pin: "1".into(),
            ..User::default()
        };
        let e = encrypt_into(&mut PpUser::default(), &user, None).unwrap_err();
        assert!(e.starts_with("pin:"), "{e}");
        let key = axi::secret::generate(1024).unwrap();
        let mut rec = PpUser::default();
        rec.set_raw("pin", "bm90IGEgY2lwaGVy");
        rec.set_raw("sipPw", "");
        let mut user = User {
            pin: "old".into(),
            sip_pw: "old".into(),
            ..User::default()
        };
        assert_eq!(decrypt_from(&mut user, &rec, &key), vec!["pin"]);
        assert_eq!((user.pin.as_str(), user.sip_pw.as_str()), ("old", ""));
    }
}
