//! The `properties` schemas of each resource kind, derived from the model types
//! (`portico-model`'s `ToSchema` derives): what `PUT` accepts and what reads show.
//!
//! Both start from the declarative entry without its `id` (the path's last segment) and
//! without the fields that are resources of their own ([`separate_fields`], the same list
//! the API enforces). Reads then differ where `secrets` makes them differ: keys and
//! certificate material are never shown, a secret named value's `value` is left out, and a
//! certificate shows its subject, thumbprint and expiration date instead.

use crate::declarative::{separate_fields, POLICY_FORMAT};
use crate::store::Kind;
use portico_model as model;
use utoipa::openapi::schema::{AdditionalProperties, Object, ObjectBuilder, Schema, Type};
use utoipa::openapi::{OneOfBuilder, RefOr};
use utoipa::PartialSchema;

/// A kind's `properties`: in `PUT` bodies, and in what reads answer.
pub struct KindSchemas {
    pub write: RefOr<Schema>,
    pub read: RefOr<Schema>,
}

/// Fields that name files relative to a declarative document: loaders replace them with the
/// files' contents, so over REST they are always refused.
const FILE_FIELDS: &[&str] = &["policyFile", "valueFile", "pfxFile", "pemFile", "keyFile"];

/// The schemas of `kind`. Matching every kind here means a new kind cannot be left out.
pub fn of(kind: Kind) -> KindSchemas {
    match kind {
        Kind::Api => {
            let properties = entry::<model::Api>(kind);
            KindSchemas {
                write: api_or_import(properties.clone()),
                read: properties.into(),
            }
        }
        Kind::Operation => same(entry::<model::Operation>(kind)),
        Kind::Product => same(entry::<model::Product>(kind)),
        Kind::Backend => same(entry::<model::Backend>(kind)),
        Kind::GatewayHostnameConfiguration => same(entry::<model::HostnameConfiguration>(kind)),
        Kind::GatewayCertificateAuthority => same(entry::<model::CertificateAuthority>(kind)),
        Kind::Subscription => {
            let mut write = entry::<model::Subscription>(kind);
            // Generated when left out (see `secrets::complete`).
            write.required.retain(|f| f != "primaryKey");
            let mut read = write.clone();
            hide(&mut read, &["primaryKey", "secondaryKey"]);
            KindSchemas {
                write: write.into(),
                read: read.into(),
            }
        }
        Kind::Gateway => {
            let write = entry::<model::Gateway>(kind);
            let mut read = write.clone();
            hide(&mut read, &["primaryKey", "secondaryKey"]);
            KindSchemas {
                write: write.into(),
                read: read.into(),
            }
        }
        Kind::NamedValue => {
            let write = entry::<model::NamedValue>(kind);
            let mut read = write.clone();
            // Left out of reads when the value is secret.
            read.required.retain(|f| f != "value");
            KindSchemas {
                write: write.into(),
                read: read.into(),
            }
        }
        Kind::Certificate => {
            let write = entry::<model::Certificate>(kind);
            let mut read = write.clone();
            hide(&mut read, &["data", "password", "key"]);
            read.properties
                .extend(object::<model::CertificateInfo>().properties);
            KindSchemas {
                write: write.into(),
                read: read.into(),
            }
        }
        Kind::PolicyFragment => {
            let mut write = entry::<model::PolicyFragment>(kind);
            write.required.push("value".into());
            let mut read = write.clone();
            write.properties.insert("format".into(), format_written());
            read.properties.insert("format".into(), format_stored());
            KindSchemas {
                write: write.into(),
                read: read.into(),
            }
        }
        Kind::GlobalPolicy | Kind::ProductPolicy | Kind::ApiPolicy | Kind::OperationPolicy => {
            let policy = |format| {
                ObjectBuilder::new()
                    .property("format", format)
                    .property(
                        "value",
                        ObjectBuilder::new()
                            .schema_type(Type::String)
                            .description(Some("The policy XML (`<policies>…</policies>`).")),
                    )
                    .required("value")
                    .additional_properties(Some(closed()))
                    .into()
            };
            KindSchemas {
                write: policy(format_written()),
                read: policy(format_stored()),
            }
        }
        Kind::ProductApi | Kind::GatewayApi => {
            let membership = ObjectBuilder::new()
                .description(Some("A membership has no properties."))
                .additional_properties(Some(closed()))
                .build();
            same(membership)
        }
    }
}

fn same(properties: Object) -> KindSchemas {
    KindSchemas {
        write: properties.clone().into(),
        read: properties.into(),
    }
}

/// The model type's object schema.
fn object<T: PartialSchema>() -> Object {
    match T::schema() {
        RefOr::T(Schema::Object(object)) => object,
        _ => unreachable!("model structs derive object schemas"),
    }
}

/// The model entry as a REST resource's properties: no `id`, no separate resources, no files.
fn entry<T: PartialSchema>(kind: Kind) -> Object {
    let mut object = object::<T>();
    let dropped = ["id"]
        .iter()
        .chain(separate_fields(kind))
        .chain(FILE_FIELDS);
    hide(&mut object, &dropped.copied().collect::<Vec<_>>());
    object
}

fn hide(object: &mut Object, fields: &[&str]) {
    for field in fields {
        object.properties.remove(*field);
        object.required.retain(|f| f != field);
    }
}

fn closed() -> AdditionalProperties<Schema> {
    AdditionalProperties::FreeForm(false)
}

/// `format` as written: the inline forms `policy_format` accepts.
fn format_written() -> RefOr<Schema> {
    ObjectBuilder::new()
        .schema_type(Type::String)
        .enum_values(Some(["rawxml", "xml"]))
        .description(Some("Inline policy XML; stored as `rawxml`."))
        .into()
}

/// `format` as stored and read back.
fn format_stored() -> RefOr<Schema> {
    ObjectBuilder::new()
        .schema_type(Type::String)
        .enum_values(Some([POLICY_FORMAT]))
        .into()
}

/// An API's `PUT` properties: plain properties, or an OpenAPI import (`format` and `value`,
/// with the API's properties overriding what the document says; see `import`).
fn api_or_import(properties: Object) -> RefOr<Schema> {
    let mut import = properties.clone();
    import.properties.insert(
        "format".into(),
        ObjectBuilder::new()
            .schema_type(Type::String)
            .enum_values(Some(["openapi", "openapi+json", "swagger-json"]))
            .description(Some(
                "`openapi` (YAML or JSON), `openapi+json` or `swagger-json` (OpenAPI 2.0).",
            ))
            .into(),
    );
    import.properties.insert(
        "value".into(),
        ObjectBuilder::new()
            .schema_type(Type::String)
            .description(Some("The OpenAPI document's text."))
            .into(),
    );
    import.required = vec!["format".into(), "value".into()];
    import.description = Some(
        "Imports an OpenAPI document: the API's operations become exactly the document's.".into(),
    );
    RefOr::T(Schema::OneOf(
        OneOfBuilder::new().item(properties).item(import).build(),
    ))
}
