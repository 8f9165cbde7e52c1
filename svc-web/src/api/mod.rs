//! The REST API under `/api/v1`, one module per pane of the admin guide. The OpenAPI
//! document at `/api/v1/openapi.json` is generated from these handlers' annotations and the
//! records' types, so it cannot drift from the code.

pub mod accounts;
pub mod directory;
pub mod maintenance;
pub mod omms;
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
    tags(
        (name = "session", description = "Logging in, the EULA, passwords, second factor, API tokens"),
        (name = "health", description = "Health states and conflicts"),
        (name = "system settings", description = "Settings, security level, certificate, license, version"),
        (name = "accounts", description = "Managing MOM user accounts"),
        (name = "OMMs", description = "The OMM records"),
        (name = "users and DECT phones", description = "Users, devices and their relations"),
        (name = "conference rooms", description = "Integrated Conference Server rooms"),
        (name = "statistics", description = "Counters and the event log"),
        (name = "maintenance", description = "DB export and import, the system dump"),
        (name = "audit", description = "The audit trail of changes"),
        (name = "live events", description = "A WebSocket of record changes"),
    )
)]
struct ApiDoc;

/// The API's routes and their OpenAPI document.
pub fn routes() -> (axum::Router<Arc<App>>, utoipa::openapi::OpenApi) {
    use accounts as a;
    use directory as d;
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
        .routes(routes!(sy::get_settings, sy::edit_settings))
        .routes(routes!(sy::security))
        .routes(routes!(sy::get_certificate, sy::upload_certificate))
        .routes(routes!(sy::new_self_signed))
        .routes(routes!(sy::get_license, sy::install_license))
        .routes(routes!(sy::version))
        .routes(routes!(a::list, a::create))
        .routes(routes!(a::edit, a::delete))
        .routes(routes!(omms::list, omms::create, omms::multi_edit))
        .routes(routes!(omms::get, omms::edit, omms::delete))
        .routes(routes!(d::list_users, d::create_user, d::multi_edit_users))
        .routes(routes!(d::get_user, d::edit_user, d::delete_user))
        .routes(routes!(d::bind, d::unbind))
        .routes(routes!(d::relation))
        .routes(routes!(d::source))
        .routes(routes!(
            d::list_devices,
            d::create_device,
            d::multi_edit_devices
        ))
        .routes(routes!(d::get_device, d::edit_device, d::delete_device))
        .routes(routes!(d::unsubscribe))
        .routes(routes!(d::create_fixed))
        .routes(routes!(rooms::list, rooms::create))
        .routes(routes!(rooms::edit, rooms::delete))
        .routes(routes!(st::list, st::clear_all))
        .routes(routes!(st::get, st::clear))
        .routes(routes!(st::event_log, st::clear_event_log))
        .routes(routes!(crate::audit::list))
        .routes(routes!(maintenance::export))
        .routes(routes!(maintenance::import))
        .routes(routes!(maintenance::system_dump))
        .routes(routes!(crate::live_events::events))
        .split_for_parts()
}
