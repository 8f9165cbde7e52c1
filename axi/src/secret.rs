//! Secret attributes (`pin`, `sipPw`, ...): RSA PKCS#1 v1.5 with the receiver's public key,
//! base64 on the wire (axi-profile.md §2 and §10).
//!
//! Keys travel as hexadecimal modulus and exponent, written upper case with an even number of
//! digits. Note: the `rsa` crate's PKCS#1 v1.5 decryption is not constant-time (RUSTSEC-2023-0071);
//! only the MOM and the simulator decrypt, with keys they made for one link.

use base64::Engine;
use rsa::traits::PublicKeyParts;
use rsa::{BigUint, Pkcs1v15Encrypt, RsaPrivateKey, RsaPublicKey};
use std::fmt;

/// Why a secret or key could not be used.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SecretError {
    /// Modulus or exponent is not usable hex or not a valid RSA key.
    BadKey(String),
    /// The plaintext is longer than the key can hold.
    TooLong {
        /// Plaintext bytes.
        len: usize,
        /// Most the key holds.
        max: usize,
    },
    /// The ciphertext is not base64 or does not decrypt with this key.
    Undecryptable,
    /// Key generation failed.
    KeyGeneration(String),
}

impl fmt::Display for SecretError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::BadKey(e) => write!(f, "unusable public key: {e}"),
            Self::TooLong { len, max } => write!(
                f,
                "secret of {len} bytes is longer than the {max} bytes the key holds"
            ),
            Self::Undecryptable => f.write_str("secret does not decrypt"),
            Self::KeyGeneration(e) => write!(f, "key generation failed: {e}"),
        }
    }
}

impl std::error::Error for SecretError {}

fn hex_to_biguint(hex: &str) -> Result<BigUint, SecretError> {
    let hex = hex.trim();
    if hex.is_empty() || !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(SecretError::BadKey(format!("{hex:?} is not hexadecimal")));
    }
    BigUint::parse_bytes(hex.as_bytes(), 16)
        .ok_or_else(|| SecretError::BadKey("not hexadecimal".into()))
}

fn to_hex(n: &BigUint) -> String {
    let mut hex = n.to_str_radix(16).to_ascii_uppercase();
    if hex.len() % 2 == 1 {
        hex.insert(0, '0');
    }
    hex
}

/// A peer's public key, from the hexadecimal modulus and exponent of a `publicKey` element.
///
/// # Errors
/// [`SecretError::BadKey`] for malformed hex or an invalid or too small (< 512 bit) key.
pub fn public_key(modulus: &str, exponent: &str) -> Result<RsaPublicKey, SecretError> {
    let key = RsaPublicKey::new(hex_to_biguint(modulus)?, hex_to_biguint(exponent)?)
        .map_err(|e| SecretError::BadKey(e.to_string()))?;
    if key.size() * 8 < 512 {
        return Err(SecretError::BadKey(format!(
            "{} bits, at least 512 needed",
            key.size() * 8
        )));
    }
    Ok(key)
}

/// The hexadecimal modulus and exponent of `key`, as `publicKey` carries them.
#[must_use]
pub fn key_hex(key: &RsaPublicKey) -> (String, String) {
    (to_hex(key.n()), to_hex(key.e()))
}

/// Bytes of plaintext a key can hold (PKCS#1 v1.5: size − 11).
#[must_use]
pub fn capacity(key: &RsaPublicKey) -> usize {
    key.size().saturating_sub(11)
}

/// Encrypts a secret for the holder of `key`.
///
/// # Errors
/// [`SecretError::TooLong`] when it does not fit the key.
pub fn encrypt(key: &RsaPublicKey, plaintext: &str) -> Result<String, SecretError> {
    let max = capacity(key);
    if plaintext.len() > max {
        return Err(SecretError::TooLong {
            len: plaintext.len(),
            max,
        });
    }
    let mut rng = rand_core::OsRng;
    let cipher = key
        .encrypt(&mut rng, Pkcs1v15Encrypt, plaintext.as_bytes())
        .map_err(|e| SecretError::BadKey(e.to_string()))?;
    Ok(base64::engine::general_purpose::STANDARD.encode(cipher))
}

/// Decrypts a secret sent to the holder of `key`.
///
/// # Errors
/// [`SecretError::Undecryptable`].
pub fn decrypt(key: &RsaPrivateKey, ciphertext: &str) -> Result<String, SecretError> {
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(ciphertext.trim())
        .map_err(|_| SecretError::Undecryptable)?;
    let plain = key
        .decrypt(Pkcs1v15Encrypt, &bytes)
        .map_err(|_| SecretError::Undecryptable)?;
    String::from_utf8(plain).map_err(|_| SecretError::Undecryptable)
}

/// Makes a new key pair of `bits` bits.
///
/// # Errors
/// [`SecretError::KeyGeneration`].
pub fn generate(bits: usize) -> Result<RsaPrivateKey, SecretError> {
    RsaPrivateKey::new(&mut rand_core::OsRng, bits)
        .map_err(|e| SecretError::KeyGeneration(e.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_secret_round_trips_through_hex_keys() {
        let private = generate(512).unwrap();
        let (n, e) = key_hex(&private.to_public_key());
        assert_eq!(n.len() % 2, 0);
        assert_eq!(e, "010001");
        let public = public_key(&n.to_lowercase(), &e).unwrap();
        let cipher = encrypt(&public, "1234").unwrap();
        assert_eq!(
            cipher.len(),
            88,
            "a 512-bit key gives 64 bytes, 88 base64 characters"
        );
        assert_eq!(decrypt(&private, &cipher).unwrap(), "1234");
    }

    #[test]
    fn too_long_bad_keys_and_garbage_are_clear_errors() {
        let private = generate(512).unwrap();
        let public = private.to_public_key();
        assert_eq!(capacity(&public), 53);
        assert_eq!(
            encrypt(&public, &"x".repeat(54)),
            Err(SecretError::TooLong { len: 54, max: 53 })
        );
        assert!(matches!(
            public_key("zz", "03"),
            Err(SecretError::BadKey(_))
        ));
        assert!(matches!(
            public_key("C3", "03"),
            Err(SecretError::BadKey(_))
        ));
        assert_eq!(
            decrypt(&private, "not base64!"),
            Err(SecretError::Undecryptable)
        );
        assert_eq!(decrypt(&private, "AAAA"), Err(SecretError::Undecryptable));
    }
}
