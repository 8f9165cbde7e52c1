//! omm-sim: many simulated OMMs in one process, each with its own loopback listener (TLS by
//! default), PARK, RSA key, account, users, devices and conference rooms, behaving as
//! `axi-profile.md` describes. Tests, benchmarks and demos drive it through [`Fleet`]'s
//! methods, or through the JSON-lines control socket of [`control`].
//!
//! - [`state`]: one OMM's database and its answer to every request (no I/O);
//! - [`server`]: listeners, links, event fan-out, restarts and misbehaviour;
//! - [`provision`]: the HTTPS fetch of `ipdect.cfg` on `SoftwareUpdate`;
//! - [`population`]: reproducible users and handsets;
//! - [`client`]: a small AXI client for tests.
#![forbid(unsafe_code)]

pub mod client;
pub mod control;
pub mod population;
pub mod provision;
pub mod server;
pub mod state;

use axi::record::AxiRecord;
use axi::{Frame, Limits, PpDev};
use model::Ipei;
pub use server::{Behaviour, SimOmm};
use state::{Action, OmmConfig, OmmState};
use std::sync::Arc;

/// How to build a fleet.
#[derive(Debug, Clone)]
pub struct FleetOptions {
    /// Number of OMMs.
    pub omms: u32,
    /// Users per OMM.
    pub users: u32,
    /// Handsets per OMM (the first `min(users, devices)` are bound to users).
    pub devices: u32,
    /// Seed of the population.
    pub seed: u64,
    /// TLS listeners (plain when false).
    pub tls: bool,
    /// Offer TLS 1.2 only, with the ECDHE AES-256-GCM suites alone, as OMM firmware and the
    /// public AXI clients that pin `AES256-GCM-SHA384` do.
    pub tls12_only: bool,
    /// With `tls12_only`: offer the ECDHE ChaCha20 suites of TLS 1.2 instead, which level
    /// High does not allow (for the handshake-failure report).
    pub tls12_chacha_only: bool,
    /// Login, protocol version and restart time of every OMM.
    pub omm: OmmConfig,
    /// RSA key size of the OMMs.
    pub key_bits: usize,
    /// DER certificates the OMMs trust when asked to validate the provisioning server.
    pub trusted: Vec<Vec<u8>>,
    /// Limits of every link.
    pub limits: Limits,
    /// The address the OMMs listen on (loopback unless a test puts the MOMs in network
    /// namespaces of their own).
    pub address: std::net::IpAddr,
}

impl Default for FleetOptions {
    fn default() -> Self {
        Self {
            omms: 3,
            users: 10,
            devices: 10,
            seed: 1,
            tls: true,
            tls12_only: false,
            tls12_chacha_only: false,
            omm: OmmConfig::default(),
            key_bits: 512,
            trusted: Vec::new(),
            limits: Limits::default(),
            address: std::net::Ipv4Addr::LOCALHOST.into(),
        }
    }
}

/// A running fleet of simulated OMMs.
pub struct Fleet {
    /// The OMMs, index 0 is OMM 1.
    pub omms: Vec<Arc<SimOmm>>,
    /// The listeners' certificate (DER), shared by every OMM.
    pub certificate: Vec<u8>,
    tasks: Vec<tokio::task::JoinHandle<()>>,
}

impl Drop for Fleet {
    fn drop(&mut self) {
        for t in &self.tasks {
            t.abort();
        }
    }
}

/// Makes `n` RSA keys on every core.
fn make_keys(n: u32, bits: usize) -> Result<Vec<rsa::RsaPrivateKey>, String> {
    let threads = std::thread::available_parallelism().map_or(1, std::num::NonZeroUsize::get);
    let per = (n as usize).div_ceil(threads);
    std::thread::scope(|scope| {
        let handles: Vec<_> = (0..threads)
            .map(|t| {
                let count = per.min((n as usize).saturating_sub(t * per));
                scope.spawn(move || {
                    (0..count)
                        .map(|_| axi::secret::generate(bits).map_err(|e| e.to_string()))
                        .collect::<Result<Vec<_>, _>>()
                })
            })
            .collect();
        let mut keys = Vec::new();
        for h in handles {
            keys.extend(h.join().map_err(|_| "key thread panicked".to_owned())??);
        }
        Ok(keys)
    })
}

impl Fleet {
    /// Starts `options.omms` OMMs on ephemeral loopback ports.
    ///
    /// # Errors
    /// A text when keys, certificate or listeners cannot be made.
    pub async fn start(options: FleetOptions) -> Result<Self, String> {
        let keys = tokio::task::spawn_blocking({
            let (n, bits) = (options.omms, options.key_bits);
            move || make_keys(n, bits)
        })
        .await
        .map_err(|e| e.to_string())??;
        let cert = rcgen::generate_simple_self_signed(vec![
            "localhost".into(),
            "127.0.0.1".into(),
            options.address.to_string(),
        ])
        .map_err(|e| e.to_string())?;
        let certificate = cert.cert.der().to_vec();
        let tls = if options.tls {
            let key = rustls::pki_types::PrivateKeyDer::try_from(cert.signing_key.serialize_der())
                .map_err(|e| e.to_string())?;
            let mut provider = rustls::crypto::ring::default_provider();
            if options.tls12_only {
                use rustls::crypto::ring::cipher_suite as cs;
                provider.cipher_suites = if options.tls12_chacha_only {
                    vec![
                        cs::TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256,
                        cs::TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256,
                    ]
                } else {
                    vec![
                        cs::TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384,
                        cs::TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384,
                    ]
                };
            }
            let provider = Arc::new(provider);
            let versions: &[&rustls::SupportedProtocolVersion] = if options.tls12_only {
                &[&rustls::version::TLS12]
            } else {
                &[&rustls::version::TLS12, &rustls::version::TLS13]
            };
            let config = rustls::ServerConfig::builder_with_provider(provider)
                .with_protocol_versions(versions)
                .map_err(|e| e.to_string())?
                .with_no_client_auth()
                .with_single_cert(
                    vec![rustls::pki_types::CertificateDer::from(certificate.clone())],
                    key,
                )
                .map_err(|e| e.to_string())?;
            Some(tokio_rustls::TlsAcceptor::from(Arc::new(config)))
        } else {
            None
        };
        let fetcher = provision::Fetcher::new(&options.trusted);
        let mut omms = Vec::new();
        let mut tasks = Vec::new();
        for (i, key) in (1..=options.omms).zip(keys) {
            let mut state = OmmState::new(i, options.omm.clone(), key);
            population::populate(&mut state, options.users, options.devices, options.seed);
            let (omm, listener) = server::bind(state, options.address, 0, options.limits.clone())
                .await
                .map_err(|e| e.to_string())?;
            tasks.push(tokio::spawn(server::accept_loop(
                Arc::clone(&omm),
                listener,
                tls.clone(),
                fetcher.clone(),
            )));
            omms.push(omm);
        }
        Ok(Self {
            omms,
            certificate,
            tasks,
        })
    }

    /// OMM number `index` (1-based).
    ///
    /// # Panics
    /// When there is no such OMM.
    #[must_use]
    pub fn omm(&self, index: u32) -> &Arc<SimOmm> {
        &self.omms[index as usize - 1]
    }

    fn get(&self, index: u32) -> Result<&Arc<SimOmm>, String> {
        self.omms
            .get((index as usize).wrapping_sub(1))
            .ok_or_else(|| format!("no OMM {index}"))
    }

    /// A local administrator changes attribute `attr` of user `uid` on OMM `omm` (the OMM
    /// stamps the change and reports it to subscribed links).
    ///
    /// # Errors
    /// A text for an unknown OMM or user.
    pub fn admin_edit_user(
        &self,
        omm: u32,
        uid: u32,
        attr: &str,
        value: &str,
    ) -> Result<(), String> {
        self.edit_user(omm, uid, attr, value, true)
    }

    /// As [`Fleet::admin_edit_user`], but the event carries only `uid`, `timeStamp` and the
    /// changed attribute, as the profile allows (§10: receivers merge).
    ///
    /// # Errors
    /// A text for an unknown OMM or user.
    pub fn admin_edit_user_partial(
        &self,
        omm: u32,
        uid: u32,
        attr: &str,
        value: &str,
    ) -> Result<(), String> {
        self.edit_user(omm, uid, attr, value, false)
    }

    fn edit_user(
        &self,
        omm: u32,
        uid: u32,
        attr: &str,
        value: &str,
        full_record: bool,
    ) -> Result<(), String> {
        let sim = self.get(omm)?;
        let actions = {
            let mut inner = sim.lock();
            let user = inner
                .state
                .users
                .get_mut(&uid)
                .ok_or_else(|| format!("OMM {omm} has no user {uid}"))?;
            user.set_raw(attr, value.to_owned());
            let stamp = model::now();
            user.set(axi::PpUser::TIME_STAMP, stamp);
            let user = if full_record {
                user.clone()
            } else {
                let mut changed = axi::PpUser::default();
                changed.set(axi::PpUser::UID, uid);
                changed.set(axi::PpUser::TIME_STAMP, stamp);
                changed.set_raw(attr, value.to_owned());
                changed
            };
            vec![Action::Event {
                event_type: axi::EventType::PPUserCnf,
                frame: Frame::event(axi::message::EventPPUserCnf { user: Some(user) }),
            }]
        };
        sim.emit(actions);
        Ok(())
    }

    /// A local administrator changes attribute `attr` of handset `ppn` on OMM `omm` (stamped
    /// and reported like a user edit).
    ///
    /// # Errors
    /// A text for an unknown OMM or handset.
    pub fn admin_edit_device(
        &self,
        omm: u32,
        ppn: u32,
        attr: &str,
        value: &str,
    ) -> Result<(), String> {
        let sim = self.get(omm)?;
        let actions = {
            let mut inner = sim.lock();
            let device = inner
                .state
                .devices
                .get_mut(&ppn)
                .ok_or_else(|| format!("OMM {omm} has no handset {ppn}"))?;
            device.set_raw(attr, value.to_owned());
            device.set(axi::PpDev::TIME_STAMP, model::now());
            vec![Action::Event {
                event_type: axi::EventType::PPDevCnf,
                frame: Frame::event(axi::message::EventPPDevCnf {
                    pp: Some(device.clone()),
                }),
            }]
        };
        sim.emit(actions);
        Ok(())
    }

    /// A local administrator unbinds user `uid` from its handset on OMM `omm` (the OMM stamps
    /// the relation and reports both records).
    ///
    /// # Errors
    /// A text for an unknown OMM or user, or a user that is not bound.
    pub fn admin_unbind(&self, omm: u32, uid: u32) -> Result<(), String> {
        use axi::{PpDev, PpUser};
        let sim = self.get(omm)?;
        let actions = {
            let mut inner = sim.lock();
            let state = &mut inner.state;
            let ppn = state
                .users
                .get(&uid)
                .ok_or_else(|| format!("OMM {omm} has no user {uid}"))?
                .get(PpUser::PPN)
                .filter(|p| *p != 0)
                .ok_or_else(|| format!("user {uid} of OMM {omm} is not bound"))?;
            let now = model::now();
            let mut events = Vec::new();
            if let Some(u) = state.users.get_mut(&uid) {
                u.set(PpUser::PPN, 0)
                    .set(PpUser::REL_TYPE, model::RelType::Unbound)
                    .set(PpUser::TIME_STAMP, now)
                    .set(PpUser::TIME_STAMP_RELATION, now);
                events.push(Action::Event {
                    event_type: axi::EventType::PPUserCnf,
                    frame: Frame::event(axi::message::EventPPUserCnf {
                        user: Some(u.clone()),
                    }),
                });
            }
            if let Some(d) = state.devices.get_mut(&ppn) {
                d.set(PpDev::UID, 0)
                    .set(PpDev::REL_TYPE, model::RelType::Unbound)
                    .set(PpDev::TIME_STAMP, now)
                    .set(PpDev::TIME_STAMP_RELATION, now);
                events.push(Action::Event {
                    event_type: axi::EventType::PPDevCnf,
                    frame: Frame::event(axi::message::EventPPDevCnf {
                        pp: Some(d.clone()),
                    }),
                });
            }
            events
        };
        sim.emit(actions);
        Ok(())
    }

    /// A local administrator deletes user `uid` on OMM `omm`.
    ///
    /// # Errors
    /// A text for an unknown OMM or user.
    pub fn admin_delete_user(&self, omm: u32, uid: u32) -> Result<(), String> {
        let sim = self.get(omm)?;
        let removed = sim
            .lock()
            .state
            .users
            .remove(&uid)
            .ok_or_else(|| format!("OMM {omm} has no user {uid}"))?;
        drop(removed);
        let mut u = axi::PpUser::default();
        u.set(axi::PpUser::UID, uid).set(axi::PpUser::DELETED, true);
        sim.emit(vec![Action::Event {
            event_type: axi::EventType::PPUserCnf,
            frame: Frame::event(axi::message::EventPPUserCnf { user: Some(u) }),
        }]);
        Ok(())
    }

    /// A handset subscribes over the air at OMM `omm`.
    ///
    /// # Errors
    /// A text when the OMM refuses the subscription.
    pub fn subscribe_handset(
        &self,
        omm: u32,
        ipei: Ipei,
        ac: Option<String>,
        add_id: Option<&str>,
    ) -> Result<(), String> {
        let sim = self.get(omm)?;
        let actions = sim.lock().state.air_subscribe(ipei, ac, add_id)?;
        sim.emit(actions);
        Ok(())
    }

    /// A handset subscribed to the SARI registers its location at OMM `to`: that OMM sends
    /// `EventDECTLocate` (with `ppn` when it has a record for the handset).
    ///
    /// # Errors
    /// A text for an unknown OMM.
    pub fn roam(&self, ipei: Ipei, to: u32, rfp_id: u32) -> Result<(), String> {
        let sim = self.get(to)?;
        let ppn = sim.lock().state.device_by_ipei(ipei);
        sim.emit(vec![Action::Event {
            event_type: axi::EventType::DECTLocate,
            frame: Frame::event(axi::message::EventDECTLocate { ipei, rfp_id, ppn }),
        }]);
        Ok(())
    }

    /// A handset on OMM `omm` sends a text message to `to_number`, which is not local.
    ///
    /// # Errors
    /// A text for an unknown OMM.
    pub fn handset_message(
        &self,
        omm: u32,
        from_number: &str,
        to_number: &str,
        content: &str,
    ) -> Result<(), String> {
        let sim = self.get(omm)?;
        let mut msg = axi::TextMessage::default();
        msg.set(axi::TextMessage::ID, format!("{}", model::now()))
            .set(axi::TextMessage::SEND_TIME, model::now())
            .set(axi::TextMessage::FROM_ADDR, format!("tel:{from_number}"))
            .set(axi::TextMessage::FROM_NAME, from_number.to_owned())
            .set(axi::TextMessage::TO_ADDR, format!("tel:{to_number}"))
            .set(axi::TextMessage::PRIORITY, "Normal".to_owned())
            .set(axi::TextMessage::CONTENT_TYPE, "text/plain".to_owned())
            .set(axi::TextMessage::ENCODING, "UTF-8".to_owned())
            .set(axi::TextMessage::CONTENT, content.to_owned());
        sim.emit(vec![Action::Event {
            event_type: axi::EventType::MessageSend,
            frame: Frame::event(axi::message::EventMessageSend {
                always_indirect: None,
                msg: Some(msg),
            }),
        }]);
        Ok(())
    }

    /// An application on OMM `omm` sends data on the application data channel.
    ///
    /// # Errors
    /// A text for an unknown OMM.
    pub fn application_data(&self, omm: u32, channel: &str, data: &[u8]) -> Result<(), String> {
        use base64::Engine;
        let sim = self.get(omm)?;
        let event = axi::message::EventApplicationDataChannel {
            omm_id: None,
            channel: channel.to_owned(),
            data: base64::engine::general_purpose::STANDARD.encode(data),
        };
        sim.emit(vec![Action::Event {
            event_type: axi::EventType::ApplicationDataChannel,
            frame: Frame::event(event),
        }]);
        Ok(())
    }

    /// The device record with `ipei` on OMM `omm`.
    #[must_use]
    pub fn device(&self, omm: u32, ipei: Ipei) -> Option<PpDev> {
        let sim = self.get(omm).ok()?;
        let inner = sim.lock();
        inner
            .state
            .device_by_ipei(ipei)
            .and_then(|ppn| inner.state.devices.get(&ppn).cloned())
    }
}
