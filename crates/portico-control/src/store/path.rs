//! Resource addresses: APIM's REST paths relative to the service root (`apis/echo`,
//! `apis/echo/operations/get-user`, `products/starter/apis/echo`, `policies/policy`). A path
//! names its resource's kind and its parent; ids and collection names compare without regard
//! to ASCII case, as in APIM.

use std::fmt;

/// What a path addresses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Kind {
    Api,
    Operation,
    ApiPolicy,
    OperationPolicy,
    Product,
    ProductApi,
    ProductPolicy,
    Subscription,
    Backend,
    NamedValue,
    PolicyFragment,
    Certificate,
    Gateway,
    GatewayHostnameConfiguration,
    GatewayApi,
    GatewayCertificateAuthority,
    GlobalPolicy,
}

/// Path shapes: literal segments, and `*` for an id.
const SHAPES: &[(&[&str], Kind)] = &[
    (&["apis", "*"], Kind::Api),
    (&["apis", "*", "operations", "*"], Kind::Operation),
    (&["apis", "*", "policies", "policy"], Kind::ApiPolicy),
    (
        &["apis", "*", "operations", "*", "policies", "policy"],
        Kind::OperationPolicy,
    ),
    (&["products", "*"], Kind::Product),
    (&["products", "*", "apis", "*"], Kind::ProductApi),
    (
        &["products", "*", "policies", "policy"],
        Kind::ProductPolicy,
    ),
    (&["subscriptions", "*"], Kind::Subscription),
    (&["backends", "*"], Kind::Backend),
    (&["namedValues", "*"], Kind::NamedValue),
    (&["policyFragments", "*"], Kind::PolicyFragment),
    (&["certificates", "*"], Kind::Certificate),
    (&["gateways", "*"], Kind::Gateway),
    (
        &["gateways", "*", "hostnameConfigurations", "*"],
        Kind::GatewayHostnameConfiguration,
    ),
    (&["gateways", "*", "apis", "*"], Kind::GatewayApi),
    (
        &["gateways", "*", "certificateAuthorities", "*"],
        Kind::GatewayCertificateAuthority,
    ),
    (&["policies", "policy"], Kind::GlobalPolicy),
];

impl Kind {
    /// Every path shape (literal segments, `*` for an id) with the kind it addresses; the
    /// management API's OpenAPI document is generated from these.
    pub fn shapes() -> &'static [(&'static [&'static str], Kind)] {
        SHAPES
    }

    /// The name stored in the database.
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Api => "api",
            Kind::Operation => "operation",
            Kind::ApiPolicy => "apiPolicy",
            Kind::OperationPolicy => "operationPolicy",
            Kind::Product => "product",
            Kind::ProductApi => "productApi",
            Kind::ProductPolicy => "productPolicy",
            Kind::Subscription => "subscription",
            Kind::Backend => "backend",
            Kind::NamedValue => "namedValue",
            Kind::PolicyFragment => "policyFragment",
            Kind::Certificate => "certificate",
            Kind::Gateway => "gateway",
            Kind::GatewayHostnameConfiguration => "gatewayHostnameConfiguration",
            Kind::GatewayApi => "gatewayApi",
            Kind::GatewayCertificateAuthority => "gatewayCertificateAuthority",
            Kind::GlobalPolicy => "globalPolicy",
        }
    }
}

/// A parsed resource path.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ResourcePath {
    /// As written, without leading or trailing slashes.
    path: String,
    /// Lower-cased: the identity used for lookups and uniqueness.
    key: String,
    kind: Kind,
}

/// A path that addresses nothing Portico manages.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0:?} is not a resource path (for example apis/{{apiId}} or products/{{productId}}/apis/{{apiId}})")]
pub struct InvalidPath(pub String);

impl ResourcePath {
    pub fn parse(path: &str) -> Result<Self, InvalidPath> {
        let trimmed = path.trim_matches('/');
        let segments: Vec<&str> = trimmed.split('/').collect();
        let valid_id = |s: &str| {
            !s.is_empty()
                && s.len() <= 256
                && !s
                    .chars()
                    .any(|c| c.is_whitespace() || c.is_control() || "*#&+:<>?%\\".contains(c))
        };
        let (shape, kind) = SHAPES
            .iter()
            .find(|(shape, _)| {
                shape.len() == segments.len()
                    && shape.iter().zip(&segments).all(|(want, got)| {
                        if *want == "*" {
                            valid_id(got)
                        } else {
                            want.eq_ignore_ascii_case(got)
                        }
                    })
            })
            .ok_or_else(|| InvalidPath(path.to_owned()))?;
        // Collection names in their canonical spelling, ids as written.
        let written: Vec<&str> = shape
            .iter()
            .zip(&segments)
            .map(|(want, got)| if *want == "*" { *got } else { *want })
            .collect();
        let path = written.join("/");
        Ok(Self {
            key: path.to_ascii_lowercase(),
            path,
            kind: *kind,
        })
    }

    pub fn kind(&self) -> Kind {
        self.kind
    }

    /// The path as written.
    pub fn as_str(&self) -> &str {
        &self.path
    }

    /// The case-folded identity.
    pub fn key(&self) -> &str {
        &self.key
    }

    /// The last segment: the resource's own id (or `policy`).
    pub fn id(&self) -> &str {
        self.path.rsplit('/').next().unwrap_or("")
    }

    /// The key of the resource this one belongs to (`apis/echo` for its operations).
    pub fn parent_key(&self) -> Option<&str> {
        let segments = self.key.matches('/').count() + 1;
        (segments > 2).then(|| {
            let end = self.key.rmatch_indices('/').nth(1).map_or(0, |(i, _)| i);
            &self.key[..end]
        })
    }
}

/// A collection path (`apis`, `apis/echo/operations`): the kind it lists and the key of the
/// resource it belongs to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CollectionPath {
    pub kind: Kind,
    pub parent_key: Option<String>,
}

impl CollectionPath {
    pub fn parse(path: &str) -> Option<Self> {
        let trimmed = path.trim_matches('/');
        // A collection is a resource path without its final id.
        let probe = format!("{trimmed}/x");
        let resource = ResourcePath::parse(&probe).ok()?;
        let last_is_id = SHAPES
            .iter()
            .any(|(shape, kind)| *kind == resource.kind && shape.last() == Some(&"*"));
        last_is_id.then(|| Self {
            kind: resource.kind,
            parent_key: resource.parent_key().map(str::to_owned),
        })
    }
}

impl fmt::Display for ResourcePath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.path)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_every_shape_with_kind_and_parent() {
        let p = ResourcePath::parse("/apis/Echo/operations/Get-User/").unwrap();
        assert_eq!(p.kind(), Kind::Operation);
        assert_eq!(p.as_str(), "apis/Echo/operations/Get-User");
        assert_eq!(p.key(), "apis/echo/operations/get-user");
        assert_eq!(p.parent_key(), Some("apis/echo"));
        assert_eq!(p.id(), "Get-User");
        let p = ResourcePath::parse("NAMEDVALUES/Key").unwrap();
        assert_eq!(
            p.as_str(),
            "namedValues/Key",
            "collections take their canonical spelling"
        );
        let p = ResourcePath::parse("apis/echo/operations/get/policies/policy").unwrap();
        assert_eq!(p.kind(), Kind::OperationPolicy);
        assert_eq!(p.parent_key(), Some("apis/echo/operations/get"));
        assert_eq!(ResourcePath::parse("apis/echo").unwrap().parent_key(), None);
        assert_eq!(
            ResourcePath::parse("policies/policy").unwrap().kind(),
            Kind::GlobalPolicy
        );
        assert_eq!(
            ResourcePath::parse("gateways/g/hostnameConfigurations/h")
                .unwrap()
                .kind(),
            Kind::GatewayHostnameConfiguration
        );
    }

    #[test]
    fn collections_name_their_kind_and_parent() {
        let c = CollectionPath::parse("apis/Echo/operations").unwrap();
        assert_eq!(c.kind, Kind::Operation);
        assert_eq!(c.parent_key.as_deref(), Some("apis/echo"));
        assert_eq!(CollectionPath::parse("/apis/").unwrap().kind, Kind::Api);
        assert!(
            CollectionPath::parse("policies").is_none(),
            "the global policy is one resource"
        );
        assert!(CollectionPath::parse("apis/echo").is_none());
    }

    #[test]
    fn refuses_what_is_not_a_resource() {
        for bad in [
            "",
            "apis",
            "apis/a b",
            "apis/x/unknown/y",
            "widgets/w",
            "apis/*",
            "policies/other",
        ] {
            assert!(ResourcePath::parse(bad).is_err(), "{bad}");
        }
    }
}
