//! The two folders the OMMs reach (admin guide "OMM resource files"): `resources/` (common
//! files, no credentials) and `omm_files/Cloud-ID-<cloud-id>/` (one per OMM, its
//! credentials only), under svc-web's state folder.
//!
//! Confinement does not rest on string checks alone: every path is first parsed into plain
//! name segments ([`RelPath`]: no `..`, no `.`, no empty segment, nothing that decodes to a
//! `/`, `\`, NUL, control character or `%`), then opened through a `cap_std::fs::Dir` of
//! the folder itself, whose lookups (`openat2` with `RESOLVE_BENEATH` on Linux) cannot
//! leave it — a symlink planted inside that points out is refused by the kernel. Symlinks
//! are refused also when they point inside. Writes go to a temporary file in the same
//! folder and are renamed over the target when complete, so a broken upload never replaces
//! a good file.

use cap_std::fs::{Dir, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};

/// Most segments of a path below a folder.
pub const MAX_DEPTH: usize = 8;
/// Longest segment.
pub const MAX_SEGMENT: usize = 255;
/// Most entries a listing shows.
pub const MAX_LISTED: usize = 10_000;

/// Why a path or file operation was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FileError {
    /// The path is not allowed (traversal, bad characters); the text says why.
    BadPath(String),
    /// No such file (or it is a symlink or folder where a file is wanted).
    NotFound,
    /// The upload is larger than allowed.
    TooLarge(u64),
    /// The MOM's disk (or the folder's file system) is full.
    Full,
    /// A file-system error, for the log.
    Io(String),
}

impl std::fmt::Display for FileError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::BadPath(why) => write!(f, "path refused: {why}"),
            Self::NotFound => write!(f, "no such file"),
            Self::TooLarge(max) => write!(f, "the file is larger than {max} bytes"),
            Self::Full => write!(f, "the disk is full"),
            Self::Io(e) => write!(f, "file error: {e}"),
        }
    }
}

fn io(e: &std::io::Error) -> FileError {
    match e.kind() {
        std::io::ErrorKind::NotFound => FileError::NotFound,
        // cap-std refuses an escape as PermissionDenied (EXDEV/EACCES inside).
        std::io::ErrorKind::PermissionDenied => FileError::BadPath("it leaves the folder".into()),
        // ELOOP: a symlink where the lookup allows none; EXDEV: it would leave the folder.
        _ if [nix::errno::Errno::ENOSPC, nix::errno::Errno::EDQUOT]
            .iter()
            .any(|n| e.raw_os_error() == Some(*n as i32)) =>
        {
            FileError::Full
        }
        _ if [nix::errno::Errno::ELOOP, nix::errno::Errno::EXDEV]
            .iter()
            .any(|n| e.raw_os_error() == Some(*n as i32)) =>
        {
            FileError::BadPath("it leaves the folder".into())
        }
        _ => FileError::Io(e.to_string()),
    }
}

/// A path below a folder: plain name segments only.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RelPath(Vec<String>);

impl RelPath {
    /// Parses the raw (still percent-encoded) path of a request below its folder.
    ///
    /// # Errors
    /// [`FileError::BadPath`] saying what is wrong.
    pub fn parse(raw: &str) -> Result<Self, FileError> {
        let bad = |why: &str| Err(FileError::BadPath(why.to_owned()));
        let raw = raw.trim_start_matches('/');
        if raw.is_empty() {
            return bad("no file name");
        }
        let mut segments = Vec::new();
        for piece in raw.split('/') {
            let decoded = percent_encoding::percent_decode_str(piece)
                .decode_utf8()
                .map_err(|_| FileError::BadPath("not UTF-8".into()))?;
            let name = decoded.as_ref();
            if name.is_empty() {
                return bad("an empty segment");
            }
            if name == "." || name == ".." {
                return bad("`.` and `..` are not allowed");
            }
            if name.starts_with('.') {
                return bad("names starting with `.` are not allowed");
            }
            if let Some(c) = name
                .chars()
                .find(|c| matches!(c, '/' | '\\' | '%' | '\0') || c.is_control())
            {
                return Err(FileError::BadPath(format!(
                    "the character {} is not allowed",
                    c.escape_unicode()
                )));
            }
            if name.len() > MAX_SEGMENT {
                return bad("a segment is too long");
            }
            segments.push(name.to_owned());
        }
        if segments.len() > MAX_DEPTH {
            return bad("too deep");
        }
        Ok(Self(segments))
    }

    /// Parses a path that was already percent-decoded (a query parameter): the rules of
    /// [`RelPath::parse`], and no `%` at all (so nothing is decoded twice).
    ///
    /// # Errors
    /// [`FileError::BadPath`] saying what is wrong.
    pub fn parse_plain(decoded: &str) -> Result<Self, FileError> {
        if decoded.contains('%') {
            return Err(FileError::BadPath("the character % is not allowed".into()));
        }
        Self::parse(decoded)
    }

    /// The path, relative.
    #[must_use]
    pub fn path(&self) -> PathBuf {
        self.0.iter().collect()
    }

    /// The folder part (empty for a file directly in the folder) and the file name.
    #[must_use]
    pub fn split(&self) -> (PathBuf, &str) {
        let (name, parents) = self.0.split_last().expect("parse refuses an empty path");
        (parents.iter().collect(), name)
    }
}

/// One entry of a listing.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, utoipa::ToSchema)]
pub struct Listed {
    /// Path below the folder, `/`-separated; folders end with `/`.
    pub path: String,
    /// Size in bytes (0 for folders).
    pub size: u64,
    /// Last change, seconds since the epoch.
    pub modified: u64,
}

/// A folder the OMMs reach.
#[derive(Debug)]
pub struct Folder {
    dir: Dir,
    name: String,
}

/// What an opened file is.
pub struct Opened {
    /// The file.
    pub file: std::fs::File,
    /// Its size.
    pub size: u64,
    /// Its last change.
    pub modified: std::time::SystemTime,
}

impl Folder {
    /// Opens (creating it, mode 0700) the folder at `path`.
    ///
    /// # Errors
    /// A text when it cannot be created or opened.
    pub fn open(path: &Path) -> Result<Self, String> {
        use std::os::unix::fs::DirBuilderExt;
        std::fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(path)
            .map_err(|e| format!("cannot create {}: {e}", path.display()))?;
        let dir = Dir::open_ambient_dir(path, cap_std::ambient_authority())
            .map_err(|e| format!("cannot open {}: {e}", path.display()))?;
        Ok(Self {
            dir,
            name: path.display().to_string(),
        })
    }

    /// The same folder, as a second handle (for work on a blocking thread).
    ///
    /// # Errors
    /// [`FileError::Io`].
    pub fn try_clone(&self) -> Result<Folder, FileError> {
        Ok(Folder {
            dir: self.dir.try_clone().map_err(|e| io(&e))?,
            name: self.name.clone(),
        })
    }

    /// The sub-folder `name` (one segment), confined the same way; `create` makes it.
    ///
    /// # Errors
    /// [`FileError::NotFound`] when it does not exist and `create` is false.
    pub fn sub(&self, name: &str, create: bool) -> Result<Folder, FileError> {
        let rel = RelPath::parse(name)?;
        if rel.0.len() != 1 {
            return Err(FileError::BadPath("one folder name expected".into()));
        }
        if create {
            match self.dir.create_dir(&rel.0[0]) {
                Ok(()) => {}
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
                Err(e) => return Err(io(&e)),
            }
        }
        self.no_symlink(&rel.path())?;
        let dir = self.dir.open_dir(&rel.0[0]).map_err(|e| io(&e))?;
        Ok(Folder {
            dir,
            name: format!("{}/{}", self.name, rel.0[0]),
        })
    }

    fn no_symlink(&self, path: &Path) -> Result<(), FileError> {
        // Each component: a symlink is refused even where it points inside.
        let mut at = PathBuf::new();
        for part in path.components() {
            at.push(part);
            match self.dir.symlink_metadata(&at) {
                Ok(m) if m.file_type().is_symlink() => {
                    return Err(FileError::BadPath("a symlink is in the way".into()))
                }
                Ok(_) => {}
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
                Err(e) => return Err(io(&e)),
            }
        }
        Ok(())
    }

    /// Opens the file at `rel` for reading.
    ///
    /// # Errors
    /// [`FileError`].
    pub fn read(&self, rel: &RelPath) -> Result<Opened, FileError> {
        self.no_symlink(&rel.path())?;
        let file = self.dir.open(rel.path()).map_err(|e| io(&e))?;
        let meta = file.metadata().map_err(|e| io(&e))?;
        if !meta.is_file() {
            return Err(FileError::NotFound);
        }
        let modified = meta
            .modified()
            .map(cap_std::time::SystemTime::into_std)
            .unwrap_or(std::time::UNIX_EPOCH);
        Ok(Opened {
            file: file.into_std(),
            size: meta.len(),
            modified,
        })
    }

    /// Starts writing the file at `rel` (its folders are created): a temporary file beside
    /// it, which [`Upload::commit`] renames over it.
    ///
    /// # Errors
    /// [`FileError`].
    pub fn begin_upload(&self, rel: &RelPath, max: u64) -> Result<Upload, FileError> {
        let (parent, name) = rel.split();
        if !parent.as_os_str().is_empty() {
            self.no_symlink(&parent)?;
            self.dir.create_dir_all(&parent).map_err(|e| io(&e))?;
        }
        self.no_symlink(&rel.path())?;
        if self
            .dir
            .symlink_metadata(rel.path())
            .is_ok_and(|m| m.is_dir())
        {
            return Err(FileError::BadPath("a folder has this name".into()));
        }
        let temp = parent.join(format!(
            ".upload-{}-{name}",
            crate::sessions::random_token()
        ));
        let mut options = OpenOptions::new();
        options.write(true).create_new(true);
        let file = self.dir.open_with(&temp, &options).map_err(|e| io(&e))?;
        Ok(Upload {
            dir: self.dir.try_clone().map_err(|e| io(&e))?,
            temp,
            target: rel.path(),
            file: Some(file.into_std()),
            written: 0,
            max,
        })
    }

    /// Deletes the file (or empty folder) at `rel`.
    ///
    /// # Errors
    /// [`FileError`].
    pub fn delete(&self, rel: &RelPath) -> Result<(), FileError> {
        self.no_symlink(&rel.path())?;
        let meta = self.dir.symlink_metadata(rel.path()).map_err(|e| io(&e))?;
        if meta.is_dir() {
            self.dir.remove_dir(rel.path()).map_err(|e| io(&e))
        } else {
            self.dir.remove_file(rel.path()).map_err(|e| io(&e))
        }
    }

    /// Every file and folder below, depth first, at most [`MAX_LISTED`] (symlinks and
    /// unfinished uploads left out).
    ///
    /// # Errors
    /// [`FileError`].
    pub fn list(&self) -> Result<Vec<Listed>, FileError> {
        let mut out = Vec::new();
        walk(&self.dir, "", 0, &mut out)?;
        out.sort_by(|a, b| a.path.cmp(&b.path));
        Ok(out)
    }

    /// The names of the sub-folders.
    ///
    /// # Errors
    /// [`FileError`].
    pub fn folders(&self) -> Result<Vec<String>, FileError> {
        let mut out = Vec::new();
        for entry in self.dir.entries().map_err(|e| io(&e))? {
            let entry = entry.map_err(|e| io(&e))?;
            if entry.file_type().is_ok_and(|t| t.is_dir()) {
                out.push(entry.file_name().to_string_lossy().into_owned());
            }
        }
        out.sort();
        Ok(out)
    }
}

impl Folder {
    /// Removes the temporary files of uploads that a killed svc-web left behind (a running
    /// upload removes its own when it fails); returns how many.
    #[must_use]
    pub fn remove_stale_uploads(&self) -> usize {
        fn clean(dir: &Dir, depth: usize) -> usize {
            let Ok(entries) = dir.entries() else {
                return 0;
            };
            let mut removed = 0;
            for entry in entries.flatten() {
                let name = entry.file_name().to_string_lossy().into_owned();
                match entry.file_type() {
                    Ok(t) if t.is_file() && name.starts_with(".upload-") => {
                        removed += usize::from(dir.remove_file(&name).is_ok());
                    }
                    Ok(t) if t.is_dir() && depth < MAX_DEPTH => {
                        if let Ok(sub) = entry.open_dir() {
                            removed += clean(&sub, depth + 1);
                        }
                    }
                    _ => {}
                }
            }
            removed
        }
        clean(&self.dir, 0)
    }
}

fn walk(dir: &Dir, prefix: &str, depth: usize, out: &mut Vec<Listed>) -> Result<(), FileError> {
    if depth > MAX_DEPTH {
        return Ok(());
    }
    for entry in dir.entries().map_err(|e| io(&e))? {
        if out.len() >= MAX_LISTED {
            return Ok(());
        }
        let entry = entry.map_err(|e| io(&e))?;
        let name = entry.file_name().to_string_lossy().into_owned();
        if name.starts_with('.') {
            continue;
        }
        let Ok(kind) = entry.file_type() else {
            continue;
        };
        let meta = entry.metadata().ok();
        let modified = meta
            .as_ref()
            .and_then(|m| m.modified().ok())
            .map(cap_std::time::SystemTime::into_std)
            .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
            .map_or(0, |d| d.as_secs());
        if kind.is_dir() {
            out.push(Listed {
                path: format!("{prefix}{name}/"),
                size: 0,
                modified,
            });
            if let Ok(sub) = entry.open_dir() {
                walk(&sub, &format!("{prefix}{name}/"), depth + 1, out)?;
            }
        } else if kind.is_file() {
            out.push(Listed {
                path: format!("{prefix}{name}"),
                size: meta.map_or(0, |m| m.len()),
                modified,
            });
        }
    }
    Ok(())
}

/// A file being written; dropped without [`Upload::commit`], it is removed and the old
/// file stays.
pub struct Upload {
    dir: Dir,
    temp: PathBuf,
    target: PathBuf,
    file: Option<std::fs::File>,
    written: u64,
    max: u64,
}

impl Upload {
    /// Appends `bytes`.
    ///
    /// # Errors
    /// [`FileError::TooLarge`] past the limit, or a write error.
    pub fn write(&mut self, bytes: &[u8]) -> Result<(), FileError> {
        self.written += bytes.len() as u64;
        if self.written > self.max {
            return Err(FileError::TooLarge(self.max));
        }
        let file = self.file.as_mut().ok_or(FileError::NotFound)?;
        file.write_all(bytes).map_err(|e| io(&e))
    }

    /// Makes the file durable and puts it in place; returns its size.
    ///
    /// # Errors
    /// A write, sync or rename error (the old file stays).
    pub fn commit(mut self) -> Result<u64, FileError> {
        let file = self.file.take().ok_or(FileError::NotFound)?;
        file.sync_all().map_err(|e| io(&e))?;
        drop(file);
        self.dir
            .rename(&self.temp, &self.dir, &self.target)
            .map_err(|e| io(&e))?;
        self.temp = PathBuf::new();
        Ok(self.written)
    }
}

impl Drop for Upload {
    fn drop(&mut self) {
        if !self.temp.as_os_str().is_empty() {
            let _ = self.dir.remove_file(&self.temp);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn traversal_in_every_encoding_is_refused() {
        for raw in [
            "../x",
            "a/../../x",
            "%2e%2e/x",
            "%2E%2E%2Fx",
            "a%2fb",
            "a%5cb",
            "..%5c..%5cx",
            "%252e%252e/x",
            "a/./b",
            "a//b",
            ".hidden",
            "x%00y",
            "%c0%ae%c0%ae/x",
            "a\\..\\b",
            "",
        ] {
            assert!(
                matches!(RelPath::parse(raw), Err(FileError::BadPath(_))),
                "{raw:?} was accepted"
            );
        }
        assert_eq!(
            RelPath::parse("Backup/db%20one.dat").unwrap().path(),
            PathBuf::from("Backup/db one.dat")
        );
        let deep = ["a"; MAX_DEPTH + 1].join("/");
        assert!(RelPath::parse(&deep).is_err());
    }

    #[test]
    fn a_symlink_out_of_the_folder_or_inside_it_is_refused() {
        let root = tempfile::tempdir().unwrap();
        std::fs::write(root.path().join("secret"), "s").unwrap();
        let folder = Folder::open(&root.path().join("f")).unwrap();
        std::os::unix::fs::symlink(root.path().join("secret"), root.path().join("f/out")).unwrap();
        std::os::unix::fs::symlink("../secret", root.path().join("f/rel")).unwrap();
        std::fs::write(root.path().join("f/real"), "r").unwrap();
        std::os::unix::fs::symlink("real", root.path().join("f/inside")).unwrap();
        for name in ["out", "rel", "inside"] {
            let e = folder.read(&RelPath::parse(name).unwrap()).err().unwrap();
            assert!(matches!(e, FileError::BadPath(_)), "{name}: {e:?}");
        }
        assert!(folder.read(&RelPath::parse("real").unwrap()).is_ok());
        // Writing through a planted symlink does not reach the target either.
        let upload = folder.begin_upload(&RelPath::parse("out").unwrap(), 10);
        assert!(upload.is_err());
        assert_eq!(
            std::fs::read_to_string(root.path().join("secret")).unwrap(),
            "s"
        );
    }

    #[test]
    fn a_full_disk_is_told_apart_from_other_errors() {
        let full = std::io::Error::from_raw_os_error(nix::errno::Errno::ENOSPC as i32);
        assert_eq!(io(&full), FileError::Full);
        let quota = std::io::Error::from_raw_os_error(nix::errno::Errno::EDQUOT as i32);
        assert_eq!(io(&quota), FileError::Full);
        let other = std::io::Error::from_raw_os_error(nix::errno::Errno::EIO as i32);
        assert!(matches!(io(&other), FileError::Io(_)));
    }

    #[test]
    fn uploads_left_by_a_killed_server_are_removed_at_start() {
        let root = tempfile::tempdir().unwrap();
        let folder = Folder::open(root.path()).unwrap();
        std::fs::create_dir_all(root.path().join("Cloud-ID-001F10000001/backup")).unwrap();
        std::fs::write(
            root.path()
                .join("Cloud-ID-001F10000001/backup/.upload-x-db.xml"),
            "half",
        )
        .unwrap();
        std::fs::write(
            root.path().join("Cloud-ID-001F10000001/backup/db.xml"),
            "good",
        )
        .unwrap();
        std::fs::write(root.path().join(".upload-y-a"), "half").unwrap();
        assert_eq!(folder.remove_stale_uploads(), 2);
        assert_eq!(
            std::fs::read_to_string(root.path().join("Cloud-ID-001F10000001/backup/db.xml"))
                .unwrap(),
            "good"
        );
        assert_eq!(folder.remove_stale_uploads(), 0);
    }

    #[test]
    fn an_upload_broken_off_or_too_large_keeps_the_old_file() {
        let root = tempfile::tempdir().unwrap();
        let folder = Folder::open(root.path()).unwrap();
        let rel = RelPath::parse("Backup/db.dat").unwrap();
        let mut up = folder.begin_upload(&rel, 100).unwrap();
        up.write(b"good").unwrap();
        assert_eq!(up.commit().unwrap(), 4);
        let mut up = folder.begin_upload(&rel, 100).unwrap();
        up.write(b"half").unwrap();
        drop(up);
        let mut up = folder.begin_upload(&rel, 5).unwrap();
        assert!(matches!(
            up.write(b"too large"),
            Err(FileError::TooLarge(5))
        ));
        drop(up);
        assert_eq!(
            std::fs::read_to_string(root.path().join("Backup/db.dat")).unwrap(),
            "good"
        );
        let listed = folder.list().unwrap();
        assert_eq!(
            listed.iter().map(|l| l.path.as_str()).collect::<Vec<_>>(),
            ["Backup/", "Backup/db.dat"],
            "no temporary file is left"
        );
    }
}
