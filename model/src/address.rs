//! An OMM's address as an OMM record holds it: a host name or IP address with an optional
//! `:port` (IPv6 in brackets when a port follows). Checked when the record is written, so a
//! link never tries an address that cannot work.

use std::net::{Ipv4Addr, Ipv6Addr};

/// A parsed OMM address.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OmmAddress {
    /// Host name or IP address (IPv6 without brackets).
    pub host: String,
    /// TCP port.
    pub port: u16,
}

impl OmmAddress {
    /// Whether two records' addresses name the same OMM (host names compared without case).
    #[must_use]
    pub fn same_as(&self, other: &Self) -> bool {
        self.port == other.port && self.host.eq_ignore_ascii_case(&other.host)
    }

    /// The OMM's AXI port over TLS.
    pub const DEFAULT_PORT: u16 = 12622;

    /// Parses `host`, `host:port`, `IPv6`, or `[IPv6]:port`.
    ///
    /// # Errors
    /// Why the text is not an address, for the administrator.
    pub fn parse(text: &str) -> Result<Self, String> {
        if text.is_empty() {
            return Err("the address is empty".into());
        }
        if text.contains("://") || text.contains('/') {
            return Err(format!(
                "{text:?} is not an address: give a host name or IP address with an optional :port, not a URL"
            ));
        }
        if text.chars().any(|c| c.is_whitespace() || c.is_control()) {
            return Err(format!("{text:?} contains spaces or control characters"));
        }
        let (host, port) = if let Some(rest) = text.strip_prefix('[') {
            let Some((inside, after)) = rest.split_once(']') else {
                return Err(format!("{text:?}: the IPv6 address has no closing ']'"));
            };
            if inside.parse::<Ipv6Addr>().is_err() {
                return Err(format!("{text:?}: {inside:?} is not an IPv6 address"));
            }
            let port = match after {
                "" => None,
                _ => match after.strip_prefix(':') {
                    Some(p) => Some(p),
                    None => return Err(format!("{text:?}: only ':port' may follow ']'")),
                },
            };
            (inside, port)
        } else if text.matches(':').count() > 1 {
            if text.parse::<Ipv6Addr>().is_err() {
                return Err(format!("{text:?} is not an address (an IPv6 address with a port goes in brackets: [addr]:port)"));
            }
            (text, None)
        } else {
            match text.split_once(':') {
                Some((h, p)) => (h, Some(p)),
                None => (text, None),
            }
        };
        let port = match port {
            None => Self::DEFAULT_PORT,
            Some("") => return Err(format!("{text:?}: no port after ':'")),
            Some(p) => match p.parse::<u16>() {
                Ok(n) if n > 0 && p.bytes().all(|b| b.is_ascii_digit()) => n,
                _ => {
                    return Err(format!(
                        "{text:?}: the port must be a number from 1 to 65535"
                    ))
                }
            },
        };
        if host.parse::<Ipv6Addr>().is_err() && !valid_host_name(host) {
            return Err(format!(
                "{text:?}: {host:?} is not a host name or IP address"
            ));
        }
        Ok(Self {
            host: host.to_owned(),
            port,
        })
    }
}

/// A DNS name (RFC 1123 labels) or an IPv4 address in dotted form. A name whose last label
/// is all digits is meant as an IPv4 address (no top-level domain is numeric), so it must be
/// one: `999.1.1.1` is refused.
fn valid_host_name(host: &str) -> bool {
    let numeric_end = host
        .rsplit('.')
        .next()
        .is_some_and(|last| !last.is_empty() && last.bytes().all(|b| b.is_ascii_digit()));
    if numeric_end {
        return host.parse::<Ipv4Addr>().is_ok();
    }
    !host.is_empty()
        && host.len() <= 253
        && host.split('.').all(|label| {
            !label.is_empty()
                && label.len() <= 63
                && !label.starts_with('-')
                && !label.ends_with('-')
                && label
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-')
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn good_addresses_parse() {
        for (text, host, port) in [
            ("192.0.2.1", "192.0.2.1", 12622),
            ("192.0.2.1:12622", "192.0.2.1", 12622),
            ("omm-1.example.com:4000", "omm-1.example.com", 4000),
            ("localhost", "localhost", 12622),
            ("::1", "::1", 12622),
            ("[::1]:9", "::1", 9),
            ("[2001:db8::5]", "2001:db8::5", 12622),
        ] {
            assert_eq!(
                OmmAddress::parse(text),
                Ok(OmmAddress {
                    host: host.into(),
                    port
                }),
                "{text}"
            );
        }
    }

    #[test]
    fn bad_addresses_are_refused_with_a_reason() {
        for text in [
            "192.0.2.1:99999",
            "192.0.2.1:abc",
            "https://192.0.2.1/",
            "a b c",
            "192.0.2.1:",
            "[::1",
            "",
            "192.0.2.1:0",
            "192.0.2.1:+80",
            "host\u{7}",
            "-bad.example",
            "[::1]x",
            "1:2:3",
            "under_score.example",
            "999.1.1.1",
            "10.0.0",
            "192.0.2.1.5",
            "1.2.3.04x.5",
        ] {
            let e = OmmAddress::parse(text).expect_err(text);
            assert!(!e.is_empty());
        }
    }

    #[test]
    fn the_same_omm_is_recognised_whatever_the_case_and_the_default_port() {
        let a = OmmAddress::parse("OMM-1.example.com").unwrap();
        assert!(a.same_as(&OmmAddress::parse("omm-1.example.com:12622").unwrap()));
        assert!(!a.same_as(&OmmAddress::parse("omm-1.example.com:4000").unwrap()));
        assert!(
            OmmAddress::parse("omm1.example.123a").is_ok(),
            "a name, not digits"
        );
    }
}
