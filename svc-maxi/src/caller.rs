//! Who sends the requests of one MAXI connection: the account it logged in with, its address,
//! its key for secrets and whether it asked for the MOM's extensions.

use std::net::IpAddr;

/// Who sends the requests of one connection.
#[derive(Debug, Clone)]
pub struct Caller {
    /// The MOM account it logged in with.
    pub account: String,
    /// Its address.
    pub source: IpAddr,
    /// The key it announced for secrets it reads (`SetMOMKey`), if any.
    pub client_key: Option<rsa::RsaPublicKey>,
    /// Whether it asked for the MOM's extensions (`Open … momExtensions="1"`, profile §9):
    /// `ommId` on records. Strict readers that did not ask get the reference's names only.
    pub extensions: bool,
}
