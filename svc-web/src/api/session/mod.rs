//! Logging in (admin guide "Logging in"): the pre-login banner, login with throttling and
//! the optional second factor, the session, logout, the EULA, the forced change of the
//! default password with the guide's password rules, and an account's own API tokens.

mod eula;
mod login;
mod my_account;

pub use eula::*;
pub use login::*;
pub use my_account::*;
