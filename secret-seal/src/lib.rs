//! Secrets at rest: PINs, SIP passwords, OMM passwords and second-factor secrets are kept
//! sealed (AES-256-GCM, a random nonce per value) under a key that lives in a file of its
//! own beside the data, mode 0600, never inside the database or an export. A copy of the
//! database or of an export alone does not give the secrets away; a backup needs the key
//! file too (README, "Backup").
//!
//! A sealed value is text, so it fits the records' string fields unchanged:
//! `sealed:1:<key id>:<base64 of nonce, ciphertext and tag>`. The key id (the first four
//! bytes of the key's SHA-256, in hex) tells which installation's key sealed a value, so an
//! import can say which key it needs. The field's name is bound in as associated data, so
//! a sealed PIN cannot be moved into a password field. An empty value stays empty: "not
//! set" remains visible and costs nothing.
//!
//! The cipher is ring's; only the framing (prefix, key file) is ours.

#![forbid(unsafe_code)]

use base64::engine::general_purpose::STANDARD as BASE64;
use base64::Engine as _;
pub use ring::aead::NONCE_LEN;
use ring::aead::{Aad, LessSafeKey, Nonce, UnboundKey, AES_256_GCM};
use ring::rand::{SecureRandom, SystemRandom};
use std::fmt;
use std::path::Path;

/// What every sealed value starts with (format version 1).
pub const PREFIX: &str = "sealed:1:";

/// The comment line a key file starts with.
const FILE_COMMENT: &str = "# sip-dect-mom secrets key: keep a copy with your database \
exports; without it the PINs and passwords in them cannot be opened";

/// A sealing key.
pub struct Key {
    bytes: [u8; 32],
    aead: LessSafeKey,
    id: String,
}

impl fmt::Debug for Key {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Key")
            .field("id", &self.id)
            .finish_non_exhaustive()
    }
}

/// Why a key could not be made, read or written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KeyError {
    /// The system's random source failed.
    Random,
    /// The key file is not a key; the text says why.
    Damaged(String),
    /// The key file could not be read or written.
    Io(String),
}

impl fmt::Display for KeyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Random => write!(f, "the system's random source failed"),
            Self::Damaged(why) => write!(f, "the secrets key file is damaged: {why}"),
            Self::Io(why) => write!(f, "{why}"),
        }
    }
}

impl std::error::Error for KeyError {}

/// Why a stored value could not be opened.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OpenError {
    /// The value is not sealed (stored in clear by an older version).
    NotSealed,
    /// Another key sealed it: another installation's, named by its id.
    OtherKey {
        /// The id of the key that sealed it.
        sealed_by: String,
        /// The id of the key that tried.
        ours: String,
    },
    /// It names this key but does not open: changed or cut short.
    Damaged,
}

impl fmt::Display for OpenError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::NotSealed => write!(f, "the value is not sealed"),
            Self::OtherKey { sealed_by, ours } => write!(
                f,
                "it was sealed with the secrets key {sealed_by} of another installation \
                 (this one's is {ours})"
            ),
            Self::Damaged => write!(f, "the sealed value is damaged"),
        }
    }
}

impl std::error::Error for OpenError {}

/// The id of the key that sealed `stored`, `None` when it is not a sealed value.
#[must_use]
pub fn sealed_by(stored: &str) -> Option<&str> {
    let rest = stored.strip_prefix(PREFIX)?;
    let (id, _) = rest.split_once(':')?;
    Some(id)
}

/// Whether `stored` is a sealed value.
#[must_use]
pub fn is_sealed(stored: &str) -> bool {
    sealed_by(stored).is_some()
}

impl Key {
    fn from_bytes(bytes: [u8; 32]) -> Self {
        let digest = ring::digest::digest(&ring::digest::SHA256, &bytes);
        let id = digest.as_ref()[..4]
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        let unbound = UnboundKey::new(&AES_256_GCM, &bytes)
            .unwrap_or_else(|_| unreachable!("AES-256-GCM takes a 32-byte key"));
        Self {
            bytes,
            aead: LessSafeKey::new(unbound),
            id,
        }
    }

    /// A new random key.
    ///
    /// # Errors
    /// [`KeyError::Random`] when the system's random source fails.
    pub fn generate() -> Result<Self, KeyError> {
        let mut bytes = [0u8; 32];
        SystemRandom::new()
            .fill(&mut bytes)
            .map_err(|_| KeyError::Random)?;
        Ok(Self::from_bytes(bytes))
    }

    /// The key written as [`Key::file_text`] wrote it (comment lines and blank lines are
    /// skipped).
    ///
    /// # Errors
    /// [`KeyError::Damaged`] saying what is wrong.
    pub fn from_file_text(text: &str) -> Result<Self, KeyError> {
        let mut lines = text
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty() && !l.starts_with('#'));
        let line = lines
            .next()
            .ok_or_else(|| KeyError::Damaged("it holds no key".into()))?;
        if lines.next().is_some() {
            return Err(KeyError::Damaged("it holds more than one line".into()));
        }
        let decoded = BASE64
            .decode(line)
            .map_err(|e| KeyError::Damaged(format!("not base64: {e}")))?;
        let bytes: [u8; 32] = decoded.try_into().map_err(|v: Vec<u8>| {
            KeyError::Damaged(format!("{} bytes where a key has 32", v.len()))
        })?;
        Ok(Self::from_bytes(bytes))
    }

    /// The key file's text: a comment line and the key in base64.
    #[must_use]
    pub fn file_text(&self) -> String {
        format!("{FILE_COMMENT}\n{}\n", BASE64.encode(self.bytes))
    }

    /// The key's id: the first four bytes of its SHA-256, in hex.
    #[must_use]
    pub fn id(&self) -> &str {
        &self.id
    }

    /// `plain` sealed for the field `field`; an empty value stays empty.
    ///
    /// # Errors
    /// [`KeyError::Random`] when sealing fails (it does not with a valid key).
    pub fn seal(&self, field: &str, plain: &str) -> Result<String, KeyError> {
        // A random nonce from the thread's CSPRNG (seeded from the system, reseeded by
        // rand): a system call per value made bulk imports half as fast again. 96 random
        // bits stay far from a repeat for the values one key ever seals.
        let mut nonce = [0u8; NONCE_LEN];
        rand::Rng::fill(&mut rand::rng(), &mut nonce[..]);
        self.seal_with_nonce(field, plain, nonce)
    }

    /// Like [`Key::seal`] with the caller's `nonce`, which must be as unlikely to repeat as
    /// a random one (a CSPRNG's output): the store draws it from a cluster entry's seeded
    /// stream, so every node seals a value alike.
    ///
    /// # Errors
    /// [`KeyError::Random`] when sealing fails (it does not with a valid key).
    pub fn seal_with_nonce(
        &self,
        field: &str,
        plain: &str,
        nonce: [u8; NONCE_LEN],
    ) -> Result<String, KeyError> {
        if plain.is_empty() {
            return Ok(String::new());
        }
        let mut buffer = Vec::with_capacity(plain.len() + AES_256_GCM.tag_len());
        buffer.extend_from_slice(plain.as_bytes());
        self.aead
            .seal_in_place_append_tag(
                Nonce::assume_unique_for_key(nonce),
                Aad::from(field.as_bytes()),
                &mut buffer,
            )
            .map_err(|_| KeyError::Random)?;
        let mut framed = Vec::with_capacity(NONCE_LEN + buffer.len());
        framed.extend_from_slice(&nonce);
        framed.extend_from_slice(&buffer);
        let mut out =
            String::with_capacity(PREFIX.len() + self.id.len() + 1 + framed.len() * 4 / 3 + 4);
        out.push_str(PREFIX);
        out.push_str(&self.id);
        out.push(':');
        BASE64.encode_string(framed, &mut out);
        Ok(out)
    }

    /// The plain value of `stored`, sealed for the field `field`; empty stays empty.
    ///
    /// # Errors
    /// [`OpenError`] saying why it does not open.
    pub fn open(&self, field: &str, stored: &str) -> Result<String, OpenError> {
        if stored.is_empty() {
            return Ok(String::new());
        }
        let sealed_by = sealed_by(stored).ok_or(OpenError::NotSealed)?;
        if sealed_by != self.id {
            return Err(OpenError::OtherKey {
                sealed_by: sealed_by.to_owned(),
                ours: self.id.clone(),
            });
        }
        let body = &stored[PREFIX.len() + sealed_by.len() + 1..];
        let mut framed = BASE64.decode(body).map_err(|_| OpenError::Damaged)?;
        if framed.len() < NONCE_LEN {
            return Err(OpenError::Damaged);
        }
        let mut ciphertext = framed.split_off(NONCE_LEN);
        let nonce: [u8; NONCE_LEN] = framed.try_into().map_err(|_| OpenError::Damaged)?;
        let plain = self
            .aead
            .open_in_place(
                Nonce::assume_unique_for_key(nonce),
                Aad::from(field.as_bytes()),
                &mut ciphertext,
            )
            .map_err(|_| OpenError::Damaged)?;
        String::from_utf8(plain.to_vec()).map_err(|_| OpenError::Damaged)
    }

    /// The key in the file at `path`, made there (mode 0600, written whole or not at all)
    /// when the file does not exist; whether it was made now. A key file that others may
    /// read is made private.
    ///
    /// # Errors
    /// [`KeyError`] when the file cannot be read, made or parsed.
    pub fn load_or_create(path: &Path) -> Result<(Self, bool), KeyError> {
        match Self::load(path) {
            Ok(key) => Ok((key, false)),
            Err(KeyError::Io(_)) if !path.exists() => {
                let key = Self::generate()?;
                write_private(path, key.file_text().as_bytes())
                    .map_err(|e| KeyError::Io(format!("writing {}: {e}", path.display())))?;
                Ok((key, true))
            }
            Err(e) => Err(e),
        }
    }

    /// The key in the file at `path`.
    ///
    /// # Errors
    /// [`KeyError::Io`] when it cannot be read, [`KeyError::Damaged`] when it is no key.
    pub fn load(path: &Path) -> Result<Self, KeyError> {
        use std::os::unix::fs::PermissionsExt;
        let text = std::fs::read_to_string(path)
            .map_err(|e| KeyError::Io(format!("reading {}: {e}", path.display())))?;
        let key = Self::from_file_text(&text).map_err(|e| match e {
            KeyError::Damaged(why) => KeyError::Damaged(format!("{}: {why}", path.display())),
            other => other,
        })?;
        let mode = std::fs::metadata(path)
            .map_err(|e| KeyError::Io(format!("{}: {e}", path.display())))?
            .permissions()
            .mode();
        if mode & 0o077 != 0 {
            std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600))
                .map_err(|e| KeyError::Io(format!("making {} private: {e}", path.display())))?;
        }
        Ok(key)
    }
}

/// Writes `bytes` to a temporary file of mode 0600, syncs it and renames it to `path`, so
/// the file is there whole or not at all.
fn write_private(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let tmp = path.with_extension("key.tmp");
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(&tmp)?;
    file.write_all(bytes)?;
    file.sync_all()?;
    std::fs::rename(&tmp, path)?;
    if let Some(dir) = path.parent() {
        std::fs::File::open(dir)?.sync_all()?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_sealed_value_opens_with_its_key_and_field_only() {
        let key = Key::generate().unwrap();
        let sealed = key.seal("pin", "4711").unwrap();
        assert!(
            sealed.starts_with(PREFIX) && !sealed.contains("4711"),
            "{sealed}"
        );
        assert_eq!(sealed_by(&sealed), Some(key.id()));
        assert_eq!(key.open("pin", &sealed).unwrap(), "4711");
        // Bound to its field: the same text does not open as another field.
        assert_eq!(key.open("sip_pw", &sealed), Err(OpenError::Damaged));
        // Two seals of one value differ (a nonce each).
        assert_ne!(key.seal("pin", "4711").unwrap(), sealed);
        // Another key says whose it is.
        let other = Key::generate().unwrap();
        assert_eq!(
            other.open("pin", &sealed),
            Err(OpenError::OtherKey {
                sealed_by: key.id().to_owned(),
                ours: other.id().to_owned()
            })
        );
    }

    #[test]
    fn empty_stays_empty_and_clear_or_changed_values_do_not_open() {
        let key = Key::generate().unwrap();
        assert_eq!(key.seal("pin", "").unwrap(), "");
        assert_eq!(key.open("pin", "").unwrap(), "");
        assert_eq!(key.open("pin", "4711"), Err(OpenError::NotSealed));
        let sealed = key.seal("sip_pw", "geheim ünd lang").unwrap();
        // One character of the ciphertext changed, or the value cut short.
        let mut bytes = sealed.clone().into_bytes();
        let last = bytes.len() - 3;
        bytes[last] = if bytes[last] == b'A' { b'B' } else { b'A' };
        let changed = String::from_utf8(bytes).unwrap();
        assert_eq!(key.open("sip_pw", &changed), Err(OpenError::Damaged));
        assert_eq!(
            key.open("sip_pw", &sealed[..sealed.len() - 8]),
            Err(OpenError::Damaged)
        );
        let short = format!("{PREFIX}{}:AAAA", key.id());
        assert_eq!(key.open("sip_pw", &short), Err(OpenError::Damaged));
        assert_eq!(key.open("sip_pw", &sealed).unwrap(), "geheim ünd lang");
    }

    #[test]
    fn the_key_file_round_trips_is_private_and_a_damaged_one_is_named() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("secrets.key");
        let (made, created) = Key::load_or_create(&path).unwrap();
        assert!(created);
        let mode = std::fs::metadata(&path).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
        let (again, created) = Key::load_or_create(&path).unwrap();
        assert!(!created);
        assert_eq!(again.id(), made.id());
        let sealed = made.seal("secret", "JBSWY3DPEHPK3PXP").unwrap();
        assert_eq!(again.open("secret", &sealed).unwrap(), "JBSWY3DPEHPK3PXP");
        // Made readable by others, it is made private again when read.
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
        Key::load(&path).unwrap();
        let mode = std::fs::metadata(&path).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
        // A damaged file is refused with its name, not replaced.
        std::fs::write(&path, "not a key\n").unwrap();
        let err = Key::load_or_create(&path).unwrap_err();
        assert!(
            matches!(&err, KeyError::Damaged(why) if why.contains("secrets.key")),
            "{err}"
        );
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "not a key\n");
        std::fs::write(&path, "# comment\n\nAAAA\n").unwrap();
        assert!(matches!(Key::load(&path), Err(KeyError::Damaged(why)) if why.contains("3 bytes")));
        assert!(format!("{made:?}").contains(made.id()));
        assert!(!format!("{made:?}").contains(&made.file_text()[FILE_COMMENT.len() + 1..]));
    }
}
