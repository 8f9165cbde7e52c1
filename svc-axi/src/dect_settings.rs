//! The DECT settings the MOM decides for every OMM (admin guide "DECT settings", "Setting a
//! global FAC prefix"): the license's SARI, auto-create off (the MOM creates the records),
//! the subscription mode and the FAC prefix, then the configuration URL
//! (`crate::provisioning`). Pushed on connect (steps 2–6 of the on-connect sequence) and
//! whenever the system settings change.

use crate::link::End;
use crate::session::Session;
use axi::message::*;
use axi::value::{DectSubscriptionMode, Hex10};
use axi::Message;
use model::Settings;

impl Session<'_> {
    /// Step 2: sets the licensed SARI when the OMM has another; `true` when it did (the OMM
    /// then restarts and the session ends).
    pub(crate) async fn set_sari(&self, settings: &Settings) -> Result<bool, End> {
        if settings.sari.is_empty() {
            return Ok(false);
        }
        let wanted = settings.sari.to_ascii_uppercase();
        let current = match self.link.request(GetSARI {}).await?.message {
            Message::GetSARIResp(GetSARIResp { sari }) => sari.map(|s| s.0),
            _ => None,
        };
        if current.as_deref() == Some(wanted.as_str()) {
            return Ok(false);
        }
        self.setting(SetSARI {
            sari: Hex10(wanted),
        })
        .await?;
        self.store
            .log(
                model::Severity::Info,
                "axi",
                format!(
                    "SARI set on OMM {} ({}); it restarts",
                    self.omm.id, self.omm.name
                ),
            )
            .await;
        Ok(true)
    }

    /// Steps 3–6: auto-create off, subscription mode, FAC prefix, provisioning
    /// (`crate::provisioning`).
    pub(crate) async fn push_settings(&mut self, settings: &Settings) -> Result<(), End> {
        self.setting(SetDevAutoCreate { enable: false }).await?;
        self.setting(SetDECTSubscriptionMode {
            mode: DectSubscriptionMode::from(settings.subscription_mode),
            timeout: None,
        })
        .await?;
        self.setting(SetFACPrefix {
            prefix: settings.fac_prefix.clone(),
        })
        .await?;
        self.provision(settings).await
    }
}
