//! API tokens for scripts: a random secret shown once, bound to an account and acting with
//! that account's permissions (checked at every use, so a disabled account's tokens stop
//! working), revocable by the account and by administrators. Only the SHA-256 of each token
//! is kept, in `api-tokens.json`.
//!
//! A token lives [`LIFETIME`] at most (a token saved before expiry existed counts from its
//! creation), is revoked with every password change of its account (own or by an
//! administrator), and cannot make tokens: only a logged-in session can.

use crate::persist::StateFile;
use crate::sessions::{random_token, token_hash};
use serde::{Deserialize, Serialize};

/// Tokens kept at most per account.
pub const MAX_PER_ACCOUNT: usize = 20;
/// How long a token acts at most (90 days).
pub const LIFETIME: u64 = 90 * 24 * 3600;

/// One token as the API lists it (never the secret).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct TokenInfo {
    /// Token id.
    pub id: u32,
    /// The account it acts as.
    pub account_id: u32,
    /// A name the administrator gave it.
    pub name: String,
    /// When it was made (Unix seconds).
    pub created: u64,
    /// When it stops acting (Unix seconds).
    #[serde(default)]
    pub expires: u64,
}

impl TokenInfo {
    /// When it stops acting: its expiry, or [`LIFETIME`] after its creation for a token
    /// saved before expiry existed.
    #[must_use]
    pub fn expiry(&self) -> u64 {
        if self.expires == 0 {
            self.created.saturating_add(LIFETIME)
        } else {
            self.expires
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
struct Stored {
    info: TokenInfo,
    hash: String,
}

#[derive(Debug, Default, Serialize, Deserialize)]
struct Saved {
    next_id: u32,
    tokens: Vec<Stored>,
}

/// The token table.
#[derive(Debug)]
pub struct ApiTokens {
    file: StateFile,
    saved: Saved,
}

impl ApiTokens {
    /// Loads the table.
    #[must_use]
    pub fn load(file: StateFile) -> Self {
        Self {
            saved: file.load(),
            file,
        }
    }

    /// A new token for `account_id`; returns its secret (shown once) and its entry.
    ///
    /// # Errors
    /// A message when the account has too many or the table cannot be written.
    pub fn create(
        &mut self,
        account_id: u32,
        name: &str,
        now: u64,
    ) -> Result<(String, TokenInfo), String> {
        if self.list(account_id).len() >= MAX_PER_ACCOUNT {
            return Err(format!(
                "an account has at most {MAX_PER_ACCOUNT} API tokens; revoke one first"
            ));
        }
        self.saved.next_id += 1;
        let secret = format!("mom_{}", random_token());
        let info = TokenInfo {
            id: self.saved.next_id,
            account_id,
            name: name.to_owned(),
            created: now,
            expires: now.saturating_add(LIFETIME),
        };
        self.saved.tokens.push(Stored {
            info: info.clone(),
            hash: token_hash(&secret),
        });
        self.file.save(&self.saved)?;
        Ok((secret, info))
    }

    /// The account a secret acts as at `now` (none once it expired).
    #[must_use]
    pub fn account_of(&self, secret: &str, now: u64) -> Option<u32> {
        let hash = token_hash(secret);
        self.saved
            .tokens
            .iter()
            .find(|t| t.hash == hash && t.info.expiry() > now)
            .map(|t| t.info.account_id)
    }

    /// The tokens of an account.
    #[must_use]
    pub fn list(&self, account_id: u32) -> Vec<TokenInfo> {
        self.saved
            .tokens
            .iter()
            .filter(|t| t.info.account_id == account_id)
            .map(|t| t.info.clone())
            .collect()
    }

    /// Revokes token `id` of `account_id`; whether there was one.
    ///
    /// # Errors
    /// A message when the table cannot be written.
    pub fn revoke(&mut self, account_id: u32, id: u32) -> Result<bool, String> {
        let before = self.saved.tokens.len();
        self.saved
            .tokens
            .retain(|t| !(t.info.id == id && t.info.account_id == account_id));
        if self.saved.tokens.len() == before {
            return Ok(false);
        }
        self.file.save(&self.saved)?;
        Ok(true)
    }

    /// Revokes every token (the database was replaced); how many there were.
    ///
    /// # Errors
    /// A message when the table cannot be written.
    pub fn clear(&mut self) -> Result<usize, String> {
        let n = self.saved.tokens.len();
        self.saved.tokens.clear();
        self.file.save(&self.saved)?;
        Ok(n)
    }

    /// Revokes every token of an account (it was deleted, or its password changed).
    ///
    /// # Errors
    /// A message when the table cannot be written.
    pub fn revoke_all(&mut self, account_id: u32) -> Result<(), String> {
        let before = self.saved.tokens.len();
        self.saved
            .tokens
            .retain(|t| t.info.account_id != account_id);
        if self.saved.tokens.len() != before {
            self.file.save(&self.saved)?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_token_stops_acting_when_it_expires() {
        let dir = tempfile::tempdir().unwrap();
        let mut tokens = ApiTokens::load(StateFile::new(dir.path(), "t.json"));
        let (secret, info) = tokens.create(3, "backup", 1000).unwrap();
        assert_eq!(info.expires, 1000 + LIFETIME);
        assert_eq!(tokens.account_of(&secret, 1000 + LIFETIME - 1), Some(3));
        assert_eq!(tokens.account_of(&secret, 1000 + LIFETIME), None);
        let old = TokenInfo { expires: 0, ..info };
        assert_eq!(
            old.expiry(),
            1000 + LIFETIME,
            "a token saved before expiry existed"
        );
    }

    #[test]
    fn tokens_act_for_their_account_are_capped_and_revocable() {
        let dir = std::env::temp_dir().join(format!("svc-web-tokens-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let mut tokens = ApiTokens::load(StateFile::new(&dir, "api-tokens.json"));
        let (secret, info) = tokens.create(7, "first", 1).unwrap();
        assert_eq!(tokens.account_of(&secret, 1), Some(7));
        for i in 1..MAX_PER_ACCOUNT {
            tokens.create(7, &format!("t{i}"), 1).unwrap();
        }
        assert!(tokens
            .create(7, "one too many", 1)
            .unwrap_err()
            .contains("at most"));
        assert!(tokens.create(8, "another account", 1).is_ok());
        assert!(
            !tokens.revoke(8, info.id).unwrap(),
            "not another account's token"
        );
        assert!(tokens.revoke(7, info.id).unwrap());
        assert_eq!(tokens.account_of(&secret, 1), None);
        let reloaded = ApiTokens::load(StateFile::new(&dir, "api-tokens.json"));
        assert_eq!(reloaded.list(7).len(), MAX_PER_ACCOUNT - 1);
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
