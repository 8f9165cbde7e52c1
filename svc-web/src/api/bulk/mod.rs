//! Bulk import and export of users and DECT phones as CSV or JSON (beyond the original MOM
//! and its peers, which cap or lack it): no row cap; a dry run that reports every row's
//! errors, checked by the store's own rules in a transaction it aborts; a real run that
//! writes nothing while any row is bad unless `partial=true` asks for the good rows.
//!
//! A row whose key (`num` of a user, `ipei` of a device) names an existing record updates
//! it (only the row's non-empty fields change); other rows create records over the
//! defaults. Exports never carry secrets (PINs and passwords are redacted).

mod export;
mod import;
mod kind;
mod spreadsheet;

pub use export::*;
pub use import::*;
pub use kind::*;
use spreadsheet::*;

use serde::Deserialize;
use utoipa::ToSchema;

/// The largest upload of one import.
pub const MAX_UPLOAD: usize = 256 * 1024 * 1024;
/// Records per store request.
const BATCH: usize = 1000;

/// The file format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum Format {
    /// Comma-separated, a header line of field names.
    #[default]
    Csv,
    /// A JSON array of objects.
    Json,
}
