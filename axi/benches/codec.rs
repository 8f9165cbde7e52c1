//! Decode and encode throughput of full user and device records, on one core:
//! `cargo bench -p axi --bench codec`.

use axi::message::{GetPPDevResp, GetPPUserResp};
use axi::record::{AxiRecord, PpDev, PpUser};
use axi::{decode, encode, Frame, Limits};
use std::time::Instant;

/// A user with every attribute of the reference set to a typical value.
fn full_user(i: u32) -> PpUser {
    let mut u = PpUser::default();
    for (name, check) in PpUser::SCHEMA {
        let value = [
            i.to_string(),
            "true".into(),
            "Dynamic".into(),
            format!("User number {i}"),
            "English".into(),
            "Global".into(),
            "4711".into(),
        ]
        .into_iter()
        .find(|v| check(v))
        .unwrap_or_default();
        if *name != "deleted" {
            u.set_raw(name, value);
        }
    }
    u
}

fn full_device(i: u32) -> PpDev {
    let mut d = PpDev::default();
    let ipei = model::Ipei::new(3074, i % 1_000_000).unwrap().to_string();
    for (name, check) in PpDev::SCHEMA {
        let value = [
            i.to_string(),
            "true".into(),
            "Dynamic".into(),
            "Yes".into(),
            ipei.clone(),
            "632d".into(),
        ]
        .into_iter()
        .find(|v| check(v))
        .unwrap_or_default();
        if *name != "deleted" {
            d.set_raw(name, value);
        }
    }
    d
}

fn run(label: &str, frame: &Frame, records_per_frame: usize) {
    let limits = Limits::default();
    let bytes = encode(frame);
    let body = &bytes[..bytes.len() - 1];
    let rounds = 3000;
    let t = Instant::now();
    for _ in 0..rounds {
        let f = decode(body, &limits).expect("decode");
        std::hint::black_box(f);
    }
    let decode_s = t.elapsed().as_secs_f64();
    let t = Instant::now();
    for _ in 0..rounds {
        std::hint::black_box(encode(frame));
    }
    let encode_s = t.elapsed().as_secs_f64();
    let mb = (bytes.len() * rounds) as f64 / 1e6;
    println!(
        "{label}: frame {} bytes with {records_per_frame} records; decode {:.0} frames/s, {:.0} records/s, {:.1} MB/s; encode {:.0} frames/s, {:.0} records/s, {:.1} MB/s",
        bytes.len(),
        rounds as f64 / decode_s,
        (rounds * records_per_frame) as f64 / decode_s,
        mb / decode_s,
        rounds as f64 / encode_s,
        (rounds * records_per_frame) as f64 / encode_s,
        mb / encode_s,
    );
}

fn main() {
    let users = Frame::new(
        Some("1".into()),
        GetPPUserResp {
            users: (1..=20).map(full_user).collect(),
        },
    );
    let devices = Frame::new(
        Some("2".into()),
        GetPPDevResp {
            devices: (1..=20).map(full_device).collect(),
        },
    );
    println!(
        "user record: {} attributes; device record: {} attributes",
        full_user(1).attrs.len(),
        full_device(1).attrs.len()
    );
    run("GetPPUserResp", &users, 20);
    run("GetPPDevResp", &devices, 20);
}
