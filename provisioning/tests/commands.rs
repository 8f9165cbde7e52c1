//! The template check's list of AXI requests is the `axi` crate's message table, no more and
//! no less (the list is data so that the provisioning crate links no AXI codec).

#[test]
fn the_request_list_is_the_message_tables_requests() {
    let table: Vec<&str> = axi::message::MESSAGE_SCHEMAS
        .iter()
        .map(|(name, _, _)| *name)
        .filter(|name| !name.ends_with("Resp") && !name.starts_with("Event"))
        .collect();
    assert_eq!(provisioning::commands::MESSAGE_REQUESTS, table.as_slice());
}
