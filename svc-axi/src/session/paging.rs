//! Paged reads of an OMM's users, devices and conference rooms (profile §3 step 8 and §10:
//! `maxRecords="20"`, the next page starts at the last id + 1, until an empty page or
//! `ENoEnt`).

use crate::link::{AxiLink, LinkError};
use axi::message::{GetConferenceRoom, GetPPDev, GetPPUser};
use axi::record::AxiRecord;
use axi::{Message, PpDev, PpUser, Room};

/// Records per page (the most an OMM gives).
const PAGE: u32 = 20;

/// A record kind an OMM hands out page by page.
pub trait Paged: Sized {
    /// The request for the page that starts at id `from`.
    fn request(from: u32) -> Message;
    /// The records of an answer, `None` when it is not a page of this kind.
    fn page(answer: Message) -> Option<Vec<Self>>;
    /// The OMM's id of a record.
    fn id(&self) -> Option<u32>;
}

impl Paged for PpUser {
    fn request(from: u32) -> Message {
        GetPPUser {
            uid: from,
            max_records: Some(PAGE),
        }
        .into()
    }
    fn page(answer: Message) -> Option<Vec<Self>> {
        match answer {
            Message::GetPPUserResp(page) => Some(page.users),
            _ => None,
        }
    }
    fn id(&self) -> Option<u32> {
        self.get(PpUser::UID)
    }
}

impl Paged for PpDev {
    fn request(from: u32) -> Message {
        GetPPDev {
            ppn: from,
            max_records: Some(PAGE),
        }
        .into()
    }
    fn page(answer: Message) -> Option<Vec<Self>> {
        match answer {
            Message::GetPPDevResp(page) => Some(page.devices),
            _ => None,
        }
    }
    fn id(&self) -> Option<u32> {
        self.get(PpDev::PPN)
    }
}

impl Paged for Room {
    fn request(from: u32) -> Message {
        GetConferenceRoom {
            id: from,
            max_records: Some(PAGE),
        }
        .into()
    }
    fn page(answer: Message) -> Option<Vec<Self>> {
        match answer {
            Message::GetConferenceRoomResp(page) => Some(page.rooms),
            _ => None,
        }
    }
    fn id(&self) -> Option<u32> {
        self.get(Room::ID)
    }
}

/// Every record of kind `R` the OMM has, in id order.
///
/// # Errors
/// The link failed.
pub async fn all<R: Paged>(link: &AxiLink) -> Result<Vec<R>, LinkError> {
    let mut out = Vec::new();
    let mut next = 0;
    loop {
        let frame = link.request(R::request(next)).await?;
        if frame.error.is_some() {
            return Ok(out);
        }
        let records = match R::page(frame.message) {
            Some(records) if !records.is_empty() => records,
            _ => return Ok(out),
        };
        let last = records.iter().filter_map(Paged::id).max();
        out.extend(records);
        match last {
            // An OMM that repeats a page would otherwise be read for ever.
            Some(last) if last >= next => next = last.saturating_add(1),
            _ => return Ok(out),
        }
        if next == u32::MAX {
            return Ok(out);
        }
    }
}
