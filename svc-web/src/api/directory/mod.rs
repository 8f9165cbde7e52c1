//! Users and DECT phones (admin guide "Users/DECT phones"): the Users and Devices views with
//! server-side paging, 3-state sort, filters and column selection (the store's query engine
//! does the work), create, edit, multi-edit, delete, add fixed user/device, bind and unbind,
//! relation type, source External → Internal, and unsubscribe. The guide's preconditions are
//! the store's rules; their refusals come back as clear errors.

mod devices;
mod edits;
mod fixed_pairs;
mod table_query;
mod users;

pub use devices::*;
pub use edits::*;
pub use fixed_pairs::*;
pub use table_query::*;
pub use users::*;
