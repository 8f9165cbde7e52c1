//! What the benchmarks share: the size of a run, percentiles, millisecond figures, and the
//! population of the store's runs (users and handsets as a large site has them).

use model::{Device, Ipei, User};
use std::time::Duration;

/// The size of a benchmark run, from the environment, so the ten-times run is one command
/// (`scripts/bench --scale 10`), not an edited constant.
///
/// `MOM_BENCH_SCALE` (1 by default: the admin guide's size, 500 OMMs and 50,000 users)
/// multiplies every size; `MOM_BENCH_OMMS`, `MOM_BENCH_PER_OMM` and `MOM_BENCH_USERS` set
/// one of them outright.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Size {
    /// Simulated OMMs.
    pub omms: u32,
    /// Users and handsets on each simulated OMM.
    pub per_omm: u32,
    /// Users (and as many handsets) written to the store directly.
    pub users: u32,
    /// The scale the sizes came from.
    pub scale: u32,
}

impl Size {
    /// The admin guide's size.
    pub const GUIDE: Self = Self {
        omms: 500,
        per_omm: 100,
        users: 50_000,
        scale: 1,
    };

    /// The size this run asks for.
    ///
    /// # Panics
    /// On a value that is not a positive number.
    #[must_use]
    pub fn from_env() -> Self {
        let var = |name: &str| {
            std::env::var(name).ok().map(|v| {
                v.trim()
                    .parse::<u32>()
                    .ok()
                    .filter(|n| *n > 0)
                    .unwrap_or_else(|| panic!("{name}={v:?} is not a positive number"))
            })
        };
        let scale = var("MOM_BENCH_SCALE").unwrap_or(1);
        Self {
            omms: var("MOM_BENCH_OMMS").unwrap_or(Self::GUIDE.omms * scale),
            per_omm: var("MOM_BENCH_PER_OMM").unwrap_or(Self::GUIDE.per_omm),
            users: var("MOM_BENCH_USERS").unwrap_or(Self::GUIDE.users * scale),
            scale,
        }
    }

    /// `at_guide` (a timeout measured at the guide's size) grown with the number of OMMs.
    #[must_use]
    pub fn patience(&self, at_guide: Duration) -> Duration {
        at_guide * self.omms.div_ceil(Self::GUIDE.omms).max(1)
    }
}

/// The `p` quantile (0 to 1) of `samples` (sorted in place).
///
/// # Panics
/// When `samples` is empty.
pub fn percentile(samples: &mut [Duration], p: f64) -> Duration {
    samples.sort();
    // The index is within the slice: p is at most 1.
    let idx = ((samples.len() as f64 - 1.0) * p.clamp(0.0, 1.0)).round() as usize;
    samples[idx]
}

/// A duration in milliseconds with three decimals.
#[must_use]
pub fn ms(d: Duration) -> String {
    format!("{:.3} ms", d.as_secs_f64() * 1000.0)
}

/// User `i` of a benchmark population: every fourth one a "Bravo", 20 floors.
#[must_use]
pub fn user(i: u32) -> User {
    User {
        num: format!("{}", 100_000 + i),
        name: format!(
            "User {i:05} {}",
            ["Alpha", "Bravo", "Charlie", "Delta"][i as usize % 4]
        ),
        hierarchy1: format!("Floor {}", i % 20),
        sip_auth_id: format!("sip{i}"),
        // Secrets as real users have them (sealed at rest since schema 5).
        pin: format!("{:04}", i % 10_000),
        sip_pw: format!("sip-pw-{i:06}"),
        lang: "English".into(),
        ..User::default()
    }
}

/// Handset `i` of a benchmark population.
///
/// # Panics
/// For `i` beyond an IPEI's serial number range.
#[must_use]
pub fn device(i: u32) -> Device {
    let mut d = Device::new(Ipei::new(3074, i).expect("ipei"));
    d.hw_type = "632d".into();
    d
}

/// Writes users and handsets `0..count` (see [`user`], [`device`]) through the store socket
/// at `socket`, 10,000 at a time.
///
/// # Panics
/// When the store refuses a batch or cannot be reached.
pub fn fill_store(socket: &std::path::Path, count: u32) {
    use ipc::api::store::{StoreApi, StoreRequest, StoreResponse};
    use ipc::{Client, ClientOptions, Hello};
    const BATCH: u32 = 10_000;
    let socket = socket.to_owned();
    crate::block_on(async move {
        let (client, _events) =
            Client::<StoreApi>::start(socket, Hello::new("fill", 0), ClientOptions::default());
        let mut start = 0;
        while start < count {
            let end = (start + BATCH).min(count);
            let resp = client
                .request(StoreRequest::BulkPut {
                    users: (start..end).map(user).collect(),
                    devices: (start..end).map(device).collect(),
                })
                .await
                .expect("bulk put");
            assert_eq!(resp, StoreResponse::Done, "bulk put");
            start = end;
        }
    });
}

/// CPU time (user + system) of process `pid`, in clock ticks (1/100 s); 0 when it is gone.
#[must_use]
pub fn cpu_ticks(pid: u32) -> u64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    let after_name = stat.rsplit(')').next().unwrap_or("");
    let fields: Vec<&str> = after_name.split_whitespace().collect();
    // Fields 14 and 15 of stat(5), counted after the closing parenthesis of the name.
    fields
        .get(11)
        .and_then(|v| v.parse::<u64>().ok())
        .unwrap_or(0)
        + fields
            .get(12)
            .and_then(|v| v.parse::<u64>().ok())
            .unwrap_or(0)
}
