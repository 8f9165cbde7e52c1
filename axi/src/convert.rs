//! Records between the store's model and AXI: `model::User` ↔ `<user>`, `model::Device` ↔
//! `<pp>`. Attributes the model does not know travel in `extra` and come back unchanged.
//! Ids are not converted: the OMM's `uid`/`ppn` are its own (`omm_uid`, `omm_ppn`).

use crate::record::AxiRecord;
use crate::value::AttrValue;
use crate::{PpDev, PpUser};
use model::{Device, ForwardState, MonitoringMode, Tristate, User};

/// The secrets of a user record (profile §10): they travel encrypted, for the receiver's
/// key, so [`user_to_axi`] and [`user_from_axi`] leave them out; see [`user_secret`].
pub const USER_SECRETS: [&str; 4] = ["pin", "sipPw", "credentialPw", "serviceAuthPassword"];

/// The plain value of secret `name` (one of [`USER_SECRETS`]) of `user`.
#[must_use]
pub fn user_secret<'u>(user: &'u User, name: &str) -> &'u str {
    match name {
        "pin" => &user.pin,
        "sipPw" => &user.sip_pw,
        "credentialPw" => &user.credential_pw,
        "serviceAuthPassword" => &user.service_auth_password,
        _ => "",
    }
}

/// Sets secret `name` (one of [`USER_SECRETS`]) of `user` to its plain value.
pub fn set_user_secret(user: &mut User, name: &str, plain: String) {
    match name {
        "pin" => user.pin = plain,
        "sipPw" => user.sip_pw = plain,
        "credentialPw" => user.credential_pw = plain,
        "serviceAuthPassword" => user.service_auth_password = plain,
        _ => {}
    }
}

/// User attributes the conversion handles (everything else goes to `extra`).
const USER_MAPPED: &[&str] = &[
    "uid",
    "ppn",
    "relType",
    "name",
    "num",
    "hierarchy1",
    "hierarchy2",
    "addId",
    "pin",
    "sipAuthId",
    "sipPw",
    "sosNum",
    "voiceboxNum",
    "manDownNum",
    "forwardState",
    "forwardTime",
    "forwardDest",
    "lang",
    "holdRingBackTime",
    "autoAnswer",
    "microphoneMute",
    "warningTone",
    "allowBargeIn",
    "callWaitingDisabled",
    "trackingActive",
    "locatable",
    "BTlocatable",
    "BTsensitivity",
    "locRight",
    "msgRight",
    "sendVcardRight",
    "recvVcardRight",
    "keepLocalPB",
    "vip",
    "sipRegisterCheck",
    "allowVideoStream",
    "conferenceServerType",
    "conferenceServerURI",
    "monitoringMode",
    "credentialPw",
    "ppProfileId",
    "ppData",
    "fixedSipPort",
    "serviceUserName",
    "serviceAuthName",
    "serviceAuthPassword",
    "autoLogoutOnCharge",
    "hotDeskingSupport",
    "useSIPUserName",
    "useSIPUserAuthentication",
    "altDisplayNum",
    "pickupGroupNum",
    "sipProfileId",
    "permanent",
    "external",
    "timeStamp",
    "timeStampAdmin",
    "timeStampRelation",
    "deleted",
    "calculatedSipPort",
    "configurationDataLoaded",
    "uidSec",
    "ppnOld",
];

/// Device attributes the conversion handles.
const DEVICE_MAPPED: &[&str] = &[
    "ppn",
    "uid",
    "relType",
    "ipei",
    "ac",
    "s",
    "uak",
    "encrypt",
    "capMessaging",
    "capMessagingForInternalUse",
    "capEnhLocating",
    "capBluetooth",
    "ethAddr",
    "hwType",
    "ppProfileCapability",
    "ppDefaultProfileLoaded",
    "subscribeToPARIOnly",
    "autoCreate",
    "timeStamp",
    "timeStampAdmin",
    "timeStampRelation",
    "timeStampRoaming",
    "timeStampSubscription",
    "deleted",
    "ppnSec",
    "ommId",
    "ommIdAck",
];

fn tristate(text: Option<&str>) -> Tristate {
    match text {
        Some("On") => Tristate::On,
        Some("Off") => Tristate::Off,
        _ => Tristate::Global,
    }
}

fn tristate_text(t: Tristate) -> &'static str {
    match t {
        Tristate::On => "On",
        Tristate::Off => "Off",
        Tristate::Global => "Global",
    }
}

fn get<T: AttrValue + Default>(r: &impl AxiRecord, name: &str) -> T {
    r.raw(name).and_then(T::parse).unwrap_or_default()
}

fn text(r: &impl AxiRecord, name: &str) -> String {
    r.raw(name).unwrap_or("").to_owned()
}

/// Fills `user` (a MOM record) from an OMM's `<user>`; ids, home and relation stay as they are.
pub fn user_from_axi(user: &mut User, u: &PpUser) {
    user.name = text(u, "name");
    user.num = text(u, "num");
    user.hierarchy1 = text(u, "hierarchy1");
    user.hierarchy2 = text(u, "hierarchy2");
    user.add_id = text(u, "addId");
    user.sip_auth_id = text(u, "sipAuthId");
    user.sos_num = text(u, "sosNum");
    user.voicebox_num = text(u, "voiceboxNum");
    user.man_down_num = text(u, "manDownNum");
    user.forward_state = match u.raw("forwardState") {
        Some("Busy") => ForwardState::Busy,
        Some("NoAnswer") => ForwardState::NoAnswer,
        Some("BusyNoAnswer") => ForwardState::BusyNoAnswer,
        Some("All") => ForwardState::All,
        _ => ForwardState::Off,
    };
    user.forward_time = get(u, "forwardTime");
    user.forward_dest = text(u, "forwardDest");
    user.lang = text(u, "lang");
    user.hold_ring_back_time = get(u, "holdRingBackTime");
    user.auto_answer = tristate(u.raw("autoAnswer"));
    user.microphone_mute = tristate(u.raw("microphoneMute"));
    user.warning_tone = tristate(u.raw("warningTone"));
    user.allow_barge_in = tristate(u.raw("allowBargeIn"));
    user.call_waiting_disabled = get(u, "callWaitingDisabled");
    user.tracking_active = get(u, "trackingActive");
    user.locatable = get(u, "locatable");
    user.bt_locatable = get(u, "BTlocatable");
    user.bt_sensitivity = text(u, "BTsensitivity");
    user.loc_right = get(u, "locRight");
    user.msg_right = get(u, "msgRight");
    user.send_vcard_right = get(u, "sendVcardRight");
    user.recv_vcard_right = get(u, "recvVcardRight");
    user.keep_local_pb = get(u, "keepLocalPB");
    user.vip = get(u, "vip");
    user.sip_register_check = get(u, "sipRegisterCheck");
    user.allow_video_stream = get(u, "allowVideoStream");
    user.conference_server_type = text(u, "conferenceServerType");
    user.conference_server_uri = text(u, "conferenceServerURI");
    user.monitoring_mode = match u.raw("monitoringMode") {
        Some("Passive") => MonitoringMode::Passive,
        Some("Active") => MonitoringMode::Active,
        _ => MonitoringMode::Off,
    };
    user.pp_profile_id = get(u, "ppProfileId");
    user.pp_data = text(u, "ppData");
    user.fixed_sip_port = get(u, "fixedSipPort");
    user.service_user_name = text(u, "serviceUserName");
    user.service_auth_name = text(u, "serviceAuthName");
    user.auto_logout_on_charge = get(u, "autoLogoutOnCharge");
    user.hot_desking_support = get(u, "hotDeskingSupport");
    user.use_sip_user_name = get(u, "useSIPUserName");
    user.use_sip_user_authentication = get(u, "useSIPUserAuthentication");
    user.alt_display_num = text(u, "altDisplayNum");
    user.pickup_group_num = text(u, "pickupGroupNum");
    user.sip_profile_id = get(u, "sipProfileId");
    if u.raw("permanent").is_some() {
        user.permanent = get(u, "permanent");
    }
    user.source = if get::<bool>(u, "external") {
        model::Source::External
    } else {
        model::Source::Internal
    };
    user.timestamp = get(u, "timeStamp");
    user.timestamp_admin = get(u, "timeStampAdmin");
    user.timestamp_relation = get(u, "timeStampRelation");
    user.extra = u
        .attrs
        .iter()
        .filter(|(k, _)| !USER_MAPPED.contains(&k.as_ref()))
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
}

/// The `<user>` for a MOM record (no ids, no relation, no secrets: those go separately).
#[must_use]
pub fn user_to_axi(user: &User) -> PpUser {
    let mut u = PpUser::default();
    let b = |v: bool| v.render();
    for (name, value) in [
        ("name", user.name.clone()),
        ("num", user.num.clone()),
        ("hierarchy1", user.hierarchy1.clone()),
        ("hierarchy2", user.hierarchy2.clone()),
        ("addId", user.add_id.clone()),
        ("sipAuthId", user.sip_auth_id.clone()),
        ("sosNum", user.sos_num.clone()),
        ("voiceboxNum", user.voicebox_num.clone()),
        ("manDownNum", user.man_down_num.clone()),
        ("forwardState", format!("{:?}", user.forward_state)),
        ("forwardTime", user.forward_time.to_string()),
        ("forwardDest", user.forward_dest.clone()),
        ("lang", user.lang.clone()),
        ("holdRingBackTime", user.hold_ring_back_time.to_string()),
        ("autoAnswer", tristate_text(user.auto_answer).to_owned()),
        (
            "microphoneMute",
            tristate_text(user.microphone_mute).to_owned(),
        ),
        ("warningTone", tristate_text(user.warning_tone).to_owned()),
        (
            "allowBargeIn",
            tristate_text(user.allow_barge_in).to_owned(),
        ),
        ("callWaitingDisabled", b(user.call_waiting_disabled)),
        ("trackingActive", b(user.tracking_active)),
        ("locatable", b(user.locatable)),
        ("BTlocatable", b(user.bt_locatable)),
        ("BTsensitivity", user.bt_sensitivity.clone()),
        ("locRight", b(user.loc_right)),
        ("msgRight", b(user.msg_right)),
        ("sendVcardRight", b(user.send_vcard_right)),
        ("recvVcardRight", b(user.recv_vcard_right)),
        ("keepLocalPB", b(user.keep_local_pb)),
        ("vip", b(user.vip)),
        ("sipRegisterCheck", b(user.sip_register_check)),
        ("allowVideoStream", b(user.allow_video_stream)),
        ("conferenceServerType", user.conference_server_type.clone()),
        ("conferenceServerURI", user.conference_server_uri.clone()),
        ("monitoringMode", format!("{:?}", user.monitoring_mode)),
        ("ppProfileId", user.pp_profile_id.to_string()),
        ("ppData", user.pp_data.clone()),
        ("fixedSipPort", user.fixed_sip_port.to_string()),
        ("serviceUserName", user.service_user_name.clone()),
        ("serviceAuthName", user.service_auth_name.clone()),
        ("autoLogoutOnCharge", b(user.auto_logout_on_charge)),
        ("hotDeskingSupport", b(user.hot_desking_support)),
        ("useSIPUserName", b(user.use_sip_user_name)),
        (
            "useSIPUserAuthentication",
            b(user.use_sip_user_authentication),
        ),
        ("altDisplayNum", user.alt_display_num.clone()),
        ("pickupGroupNum", user.pickup_group_num.clone()),
        ("sipProfileId", user.sip_profile_id.to_string()),
        ("permanent", b(user.permanent)),
        ("external", b(user.source == model::Source::External)),
        ("timeStamp", user.timestamp.to_string()),
        ("timeStampAdmin", user.timestamp_admin.to_string()),
    ] {
        u.set_raw(name, value);
    }
    for (k, v) in &user.extra {
        u.set_raw(k, v.as_str());
    }
    u
}

/// Fills `device` from an OMM's `<pp>`; ids, location and relation stay as they are.
pub fn device_from_axi(device: &mut Device, d: &PpDev) {
    if let Some(ipei) = d.get(PpDev::IPEI) {
        device.ipei = ipei;
    }
    device.ac = text(d, "ac");
    device.s = d.get(PpDev::S).unwrap_or_default();
    device.uak = text(d, "uak");
    device.encrypt = get(d, "encrypt");
    device.cap_messaging = get(d, "capMessaging");
    device.cap_messaging_for_internal_use = get(d, "capMessagingForInternalUse");
    device.cap_enh_locating = get(d, "capEnhLocating");
    device.cap_bluetooth = get(d, "capBluetooth");
    device.eth_addr = text(d, "ethAddr");
    device.hw_type = text(d, "hwType");
    device.pp_profile_capability = get(d, "ppProfileCapability");
    device.pp_default_profile_loaded = get(d, "ppDefaultProfileLoaded");
    device.subscribe_to_pari_only = get(d, "subscribeToPARIOnly");
    device.auto_create = get(d, "autoCreate");
    device.timestamp = get(d, "timeStamp");
    device.timestamp_admin = get(d, "timeStampAdmin");
    device.timestamp_relation = get(d, "timeStampRelation");
    device.timestamp_roaming = get(d, "timeStampRoaming");
    device.timestamp_subscription = get(d, "timeStampSubscription");
    device.extra = d
        .attrs
        .iter()
        .filter(|(k, _)| !DEVICE_MAPPED.contains(&k.as_ref()))
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
}

/// The `<pp>` for a MOM record (no ids and no relation).
#[must_use]
pub fn device_to_axi(device: &Device) -> PpDev {
    let mut d = PpDev::default();
    let b = |v: bool| v.render();
    d.set(PpDev::IPEI, device.ipei);
    for (name, value) in [
        ("ac", device.ac.clone()),
        ("s", device.s.render()),
        ("uak", device.uak.clone()),
        ("encrypt", b(device.encrypt)),
        ("capMessaging", b(device.cap_messaging)),
        (
            "capMessagingForInternalUse",
            b(device.cap_messaging_for_internal_use),
        ),
        ("capEnhLocating", b(device.cap_enh_locating)),
        ("capBluetooth", b(device.cap_bluetooth)),
        ("ethAddr", device.eth_addr.clone()),
        ("hwType", device.hw_type.clone()),
        ("ppProfileCapability", b(device.pp_profile_capability)),
        (
            "ppDefaultProfileLoaded",
            b(device.pp_default_profile_loaded),
        ),
        ("subscribeToPARIOnly", b(device.subscribe_to_pari_only)),
        ("autoCreate", b(device.auto_create)),
        ("timeStamp", device.timestamp.to_string()),
        ("timeStampAdmin", device.timestamp_admin.to_string()),
    ] {
        d.set_raw(name, value);
    }
    for (k, v) in &device.extra {
        d.set_raw(k, v.as_str());
    }
    d
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_user_survives_the_round_trip_with_unknown_attributes() {
        let mut u = PpUser::default();
        u.set_raw("uid", "9");
        u.set_raw("num", "4711");
        u.set_raw("name", "Ann");
        u.set_raw("vip", "1");
        u.set_raw("autoAnswer", "On");
        u.set_raw("timeStamp", "1700000000");
        u.set_raw("vendorAttr", "x");
        let mut user = User::default();
        user_from_axi(&mut user, &u);
        assert_eq!(
            (
                user.num.as_str(),
                user.vip,
                user.auto_answer,
                user.timestamp
            ),
            ("4711", true, Tristate::On, 1_700_000_000)
        );
        assert_eq!(user.extra, [("vendorAttr".to_owned(), "x".to_owned())]);
        let back = user_to_axi(&user);
        assert_eq!(back.raw("vendorAttr"), Some("x"));
        assert_eq!(back.raw("vip"), Some("true"));
        let mut again = User::default();
        user_from_axi(&mut again, &back);
        assert_eq!(again, user);
    }

    #[test]
    fn a_device_survives_the_round_trip() {
        let mut d = PpDev::default();
        d.set(PpDev::IPEI, model::Ipei::new(3074, 220_259).unwrap());
        d.set_raw("s", "Yes");
        d.set_raw("uak", "00112233445566778899AABBCCDDEEFF");
        d.set_raw("roaming", "RoamingComplete");
        let mut device = Device::new(model::Ipei::new(1, 1).unwrap());
        device_from_axi(&mut device, &d);
        assert_eq!(device.s, model::SubscriptionState::Yes);
        let back = device_to_axi(&device);
        let mut again = Device::new(model::Ipei::new(1, 1).unwrap());
        device_from_axi(&mut again, &back);
        assert_eq!(again, device);
        assert_eq!(back.raw("roaming"), Some("RoamingComplete"));
    }
}
