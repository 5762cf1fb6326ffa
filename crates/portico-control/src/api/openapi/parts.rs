//! Small builders the document's operations share: responses (JSON, with the `ETag` header,
//! errors), parameters and plain string schemas.

use utoipa::openapi::path::{Parameter, ParameterBuilder, ParameterIn};
use utoipa::openapi::schema::{ObjectBuilder, Type};
use utoipa::openapi::{
    ContentBuilder, HeaderBuilder, Ref, RefOr, Required, Response, ResponseBuilder, Schema,
};

/// The name of the error schema every failure answers with.
pub const ERROR: &str = "ErrorResponse";

pub fn reference(name: &str) -> RefOr<Schema> {
    RefOr::Ref(Ref::from_schema_name(name))
}

pub fn string(description: &str) -> RefOr<Schema> {
    ObjectBuilder::new()
        .schema_type(Type::String)
        .description(Some(description))
        .into()
}

/// A JSON response.
pub fn json(description: &str, schema: RefOr<Schema>) -> ResponseBuilder {
    ResponseBuilder::new().description(description).content(
        "application/json",
        ContentBuilder::new().schema(Some(schema)).build(),
    )
}

/// A JSON response that carries the resource's (or the collection's revision) `ETag`.
pub fn with_etag(response: ResponseBuilder) -> Response {
    response
        .header(
            "ETag",
            HeaderBuilder::new()
                .schema(
                    ObjectBuilder::new()
                        .schema_type(Type::String)
                        .pattern(Some("^\"[0-9]+\"$")),
                )
                .description(Some("The revision that last changed it, quoted."))
                .build(),
        )
        .build()
}

/// A response without a body.
pub fn empty(description: &str) -> Response {
    ResponseBuilder::new().description(description).build()
}

/// An error response: `{"error": {"code", "message", "details"}}`.
pub fn error(description: &str) -> Response {
    json(description, reference(ERROR)).build()
}

/// Every operation but `GET /openapi.json` answers this without the admin token.
pub fn unauthorized() -> Response {
    error("The admin token is missing or wrong (`Authorization: Bearer TOKEN`).")
}

fn parameter(
    name: &str,
    place: ParameterIn,
    description: &str,
    schema: RefOr<Schema>,
) -> Parameter {
    ParameterBuilder::new()
        .name(name)
        .parameter_in(place)
        .required(Required::False)
        .description(Some(description))
        .schema(Some(schema))
        .build()
}

pub fn header(name: &str, description: &str) -> Parameter {
    parameter(name, ParameterIn::Header, description, string(description))
}

/// An optional query parameter of type `type`.
pub fn query(name: &str, r#type: Type, description: &str) -> Parameter {
    let integer = r#type == Type::Integer;
    let mut schema = ObjectBuilder::new().schema_type(r#type);
    if integer {
        schema = schema
            .format(Some(utoipa::openapi::SchemaFormat::KnownFormat(
                utoipa::openapi::KnownFormat::Int64,
            )))
            .minimum(Some(0));
    }
    parameter(name, ParameterIn::Query, description, schema.into())
}
