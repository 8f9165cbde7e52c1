//! What every command shares: the connection to a service's socket, the store as the CLI uses
//! it (every write audited as `cli.<request>`), the CLI's words for a failure, and output.

use ipc::api::store::{Audit, StoreApi};
use ipc::store_client::{Failure, Result as Answer, Store};
use ipc::{Api, Client, ClientChannel, ClientOptions, Envelope, Hello};
use std::future::Future;
use std::path::Path;
use std::pin::Pin;

/// Exit code when the MOM is not running or not reachable.
pub const EXIT_UNREACHABLE: i32 = 2;
/// Exit code when some service is not running.
pub const EXIT_DEGRADED: i32 = 3;

/// A connection of its own to the service at `socket`, greeted as `cli`.
///
/// # Errors
/// A message that says the MOM may not be running when nobody answers.
pub async fn connect<A: Api>(socket: &Path) -> Result<ClientChannel<A>, String> {
    let stream = tokio::net::UnixStream::connect(socket).await.map_err(|e| {
        format!(
            "cannot reach the MOM at {}: {e} (is it running?)",
            socket.display()
        )
    })?;
    ClientChannel::<A>::handshake(stream, &Hello::new("cli", 0), A::MAX_FRAME)
        .await
        .map_err(|e| format!("{}: {e}", socket.display()))
}

/// The store as the admin CLI uses it: the typed client on a connection of its own, every
/// write audited by the store as `cli.<request>`, by the user that runs the CLI, from `local`.
///
/// # Errors
/// A message when the MOM is not running or not reachable.
pub async fn store(socket: &Path) -> Result<Store, String> {
    // A clear message at once when nobody listens (the client would keep trying).
    drop(connect::<StoreApi>(socket).await?);
    let (client, _events) = Client::<StoreApi>::start(
        socket.to_owned(),
        Hello::new("cli", 0),
        ClientOptions::default(),
    );
    Ok(Store::new(client).audited(Audit {
        actor: actor(),
        source: "local".into(),
        action: "cli.".into(),
        target: String::new(),
    }))
}

/// Why a read failed, in the CLI's words.
pub fn why(failure: Failure) -> String {
    match failure {
        Failure::Refused(e) => e.to_string(),
        Failure::Unreachable(e) => e,
    }
}

/// Why a write failed; one the store did not answer may have been made.
pub fn why_write(failure: Failure) -> String {
    match failure {
        Failure::Refused(e) => e.to_string(),
        Failure::Unreachable(e) => format!(
            "{e}; the store did not answer, so the change may or may not have been made: \
             check with the matching list command before trying again"
        ),
    }
}

/// Request `body` as `id` on `ch` and its answer (events in between are skipped).
///
/// # Errors
/// The connection's failure, or that the service closed it.
pub async fn call<A: Api>(
    ch: &mut ClientChannel<A>,
    id: u64,
    body: A::Request,
) -> Result<A::Response, String> {
    ch.tx
        .send(&Envelope { id, body })
        .await
        .map_err(|e| e.to_string())?;
    loop {
        match ch.rx.recv().await {
            Ok(Some(Envelope { id: got, body })) if got == id => return Ok(body),
            Ok(Some(_)) => {}
            Ok(None) => return Err("the service closed the connection".into()),
            Err(e) => return Err(e.to_string()),
        }
    }
}

/// Prints `e` as the CLI's error; the exit code 1.
pub fn fail(e: &str) -> i32 {
    eprintln!("sip-dect-mom: {e}");
    1
}

/// Who runs the CLI, for the audit trail: `cli:<user name>` (or `cli:uid <n>`).
pub fn actor() -> String {
    let uid = nix::unistd::getuid();
    match nix::unistd::User::from_uid(uid) {
        Ok(Some(user)) => format!("cli:{}", user.name),
        _ => format!("cli:uid {uid}"),
    }
}

/// The audit entry of the CLI's action `kind` (`cli.<kind>`) that is no write the store
/// audits itself (a license install, a database import), with `after` as its record.
pub fn audit_of(kind: &str, after: String) -> model::AuditEntry {
    model::AuditEntry {
        actor: actor(),
        source: "local".into(),
        action: format!("cli.{kind}"),
        after,
        ..model::AuditEntry::default()
    }
}

/// Prints `value` as JSON; the exit code.
pub fn json<T: serde::Serialize>(value: &T) -> i32 {
    match serde_json::to_string_pretty(value) {
        Ok(text) => {
            println!("{text}");
            0
        }
        Err(e) => fail(&e.to_string()),
    }
}

/// One write to the store at `socket`: `said` of its answer printed when it is made (exit
/// 0), its failure in the CLI's words otherwise.
pub async fn write<T>(
    socket: &Path,
    f: impl FnOnce(Store) -> Pin<Box<dyn Future<Output = Answer<T>> + Send>>,
    said: impl FnOnce(T) -> String,
) -> i32 {
    let made = async { f(store(socket).await?).await.map_err(why_write) };
    match made.await {
        Ok(answer) => {
            println!("{}", said(answer));
            0
        }
        Err(e) => fail(&e),
    }
}
