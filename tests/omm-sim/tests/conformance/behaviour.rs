//! Software update and the configuration file, misbehaviour modes, a hostile client, plain
//! mode and the control socket.

use super::*;
use axi::record::AxiRecord;
use axi::{ErrCode, Message};
use omm_sim::client::{AxiClient, ClientError};
use omm_sim::{Behaviour, Fleet, FleetOptions};
use std::time::Duration;

/// A tiny HTTPS server answering one `GET` with `body` when the Basic credentials match.
async fn provisioning_server(
    body: &'static str,
    user: &'static str,
    password: &'static str,
) -> (std::net::SocketAddr, Vec<u8>) {
    use base64::Engine;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let cert = rcgen::generate_simple_self_signed(vec!["localhost".into()]).unwrap();
    let der = cert.cert.der().to_vec();
    let key = rustls::pki_types::PrivateKeyDer::try_from(cert.signing_key.serialize_der()).unwrap();
    let config = rustls::ServerConfig::builder_with_provider(std::sync::Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .unwrap()
    .with_no_client_auth()
    .with_single_cert(
        vec![rustls::pki_types::CertificateDer::from(der.clone())],
        key,
    )
    .unwrap();
    let acceptor = tokio_rustls::TlsAcceptor::from(std::sync::Arc::new(config));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let expected = format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"))
    );
    tokio::spawn(async move {
        loop {
            let (tcp, _) = listener.accept().await.unwrap();
            let Ok(mut tls) = acceptor.accept(tcp).await else {
                continue;
            };
            let mut request = vec![0u8; 4096];
            let n = tls.read(&mut request).await.unwrap();
            let request = String::from_utf8_lossy(&request[..n]).into_owned();
            let authorised = request
                .lines()
                .any(|l| l.trim() == format!("Authorization: {expected}"));
            let path_ok = request.starts_with("GET /prov/ipdect.cfg ");
            let answer = if authorised && path_ok {
                format!(
                    "HTTP/1.1 200 OK\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                    body.len()
                )
            } else {
                "HTTP/1.1 401 Unauthorized\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
                    .to_owned()
            };
            let _ = tls.write_all(answer.as_bytes()).await;
            let _ = tls.shutdown().await;
        }
    });
    (addr, der)
}

#[tokio::test]
async fn software_update_fetches_the_file_and_honours_cloud_ids() {
    const FILE: &str = "<?xml version=\"1.0\"?>\n<SetSystemName name=\"All\"/>\n<SetSystemName cloudId=\"001F10000001\" name=\"Only OMM 1\"/>\n<SetSystemName cloudId=\"001F10000002\" name=\"Only OMM 2\"/>\n";
    let (addr, _der) = provisioning_server(FILE, "omm1", "secret").await;
    let fleet = fleet(1).await;
    let mut c = login(&fleet, 1).await;
    assert_eq!(
        code(&c.request(SoftwareUpdate {}).await.unwrap()),
        Some(&ErrCode::EFailed),
        "no URL yet"
    );
    let mut url = axi::ConfigUrl::default();
    url.set(axi::ConfigUrl::ENABLE, true)
        .set(axi::ConfigUrl::PROTOCOL, "HTTPS".to_owned())
        .set(axi::ConfigUrl::HOST, "127.0.0.1".to_owned())
        .set(axi::ConfigUrl::PORT, addr.port())
        .set(axi::ConfigUrl::PATH, "prov".to_owned())
        .set(axi::ConfigUrl::USERNAME, "omm1".to_owned())
        .set(axi::ConfigUrl::PASSWORD, "secret".to_owned())
        .set(axi::ConfigUrl::VALIDATE_CERTS, false);
    c.request(SetConfigURL { url }).await.unwrap();
    assert!(c.request(SoftwareUpdate {}).await.unwrap().error.is_none());
    let mut commands = Vec::new();
    for _ in 0..100 {
        commands = fleet.omm(1).lock().state.provisioning_commands.clone();
        if !commands.is_empty() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(
        commands,
        [
            "<SetSystemName name=\"All\"/>",
            "<SetSystemName name=\"Only OMM 1\"/>"
        ]
    );
}

#[tokio::test]
async fn misbehaviour_modes() {
    let fleet = fleet(1).await;
    let omm = fleet.omm(1);
    // Slow: the answer comes after the delay.
    let mut c = login(&fleet, 1).await;
    omm.set_behaviour(Behaviour::Slow(Duration::from_millis(300)));
    let t = std::time::Instant::now();
    assert!(c
        .request(Ping { time_stamp: None })
        .await
        .unwrap()
        .error
        .is_none());
    assert!(t.elapsed() >= Duration::from_millis(300));
    // Byte by byte: the same answer, one byte per write.
    omm.set_behaviour(Behaviour::ByteByByte);
    let r = c
        .request(GetPPUser {
            uid: 0,
            max_records: Some(20),
        })
        .await
        .unwrap();
    assert!(matches!(r.message, Message::GetPPUserResp(p) if p.users.len() == 20));
    // Silent: no answer.
    omm.set_behaviour(Behaviour::Silent);
    c.timeout = Duration::from_millis(300);
    assert!(matches!(
        c.request(Ping { time_stamp: None }).await,
        Err(ClientError::Timeout)
    ));
    // Garbage: not a frame the client can decode.
    omm.set_behaviour(Behaviour::Garbage);
    let mut g = login_raw(&fleet).await;
    assert!(matches!(
        g.request(Ping { time_stamp: None }).await,
        Err(ClientError::Protocol(_))
    ));
    // Oversize: the client's splitter refuses it.
    omm.set_behaviour(Behaviour::Oversize);
    let mut o = login_raw(&fleet).await;
    assert!(matches!(
        o.request(Ping { time_stamp: None }).await,
        Err(ClientError::Protocol(_))
    ));
    // Dropped links are closed; the OMM stays reachable.
    omm.set_behaviour(Behaviour::Normal);
    let mut d = login(&fleet, 1).await;
    omm.drop_links();
    assert!(matches!(
        d.recv().await,
        Err(ClientError::Closed | ClientError::Io(_))
    ));
    let mut again = login(&fleet, 1).await;
    assert!(again
        .request(Ping { time_stamp: None })
        .await
        .unwrap()
        .error
        .is_none());
}

/// Logs in before a misbehaviour is set: the Open itself is answered normally.
async fn login_raw(fleet: &Fleet) -> AxiClient {
    let omm = fleet.omm(1);
    let mode = omm.lock_behaviour();
    omm.set_behaviour(Behaviour::Normal);
    let c = login(fleet, 1).await;
    omm.set_behaviour(mode);
    c
}

#[tokio::test]
async fn a_hostile_client_is_cut_off_and_the_omm_keeps_serving() {
    let fleet = fleet(1).await;
    let mut hostile = login(&fleet, 1).await;
    hostile.send_raw(&vec![b'<'; (1 << 20) + 10]).await.unwrap();
    assert!(hostile.recv().await.is_err());
    let mut garbage = login(&fleet, 1).await;
    garbage
        .send_raw(b"<Ping seq=\"1\"><unclosed></Ping>\0")
        .await
        .unwrap();
    assert!(garbage.recv().await.is_err());
    let mut ok = login(&fleet, 1).await;
    assert!(ok
        .request(Ping { time_stamp: None })
        .await
        .unwrap()
        .error
        .is_none());
}

#[tokio::test]
async fn plain_mode_and_the_control_socket() {
    use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
    let fleet = std::sync::Arc::new(
        Fleet::start(FleetOptions {
            omms: 2,
            users: 5,
            devices: 5,
            tls: false,
            ..FleetOptions::default()
        })
        .await
        .unwrap(),
    );
    let mut c = AxiClient::connect_plain(fleet.omm(2).addr).await.unwrap();
    assert!(c.open(USER, PASSWORD, true).await.unwrap().error.is_none());
    subscribe(&mut c, &["PPUserCnf"]).await;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(omm_sim::control::serve(
        std::sync::Arc::clone(&fleet),
        listener,
    ));
    let stream = tokio::net::TcpStream::connect(addr).await.unwrap();
    let (read, mut write) = stream.into_split();
    let mut lines = BufReader::new(read).lines();
    write.write_all(b"{\"cmd\":\"list\"}\n{\"cmd\":\"edit-user\",\"omm\":2,\"uid\":1,\"attr\":\"name\",\"value\":\"Scripted\"}\n{\"cmd\":\"fly\"}\nnot json\n").await.unwrap();
    let list: serde_json::Value =
        serde_json::from_str(&lines.next_line().await.unwrap().unwrap()).unwrap();
    assert_eq!(list["result"].as_array().unwrap().len(), 2);
    assert_eq!(list["result"][1]["links"], 1);
    assert_eq!(lines.next_line().await.unwrap().unwrap(), "{\"ok\":true}");
    assert!(lines
        .next_line()
        .await
        .unwrap()
        .unwrap()
        .contains("unknown command"));
    assert!(lines
        .next_line()
        .await
        .unwrap()
        .unwrap()
        .contains("not JSON"));
    let ev = c.next_event(Duration::from_secs(2)).await.unwrap();
    assert!(
        matches!(&ev.message, Message::EventPPUserCnf(e) if e.user.as_ref().and_then(|u| u.raw("name")) == Some("Scripted"))
    );
}
