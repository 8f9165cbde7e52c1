//! The supervisor's loop: start every service, watch it, restart it by the policy, report
//! state, and stop everything in order on SIGTERM.

use crate::eventlog::EventLog;
use crate::notify::{self, Notifier};
use crate::restart::{Policy, Tracker};
use crate::services::{Plan, ServiceSpec};
use crate::spawn::{self, ProcessEvent, Running};
use crate::sys;
use ipc::api::control::ServiceState;
use ipc::api::supervision::SupervisorMsg;
use model::Severity;
use nix::sys::signal::Signal;
use std::collections::BTreeMap;
use std::net::TcpListener;
use std::os::unix::process::ExitStatusExt;
use std::process::ExitStatus;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::signal::unix::{signal, SignalKind};
use tokio::sync::{mpsc, watch};

/// One row of the state the control socket reports.
#[derive(Debug, Clone)]
pub struct Row {
    /// Service name.
    pub name: String,
    /// State.
    pub state: ServiceState,
    /// Pid of the current process.
    pub pid: Option<u32>,
    /// When the current process started.
    pub started: Option<Instant>,
    /// Restarts so far.
    pub restarts: u32,
    /// Generation of the current (or last) process.
    pub generation: u64,
    /// How the last process ended.
    pub last_exit: String,
}

/// Shared view of every service's state.
pub type StatusBoard = Arc<Mutex<Vec<Row>>>;

struct Slot {
    spec: ServiceSpec,
    tracker: Tracker,
    state: ServiceState,
    generation: u64,
    restarts: u32,
    process: Option<Process>,
    next_start: Option<Instant>,
    last_exit: String,
    ever_ready: bool,
}

struct Process {
    running: Running,
    started: Instant,
    ready: bool,
}

/// Why the loop ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// SIGTERM or SIGINT: orderly stop.
    Stopped,
    /// svc-store could not stay up.
    EssentialFailed,
    /// svc-store refused to start for a reason no restart cures (exit code 78, e.g. a
    /// database of a newer version); its own log line says why.
    EssentialRefused,
}

/// How long svc-axi's start waits for the store to learn that the old links are gone.
const LINKS_LOST_WAIT: Duration = Duration::from_secs(10);

/// The running supervisor.
pub struct Monitor {
    slots: Vec<Slot>,
    listeners: BTreeMap<String, TcpListener>,
    dev: bool,
    grace: Duration,
    notifier: Notifier,
    log: EventLog,
    /// The store being told that svc-axi's links are gone (raised when it knows), and
    /// since when: svc-axi starts again only after, or after [`LINKS_LOST_WAIT`].
    links_lost: Option<(std::sync::Arc<std::sync::atomic::AtomicBool>, Instant)>,
    board: StatusBoard,
    events_tx: mpsc::Sender<ProcessEvent>,
    events: mpsc::Receiver<ProcessEvent>,
    announced_ready: bool,
    /// The trace file's options, passed to every service.
    trace_env: Vec<(&'static str, String)>,
    /// The log level in force; the control socket changes it.
    level: watch::Receiver<String>,
}

fn describe(status: &std::io::Result<ExitStatus>) -> String {
    match status {
        Ok(s) => match (s.code(), s.signal()) {
            (Some(code), _) => format!("exit code {code}"),
            (_, Some(sig)) => Signal::try_from(sig)
                .map_or_else(|_| format!("signal {sig}"), |s| format!("signal {s}")),
            _ => "unknown status".into(),
        },
        Err(e) => format!("wait failed: {e}"),
    }
}

impl Monitor {
    /// Prepares the loop; nothing is started yet.
    #[must_use]
    pub fn new(
        plan: &Plan,
        policy: &Policy,
        grace: Duration,
        listeners: BTreeMap<String, TcpListener>,
        board: StatusBoard,
        trace: Option<&service_kit::trace_file::TraceOptions>,
        level: watch::Receiver<String>,
    ) -> Self {
        let (events_tx, events) = mpsc::channel(256);
        let slots = plan
            .services
            .iter()
            .map(|spec| Slot {
                spec: spec.clone(),
                tracker: Tracker::new(policy.clone()),
                state: ServiceState::Backoff,
                generation: 0,
                restarts: 0,
                process: None,
                next_start: Some(Instant::now()),
                last_exit: String::new(),
                ever_ready: false,
            })
            .collect();
        Self {
            slots,
            listeners,
            dev: plan.dev,
            grace,
            notifier: Notifier::from_env(),
            log: EventLog::start(plan.store_socket.clone()),
            links_lost: None,
            board,
            events_tx,
            events,
            announced_ready: false,
            trace_env: trace.map(|t| t.env().to_vec()).unwrap_or_default(),
            level,
        }
    }

    fn publish(&self) {
        let rows = self
            .slots
            .iter()
            .map(|s| Row {
                name: s.spec.name.clone(),
                state: s.state,
                pid: s.process.as_ref().map(|p| p.running.pid),
                started: s.process.as_ref().map(|p| p.started),
                restarts: s.restarts,
                generation: s.generation,
                last_exit: s.last_exit.clone(),
            })
            .collect();
        if let Ok(mut board) = self.board.lock() {
            *board = rows;
        }
    }

    /// Whether the store is still to learn that svc-axi's links are gone (for at most
    /// [`LINKS_LOST_WAIT`]: a store that is down must not keep svc-axi from starting).
    fn links_lost_pending(&self, now: Instant) -> bool {
        self.links_lost.as_ref().is_some_and(|(done, since)| {
            !done.load(std::sync::atomic::Ordering::Acquire)
                && now.duration_since(*since) < LINKS_LOST_WAIT
        })
    }

    fn start(&mut self, index: usize) {
        let slot = &mut self.slots[index];
        slot.next_start = None;
        slot.generation += 1;
        let mut env = self.trace_env.clone();
        env.push((service_kit::logging::LEVEL_ENV, self.level.borrow().clone()));
        match spawn::start(
            index,
            &slot.spec,
            slot.generation,
            &self.listeners,
            self.dev,
            &env,
            &self.events_tx,
        ) {
            Ok(running) => {
                tracing::info!(service = %slot.spec.name, pid = running.pid, generation = slot.generation, "service started");
                self.log.add(
                    Severity::Info,
                    format!(
                        "{} started (pid {}, generation {})",
                        slot.spec.name, running.pid, slot.generation
                    ),
                );
                slot.process = Some(Process {
                    running,
                    started: Instant::now(),
                    ready: false,
                });
                if slot.state != ServiceState::Failed {
                    slot.state = ServiceState::Starting;
                }
            }
            Err(e) => {
                tracing::error!(service = %slot.spec.name, error = %e, "service could not be started");
                self.log.add(
                    Severity::Error,
                    format!("{} could not be started: {e}", slot.spec.name),
                );
                let decision = slot.tracker.on_crash(Instant::now(), Duration::ZERO, false);
                slot.next_start = Some(Instant::now() + decision.delay);
                slot.state = if decision.failed {
                    ServiceState::Failed
                } else {
                    ServiceState::Backoff
                };
            }
        }
    }

    /// Handles one process event; returns `Some` when the daemon must end.
    fn handle(&mut self, event: ProcessEvent) -> Option<Outcome> {
        match event {
            ProcessEvent::Ready { slot, generation } => {
                let s = &mut self.slots[slot];
                if s.generation != generation {
                    return None;
                }
                if let Some(p) = s.process.as_mut() {
                    p.ready = true;
                    tracing::info!(service = %s.spec.name, pid = p.running.pid, ms = p.started.elapsed().as_millis() as u64, "service ready");
                }
                if s.state == ServiceState::Failed {
                    tracing::info!(service = %s.spec.name, "failed service recovered");
                    self.log
                        .add(Severity::Info, format!("{} recovered", s.spec.name));
                }
                s.state = ServiceState::Running;
                s.ever_ready = true;
                if !self.announced_ready && self.slots.iter().all(|s| s.ever_ready) {
                    self.announced_ready = true;
                    self.notifier.notify("READY=1");
                    tracing::info!("all services ready");
                }
                None
            }
            ProcessEvent::Misbehaved {
                slot,
                generation,
                error,
            } => {
                let s = &self.slots[slot];
                if s.generation == generation {
                    if let Some(p) = &s.process {
                        tracing::error!(service = %s.spec.name, pid = p.running.pid, %error, "service broke the supervision protocol; killing it");
                        sys::signal_service(p.running.pid, s.spec.identity, Signal::SIGKILL);
                    }
                }
                None
            }
            ProcessEvent::Exited {
                slot,
                generation,
                status,
            } => self.exited(slot, generation, &status),
        }
    }

    fn exited(
        &mut self,
        index: usize,
        generation: u64,
        status: &std::io::Result<ExitStatus>,
    ) -> Option<Outcome> {
        let s = &mut self.slots[index];
        if s.generation != generation {
            return None;
        }
        let process = s.process.take()?;
        let uptime = process.started.elapsed();
        let how = describe(status);
        s.last_exit.clone_from(&how);
        if s.spec.essential
            && matches!(status, Ok(st) if st.code() == Some(service_kit::EXIT_CONFIG))
        {
            s.state = ServiceState::Failed;
            tracing::error!(service = %s.spec.name, pid = process.running.pid, "essential service refused to start (exit code 78); not restarting it");
            return Some(Outcome::EssentialRefused);
        }
        let decision = s.tracker.on_crash(Instant::now(), uptime, process.ready);
        s.restarts += 1;
        s.next_start = Some(Instant::now() + decision.delay);
        let name = s.spec.name.clone();
        if s.spec.on_exit == crate::services::ExitHook::LinksLost {
            self.links_lost = Some((self.log.links_lost(), Instant::now()));
        }
        let delay_ms = decision.delay.as_millis() as u64;
        if decision.failed {
            s.state = ServiceState::Failed;
            tracing::error!(service = %name, pid = process.running.pid, exit = %how, retry_ms = delay_ms, "service failed: it keeps crashing");
            self.log.add(Severity::Critical, format!("{name} failed: it crashed too often (last: {how}); retrying every {delay_ms} ms"));
            if s.spec.essential {
                return Some(Outcome::EssentialFailed);
            }
        } else {
            if s.state != ServiceState::Failed {
                s.state = ServiceState::Backoff;
            }
            tracing::warn!(service = %name, pid = process.running.pid, exit = %how, uptime_ms = uptime.as_millis() as u64, restart_ms = delay_ms, "service exited; restarting");
            self.log.add(
                Severity::Warning,
                format!(
                    "{name} exited ({how}) after {:.1} s; restart in {delay_ms} ms",
                    uptime.as_secs_f64()
                ),
            );
        }
        None
    }

    /// Runs until SIGTERM/SIGINT or an essential service fails, then stops every service.
    pub async fn run(mut self) -> Outcome {
        let (Ok(mut term), Ok(mut int)) = (
            signal(SignalKind::terminate()),
            signal(SignalKind::interrupt()),
        ) else {
            tracing::error!("cannot install signal handlers");
            return Outcome::EssentialFailed;
        };
        // Link states in the store are from before this start: none is held yet.
        self.links_lost = Some((self.log.links_lost(), Instant::now()));
        let watchdog = notify::watchdog_period().map(|p| p / 2);
        let mut watchdog_tick =
            tokio::time::interval(watchdog.unwrap_or(Duration::from_secs(3600)));
        let outcome = loop {
            let now = Instant::now();
            for i in 0..self.slots.len() {
                if self.slots[i].next_start.is_some_and(|t| t <= now) {
                    if self.slots[i].spec.on_exit == crate::services::ExitHook::LinksLost
                        && self.links_lost_pending(now)
                    {
                        // The store first learns that the old links are gone.
                        self.slots[i].next_start = Some(now + Duration::from_millis(20));
                        continue;
                    }
                    self.start(i);
                }
            }
            self.publish();
            let next = self.slots.iter().filter_map(|s| s.next_start).min();
            let sleep = async {
                match next {
                    Some(t) => tokio::time::sleep_until(t.into()).await,
                    None => std::future::pending().await,
                }
            };
            tokio::select! {
                event = self.events.recv() => {
                    if let Some(outcome) = event.and_then(|e| self.handle(e)) {
                        break outcome;
                    }
                }
                () = sleep => {}
                _ = term.recv() => { tracing::info!("SIGTERM received; stopping"); break Outcome::Stopped; }
                _ = int.recv() => { tracing::info!("SIGINT received; stopping"); break Outcome::Stopped; }
                _ = watchdog_tick.tick(), if watchdog.is_some() => self.notifier.notify("WATCHDOG=1"),
                Ok(()) = self.level.changed() => self.send_level(),
            }
        };
        self.shutdown().await;
        outcome
    }

    /// Sends the level in force to every running service (the supervisor changed its own).
    fn send_level(&mut self) {
        let level = self.level.borrow_and_update().clone();
        for s in &self.slots {
            if let Some(p) = &s.process {
                if p.running
                    .link
                    .try_send(SupervisorMsg::LogLevel(level.clone()))
                    .is_err()
                {
                    tracing::warn!(service = %s.spec.name, "log level not sent: the service's link is busy or gone");
                }
            }
        }
    }

    /// Asks every service to stop, then kills what is left after the grace period.
    async fn shutdown(&mut self) {
        self.notifier.notify("STOPPING=1");
        for s in &mut self.slots {
            s.next_start = None;
            if let Some(p) = &s.process {
                let _ = p.running.link.try_send(SupervisorMsg::Shutdown);
                sys::signal_service(p.running.pid, s.spec.identity, Signal::SIGTERM);
            }
        }
        let deadline = tokio::time::Instant::now() + self.grace;
        while self.slots.iter().any(|s| s.process.is_some()) {
            match tokio::time::timeout_at(deadline, self.events.recv()).await {
                Ok(Some(ProcessEvent::Exited {
                    slot,
                    generation,
                    status,
                })) => {
                    let s = &mut self.slots[slot];
                    if s.generation == generation {
                        if let Some(p) = s.process.take() {
                            tracing::info!(service = %s.spec.name, pid = p.running.pid, exit = %describe(&status), "service stopped");
                        }
                        s.state = ServiceState::Stopped;
                    }
                }
                Ok(Some(_)) => {}
                Ok(None) => break,
                Err(_) => {
                    for s in &self.slots {
                        if let Some(p) = &s.process {
                            tracing::warn!(service = %s.spec.name, pid = p.running.pid, "service did not stop in time; killing it");
                            sys::signal_service(p.running.pid, s.spec.identity, Signal::SIGKILL);
                        }
                    }
                    // Wait for the kills to be reaped, without another deadline.
                    while self.slots.iter().any(|s| s.process.is_some()) {
                        match self.events.recv().await {
                            Some(ProcessEvent::Exited {
                                slot, generation, ..
                            }) if self.slots[slot].generation == generation => {
                                self.slots[slot].process = None;
                                self.slots[slot].state = ServiceState::Stopped;
                            }
                            Some(_) => {}
                            None => break,
                        }
                    }
                }
            }
        }
        self.publish();
    }
}
