//! svc-maxi, the MOM's application interface (admin guide "MAXI interface for applications
//! and provisioning"; `axi-profile.md` §9 and §10). Built so far:
//!
//! - [`session`]: one client's session as a pure state machine: what each frame from the
//!   client asks for (log in, be answered at once, or be served with the permission it
//!   needs), before any socket or store is involved.
//!
//! The service around it (the TLS listener handed over by the supervisor, the 8-client cap,
//! the store and svc-axi behind the requests, events and statistics) is issue 11's remaining
//! work.

pub mod session;
