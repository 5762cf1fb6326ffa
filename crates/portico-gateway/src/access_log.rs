//! The JSON access log: one line per request on standard output, written by a dedicated
//! thread so a slow terminal or pipe never stalls a request. If the writer falls behind by
//! more than [`QUEUE_LINES`] lines, new lines are dropped and counted rather than queued
//! without bound.

use serde::Serialize;
use std::io::Write;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{channel, sync_channel, Receiver, SyncSender, TrySendError};
use std::time::Duration;

const QUEUE_LINES: usize = 65_536;

/// One access-log record. Never holds a subscription key or a query string.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct AccessRecord<'a> {
    pub time: String,
    pub request_id: &'a str,
    pub client_ip: String,
    pub method: &'a str,
    pub path: &'a str,
    pub status: u16,
    pub api: Option<&'a str>,
    pub operation: Option<&'a str>,
    pub product: Option<&'a str>,
    pub subscription: Option<&'a str>,
    pub duration_ms: f64,
    pub backend_ms: Option<f64>,
    pub bytes_in: u64,
    pub bytes_out: u64,
    pub error: Option<&'static str>,
}

/// What the writer thread receives.
#[derive(Debug)]
enum Message {
    Line(String),
    /// Write everything queued before this, flush, then answer.
    Flush(std::sync::mpsc::Sender<()>),
}

/// Where access-log lines go.
#[derive(Debug)]
pub struct AccessLog {
    lines: SyncSender<Message>,
    dropped: AtomicU64,
}

impl AccessLog {
    /// Starts the writer thread on standard output.
    pub fn stdout() -> Self {
        Self::to_writer(std::io::stdout())
    }

    /// Starts the writer thread on any writer (tests use a pipe or buffer).
    pub fn to_writer(out: impl Write + Send + 'static) -> Self {
        let (lines, rx) = sync_channel(QUEUE_LINES);
        std::thread::Builder::new()
            .name("portico-access-log".into())
            .spawn(move || write_lines(rx, out))
            .expect("spawning the access-log thread");
        Self {
            lines,
            dropped: AtomicU64::new(0),
        }
    }

    /// Queues one record.
    pub fn write(&self, record: &AccessRecord<'_>) {
        let Ok(mut line) = serde_json::to_string(record) else {
            return;
        };
        line.push('\n');
        if let Err(TrySendError::Full(_)) = self.lines.try_send(Message::Line(line)) {
            if self.dropped.fetch_add(1, Ordering::Relaxed) == 0 {
                tracing::warn!("access log writer is behind; dropping lines");
            }
        }
    }

    /// Waits (up to `limit`) until every line queued so far is written: called before the
    /// process exits so the last requests' lines are not lost.
    pub fn flush(&self, limit: Duration) {
        let (done, wait) = channel();
        if self.lines.send(Message::Flush(done)).is_ok() {
            let _ = wait.recv_timeout(limit);
        }
    }
}

fn write_lines(rx: Receiver<Message>, out: impl Write) {
    let mut out = std::io::BufWriter::with_capacity(64 * 1024, out);
    let mut waiting = Vec::new();
    while let Ok(first) = rx.recv() {
        // Take whatever else is queued too, then flush once.
        for message in std::iter::once(first).chain(std::iter::from_fn(|| rx.try_recv().ok())) {
            match message {
                Message::Line(line) => {
                    let _ = out.write_all(line.as_bytes());
                }
                Message::Flush(done) => waiting.push(done),
            }
        }
        let _ = out.flush();
        for done in waiting.drain(..) {
            let _ = done.send(());
        }
    }
}
