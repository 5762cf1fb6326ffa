//! What traffic policies leave for the end of a request: headers for the response
//! (remaining calls, CORS), counts whose `increment-condition` reads the response, and
//! bandwidth quotas, which need the message sizes. Requests whose policies leave nothing
//! never allocate any of this.

use super::counters::{Counters, Window};
use super::eval::param;
use super::execute::Run;
use super::state::ResponsePayload;
use crate::exchange::ByteTally;
use http::{header, HeaderMap, HeaderName, HeaderValue};
use portico_policy::Param;
use std::sync::atomic::Ordering;
use std::sync::Arc;

/// One request's leftovers.
#[derive(Debug, Default)]
pub struct After {
    pub headers: Vec<(HeaderName, HeaderValue)>,
    pending: Vec<Pending>,
    /// Counts to add once the answer is known: key, window, amount.
    settled: Vec<(String, Window, u64)>,
}

#[derive(Debug)]
enum Pending {
    /// `increment-condition`: counted only when it holds for the response.
    Count {
        key: String,
        window: Window,
        cost: u64,
        condition: Param<bool>,
    },
    /// A bandwidth quota: counts the request's and response's bytes.
    Bytes { key: String, window: Window },
}

impl Run<'_, '_> {
    fn after(&mut self) -> &mut After {
        self.st.after.get_or_insert_with(Default::default)
    }

    /// A header for the response, whatever answers.
    pub(super) fn after_header(&mut self, name: HeaderName, value: HeaderValue) {
        self.after().headers.push((name, value));
    }

    pub(super) fn count_if(&mut self, key: String, window: Window, cost: u64, c: &Param<bool>) {
        let condition = c.clone();
        self.after().pending.push(Pending::Count {
            key,
            window,
            cost,
            condition,
        });
    }

    pub(super) fn count_bytes(&mut self, key: String, window: Window) {
        self.after().pending.push(Pending::Bytes { key, window });
    }

    /// Evaluates what depends on the response while it is still in the state (just before
    /// it becomes the answer). A condition that fails to evaluate counts nothing.
    pub(super) fn settle_after(&mut self) {
        let Some(after) = self.st.after.as_mut() else {
            return;
        };
        let pending = std::mem::take(&mut after.pending);
        let mut unknown_length = Vec::new();
        for p in pending {
            match p {
                Pending::Count {
                    key,
                    window,
                    cost,
                    condition,
                } => match param(&condition, &mut self.cx()) {
                    Ok(true) => self.after().settled.push((key, window, cost)),
                    Ok(false) => {}
                    Err(f) => tracing::warn!(message = f.message, "increment-condition failed"),
                },
                Pending::Bytes { key, window } => match self.response_len() {
                    Some(len) => {
                        let bytes = self.exchange.bytes_in.load(Ordering::Relaxed) + len;
                        self.after().settled.push((key, window, bytes));
                    }
                    None => unknown_length.push((key, window)),
                },
            }
        }
        if !unknown_length.is_empty() {
            self.exchange.tally = Some(count_streamed_bytes(
                self.shared.counters.clone(),
                unknown_length,
            ));
        }
    }

    /// The response body's size: buffered, or as its `Content-Length` announces; `None` for
    /// a stream of unknown length (chunked, or HTTP/2 without the header).
    fn response_len(&self) -> Option<u64> {
        let Some(r) = &self.st.response else {
            return Some(0);
        };
        match &r.body {
            ResponsePayload::Buffered(b) => Some(b.len() as u64),
            ResponsePayload::Stream(_) => r
                .headers
                .get(header::CONTENT_LENGTH)
                .and_then(|v| v.to_str().ok()?.parse().ok()),
        }
    }

    /// Adds the response headers policies asked for.
    pub(super) fn after_headers(&self, headers: &mut HeaderMap) {
        if let Some(after) = &self.st.after {
            for (n, v) in &after.headers {
                headers.insert(n.clone(), v.clone());
            }
        }
    }

    /// Adds the settled counts to the store.
    pub(super) async fn commit_after(&mut self) {
        let Some(after) = self.st.after.as_mut() else {
            return;
        };
        add_counts(&self.shared.counters, std::mem::take(&mut after.settled)).await;
    }
}

/// Adds counts after the answer has gone: a count that cannot be kept (Redis unavailable,
/// failing closed) is lost rather than refused.
async fn add_counts(counters: &Counters, counts: Vec<(String, Window, u64)>) {
    for (key, window, cost) in counts {
        let _ = counters.increment(&key, window, u64::MAX, cost).await;
    }
}

/// Bandwidth quotas over a response of unknown length: counted with the request's and
/// response's bytes once the exchange ends (the last byte sent, or the client gone).
fn count_streamed_bytes(counters: Arc<Counters>, keys: Vec<(String, Window)>) -> ByteTally {
    ByteTally::new(move |bytes| {
        let counts = keys.into_iter().map(|(k, w)| (k, w, bytes)).collect();
        match tokio::runtime::Handle::try_current() {
            Ok(runtime) => drop(runtime.spawn(async move { add_counts(&counters, counts).await })),
            // Only an exchange dropped with the runtime itself (shutdown) gets here.
            Err(_) => tracing::debug!("streamed bytes not counted: the runtime has stopped"),
        }
    })
}
