//! Body types of the proxy. Bodies stream frame by frame in both directions; nothing here
//! buffers. [`ResponseBody`] also finishes the request's [`Exchange`] (metrics and access log)
//! when it is dropped, which is when the last byte was sent or the client went away.

use crate::exchange::Exchange;
use crate::proxy::pool::Lease;
use bytes::Bytes;
use http_body::{Body, Frame, SizeHint};
use hyper::body::Incoming;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::task::{ready, Context, Poll};

/// A client's request body on its way to the backend, counting the bytes it carries: the
/// client's stream, or bytes a policy buffered or wrote.
#[derive(Debug)]
pub struct RequestBody {
    inner: RequestContent,
    bytes: Arc<AtomicU64>,
}

#[derive(Debug)]
enum RequestContent {
    Stream(Incoming),
    Full(Option<Bytes>),
}

impl RequestBody {
    pub fn new(inner: Incoming, bytes: Arc<AtomicU64>) -> Self {
        Self {
            inner: RequestContent::Stream(inner),
            bytes,
        }
    }

    /// A body already in memory (buffered or set by a policy).
    pub fn full(data: Bytes, bytes: Arc<AtomicU64>) -> Self {
        let data = (!data.is_empty()).then_some(data);
        Self {
            inner: RequestContent::Full(data),
            bytes,
        }
    }
}

impl Body for RequestBody {
    type Data = Bytes;
    type Error = hyper::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, hyper::Error>>> {
        let frame = match &mut self.inner {
            RequestContent::Stream(body) => ready!(Pin::new(body).poll_frame(cx)),
            RequestContent::Full(data) => data.take().map(|d| Ok(Frame::data(d))),
        };
        if let Some(Ok(f)) = &frame {
            if let Some(data) = f.data_ref() {
                self.bytes.fetch_add(data.len() as u64, Ordering::Relaxed);
            }
        }
        Poll::Ready(frame)
    }

    fn is_end_stream(&self) -> bool {
        match &self.inner {
            RequestContent::Stream(body) => body.is_end_stream(),
            RequestContent::Full(data) => data.is_none(),
        }
    }

    fn size_hint(&self) -> SizeHint {
        match &self.inner {
            RequestContent::Stream(body) => body.size_hint(),
            RequestContent::Full(data) => {
                SizeHint::with_exact(data.as_ref().map_or(0, |d| d.len() as u64))
            }
        }
    }
}

/// What a response carries: nothing, a small body the gateway made, or the backend's stream.
#[derive(Debug)]
enum Content {
    Empty,
    Full(Option<Bytes>),
    Upstream(Incoming),
}

/// A response body on its way to the client. When it came from a pooled HTTP/1.1
/// connection and was read to its end, dropping it returns the connection to the pool.
#[derive(Debug)]
pub struct ResponseBody {
    content: Content,
    bytes: u64,
    ended: bool,
    lease: Option<Lease>,
    exchange: Option<Box<Exchange>>,
}

impl ResponseBody {
    pub fn empty() -> Self {
        Self::from_content(Content::Empty)
    }

    pub fn full(bytes: impl Into<Bytes>) -> Self {
        Self::from_content(Content::Full(Some(bytes.into())))
    }

    /// A backend's body; `lease` is its connection, returned once the body is complete.
    pub fn upstream(body: Incoming, lease: Option<Lease>) -> Self {
        let mut b = Self::from_content(Content::Upstream(body));
        b.lease = lease;
        b
    }

    fn from_content(content: Content) -> Self {
        Self {
            content,
            bytes: 0,
            ended: false,
            lease: None,
            exchange: None,
        }
    }

    /// The bytes of a body the gateway made itself; `None` for a backend's stream.
    pub fn full_bytes(&self) -> Option<Bytes> {
        match &self.content {
            Content::Empty => Some(Bytes::new()),
            Content::Full(data) => Some(data.clone().unwrap_or_default()),
            Content::Upstream(_) => None,
        }
    }

    /// Attaches the exchange to finish when this body is done.
    pub fn finishing(mut self, exchange: Box<Exchange>) -> Self {
        self.exchange = Some(exchange);
        self
    }
}

impl Body for ResponseBody {
    type Data = Bytes;
    type Error = hyper::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, hyper::Error>>> {
        let frame = match &mut self.content {
            Content::Empty => None,
            Content::Full(data) => data.take().map(|d| Ok(Frame::data(d))),
            Content::Upstream(body) => ready!(Pin::new(body).poll_frame(cx)),
        };
        if frame.is_none() {
            self.ended = true;
        }
        if let Some(Ok(f)) = &frame {
            if let Some(data) = f.data_ref() {
                self.bytes += data.len() as u64;
            }
        }
        Poll::Ready(frame)
    }

    fn is_end_stream(&self) -> bool {
        match &self.content {
            Content::Empty => true,
            Content::Full(data) => data.is_none(),
            Content::Upstream(body) => body.is_end_stream(),
        }
    }

    fn size_hint(&self) -> SizeHint {
        match &self.content {
            Content::Empty => SizeHint::with_exact(0),
            Content::Full(data) => {
                SizeHint::with_exact(data.as_ref().map_or(0, |d| d.len() as u64))
            }
            Content::Upstream(body) => body.size_hint(),
        }
    }
}

impl Drop for ResponseBody {
    fn drop(&mut self) {
        if let Some(lease) = self.lease.take() {
            // A body abandoned midway leaves its connection unusable: let it close.
            if self.ended || self.is_end_stream() {
                lease.release();
            }
        }
        let complete = self.ended || self.is_end_stream();
        if let Some(mut exchange) = self.exchange.take() {
            exchange.bytes_out = self.bytes;
            if !complete && exchange.error.is_none() {
                // The client (or the backend) went away mid-body.
                exchange.error = Some("response_incomplete");
            }
        }
    }
}
