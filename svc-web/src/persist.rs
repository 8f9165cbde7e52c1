//! svc-web's own small state files (sessions, second factors, API tokens): JSON, written to
//! a temporary file, synced and renamed, so a `kill -9` leaves the old or the new file,
//! never half of one. A damaged file is set aside as `*.bad` and started afresh, with a log
//! line, rather than keeping svc-web down.

use serde::{de::DeserializeOwned, Serialize};
use std::path::{Path, PathBuf};

/// One JSON state file.
#[derive(Debug, Clone)]
pub struct StateFile {
    path: PathBuf,
}

impl StateFile {
    /// The file `name` in `dir`.
    #[must_use]
    pub fn new(dir: &Path, name: &str) -> Self {
        Self {
            path: dir.join(name),
        }
    }

    /// Reads the file; the default when it does not exist or is damaged (set aside).
    #[must_use]
    pub fn load<T: DeserializeOwned + Default>(&self) -> T {
        match std::fs::read(&self.path) {
            Ok(bytes) => match serde_json::from_slice(&bytes) {
                Ok(value) => value,
                Err(e) => {
                    let aside = self.path.with_extension("bad");
                    tracing::warn!(
                        file = %self.path.display(),
                        error = %e,
                        "damaged state file set aside; starting afresh"
                    );
                    let _ = std::fs::rename(&self.path, aside);
                    T::default()
                }
            },
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => T::default(),
            Err(e) => {
                tracing::warn!(file = %self.path.display(), error = %e, "cannot read state file");
                T::default()
            }
        }
    }

    /// Replaces the file with `value`.
    ///
    /// # Errors
    /// A message naming the file.
    pub fn save<T: Serialize>(&self, value: &T) -> Result<(), String> {
        let bytes = serde_json::to_vec(value).map_err(|e| e.to_string())?;
        crate::certificate::write_private(&self.path, &bytes)
    }
}
