//! The event types of `Subscribe` (axi-profile.md §3 step 7, §9), one list for the MOM, the
//! simulator and MAXI: what a client may subscribe to and what an OMM (or the MOM) sends.

/// An event type as `Subscribe eventType` names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum EventType {
    /// User records changed (`EventPPUserCnf`).
    PPUserCnf,
    /// Device records changed (`EventPPDevCnf`).
    PPDevCnf,
    /// The DECT subscription mode changed.
    DECTSubscriptionMode,
    /// A handset with no record subscribes over the air (profile).
    DECTSubscribe,
    /// A handset registered its location (profile).
    DECTLocate,
    /// A handset sent a message that is not local (`EventMessageSend`).
    MessageSend,
    /// Application data (`EventApplicationDataChannel`).
    ApplicationDataChannel,
    /// Conference rooms changed.
    ConferenceRoomCnf,
    /// An OMM link of the MOM changed (MAXI only).
    MOMOMMCnf,
}

impl EventType {
    /// Every event type.
    pub const ALL: [Self; 9] = [
        Self::PPUserCnf,
        Self::PPDevCnf,
        Self::DECTSubscriptionMode,
        Self::DECTSubscribe,
        Self::DECTLocate,
        Self::MessageSend,
        Self::ApplicationDataChannel,
        Self::ConferenceRoomCnf,
        Self::MOMOMMCnf,
    ];

    /// The name on the wire.
    #[must_use]
    pub fn name(self) -> &'static str {
        match self {
            Self::PPUserCnf => "PPUserCnf",
            Self::PPDevCnf => "PPDevCnf",
            Self::DECTSubscriptionMode => "DECTSubscriptionMode",
            Self::DECTSubscribe => "DECTSubscribe",
            Self::DECTLocate => "DECTLocate",
            Self::MessageSend => "MessageSend",
            Self::ApplicationDataChannel => "ApplicationDataChannel",
            Self::ConferenceRoomCnf => "ConferenceRoomCnf",
            Self::MOMOMMCnf => "MOMOMMCnf",
        }
    }

    /// The event type with this wire name.
    #[must_use]
    pub fn parse(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|t| t.name() == name)
    }

    /// The filter attribute a subscription to every item sets to `-1` (`uid` for users,
    /// `ppn` for devices), if the type has one.
    #[must_use]
    pub fn item_filter(self) -> Option<&'static str> {
        match self {
            Self::PPUserCnf => Some("uid"),
            Self::PPDevCnf => Some("ppn"),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_name_parses_back_and_unknown_ones_do_not() {
        for t in EventType::ALL {
            assert_eq!(EventType::parse(t.name()), Some(t));
        }
        assert_eq!(EventType::parse("ppusercnf"), None);
        assert_eq!(EventType::parse(""), None);
    }
}
