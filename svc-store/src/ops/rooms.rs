//! Conference rooms.

use super::*;

impl Tx<'_, '_> {
    pub(super) fn put_room(
        &mut self,
        mut room: ConferenceRoom,
    ) -> Result<StoreResponse, StoreError> {
        room.number = room.number.trim().to_owned();
        if room.name.trim().is_empty() || room.number.is_empty() {
            return Err(invalid("a conference room needs a name and a number"));
        }
        crate::fields::check_label("the room name", &room.name)?;
        crate::fields::check_number(&room.number)?;
        if room.omm_id != 0 && self.view.get_raw(Db::Omms, &id_key(room.omm_id))?.is_none() {
            return Err(invalid(format!(
                "OMM {} does not exist (use 0 to keep the room at the MOM)",
                room.omm_id
            )));
        }
        if let Some(owner) = self
            .view
            .get::<u32>(Db::IdxRoomNum, room.number.as_bytes())?
        {
            if owner != room.id {
                return Err(StoreError::DuplicateRoomNumber(room.number));
            }
        }
        if room.id != 0 {
            if let Some(old) = self.view.record::<ConferenceRoom>(room.id)? {
                self.view.delete(Db::IdxRoomNum, old.number.as_bytes())?;
            }
        }
        room.id = self.take_id(Db::Rooms, room.id)?;
        room.modified = now();
        self.view
            .put(Db::IdxRoomNum, room.number.as_bytes(), &room.id)?;
        self.view.put_record(&room)?;
        self.changed_at(Entity::ConferenceRoom, room.id, ChangeOp::Put, room.omm_id);
        Ok(StoreResponse::Created(room.id))
    }
}
