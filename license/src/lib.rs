//! The MOM license file (admin guide, "Importing the MOM license file").
//!
//! A license is a short UTF-8 text file of `key: value` lines carrying the guide's fields
//! (installation id, customer name, country, system license, licensed version, SARI), the
//! public key of its issuer and an Ed25519 signature. The signature covers the fields in a
//! canonical form (fixed order, `\n` line ends, a domain prefix), so a file that passed through
//! an editor that added `\r\n` or comments still verifies, while any changed value does not.
//!
//! Issuer keys are files of the same shape holding an Ed25519 seed; the MOM's configuration
//! names the public keys it trusts. This crate is sans-IO: it turns text into checked values
//! and back, nothing more.
#![forbid(unsafe_code)]

use ed25519_dalek::{Signature, Signer, SigningKey, Verifier, VerifyingKey};
use model::License;
use std::fmt;

/// Largest license or key file accepted, in bytes.
pub const MAX_FILE_BYTES: usize = 8 * 1024;
/// Longest value of one field, in characters.
pub const MAX_VALUE_CHARS: usize = 200;

const LICENSE_FORMAT: &str = "sip-dect-mom-license/1";
const KEY_FORMAT: &str = "sip-dect-mom-issuer-key/1";
/// Domain separation: a signature over a license can never be replayed as anything else.
const SIGNING_DOMAIN: &[u8] = b"sip-dect-mom license v1\n";

/// Why a license or key file is refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LicenseError {
    /// Larger than [`MAX_FILE_BYTES`].
    TooLarge(usize),
    /// Not UTF-8 text.
    NotText,
    /// A line is not `key: value`, or a value has control characters or is too long.
    Malformed {
        /// 1-based line number.
        line: usize,
        /// What is wrong.
        why: String,
    },
    /// A key this format does not have.
    UnknownField(String),
    /// A key given twice.
    DuplicateField(String),
    /// A required key is missing.
    MissingField(&'static str),
    /// The `format:` line names another format or version.
    UnsupportedFormat(String),
    /// A field's value is not acceptable (empty installation id, SARI not 10 hex digits, ...).
    InvalidField {
        /// The key.
        field: &'static str,
        /// Why.
        why: String,
    },
    /// The license's issuer is not among the configured issuer keys.
    UnknownIssuer(String),
    /// The signature does not match the fields: the file was changed or forged.
    BadSignature,
    /// The MOM has no issuer keys configured, so it cannot accept any license.
    NoIssuerKeys,
}

impl fmt::Display for LicenseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::TooLarge(n) => write!(f, "file is {n} bytes, more than {MAX_FILE_BYTES}"),
            Self::NotText => f.write_str("file is not UTF-8 text"),
            Self::Malformed { line, why } => write!(f, "line {line}: {why}"),
            Self::UnknownField(k) => write!(f, "unknown field {k:?}"),
            Self::DuplicateField(k) => write!(f, "field {k:?} appears twice"),
            Self::MissingField(k) => write!(f, "field {k:?} is missing"),
            Self::UnsupportedFormat(v) => write!(f, "unsupported format {v:?}"),
            Self::InvalidField { field, why } => write!(f, "{field}: {why}"),
            Self::UnknownIssuer(k) => {
                write!(f, "issued by key {k}, which is not a configured issuer key")
            }
            Self::BadSignature => {
                f.write_str("signature does not match the license: the file was altered or forged")
            }
            Self::NoIssuerKeys => {
                f.write_str("no license issuer keys are configured ([license] issuer-keys)")
            }
        }
    }
}

impl std::error::Error for LicenseError {}

/// An issuer's public key: 32 bytes, written as 64 hex digits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IssuerPublicKey(VerifyingKey);

impl IssuerPublicKey {
    /// Parses 64 hex digits.
    ///
    /// # Errors
    /// [`LicenseError::InvalidField`] when it is not a valid Ed25519 public key.
    pub fn from_hex(text: &str) -> Result<Self, LicenseError> {
        let bytes: [u8; 32] = decode_hex(text.trim(), "issuer")?;
        VerifyingKey::from_bytes(&bytes)
            .map(Self)
            .map_err(|_| invalid("issuer", "not an Ed25519 public key"))
    }

    /// The key as 64 lower-case hex digits.
    #[must_use]
    pub fn to_hex(&self) -> String {
        hex::encode(self.0.as_bytes())
    }
}

impl fmt::Display for IssuerPublicKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_hex())
    }
}

/// An issuer's secret key. Keep it away from the MOM: whoever holds it can issue licenses.
pub struct IssuerKey(SigningKey);

impl fmt::Debug for IssuerKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "IssuerKey(public {})", self.public())
    }
}

impl IssuerKey {
    /// A new random key from the operating system's generator.
    #[must_use]
    pub fn generate() -> Self {
        Self(SigningKey::from_bytes(&rand::random::<[u8; 32]>()))
    }

    /// The public half, to list in the MOM's configuration.
    #[must_use]
    pub fn public(&self) -> IssuerPublicKey {
        IssuerPublicKey(self.0.verifying_key())
    }

    /// The key file's text.
    #[must_use]
    pub fn to_file(&self) -> String {
        format!(
            "# SIP-DECT MOM license issuer key. Secret: whoever holds this file can issue licenses.\n\
             format: {KEY_FORMAT}\nsecret: {}\npublic: {}\n",
            hex::encode(self.0.to_bytes()),
            self.public()
        )
    }

    /// Reads a key file.
    ///
    /// # Errors
    /// Any [`LicenseError`] about the file's shape; a `public:` line that does not belong to
    /// the secret is [`LicenseError::InvalidField`].
    pub fn from_file(bytes: &[u8]) -> Result<Self, LicenseError> {
        let fields = Fields::parse(bytes, &["format", "secret", "public"])?;
        let format = fields.required("format")?;
        if format != KEY_FORMAT {
            return Err(LicenseError::UnsupportedFormat(format.to_owned()));
        }
        let seed: [u8; 32] = decode_hex(fields.required("secret")?, "secret")?;
        let key = Self(SigningKey::from_bytes(&seed));
        if IssuerPublicKey::from_hex(fields.required("public")?)? != key.public() {
            return Err(invalid("public", "does not belong to the secret key"));
        }
        Ok(key)
    }

    /// Issues a license: checks its fields and signs them.
    ///
    /// # Errors
    /// [`LicenseError::InvalidField`] for a field the MOM would refuse.
    pub fn issue(&self, license: &License) -> Result<String, LicenseError> {
        check_fields(license)?;
        let signature = self.0.sign(&signed_bytes(license, &self.public()));
        let mut text = String::from(
            "# SIP-DECT MOM license. The signature covers every field: do not edit.\n",
        );
        text.push_str(&canonical_fields(license, &self.public()));
        text.push_str("signature: ");
        text.push_str(&hex::encode(signature.to_bytes()));
        text.push('\n');
        Ok(text)
    }
}

/// A license whose signature was checked against a trusted issuer key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifiedLicense {
    /// Its fields.
    pub license: License,
    /// The issuer key that signed it.
    pub issuer: IssuerPublicKey,
}

/// Parses a license file and checks its signature against `trusted` issuer keys.
///
/// # Errors
/// Any [`LicenseError`]: the file's shape, a field's value, an unknown issuer, a bad
/// signature, or no trusted keys at all.
pub fn verify(bytes: &[u8], trusted: &[IssuerPublicKey]) -> Result<VerifiedLicense, LicenseError> {
    let fields = Fields::parse(
        bytes,
        &[
            "format",
            "installation-id",
            "customer-name",
            "country",
            "system-license",
            "licensed-version",
            "sari",
            "issuer",
            "signature",
        ],
    )?;
    let format = fields.required("format")?;
    if format != LICENSE_FORMAT {
        return Err(LicenseError::UnsupportedFormat(format.to_owned()));
    }
    let license = License {
        installation_id: fields.required("installation-id")?.to_owned(),
        customer_name: fields.required("customer-name")?.to_owned(),
        country: fields.required("country")?.to_owned(),
        system_license: fields.required("system-license")?.to_owned(),
        licensed_version: fields.required("licensed-version")?.to_owned(),
        sari: fields.required("sari")?.to_owned(),
    };
    check_fields(&license)?;
    let issuer = IssuerPublicKey::from_hex(fields.required("issuer")?)?;
    let signature = Signature::from_bytes(&decode_hex(fields.required("signature")?, "signature")?);
    if trusted.is_empty() {
        return Err(LicenseError::NoIssuerKeys);
    }
    if !trusted.contains(&issuer) {
        return Err(LicenseError::UnknownIssuer(issuer.to_hex()));
    }
    issuer
        .0
        .verify(&signed_bytes(&license, &issuer), &signature)
        .map_err(|_| LicenseError::BadSignature)?;
    Ok(VerifiedLicense { license, issuer })
}

/// The fields in their one canonical form, as written to the file.
fn canonical_fields(license: &License, issuer: &IssuerPublicKey) -> String {
    format!(
        "format: {LICENSE_FORMAT}\ninstallation-id: {}\ncustomer-name: {}\ncountry: {}\n\
         system-license: {}\nlicensed-version: {}\nsari: {}\nissuer: {issuer}\n",
        license.installation_id,
        license.customer_name,
        license.country,
        license.system_license,
        license.licensed_version,
        license.sari,
    )
}

fn signed_bytes(license: &License, issuer: &IssuerPublicKey) -> Vec<u8> {
    let mut bytes = SIGNING_DOMAIN.to_vec();
    bytes.extend_from_slice(canonical_fields(license, issuer).as_bytes());
    bytes
}

/// The rules a license's values follow, the same when issuing and when installing.
fn check_fields(license: &License) -> Result<(), LicenseError> {
    for (field, value) in [
        ("installation-id", &license.installation_id),
        ("customer-name", &license.customer_name),
        ("country", &license.country),
        ("system-license", &license.system_license),
        ("licensed-version", &license.licensed_version),
    ] {
        if value.trim().is_empty() {
            return Err(invalid(field, "must not be empty"));
        }
        check_value(value).map_err(|why| invalid(field, &why))?;
    }
    if license.sari.len() != 10 || !license.sari.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(invalid("sari", "must be 10 hex digits"));
    }
    if license.sari.bytes().any(|b| b.is_ascii_lowercase()) {
        return Err(invalid("sari", "must be upper case"));
    }
    Ok(())
}

fn check_value(value: &str) -> Result<(), String> {
    if value.chars().count() > MAX_VALUE_CHARS {
        return Err(format!("longer than {MAX_VALUE_CHARS} characters"));
    }
    if value.chars().any(char::is_control) {
        return Err("has control characters".into());
    }
    if value != value.trim() {
        return Err("has leading or trailing spaces".into());
    }
    Ok(())
}

fn invalid(field: &'static str, why: &str) -> LicenseError {
    LicenseError::InvalidField {
        field,
        why: why.to_owned(),
    }
}

fn decode_hex<const N: usize>(text: &str, field: &'static str) -> Result<[u8; N], LicenseError> {
    let mut out = [0u8; N];
    hex::decode_to_slice(text, &mut out)
        .map_err(|_| invalid(field, &format!("must be {} hex digits", N * 2)))?;
    Ok(out)
}

/// The `key: value` lines of a file, each known key at most once.
struct Fields<'a> {
    pairs: Vec<(&'a str, &'a str)>,
}

impl<'a> Fields<'a> {
    fn parse(bytes: &'a [u8], known: &[&str]) -> Result<Self, LicenseError> {
        if bytes.len() > MAX_FILE_BYTES {
            return Err(LicenseError::TooLarge(bytes.len()));
        }
        let text = std::str::from_utf8(bytes).map_err(|_| LicenseError::NotText)?;
        let text = text.strip_prefix('\u{feff}').unwrap_or(text);
        let mut pairs: Vec<(&str, &str)> = Vec::new();
        for (index, raw) in text.lines().enumerate() {
            let line = raw.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let malformed = |why: &str| LicenseError::Malformed {
                line: index + 1,
                why: why.to_owned(),
            };
            let (key, value) = line
                .split_once(':')
                .ok_or_else(|| malformed("expected \"key: value\""))?;
            let (key, value) = (key.trim(), value.trim());
            if !known.contains(&key) {
                return Err(LicenseError::UnknownField(key.chars().take(40).collect()));
            }
            if pairs.iter().any(|(k, _)| *k == key) {
                return Err(LicenseError::DuplicateField(key.to_owned()));
            }
            check_value(value).map_err(|why| malformed(&why))?;
            pairs.push((key, value));
        }
        Ok(Self { pairs })
    }

    fn required(&self, key: &'static str) -> Result<&'a str, LicenseError> {
        self.pairs
            .iter()
            .find(|(k, _)| *k == key)
            .map(|(_, v)| *v)
            .ok_or(LicenseError::MissingField(key))
    }
}

#[cfg(test)]
mod tests;
