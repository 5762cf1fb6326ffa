//! Policy-related resources. Policy documents themselves are plain XML text held by the scope
//! they apply to (`policy` on the document, a product, an API or an operation); fragments are
//! shared pieces that those documents include with `<include-fragment fragment-id="…"/>`.
//! Parsing and checking the XML is `validate::policies`' job.

use serde::{Deserialize, Serialize};

/// A policy fragment (APIM's `policyFragments`): a `<fragment>…</fragment>` document.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PolicyFragment {
    pub id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// The fragment's XML, inline.
    #[serde(default)]
    pub value: String,
    /// The fragment's XML in a file, relative to the declarative document; loaders replace it
    /// with `value` before validation.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value_file: Option<String>,
}
