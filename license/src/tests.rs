//! License format tests: round trips, tolerance, and every way a file is refused.

use super::*;

fn sample() -> License {
    License {
        installation_id: "271110277".into(),
        customer_name: "TES3".into(),
        country: "GERMANY".into(),
        system_license: "2MBSR-ZD5T8-SELNP-SAAGW-ZZV21".into(),
        licensed_version: "10.1".into(),
        sari: "1F10DE0000".into(),
    }
}

#[test]
fn an_issued_license_verifies_with_its_issuer_key() {
    let key = IssuerKey::generate();
    let file = key.issue(&sample()).unwrap();
    let verified = verify(file.as_bytes(), &[key.public()]).unwrap();
    assert_eq!(verified.license, sample());
    assert_eq!(verified.issuer, key.public());
}

#[test]
fn line_ends_comments_and_a_bom_do_not_matter() {
    let key = IssuerKey::generate();
    let file = key.issue(&sample()).unwrap();
    let edited = format!(
        "\u{feff}# forwarded by mail\r\n\r\n{}",
        file.replace('\n', "\r\n")
            .replace("country: ", "country:   ")
    );
    assert_eq!(
        verify(edited.as_bytes(), &[key.public()]).unwrap().license,
        sample()
    );
}

#[test]
fn changing_any_byte_of_the_signed_lines_is_refused() {
    let key = IssuerKey::generate();
    let file = key.issue(&sample()).unwrap();
    let body_start = file.find('\n').unwrap() + 1; // after the comment line
    for at in body_start..file.len() {
        let mut bytes = file.clone().into_bytes();
        bytes[at] = if bytes[at] == b'x' { b'y' } else { b'x' };
        assert!(
            verify(&bytes, &[key.public()]).is_err(),
            "a change at byte {at} ({:?}) was accepted",
            &file[at.saturating_sub(10)..(at + 10).min(file.len())]
        );
    }
}

#[test]
fn another_issuer_or_no_issuer_is_refused() {
    let key = IssuerKey::generate();
    let other = IssuerKey::generate();
    let file = key.issue(&sample()).unwrap();
    assert_eq!(
        verify(file.as_bytes(), &[other.public()]),
        Err(LicenseError::UnknownIssuer(key.public().to_hex()))
    );
    assert_eq!(
        verify(file.as_bytes(), &[]),
        Err(LicenseError::NoIssuerKeys)
    );
    // A forger who swaps in their own issuer line still needs the trusted key's signature.
    let forged = other
        .issue(&sample())
        .unwrap()
        .replace(&other.public().to_hex(), &key.public().to_hex());
    assert_eq!(
        verify(forged.as_bytes(), &[key.public()]),
        Err(LicenseError::BadSignature)
    );
}

#[test]
fn malformed_files_get_a_precise_error() {
    let key = IssuerKey::generate();
    let file = key.issue(&sample()).unwrap();
    let trusted = [key.public()];
    let cases: Vec<(Vec<u8>, LicenseError)> = vec![
        (
            vec![b'#'; MAX_FILE_BYTES + 1],
            LicenseError::TooLarge(MAX_FILE_BYTES + 1),
        ),
        (vec![0xff, 0xfe, 0x00], LicenseError::NotText),
        (
            format!("{file}no colon here\n").into_bytes(),
            LicenseError::Malformed {
                line: 11,
                why: "expected \"key: value\"".into(),
            },
        ),
        (
            format!("{file}expires: never\n").into_bytes(),
            LicenseError::UnknownField("expires".into()),
        ),
        (
            format!("{file}sari: 1F10DE0001\n").into_bytes(),
            LicenseError::DuplicateField("sari".into()),
        ),
        (
            file.replace("country: GERMANY\n", "").into_bytes(),
            LicenseError::MissingField("country"),
        ),
        (
            file.replace("sip-dect-mom-license/1", "sip-dect-mom-license/2")
                .into_bytes(),
            LicenseError::UnsupportedFormat("sip-dect-mom-license/2".into()),
        ),
        (
            file.replace("GERMANY", "GER\u{7}MANY").into_bytes(),
            LicenseError::Malformed {
                line: 5,
                why: "has control characters".into(),
            },
        ),
    ];
    for (bytes, expected) in cases {
        assert_eq!(verify(&bytes, &trusted), Err(expected));
    }
}

#[test]
fn issuing_refuses_values_the_mom_would_refuse() {
    let key = IssuerKey::generate();
    for (license, field) in [
        (
            License {
                installation_id: " ".into(),
                ..sample()
            },
            "installation-id",
        ),
        (
            License {
                sari: "1f10de0000".into(),
                ..sample()
            },
            "sari",
        ),
        (
            License {
                sari: "1F10DE".into(),
                ..sample()
            },
            "sari",
        ),
        (
            License {
                customer_name: "a\nsari: 0000000000".into(),
                ..sample()
            },
            "customer-name",
        ),
        (
            License {
                country: "x".repeat(MAX_VALUE_CHARS + 1),
                ..sample()
            },
            "country",
        ),
    ] {
        match key.issue(&license) {
            Err(LicenseError::InvalidField { field: f, .. }) => assert_eq!(f, field),
            other => panic!("{field}: {other:?}"),
        }
    }
}

#[test]
fn key_files_round_trip_and_a_wrong_public_half_is_refused() {
    let key = IssuerKey::generate();
    let file = key.to_file();
    assert_eq!(
        IssuerKey::from_file(file.as_bytes()).unwrap().public(),
        key.public()
    );
    let other = IssuerKey::generate().public().to_hex();
    let mixed = file.replace(&key.public().to_hex(), &other);
    assert!(matches!(
        IssuerKey::from_file(mixed.as_bytes()),
        Err(LicenseError::InvalidField {
            field: "public",
            ..
        })
    ));
    assert!(IssuerPublicKey::from_hex("abcd").is_err());
    assert_eq!(
        IssuerPublicKey::from_hex(&key.public().to_hex()).unwrap(),
        key.public()
    );
}
