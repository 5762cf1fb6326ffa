//! The four pipeline sections and which policies APIM allows in each (the "Policy sections"
//! line of each policy's reference page).

use std::fmt;

use crate::error::PolicyError;
use crate::policies::{Policy, PolicyNode};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Section {
    Inbound,
    Backend,
    Outbound,
    OnError,
}

impl Section {
    pub const ALL: [Section; 4] = [
        Section::Inbound,
        Section::Backend,
        Section::Outbound,
        Section::OnError,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Section::Inbound => "inbound",
            Section::Backend => "backend",
            Section::Outbound => "outbound",
            Section::OnError => "on-error",
        }
    }

    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|s| s.name() == name)
    }
}

impl fmt::Display for Section {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

use Section::{Backend, Inbound, OnError, Outbound};

/// Where APIM allows each policy.
fn allowed(policy: &Policy) -> &'static [Section] {
    match policy {
        Policy::SetQueryParameter(_) | Policy::SetBackendService(_) => &[Inbound, Backend],
        Policy::SetMethod(_) => &[Inbound, OnError],
        Policy::SetBody(_) => &[Inbound, Backend, Outbound],
        Policy::RewriteUri(_) => &[Inbound],
        Policy::ForwardRequest(_) => &[Backend],
        Policy::MockResponse(_) => &[Inbound, Outbound, OnError],
        Policy::RateLimit(_)
        | Policy::RateLimitByKey(_)
        | Policy::Quota(_)
        | Policy::QuotaByKey(_)
        | Policy::CheckHeader(_)
        | Policy::IpFilter(_)
        | Policy::Cors(_)
        | Policy::AuthenticationBasic(_)
        | Policy::AuthenticationManagedIdentity(_)
        | Policy::AuthenticationCertificate(_) => &[Inbound],
        Policy::ValidateJwt(_) | Policy::CacheLookup(_) | Policy::ValidateClientCertificate(_) => {
            &[Inbound]
        }
        Policy::CacheStore(_) => &[Outbound],
        _ => &Section::ALL,
    }
}

/// Reports every policy in `nodes` (nested ones included) placed where APIM forbids it.
pub(crate) fn check(nodes: &[PolicyNode], section: Section, errors: &mut Vec<PolicyError>) {
    for node in nodes {
        let allowed = allowed(&node.policy);
        if !allowed.contains(&section) {
            let list: Vec<String> = allowed.iter().map(|s| format!("<{s}>")).collect();
            let mut e = PolicyError::new(
                node.position,
                Some(node.policy.name()),
                format!(
                    "not allowed in <{section}>: APIM allows it in {}",
                    list.join(", ")
                ),
            );
            e.origin = node.origin.as_deref().map(str::to_owned);
            errors.push(e);
        }
        for branch in node.policy.children() {
            check(branch, section, errors);
        }
    }
}
