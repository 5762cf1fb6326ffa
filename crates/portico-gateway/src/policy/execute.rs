//! Running a [`Plan`] for one request, as APIM does: inbound, then backend (an empty backend
//! section forwards with the defaults), then outbound. `return-response`/`mock-response`
//! stop the pipeline and answer; a failure jumps to on-error with `context.LastError` set,
//! starting from the answer the failure would give; a failure there, or one no on-error
//! handles, answers with an APIM error that names no internals (details go to the log).

use super::context::{Ctx, Env};
use super::eval;
use super::failure::Failure;
use super::plan::{Action, Plan, Site, Step};
use super::state::{RequestPayload, RequestState, ResponsePayload, ResponseState};
use crate::errors::GatewayError;
use crate::exchange::Exchange;
use crate::gateway::Shared;
use crate::proxy::body::ResponseBody;
use crate::proxy::headers::ClientSide;
use bytes::Bytes;
use http::{header, HeaderName, HeaderValue, Response};
use portico_policy::{Param, Section};
use smallvec::SmallVec;
use std::sync::Arc;

/// Whether the pipeline goes on after a section.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Flow {
    Next,
    /// A `return-response` or `mock-response` answered.
    Stop,
}

/// A failure and the policy it happened in.
type Failed = (Failure, Arc<Site>);

/// One request's pipeline run.
#[derive(Debug)]
pub struct Run<'s, 'e> {
    pub st: RequestState,
    pub env: &'s Env<'e>,
    pub shared: &'s Shared,
    pub exchange: &'s mut Exchange,
    /// What forwarding needs that policies do not change.
    pub key_header: &'s HeaderName,
    pub client: ClientSide<'s>,
    pub upgrade: bool,
    pub rng: u64,
}

impl Run<'_, '_> {
    /// The expression context over this request.
    pub fn cx(&mut self) -> Ctx<'_, '_> {
        Ctx {
            st: &mut self.st,
            env: self.env,
            rng: &mut self.rng,
        }
    }

    /// Runs the pipeline and produces the answer.
    pub async fn run(mut self, plan: &Plan) -> Response<ResponseBody> {
        let response = match self.main(plan).await {
            Ok(()) => self.respond(),
            Err((failure, site)) => self.on_error(plan, failure, &site).await,
        };
        self.commit_after().await;
        response
    }

    async fn main(&mut self, plan: &Plan) -> Result<(), Failed> {
        if self.section(Section::Inbound, &plan.inbound).await? == Flow::Stop {
            return Ok(());
        }
        if plan.backend.is_empty() {
            // Boxed, as every forward in a pipeline (see `section`).
            Box::pin(self.forward(None))
                .await
                .map_err(|f| (f, default_forward_site()))?;
        } else if self.section(Section::Backend, &plan.backend).await? == Flow::Stop {
            return Ok(());
        }
        self.section(Section::Outbound, &plan.outbound).await?;
        Ok(())
    }

    /// Runs one section's steps in order, descending into the branch a `<choose>` picks.
    pub(super) async fn section(
        &mut self,
        section: Section,
        steps: &[Step],
    ) -> Result<Flow, Failed> {
        let mut stack: SmallVec<[std::slice::Iter<'_, Step>; 4]> = SmallVec::new();
        stack.push(steps.iter());
        while let Some(top) = stack.last_mut() {
            let Some(step) = top.next() else {
                stack.pop();
                continue;
            };
            let failed = |f: Failure| (f, step.site.clone());
            if step.reads_body {
                self.buffer_bodies(section).await.map_err(failed)?;
            }
            match &step.action {
                Action::Choose { whens, otherwise } => {
                    let branch = self.choose(whens, otherwise).map_err(failed)?;
                    if !branch.is_empty() {
                        stack.push(branch.iter());
                    }
                }
                // Boxed: the forwarding future is 2.6 KiB; inline, it would be part of every
                // section's and on-error's future, which are built and moved per request.
                Action::Forward(f) => Box::pin(self.forward(Some(f))).await.map_err(failed)?,
                Action::Traffic(t) => {
                    if self.traffic(t, &step.site).await.map_err(failed)? == Flow::Stop {
                        return Ok(Flow::Stop);
                    }
                }
                Action::Block(b) => {
                    if self.block(b, section, &step.site).await? == Flow::Stop {
                        return Ok(Flow::Stop);
                    }
                }
                Action::SendRequest(..)
                | Action::SendOneWay(..)
                | Action::CacheLookupValue(_)
                | Action::CacheStoreValue(_)
                | Action::CacheRemoveValue(_)
                | Action::ValidateJwt(_)
                | Action::CacheLookup(_)
                | Action::CacheStore(_)
                | Action::ManagedIdentity(_)
                | Action::ValidateClientCertificate(_) => {
                    // Boxed: these policies' futures (JWT keys, cache, calls) are large, and
                    // awaited inline they would size every request's pipeline future.
                    let dispatched = Box::pin(self.dispatch(&step.action, section)).await;
                    if dispatched.map_err(failed)? == Flow::Stop {
                        return Ok(Flow::Stop);
                    }
                }
                action => {
                    if self.apply(action, section, &step.site).map_err(failed)? == Flow::Stop {
                        return Ok(Flow::Stop);
                    }
                }
            }
        }
        Ok(Flow::Next)
    }

    /// The branch of a `<choose>` whose condition holds first.
    fn choose<'p>(
        &mut self,
        whens: &'p [(Param<bool>, Vec<Step>)],
        otherwise: &'p [Step],
    ) -> Result<&'p [Step], Failure> {
        for (condition, branch) in whens {
            if eval::param(condition, &mut self.cx())? {
                return Ok(branch);
            }
        }
        Ok(otherwise)
    }

    /// Brings the bodies a policy of `section` may read into memory.
    pub(super) async fn buffer_bodies(&mut self, section: Section) -> Result<(), Failure> {
        if matches!(section, Section::Outbound | Section::OnError) {
            if let Some(r) = &mut self.st.response {
                r.buffer().await.map_err(|e| Failure::body(e, false))?;
            }
        }
        // Still a stream in outbound only when it was never sent (a failure before forwarding).
        self.st
            .body
            .buffer()
            .await
            .map_err(|e| Failure::body(e, true))?;
        Ok(())
    }

    /// Answers a failure: on-error when there is one, else the failure's own answer.
    async fn on_error(
        &mut self,
        plan: &Plan,
        failure: Failure,
        site: &Site,
    ) -> Response<ResponseBody> {
        self.exchange.error = Some(failure.answer.reason());
        if let Some(reason) = failure.answer.backend_reason() {
            let api = &self.exchange.route.api;
            self.shared
                .telemetry
                .metrics
                .record_backend_error(api, reason);
        }
        log_failure(&self.exchange.request_id, &failure, site, "policy failed");
        if plan.on_error.is_empty() {
            return failure.answer.into_response();
        }
        self.st.last_error = Some(failure.last_error(site));
        self.st.response = Some(error_state(&failure.answer));
        match self.section(Section::OnError, &plan.on_error).await {
            Ok(_) => self.respond(),
            Err((inner, site)) => {
                log_failure(&self.exchange.request_id, &inner, &site, "on-error failed");
                GatewayError::PolicyFailed.into_response()
            }
        }
    }

    /// The response as the pipeline left it.
    fn respond(&mut self) -> Response<ResponseBody> {
        self.settle_after();
        let Some(r) = self.st.response.take() else {
            // A backend section that never forwarded, and nothing answered.
            return Response::new(ResponseBody::empty());
        };
        let body = match r.body {
            ResponsePayload::Stream(b) => b,
            ResponsePayload::Buffered(b) => ResponseBody::full(b),
        };
        let mut resp = Response::new(body);
        *resp.status_mut() = r.status;
        *resp.headers_mut() = r.headers;
        if let Some(reason) = r
            .reason
            .and_then(|r| hyper::ext::ReasonPhrase::try_from(r.into_bytes()).ok())
        {
            resp.extensions_mut().insert(reason);
        }
        self.after_headers(resp.headers_mut());
        resp
    }
}

/// The body a policy wrote: bytes, with `Content-Length` to match.
pub fn set_length(headers: &mut http::HeaderMap, len: usize) {
    headers.remove(header::TRANSFER_ENCODING);
    headers.insert(header::CONTENT_LENGTH, HeaderValue::from(len));
}

/// The response a failure answers with, as a starting point for on-error.
fn error_state(answer: &GatewayError) -> ResponseState {
    let (parts, body) = answer.clone().into_response().into_parts();
    let mut r = ResponseState::new(parts.status);
    r.headers = parts.headers;
    // The error body is small and in memory; read it back for on-error to see or replace.
    r.body = ResponsePayload::Buffered(body.full_bytes().unwrap_or_else(Bytes::new));
    r
}

/// Where a failure of the default forwarding (an empty backend section) is reported.
fn default_forward_site() -> Arc<Site> {
    Arc::new(Site {
        policy: "forward-request",
        section: Section::Backend,
        scope: Arc::from("default backend section"),
        path: "backend/forward-request[1]".into(),
        policy_id: "default backend section".into(),
        secret: false,
    })
}

/// Logs a failure; a policy holding a secret gets its message left out.
fn log_failure(request_id: &HeaderValue, f: &Failure, site: &Site, what: &str) {
    let message = if site.secret {
        "(withheld: the policy holds a secret)"
    } else {
        &f.message
    };
    tracing::warn!(
        request_id = ?request_id,
        policy = site.policy,
        path = &*site.path,
        at = &*site.policy_id,
        reason = f.reason,
        message,
        "{what}"
    );
}

impl RequestPayload {
    /// Takes the body to send on, leaving an empty one behind.
    pub fn take(&mut self) -> RequestPayload {
        std::mem::replace(self, RequestPayload::Buffered(Bytes::new()))
    }
}
