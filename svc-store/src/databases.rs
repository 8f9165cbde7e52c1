//! The named databases of the store's LMDB environment: what each holds, by key.

/// The named databases of the environment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Db {
    /// Singletons and counters: schema version, revision, next ids, settings, license, template.
    Meta,
    /// uid → User.
    Users,
    /// ppn → Device.
    Devices,
    /// id → Account.
    Accounts,
    /// id → Omm.
    Omms,
    /// id → `ConferenceRoom`.
    Rooms,
    /// (entity, id) → Tombstone.
    Tombstones,
    /// seq → `EventEntry`.
    Events,
    /// name → Counter.
    Counters,
    /// rev → Change.
    Changes,
    /// IPEI text → ppn.
    IdxIpei,
    /// user number → uid.
    IdxNum,
    /// account name → id.
    IdxAccount,
    /// room number → id.
    IdxRoomNum,
    /// uid of every permanent user → ().
    IdxPermanent,
}

impl Db {
    /// Every database, in the order of their handles.
    pub const ALL: [Db; 15] = [
        Db::Meta,
        Db::Users,
        Db::Devices,
        Db::Accounts,
        Db::Omms,
        Db::Rooms,
        Db::Tombstones,
        Db::Events,
        Db::Counters,
        Db::Changes,
        Db::IdxIpei,
        Db::IdxNum,
        Db::IdxAccount,
        Db::IdxRoomNum,
        Db::IdxPermanent,
    ];

    pub(crate) fn name(self) -> &'static str {
        match self {
            Db::Meta => "meta",
            Db::Users => "users",
            Db::Devices => "devices",
            Db::Accounts => "accounts",
            Db::Omms => "omms",
            Db::Rooms => "rooms",
            Db::Tombstones => "tombstones",
            Db::Events => "events",
            Db::Counters => "counters",
            Db::Changes => "changes",
            Db::IdxIpei => "idx-ipei",
            Db::IdxNum => "idx-num",
            Db::IdxAccount => "idx-account",
            Db::IdxRoomNum => "idx-room-num",
            Db::IdxPermanent => "idx-permanent",
        }
    }
}
