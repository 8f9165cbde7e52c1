//! Why the store refused a request, in words an administrator can act on.

use model::{Entity, QueryError};
use serde::{Deserialize, Serialize};
use std::fmt;

/// Why the store refused a request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum StoreError {
    /// No such record.
    NotFound {
        /// Kind.
        entity: Entity,
        /// Id.
        id: u32,
    },
    /// The IPEI is not valid.
    InvalidIpei(String),
    /// Another device has this IPEI.
    DuplicateIpei(String),
    /// Another user has this number.
    DuplicateNumber(String),
    /// Another account has this name.
    DuplicateAccountName(String),
    /// Another conference room has this number.
    DuplicateRoomNumber(String),
    /// The permanent-user limit would be exceeded.
    TooManyPermanentUsers(usize),
    /// A permanent user must have source Internal.
    PermanentMustBeInternal,
    /// The default account cannot be deleted.
    DefaultAccountUndeletable,
    /// The relation change is not allowed; the text says why.
    RelationChange(String),
    /// The source change is not allowed; the text says why.
    SourceChange(String),
    /// A field value is not acceptable; the text says which and why.
    Invalid(String),
    /// The query is malformed.
    Query(QueryError),
    /// Wrong name or password.
    WrongPassword,
    /// The account is disabled.
    AccountDisabled,
    /// A new license is for another installation.
    LicenseMismatch {
        /// Installed id.
        installed: String,
        /// Offered id.
        offered: String,
    },
    /// The import file was refused; nothing was changed.
    Import(String),
    /// The export or import id is unknown or expired.
    UnknownTransfer(u64),
    /// The database failed; the text is for the log.
    Storage(String),
    /// The license file was refused (shape, signature or issuer); the text says why.
    LicenseRefused(String),
    /// The import carries another installation's identity onto a MOM with linked OMMs;
    /// refused unless confirmed ([`StoreRequest::ImportCommitForeign`](super::StoreRequest::ImportCommitForeign)).
    ForeignIdentity {
        /// What this MOM has (installation id or SARI).
        installed: String,
        /// What the import carries.
        offered: String,
    },
    /// The database was written by a newer version (after a downgrade); it is left as it
    /// is, and no restart can cure this.
    NewerDatabase {
        /// The database folder.
        dir: String,
        /// The schema version it has.
        found: u32,
        /// The newest schema version this build reads.
        supported: u32,
        /// This build's version.
        version: String,
    },
    /// Too many password checks are waiting (each costs about 19 MiB and tens of
    /// milliseconds); try again after so many seconds.
    Busy {
        /// Seconds to wait.
        retry_after_secs: u32,
    },
}

impl fmt::Display for StoreError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::NotFound { entity, id } => write!(f, "{entity:?} {id} does not exist"),
            Self::InvalidIpei(e) => write!(f, "invalid IPEI: {e}"),
            Self::DuplicateIpei(i) => write!(f, "IPEI {i} is already used by another device"),
            Self::DuplicateNumber(n) => write!(f, "number {n} is already used by another user"),
            Self::DuplicateAccountName(n) => write!(f, "account name {n:?} is already used"),
            Self::DuplicateRoomNumber(n) => {
                write!(f, "number {n} is already used by another conference room")
            }
            Self::TooManyPermanentUsers(max) => {
                write!(f, "at most {max} permanent users are allowed")
            }
            Self::PermanentMustBeInternal => {
                f.write_str("a permanent user cannot be provisioned externally")
            }
            Self::DefaultAccountUndeletable => f.write_str("the default account cannot be deleted"),
            Self::RelationChange(why) => write!(f, "relation type cannot change: {why}"),
            Self::SourceChange(why) => write!(f, "source cannot change: {why}"),
            Self::Invalid(why) => f.write_str(why),
            Self::Query(e) => write!(f, "bad query: {e}"),
            Self::WrongPassword => f.write_str("wrong name or password"),
            Self::AccountDisabled => f.write_str("the account is disabled"),
            Self::LicenseMismatch { installed, offered } => write!(
                f,
                "license is for installation {offered}, this MOM is installation {installed}"
            ),
            Self::Import(why) => write!(f, "import refused, database unchanged: {why}"),
            Self::UnknownTransfer(id) => write!(f, "no export or import with id {id}"),
            Self::Storage(e) => write!(f, "database error: {e}"),
            Self::LicenseRefused(why) => write!(f, "license refused: {why}"),
            Self::NewerDatabase { dir, found, supported, version } => write!(
                f,
                "the database in {dir} has schema version {found}, written by a newer sip-dect-mom; \
                 this version ({version}) reads schema {supported} and older. It is left untouched: \
                 install the newer version again, or move the folder away and import a database \
                 export this version can read"
            ),
            Self::Busy { retry_after_secs } => write!(
                f,
                "too many logins are being checked; try again in {retry_after_secs} s"
            ),
            Self::ForeignIdentity { installed, offered } => write!(
                f,
                "the import belongs to another installation ({offered}, this MOM is {installed}) and OMMs are linked; confirm to import it anyway"
            ),
        }
    }
}

impl std::error::Error for StoreError {}
