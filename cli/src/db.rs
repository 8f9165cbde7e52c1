//! `sip-dect-mom db export` and `db import`: "MOM system maintenance", the database as one
//! file.

use crate::client::{audit_of, store, why, why_write};
use clap::Subcommand;
use ipc::api::store::CHUNK_SIZE;
use ipc::store_client::Store;
use std::io::Write;
use std::path::{Path, PathBuf};

/// Database subcommands.
#[derive(Debug, Subcommand)]
pub enum DbAction {
    /// Write a consistent copy of the database to FILE.
    Export {
        /// Output file.
        file: PathBuf,
    },
    /// Replace the database with FILE, after checking all of it.
    Import {
        /// Input file.
        file: PathBuf,
        /// Import it even if it carries another installation's license or SARI while OMMs
        /// are linked (they would be provisioned with that identity).
        #[arg(long)]
        allow_foreign_identity: bool,
        /// The `secrets.key` of the installation that made FILE, when it is another one:
        /// its sealed PINs and passwords are opened with it and sealed with this one's.
        #[arg(long, value_name = "KEYFILE")]
        secrets_key: Option<PathBuf>,
    },
}

/// Runs a `db` subcommand.
pub async fn db(socket: &Path, action: &DbAction) -> i32 {
    match action {
        DbAction::Export { file } => export(socket, file).await,
        DbAction::Import {
            file,
            allow_foreign_identity,
            secrets_key,
        } => {
            import(
                socket,
                file,
                *allow_foreign_identity,
                secrets_key.as_deref(),
            )
            .await
        }
    }
}

/// Writes a consistent export of the database to `file`.
pub async fn export(socket: &Path, file: &Path) -> i32 {
    let result = async {
        let store = store(socket).await?;
        let (export, size) = store.export_begin().await.map_err(why)?;
        let tmp = file.with_extension("partial");
        let mut out = std::fs::File::create(&tmp)
            .map_err(|e| format!("cannot create {}: {e}", tmp.display()))?;
        let mut offset = 0u64;
        while offset < size {
            let chunk = store.export_chunk(export, offset).await.map_err(why)?;
            if chunk.is_empty() {
                return Err::<u64, String>("the export ended early".into());
            }
            out.write_all(&chunk)
                .map_err(|e| format!("writing {}: {e}", tmp.display()))?;
            offset += chunk.len() as u64;
            eprint!("\rexported {} of {} bytes", offset, size);
        }
        out.sync_all().map_err(|e| e.to_string())?;
        std::fs::rename(&tmp, file).map_err(|e| e.to_string())?;
        eprintln!();
        Ok(size)
    }
    .await;
    match result {
        Ok(size) => {
            println!("exported {size} bytes to {}", file.display());
            0
        }
        Err(e) => {
            eprintln!("sip-dect-mom: export failed: {e}");
            1
        }
    }
}

/// Replaces the database with the export in `file`, after the store validated all of it.
pub async fn import(
    socket: &Path,
    file: &Path,
    allow_foreign_identity: bool,
    secrets_key: Option<&Path>,
) -> i32 {
    let result = async {
        let bytes =
            std::fs::read(file).map_err(|e| format!("cannot read {}: {e}", file.display()))?;
        let key = secrets_key
            .map(|k| {
                std::fs::read_to_string(k).map_err(|e| format!("cannot read {}: {e}", k.display()))
            })
            .transpose()?;
        let store: Store = store(socket).await?;
        let import: u64 = store
            .import_begin(bytes.len() as u64)
            .await
            .map_err(why)?;
        let mut sent = 0;
        for chunk in bytes.chunks(CHUNK_SIZE) {
            store
                .import_chunk(import, chunk.to_vec())
                .await
                .map_err(why)?;
            sent += chunk.len();
            eprint!("\rsent {sent} of {} bytes", bytes.len());
        }
        eprintln!();
        if let Some(key) = key {
            store
                .import_secrets_key(import, key)
                .await
                .map_err(why)?;
        }
        let committed = if allow_foreign_identity {
            store.import_commit_foreign(import).await
        } else {
            store.import_commit(import).await
        };
        let rev = committed.map_err(why_write)?;
        // An import is no write the store audits itself: its entry is appended after it.
        let mut entry = audit_of(
            "DatabaseImport",
            format!("{{\"bytes\":{}}}", bytes.len()),
        );
        entry.target = file.display().to_string();
        if let Err(e) = store.append_audit(entry).await {
            eprintln!("sip-dect-mom: warning: the change is made but the audit trail could not record it: {e}");
        }
        Ok::<u64, String>(rev)
    }
    .await;
    match result {
        Ok(rev) => {
            println!("database imported from {} (revision {rev})", file.display());
            0
        }
        Err(e) if secrets_key.is_none() && e.contains("secrets.key") => {
            eprintln!("sip-dect-mom: {e}");
            eprintln!(
                "sip-dect-mom: give it with: sip-dect-mom db import {} --secrets-key KEYFILE",
                file.display()
            );
            1
        }
        Err(e) => {
            eprintln!("sip-dect-mom: {e}");
            1
        }
    }
}
