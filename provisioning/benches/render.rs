//! `cargo bench -p provisioning --bench render`: ipdect.cfg for 500 OMMs from a 50 KB
//! template with 200 placeholders (the goal: all 500 in under 100 ms on one core), and the
//! lint of that template against the same 500 placeholder files.

use provisioning::{lint, render, PlaceholderFile, Predefined};
use std::hint::black_box;
use std::time::{Duration, Instant};

const OMMS: u32 = 500;
const PLACEHOLDERS: usize = 200;

/// A template of about 50 KB: 200 commands, each with one site placeholder, a predefined
/// one and plain attributes, between comments.
fn template() -> String {
    let mut t = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    for i in 0..PLACEHOLDERS {
        t.push_str(&format!(
            "<!-- setting {i}: what it is for, as an administrator documents it -->\n\
             <SetSystemName name=\"%VALUE_{i}%\" location=\"%MOM_IP_ADDR%:%MOM_WEB_HTTPS_PORT%\" \
             comment=\"plain text that is copied as it is into every OMM's file\"/>\n"
        ));
    }
    while t.len() < 50 * 1024 {
        t.push_str("<!-- padding so that the template is as large as a real one -->\n");
    }
    t
}

fn placeholders(omm: u32) -> String {
    (0..PLACEHOLDERS)
        .map(|i| format!("VALUE_{i}=site {omm} value {i}\r\n"))
        .collect()
}

fn predefined(omm: u32) -> Predefined {
    Predefined {
        mom_ip_addr: "192.0.2.10".into(),
        mom_web_https_port: 443,
        cloud_id: format!("001F1{omm:07X}"),
        username: "omm".into(),
        password: format!("secret-{omm}"),
    }
}

fn main() {
    let template = template();
    let files: Vec<String> = (0..OMMS).map(placeholders).collect();
    let parsed: Vec<PlaceholderFile> = files.iter().map(|f| PlaceholderFile::parse(f).0).collect();
    let predefined: Vec<Predefined> = (0..OMMS).map(predefined).collect();

    let mut runs = Vec::new();
    for _ in 0..10 {
        let t = Instant::now();
        for (file, pre) in files.iter().zip(&predefined) {
            // Each OMM's file is read from its record text, as svc-web does per fetch.
            let (parsed, _) = PlaceholderFile::parse(file);
            black_box(render(&template, &parsed, pre));
        }
        runs.push(t.elapsed());
    }
    runs.sort();
    let out = render(&template, &parsed[0], &predefined[0]);
    assert!(out.unresolved.is_empty());
    println!(
        "ipdect.cfg for {OMMS} OMMs from a {} KB template with {PLACEHOLDERS} placeholders (each file parsed too), one core: best {}, median {} ({} per OMM, {} KB each)",
        template.len() / 1024,
        ms(runs[0]),
        ms(runs[runs.len() / 2]),
        us(runs[runs.len() / 2] / OMMS),
        out.text.len() / 1024
    );

    let omm_files: Vec<lint::OmmFile<'_>> = files
        .iter()
        .zip(&predefined)
        .enumerate()
        .map(|(i, (f, p))| lint::OmmFile {
            id: u32::try_from(i).unwrap_or(0) + 1,
            cloud_id: "",
            provisioning: true,
            placeholders: f,
            predefined: p.clone(),
        })
        .collect();
    let t = Instant::now();
    let findings = lint(&template, &omm_files);
    let linted = t.elapsed();
    assert!(findings.is_empty(), "{findings:?}");
    println!(
        "the lint of that template against the {OMMS} placeholder files: {}",
        ms(linted)
    );
}

fn ms(d: Duration) -> String {
    format!("{:.1} ms", d.as_secs_f64() * 1000.0)
}

fn us(d: Duration) -> String {
    format!("{:.0} µs", d.as_secs_f64() * 1e6)
}
