//! Records carried as child elements (`<user>`, `<pp>`, `<room>`, `<msg>`, ...).
//!
//! A record keeps every attribute it was given, in order, including those this crate does
//! not know, so a record copied from one OMM to another loses nothing. Known attributes have
//! typed keys (`PpUser::UID` is an `Attr<u32>`), are checked against their type when a frame
//! is decoded, and are read and written with [`AxiRecord::get`] and [`AxiRecord::set`].

use crate::value::{AttrValue, SubscribeCmd};
use crate::xml::{intern, Element, Name, Text};
use crate::DecodeError;
use model::{Ipei, RelType, SubscriptionState};
use rustc_hash::FxHashMap;
use std::marker::PhantomData;
use std::sync::OnceLock;

/// A typed attribute key.
#[derive(Debug)]
pub struct Attr<T> {
    /// Attribute name on the wire.
    pub name: &'static str,
    _t: PhantomData<fn() -> T>,
}

impl<T> Clone for Attr<T> {
    fn clone(&self) -> Self {
        *self
    }
}
impl<T> Copy for Attr<T> {}

impl<T> Attr<T> {
    /// A key for attribute `name`.
    #[must_use]
    pub const fn new(name: &'static str) -> Self {
        Self {
            name,
            _t: PhantomData,
        }
    }
}

/// A type check of an attribute value.
pub type TypeCheck = fn(&str) -> bool;

/// Known attributes of a record type, each with the check of its type.
pub type Schema = &'static [(&'static str, TypeCheck)];

/// Whether `text` is a valid `T`.
fn check<T: AttrValue>(text: &str) -> bool {
    T::valid(text)
}

/// A record type's type checks, found by attribute name.
#[derive(Debug)]
pub struct SchemaIndex {
    by_name: FxHashMap<&'static str, TypeCheck>,
    /// The same, keyed by address and length of the interned name ([`crate::xml::intern`]
    /// hands out one `&'static str` per known name): decoding looks every attribute up, and
    /// hashing two numbers is cheaper than hashing and comparing the name. Any other name
    /// falls back to `by_name`.
    by_interned: FxHashMap<(usize, usize), TypeCheck>,
}

impl SchemaIndex {
    fn new(schema: Schema) -> Self {
        let mut by_interned = FxHashMap::default();
        for (name, check) in schema {
            if let Name::Borrowed(interned) = crate::xml::intern(name) {
                by_interned.insert((interned.as_ptr() as usize, interned.len()), *check);
            }
        }
        Self {
            by_name: schema.iter().copied().collect(),
            by_interned,
        }
    }

    /// The type check of attribute `name`, if the record knows it.
    #[must_use]
    pub fn check(&self, name: &Name) -> Option<TypeCheck> {
        match name {
            Name::Borrowed(n) => self
                .by_interned
                .get(&(n.as_ptr() as usize, n.len()))
                .or_else(|| self.by_name.get(n))
                .copied(),
            Name::Owned(n) => self.by_name.get(n.as_str()).copied(),
        }
    }
}

/// A record element with lossless attributes.
pub trait AxiRecord: Sized + Default {
    /// Element name.
    const TAG: &'static str;
    /// Known attributes and their type checks.
    const SCHEMA: Schema;

    /// All attributes, in order.
    fn attrs(&self) -> &Vec<(Name, Text)>;
    /// All attributes, mutable.
    fn attrs_mut(&mut self) -> &mut Vec<(Name, Text)>;

    /// The raw text of attribute `name`.
    fn raw(&self, name: &str) -> Option<&str> {
        self.attrs()
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    /// The typed value of `attr`; `None` when absent (values were checked on decode).
    fn get<T: AttrValue>(&self, attr: Attr<T>) -> Option<T> {
        self.raw(attr.name).and_then(T::parse)
    }

    /// Sets `attr` (in place if present, else appended).
    fn set<T: AttrValue>(&mut self, attr: Attr<T>, value: T) -> &mut Self {
        self.set_raw(attr.name, value.render());
        self
    }

    /// Sets an attribute by name, known or not.
    fn set_raw(&mut self, name: &str, value: impl Into<Text>) {
        let attrs = self.attrs_mut();
        match attrs.iter_mut().find(|(k, _)| k == name) {
            Some(slot) => slot.1 = value.into(),
            None => attrs.push((intern(name), value.into())),
        }
    }

    /// Removes `attr`.
    fn remove<T>(&mut self, attr: Attr<T>) {
        self.attrs_mut().retain(|(k, _)| k != attr.name);
    }

    /// Reads a record element, checking the known attributes' types.
    ///
    /// # Errors
    /// [`DecodeError::WrongType`] for a known attribute that does not fit its type.
    fn from_element(element: &Element) -> Result<Self, DecodeError> {
        Self::from_attrs(&element.name, element.attrs.clone())
    }

    /// Makes a record from the attributes of an element named `name`, checking the known
    /// attributes' types.
    ///
    /// # Errors
    /// [`DecodeError::WrongType`] for a known attribute that does not fit its type.
    fn from_attrs(name: &str, attrs: Vec<(Name, Text)>) -> Result<Self, DecodeError> {
        let schema = Self::schema_index();
        for (attr, value) in &attrs {
            if let Some(ok) = schema.check(attr) {
                // An empty value clears a field (axi-profile.md §10), so it is always allowed.
                if !value.is_empty() && !ok(value) {
                    return Err(DecodeError::WrongType {
                        element: name.to_owned(),
                        name: attr.to_string(),
                        value: value.chars().take(40).collect(),
                    });
                }
            }
        }
        let mut record = Self::default();
        *record.attrs_mut() = attrs;
        Ok(record)
    }

    /// [`AxiRecord::SCHEMA`] as maps, built once.
    fn schema_index() -> &'static SchemaIndex;

    /// Writes the record element.
    fn to_element(&self) -> Element {
        Element {
            name: Self::TAG.to_owned(),
            attrs: self.attrs().clone(),
            ..Element::default()
        }
    }
}

macro_rules! axi_record {
    ($(#[$meta:meta])* $name:ident $tag:literal { $( $konst:ident : $ty:ty = $attr:literal ),* $(,)? }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, PartialEq, Eq, Default)]
        pub struct $name {
            /// Every attribute, in order, known or not.
            pub attrs: Vec<(Name, Text)>,
        }

        #[allow(missing_docs)]
        impl $name {
            $( pub const $konst: Attr<$ty> = Attr::new($attr); )*
        }

        impl AxiRecord for $name {
            const TAG: &'static str = $tag;
            const SCHEMA: Schema = &[$(($attr, check::<$ty>)),*];
            fn attrs(&self) -> &Vec<(Name, Text)> {
                &self.attrs
            }
            fn schema_index() -> &'static SchemaIndex {
                static INDEX: OnceLock<SchemaIndex> = OnceLock::new();
                INDEX.get_or_init(|| SchemaIndex::new(Self::SCHEMA))
            }
            fn attrs_mut(&mut self) -> &mut Vec<(Name, Text)> {
                &mut self.attrs
            }
        }
    };
}

axi_record! {
    /// A PP user (`<user>`), with every attribute of axi-reference.md §3.3.
    PpUser "user" {
        UID: u32 = "uid", PPN: u32 = "ppn", TIME_STAMP: u64 = "timeStamp", REL_TYPE: RelType = "relType",
        NAME: String = "name", NUM: String = "num", HIERARCHY1: String = "hierarchy1", HIERARCHY2: String = "hierarchy2",
        ADD_ID: String = "addId", PIN: String = "pin", SIP_AUTH_ID: String = "sipAuthId", SIP_PW: String = "sipPw",
        SOS_NUM: String = "sosNum", VOICEBOX_NUM: String = "voiceboxNum", MAN_DOWN_NUM: String = "manDownNum",
        FORWARD_STATE: String = "forwardState", FORWARD_TIME: u32 = "forwardTime", FORWARD_DEST: String = "forwardDest",
        LANG: String = "lang", HOLD_RING_BACK_TIME: u32 = "holdRingBackTime", AUTO_ANSWER: String = "autoAnswer",
        MICROPHONE_MUTE: String = "microphoneMute", WARNING_TONE: String = "warningTone", ALLOW_BARGE_IN: String = "allowBargeIn",
        CALL_WAITING_DISABLED: bool = "callWaitingDisabled", EXTERNAL: bool = "external", TRACKING_ACTIVE: bool = "trackingActive",
        LOCATABLE: bool = "locatable", BT_LOCATABLE: bool = "BTlocatable", BT_SENSITIVITY: String = "BTsensitivity",
        LOC_RIGHT: bool = "locRight", MSG_RIGHT: bool = "msgRight", SEND_VCARD_RIGHT: bool = "sendVcardRight",
        RECV_VCARD_RIGHT: bool = "recvVcardRight", KEEP_LOCAL_PB: bool = "keepLocalPB", VIP: bool = "vip",
        SIP_REGISTER_CHECK: bool = "sipRegisterCheck", ALLOW_VIDEO_STREAM: bool = "allowVideoStream",
        CONFERENCE_SERVER_TYPE: String = "conferenceServerType", CONFERENCE_SERVER_URI: String = "conferenceServerURI",
        MONITORING_MODE: String = "monitoringMode", CUS: String = "CUS", HAS: String = "HAS", HSS: String = "HSS",
        HRS: String = "HRS", HCS: String = "HCS", SRS: String = "SRS", SCS: String = "SCS", CDS: String = "CDS",
        HBS: String = "HBS", BTS: String = "BTS", SWS: String = "SWS", CREDENTIAL_PW: String = "credentialPw",
        CONFIGURATION_DATA_LOADED: bool = "configurationDataLoaded", PP_PROFILE_ID: u32 = "ppProfileId",
        PP_DATA: String = "ppData", FIXED_SIP_PORT: u16 = "fixedSipPort", CALCULATED_SIP_PORT: u16 = "calculatedSipPort",
        UID_SEC: u32 = "uidSec", PERMANENT: bool = "permanent", AUTO_LOGOUT_ON_CHARGE: bool = "autoLogoutOnCharge",
        HOT_DESKING_SUPPORT: bool = "hotDeskingSupport", USE_SIP_USER_NAME: bool = "useSIPUserName",
        USE_SIP_USER_AUTHENTICATION: bool = "useSIPUserAuthentication", SERVICE_USER_NAME: String = "serviceUserName",
        SERVICE_AUTH_NAME: String = "serviceAuthName", SERVICE_AUTH_PASSWORD: String = "serviceAuthPassword",
        PPN_OLD: u32 = "ppnOld", TIME_STAMP_ADMIN: u64 = "timeStampAdmin", TIME_STAMP_RELATION: u64 = "timeStampRelation",
        LANG_PP: String = "langPP", AUTHENTICATE_LOGOUT: bool = "authenticateLogout", KEY_LOCK_ENABLE: bool = "keyLockEnable",
        KEY_LOCK_PIN: String = "keyLockPin", KEY_LOCK_TIME: u32 = "keyLockTime", ALT_DISPLAY_NUM: String = "altDisplayNum",
        SIP_PROFILE_ID: u32 = "sipProfileId", PICKUP_GROUP_NUM: String = "pickupGroupNum", DELETED: bool = "deleted",
    }
}

axi_record! {
    /// A PP device (`<pp>`), with every attribute of axi-reference.md §3.4.
    PpDev "pp" {
        PPN: u32 = "ppn", TIME_STAMP: u64 = "timeStamp", REL_TYPE: RelType = "relType", UID: u32 = "uid",
        IPEI: Ipei = "ipei", AC: String = "ac", S: SubscriptionState = "s", UAK: String = "uak",
        ENCRYPT: bool = "encrypt", CAP_MESSAGING: bool = "capMessaging",
        CAP_MESSAGING_FOR_INTERNAL_USE: bool = "capMessagingForInternalUse", CAP_ENH_LOCATING: bool = "capEnhLocating",
        CAP_BLUETOOTH: bool = "capBluetooth", ETH_ADDR: String = "ethAddr", HW_TYPE: String = "hwType",
        PP_PROFILE_CAPABILITY: bool = "ppProfileCapability", PP_DEFAULT_PROFILE_LOADED: bool = "ppDefaultProfileLoaded",
        SUBSCRIBE_TO_PARI_ONLY: bool = "subscribeToPARIOnly", PPN_SEC: u32 = "ppnSec", OMM_ID: String = "ommId",
        OMM_ID_ACK: String = "ommIdAck", TIME_STAMP_ADMIN: u64 = "timeStampAdmin",
        TIME_STAMP_RELATION: u64 = "timeStampRelation", TIME_STAMP_ROAMING: u64 = "timeStampRoaming",
        TIME_STAMP_SUBSCRIPTION: u64 = "timeStampSubscription", AUTO_CREATE: bool = "autoCreate",
        ROAMING: String = "roaming", MODIC_TYPE: String = "modicType", LOCATION_DATA: String = "locationData",
        DECT_IE_FIXED_ID: String = "dectIeFixedId", SUBSCRIPTION_ID: String = "subscriptionId", DELETED: bool = "deleted",
    }
}

axi_record! {
    /// A conference room (`<room>`).
    Room "room" {
        ID: u32 = "id", NAME: String = "name", CONFERENCE_ID: String = "conferenceId", SIP_AUTH_ID: String = "sipAuthId",
        SIP_PW: String = "sipPw", FIXED_SIP_PORT: u16 = "fixedSipPort", CALCULATED_SIP_PORT: u16 = "calculatedSipPort",
        DELETED: bool = "deleted",
    }
}

axi_record! {
    /// A DECT text message (`<msg>`).
    TextMessage "msg" {
        ID: String = "id", SEND_TIME: u64 = "sendTime", PPN: u32 = "ppn", FROM_ADDR: String = "fromAddr",
        FROM_NAME: String = "fromName", TO_ADDR: String = "toAddr", TO_NAME: String = "toName",
        CALLBACK_ADDR: String = "callbackAddr", CALLBACK_NAME: String = "callbackName", AUTO_CALLBACK: bool = "autoCallback",
        PRIORITY: String = "priority", FOLDER: String = "folder", AUTO_DELETE: bool = "autoDelete", POP_UP: bool = "popUp",
        ENCODING: String = "encoding", CONTENT_TYPE: String = "contentType", CONTENT: String = "content",
    }
}

axi_record! {
    /// An RSA public key (`<publicKey>`), modulus and exponent in hexadecimal.
    PublicKey "publicKey" { MODULUS: String = "modulus", EXPONENT: String = "exponent" }
}

axi_record! {
    /// A configuration URL (`<url>`).
    ConfigUrl "url" {
        ENABLE: bool = "enable", PROTOCOL: String = "protocol", HOST: String = "host", PORT: u16 = "port",
        PATH: String = "path", USERNAME: String = "username", PASSWORD: String = "password",
        USE_COMMON_CERTS: bool = "useCommonCerts", VALIDATE_CERTS: bool = "validateCerts",
    }
}

axi_record! {
    /// One entry of a `Subscribe` (`<e>`).
    SubscribeEntry "e" {
        CMD: SubscribeCmd = "cmd", EVENT_TYPE: String = "eventType", PPN: i64 = "ppn", UID: i64 = "uid",
        RFP_ID: i64 = "rfpId", OMM: i64 = "omm", TRIGGER: String = "trigger", SCHEME: String = "scheme",
    }
}

/// The known attributes of the record named `tag`, for tests that build arbitrary records.
#[must_use]
pub fn record_schema(tag: &str) -> Schema {
    match tag {
        "user" => PpUser::SCHEMA,
        "pp" => PpDev::SCHEMA,
        "room" => Room::SCHEMA,
        "msg" => TextMessage::SCHEMA,
        "publicKey" => PublicKey::SCHEMA,
        "url" => ConfigUrl::SCHEMA,
        "e" => SubscribeEntry::SCHEMA,
        _ => &[],
    }
}

/// Every attribute name of every record type.
pub(crate) fn known_names() -> impl Iterator<Item = &'static str> {
    ["user", "pp", "room", "msg", "publicKey", "url", "e"]
        .into_iter()
        .flat_map(|tag| record_schema(tag).iter().map(|(n, _)| *n))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unknown_attributes_survive_and_known_ones_are_typed() {
        let mut el = Element::new("user");
        el.push_attr("uid", "7");
        el.push_attr("futureAttribute", "x<y");
        el.push_attr("relType", "Dynamic");
        let mut user = PpUser::from_element(&el).unwrap();
        assert_eq!(user.get(PpUser::UID), Some(7));
        assert_eq!(user.get(PpUser::REL_TYPE), Some(RelType::Dynamic));
        user.set(PpUser::NAME, "Ann".to_owned());
        let back = user.to_element();
        assert_eq!(back.attr("futureAttribute"), Some("x<y"));
        assert_eq!(back.attrs[0], ("uid".into(), "7".into()));
        assert_eq!(back.attrs[3], ("name".into(), "Ann".into()));
    }

    #[test]
    fn a_mistyped_known_attribute_is_refused() {
        let mut el = Element::new("pp");
        el.push_attr("ppn", "seven");
        assert!(matches!(
            PpDev::from_element(&el),
            Err(DecodeError::WrongType { .. })
        ));
        // An IPEI is typed by its check digit: the right one decodes, any other is refused.
        let ipei = model::Ipei::new(3074, 220_259).unwrap();
        let good = ipei.to_string();
        let (digits, check) = good.split_at(good.len() - 1);
        for c in ['0', '1', '2', '3', '4', '5', '6', '7', '8', '9', '*'] {
            let mut el = Element::new("pp");
            el.push_attr("ipei", format!("{digits}{c}"));
            let decoded = PpDev::from_element(&el);
            if check == c.to_string() {
                assert_eq!(decoded.unwrap().get(PpDev::IPEI), Some(ipei));
            } else {
                assert!(
                    matches!(decoded, Err(DecodeError::WrongType { .. })),
                    "check digit {c} of {good}"
                );
            }
        }
    }
}
