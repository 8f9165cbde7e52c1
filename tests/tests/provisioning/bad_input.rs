//! Bad provisioning input gets a clear error and changes nothing.

use super::*;
use mom_tests::web::{Offer, Web};
use mom_tests::{Mom, Options};
use serde_json::json;

#[test]
fn bad_provisioning_input_gets_a_clear_error_and_changes_nothing() {
    let mom = Mom::start(&Options::default());
    let mut web = web_of(&mom);
    web.first_login(PASSWORD);
    let before = web.get("/api/v1/provisioning/template").text;
    assert!(
        before.contains("SetDECTRegDomain"),
        "the default template is installed"
    );

    // Not UTF-8, too large: refused with the reason, the template unchanged.
    let latin1 = put_text(
        &web,
        "/api/v1/provisioning/template",
        b"<SetSystemName name=\"Z\xfcrich\"/>",
    );
    assert_eq!(
        (latin1.status, latin1.code()),
        (422, "not_utf8"),
        "{}",
        latin1.text
    );
    assert!(latin1.message().contains("line 1"));
    let huge = put_text(
        &web,
        "/api/v1/provisioning/template",
        &vec![b' '; 1024 * 1024 + 1],
    );
    assert_eq!(huge.status, 413, "{}", huge.text);
    assert_eq!(web.get("/api/v1/provisioning/template").text, before);

    // A template that is not well formed is stored (the administrator may be midway) but
    // the answer and the lint say where it breaks.
    let broken = put_text(
        &web,
        "/api/v1/provisioning/template",
        b"<SetSystemName name=\"a\"/>\n<SetFoo>\n",
    );
    assert_eq!(broken.status, 200);
    let findings = broken.json["findings"].to_string();
    assert!(
        findings.contains("not_well_formed") && findings.contains("line"),
        "{findings}"
    );
    let lint = web.get("/api/v1/provisioning/lint").json.to_string();
    assert!(lint.contains("not_well_formed"), "{lint}");
    put_text(
        &web,
        "/api/v1/provisioning/template",
        b"<SetFoo/>\n<SetSystemName name=\"%A%\"/>\n<!-- %BeginComment% -->\n",
    );
    let lint = web.get("/api/v1/provisioning/lint").json.to_string();
    assert!(
        lint.contains("unknown_command") && lint.contains("SetFoo"),
        "{lint}"
    );

    // A placeholder file with a line without `=`, a bad name, too large: refused with the
    // line number, nothing changed.
    let created = web.send(
        "POST",
        "/api/v1/omms",
        Some(&json!({"name": "Far", "omm1": "192.0.2.1", "user": "u", "password": "p", "placeholders": "A=1\n"})),
    );
    assert_eq!(created.status, 201, "{}", created.text);
    let id = created.json["id"].as_u64().unwrap();
    let path = format!("/api/v1/omms/{id}/placeholders");
    for (file, line) in [
        ("A=2\nno equals sign\n", "line 2"),
        ("A=2\r\n\r\nB C=3\r\n", "line 3"),
        ("%X%=1\n", "line 1"),
    ] {
        let answer = put_text(&web, &path, file.as_bytes());
        assert_eq!(answer.status, 422, "{file:?}: {}", answer.text);
        assert!(
            answer.message().contains(line),
            "{file:?}: {}",
            answer.message()
        );
    }
    assert_eq!(put_text(&web, &path, &vec![b'#'; 65 * 1024]).status, 413);
    assert_eq!(put_text(&web, &path, b"A=\xff\n").code(), "not_utf8");
    assert_eq!(web.get(&path).text, "A=1\n");
    // The OMM list does not show the file (it may hold secrets), and it cannot be edited
    // around the checks.
    assert_eq!(
        web.get(&format!("/api/v1/omms/{id}")).json["placeholders"],
        ""
    );
    let patched = web.send(
        "PATCH",
        &format!("/api/v1/omms/{id}"),
        Some(&json!({"placeholders": "bad line"})),
    );
    assert_eq!(patched.status, 422, "{}", patched.text);
    let forged = web.send(
        "PATCH",
        &format!("/api/v1/omms/{id}"),
        Some(&json!({"provisioning_state": {"warning": "x"}})),
    );
    assert_eq!(forged.status, 422);

    // Update OMM: a clear answer for what cannot be done.
    assert_eq!(
        web.send("POST", "/api/v1/omms/update", Some(&json!({})))
            .status,
        422
    );
    assert_eq!(
        web.send(
            "POST",
            "/api/v1/omms/update",
            Some(&json!({"omms": [id], "all": true}))
        )
        .status,
        422
    );
    assert_eq!(
        web.send(
            "POST",
            "/api/v1/omms/update",
            Some(&json!({"omms": [4242]}))
        )
        .status,
        404
    );
    let unlinked = web.send("POST", "/api/v1/omms/update", Some(&json!({"omms": [id]})));
    assert!(
        unlinked.json[0]["error"]
            .as_str()
            .unwrap()
            .contains("not connected"),
        "{}",
        unlinked.text
    );
    // An OMM without a Cloud-ID has no folder yet.
    let folder = web.send("POST", &format!("/api/v1/omms/{id}/files"), None);
    assert_eq!(folder.status, 400);
    assert!(folder.message().contains("Cloud-ID"), "{}", folder.text);

    // The CLI: the same checks, the reason on stderr, exit 1; the lint's errors exit 3.
    let bad = mom.dir.path().join("bad.txt");
    std::fs::write(&bad, "A=1\nB\n").unwrap();
    let refused = mom.cli(&[
        "provisioning",
        "set-placeholders",
        &id.to_string(),
        bad.to_str().unwrap(),
    ]);
    assert_eq!(refused.status.code(), Some(1));
    assert!(
        String::from_utf8_lossy(&refused.stderr).contains("line 2"),
        "{refused:?}"
    );
    std::fs::write(&bad, b"<A n=\"\xff\"/>").unwrap();
    let latin1 = mom.cli(&["provisioning", "set-template", bad.to_str().unwrap()]);
    assert_eq!(latin1.status.code(), Some(1));
    assert!(
        String::from_utf8_lossy(&latin1.stderr).contains("not UTF-8"),
        "{latin1:?}"
    );
    let good = mom.dir.path().join("good.xml");
    std::fs::write(&good, "<SetSystemName name=\"%A%\"/>\n<SetFoo>\n").unwrap();
    let set = mom.cli(&["provisioning", "set-template", good.to_str().unwrap()]);
    assert_eq!(
        set.status.code(),
        Some(3),
        "saved, and the lint found it not well formed: {set:?}"
    );
    assert!(
        String::from_utf8_lossy(&set.stdout).contains("not_well_formed"),
        "{set:?}"
    );
    assert_eq!(
        web.get("/api/v1/provisioning/template").text,
        "<SetSystemName name=\"%A%\"/>\n<SetFoo>\n"
    );
    let shown = mom.cli(&["provisioning", "placeholders", &id.to_string()]);
    assert_eq!(String::from_utf8_lossy(&shown.stdout), "A=1\n");

    // Settings: the provisioning address and fetch time are checked.
    for bad in [
        json!({"provisioning_address": "a b"}),
        json!({"provisioning_fetch_timeout_secs": 1}),
    ] {
        assert_eq!(
            web.send("PATCH", "/api/v1/settings", Some(&bad)).status,
            422,
            "{bad}"
        );
    }

    // A read-only account reads the template and the lint but changes nothing, and cannot
    // read what holds an OMM's password.
    let account = web.send(
        "POST",
        "/api/v1/accounts",
        Some(&json!({"name": "viewer", "password": "Gelb.Fisch77", "write": false})),
    );
    assert_eq!(account.status, 201, "{}", account.text);
    let mut viewer = Web::new(mom.listener("https"), Offer::Any);
    viewer.login_replacing("viewer", "Gelb.Fisch77", "Gelb.Fisch78x");
    assert_eq!(viewer.get("/api/v1/provisioning/lint").status, 200);
    assert_eq!(
        put_text(&viewer, "/api/v1/provisioning/template", b"x").code(),
        "read_only"
    );
    assert_eq!(
        viewer.get(&format!("/api/v1/omms/{id}/config-file")).code(),
        "read_only"
    );
    assert_eq!(viewer.get(&path).code(), "read_only");

    // Every admin route is in the OpenAPI document.
    let doc = web.get("/api/v1/openapi.json").json;
    for route in [
        "/api/v1/provisioning/template",
        "/api/v1/provisioning/lint",
        "/api/v1/provisioning/preview",
        "/api/v1/omms/{id}/placeholders",
        "/api/v1/omms/{id}/config-file",
        "/api/v1/omms/update",
        "/api/v1/provisioning/resources/file",
        "/api/v1/omms/{id}/files",
    ] {
        assert!(doc["paths"][route].is_object(), "{route} missing");
    }
}
