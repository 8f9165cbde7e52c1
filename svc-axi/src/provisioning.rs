//! Centralized OMM provisioning, the OMM's side (admin guide "Configuration URL"; profile
//! §3 step 6, §8 and §10): on every connect, and whenever the OMM record, the settings or
//! the MOM's address change, the OMM gets its configuration URL pointing at the MOM (with
//! its own credentials and its certificate-check setting) and the daily reload at
//! `(OMM id × 7) mod 51` minutes past midnight, or both disabled. "Update OMM" sends
//! `SoftwareUpdate` and watches for the fetch that should follow.

use crate::session::{refused, End, Session, Target};
use axi::message::{SetConfigURL, SetSystemProvUpdTrig, SoftwareUpdate};
use axi::record::AxiRecord;
use axi::ConfigUrl;
use model::{Omm, Settings};
use std::net::IpAddr;
use std::sync::Arc;
use std::time::Duration;

/// The folder of an OMM's `ipdect.cfg` on svc-web's HTTPS listener (the OMM appends the
/// file name; svc-web serves `/provisioning/omm-<id>/ipdect.cfg`).
#[must_use]
pub fn folder(omm: u32) -> String {
    format!("provisioning/omm-{omm}")
}

/// The minute of the nightly provisioning update, spread over the OMMs (profile §10).
#[must_use]
pub fn update_minute(omm: u32) -> u32 {
    // In u64: an OMM id near u32::MAX must not overflow.
    u32::try_from(u64::from(omm) * 7 % 51).unwrap_or(0)
}

/// The provisioning of `omm`: its configuration URL on the MOM's HTTPS port `web_port`
/// (`None` when no svc-web listener exists) at the configured address, else at `local`,
/// the address the OMM's link reaches the MOM on.
#[must_use]
pub fn target(
    omm: &Omm,
    settings: &Settings,
    local: Option<IpAddr>,
    web_port: Option<u16>,
) -> Target {
    let host = if settings.provisioning_address.is_empty() {
        local.map(|ip| ip.to_string())
    } else {
        Some(settings.provisioning_address.clone())
    };
    let mut url = ConfigUrl::default();
    let unavailable = match (omm.provisioning, &host, web_port) {
        (false, _, _) => String::new(),
        (true, None, _) => "the MOM's address for the OMM is not known".to_owned(),
        (true, _, None) => "the MOM has no HTTPS listener".to_owned(),
        (true, Some(host), Some(port)) => {
            url.set(ConfigUrl::ENABLE, true)
                .set(ConfigUrl::PROTOCOL, "HTTPS".to_owned())
                .set(ConfigUrl::HOST, host.clone())
                .set(ConfigUrl::PORT, port)
                .set(ConfigUrl::PATH, folder(omm.id))
                .set(ConfigUrl::USERNAME, omm.user.clone())
                .set(ConfigUrl::PASSWORD, omm.password.clone())
                .set(ConfigUrl::USE_COMMON_CERTS, true)
                .set(ConfigUrl::VALIDATE_CERTS, omm.validate_mom_certificate);
            return Target {
                url,
                reload: true,
                unavailable: String::new(),
            };
        }
    };
    url.set(ConfigUrl::ENABLE, false);
    Target {
        url,
        reload: false,
        unavailable,
    }
}

impl Session<'_> {
    /// Step 6: sets the OMM's configuration URL and daily reload from its current record,
    /// unless the OMM already has exactly these.
    pub(crate) async fn provision(&mut self, settings: &Settings) -> Result<(), End> {
        let omm = self.store.omm(self.omm.id).await?;
        let omm = omm.as_ref().unwrap_or(self.omm);
        let local = self.link.local_addr.map(|a| a.ip());
        let target = target(omm, settings, local, self.shared.web_port);
        if self.provisioned.as_ref() == Some(&target) {
            return Ok(());
        }
        if !target.unavailable.is_empty() {
            self.note(format!(
                "provisioning of OMM {} is off: {}",
                omm.id, target.unavailable
            ))
            .await;
        }
        self.setting(SetConfigURL {
            url: target.url.clone(),
        })
        .await?;
        self.setting(SetSystemProvUpdTrig {
            enable: target.reload,
            hour: Some(0),
            minute: Some(update_minute(omm.id)),
        })
        .await?;
        tracing::info!(
            omm = omm.id,
            enabled = target.reload,
            "configuration URL set on the OMM"
        );
        self.provisioned = Some(target);
        Ok(())
    }

    /// "Update OMM": `SoftwareUpdate`, then a watch for the fetch. `Err` inside when the OMM
    /// refused (it has no enabled configuration URL, say).
    pub(crate) async fn software_update(&self) -> Result<Result<(), String>, End> {
        if let Some(target) = self.provisioned.as_ref().filter(|t| !t.reload) {
            let why = if target.unavailable.is_empty() {
                format!("Provisioning is disabled for OMM {}", self.omm.id)
            } else {
                target.unavailable.clone()
            };
            return Ok(Err(why));
        }
        // Recorded before it is sent: the OMM may fetch before it answers.
        let sent = model::now();
        let id = self.omm.id;
        let _ = self.shared.store.update_sent(id, sent).await;
        let frame = self.link.request(SoftwareUpdate {}).await?;
        if let Some(why) = refused(&frame) {
            return Ok(Err(format!("the OMM refused {why}")));
        }
        tracing::info!(omm = id, "Update OMM sent");
        let shared = Arc::clone(self.shared);
        tokio::spawn(async move {
            let timeout = shared
                .store
                .settings()
                .await
                .map_or(model::DEFAULT_FETCH_TIMEOUT_SECS, |s| {
                    s.provisioning_fetch_timeout_secs
                });
            tokio::time::sleep(Duration::from_secs(u64::from(timeout))).await;
            let reason = format!(
                "OMM {id} did not fetch its configuration within {timeout} s after Update OMM; check its event log and the configuration URL"
            );
            let _ = shared.store.fetch_overdue(id, sent, reason).await;
        });
        Ok(Ok(()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn omm(provisioning: bool) -> Omm {
        Omm {
            id: 9,
            provisioning,
            user: "omm".into(),
            password: "p\"w".into(),
            validate_mom_certificate: true,
            ..Omm::default()
        }
    }

    #[test]
    fn the_url_points_at_the_mom_with_the_omms_credentials_and_its_certificate_check() {
        let local: IpAddr = "192.0.2.5".parse().unwrap();
        let t = target(&omm(true), &Settings::default(), Some(local), Some(8443));
        assert!(t.reload);
        assert_eq!(t.url.get(ConfigUrl::ENABLE), Some(true));
        assert_eq!(t.url.raw("host"), Some("192.0.2.5"));
        assert_eq!(t.url.get(ConfigUrl::PORT), Some(8443));
        assert_eq!(t.url.raw("path"), Some("provisioning/omm-9"));
        assert_eq!(t.url.raw("username"), Some("omm"));
        assert_eq!(t.url.raw("password"), Some("p\"w"));
        assert_eq!(t.url.get(ConfigUrl::USE_COMMON_CERTS), Some(true));
        assert_eq!(t.url.get(ConfigUrl::VALIDATE_CERTS), Some(true));
        let configured = Settings {
            provisioning_address: "mom.example".into(),
            ..Settings::default()
        };
        let t = target(&omm(true), &configured, Some(local), Some(8443));
        assert_eq!(
            t.url.raw("host"),
            Some("mom.example"),
            "a configured address wins"
        );
    }

    #[test]
    fn off_unknown_address_or_no_listener_disable_the_url_and_say_why() {
        let local: IpAddr = "192.0.2.5".parse().unwrap();
        let off = target(&omm(false), &Settings::default(), Some(local), Some(8443));
        assert_eq!(off.url.get(ConfigUrl::ENABLE), Some(false));
        assert!(!off.reload && off.unavailable.is_empty());
        assert_eq!(
            off.url.raw("password"),
            None,
            "a disabled URL carries no credentials"
        );
        let no_port = target(&omm(true), &Settings::default(), Some(local), None);
        assert!(!no_port.reload && no_port.unavailable.contains("HTTPS"));
        let no_host = target(&omm(true), &Settings::default(), None, Some(8443));
        assert!(no_host.unavailable.contains("address"));
    }

    #[test]
    fn update_minutes_spread_over_0_to_50() {
        assert_eq!(update_minute(1), 7);
        assert_eq!(update_minute(8), 5);
        assert!((0..2000).map(update_minute).all(|m| m <= 50));
        assert_eq!(
            update_minute(u32::MAX),
            (u64::from(u32::MAX) * 7 % 51) as u32
        );
    }
}
