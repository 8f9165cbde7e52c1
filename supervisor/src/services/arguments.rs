//! The command line each built-in service is started with, from the configuration.

use super::*;
use crate::config::Config;
use std::path::{Path, PathBuf};

/// The socket of a built-in service, or `control` for the supervisor's, under a runtime
/// directory.
pub(super) fn socket_of(name: &str, runtime_dir: &Path) -> Option<PathBuf> {
    if name == "control" {
        return Some(control_socket(runtime_dir));
    }
    BUILTIN
        .iter()
        .find(|b| b.name == name)
        .and_then(|b| b.socket.as_ref())
        .map(|s| runtime_dir.join(s.path))
}

/// A built-in service's command line: its socket and who may use it, its peers' sockets,
/// then its own settings.
pub(super) fn arguments(builtin: &Builtin, config: &Config, uids: &Uids) -> Vec<String> {
    let runtime = &config.paths.runtime_dir;
    let mut args = Vec::new();
    if let Some(socket) = &builtin.socket {
        args.push("--socket".to_owned());
        args.push(runtime.join(socket.path).display().to_string());
        for uid in uids.allowed(builtin.name, socket.admins, socket.extras) {
            args.push("--allow-uid".to_owned());
            args.push(uid.to_string());
        }
    }
    for peer in builtin.peers {
        if let Some(path) = socket_of(peer, runtime) {
            args.push(format!("--{peer}-socket"));
            args.push(path.display().to_string());
        }
    }
    args.extend((builtin.args)(config));
    args
}

pub(super) fn store_args(config: &Config) -> Vec<String> {
    let store_state = config.paths.state_dir.join("store");
    let mut args = vec![
        "--db-dir".to_owned(),
        store_db_dir(&config.paths.state_dir).display().to_string(),
        "--transfer-dir".to_owned(),
        store_state.join("transfer").display().to_string(),
        "--sample-secs".to_owned(),
        config.statistics.sample_secs.to_string(),
    ];
    for key in &config.license.issuer_keys {
        args.push("--license-issuer".to_owned());
        args.push(key.clone());
    }
    if let Some(cluster) = &config.cluster {
        args.extend([
            "--cluster-node-id".to_owned(),
            cluster.node_id.to_string(),
            "--cluster-tls-dir".to_owned(),
            store_cluster_dir(&config.paths.state_dir)
                .display()
                .to_string(),
            "--cluster-heartbeat-ms".to_owned(),
            cluster.heartbeat_ms.to_string(),
            "--cluster-election-ms".to_owned(),
            cluster.election_ms.to_string(),
        ]);
        for member in &cluster.members {
            args.push("--cluster-member".to_owned());
            args.push(member.clone());
        }
    }
    args
}

pub(super) fn axi_args(config: &Config) -> Vec<String> {
    vec![
        "--retry-secs".to_owned(),
        config.axi.retry_secs.to_string(),
        "--ping-secs".to_owned(),
        config.axi.ping_secs.to_string(),
        "--request-timeout-secs".to_owned(),
        config.axi.request_timeout_secs.to_string(),
        "--protocol-version".to_owned(),
        config.axi.protocol_version.to_string(),
    ]
}

pub(super) fn web_args(config: &Config) -> Vec<String> {
    let mut args = vec![
        "--state-dir".to_owned(),
        web_state(&config.paths.state_dir).display().to_string(),
        "--session-idle-secs".to_owned(),
        config.web.session_idle_secs.to_string(),
        "--session-max-secs".to_owned(),
        config.web.session_max_secs.to_string(),
        "--header-timeout-secs".to_owned(),
        config.web.header_timeout_secs.to_string(),
        "--max-connections".to_owned(),
        config.web.max_connections.to_string(),
        "--omm-upload-max-mib".to_owned(),
        config.web.omm_upload_max_mib.to_string(),
        "--upload-max-mib".to_owned(),
        config.web.upload_max_mib.to_string(),
    ];
    if config.web.metrics_loopback {
        args.push("--metrics-loopback".to_owned());
    }
    for name in &config.web.host_names {
        args.push("--host-name".to_owned());
        args.push(name.clone());
    }
    args
}

pub(super) fn maxi_args(config: &Config) -> Vec<String> {
    vec![
        "--protocol-version".to_owned(),
        config.axi.protocol_version.to_string(),
        "--handshake-timeout-secs".to_owned(),
        config.maxi.handshake_timeout_secs.to_string(),
        "--idle-timeout-secs".to_owned(),
        config.maxi.idle_timeout_secs.to_string(),
    ]
}

/// Gives svc-axi the port the `https` listener was bound on: the OMMs' configuration URL
/// points there (it is known only after binding, and may be chosen by the system).
pub fn tell_web_port(plan: &mut Plan, port: u16) {
    for spec in plan.services.iter_mut().filter(|s| s.name == "axi") {
        spec.args.push("--web-port".to_owned());
        spec.args.push(port.to_string());
    }
}
