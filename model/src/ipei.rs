//! IPEI (International Portable Equipment Identity) parsing and check-digit validation.
//!
//! Written form: `EEEEE PPPPPPP C`, a 5-digit EMC, a 7-digit PSN and a check digit that is
//! the sum of each of the 12 digits times its 1-based position, modulo 11, with 10 written `*`.

use serde::{Deserialize, Serialize};
use std::fmt;

/// A validated IPEI, stored as its 12 digits plus check character.
/// The default is `00000 0000000 0`, a placeholder that no handset carries.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Ipei {
    /// Equipment manufacturer code (5 decimal digits, at most 65535).
    pub emc: u32,
    /// Portable equipment serial number (7 decimal digits, at most 1048575).
    pub psn: u32,
}

/// The stored (binary) form: the two numbers, as postcard has always carried them.
#[derive(Serialize, Deserialize)]
#[serde(rename = "Ipei")]
struct StoredIpei {
    emc: u32,
    psn: u32,
}

// Binary formats (postcard: the store, IPC) keep the two numbers; human-readable ones (JSON:
// the REST API) carry the written form `EEEEE PPPPPPP C`, checked when read.
impl Serialize for Ipei {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        if serializer.is_human_readable() {
            serializer.collect_str(self)
        } else {
            StoredIpei {
                emc: self.emc,
                psn: self.psn,
            }
            .serialize(serializer)
        }
    }
}

impl<'de> Deserialize<'de> for Ipei {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        if deserializer.is_human_readable() {
            let text = String::deserialize(deserializer)?;
            Self::parse(&text).map_err(|e| serde::de::Error::custom(format!("IPEI {text:?}: {e}")))
        } else {
            let stored = StoredIpei::deserialize(deserializer)?;
            Ok(Self {
                emc: stored.emc,
                psn: stored.psn,
            })
        }
    }
}

#[cfg(feature = "openapi")]
impl utoipa::PartialSchema for Ipei {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        utoipa::openapi::schema::ObjectBuilder::new()
            .schema_type(utoipa::openapi::schema::Type::String)
            .description(Some(
                "IPEI in its written form `EEEEE PPPPPPP C` (spaces optional)",
            ))
            .examples(["00077 0000001 9"])
            .into()
    }
}

#[cfg(feature = "openapi")]
impl utoipa::ToSchema for Ipei {}

/// Why a string is not a valid IPEI.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum IpeiError {
    /// Not 13 characters (digits, check) once spaces are removed.
    Length(usize),
    /// A non-digit where a digit is required.
    NotADigit,
    /// EMC or PSN outside the 16/20-bit range of an IPUI.
    OutOfRange,
    /// The check digit does not match.
    CheckDigit {
        /// The check character given.
        given: char,
        /// The check character the digits require.
        expected: char,
    },
}

impl fmt::Display for IpeiError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Length(n) => write!(f, "an IPEI has 13 characters (EEEEE PPPPPPP C), got {n}"),
            Self::NotADigit => f.write_str("an IPEI has only digits before its check character"),
            Self::OutOfRange => f.write_str("IPEI EMC or PSN is out of range"),
            Self::CheckDigit { given, expected } => {
                write!(f, "IPEI check digit is {given}, expected {expected}")
            }
        }
    }
}

impl std::error::Error for IpeiError {}

impl Ipei {
    /// Builds an IPEI from its parts, checking their ranges.
    ///
    /// # Errors
    /// [`IpeiError::OutOfRange`] when the EMC exceeds 16 bits or the PSN 20 bits.
    pub fn new(emc: u32, psn: u32) -> Result<Self, IpeiError> {
        if emc > 0xFFFF || psn > 0xF_FFFF {
            return Err(IpeiError::OutOfRange);
        }
        Ok(Self { emc, psn })
    }

    /// The check character of this IPEI.
    #[must_use]
    pub fn check_char(&self) -> char {
        let digits = format!("{:05}{:07}", self.emc, self.psn);
        check_char_of(digits.as_bytes())
    }

    /// Parses the written form; spaces are ignored.
    ///
    /// # Errors
    /// Any [`IpeiError`] describing the first problem found.
    pub fn parse(text: &str) -> Result<Self, IpeiError> {
        let compact: Vec<u8> = text.bytes().filter(|b| *b != b' ').collect();
        if compact.len() != 13 {
            return Err(IpeiError::Length(compact.len()));
        }
        let (digits, check) = compact.split_at(12);
        if !digits.iter().all(u8::is_ascii_digit) {
            return Err(IpeiError::NotADigit);
        }
        let number = |s: &[u8]| s.iter().fold(0u32, |acc, d| acc * 10 + u32::from(d - b'0'));
        let ipei = Self::new(number(&digits[..5]), number(&digits[5..]))?;
        let expected = check_char_of(digits);
        let given = char::from(check[0]).to_ascii_uppercase();
        if given != expected {
            return Err(IpeiError::CheckDigit { given, expected });
        }
        Ok(ipei)
    }
}

fn check_char_of(digits: &[u8]) -> char {
    let sum: u32 = digits
        .iter()
        .zip(1u32..)
        .map(|(d, pos)| u32::from(d - b'0') * pos)
        .sum();
    match sum % 11 {
        10 => '*',
        // The remainder is below 10 here, so it is one decimal digit.
        n => char::from_digit(n, 10).unwrap_or('*'),
    }
}

impl fmt::Display for Ipei {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:05} {:07} {}", self.emc, self.psn, self.check_char())
    }
}

impl fmt::Debug for Ipei {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Ipei({self})")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_reference_ipei() {
        // 03074 0220259: EMC 3074 = 0xC02, PSN 220259 = 0x35C63 (axi-reference §3.4).
        let ipei = Ipei::new(3074, 220_259).unwrap();
        let text = ipei.to_string();
        assert_eq!(Ipei::parse(&text).unwrap(), ipei);
        assert_eq!(Ipei::parse(&text.replace(' ', "")).unwrap(), ipei);
    }

    #[test]
    fn rejects_a_wrong_check_digit() {
        let ipei = Ipei::new(3074, 220_259).unwrap();
        let good = ipei.check_char();
        let bad = if good == '1' { '2' } else { '1' };
        let text = format!("03074 0220259 {bad}");
        assert!(matches!(
            Ipei::parse(&text),
            Err(IpeiError::CheckDigit { .. })
        ));
    }

    #[test]
    fn rejects_malformed_text() {
        assert_eq!(Ipei::parse("123"), Err(IpeiError::Length(3)));
        assert_eq!(Ipei::parse("0307A 0220259 1"), Err(IpeiError::NotADigit));
        assert_eq!(Ipei::parse("99999 0220259 1"), Err(IpeiError::OutOfRange));
    }

    #[test]
    fn check_digit_ten_is_a_star() {
        let star = (0..200u32)
            .map(|psn| Ipei::new(1, psn).unwrap())
            .find(|i| i.check_char() == '*')
            .expect("some PSN yields check 10");
        assert!(Ipei::parse(&star.to_string()).is_ok());
    }

    #[test]
    fn json_carries_the_written_form_and_postcard_the_numbers() {
        let ipei = Ipei::parse("00077 0000001 9").unwrap();
        assert_eq!(serde_json::to_string(&ipei).unwrap(), "\"00077 0000001 9\"");
        assert_eq!(
            serde_json::from_str::<Ipei>("\"0007700000019\"").unwrap(),
            ipei
        );
        let bad = serde_json::from_str::<Ipei>("\"00077 0000001 3\"").unwrap_err();
        assert!(bad.to_string().contains("IPEI"), "{bad}");
        assert_eq!(
            postcard::to_allocvec(&ipei).unwrap(),
            postcard::to_allocvec(&(77u32, 1u32)).unwrap()
        );
    }
}
