//! Secrets in JSON: the field names whose values are passwords, PINs or keys, and their
//! redaction, for everything that writes records where an administrator or support reads
//! them (the audit trail, the system dump, the web API's answers).

/// Field names whose values are secrets.
pub const SECRET_FIELDS: &[&str] = &[
    "password",
    "password_hash",
    "old_password",
    "new_password",
    "pin",
    "sip_pw",
    "sip_password",
    "credential_pw",
    "service_auth_password",
    "key_pem",
    "secret",
    // An OMM's placeholder file may hold SIP and service passwords.
    "placeholders",
];

/// What stands in for a secret that is set.
pub const REDACTED: &str = "(redacted)";

/// `record` as JSON text with its secrets redacted, for the audit trail; empty for none.
#[must_use]
pub fn audit_text<T: serde::Serialize>(record: Option<&T>) -> String {
    record
        .and_then(|r| serde_json::to_value(r).ok())
        .map(|v| redact(v).to_string())
        .unwrap_or_default()
}

/// `value` with every secret field (at any depth) replaced by [`REDACTED`] when set; an
/// empty secret stays empty, so "not set" is still visible.
#[must_use]
pub fn redact(mut value: serde_json::Value) -> serde_json::Value {
    fn walk(v: &mut serde_json::Value) {
        match v {
            serde_json::Value::Object(map) => {
                for (k, inner) in map.iter_mut() {
                    if SECRET_FIELDS.contains(&k.as_str()) {
                        let set = !matches!(inner, serde_json::Value::String(s) if s.is_empty());
                        if set {
                            *inner = serde_json::Value::String(REDACTED.into());
                        }
                    } else {
                        walk(inner);
                    }
                }
            }
            serde_json::Value::Array(items) => items.iter_mut().for_each(walk),
            _ => {}
        }
    }
    walk(&mut value);
    value
}

#[cfg(test)]
mod tests {
    #[test]
    fn every_secret_is_redacted_at_any_depth_and_empty_ones_stay_empty() {
        let v = serde_json::json!({
            "name": "a", "pin": "1234", "sip_pw": "", "nested": [{"password": "x", "other": 1}],
        });
        let r = super::redact(v);
        assert_eq!(r["pin"], super::REDACTED);
        assert_eq!(r["sip_pw"], "");
        assert_eq!(r["nested"][0]["password"], super::REDACTED);
        assert_eq!(r["nested"][0]["other"], 1);
        assert_eq!(r["name"], "a");
    }
}
