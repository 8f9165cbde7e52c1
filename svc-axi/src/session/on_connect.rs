//! The on-connect sequence (axi-profile.md §2, §3 and §10 "On connect"): login as a sync
//! client, the MOM key, PARK → Cloud-ID, then the SARI and the DECT settings
//! (`crate::dect_settings`, steps 2–6), and the event subscriptions.

use super::{End, Session};
use axi::message::*;
use axi::record::AxiRecord;
use axi::value::SubscribeCmd;
use axi::{ErrCode, EventType, Message, SubscribeEntry};

/// The event types every link subscribes to (step 7): all but the MAXI-only one.
const EVENTS: [EventType; 8] = [
    EventType::PPUserCnf,
    EventType::PPDevCnf,
    EventType::DECTSubscriptionMode,
    EventType::DECTSubscribe,
    EventType::DECTLocate,
    EventType::MessageSend,
    EventType::ApplicationDataChannel,
    EventType::ConferenceRoomCnf,
];

/// What the login taught the MOM about the OMM.
pub struct LoggedIn {
    /// The OMM's software version.
    pub version: String,
    /// The OMM's key for the secrets the MOM writes to it.
    pub omm_key: Option<rsa::RsaPublicKey>,
}

/// The text for an OMM that speaks another protocol version.
#[must_use]
pub fn version_mismatch(theirs: u32, ours: u32) -> String {
    format!("protocol version mismatch: OMM {theirs}, MOM {ours}")
}

impl Session<'_> {
    /// Step 0: `Open` as a user/device sync client, then `SetMOMKey`.
    pub(crate) async fn log_in(&self) -> Result<LoggedIn, End> {
        let ours = self.shared.protocol_version;
        let open = self
            .link
            .request(Open {
                username: self.omm.user.clone(),
                password: self.omm.password.clone(),
                protocol_version: Some(ours),
                user_device_sync_client: Some(true),
                mom_extensions: None,
            })
            .await?;
        let theirs = match &open.message {
            Message::OpenResp(resp) => resp.protocol_version.filter(|v| *v != ours),
            _ => None,
        };
        if let Some(e) = &open.error {
            return Err(End::Failed(match (&e.code, theirs) {
                (ErrCode::EAuth, _) => "authentication failed".into(),
                // Some OMMs refuse another version with EFailed and their own (§10).
                (_, Some(theirs)) => version_mismatch(theirs, ours),
                (code, None) => format!("login refused: {}", code.as_str()),
            }));
        }
        let Message::OpenResp(resp) = &open.message else {
            return Err(End::Failed("no OpenResp".into()));
        };
        if let Some(theirs) = theirs {
            return Err(End::Failed(version_mismatch(theirs, ours)));
        }
        let omm_key = resp
            .public_key
            .as_ref()
            .and_then(|k| axi::secret::public_key(k.raw("modulus")?, k.raw("exponent")?).ok());
        let (modulus, exponent) = axi::secret::key_hex(&self.shared.mom_key.to_public_key());
        self.setting(SetMOMKey { modulus, exponent }).await?;
        Ok(LoggedIn {
            version: resp.omm_version.clone().unwrap_or_default(),
            omm_key,
        })
    }

    /// Step 1: the OMM's Cloud-ID, `00` and its PARK.
    pub(crate) async fn cloud_id(&self) -> Result<String, End> {
        match self.link.request(GetPARK {}).await?.message {
            Message::GetPARKResp(GetPARKResp { park: Some(p) }) => {
                Ok(format!("00{}", p.0.to_ascii_uppercase()))
            }
            _ => Err(End::Failed("the OMM has no PARK".into())),
        }
    }

    /// Step 7: the events the MOM follows.
    pub(crate) async fn subscribe(&self) -> Result<(), End> {
        let entries = EVENTS
            .iter()
            .map(|event| {
                let mut e = SubscribeEntry::default();
                e.set(SubscribeEntry::CMD, SubscribeCmd::On)
                    .set(SubscribeEntry::EVENT_TYPE, event.name().to_owned());
                if let Some(filter) = event.item_filter() {
                    e.set_raw(filter, "-1");
                }
                e
            })
            .collect();
        self.setting(Subscribe { entries }).await
    }
}
