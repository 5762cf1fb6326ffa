//! The XML layer under the policy parser: making APIM's unescaped expressions acceptable to
//! roxmltree (`prepare`), mapping offsets to positions (`offsets`), and reading elements,
//! attributes (`attrs`) and text values with error collection (`reader`). Nothing here knows about
//! individual policies.

pub(crate) mod attrs;
pub(crate) mod offsets;
pub(crate) mod prepare;
pub(crate) mod reader;
