//! Logging in with a MOM account (admin guide "Managing MOM user accounts": accounts serve
//! MAXI too). The store checks the password; failures are throttled per account and per
//! client address with the same rules as web logins (the `login-throttle` crate), and a
//! lockout is written to the event log.

use crate::service::Service;
use crate::session::Access;
use ipc::api::store::StoreError;
use ipc::store_client::Failure;
use login_throttle::{Finish, Pass, Refused};
use std::net::IpAddr;

/// The outcome of a login.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// Logged in as this account with this access.
    Accepted {
        /// The account's name (for the audit trail).
        account: String,
        /// Its permission.
        access: Access,
    },
    /// Refused; the text is the `info` of the `EAuth`.
    Refused(String),
}

/// Checks `name` and `password` from a client at `source`.
pub async fn check(service: &Service, name: &str, password: &str, source: IpAddr) -> Outcome {
    // A failure slot is reserved before the password is checked: logins in flight count.
    let pass = match Pass::begin(service.throttle_table(), name, source) {
        Ok(pass) => pass,
        Err(Refused::Locked(wait)) => {
            return Outcome::Refused(format!(
                "too many failed logins; try again in {} s",
                wait.as_secs().max(1)
            ))
        }
        Err(Refused::Busy) => {
            return Outcome::Refused(
                "other logins of this account or from this address are being checked; try again in a moment"
                    .into(),
            )
        }
    };
    let answer = service
        .store
        .check_login(name.to_owned(), password.to_owned())
        .await;
    let why = match answer {
        Ok(account) if account.must_change_password => {
            // Not a wrong password: no throttling, but no session either.
            pass.finish(Finish::Success);
            return Outcome::Refused(
                "the account's password must be changed first (web interface)".into(),
            );
        }
        Ok(account) => {
            if let Some(refusal) = second_factor_refusal(service, account.id).await {
                // The password was right, but this is no complete login: nothing counted,
                // nothing cleared (else MAXI could reset the count of wrong web codes).
                pass.finish(Finish::Incomplete);
                tracing::info!(account = %model::printable(&account.name), %source, "MAXI login refused: {refusal}");
                return Outcome::Refused(refusal);
            }
            pass.finish(Finish::Success);
            let access = if account.write {
                Access::ReadWrite
            } else {
                Access::Read
            };
            return Outcome::Accepted {
                account: account.name,
                access,
            };
        }
        Err(Failure::Refused(StoreError::AccountDisabled)) => "disabled",
        Err(Failure::Refused(StoreError::WrongPassword)) => "wrong_password",
        Err(e) => {
            // Not checked (the store busy or down, say): nothing to count against anyone.
            pass.finish(Finish::Incomplete);
            tracing::warn!(error = %e, "the store did not answer a MAXI login");
            return Outcome::Refused("the MOM cannot check logins now".into());
        }
    };
    count_failure(service, pass, name, source, why).await;
    Outcome::Refused("authentication failed".into())
}

/// Why an account that has a second factor (an authenticator app, kept by svc-web) may not
/// open MAXI: MAXI has no second factor, so such an account's password alone would
/// bypass it. Applications use accounts of their own without one. Fails closed when
/// svc-web cannot say.
async fn second_factor_refusal(service: &Service, account_id: u32) -> Option<String> {
    let web = service.web.as_ref()?;
    match web.request(ipc::api::web::WebRequest::HasSecondFactor(account_id)).await {
        Ok(ipc::api::web::WebResponse::SecondFactor(false)) => None,
        Ok(ipc::api::web::WebResponse::SecondFactor(true)) => Some(
            "this account uses an authenticator app, which MAXI cannot ask for; applications use an account without one"
                .into(),
        ),
        Ok(_) | Err(_) => Some("the MOM cannot check the account's second factor now; try again".into()),
    }
}

/// Settles a failed login; a lockout is logged and goes to the event log.
async fn count_failure(
    service: &Service,
    pass: Pass<'_>,
    name: &str,
    source: IpAddr,
    why: &'static str,
) {
    let lockout = pass.finish(Finish::Failure);
    tracing::info!(account = %model::printable(name), %source, reason = why, "MAXI login failed");
    if let Some(lockout) = lockout {
        tracing::warn!(
            account = %model::printable(name),
            %source,
            locked = %lockout.what,
            lockout_secs = lockout.longest.as_secs(),
            "failed MAXI logins: temporarily locked"
        );
        service
            .log(
                model::Severity::Warning,
                format!(
                    "MAXI: failed logins for account {:?} from {source}: {} locked for {} s",
                    model::printable(name),
                    lockout.what,
                    lockout.longest.as_secs()
                ),
            )
            .await;
    }
}
