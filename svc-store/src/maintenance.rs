//! The store's offline maintenance, for when the MOM is stopped: the admin CLI runs
//! `svc-store reset-password --db-dir DIR --actor NAME ACCOUNT` as the store's user, the new
//! password on standard input, so the privileged CLI never opens the database itself. The
//! change is audited like any other (`cli.ResetPassword`, from `local`).

use crate::engine::Store;
use clap::Parser;
use ipc::api::store::{Audit, StoreRequest};
use std::io::BufRead;
use std::path::PathBuf;

/// The first argument that selects the offline reset instead of the service.
pub const RESET_PASSWORD: &str = "reset-password";

/// `svc-store reset-password`.
#[derive(Debug, Parser)]
#[command(
    name = "svc-store reset-password",
    about = "Sets an account's password with the MOM stopped"
)]
struct ResetPassword {
    /// Directory of the database files.
    #[arg(long)]
    db_dir: PathBuf,
    /// Who asks, for the audit trail (`cli:<user>`).
    #[arg(long)]
    actor: String,
    /// The account.
    account: String,
}

/// Runs the offline reset with `args` (after the program name); the exit code: 0 when set,
/// 1 when refused (the reason on standard error).
#[must_use]
pub fn reset_password(args: impl IntoIterator<Item = String>) -> i32 {
    let args = match ResetPassword::try_parse_from(args) {
        Ok(a) => a,
        Err(e) => {
            let _ = e.print();
            return 2;
        }
    };
    match reset(&args) {
        Ok(()) => 0,
        Err(e) => {
            eprintln!("{e}");
            1
        }
    }
}

fn reset(args: &ResetPassword) -> Result<(), String> {
    let mut line = String::new();
    std::io::stdin()
        .lock()
        .read_line(&mut line)
        .map_err(|e| format!("cannot read the password from standard input: {e}"))?;
    let password = line.trim_end_matches(['\n', '\r']).to_owned();
    // Database files are private to the store's user.
    nix::sys::stat::umask(nix::sys::stat::Mode::from_bits_truncate(0o077));
    let opened = Store::open(&args.db_dir).map_err(|e| e.to_string())?;
    let request = StoreRequest::Audited {
        audit: Audit {
            actor: args.actor.clone(),
            source: "local".into(),
            action: "cli.ResetPassword".into(),
            target: String::new(),
        },
        request: Box::new(StoreRequest::ResetPassword {
            name: args.account.clone(),
            password,
        }),
    };
    opened.store.write(request).map_err(|e| e.to_string())?;
    Ok(())
}
