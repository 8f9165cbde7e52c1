//! The generation for one OMM record: the address the MOM is at for it, and what the MOM
//! fills in from the record (its Cloud-ID and credentials) and from its own settings.

use crate::{render, PlaceholderFile, Predefined, Rendered};
use model::{Omm, Settings};
use std::net::IpAddr;

/// `%MOM_IP_ADDR%` for a request that reached the MOM at `local`: the configured
/// provisioning address, else `local`.
#[must_use]
pub fn mom_address(settings: &Settings, local: Option<IpAddr>) -> String {
    if settings.provisioning_address.is_empty() {
        local.map(|a| a.to_string()).unwrap_or_default()
    } else {
        settings.provisioning_address.clone()
    }
}

/// `%MOM_IP_ADDR%` when the OMM is not asking itself ("Show config file", the check, the
/// preview): the configured address, else the one its last fetch reached, else `local`.
#[must_use]
pub fn address_for(settings: &Settings, omm: &Omm, local: Option<IpAddr>) -> String {
    let fetched = omm
        .provisioning_state
        .last_fetch
        .as_ref()
        .map(|f| f.mom_address.clone())
        .filter(|a| !a.is_empty());
    match fetched {
        Some(address) if settings.provisioning_address.is_empty() => address,
        _ => mom_address(settings, local),
    }
}

/// What the MOM fills in for `omm` reaching it at `mom_address`.
#[must_use]
pub fn predefined(omm: &Omm, mom_address: &str, https_port: u16) -> Predefined {
    Predefined {
        mom_ip_addr: mom_address.to_owned(),
        mom_web_https_port: https_port,
        cloud_id: omm.cloud_id.clone(),
        username: omm.user.clone(),
        password: omm.password.clone(),
    }
}

/// The file `omm` gets from `template` when it reaches the MOM at `mom_address`. (A
/// placeholder file the store accepted has no bad line; were there one, it is skipped.)
#[must_use]
pub fn generate(template: &str, omm: &Omm, mom_address: &str, https_port: u16) -> Rendered {
    let (file, _) = PlaceholderFile::parse(&omm.placeholders);
    render(template, &file, &predefined(omm, mom_address, https_port))
}

/// The check of `template` against every OMM record (as [`crate::lint()`]), each with the
/// address [`address_for`] gives it.
#[must_use]
pub fn lint(
    template: &str,
    omms: &[Omm],
    settings: &Settings,
    local: Option<IpAddr>,
    https_port: u16,
) -> Vec<crate::lint::Finding> {
    let files: Vec<crate::lint::OmmFile<'_>> = omms
        .iter()
        .map(|o| crate::lint::OmmFile {
            id: o.id,
            cloud_id: &o.cloud_id,
            provisioning: o.provisioning,
            placeholders: &o.placeholders,
            predefined: predefined(o, &address_for(settings, o, local), https_port),
        })
        .collect();
    crate::lint(template, &files)
}

#[cfg(test)]
mod tests {
    use super::*;
    use model::ConfigFetch;

    #[test]
    fn the_configured_address_wins_then_the_last_fetch_then_the_request() {
        let mut settings = Settings::default();
        let mut omm = Omm::default();
        let local = Some(IpAddr::from([10, 0, 0, 1]));
        assert_eq!(address_for(&settings, &omm, local), "10.0.0.1");
        omm.provisioning_state.last_fetch = Some(ConfigFetch {
            mom_address: "192.0.2.7".into(),
            ..ConfigFetch::default()
        });
        assert_eq!(address_for(&settings, &omm, local), "192.0.2.7");
        settings.provisioning_address = "mom.example.org".into();
        assert_eq!(address_for(&settings, &omm, local), "mom.example.org");
        assert_eq!(mom_address(&settings, local), "mom.example.org");
    }

    #[test]
    fn the_record_fills_the_predefined_placeholders() {
        let omm = Omm {
            cloud_id: "0123456789AB".into(),
            user: "omm".into(),
            password: "s<cret".into(),
            placeholders: "SITE=north\n".into(),
            ..Omm::default()
        };
        let out = generate(
            "<a s=\"%SITE%\" c=\"%MDB_OMM_cloud_id%\" p=\"%MDB_OMM_password%\" u=\"%MOM_IP_ADDR%:%MOM_WEB_HTTPS_PORT%\"/>",
            &omm,
            "10.0.0.1",
            8443,
        );
        assert_eq!(
            out.text,
            "<a s=\"north\" c=\"0123456789AB\" p=\"s&lt;cret\" u=\"10.0.0.1:8443\"/>"
        );
        assert!(out.unresolved.is_empty());
    }
}
