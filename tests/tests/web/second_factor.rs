//! A second factor (TOTP) for an account, and API tokens for scripts.

use super::*;
use mom_tests::web::{Offer, Web};
use serde_json::json;
use std::time::Duration;

#[test]
fn a_second_factor_and_api_tokens() {
    let (mom, mut web) = admin();
    let enrol = web.send("POST", "/api/v1/session/second-factor", None);
    let secret = enrol.json["secret"].as_str().unwrap().to_owned();
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let code = svc_web::second_factor::SecondFactors::code_at(&secret, now).unwrap();
    assert_eq!(
        web.send(
            "POST",
            "/api/v1/session/second-factor/confirm",
            Some(&json!({"code": code}))
        )
        .status,
        204
    );
    // The secret is sealed in svc-web's state file, with a key of its own beside it.
    let state = mom.state_dir.join("web");
    let file = std::fs::read_to_string(state.join("second-factor.json")).unwrap();
    assert!(
        !file.contains(&secret) && file.contains("sealed:1:"),
        "{file}"
    );
    assert!(state.join("secrets.key").exists());
    let without = web.login("mom", PASSWORD);
    assert_eq!(
        (without.status, without.code()),
        (401, "second_factor_required")
    );
    // MAXI cannot ask for the code: the account's password alone does not open it.
    let maxi = mom.listener("maxi");
    let mut m = loop {
        if let Ok(m) = mom_tests::maxi::Maxi::try_tls(maxi) {
            break m;
        }
        std::thread::sleep(Duration::from_millis(100));
    };
    let refused = m.open("mom", PASSWORD);
    assert!(
        refused.contains("errCode=\"EAuth\"") && refused.contains("authenticator app"),
        "{refused}"
    );
    let next = svc_web::second_factor::SecondFactors::code_at(&secret, now + 30).unwrap();
    let with = web.send(
        "POST",
        "/api/v1/session",
        Some(&json!({"name": "mom", "password": PASSWORD, "code": next})),
    );
    assert_eq!(with.status, 200, "{}", with.text);
    web.take_session(&with);

    let token = web.send(
        "POST",
        "/api/v1/session/tokens",
        Some(&json!({"name": "backup script"})),
    );
    assert_eq!(token.status, 201);
    let secret = token.json["secret"].as_str().unwrap().to_owned();
    let id = token.json["token"]["id"].as_u64().unwrap();
    let script = Web::new(mom.listener("https"), Offer::Any);
    let bearer = |method: &str, path: &str, body: Option<serde_json::Value>| {
        script.send_with_token(method, path, &secret, body.as_ref())
    };
    assert_eq!(bearer("GET", "/api/v1/users", None).status, 200);
    assert_eq!(
        bearer(
            "PATCH",
            "/api/v1/settings",
            Some(json!({"system_name": "Script"}))
        )
        .status,
        200,
        "no CSRF for tokens"
    );
    // A token cannot make tokens; it expires; an administrator sees and revokes it.
    assert_eq!(
        bearer(
            "POST",
            "/api/v1/session/tokens",
            Some(json!({"name": "from a token"}))
        )
        .code(),
        "token_cannot_make_tokens"
    );
    let listed = web.get("/api/v1/accounts/0/tokens").json;
    let entry = listed
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["id"] == id)
        .expect("listed for administrators")
        .clone();
    assert_eq!(
        entry["expires"].as_u64().unwrap() - entry["created"].as_u64().unwrap(),
        90 * 24 * 3600
    );
    assert_eq!(
        web.send("DELETE", &format!("/api/v1/accounts/0/tokens/{id}"), None)
            .status,
        204
    );
    assert_eq!(bearer("GET", "/api/v1/users", None).code(), "invalid_token");
    assert_eq!(
        web.send("DELETE", &format!("/api/v1/session/tokens/{id}"), None)
            .code(),
        "not_found"
    );

    // A password change revokes the account's tokens.
    let secret = web.new_token("nightly");
    assert_eq!(
        script
            .send_with_token("GET", "/api/v1/users", &secret, None)
            .status,
        200
    );
    let changed = web.send(
        "POST",
        "/api/v1/session/password",
        Some(&json!({"old_password": PASSWORD, "new_password": "Neues.Pass#2025"})),
    );
    assert_eq!(changed.status, 204, "{}", changed.text);
    assert_eq!(
        script
            .send_with_token("GET", "/api/v1/users", &secret, None)
            .code(),
        "invalid_token"
    );

    // Wrong codes count; asking again without a code (the right password) resets nothing.
    let attempt = |code: Option<&str>| {
        web.send(
            "POST",
            "/api/v1/session",
            Some(&json!({"name": "mom", "password": "Neues.Pass#2025", "code": code})),
        )
    };
    for _ in 0..4 {
        assert_eq!(attempt(Some("000000")).code(), "wrong_code");
    }
    assert_eq!(attempt(None).code(), "second_factor_required");
    assert_eq!(attempt(Some("000000")).code(), "wrong_code");
    assert_eq!(attempt(Some("000000")).code(), "locked");
}
