//! Optional TOTP second factor per account (RFC 6238: SHA-1, six digits, 30 s), beyond the
//! original MOM. An enrolment is pending until a first code confirms it; from then on a
//! login of that account needs a current code. Kept in `second-factor.json` (mode 0600),
//! each secret sealed with svc-web's key (`secrets.key` in its state folder, see the
//! `secret-seal` crate), so the file alone does not give the secrets away.

use crate::persist::StateFile;
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use totp_rs::{Algorithm, Secret, TOTP};

/// One account's second factor.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct Factor {
    /// The shared secret, base32, sealed (in clear in files written before sealing, until
    /// the file is next loaded).
    secret: String,
    /// Confirmed by a first code.
    confirmed: bool,
    /// The last time step a code was accepted for (a code is good once).
    last_step: u64,
}

#[derive(Debug, Default, Serialize, Deserialize)]
struct Saved {
    factors: HashMap<u32, Factor>,
}

/// The second factors of all accounts.
#[derive(Debug)]
pub struct SecondFactors {
    file: StateFile,
    saved: Saved,
    key: secret_seal::Key,
}

/// What a code was found to be.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CodeCheck {
    /// Right, and not used before: accepted now.
    Accepted,
    /// Right, but accepted once already (a code is good once).
    AlreadyUsed,
    /// Not the code of this time (or no factor).
    Wrong,
}

impl CodeCheck {
    /// Whether the code was accepted.
    #[must_use]
    pub fn accepted(self) -> bool {
        self == Self::Accepted
    }

    /// Why a code was not accepted, for the administrator.
    #[must_use]
    pub fn refusal(self) -> &'static str {
        match self {
            Self::Accepted => "",
            Self::AlreadyUsed => {
                "this code was used already; wait for the authenticator app's next code"
            }
            Self::Wrong => "the code is wrong; check the authenticator app's clock",
        }
    }
}

/// The field name a secret is sealed under.
const FIELD: &str = "totp_secret";

/// What an enrolment gives the administrator's authenticator app.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Enrolment {
    /// The secret in base32.
    pub secret: String,
    /// The `otpauth://` URL (for a QR code).
    pub otpauth_url: String,
}

fn totp(secret: &str, account: &str) -> Result<TOTP, String> {
    let bytes = Secret::Encoded(secret.to_owned())
        .to_bytes()
        .map_err(|e| e.to_string())?;
    TOTP::new(
        Algorithm::SHA1,
        6,
        1,
        30,
        bytes,
        Some("SIP-DECT MOM".into()),
        account.to_owned(),
    )
    .map_err(|e| e.to_string())
}

impl SecondFactors {
    /// Loads the table; secrets kept in clear by an older version are sealed with `key`
    /// and the file is written again. A secret that does not open (another key) drops
    /// that enrolment, with a log line: its account logs in with the password alone until
    /// it enrols again.
    #[must_use]
    pub fn load(file: StateFile, key: secret_seal::Key) -> Self {
        let mut saved: Saved = file.load();
        let mut changed = false;
        saved.factors.retain(|account, factor| {
            if !secret_seal::is_sealed(&factor.secret) {
                match key.seal(FIELD, &factor.secret) {
                    Ok(sealed) => factor.secret = sealed,
                    Err(e) => tracing::warn!(error = %e, "a second factor could not be sealed"),
                }
                changed = true;
                return true;
            }
            match key.open(FIELD, &factor.secret) {
                Ok(_) => true,
                Err(e) => {
                    tracing::warn!(
                        account_id = account,
                        error = %e,
                        "second factor dropped: its secret does not open with svc-web's key"
                    );
                    changed = true;
                    false
                }
            }
        });
        if changed {
            if let Err(e) = file.save(&saved) {
                tracing::warn!(error = %e, "the second factors could not be written again");
            }
        }
        Self { file, saved, key }
    }

    /// Whether a login of `account_id` needs a code.
    #[must_use]
    pub fn required(&self, account_id: u32) -> bool {
        self.saved
            .factors
            .get(&account_id)
            .is_some_and(|f| f.confirmed)
    }

    /// Starts (or restarts) an enrolment.
    ///
    /// # Errors
    /// A message when the table cannot be written.
    pub fn enrol(&mut self, account_id: u32, account: &str) -> Result<Enrolment, String> {
        let secret = Secret::generate_secret().to_encoded().to_string();
        let url = totp(&secret, account)?.get_url();
        let sealed = self.key.seal(FIELD, &secret).map_err(|e| e.to_string())?;
        self.saved.factors.insert(
            account_id,
            Factor {
                secret: sealed,
                confirmed: false,
                last_step: 0,
            },
        );
        self.file.save(&self.saved)?;
        Ok(Enrolment {
            secret,
            otpauth_url: url,
        })
    }

    /// Checks `code` for `account_id` at `now` (Unix seconds), confirming a pending
    /// enrolment; a code is accepted once.
    ///
    /// # Errors
    /// A message when the table cannot be written.
    pub fn verify(
        &mut self,
        account_id: u32,
        account: &str,
        code: &str,
        now: u64,
    ) -> Result<CodeCheck, String> {
        let Some(factor) = self.saved.factors.get_mut(&account_id) else {
            return Ok(CodeCheck::Wrong);
        };
        let secret = self
            .key
            .open(FIELD, &factor.secret)
            .map_err(|e| e.to_string())?;
        let totp = totp(&secret, account)?;
        let step = now / 30;
        // The current step and one either side, for clock drift.
        let matched = (step.saturating_sub(1)..=step + 1)
            .filter(|s| totp.generate(s * 30) == code.trim())
            .max();
        match matched {
            None => Ok(CodeCheck::Wrong),
            Some(s) if s <= factor.last_step => Ok(CodeCheck::AlreadyUsed),
            Some(s) => {
                factor.last_step = s;
                factor.confirmed = true;
                self.file.save(&self.saved)?;
                Ok(CodeCheck::Accepted)
            }
        }
    }

    /// Removes an account's second factor.
    ///
    /// # Errors
    /// A message when the table cannot be written.
    pub fn remove(&mut self, account_id: u32) -> Result<(), String> {
        if self.saved.factors.remove(&account_id).is_some() {
            self.file.save(&self.saved)?;
        }
        Ok(())
    }

    /// Drops every enrolment (the database was replaced, so the ids may name other
    /// accounts); how many there were.
    ///
    /// # Errors
    /// A message when the table cannot be written.
    pub fn clear(&mut self) -> Result<usize, String> {
        let n = self.saved.factors.len();
        self.saved.factors.clear();
        self.file.save(&self.saved)?;
        Ok(n)
    }

    /// The current code of an account, for tests and the CLI's own check.
    #[must_use]
    pub fn code_at(secret: &str, now: u64) -> Option<String> {
        Some(totp(secret, "x").ok()?.generate(now))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEY: &str = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=\n";

    #[test]
    fn a_secret_kept_in_clear_by_an_older_version_is_sealed_at_load_and_still_works() {
        let dir = tempfile::tempdir().unwrap();
        let secret = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP";
        std::fs::write(
            dir.path().join("f.json"),
            format!(
                r#"{{"factors":{{"4":{{"secret":"{secret}","confirmed":true,"last_step":0}}}}}}"#
            ),
        )
        .unwrap();
        let key = || secret_seal::Key::from_file_text(KEY).unwrap();
        let mut factors = SecondFactors::load(StateFile::new(dir.path(), "f.json"), key());
        let file = std::fs::read_to_string(dir.path().join("f.json")).unwrap();
        assert!(
            !file.contains(secret) && file.contains(secret_seal::PREFIX),
            "{file}"
        );
        let now = 1_790_000_000;
        let code = SecondFactors::code_at(secret, now).unwrap();
        assert!(factors.verify(4, "bob", &code, now).unwrap().accepted());
    }

    #[test]
    fn enrolment_is_confirmed_by_a_code_and_a_code_works_once() {
        let dir = std::env::temp_dir().join(format!("svc-web-2fa-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let key = || secret_seal::Key::from_file_text(KEY).unwrap();
        let mut factors = SecondFactors::load(StateFile::new(&dir, "second-factor.json"), key());
        let enrolment = factors.enrol(3, "alice").unwrap();
        assert!(enrolment.otpauth_url.starts_with("otpauth://totp/"));
        assert!(!factors.required(3));
        let now = 1_790_000_000;
        assert_eq!(
            factors.verify(3, "alice", "000000x", now).unwrap(),
            CodeCheck::Wrong
        );
        let code = SecondFactors::code_at(&enrolment.secret, now).unwrap();
        assert!(factors.verify(3, "alice", &code, now).unwrap().accepted());
        assert!(factors.required(3));
        assert_eq!(
            factors.verify(3, "alice", &code, now).unwrap(),
            CodeCheck::AlreadyUsed,
            "replayed"
        );
        let file = std::fs::read_to_string(dir.join("second-factor.json")).unwrap();
        assert!(
            !file.contains(&enrolment.secret),
            "sealed in the file: {file}"
        );
        let reloaded = SecondFactors::load(StateFile::new(&dir, "second-factor.json"), key());
        assert!(reloaded.required(3));
        // With another key the enrolment does not open and is dropped, not misread.
        let other = SecondFactors::load(
            StateFile::new(&dir, "second-factor.json"),
            secret_seal::Key::generate().unwrap(),
        );
        assert!(!other.required(3));
        factors.remove(3).unwrap();
        assert!(!factors.required(3));
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
