//! The user and device directory: PP user and PP device records as the MOM keeps them.
//!
//! Field names follow the AXI attributes of `axi-reference.md` §3.3/§3.4 in snake case.
//! Attributes the MOM does not model are kept in `extra` and written back unchanged.

use crate::{record, Ipei, Timestamp};
use serde::{Deserialize, Serialize};

/// Relation between a user and a device record.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum RelType {
    /// Not bound.
    #[default]
    Unbound,
    /// Bound by a login on the handset; can be logged out.
    Dynamic,
    /// Bound permanently by the administrator.
    Fixed,
}

/// Where a user record is provisioned.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum Source {
    /// In the OMM database (and the MOM).
    #[default]
    Internal,
    /// On an external user data server.
    External,
}

/// A three-way user feature switch (`On | Off | Global`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum Tristate {
    /// Follows the system setting.
    #[default]
    Global,
    /// On for this user.
    On,
    /// Off for this user.
    Off,
}

/// Call forwarding state of a user.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum ForwardState {
    /// No forwarding.
    #[default]
    Off,
    /// Forward when busy.
    Busy,
    /// Forward on no answer.
    NoAnswer,
    /// Forward when busy or on no answer.
    BusyNoAnswer,
    /// Forward every call.
    All,
}

/// Monitoring mode of a user (alarm monitoring).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum MonitoringMode {
    /// Not monitored.
    #[default]
    Off,
    /// Passively monitored.
    Passive,
    /// Actively monitored.
    Active,
}

/// Air subscription state of a device.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum SubscriptionState {
    /// Not subscribed.
    #[default]
    No,
    /// Subscribed, not yet confirmed.
    Unconfirmed,
    /// Subscribed.
    Yes,
}

record! {
/// A PP user record.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct User, view UserView {
    /// User id in the MOM (assigned by the store when 0 on create).
    pub uid: u32,
    /// Device ID of the bound DECT phone, 0 for none.
    pub ppn: u32,
    /// Relation to the bound device.
    pub rel_type: RelType,
    /// Display name.
    pub name: String,
    /// Number / SIP user name, unique.
    pub num: String,
    /// Description 1.
    pub hierarchy1: String,
    /// Description 2.
    pub hierarchy2: String,
    /// Login / additional id.
    pub add_id: String,
    /// PIN.
    pub pin: String,
    /// SIP authentication name.
    pub sip_auth_id: String,
    /// SIP password.
    pub sip_pw: String,
    /// SOS number.
    pub sos_num: String,
    /// Voice box number.
    pub voicebox_num: String,
    /// Man-down number.
    pub man_down_num: String,
    /// Call forwarding.
    pub forward_state: ForwardState,
    /// Forwarding delay in seconds.
    pub forward_time: u32,
    /// Forwarding destination.
    pub forward_dest: String,
    /// Handset language (AXI spelling, e.g. "English").
    pub lang: String,
    /// Hold ring-back time.
    pub hold_ring_back_time: u32,
    /// Auto answer.
    pub auto_answer: Tristate,
    /// Microphone mute on auto answer.
    pub microphone_mute: Tristate,
    /// Warning tone on auto answer.
    pub warning_tone: Tristate,
    /// Allow barge-in.
    pub allow_barge_in: Tristate,
    /// Call waiting disabled.
    pub call_waiting_disabled: bool,
    /// Tracking active.
    pub tracking_active: bool,
    /// Locatable.
    pub locatable: bool,
    /// Bluetooth locatable.
    pub bt_locatable: bool,
    /// Bluetooth sensitivity (low, medium, high).
    pub bt_sensitivity: String,
    /// Locating right.
    pub loc_right: bool,
    /// Messaging right.
    pub msg_right: bool,
    /// Send vCard right.
    pub send_vcard_right: bool,
    /// Receive vCard right.
    pub recv_vcard_right: bool,
    /// Keep local phone book.
    pub keep_local_pb: bool,
    /// VIP.
    pub vip: bool,
    /// SIP register check.
    pub sip_register_check: bool,
    /// Allow video stream.
    pub allow_video_stream: bool,
    /// Conference server type.
    pub conference_server_type: String,
    /// Conference server URI.
    pub conference_server_uri: String,
    /// Monitoring mode.
    pub monitoring_mode: MonitoringMode,
    /// Credential password.
    pub credential_pw: String,
    /// PP profile id.
    pub pp_profile_id: u32,
    /// PP data (at most 4 kB text).
    pub pp_data: String,
    /// Fixed SIP port, 0 for the calculated one.
    pub fixed_sip_port: u16,
    /// Service user name.
    pub service_user_name: String,
    /// Service authentication name.
    pub service_auth_name: String,
    /// Service authentication password.
    pub service_auth_password: String,
    /// Log out automatically when charging.
    pub auto_logout_on_charge: bool,
    /// Hot desking support.
    pub hot_desking_support: bool,
    /// Use the SIP user name.
    pub use_sip_user_name: bool,
    /// Use SIP user authentication.
    pub use_sip_user_authentication: bool,
    /// Alternative display number.
    pub alt_display_num: String,
    /// Pickup group number.
    pub pickup_group_num: String,
    /// SIP profile id.
    pub sip_profile_id: u32,
    /// Deployed to every OMM.
    pub permanent: bool,
    /// Provisioning source.
    pub source: Source,
    /// OMM where the record lives (0 = only at the MOM).
    pub home_omm: u32,
    /// Last change, at the MOM or on an OMM.
    pub timestamp: Timestamp,
    /// Last administrative change.
    pub timestamp_admin: Timestamp,
    /// Last relation change.
    pub timestamp_relation: Timestamp,
    /// When the MOM first stored the record.
    pub created: Timestamp,
    /// AXI attributes the MOM does not model, kept verbatim.
    pub extra: Vec<(String, String)>,
    /// The user's ID on its home OMM, 0 while it is not there.
    pub omm_uid: u32,
}
    columns: [uid, ppn, rel_type, name, num, hierarchy1, hierarchy2, add_id, sip_auth_id,
    sos_num, voicebox_num, man_down_num, forward_state, forward_time, forward_dest, lang,
    hold_ring_back_time, auto_answer, microphone_mute, warning_tone, allow_barge_in,
    call_waiting_disabled, tracking_active, locatable, bt_locatable, bt_sensitivity, loc_right,
    msg_right, send_vcard_right, recv_vcard_right, keep_local_pb, vip, sip_register_check,
    allow_video_stream, conference_server_type, conference_server_uri, monitoring_mode,
    pp_profile_id, fixed_sip_port, service_user_name, service_auth_name,
    auto_logout_on_charge, hot_desking_support, use_sip_user_name,
    use_sip_user_authentication, alt_display_num, pickup_group_num, sip_profile_id, permanent,
    source, home_omm, timestamp, timestamp_admin, timestamp_relation, created]
}

record! {
/// A PP device (handset) record.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Device, view DeviceView {
    /// Device ID, assigned by the MOM when a record is created.
    pub ppn: u32,
    /// Bound user, 0 for none.
    pub uid: u32,
    /// Relation to the bound user.
    pub rel_type: RelType,
    /// The handset's IPEI, unique.
    pub ipei: Ipei,
    /// Authentication code for subscription.
    pub ac: String,
    /// Subscription state.
    pub s: SubscriptionState,
    /// User authentication key from the subscription.
    pub uak: String,
    /// DECT encryption.
    pub encrypt: bool,
    /// Messaging capability.
    pub cap_messaging: bool,
    /// Messaging capability for internal use.
    pub cap_messaging_for_internal_use: bool,
    /// Enhanced locating capability.
    pub cap_enh_locating: bool,
    /// Bluetooth capability.
    pub cap_bluetooth: bool,
    /// Ethernet address of the handset.
    pub eth_addr: String,
    /// Hardware type (e.g. "632d").
    pub hw_type: String,
    /// PP profile capability.
    pub pp_profile_capability: bool,
    /// Default PP profile loaded.
    pub pp_default_profile_loaded: bool,
    /// Subscribe via the PARI only: the handset cannot roam.
    pub subscribe_to_pari_only: bool,
    /// Created by auto-create on subscription.
    pub auto_create: bool,
    /// OMM where the handset is located and its records live (0 = unknown).
    pub location: u32,
    /// Last change, at the MOM or on an OMM.
    pub timestamp: Timestamp,
    /// Last administrative change.
    pub timestamp_admin: Timestamp,
    /// Last relation change.
    pub timestamp_relation: Timestamp,
    /// Last roaming change.
    pub timestamp_roaming: Timestamp,
    /// Last subscription change.
    pub timestamp_subscription: Timestamp,
    /// When the MOM first stored the record.
    pub created: Timestamp,
    /// AXI attributes the MOM does not model, kept verbatim.
    pub extra: Vec<(String, String)>,
    /// The DECT phone's ID on the OMM where it is located, 0 while it is not there.
    pub omm_ppn: u32,
}
    columns: [ppn, uid, rel_type, ipei, s, encrypt, cap_messaging,
    cap_messaging_for_internal_use, cap_enh_locating, cap_bluetooth, eth_addr, hw_type,
    pp_profile_capability, pp_default_profile_loaded, subscribe_to_pari_only, auto_create,
    location, timestamp, timestamp_admin, timestamp_relation, timestamp_roaming,
    timestamp_subscription, created]
}

impl Device {
    /// A new unbound, unsubscribed device record for `ipei` with every other field empty.
    #[must_use]
    pub fn new(ipei: Ipei) -> Self {
        Self {
            ppn: 0,
            uid: 0,
            rel_type: RelType::Unbound,
            ipei,
            ac: String::new(),
            s: SubscriptionState::No,
            uak: String::new(),
            encrypt: false,
            cap_messaging: false,
            cap_messaging_for_internal_use: false,
            cap_enh_locating: false,
            cap_bluetooth: false,
            eth_addr: String::new(),
            hw_type: String::new(),
            pp_profile_capability: false,
            pp_default_profile_loaded: false,
            subscribe_to_pari_only: false,
            auto_create: false,
            location: 0,
            timestamp: 0,
            timestamp_admin: 0,
            timestamp_relation: 0,
            timestamp_roaming: 0,
            timestamp_subscription: 0,
            created: 0,
            extra: Vec::new(),
            omm_ppn: 0,
        }
    }
}

/// Which kind of record a tombstone or change refers to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum Entity {
    /// System settings.
    Settings,
    /// The license.
    License,
    /// A login account.
    Account,
    /// An OMM record.
    Omm,
    /// The configuration template.
    Template,
    /// A user record.
    User,
    /// A device record.
    Device,
    /// A conference room.
    ConferenceRoom,
    /// The event log.
    EventLog,
    /// A statistics counter.
    Counter,
    /// The whole database was replaced (import).
    Database,
}

/// Remembers a deleted user or device so an OMM that was away learns of the deletion.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Tombstone {
    /// Kind of the deleted record.
    pub entity: Entity,
    /// Its id.
    pub id: u32,
    /// Its natural key: the number of a user, the IPEI of a device.
    pub key: String,
    /// When it was deleted.
    pub deleted: Timestamp,
}
