//! One golden test per generation rule of the admin guide (and its own examples): each
//! folder of `tests/golden/` holds a template, an OMM's placeholder file and the
//! `ipdect.cfg` that OMM must get, byte for byte. The predefined placeholders are those of
//! an OMM `omm` (password `se"cret&<x>`, Cloud-ID `001F10289D85`) reaching the MOM at
//! 192.0.2.5:443.

use provisioning::{render, PlaceholderFile, Predefined};
use std::path::Path;

fn predefined() -> Predefined {
    Predefined {
        mom_ip_addr: "192.0.2.5".into(),
        mom_web_https_port: 443,
        cloud_id: "001F10289D85".into(),
        username: "omm".into(),
        password: "se\"cret&<x>".into(),
    }
}

#[test]
fn every_rule_renders_its_golden_file() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/golden");
    let mut cases: Vec<_> = std::fs::read_dir(&root)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    cases.sort();
    assert!(cases.len() >= 13, "the golden cases are missing");
    for case in cases {
        let read = |f: &str| std::fs::read_to_string(case.join(f)).unwrap();
        let (file, _) = PlaceholderFile::parse(&read("placeholders.txt"));
        let out = render(&read("template.xml"), &file, &predefined());
        assert_eq!(
            out.text,
            read("expected.cfg"),
            "golden case {}",
            case.file_name().unwrap().to_string_lossy()
        );
    }
}
