//! Policy fragments: `<fragment>` documents holding policy elements with no sections, pulled
//! into documents by `<include-fragment>` during composition.

use crate::document::parse_root;
use crate::error::PolicyErrors;
use crate::named_values::NamedValues;
use crate::policies::{parse_list, PolicyNode};

/// A parsed fragment. Where its policies may go is checked when it is included, since only
/// then is the section known.
#[derive(Debug, Clone, Default)]
pub struct Fragment {
    pub policies: Vec<PolicyNode>,
}

impl Fragment {
    pub fn parse(xml: &str) -> Result<Self, PolicyErrors> {
        Self::parse_with(xml, &NamedValues::new())
    }

    pub fn parse_with(xml: &str, named_values: &NamedValues) -> Result<Self, PolicyErrors> {
        parse_root(
            xml,
            named_values,
            "fragment",
            |root, fragment: &mut Self| {
                fragment.policies = parse_list(root, false);
                Vec::new()
            },
        )
    }
}
