//! The operations that are not plain resources: the `POST` actions (`actions`), `/apply` and
//! `/export` (`apply`) and `/openapi.json` itself, with the schemas only they use.

use super::parts::{empty, error, json, query, reference, unauthorized, with_etag};
use super::template;
use crate::api::actions::{KeyRequest, TokenRequest};
use crate::api::apply::PlannedChange;
use crate::distributor::expiry::ExpiringCertificates;
use crate::store::Kind;
use utoipa::openapi::path::{HttpMethod, OperationBuilder};
use utoipa::openapi::request_body::RequestBodyBuilder;
use utoipa::openapi::schema::{ObjectBuilder, Type};
use utoipa::openapi::{ContentBuilder, PathItem, Paths, RefOr, Required, Schema};
use utoipa::ToSchema;

/// The schemas below, with those they refer to.
pub fn schemas(out: &mut Vec<(String, RefOr<Schema>)>) {
    <ErrorResponse as ToSchema>::schemas(out);
    <ApplyResult as ToSchema>::schemas(out);
    <TokenRequest as ToSchema>::schemas(out);
    <portico_model::Document as ToSchema>::schemas(out);
    named::<ErrorResponse>(out);
    named::<ApplyResult>(out);
    named::<SubscriptionKeys>(out);
    named::<ValueResponse>(out);
    named::<TokenRequest>(out);
    named::<KeyRequest>(out);
    named::<portico_model::Document>(out);
    <ExpiringCertificates as ToSchema>::schemas(out);
    named::<ExpiringCertificates>(out);
}

fn named<T: ToSchema>(out: &mut Vec<(String, RefOr<Schema>)>) {
    out.push((T::name().into_owned(), T::schema()));
}

/// What an action answers.
enum Answer {
    Json(&'static str),
    NoContent,
}

/// The `POST` actions `actions::post` dispatches: (kind, action, request schema, answer).
const ACTIONS: &[(Kind, &str, Option<&str>, Answer)] = &[
    (
        Kind::Subscription,
        "listSecrets",
        None,
        Answer::Json("SubscriptionKeys"),
    ),
    (
        Kind::Subscription,
        "regeneratePrimaryKey",
        None,
        Answer::NoContent,
    ),
    (
        Kind::Subscription,
        "regenerateSecondaryKey",
        None,
        Answer::NoContent,
    ),
    (
        Kind::NamedValue,
        "listValue",
        None,
        Answer::Json("ValueResponse"),
    ),
    (
        Kind::Gateway,
        "generateToken",
        Some("TokenRequest"),
        Answer::Json("ValueResponse"),
    ),
    (
        Kind::Gateway,
        "regenerateKey",
        Some("KeyRequest"),
        Answer::NoContent,
    ),
];

/// The operation ids of `kind`'s actions.
pub fn action_ids(kind: Kind) -> impl Iterator<Item = String> {
    ACTIONS
        .iter()
        .filter(move |(k, ..)| *k == kind)
        .map(move |(_, action, ..)| action_id(kind, action))
}

fn action_id(kind: Kind, action: &str) -> String {
    format!("{}_{action}", super::pascal(kind))
}

pub fn actions(paths: &mut Paths) {
    for (kind, action, request, answer) in ACTIONS {
        let Some((shape, _)) = Kind::shapes().iter().find(|(_, k)| k == kind) else {
            continue;
        };
        let (path, parameters) = template(shape);
        let mut op = OperationBuilder::new()
            .operation_id(Some(action_id(*kind, action)))
            .tag(shape[0])
            .parameters(Some(parameters))
            .response("401", unauthorized())
            .response("404", error("No such resource."));
        op = match answer {
            Answer::Json(schema) => {
                op.response("200", json("The answer.", reference(schema)).build())
            }
            Answer::NoContent => op
                .response("204", empty("Replaced by a new random key."))
                .response("409", error("The resource kept changing; retry.")),
        };
        if let Some(schema) = request {
            op = op
                .request_body(Some(body(schema)))
                .response("400", error("The body is invalid."));
        }
        paths.paths.insert(
            format!("{path}/{action}"),
            PathItem::new(HttpMethod::Post, op),
        );
    }
}

fn body(schema: &str) -> utoipa::openapi::request_body::RequestBody {
    RequestBodyBuilder::new()
        .content(
            "application/json",
            ContentBuilder::new()
                .schema(Some(reference(schema)))
                .build(),
        )
        .required(Some(Required::True))
        .build()
}

/// `GET /expiringCertificates`.
pub fn expiring_certificates(paths: &mut Paths) {
    let expiring = OperationBuilder::new()
        .operation_id(Some("ExpiringCertificates"))
        .tag("certificates")
        .description(Some(
            "Certificates expiring within withinDays days (default 30, at most 3650), soonest first, with the gateway hostnames configured to serve each.",
        ))
        .parameter(query("withinDays", Type::Integer, "Days ahead to look."))
        .response(
            "200",
            json("The certificates.", reference("ExpiringCertificates")).build(),
        )
        .response("400", error("withinDays is not a whole number of days up to 3650."))
        .response("401", unauthorized());
    paths.paths.insert(
        "/expiringCertificates".into(),
        PathItem::new(HttpMethod::Get, expiring),
    );
}

/// `POST /apply`, `GET /export` and `GET /openapi.json`.
pub fn declarative(paths: &mut Paths) {
    let invalid = || error("The document is invalid; details name each problem.");
    let apply = OperationBuilder::new()
        .operation_id(Some("Apply"))
        .tag("declarative")
        .description(Some("Makes the configuration match a declarative document, in one revision."))
        .parameter(query("prune", Type::Boolean, "Delete what the document does not hold."))
        .parameter(query("dryRun", Type::Boolean, "Only say what would change."))
        .request_body(Some(body("Document")))
        .response("200", json("What changed (or would).", reference("ApplyResult")).build())
        .response("400", invalid())
        .response("401", unauthorized())
        .response("409", error("The document clashes (duplicate paths, keys or names), or other changes kept landing."));
    paths
        .paths
        .insert("/apply".into(), PathItem::new(HttpMethod::Post, apply));
    let export = OperationBuilder::new()
        .operation_id(Some("Export"))
        .tag("declarative")
        .description(Some(
            "The whole configuration as a declarative document, secrets included.",
        ))
        .response(
            "200",
            with_etag(json("The document.", reference("Document"))),
        )
        .response("400", invalid())
        .response("401", unauthorized());
    paths
        .paths
        .insert("/export".into(), PathItem::new(HttpMethod::Get, export));
    let openapi = OperationBuilder::new()
        .operation_id(Some("OpenApi"))
        .tag("openapi")
        .description(Some("This document; needs no token."))
        .securities(Some([]))
        .response(
            "200",
            json("The OpenAPI document.", openapi_object()).build(),
        );
    paths.paths.insert(
        "/openapi.json".into(),
        PathItem::new(HttpMethod::Get, openapi),
    );
}

fn openapi_object() -> RefOr<Schema> {
    ObjectBuilder::new()
        .schema_type(Type::Object)
        .required("openapi")
        .required("paths")
        .into()
}

/// An error as `ApiError` writes it.
#[derive(ToSchema)]
#[allow(dead_code)] // Describes the JSON `ApiError` builds; never constructed.
struct ErrorResponse {
    error: ErrorBody,
}

#[derive(ToSchema)]
#[allow(dead_code)]
struct ErrorBody {
    code: String,
    message: String,
    details: Vec<ErrorDetail>,
}

/// One problem: where (`target`, a field path) and, inside a policy, line and column.
#[derive(ToSchema)]
#[allow(dead_code)]
struct ErrorDetail {
    code: String,
    target: String,
    message: String,
    #[schema(required = false)]
    line: usize,
    #[schema(required = false)]
    column: usize,
}

/// `POST /apply`'s answer.
#[derive(ToSchema)]
#[serde(rename_all = "camelCase")]
#[allow(dead_code)]
struct ApplyResult {
    dry_run: bool,
    /// The revision committed, or the current one when nothing changed or on a dry run.
    revision: u64,
    changes: Vec<PlannedChange>,
}

/// `listSecrets`' answer.
#[derive(ToSchema)]
#[serde(rename_all = "camelCase")]
#[allow(dead_code)]
struct SubscriptionKeys {
    primary_key: String,
    secondary_key: String,
}

/// `listValue`'s and `generateToken`'s answer.
#[derive(ToSchema)]
#[allow(dead_code)]
struct ValueResponse {
    value: String,
}
