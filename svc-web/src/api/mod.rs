//! The REST API under `/api/v1`, one module per pane of the admin guide. The OpenAPI
//! document at `/api/v1/openapi.json` is generated from these handlers' annotations and the
//! records' types, so it cannot drift from the code.

pub mod accounts;
pub mod bulk;
pub mod cluster;
pub mod directory;
pub mod maintenance;
pub mod omms;
pub mod provisioning;
pub mod rooms;
pub mod session;
pub mod statistics;
pub mod system;

use crate::app::App;
use std::sync::Arc;
use utoipa::OpenApi;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

/// The document's fixed part.
#[derive(OpenApi)]
#[openapi(
    info(
        title = "SIP-DECT MOM admin API",
        description = "Every pane of the MOM's admin interface. Log in with POST /api/v1/session \
            (a session cookie; send the answer's csrf_token as X-CSRF-Token with every \
            state-changing request) or use an API token as `Authorization: Bearer`. Errors are \
            JSON {error, message}."
    ),
    components(schemas(bulk::Format)),
    tags(
        (name = "session", description = "Logging in, the EULA, passwords, second factor, API tokens"),
        (name = "health", description = "Health states and conflicts"),
        (name = "cluster", description = "The nodes of a MOM cluster"),
        (name = "system settings", description = "Settings, security level, certificate, license, version"),
        (name = "accounts", description = "Managing MOM user accounts"),
        (name = "OMMs", description = "The OMM records"),
        (name = "users and DECT phones", description = "Users, devices and their relations"),
        (name = "provisioning", description = "The configuration template, placeholder files, Show config file, the check and preview, Update OMM, resource and OMM files"),
        (name = "conference rooms", description = "Integrated Conference Server rooms"),
        (name = "statistics", description = "Counters and the event log"),
        (name = "maintenance", description = "DB export and import, the system dump, the log level"),
        (name = "audit", description = "The audit trail of changes"),
        (name = "live events", description = "A WebSocket of record changes"),
    )
)]
struct ApiDoc;

/// The API's routes and their OpenAPI document.
pub fn routes() -> (axum::Router<Arc<App>>, utoipa::openapi::OpenApi) {
    use accounts as a;
    use directory as d;
    use provisioning as p;
    use session as s;
    use statistics as st;
    use system as sy;
    OpenApiRouter::with_openapi(ApiDoc::openapi())
        .routes(routes!(s::banner))
        .routes(routes!(s::login, s::current, s::logout))
        .routes(routes!(s::eula))
        .routes(routes!(s::accept_eula))
        .routes(routes!(s::check_password))
        .routes(routes!(s::change_own_password))
        .routes(routes!(s::enrol_second_factor, s::remove_second_factor))
        .routes(routes!(s::confirm_second_factor))
        .routes(routes!(s::list_tokens, s::create_token))
        .routes(routes!(s::revoke_token))
        .routes(routes!(sy::health))
        .routes(routes!(sy::conflicts))
        .routes(routes!(cluster::status))
        .routes(routes!(cluster::remove_node))
        .routes(routes!(sy::get_settings, sy::edit_settings))
        .routes(routes!(sy::security))
        .routes(routes!(sy::get_certificate, sy::upload_certificate))
        .routes(routes!(sy::new_self_signed))
        .routes(routes!(sy::get_license, sy::install_license))
        .routes(routes!(sy::version))
        .routes(routes!(a::list, a::create))
        .routes(routes!(a::edit, a::delete))
        .routes(routes!(a::tokens))
        .routes(routes!(a::revoke_token))
        .routes(routes!(omms::list, omms::create, omms::multi_edit))
        .routes(routes!(omms::get, omms::edit, omms::delete))
        .routes(routes!(p::get_template, p::put_template))
        .routes(routes!(p::lint, p::lint_text))
        .routes(routes!(p::preview))
        .routes(routes!(p::config_file))
        .routes(routes!(p::get_placeholders, p::put_placeholders))
        .routes(routes!(p::update))
        .routes(routes!(p::list_resources))
        .routes(routes!(p::put_resource, p::delete_resource))
        .routes(routes!(p::list_omm_files, p::create_omm_folder))
        .routes(routes!(
            p::get_omm_file,
            p::put_omm_file,
            p::delete_omm_file
        ))
        .routes(routes!(d::list_users, d::create_user, d::multi_edit_users))
        .routes(routes!(d::get_user, d::edit_user, d::delete_user))
        .routes(routes!(d::bind, d::unbind))
        .routes(routes!(d::copy_user))
        .routes(routes!(d::relation))
        .routes(routes!(d::source))
        .routes(routes!(d::overview))
        .routes(routes!(
            d::list_devices,
            d::create_device,
            d::multi_edit_devices
        ))
        .routes(routes!(d::get_device, d::edit_device, d::delete_device))
        .routes(routes!(d::unsubscribe))
        .routes(routes!(d::create_fixed))
        .routes(routes!(bulk::export_users))
        .routes(routes!(bulk::import_users))
        .routes(routes!(bulk::export_devices))
        .routes(routes!(bulk::import_devices))
        .routes(routes!(rooms::list, rooms::create))
        .routes(routes!(rooms::edit, rooms::delete))
        .routes(routes!(st::list, st::clear_all))
        .routes(routes!(st::get, st::clear))
        .routes(routes!(st::event_log, st::clear_event_log))
        .routes(routes!(crate::audit::list))
        .routes(routes!(maintenance::export))
        .routes(routes!(maintenance::import))
        .routes(routes!(maintenance::system_dump))
        .routes(routes!(
            maintenance::get_log_level,
            maintenance::set_log_level
        ))
        .routes(routes!(crate::live_events::events))
        .split_for_parts()
}

/// Answers every operation may give besides its own: the generic errors of the server
/// (malformed or refused input, authentication, permission, throttling, the store away).
const COMMON_ERRORS: &[(&str, &str)] = &[
    ("400", "Malformed request (JSON syntax, query parameters)"),
    ("401", "Not logged in, session expired, or unknown token"),
    (
        "403",
        "Not permitted (read-only account, CSRF token, EULA or password change pending)",
    ),
    ("404", "No such record"),
    ("408", "The request took too long"),
    ("409", "Refused by a rule (duplicate, relation, identity)"),
    ("413", "Body too large"),
    ("415", "The body must be JSON"),
    (
        "422",
        "Well-formed but not acceptable (wrong type, unknown field, a rule)",
    ),
    (
        "429",
        "Too many failed logins, or logins in flight; try later (Retry-After)",
    ),
    (
        "503",
        "The store cannot be reached, or too many passwords are being checked (Retry-After)",
    ),
];

/// The document as served: the generated one, with [`COMMON_ERRORS`] added to every
/// operation, and tuples written as fixed-length arrays ([`fix_tuples`]).
#[must_use]
pub fn served_document(doc: &utoipa::openapi::OpenApi) -> serde_json::Value {
    let mut value = serde_json::to_value(doc).unwrap_or_default();
    if let Some(paths) = value
        .get_mut("paths")
        .and_then(serde_json::Value::as_object_mut)
    {
        for item in paths
            .values_mut()
            .filter_map(serde_json::Value::as_object_mut)
        {
            for operation in item
                .values_mut()
                .filter_map(serde_json::Value::as_object_mut)
            {
                let responses = operation
                    .entry("responses")
                    .or_insert_with(|| serde_json::json!({}));
                let Some(responses) = responses.as_object_mut() else {
                    continue;
                };
                for (code, description) in COMMON_ERRORS {
                    responses.entry(*code).or_insert_with(|| {
                        serde_json::json!({
                            "description": description,
                            "content": {"application/json": {"schema": {"$ref": "#/components/schemas/ErrorBody"}}}
                        })
                    });
                }
            }
        }
    }
    fix_tuples(&mut value);
    unique_operation_ids(&mut value);
    value
}

/// Makes every `operationId` unique, as OpenAPI requires (utoipa takes the handler's name,
/// and several modules have a `list` or an `edit`): a name used more than once gets the
/// first segment of its path after `/api/v1/` in front (`accounts_list`, `conference_rooms_list`).
fn unique_operation_ids(doc: &mut serde_json::Value) {
    let Some(paths) = doc
        .get_mut("paths")
        .and_then(serde_json::Value::as_object_mut)
    else {
        return;
    };
    let mut seen: std::collections::HashMap<String, usize> = std::collections::HashMap::new();
    for item in paths.values() {
        for operation in item.as_object().into_iter().flat_map(|o| o.values()) {
            if let Some(id) = operation.get("operationId").and_then(|v| v.as_str()) {
                *seen.entry(id.to_owned()).or_default() += 1;
            }
        }
    }
    for (path, item) in paths.iter_mut() {
        let segment = path
            .trim_start_matches("/api/v1/")
            .split('/')
            .next()
            .unwrap_or_default()
            .replace('-', "_");
        for operation in item
            .as_object_mut()
            .into_iter()
            .flat_map(|o| o.values_mut())
        {
            let Some(id) = operation.get("operationId").and_then(|v| v.as_str()) else {
                continue;
            };
            if seen.get(id).is_some_and(|n| *n > 1) && !segment.is_empty() {
                operation["operationId"] = serde_json::Value::String(format!("{segment}_{id}"));
            }
        }
    }
}

/// Writes tuples (pairs such as a counter's `(time, value)` samples) as arrays of a fixed
/// length when their items have one type: `items: A, minItems: n, maxItems: n`, which every
/// tool reads, instead of `prefixItems` (or the 3.0-style `items: [A, A]`).
fn fix_tuples(value: &mut serde_json::Value) {
    match value {
        serde_json::Value::Object(map) => {
            let tuple = match (map.get("prefixItems"), map.get("items")) {
                (Some(serde_json::Value::Array(items)), _)
                | (None, Some(serde_json::Value::Array(items))) => Some(items.clone()),
                _ => None,
            };
            if let Some(items) = tuple {
                if let Some(first) = items.first().filter(|f| items.iter().all(|i| i == *f)) {
                    let len = items.len();
                    map.remove("prefixItems");
                    map.insert("items".into(), first.clone());
                    map.insert("minItems".into(), len.into());
                    map.insert("maxItems".into(), len.into());
                }
            }
            map.values_mut().for_each(fix_tuples);
        }
        serde_json::Value::Array(items) => items.iter_mut().for_each(fix_tuples),
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_served_document_has_the_common_errors_and_3_1_tuples() {
        let (_, doc) = super::routes();
        let doc = super::served_document(&doc);
        let history = &doc["components"]["schemas"]["CounterView"]["properties"]["history"];
        assert_eq!(history["items"]["items"]["type"], "integer", "{history}");
        assert_eq!(history["items"]["minItems"], 2, "{history}");
        assert!(history["items"].get("prefixItems").is_none(), "{history}");
        let users = &doc["paths"]["/api/v1/users"]["get"]["responses"];
        for code in ["200", "400", "401", "403", "503"] {
            assert!(users[code].is_object(), "{code} in {users}");
        }
        let text = doc.to_string();
        assert!(!text.contains("\"items\":["), "a tuple left in 3.0 form");
    }
}
