//! The admin guide's trace file: `mom_trace_<date>.log` in the log folder, one per day (UTC),
//! capped in size, the oldest removed after a number of days.
//!
//! Every MOM process appends its own lines to the same file of the day: each event is one
//! `write` on a file opened with `O_APPEND`, so the lines of different processes never mix.
//! The day's file is group-writable and the folder is set-group-id `mom`, so whichever
//! service creates it, the others can append. A process that finds the file at its cap stops
//! writing to it for the rest of the day, after one line that says so; the journal keeps
//! everything.
//!
//! tracing-appender rotates by time and keeps a number of files, but has no size cap and is
//! not made for several processes sharing one file, hence these hundred lines.

use std::fs::{File, OpenOptions};
use std::io::Write;
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::{Duration, Instant};
use time::{Date, OffsetDateTime};

/// Environment variable with the log folder (set by the supervisor for its services).
pub const DIR_ENV: &str = "MOM_TRACE_DIR";
/// Environment variable with the daily cap in bytes.
pub const MAX_BYTES_ENV: &str = "MOM_TRACE_MAX_BYTES";
/// Environment variable with the number of days kept.
pub const KEEP_DAYS_ENV: &str = "MOM_TRACE_KEEP_DAYS";

/// Where and how much to write.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TraceOptions {
    /// The log folder.
    pub dir: PathBuf,
    /// Largest size of one day's file.
    pub max_bytes: u64,
    /// Files of more than this many days ago are removed.
    pub keep_days: u32,
}

impl TraceOptions {
    /// The variables that pass these options to a service.
    #[must_use]
    pub fn env(&self) -> [(&'static str, String); 3] {
        [
            (DIR_ENV, self.dir.display().to_string()),
            (MAX_BYTES_ENV, self.max_bytes.to_string()),
            (KEEP_DAYS_ENV, self.keep_days.to_string()),
        ]
    }
}

/// The name of the trace file of `day`.
#[must_use]
pub fn file_name(day: Date) -> String {
    format!("mom_trace_{day}.log")
}

/// The name of today's trace file (UTC), the one the processes write now.
#[must_use]
pub fn todays_file_name() -> String {
    file_name(OffsetDateTime::now_utc().date())
}

/// The day a trace file name is of, if it is one.
fn day_of(name: &str) -> Option<Date> {
    let day = name.strip_prefix("mom_trace_")?.strip_suffix(".log")?;
    let format = time::macros::format_description!("[year]-[month]-[day]");
    Date::parse(day, &format).ok()
}

/// How long after a failed open the next write tries again.
const RETRY_OPEN: Duration = Duration::from_secs(5);

struct State {
    options: TraceOptions,
    day: Option<Date>,
    file: Option<File>,
    capped: bool,
    failed_at: Option<Instant>,
}

static STATE: Mutex<Option<State>> = Mutex::new(None);

/// Starts (or re-points) the trace file of this process.
pub fn enable(options: TraceOptions) {
    if let Ok(mut state) = STATE.lock() {
        *state = Some(State {
            options,
            day: None,
            file: None,
            capped: false,
            failed_at: None,
        });
    }
}

/// [`enable`] from the supervisor's variables, when they are set.
pub fn enable_from_env() {
    let Some(dir) = std::env::var_os(DIR_ENV) else {
        return;
    };
    let number = |var: &str, default: u64| {
        std::env::var(var)
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(default)
    };
    enable(TraceOptions {
        dir: dir.into(),
        max_bytes: number(MAX_BYTES_ENV, 32 << 20),
        keep_days: u32::try_from(number(KEEP_DAYS_ENV, 14)).unwrap_or(14),
    });
}

impl State {
    fn write(&mut self, line: &[u8], now: OffsetDateTime) {
        let today = now.date();
        if self.day != Some(today) {
            self.file = None;
            self.capped = false;
            self.failed_at = None;
            self.day = Some(today);
            self.open(today);
        } else if self.file.is_none() && self.failed_at.is_some_and(|t| t.elapsed() > RETRY_OPEN) {
            self.open(today);
        }
        let Some(file) = self.file.as_mut() else {
            return;
        };
        if self.capped {
            return;
        }
        let size = file.metadata().map_or(0, |m| m.len());
        if size + line.len() as u64 > self.options.max_bytes {
            self.capped = true;
            let note = format!(
                "{now} trace file {} reached its cap of {} bytes; this process writes no more to it today (the journal has every line)\n",
                file_name(today),
                self.options.max_bytes
            );
            let _ = file.write_all(note.as_bytes());
            return;
        }
        let _ = file.write_all(line);
    }

    fn open(&mut self, today: Date) {
        let path = self.options.dir.join(file_name(today));
        match OpenOptions::new()
            .append(true)
            .create(true)
            .mode(0o660)
            .open(&path)
        {
            Ok(file) => {
                // The umask took the group's write bit; only the creator may put it back,
                // and only the creator needs to.
                let _ = file.set_permissions(std::fs::Permissions::from_mode(0o660));
                self.file = Some(file);
                self.failed_at = None;
                prune(&self.options.dir, today, self.options.keep_days);
            }
            Err(e) => {
                if self.failed_at.is_none() {
                    eprintln!("cannot open the trace file {}: {e}", path.display());
                }
                self.failed_at = Some(Instant::now());
            }
        }
    }
}

/// Removes the trace files of more than `keep_days` days before `today`.
fn prune(dir: &Path, today: Date, keep_days: u32) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    let oldest_kept = today - time::Duration::days(i64::from(keep_days));
    for entry in entries.flatten() {
        let name = entry.file_name();
        if day_of(&name.to_string_lossy()).is_some_and(|day| day < oldest_kept) {
            let _ = std::fs::remove_file(entry.path());
        }
    }
}

/// The `MakeWriter` of the trace layer: one buffered event in, one `write` out; nothing
/// while no folder is set.
#[derive(Debug, Clone, Copy, Default)]
pub struct TraceFile;

/// One event's bytes, written on drop.
#[derive(Debug, Default)]
pub struct TraceLine(Vec<u8>);

impl Write for TraceLine {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Drop for TraceLine {
    fn drop(&mut self) {
        if self.0.is_empty() {
            return;
        }
        if let Ok(mut state) = STATE.lock() {
            if let Some(state) = state.as_mut() {
                state.write(&self.0, OffsetDateTime::now_utc());
            }
        }
    }
}

impl<'a> tracing_subscriber::fmt::MakeWriter<'a> for TraceFile {
    type Writer = TraceLine;

    fn make_writer(&'a self) -> Self::Writer {
        TraceLine(Vec::new())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn state(dir: &Path, max_bytes: u64) -> State {
        State {
            options: TraceOptions {
                dir: dir.to_owned(),
                max_bytes,
                keep_days: 2,
            },
            day: None,
            file: None,
            capped: false,
            failed_at: None,
        }
    }

    fn at(date: &str) -> OffsetDateTime {
        let format = time::macros::format_description!("[year]-[month]-[day]");
        Date::parse(date, &format).unwrap().midnight().assume_utc()
    }

    #[test]
    fn a_new_day_starts_a_new_file_and_files_older_than_the_kept_days_go() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("mom_trace_2026-11-20.log"), "old\n").unwrap();
        std::fs::write(dir.path().join("notes.log"), "not ours\n").unwrap();
        let mut s = state(dir.path(), 1 << 20);
        s.write(b"first\n", at("2026-11-30"));
        s.write(b"second\n", at("2026-12-01"));
        s.write(b"third\n", at("2026-12-01"));
        let read = |name: &str| std::fs::read_to_string(dir.path().join(name)).ok();
        assert_eq!(read("mom_trace_2026-11-30.log").as_deref(), Some("first\n"));
        assert_eq!(
            read("mom_trace_2026-12-01.log").as_deref(),
            Some("second\nthird\n")
        );
        assert_eq!(read("mom_trace_2026-11-20.log"), None, "older than 2 days");
        assert!(read("notes.log").is_some(), "other files stay");
        let mode = std::fs::metadata(dir.path().join("mom_trace_2026-12-01.log"))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o660, "the other services may append");
    }

    #[test]
    fn a_full_file_gets_one_note_and_nothing_more_that_day() {
        let dir = tempfile::tempdir().unwrap();
        let mut s = state(dir.path(), 30);
        for _ in 0..10 {
            s.write(b"0123456789\n", at("2026-12-01"));
        }
        let text = std::fs::read_to_string(dir.path().join("mom_trace_2026-12-01.log")).unwrap();
        assert!(text.starts_with("0123456789\n0123456789\n"), "{text}");
        assert_eq!(
            text.matches("reached its cap of 30 bytes").count(),
            1,
            "{text}"
        );
        assert_eq!(text.matches("0123456789").count(), 2, "{text}");
        s.write(b"next day\n", at("2026-12-02"));
        let next = std::fs::read_to_string(dir.path().join("mom_trace_2026-12-02.log")).unwrap();
        assert_eq!(next, "next day\n");
    }

    #[test]
    fn an_unwritable_folder_costs_lines_not_the_process() {
        let mut s = state(Path::new("/nonexistent/sip-dect-mom"), 1 << 20);
        s.write(b"lost\n", at("2026-12-01"));
        assert!(s.file.is_none() && s.failed_at.is_some());
    }
}
