use super::*;

const LEVELS: [TlsSecurityLevel; 3] = [
    TlsSecurityLevel::High,
    TlsSecurityLevel::Medium,
    TlsSecurityLevel::Legacy,
];

#[test]
fn every_default_list_parses_and_every_level_offers_tls12_ecdhe_aes_gcm() {
    for level in LEVELS {
        let policy = parse(level, &default_list(level)).unwrap();
        assert!(!policy.suites.is_empty());
        assert_eq!(policy.list(), default_list(level));
    }
    let high = parse(
        TlsSecurityLevel::High,
        &default_list(TlsSecurityLevel::High),
    )
    .unwrap();
    // TLS 1.3 preferred, TLS 1.2 allowed: a TLS 1.2-only OMM links at the default level.
    assert_eq!(
        high.versions(),
        vec![&rustls::version::TLS13, &rustls::version::TLS12]
    );
    assert_eq!(
        high.list(),
        "TLS_AES_256_GCM_SHA384:TLS_AES_128_GCM_SHA256:TLS_CHACHA20_POLY1305_SHA256:\
         ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384:\
         ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256"
    );
    assert!(!high.resumes_sessions());
    assert_eq!(high.versions_text(), "TLS 1.3 and TLS 1.2");
    let medium = parse(
        TlsSecurityLevel::Medium,
        &default_list(TlsSecurityLevel::Medium),
    )
    .unwrap();
    assert_eq!(medium.versions().len(), 2);
    assert!(!medium.list().contains("CHACHA20-POLY1305"));
    assert!(medium.resumes_sessions());
    let legacy = parse(
        TlsSecurityLevel::Legacy,
        &default_list(TlsSecurityLevel::Legacy),
    )
    .unwrap();
    assert_eq!(legacy.suites.len(), supported().len());
}

#[test]
fn a_list_must_fit_the_certificates_key() {
    use rustls::SignatureAlgorithm as A;
    let rsa_only = parse(TlsSecurityLevel::Medium, "ECDHE-RSA-AES128-GCM-SHA256").unwrap();
    assert!(rsa_only.usable_with(A::RSA));
    assert!(!rsa_only.usable_with(A::ECDSA));
    let ecdsa_only = parse(TlsSecurityLevel::Medium, "ECDHE-ECDSA-AES256-GCM-SHA384").unwrap();
    assert!(ecdsa_only.usable_with(A::ECDSA) && ecdsa_only.usable_with(A::ED25519));
    assert!(!ecdsa_only.usable_with(A::RSA));
    let tls13 = parse(TlsSecurityLevel::High, "TLS_AES_128_GCM_SHA256").unwrap();
    assert!(tls13.usable_with(A::RSA) && tls13.usable_with(A::ECDSA));
}

#[test]
fn a_custom_list_keeps_its_order_and_drops_repeats() {
    let policy = parse(
        TlsSecurityLevel::Medium,
        "ECDHE-RSA-AES128-GCM-SHA256, tls_aes_128_gcm_sha256:ECDHE-RSA-AES128-GCM-SHA256",
    )
    .unwrap();
    assert_eq!(
        policy.list(),
        "ECDHE-RSA-AES128-GCM-SHA256:TLS_AES_128_GCM_SHA256"
    );
    assert_eq!(policy.provider().cipher_suites.len(), 2);
    // IANA names of TLS 1.2 suites are accepted as well.
    let iana = parse(
        TlsSecurityLevel::Legacy,
        "TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384",
    )
    .unwrap();
    assert_eq!(iana.list(), "ECDHE-RSA-AES256-GCM-SHA384");
    assert_eq!(iana.versions(), vec![&rustls::version::TLS12]);
}

#[test]
fn bad_names_are_refused_with_the_name_and_the_supported_list() {
    let unknown = parse(
        TlsSecurityLevel::Medium,
        "TLS_AES_128_GCM_SHA256:NO-SUCH-CIPHER",
    )
    .unwrap_err();
    assert_eq!(unknown, CipherError::Unknown("NO-SUCH-CIPHER".into()));
    let text = unknown.to_string();
    assert!(
        text.contains("NO-SUCH-CIPHER") && text.contains("supported: TLS_AES_256_GCM_SHA384"),
        "{text}"
    );
    assert_eq!(
        parse(TlsSecurityLevel::Legacy, "AES256-SHA").unwrap_err(),
        CipherError::Unsupported("AES256-SHA".into())
    );
    assert_eq!(
        parse(TlsSecurityLevel::Legacy, "HIGH:!aNULL").unwrap_err(),
        CipherError::Keyword("HIGH".into())
    );
    assert_eq!(
        parse(TlsSecurityLevel::Legacy, "!aNULL").unwrap_err(),
        CipherError::Keyword("!aNULL".into())
    );
    assert_eq!(
        parse(TlsSecurityLevel::High, "ECDHE-RSA-AES128-GCM-SHA256")
            .unwrap()
            .versions(),
        vec![&rustls::version::TLS12]
    );
    assert!(matches!(
        parse(TlsSecurityLevel::High, "ECDHE-RSA-CHACHA20-POLY1305").unwrap_err(),
        CipherError::NotAtLevel { .. }
    ));
    assert!(parse(TlsSecurityLevel::Medium, "ECDHE-RSA-CHACHA20-POLY1305").is_ok());
    assert_eq!(
        parse(TlsSecurityLevel::High, " : ,").unwrap_err(),
        CipherError::Empty
    );
}

#[test]
fn settings_select_the_level_and_fall_back_on_a_broken_stored_list() {
    let mut settings = Settings::default();
    assert_eq!(settings.tls_level, TlsSecurityLevel::High);
    let (policy, error) = from_settings(&settings);
    assert!(error.is_none());
    assert_eq!(policy.list(), default_list(TlsSecurityLevel::High));

    settings.tls_level = TlsSecurityLevel::Medium;
    settings.ciphers_medium = CipherChoice {
        use_defaults: false,
        custom: "ECDHE-ECDSA-AES128-GCM-SHA256".into(),
    };
    assert!(check_settings(&settings).is_ok());
    assert_eq!(
        from_settings(&settings).0.list(),
        "ECDHE-ECDSA-AES128-GCM-SHA256"
    );

    settings.ciphers_legacy = CipherChoice {
        use_defaults: false,
        custom: "RC4-MD5".into(),
    };
    assert_eq!(
        check_settings(&settings).unwrap_err(),
        (
            TlsSecurityLevel::Legacy,
            CipherError::Unsupported("RC4-MD5".into())
        )
    );
    settings.tls_level = TlsSecurityLevel::Legacy;
    let (policy, error) = from_settings(&settings);
    assert!(error.is_some());
    assert_eq!(policy.list(), default_list(TlsSecurityLevel::Legacy));
}
