//! Where the handler hands a request to its pipeline: the request state and the [`Env`]
//! are built from what routing found, then [`Run::run`](super::execute::Run) answers. Only
//! requests whose route has a plan come here.

use super::context::Env;
use super::execute::Run;
use super::plan::Plan;
use super::state::{RequestPayload, RequestState};
use crate::exchange::Exchange;
use crate::gateway::Shared;
use crate::handler::{Connection, MatchedRoute};
use crate::proxy::body::ResponseBody;
use crate::proxy::headers::ClientSide;
use crate::runtime::{Params, Runtime};
use http::{header, Request, Response};
use hyper::body::Incoming;
use std::time::{Instant, SystemTime};

/// What routing learned about the request, for the pipeline.
#[derive(Debug)]
pub struct Routed<'a> {
    pub route: &'a MatchedRoute<'a>,
    /// The path after the API's path.
    pub suffix: &'a str,
    /// The query to forward (subscription key removed).
    pub query: Option<&'a str>,
    pub client: ClientSide<'a>,
    pub upgrade: bool,
    pub started: Instant,
}

/// Runs `plan` for `req` and answers.
pub async fn run(
    shared: &Shared,
    rt: &Runtime,
    conn: &Connection,
    mut req: Request<Incoming>,
    routed: Routed<'_>,
    plan: &Plan,
    exchange: &mut Exchange,
) -> Response<ResponseBody> {
    let route = routed.route;
    let api = route.api;
    let upgrade = routed.upgrade.then(|| hyper::upgrade::on(&mut req));
    let (parts, body) = req.into_parts();
    let mut params = Vec::new();
    if plan.needs_params {
        let mut found = Params::new();
        api.operations
            .find_capturing(&parts.method, routed.suffix, parts.uri.query(), &mut found);
        params.extend(found.iter().map(|(n, v)| (Box::from(*n), Box::from(*v))));
    }
    let subscription_key = route.admission.subscription.and_then(|_| {
        let from_header = parts
            .headers
            .get(&api.key_header)
            .and_then(|v| v.to_str().ok());
        from_header
            .map(str::to_owned)
            .or_else(|| {
                crate::query::find(parts.uri.query()?, &api.key_query).map(|k| k.into_owned())
            })
            .map(portico_model::Secret::new)
    });
    let env = Env {
        api: &api.policies.info,
        operation: &api.policies.info.operations[route.operation],
        snapshot: &rt.policy_info,
        product: route.admission.product,
        subscription: route
            .admission
            .subscription
            .map(|s| (s, rt.subscriptions.get(s).id.clone())),
        subscription_key,
        original_host: parts
            .headers
            .get(header::HOST)
            .cloned()
            .or_else(|| parts.uri.authority().and_then(|a| a.as_str().parse().ok())),
        original_uri: parts.uri.clone(),
        tls: conn.tls,
        client_certificate: conn.client_certificate.clone(),
        client_ip: &conn.client_ip,
        request_id: exchange.request_id.clone(),
        received: SystemTime::now() - routed.started.elapsed(),
        started: routed.started,
        clock: SystemTime::now,
    };
    // Built inside the await, not in `let`s: a moved-from local still takes room in this
    // function's future, which is boxed and moved per request.
    Run {
        rng: seed(&exchange.request_id, routed.started),
        st: RequestState {
            method: parts.method,
            headers: parts.headers,
            body: RequestPayload::Stream(body),
            path: routed.suffix.to_owned(),
            query: routed.query.map(str::to_owned),
            backend: api.backend.clone(),
            params,
            variables: Vec::new(),
            response: None,
            last_error: None,
            cache_miss: None,
            after: None,
            upgrade,
            backend_certificate: None,
        },
        env: &env,
        shared,
        exchange,
        key_header: &api.key_header,
        client: routed.client,
        upgrade: routed.upgrade,
    }
    .run(plan)
    .await
}

/// A per-request seed for `new Random()` and `Guid.NewGuid()`.
fn seed(request_id: &http::HeaderValue, started: Instant) -> u64 {
    use std::hash::{BuildHasher, Hash, Hasher};
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    request_id.as_bytes().hash(&mut h);
    started.hash(&mut h);
    h.finish()
}
