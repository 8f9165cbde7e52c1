//! An OMM's own credentials reach its file and its folder, and nothing else.

use super::*;
use mom_tests::web::{raw_request, Web};
use std::time::Duration;

#[test]
fn only_the_omms_own_credentials_reach_its_file_and_its_folder() {
    let site = site(2, "[web]\nomm-upload-max-mib = 1\n");
    let (mom, web) = (&site.mom, &site.web);
    let (one, two) = (site.ids[0], site.ids[1]);
    let https = mom.listener("https");
    let omm = anonymous(mom);
    // Wrong credentials come from other hosts: failures lock the client's address.
    let intruder = |n: u8| Web::from_source(https, std::net::IpAddr::from([127, 3, 0, n]));
    let (guesser, prober) = (intruder(1), intruder(2));
    let cfg = format!("/provisioning/omm-{one}/ipdect.cfg");

    // ipdect.cfg: its own credentials only; a 401 carries its challenge.
    let challenged = omm.send_with("GET", &cfg, &[], Vec::new());
    assert_eq!(challenged.status, 401);
    assert!(
        challenged
            .header("www-authenticate")
            .starts_with("Basic realm="),
        "{challenged:?}"
    );
    assert_eq!(
        guesser
            .send_with("GET", &cfg, &[basic("omm1", "wrong")], Vec::new())
            .status,
        401
    );
    assert_eq!(
        guesser
            .send_with("GET", &cfg, &[basic("omm2", "pw-2")], Vec::new())
            .status,
        401,
        "another OMM's"
    );
    let got = omm.send_with("GET", &cfg, &[basic("omm1", "pw-1")], Vec::new());
    assert_eq!(got.status, 200);
    assert!(got.text.contains("<?xml"), "the default template");
    // An OMM that does not exist is not told apart from wrong credentials.
    assert_eq!(
        guesser
            .send_with(
                "GET",
                "/provisioning/omm-999/ipdect.cfg",
                &[basic("omm1", "pw-1")],
                Vec::new()
            )
            .status,
        401
    );
    let refused =
        web.get(&format!("/api/v1/omms/{one}")).json["provisioning_state"]["last_fetch"].clone();
    assert_eq!(refused["refused"], "", "the last fetch was the good one");

    // Resources: no credentials; ranges and If-Modified-Since for the large images.
    let image: Vec<u8> = (0..300_000u32).map(|i| (i % 251) as u8).collect();
    web.put_resource("images/iprfp4G.dnld", image.clone());
    assert!(web
        .get("/api/v1/provisioning/resources")
        .text
        .contains("images/iprfp4G.dnld"));
    let (status, bytes) = omm.get_bytes("/resources/images/iprfp4G.dnld");
    assert_eq!((status, bytes.len()), (200, image.len()));
    assert!(bytes == image);
    let get_image = |headers: &[(&str, String)]| {
        omm.send_with("GET", "/resources/images/iprfp4G.dnld", headers, Vec::new())
    };
    let whole = get_image(&[]);
    let modified = whole.header("last-modified");
    let part = get_image(&[("range", "bytes=1000-1009".into())]);
    assert_eq!(part.status, 206);
    assert_eq!(
        part.header("content-range"),
        format!("bytes 1000-1009/{}", image.len())
    );
    assert_eq!(part.header("content-length"), "10");
    let unmodified = get_image(&[("if-modified-since", modified)]);
    assert_eq!(unmodified.status, 304);
    let beyond = get_image(&[("range", "bytes=900000-".into())]);
    assert_eq!(beyond.status, 416);

    // The OMM's folder: written and read with its own credentials, not another OMM's.
    let own = format!("/omm_files/Cloud-ID-{CLOUD_1}/backup/omm_db.xml");
    let backup = b"<db>first</db>".to_vec();
    assert_eq!(
        omm.send_with("PUT", &own, &[basic("omm1", "pw-1")], backup.clone())
            .status,
        201
    );
    assert_eq!(
        omm.send_with("GET", &own, &[basic("omm1", "pw-1")], Vec::new())
            .text
            .as_bytes(),
        backup
    );
    assert_eq!(
        prober
            .send_with("PUT", &own, &[basic("omm2", "pw-2")], b"theirs".to_vec())
            .status,
        401
    );
    assert_eq!(
        prober
            .send_with("GET", &own, &[basic("omm2", "pw-2")], Vec::new())
            .status,
        401
    );
    assert_eq!(omm.send_with("GET", &own, &[], Vec::new()).status, 401);
    let listed = web.get(&format!("/api/v1/omms/{one}/files")).text;
    assert!(listed.contains("backup/omm_db.xml"), "{listed}");
    assert_eq!(
        web.get(&format!("/api/v1/omms/{one}/file?path=backup/omm_db.xml"))
            .text
            .as_bytes(),
        backup
    );

    // Over the limit (1 MiB here): refused, the old file kept.
    let big = vec![b'x'; 1_200_000];
    assert_eq!(
        omm.send_with("PUT", &own, &[basic("omm1", "pw-1")], big)
            .status,
        413
    );
    assert_eq!(
        omm.send_with("GET", &own, &[basic("omm1", "pw-1")], Vec::new())
            .text
            .as_bytes(),
        backup
    );

    // An upload broken off halfway: the old file stays and nothing half-written is seen.
    {
        let tls = half_upload(https, &own);
        std::thread::sleep(Duration::from_millis(300));
        drop(tls);
    }
    std::thread::sleep(Duration::from_millis(500));
    assert_eq!(
        omm.send_with("GET", &own, &[basic("omm1", "pw-1")], Vec::new())
            .text
            .as_bytes(),
        backup
    );
    let listed = web.get(&format!("/api/v1/omms/{one}/files")).json;
    assert_eq!(
        listed.as_array().unwrap().len(),
        2,
        "the folder and the one file: {listed}"
    );

    // Traversal in every spelling, and a symlink planted in the folder, never leave it.
    let folder = mom
        .state_dir
        .join("web/omm_files")
        .join(format!("Cloud-ID-{CLOUD_1}"));
    std::os::unix::fs::symlink("/etc", folder.join("etc")).unwrap();
    std::fs::write(mom.state_dir.join("web/secret.txt"), "secret").unwrap();
    let (name, value) = basic("omm1", "pw-1");
    for path in [
        format!("/omm_files/Cloud-ID-{CLOUD_1}/../../secret.txt"),
        format!("/omm_files/Cloud-ID-{CLOUD_1}/%2e%2e/%2e%2e/secret.txt"),
        format!("/omm_files/Cloud-ID-{CLOUD_1}/..%2f..%2fsecret.txt"),
        format!("/omm_files/Cloud-ID-{CLOUD_1}/%252e%252e/secret.txt"),
        format!("/omm_files/Cloud-ID-{CLOUD_1}/..%5c..%5csecret.txt"),
        format!("/omm_files/Cloud-ID-{CLOUD_1}/x%00/secret.txt"),
        format!("/omm_files/Cloud-ID-{CLOUD_1}/etc/passwd"),
        format!("/omm_files/Cloud-ID-{CLOUD_1}//etc/passwd"),
        format!("/omm_files/Cloud-ID-{CLOUD_2}/../Cloud-ID-{CLOUD_1}/backup/omm_db.xml"),
        "/resources/../secret.txt".to_owned(),
        "/resources/%2e%2e/secret.txt".to_owned(),
        "/resources/images/%2e%2e%2f%2e%2e%2fsecret.txt".to_owned(),
    ] {
        for method in ["GET", "PUT"] {
            let (status, body) = raw_request(
                https,
                &format!("{method} {path} HTTP/1.1\r\n{name}: {value}\r\nContent-Length: 0"),
            );
            assert!(
                [400, 401, 404, 405].contains(&status),
                "{method} {path}: {status} {body}"
            );
            assert!(
                !body.contains("root:") && !body.contains("secret"),
                "{method} {path}: {body}"
            );
        }
    }
    assert_eq!(
        std::fs::read_to_string(mom.state_dir.join("web/secret.txt")).unwrap(),
        "secret"
    );
    // The admin API's paths follow the same rules.
    for bad in [
        "../secret.txt",
        "a/../../secret.txt",
        "%2e%2e/secret.txt",
        ".hidden",
        "a//b",
        "",
    ] {
        let answer = web.send_raw(
            "PUT",
            &format!("/api/v1/omms/{one}/file?path={}", bad.replace('%', "%25")),
            "application/octet-stream",
            b"x".to_vec(),
        );
        assert_eq!(answer.status, 400, "{bad:?}: {}", answer.text);
    }

    // The folder as a whole has a quota (8 uploads' worth): a ninth 1 MB dump does not fit
    // until the administrator deletes one.
    let put_dump = |i: u32| {
        let path = format!("/omm_files/Cloud-ID-{CLOUD_1}/dumps/dump-{i}.bin");
        omm.send_with(
            "PUT",
            &path,
            &[basic("omm1", "pw-1")],
            vec![b'd'; 1_000_000],
        )
    };
    for i in 0..8 {
        let put = put_dump(i);
        assert_eq!(put.status, 201, "dump {i}: {}", put.text);
    }
    let full = put_dump(8);
    assert!(
        [413, 507].contains(&full.status),
        "{}: {}",
        full.status,
        full.text
    );
    let deleted = web.send(
        "DELETE",
        &format!("/api/v1/omms/{one}/file?path=dumps/dump-0.bin"),
        None,
    );
    assert_eq!(deleted.status, 204, "{}", deleted.text);
    let fits = put_dump(8);
    assert_eq!(fits.status, 201, "{}", fits.text);

    // svc-web killed in the middle of an upload: the old file stays, and the half file is
    // gone once it is back.
    {
        let _tls = half_upload(https, &own);
        let backup_dir = folder.join("backup");
        wait("the upload under way", Duration::from_secs(10), || {
            std::fs::read_dir(&backup_dir)
                .unwrap()
                .flatten()
                .any(|e| e.file_name().to_string_lossy().starts_with(".upload-"))
        });
        let pid = mom.service("web").pid.unwrap();
        mom_tests::signal(pid, nix::sys::signal::Signal::SIGKILL);
        wait("svc-web back", Duration::from_secs(15), || {
            mom.service("web").pid.is_some_and(|p| p != pid)
                && anonymous(mom)
                    .try_send("GET", "/healthz", None)
                    .is_ok_and(|a| a.status == 200)
        });
        let left: Vec<String> = std::fs::read_dir(&backup_dir)
            .unwrap()
            .flatten()
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .collect();
        assert_eq!(left, ["omm_db.xml"], "the half upload was removed");
        assert_eq!(
            std::fs::read(backup_dir.join("omm_db.xml")).unwrap(),
            backup
        );
    }

    // Failed OMM logins are throttled like web logins: the guessing address is locked out,
    // the real OMM at its own address is not.
    let attacker = intruder(3);
    let statuses: Vec<u16> = (0..8)
        .map(|_| {
            attacker
                .send_with(
                    "GET",
                    &format!("/provisioning/omm-{two}/ipdect.cfg"),
                    &[basic("omm2", "guess")],
                    Vec::new(),
                )
                .status
        })
        .collect();
    assert_eq!(statuses, [401, 401, 401, 401, 401, 429, 429, 429]);
    let locked = attacker.send_with(
        "GET",
        &format!("/provisioning/omm-{two}/ipdect.cfg"),
        &[basic("omm2", "pw-2")],
        Vec::new(),
    );
    assert_eq!(locked.status, 429, "locked even with the right password");
    assert!(locked.header("retry-after").parse::<u64>().unwrap() >= 1);
    let real = anonymous(mom).send_with(
        "GET",
        &format!("/provisioning/omm-{two}/ipdect.cfg"),
        &[basic("omm2", "pw-2")],
        Vec::new(),
    );
    assert_eq!(real.status, 200, "{}", real.text);
    drop(site.rt);
}
