//! The AXI commands a provisioning file (`ipdect.cfg`) may hold, for the MOM's template
//! check: every request of the `axi` crate's message table, and the configuration commands an
//! OMM runs from its file that the MOM itself never sends.
//!
//! The requests are named here as data, so that this crate (linked by the admin CLI in the
//! privileged `sip-dect-mom` binary) does not link the AXI codec; `tests/commands.rs` keeps the
//! list equal to the message table.
//!
//! Sources: the admin guide names `SetDECTRegDomain`, `SetBasicSIP`, `SetRemoteAccess`,
//! `SetSpecialBranding`, `SetIMA` and `SetAutoDBBackup`; `axi-reference.md` §3 documents
//! `SetSystemName`, `SetDECTAuthCode`, `SetDECTEncryption`, `SetPPLoginVariant`,
//! `SetRestrictedSubscriptionDuration`, `SetUserDataServer`, `SetUserDeviceSyncOMM` and
//! `SetPreserveUserDeviceRelation`. The rest are the names the default template
//! (`packaging/ipdect-template.xml`) uses for the guide's checklist items; no public source
//! confirms them, which the template says.

/// The requests of the `axi` crate's message table (answers and events are not commands).
pub const MESSAGE_REQUESTS: &[&str] = &[
    "Open",
    "SetMOMKey",
    "GetPublicKey",
    "Ping",
    "GetPARK",
    "GetSARI",
    "SetSARI",
    "SetDevAutoCreate",
    "GetDECTSubscriptionMode",
    "SetDECTSubscriptionMode",
    "GetFACPrefix",
    "SetFACPrefix",
    "GetConfigURL",
    "SetConfigURL",
    "SetSystemProvUpdTrig",
    "Subscribe",
    "GetPPUser",
    "GetPPDev",
    "GetPPUserByNumber",
    "GetPPDevByIPEI",
    "CreatePPUser",
    "SetPPUser",
    "DeletePPUser",
    "CreatePPDev",
    "SetPPDev",
    "DeletePPDev",
    "SetPP",
    "SetPPUserDevRelation",
    "GetConferenceRoom",
    "CreateConferenceRoom",
    "SetConferenceRoom",
    "DeleteConferenceRoom",
    "DECTSubscribeReject",
    "DECTLocateReject",
    "SendMessage",
    "ApplicationDataChannel",
    "SoftwareUpdate",
    "GetSystemName",
    "SetSystemName",
];

/// Configuration commands beyond the message table.
pub const CONFIGURATION_COMMANDS: &[&str] = &[
    // Admin guide.
    "SetDECTRegDomain",
    "SetBasicSIP",
    "SetRemoteAccess",
    "SetSpecialBranding",
    "SetIMA",
    "SetAutoDBBackup",
    // axi-reference.md §3.
    "SetSystemName",
    "SetDECTAuthCode",
    "SetDECTEncryption",
    "SetPPLoginVariant",
    "SetRestrictedSubscriptionDuration",
    "SetUserDataServer",
    "SetUserDeviceSyncOMM",
    "SetPreserveUserDeviceRelation",
    // The default template's checklist names (unconfirmed).
    "SetTones",
    "SetTimeZone",
    "SetSoftwareUpdateURL",
    "SetQoS",
    "SetVoiceMail",
    "SetDialEditor",
    "SetNTPServer",
    "SetAdvancedSIP",
    "SetCorporateDirectory",
    "SetXMLApplication",
    "SetFeatureAccessCodes",
    "SetSNMP",
    "SetSyslog",
    "SetCoreDump",
    "SetSystemDump",
];

/// Whether `name` is an AXI command the MOM knows: a request of the message table (not an
/// answer or an event) or a configuration command.
#[must_use]
pub fn is_known(name: &str) -> bool {
    CONFIGURATION_COMMANDS.contains(&name) || MESSAGE_REQUESTS.contains(&name)
}

#[cfg(test)]
mod tests {
    #[test]
    fn requests_and_configuration_commands_are_known_answers_are_not() {
        assert!(super::is_known("SetSystemName"));
        assert!(super::is_known("SetBasicSIP"));
        assert!(super::is_known("SetConfigURL"));
        assert!(!super::is_known("SetConfigURLResp"));
        assert!(!super::is_known("SetBasicSip"), "names are case-sensitive");
    }
}
