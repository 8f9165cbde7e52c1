//! The wire format of every IPC API, guarded: the shape of every request, response and event
//! enum (traced with serde-reflection, every variant included) and the postcard bytes of one
//! value of every variant are compared with `tests/golden/wire.txt`.
//!
//! postcard encodes enum variants by position, so a reordered, removed or reshaped variant
//! makes peers misread each other. A change fails here until `PROTO_VERSION` is bumped and
//! the file regenerated with `UPDATE_GOLDEN=1 cargo test -p ipc --test wire_golden`, which
//! refuses to write a new file under the old version.

use ipc::api::axi::{AxiRequest, AxiResponse};
use ipc::api::control::{ControlRequest, ControlResponse};
use ipc::api::store::{StoreRequest, StoreResponse};
use ipc::api::supervision::{ServiceMsg, SupervisorMsg};
use ipc::api::web::{WebRequest, WebResponse};
use ipc::{Hello, PROTO_VERSION};
use serde::{de::DeserializeOwned, Serialize};
use serde_reflection::{Samples, Tracer, TracerConfig};
use std::fmt::Write as _;

const GOLDEN: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/golden/wire.txt");

/// Traces `T` and adds one encoded value per variant to `out`.
fn trace<T: Serialize + DeserializeOwned>(tracer: &mut Tracer, name: &str, out: &mut String) {
    let (_, values) = tracer
        .trace_type::<T>(&Samples::new())
        .unwrap_or_else(|e| panic!("tracing {name}: {e}"));
    for (i, value) in values.iter().enumerate() {
        let bytes = postcard::to_allocvec(value).expect("encode");
        let hex: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
        writeln!(out, "{name}[{i}] {hex}").unwrap();
    }
}

fn current() -> String {
    let mut tracer = Tracer::new(TracerConfig::default());
    let mut values = String::new();
    // Enums inside the messages, each with every variant.
    trace::<model::CertValidation>(&mut tracer, "CertValidation", &mut values);
    trace::<ipc::api::store::ChangeOp>(&mut tracer, "ChangeOp", &mut values);
    trace::<model::ConflictKind>(&mut tracer, "ConflictKind", &mut values);
    trace::<model::Entity>(&mut tracer, "Entity", &mut values);
    trace::<model::FilterOp>(&mut tracer, "FilterOp", &mut values);
    trace::<model::ForwardState>(&mut tracer, "ForwardState", &mut values);
    trace::<model::HealthCheck>(&mut tracer, "HealthCheck", &mut values);
    trace::<model::LinkState>(&mut tracer, "LinkState", &mut values);
    trace::<model::MonitoringMode>(&mut tracer, "MonitoringMode", &mut values);
    trace::<model::QueryError>(&mut tracer, "QueryError", &mut values);
    trace::<model::RelType>(&mut tracer, "RelType", &mut values);
    trace::<Result<u32, ipc::api::store::StoreError>>(&mut tracer, "Result", &mut values);
    trace::<ipc::api::control::ServiceState>(&mut tracer, "ServiceState", &mut values);
    trace::<model::Severity>(&mut tracer, "Severity", &mut values);
    trace::<model::SortDirection>(&mut tracer, "SortDirection", &mut values);
    trace::<model::Source>(&mut tracer, "Source", &mut values);
    trace::<ipc::api::store::StoreError>(&mut tracer, "StoreError", &mut values);
    trace::<model::SubscriptionMode>(&mut tracer, "SubscriptionMode", &mut values);
    trace::<model::SubscriptionState>(&mut tracer, "SubscriptionState", &mut values);
    trace::<model::SuppressTableUpdates>(&mut tracer, "SuppressTableUpdates", &mut values);
    trace::<model::TlsSecurityLevel>(&mut tracer, "TlsSecurityLevel", &mut values);
    trace::<model::Tristate>(&mut tracer, "Tristate", &mut values);
    trace::<Hello>(&mut tracer, "Hello", &mut values);
    trace::<StoreRequest>(&mut tracer, "StoreRequest", &mut values);
    trace::<StoreResponse>(&mut tracer, "StoreResponse", &mut values);
    trace::<ControlRequest>(&mut tracer, "ControlRequest", &mut values);
    trace::<ControlResponse>(&mut tracer, "ControlResponse", &mut values);
    trace::<ServiceMsg>(&mut tracer, "ServiceMsg", &mut values);
    trace::<SupervisorMsg>(&mut tracer, "SupervisorMsg", &mut values);
    trace::<AxiRequest>(&mut tracer, "AxiRequest", &mut values);
    trace::<AxiResponse>(&mut tracer, "AxiResponse", &mut values);
    trace::<WebRequest>(&mut tracer, "WebRequest", &mut values);
    trace::<WebResponse>(&mut tracer, "WebResponse", &mut values);
    let registry = tracer.registry().expect("every type traced completely");
    let formats = serde_json::to_string_pretty(&registry).expect("formats as JSON");
    format!("proto_version {PROTO_VERSION}\n\n# formats\n{formats}\n\n# one value of every variant\n{values}")
}

#[test]
fn the_wire_format_matches_the_committed_one_for_this_protocol_version() {
    let now = current();
    let golden = std::fs::read_to_string(GOLDEN).unwrap_or_default();
    if now == golden {
        return;
    }
    let golden_version = golden.lines().next().unwrap_or("").to_owned();
    let this_version = format!("proto_version {PROTO_VERSION}");
    if std::env::var_os("UPDATE_GOLDEN").is_some() {
        assert_ne!(
            golden_version, this_version,
            "the wire format changed under the same protocol version: bump PROTO_VERSION in ipc/src/hello.rs first"
        );
        std::fs::write(GOLDEN, &now).expect("write the golden file");
        return;
    }
    let first = now
        .lines()
        .zip(golden.lines())
        .position(|(a, b)| a != b)
        .unwrap_or(now.lines().count().min(golden.lines().count()));
    panic!(
        "the IPC wire format differs from {GOLDEN} (first at line {}):\n  now:    {:?}\n  golden: {:?}\n\
         Bump PROTO_VERSION (ipc/src/hello.rs) and run UPDATE_GOLDEN=1 cargo test -p ipc --test wire_golden",
        first + 1,
        now.lines().nth(first).unwrap_or(""),
        golden.lines().nth(first).unwrap_or("")
    );
}
