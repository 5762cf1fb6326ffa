//! The JSON access log: one line per request on standard output, written by a dedicated
//! thread so a slow terminal or pipe never stalls a request. If the writer falls behind by
//! more than [`QUEUE_LINES`] lines, new lines are dropped (with one warning in the log) rather than queued
//! without bound. The writer wakes on a short timer rather than per line, so logging costs
//! requests no wake-up system call.

mod record;

pub use record::AccessRecord;
use std::io::Write;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{channel, sync_channel, Receiver, SyncSender, TryRecvError, TrySendError};
use std::time::Duration;

const QUEUE_LINES: usize = 65_536;

/// How long the writer sleeps when it finds nothing queued.
const WRITER_PAUSE: Duration = Duration::from_millis(20);

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
        let line = record.to_json_line();
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
    loop {
        let mut wrote = false;
        loop {
            match rx.try_recv() {
                Ok(Message::Line(line)) => {
                    let _ = out.write_all(line.as_bytes());
                    wrote = true;
                }
                Ok(Message::Flush(done)) => waiting.push(done),
                Err(TryRecvError::Empty) => break,
                Err(TryRecvError::Disconnected) => {
                    let _ = out.flush();
                    return;
                }
            }
        }
        if wrote {
            let _ = out.flush();
        }
        for done in waiting.drain(..) {
            let _ = done.send(());
        }
        // Sleeping (rather than blocking on the channel) means senders never have to wake
        // this thread: lines wait at most this long to be written.
        std::thread::sleep(WRITER_PAUSE);
    }
}
