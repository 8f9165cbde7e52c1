//! `sip-dect-mom log-level [LEVEL]`: the running MOM's log level, shown or changed until its
//! next start.

use crate::client::{call, connect, fail, EXIT_UNREACHABLE};
use ipc::api::control::{ControlApi, ControlRequest, ControlResponse};
use std::path::Path;

/// Exit code of a level that cannot be parsed or is refused.
const EXIT_REFUSED: i32 = 1;

/// `sip-dect-mom log-level [LEVEL]`: shows or changes the level of the running MOM.
pub async fn log_level(control_socket: &Path, level: Option<&str>) -> i32 {
    let request = match level {
        Some(spec) => {
            if let Err(e) = service_kit::logging::parse_level(spec) {
                eprintln!("sip-dect-mom: {e}");
                return EXIT_REFUSED;
            }
            ControlRequest::SetLogLevel(spec.to_owned())
        }
        None => ControlRequest::LogLevel,
    };
    let answer = async {
        let mut ch = connect::<ControlApi>(control_socket).await?;
        call::<ControlApi>(&mut ch, 1, request).await
    }
    .await;
    match answer {
        Ok(ControlResponse::LogLevel(level)) => {
            println!("{level}");
            0
        }
        Ok(ControlResponse::Refused(e)) => {
            eprintln!("sip-dect-mom: {e}");
            EXIT_REFUSED
        }
        Ok(other) => fail(&format!("unexpected answer from the supervisor: {other:?}")),
        Err(e) => {
            eprintln!("sip-dect-mom: {e}");
            EXIT_UNREACHABLE
        }
    }
}
