//! Accounts: their names and passwords (argon2 hashes, checked by the password policy).

use super::*;

pub(super) fn hash_password(password: &str) -> Result<String, StoreError> {
    use argon2::password_hash::{PasswordHasher, SaltString};
    // The write's randomness: the same salt on every node of a cluster.
    let mut bytes = [0u8; 16];
    crate::entropy::fill(&mut bytes);
    let salt = SaltString::encode_b64(&bytes)
        .map_err(|e| StoreError::Storage(format!("password salt: {e}")))?;
    argon2::Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| StoreError::Storage(format!("password hashing failed: {e}")))
}

/// A hash of `password` for tests of other modules.
#[cfg(test)]
pub(crate) fn hash_for_tests(password: &str) -> String {
    hash_password(password).expect("hash")
}

/// Whether `password` matches the PHC string `hash`.
#[must_use]
pub fn verify_password(hash: &str, password: &str) -> bool {
    use argon2::password_hash::{PasswordHash, PasswordVerifier};
    PasswordHash::new(hash).is_ok_and(|parsed| {
        argon2::Argon2::default()
            .verify_password(password.as_bytes(), &parsed)
            .is_ok()
    })
}

impl Tx<'_, '_> {
    pub(super) fn put_account(&mut self, account: &Account) -> Result<(), StoreError> {
        let name = login_throttle::account_key(&account.name);
        if name.is_empty() {
            return Err(invalid("the account name must not be empty"));
        }
        if let Some(owner) = self.view.get::<u32>(Db::IdxAccount, name.as_bytes())? {
            if owner != account.id {
                return Err(StoreError::DuplicateAccountName(name.to_owned()));
            }
        }
        if let Some(old) = self
            .view
            .get::<Account>(Db::Accounts, &id_key(account.id))?
        {
            self.view.delete(Db::IdxAccount, old.name.as_bytes())?;
        }
        self.view
            .put(Db::IdxAccount, name.as_bytes(), &account.id)?;
        self.view.put(Db::Accounts, &id_key(account.id), account)
    }

    pub(super) fn create_account(&mut self, new: NewAccount) -> Result<StoreResponse, StoreError> {
        rules::check_password(&new.password, &new.name, None)?;
        let id = self.take_id(Db::Accounts, 0)?;
        let account = Account {
            id,
            name: login_throttle::account_key(&new.name).to_owned(),
            password_hash: hash_password(&new.password)?,
            enabled: new.enabled,
            read: true,
            write: new.write,
            must_change_password: new.must_change_password,
        };
        self.put_account(&account)?;
        self.changed(Entity::Account, id, ChangeOp::Put);
        Ok(StoreResponse::Created(id))
    }

    pub(super) fn update_account(
        &mut self,
        update: AccountUpdate,
    ) -> Result<StoreResponse, StoreError> {
        let mut account: Account = self.get(Db::Accounts, update.id, Entity::Account)?;
        if let Some(name) = update.name {
            account.name = login_throttle::account_key(&name).to_owned();
        }
        if let Some(password) = update.password {
            rules::check_password(&password, &account.name, None)?;
            if verify_password(&account.password_hash, &password) {
                return Err(invalid("password must differ from the old password"));
            }
            account.password_hash = hash_password(&password)?;
            account.must_change_password = update.must_change_password.unwrap_or(false);
        }
        if let Some(enabled) = update.enabled {
            account.enabled = enabled;
        }
        if let Some(write) = update.write {
            account.write = write;
        }
        self.put_account(&account)?;
        self.changed(Entity::Account, account.id, ChangeOp::Put);
        Ok(StoreResponse::Done)
    }

    pub(super) fn reset_password(
        &mut self,
        name: &str,
        password: &str,
    ) -> Result<StoreResponse, StoreError> {
        let id: u32 = self
            .view
            .get(Db::IdxAccount, login_throttle::account_key(name).as_bytes())?
            .ok_or_else(|| {
                invalid(format!(
                    "there is no account {:?}",
                    login_throttle::account_key(name)
                ))
            })?;
        let mut account: Account = self.get(Db::Accounts, id, Entity::Account)?;
        rules::check_password(password, &account.name, None)?;
        account.password_hash = hash_password(password)?;
        account.enabled = true;
        account.must_change_password = true;
        self.put_account(&account)?;
        self.changed(Entity::Account, id, ChangeOp::Put);
        Ok(StoreResponse::Done)
    }

    pub(super) fn delete_account(&mut self, id: u32) -> Result<StoreResponse, StoreError> {
        if id == DEFAULT_ACCOUNT_ID {
            return Err(StoreError::DefaultAccountUndeletable);
        }
        let account: Account = self.get(Db::Accounts, id, Entity::Account)?;
        self.view.delete(Db::IdxAccount, account.name.as_bytes())?;
        self.view.delete(Db::Accounts, &id_key(id))?;
        self.changed(Entity::Account, id, ChangeOp::Delete);
        Ok(StoreResponse::Done)
    }
}
