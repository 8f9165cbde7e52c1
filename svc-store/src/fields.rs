//! Lengths and characters of the fields the MOM keeps, so it accepts no record that every OMM
//! would refuse (an OMM answers `ETooLong` with `maxLen`) and nothing that cannot be shown
//! safely: no field holds control characters, and a number holds no spaces.
//!
//! Known OMM limits (axi-reference.md): `hierarchy1`/`hierarchy2` 16 characters, `ppData`
//! 4 kB. Where no limit is known the MOM picks a conservative one, written here:
//!
//! | field | at most | characters |
//! |---|---|---|
//! | user number | 64 | letters, digits and `+ * # . _ - @`; no spaces |
//! | user name, other texts | 128 | no control characters |
//! | `hierarchy1`, `hierarchy2` | 16 | no control characters |
//! | PIN, SIP and service credentials | 64 | no control characters |
//! | `ppData` | 4096 bytes | no control characters but tab and line ends |
//! | attributes the MOM does not know | 64 of them, 1024 each | no control characters |

use ipc::api::store::StoreError;
use model::{Device, Settings, User};

/// Longest user number.
pub const MAX_NUMBER: usize = 64;
/// Longest text field without a known limit.
pub const MAX_TEXT: usize = 128;
/// Longest `hierarchy1`/`hierarchy2` (an OMM's limit).
pub const MAX_HIERARCHY: usize = 16;
/// Longest secret.
pub const MAX_SECRET: usize = 64;
/// Largest `ppData` (an OMM's limit).
pub const MAX_PP_DATA: usize = 4096;
/// Most attributes the MOM keeps without knowing them, and longest value of one.
pub const MAX_EXTRA: (usize, usize) = (64, 1024);

fn invalid(why: String) -> StoreError {
    StoreError::Invalid(why)
}

/// Checks one text field: at most `max` characters, no control characters.
fn text(field: &str, value: &str, max: usize) -> Result<(), StoreError> {
    let len = value.chars().count();
    if len > max {
        return Err(invalid(format!(
            "{field} is {len} characters long; at most {max} are allowed"
        )));
    }
    if let Some(c) = value.chars().find(|c| c.is_control()) {
        return Err(invalid(format!(
            "{field} contains the control character {}",
            c.escape_unicode()
        )));
    }
    Ok(())
}

/// Checks a user's number.
///
/// # Errors
/// [`StoreError::Invalid`] saying what is wrong.
pub fn check_number(num: &str) -> Result<(), StoreError> {
    if num.is_empty() {
        return Err(invalid("a user needs a number".into()));
    }
    text("the number", num, MAX_NUMBER)?;
    if let Some(c) = num
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || "+*#._-@".contains(*c)))
    {
        return Err(invalid(format!(
            "the number {:?} contains {c:?}; a number holds letters, digits and + * # . _ - @ only",
            model::printable(num)
        )));
    }
    Ok(())
}

/// Checks every field of a user record.
///
/// # Errors
/// [`StoreError::Invalid`] naming the first field that is wrong.
pub fn check_user(u: &User) -> Result<(), StoreError> {
    check_number(&u.num)?;
    // Typed on a DECT phone's keypad: the form, the CSV import, the CLI and MAXI alike.
    if let Some(c) = u.pin.chars().find(|c| !c.is_ascii_digit()) {
        return Err(invalid(format!(
            "the PIN contains {:?}; a PIN holds the digits 0 to 9 only",
            model::printable(&c.to_string())
        )));
    }
    for (field, value) in [("hierarchy1", &u.hierarchy1), ("hierarchy2", &u.hierarchy2)] {
        text(field, value, MAX_HIERARCHY)?;
    }
    for (field, value) in [
        ("pin", &u.pin),
        ("sipPw", &u.sip_pw),
        ("credentialPw", &u.credential_pw),
        ("serviceAuthPassword", &u.service_auth_password),
        ("sipAuthId", &u.sip_auth_id),
        ("serviceUserName", &u.service_user_name),
        ("serviceAuthName", &u.service_auth_name),
    ] {
        text(field, value, MAX_SECRET)?;
    }
    for (field, value) in [
        ("the name", &u.name),
        ("addId", &u.add_id),
        ("sosNum", &u.sos_num),
        ("voiceboxNum", &u.voicebox_num),
        ("manDownNum", &u.man_down_num),
        ("forwardDest", &u.forward_dest),
        ("lang", &u.lang),
        ("BTsensitivity", &u.bt_sensitivity),
        ("conferenceServerType", &u.conference_server_type),
        ("conferenceServerURI", &u.conference_server_uri),
        ("altDisplayNum", &u.alt_display_num),
        ("pickupGroupNum", &u.pickup_group_num),
    ] {
        text(field, value, MAX_TEXT)?;
    }
    if u.pp_data.len() > MAX_PP_DATA {
        return Err(invalid(format!(
            "PP data is limited to {MAX_PP_DATA} bytes"
        )));
    }
    if let Some(c) = u
        .pp_data
        .chars()
        .find(|c| c.is_control() && !matches!(c, '\t' | '\n' | '\r'))
    {
        return Err(invalid(format!(
            "PP data contains the control character {}",
            c.escape_unicode()
        )));
    }
    extra(&u.extra)
}

/// Checks the text fields of a device record.
///
/// # Errors
/// [`StoreError::Invalid`] naming the first field that is wrong.
pub fn check_device(d: &Device) -> Result<(), StoreError> {
    for (field, value) in [
        ("ac", &d.ac),
        ("uak", &d.uak),
        ("ethAddr", &d.eth_addr),
        ("hwType", &d.hw_type),
    ] {
        text(field, value, MAX_TEXT)?;
    }
    extra(&d.extra)
}

fn extra(extra: &[(String, String)]) -> Result<(), StoreError> {
    let (most, longest) = MAX_EXTRA;
    if extra.len() > most {
        return Err(invalid(format!(
            "{} unknown attributes; at most {most} are kept",
            extra.len()
        )));
    }
    for (name, value) in extra {
        text("an attribute name", name, MAX_TEXT)?;
        text(name, value, longest)?;
    }
    Ok(())
}

/// Checks the system settings a write may change.
///
/// # Errors
/// [`StoreError::Invalid`] saying what is wrong.
pub fn check_settings(settings: &Settings) -> Result<(), StoreError> {
    if settings.system_name.trim().is_empty() {
        return Err(invalid("the system name must not be empty".into()));
    }
    text("the system name", &settings.system_name, MAX_TEXT)?;
    if !settings
        .fac_prefix
        .chars()
        .all(|c| c.is_ascii_digit() || c == '*' || c == '#')
    {
        return Err(invalid(
            "the FAC prefix may contain only digits, * and #".into(),
        ));
    }
    text("the FAC prefix", &settings.fac_prefix, 16)?;
    check_host("the provisioning address", &settings.provisioning_address)?;
    if !(10..=86_400).contains(&settings.provisioning_fetch_timeout_secs) {
        return Err(invalid(format!(
            "the provisioning fetch timeout is {} s; it must be between 10 s and one day",
            settings.provisioning_fetch_timeout_secs
        )));
    }
    Ok(())
}

/// Checks a configuration template: at most [`MAX_TEMPLATE`] bytes, no control characters
/// but tab, CR and LF (the administrator's text is otherwise kept as it is).
///
/// # Errors
/// [`StoreError::Invalid`] saying what is wrong.
pub fn check_template(text: &str) -> Result<(), StoreError> {
    if text.len() > MAX_TEMPLATE {
        return Err(invalid(format!(
            "the template is {} bytes; at most {MAX_TEMPLATE} are allowed",
            text.len()
        )));
    }
    if let Some(at) = text.find(|c: char| c.is_control() && !matches!(c, '\t' | '\r' | '\n')) {
        let line = text[..at].matches('\n').count() + 1;
        return Err(invalid(format!(
            "the template holds a control character on line {line}; an OMM could not read it"
        )));
    }
    Ok(())
}

/// Largest configuration template.
pub use provisioning::MAX_TEMPLATE;

/// Checks a Cloud-ID: empty (not learnt yet), or `00` and a PARK, 12 upper-case hex digits
/// (it names the OMM's folder at the MOM, so nothing else may pass).
///
/// # Errors
/// [`StoreError::Invalid`] saying what is wrong.
pub fn check_cloud_id(value: &str) -> Result<(), StoreError> {
    if value.is_empty()
        || (value.len() == 12
            && value
                .bytes()
                .all(|b| b.is_ascii_digit() || (b'A'..=b'F').contains(&b)))
    {
        Ok(())
    } else {
        Err(invalid(format!(
            "the Cloud-ID {:?} is not 12 upper-case hex digits",
            model::printable(value)
        )))
    }
}

/// Checks a host name or IP address that the OMMs are given (empty is allowed: none).
///
/// # Errors
/// [`StoreError::Invalid`] saying what is wrong.
pub fn check_host(field: &str, value: &str) -> Result<(), StoreError> {
    text(field, value, 253)?;
    let v6 = value.contains(':');
    if let Some(c) = value
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || *c == '.' || *c == '-' || (v6 && *c == ':')))
    {
        return Err(invalid(format!(
            "{field} {:?} contains {c:?}; a host name or IP address holds letters, digits, . - and :",
            model::printable(value)
        )));
    }
    if v6 && value.parse::<std::net::Ipv6Addr>().is_err() {
        return Err(invalid(format!("{field} {value:?} is not an IPv6 address")));
    }
    Ok(())
}

/// Checks a name or description of an OMM record or conference room.
///
/// # Errors
/// [`StoreError::Invalid`] saying what is wrong.
pub fn check_label(field: &str, value: &str) -> Result<(), StoreError> {
    text(field, value, MAX_TEXT)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_hold_no_spaces_control_characters_or_excess() {
        assert!(check_number("1000").is_ok());
        assert!(check_number("+49*7#1.a_b-c@x").is_ok());
        for bad in ["", "10 00", "100\u{1b}[2J", &"9".repeat(65), "1000\u{0}"] {
            assert!(check_number(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn unknown_attributes_are_kept_within_their_limits() {
        let (most, longest) = MAX_EXTRA;
        let with = |extra: Vec<(String, String)>| Device {
            extra,
            ..Device::new(model::Ipei::new(1, 1).unwrap())
        };
        let fits: Vec<_> = (0..most)
            .map(|i| (format!("a{i}"), "v".repeat(longest)))
            .collect();
        assert!(check_device(&with(fits.clone())).is_ok());
        let mut too_many = fits;
        too_many.push(("one".into(), "more".into()));
        assert!(check_device(&with(too_many))
            .unwrap_err()
            .to_string()
            .contains("at most 64"));
        let too_long = vec![("a".into(), "v".repeat(longest + 1))];
        assert!(check_device(&with(too_long)).is_err());
    }

    #[test]
    fn user_fields_follow_the_limits() {
        let ok = User {
            num: "1000".into(),
            name: "Ann".into(),
            ..User::default()
        };
        assert!(check_user(&ok).is_ok());
        let long = User {
            name: "x".repeat(10_000),
            ..ok.clone()
        };
        let e = check_user(&long).unwrap_err().to_string();
        assert!(e.contains("10000 characters") && e.contains("128"), "{e}");
        let escape = User {
            name: "Ann\u{1b}]0;pwned\u{7}".into(),
            ..ok.clone()
        };
        assert!(check_user(&escape)
            .unwrap_err()
            .to_string()
            .contains("control"));
        let deep = User {
            hierarchy1: "x".repeat(17),
            ..ok
        };
        assert!(check_user(&deep)
            .unwrap_err()
            .to_string()
            .contains("hierarchy1"));
    }
}
