//! A refused MAXI request as an AXI error (`errCode`, `bad`, `info`): the store's refusals
//! turned into the codes an AXI client knows, with the same words the web API uses.

use axi::{ErrCode, ErrorInfo};
use ipc::api::store::StoreError;
use ipc::store_client::Failure;
use model::Entity;

/// Why a request was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal {
    /// `errCode` as written.
    pub code: String,
    /// `bad`: the attribute at fault.
    pub bad: Option<String>,
    /// `info`: why, for the client.
    pub info: String,
}

impl Refusal {
    /// `code` with `info`.
    #[must_use]
    pub fn new(code: ErrCode, info: impl Into<String>) -> Self {
        Self {
            code: code.as_str().to_owned(),
            bad: None,
            info: info.into(),
        }
    }

    /// `EInval` naming attribute `bad`.
    #[must_use]
    pub fn inval(bad: &str, info: impl Into<String>) -> Self {
        Self::new(ErrCode::EInval, info).bad(bad)
    }

    /// `ENoEnt` naming attribute `bad`.
    #[must_use]
    pub fn no_ent(bad: &str, info: impl Into<String>) -> Self {
        Self::new(ErrCode::ENoEnt, info).bad(bad)
    }

    /// The same refusal naming attribute `bad`.
    #[must_use]
    pub fn bad(mut self, bad: &str) -> Self {
        self.bad = Some(bad.to_owned());
        self
    }

    /// The error attributes of the answer.
    #[must_use]
    pub fn to_error(&self) -> ErrorInfo {
        let mut e = ErrorInfo::new(ErrCode::parse(&self.code)).info(&self.info);
        if let Some(bad) = &self.bad {
            e = e.bad(bad);
        }
        e
    }
}

/// The attribute a store's field-check text names (`"sipPw is 80 characters long…"` →
/// `sipPw`; the number's texts → `num`), when it names one a record has.
fn attribute_in(text: &str) -> Option<String> {
    if text.contains("number") {
        return Some("num".into());
    }
    let first = text.split(' ').next()?;
    ["user", "pp"]
        .iter()
        .any(|tag| {
            axi::record::record_schema(tag)
                .iter()
                .any(|(n, _)| *n == first)
        })
        .then(|| first.to_owned())
}

impl From<Failure> for Refusal {
    fn from(failure: Failure) -> Self {
        match failure {
            Failure::Refused(e) => e.into(),
            Failure::Unreachable(e) => {
                tracing::warn!(error = %e, "the store did not answer a MAXI request");
                Self::new(ErrCode::EFailed, "the MOM's database is not reachable now")
            }
        }
    }
}

impl From<StoreError> for Refusal {
    fn from(e: StoreError) -> Self {
        let info = e.to_string();
        match &e {
            StoreError::NotFound { entity, .. } => {
                Self::new(ErrCode::ENoEnt, info).bad(match entity {
                    Entity::Device => "ppn",
                    Entity::Omm => "ommId",
                    _ => "uid",
                })
            }
            StoreError::InvalidIpei(_) => Self::inval("ipei", info),
            StoreError::DuplicateIpei(_) => Self::new(ErrCode::EExist, info).bad("ipei"),
            StoreError::DuplicateNumber(_) => Self::new(ErrCode::EExist, info).bad("num"),
            StoreError::TooManyPermanentUsers(_) | StoreError::PermanentMustBeInternal => {
                Self::inval("permanent", info)
            }
            StoreError::RelationChange(_) => Self::inval("relType", info),
            StoreError::SourceChange(_) => Self::inval("external", info),
            StoreError::Invalid(text) => Self {
                bad: attribute_in(text),
                ..Self::new(ErrCode::EInval, info)
            },
            StoreError::Storage(_) => {
                Self::new(ErrCode::EFailed, "the MOM's database failed; see its log")
            }
            _ => Self::new(ErrCode::EFailed, info),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn store_refusals_become_axi_codes_naming_the_attribute() {
        let r = Refusal::from(StoreError::DuplicateNumber("1000".into()));
        assert_eq!((r.code.as_str(), r.bad.as_deref()), ("EExist", Some("num")));
        assert!(r.info.contains("1000"));
        let r = Refusal::from(StoreError::NotFound {
            entity: Entity::Device,
            id: 4,
        });
        assert_eq!((r.code.as_str(), r.bad.as_deref()), ("ENoEnt", Some("ppn")));
        let r = Refusal::from(StoreError::Invalid("a user needs a number".into()));
        assert_eq!((r.code.as_str(), r.bad.as_deref()), ("EInval", Some("num")));
        let r = Refusal::from(StoreError::Invalid(
            "sipPw is 90 characters long; at most 64 are allowed".into(),
        ));
        assert_eq!(r.bad.as_deref(), Some("sipPw"));
        let r = Refusal::from(StoreError::Storage("MDB_MAP_FULL".into()));
        assert_eq!(r.code, "EFailed");
        assert!(!r.info.contains("MDB"), "database details stay in the log");
    }
}
