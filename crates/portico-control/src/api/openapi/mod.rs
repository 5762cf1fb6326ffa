//! `GET /openapi.json`: the management API's own OpenAPI (3.1) document, generated from the
//! code so that it cannot drift from it. Paths come from the store's path shapes
//! ([`Kind::shapes`]): one resource path per shape, and its collection where the last segment
//! is an id; `properties` schemas come from the model types ([`kinds`]); the statuses listed
//! are those the handlers answer.
//!
//! The document is public (served without the admin token): APIM-like tooling fetches it
//! before it has credentials, and it holds nothing that is not in the source.

mod kinds;
mod operations;
mod parts;

use crate::store::Kind;
use axum::response::{IntoResponse, Response};
use http::header;
use parts::{empty, error, header, json, query, reference, string, unauthorized, with_etag};
use std::sync::LazyLock;
use utoipa::openapi::link::LinkBuilder;
use utoipa::openapi::path::{
    HttpMethod, OperationBuilder, Parameter, ParameterBuilder, ParameterIn,
};
use utoipa::openapi::request_body::RequestBodyBuilder;
use utoipa::openapi::schema::{AdditionalProperties, ArrayBuilder, ObjectBuilder, Type};
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityRequirement, SecurityScheme};
use utoipa::openapi::{
    Components, ContentBuilder, InfoBuilder, OpenApi, OpenApiBuilder, PathItem, Paths, RefOr,
    Required, Response as Answer, Schema,
};

/// The security scheme every operation but `GET /openapi.json` requires.
const BEARER: &str = "bearerAuth";

type Schemas = Vec<(String, RefOr<Schema>)>;

static DOCUMENT: LazyLock<String> = LazyLock::new(|| {
    let mut json = serde_json::to_value(document()).expect("an OpenAPI document serialises");
    camel_case_links(&mut json);
    json.to_string()
});

/// utoipa 5.5 writes a link's `operationId` as `operation_id` (its `Link` lacks serde's
/// camelCase renaming), which OpenAPI tools refuse; this renames it wherever links are.
fn camel_case_links(value: &mut serde_json::Value) {
    match value {
        serde_json::Value::Object(map) => {
            if let Some(serde_json::Value::Object(links)) = map.get_mut("links") {
                for link in links.values_mut().filter_map(|l| l.as_object_mut()) {
                    if let Some(id) = link.remove("operation_id") {
                        link.insert("operationId".into(), id);
                    }
                }
            }
            map.values_mut().for_each(camel_case_links);
        }
        serde_json::Value::Array(items) => items.iter_mut().for_each(camel_case_links),
        _ => {}
    }
}

/// `GET /openapi.json`.
pub async fn serve() -> Response {
    (
        [(header::CONTENT_TYPE, "application/json")],
        DOCUMENT.as_str(),
    )
        .into_response()
}

/// The document.
pub fn document() -> OpenApi {
    let mut schemas = Schemas::new();
    operations::schemas(&mut schemas);
    let mut paths = Paths::new();
    for (shape, kind) in Kind::shapes() {
        resource_paths(&mut paths, &mut schemas, shape, *kind);
    }
    operations::actions(&mut paths);
    operations::declarative(&mut paths);
    operations::expiring_certificates(&mut paths);
    let mut components = Components::new();
    components.add_security_scheme(
        BEARER,
        SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()),
    );
    components.schemas.extend(schemas);
    let description = "APIM-shaped resources: bodies are {\"properties\": {…}}, responses carry an \
        ETag, writes honour If-Match, errors are {\"error\": {\"code\", \"message\", \"details\"}}.";
    OpenApiBuilder::new()
        .info(
            InfoBuilder::new()
                .title("Portico management API")
                .version(env!("CARGO_PKG_VERSION"))
                .description(Some(description))
                .build(),
        )
        .paths(paths)
        .components(Some(components))
        .security(Some([SecurityRequirement::new(
            BEARER,
            Vec::<String>::new(),
        )]))
        .build()
}

/// A kind's name in schema and operation names: `gatewayApi` → `GatewayApi`.
fn pascal(kind: Kind) -> String {
    let name = kind.as_str();
    name[..1].to_ascii_uppercase() + &name[1..]
}

/// The path parameter for the id after `collection`: `apis` → `apiId`.
fn id_parameter(collection: &str) -> String {
    match collection.strip_suffix("ies") {
        Some(stem) => format!("{stem}yId"),
        None => format!("{}Id", collection.trim_end_matches('s')),
    }
}

/// The OpenAPI path of `shape` and its path parameters.
fn template(shape: &[&str]) -> (String, Vec<Parameter>) {
    let mut path = String::new();
    let mut parameters = Vec::new();
    for (i, segment) in shape.iter().enumerate() {
        if *segment != "*" {
            path = format!("{path}/{segment}");
            continue;
        }
        let name = id_parameter(shape[i.saturating_sub(1)]);
        path = format!("{path}/{{{name}}}");
        parameters.push(
            ParameterBuilder::new()
                .name(name)
                .parameter_in(ParameterIn::Path)
                .required(Required::True)
                .schema(Some(id_schema()))
                .build(),
        );
    }
    (path, parameters)
}

/// `response` with links to what the resource written makes reachable (so readers, and
/// schemathesis' stateful phase, can follow them): reading and deleting it, its actions, and
/// writing what belongs directly to it, all with the same path ids.
fn linked(mut response: Answer, shape: &[&str], kind: Kind) -> Answer {
    let (_, parameters) = template(shape);
    let name = pascal(kind);
    let mut targets = vec![format!("{name}_Get"), format!("{name}_Delete")];
    targets.extend(operations::action_ids(kind));
    for (child, child_kind) in Kind::shapes() {
        if child.len() <= shape.len() + 2 && child.len() > shape.len() && child.starts_with(shape) {
            targets.push(format!("{}_CreateOrUpdate", pascal(*child_kind)));
        }
    }
    for target in targets {
        let mut link = LinkBuilder::new().operation_id(&target);
        for p in &parameters {
            link = link.parameter(&p.name, format!("$request.path.{}", p.name));
        }
        response.links.insert(target, link.build().into());
    }
    response
}

/// What `ResourcePath::parse` accepts as an id.
fn id_schema() -> RefOr<Schema> {
    ObjectBuilder::new()
        .schema_type(Type::String)
        .min_length(Some(1))
        .max_length(Some(256))
        .pattern(Some(r"^[^\s\x00-\x1f\x7f-\x9f*#&+:<>?%\\/]+$"))
        .into()
}

/// The schemas of a kind's resources: `{Kind}Properties` (what `PUT` accepts),
/// `{Kind}CreateOrUpdateParameters` (its body), `{Kind}Contract` (what reads answer, with
/// `{Kind}ContractProperties`) and `{Kind}Collection`.
fn kind_schemas(schemas: &mut Schemas, kind: Kind) -> String {
    let name = pascal(kind);
    let kinds::KindSchemas { write, read } = kinds::of(kind);
    schemas.push((format!("{name}Properties"), write));
    schemas.push((format!("{name}ContractProperties"), read));
    let body = ObjectBuilder::new()
        .property("properties", reference(&format!("{name}Properties")))
        .additional_properties(Some(AdditionalProperties::<Schema>::FreeForm(false)));
    schemas.push((format!("{name}CreateOrUpdateParameters"), body.into()));
    let contract = ObjectBuilder::new()
        .property("id", string("The resource's path, such as /apis/echo."))
        .property("type", string(kind.as_str()))
        .property(
            "name",
            string("The resource's id: the path's last segment."),
        )
        .property(
            "properties",
            reference(&format!("{name}ContractProperties")),
        )
        .required("id")
        .required("type")
        .required("name")
        .required("properties");
    schemas.push((format!("{name}Contract"), contract.into()));
    let page = ObjectBuilder::new()
        .property(
            "value",
            ArrayBuilder::new().items(reference(&format!("{name}Contract"))),
        )
        .property(
            "nextLink",
            string("The next page, relative to the service root; absent on the last."),
        )
        .required("value");
    schemas.push((format!("{name}Collection"), page.into()));
    name
}

/// GET, PUT and DELETE on a kind's resource path; GET on its collection.
fn resource_paths(paths: &mut Paths, schemas: &mut Schemas, shape: &[&str], kind: Kind) {
    let name = kind_schemas(schemas, kind);
    let contract = reference(&format!("{name}Contract"));
    let (path, parameters) = template(shape);
    let operation = |verb: &str| {
        OperationBuilder::new()
            .operation_id(Some(format!("{name}_{verb}")))
            .tag(shape[0])
            .parameters(Some(parameters.clone()))
            .response("401", unauthorized())
    };
    let get = operation("Get")
        .response("200", with_etag(json("The resource.", contract.clone())))
        .response("400", error("The request is invalid."))
        .response("404", error("No such resource."));
    let body = ContentBuilder::new()
        .schema(Some(reference(&format!("{name}CreateOrUpdateParameters"))))
        .build();
    let stale = || error("If-Match does not match the current ETag.");
    let put = operation("CreateOrUpdate")
        .parameter(header("If-Match", "Replace only if the ETag matches (or `*`)."))
        .parameter(header("If-None-Match", "`*`: create only."))
        .request_body(Some(
            RequestBodyBuilder::new()
                .content("application/json", body)
                .required(Some(Required::False))
                .build(),
        ))
        .response("200", linked(with_etag(json("Replaced.", contract.clone())), shape, kind))
        .response("201", linked(with_etag(json("Created.", contract)), shape, kind))
        .response("400", error("Invalid properties, or a configuration they would make invalid; details name the field (and line and column inside a policy)."))
        .response("404", error("Not a resource path."))
        .response("409", error("Clashes with another resource (path, key or name), or exists already and If-None-Match is `*`."))
        .response("412", stale());
    let delete = operation("Delete")
        .parameter(header(
            "If-Match",
            "Delete only if the ETag matches (or `*`).",
        ))
        .response("200", empty("Deleted, with what belongs to it."))
        .response("400", error("The request is invalid."))
        .response("404", error("No such resource."))
        .response("409", error("Something else refers to it."))
        .response("412", stale());
    let mut item = PathItem::new(HttpMethod::Get, get);
    item.put = Some(put.build());
    item.delete = Some(delete.build());
    paths.paths.insert(path, item);

    if shape.last() == Some(&"*") {
        let (path, mut parameters) = template(&shape[..shape.len() - 1]);
        parameters.push(query(
            "$top",
            Type::Integer,
            "How many to return: at most 1000, 100 by default.",
        ));
        parameters.push(query("$skip", Type::Integer, "How many to skip."));
        let list = OperationBuilder::new()
            .operation_id(Some(format!("{name}_List")))
            .tag(shape[0])
            .parameters(Some(parameters))
            .response(
                "200",
                with_etag(json(
                    "One page of the collection.",
                    reference(&format!("{name}Collection")),
                )),
            )
            .response("400", error("$top or $skip is not a whole number."))
            .response("401", unauthorized())
            .response("404", error("Not a collection path."));
        paths
            .paths
            .insert(path, PathItem::new(HttpMethod::Get, list));
    }
}
