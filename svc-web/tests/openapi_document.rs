//! The API's OpenAPI document, as served at `/api/v1/openapi.json`, is committed as
//! `ui/openapi.json`: the browser UI's types are generated from it (`scripts/ui-build`, with
//! openapi-typescript), so the UI is checked against the API it talks to. A change of the
//! API fails here until the file is regenerated with
//! `UPDATE_GOLDEN=1 cargo test -p svc-web --test openapi_document` (and the UI checked again).

const COMMITTED: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../ui/openapi.json");

#[test]
fn the_committed_document_is_the_one_the_api_serves() {
    let (_, doc) = svc_web::api::routes();
    let now = serde_json::to_string_pretty(&svc_web::api::served_document(&doc)).unwrap() + "\n";
    let committed = std::fs::read_to_string(COMMITTED).unwrap_or_default();
    if now == committed {
        return;
    }
    if std::env::var_os("UPDATE_GOLDEN").is_some() {
        std::fs::write(COMMITTED, &now).unwrap();
        return;
    }
    panic!(
        "ui/openapi.json is not the API's document: regenerate it with \
         UPDATE_GOLDEN=1 cargo test -p svc-web --test openapi_document, then run scripts/ui-build"
    );
}

#[test]
fn every_operation_id_is_unique_as_openapi_requires() {
    let (_, doc) = svc_web::api::routes();
    let served = svc_web::api::served_document(&doc);
    let mut seen = std::collections::HashSet::new();
    let mut count = 0;
    for item in served["paths"].as_object().unwrap().values() {
        for operation in item.as_object().unwrap().values() {
            let Some(id) = operation.get("operationId").and_then(|v| v.as_str()) else {
                continue;
            };
            count += 1;
            assert!(seen.insert(id.to_owned()), "operationId {id:?} twice");
        }
    }
    // Several handlers share a name (`list`, `edit`, ...): the rule had work to do.
    assert!(count > 50 && seen.contains("accounts_list") && seen.contains("conference_rooms_list"));
}
