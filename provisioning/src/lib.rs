//! Centralized OMM provisioning (admin guide "Centralized system provisioning",
//! "Modifying the configuration template", "Configuring OMM-specific placeholder values"),
//! sans-IO: an OMM's placeholder file is read into name/value pairs ([`PlaceholderFile`]),
//! and its `ipdect.cfg` is the configuration template with its placeholders replaced
//! ([`render`]).
//!
//! The rules, as the guide gives them:
//! - a placeholder is `%name%`; names are case-sensitive;
//! - a placeholder without a value in the OMM's file is left as it is;
//! - a value may be empty, and may itself contain `=` (a line splits at its first `=`);
//! - the file may have CRLF line ends, comment lines (`#`) and blank lines;
//! - the predefined placeholders (`%MOM_IP_ADDR%`, `%MOM_WEB_HTTPS_PORT%`,
//!   `%MDB_OMM_cloud_id%`, `%MDB_OMM_username%`, `%MDB_OMM_password%`) are filled from the MOM
//!   and the OMM record, never from the file; their values are XML-escaped, since they land
//!   in attributes (a password with a `"` must not break the file);
//! - `%BeginComment%` / `%EndComment%` are ordinary placeholders: an OMM's file sets them to
//!   `<!--` / `-->` or to nothing;
//! - everything else of the template, commands with a `cloudId` attribute included, is
//!   served byte for byte.
//!
//! [`lint`](mod@lint) checks the template and every OMM's file before anything is pushed, and
//! [`diff`](mod@diff) shows what an OMM would get compared with what it fetched last.
#![forbid(unsafe_code)]

use std::collections::BTreeMap;

pub use diff::diff;

/// The largest configuration template the MOM keeps (the store and the API refuse more).
pub const MAX_TEMPLATE: usize = 1024 * 1024;
/// The largest placeholder file of one OMM.
pub const MAX_PLACEHOLDERS: usize = 64 * 1024;
pub use lint::lint;
use std::fmt;

/// The names of the predefined placeholders.
pub const PREDEFINED: [&str; 5] = [
    "MOM_IP_ADDR",
    "MOM_WEB_HTTPS_PORT",
    "MDB_OMM_cloud_id",
    "MDB_OMM_username",
    "MDB_OMM_password",
];

/// A line of a placeholder file that cannot be used.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LineError {
    /// Its number, from 1.
    pub line: usize,
    /// What is wrong.
    pub reason: String,
}

impl fmt::Display for LineError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "line {}: {}", self.line, self.reason)
    }
}

/// An OMM's placeholder values.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PlaceholderFile {
    values: BTreeMap<String, String>,
}

/// Whether `name` can be a placeholder name (what may stand between the two `%`).
#[must_use]
pub fn is_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 128
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-' || b == b'.')
}

impl PlaceholderFile {
    /// Reads a placeholder file. Lines that cannot be used are reported and skipped; a later
    /// line for the same name is reported and does not replace the first.
    #[must_use]
    pub fn parse(text: &str) -> (Self, Vec<LineError>) {
        let mut values = BTreeMap::new();
        let mut errors = Vec::new();
        for (i, raw) in text.split('\n').enumerate() {
            let line = raw.strip_suffix('\r').unwrap_or(raw);
            let number = i + 1;
            let trimmed = line.trim_start();
            if trimmed.is_empty() || trimmed.starts_with('#') {
                continue;
            }
            let Some((name, value)) = line.split_once('=') else {
                errors.push(LineError {
                    line: number,
                    reason: "not a name=value line".into(),
                });
                continue;
            };
            let name = name.trim();
            if !is_name(name) {
                errors.push(LineError {
                    line: number,
                    reason: format!("{name:?} is not a placeholder name (letters, digits, _ - .)"),
                });
                continue;
            }
            if PREDEFINED.contains(&name) {
                errors.push(LineError {
                    line: number,
                    reason: format!("{name} is set by the MOM; the file's value is not used"),
                });
                continue;
            }
            if let Some(c) = value.chars().find(|c| c.is_control() && *c != '\t') {
                errors.push(LineError {
                    line: number,
                    reason: format!(
                        "the value of {name} holds the control character {}",
                        c.escape_unicode()
                    ),
                });
                continue;
            }
            if values.contains_key(name) {
                errors.push(LineError {
                    line: number,
                    reason: format!("{name} is set twice; the first value is used"),
                });
                continue;
            }
            values.insert(name.to_owned(), value.to_owned());
        }
        (Self { values }, errors)
    }

    /// The value of `name`, if the file sets it.
    #[must_use]
    pub fn get(&self, name: &str) -> Option<&str> {
        self.values.get(name).map(String::as_str)
    }

    /// Every name the file sets.
    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.values.keys().map(String::as_str)
    }
}

/// What the MOM fills in itself.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Predefined {
    /// `%MOM_IP_ADDR%`: the address the OMM reached the MOM on, or a configured one.
    pub mom_ip_addr: String,
    /// `%MOM_WEB_HTTPS_PORT%`.
    pub mom_web_https_port: u16,
    /// `%MDB_OMM_cloud_id%`.
    pub cloud_id: String,
    /// `%MDB_OMM_username%`.
    pub username: String,
    /// `%MDB_OMM_password%`.
    pub password: String,
}

impl Predefined {
    fn value(&self, name: &str) -> Option<String> {
        Some(match name {
            "MOM_IP_ADDR" => self.mom_ip_addr.clone(),
            "MOM_WEB_HTTPS_PORT" => self.mom_web_https_port.to_string(),
            "MDB_OMM_cloud_id" => self.cloud_id.clone(),
            "MDB_OMM_username" => self.username.clone(),
            "MDB_OMM_password" => self.password.clone(),
            _ => return None,
        })
    }
}

/// `text` escaped for an XML attribute value.
#[must_use]
pub fn xml_escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            c => out.push(c),
        }
    }
    out
}

/// A generated `ipdect.cfg` and what it left as it was.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rendered {
    /// The file the OMM gets.
    pub text: String,
    /// Placeholders without a value, left in the text (each name once, in order).
    pub unresolved: Vec<String>,
}

/// The placeholder names in `text`, in order, each once (by the rules of [`render`]).
#[must_use]
pub fn placeholders_in(text: &str) -> Vec<String> {
    render(text, &PlaceholderFile::default(), &Predefined::default())
        .unresolved
        .into_iter()
        .chain(
            PREDEFINED
                .iter()
                .filter(|p| text.contains(&format!("%{p}%")))
                .map(|p| (*p).to_owned()),
        )
        .collect()
}

/// The template with its placeholders replaced for one OMM.
#[must_use]
pub fn render(template: &str, file: &PlaceholderFile, predefined: &Predefined) -> Rendered {
    let mut text = String::with_capacity(template.len());
    let mut unresolved: Vec<String> = Vec::new();
    let mut rest = template;
    while let Some(start) = rest.find('%') {
        text.push_str(&rest[..start]);
        let after = &rest[start + 1..];
        match after.find('%') {
            Some(end) if is_name(&after[..end]) => {
                let name = &after[..end];
                if let Some(value) = predefined.value(name) {
                    text.push_str(&xml_escape(&value));
                } else if let Some(value) = file.get(name) {
                    text.push_str(value);
                } else {
                    text.push('%');
                    text.push_str(name);
                    text.push('%');
                    if !unresolved.iter().any(|u| u == name) {
                        unresolved.push(name.to_owned());
                    }
                }
                rest = &after[end + 1..];
            }
            // A lone `%`, or `%…%` around something that is no name: kept, and the second
            // `%` may open the next placeholder.
            _ => {
                text.push('%');
                rest = after;
            }
        }
    }
    text.push_str(rest);
    Rendered { text, unresolved }
}

pub mod commands;
pub mod diff;
pub mod lint;
pub mod omm;

#[cfg(test)]
mod tests;
