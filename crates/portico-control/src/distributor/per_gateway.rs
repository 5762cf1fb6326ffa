//! What one gateway receives: the whole [`Document`] cut down to what that gateway serves, so
//! a gateway in a factory never holds the APIs, subscription keys or secrets of another site.
//!
//! For a self-hosted gateway `G` ([`Audience::Gateway`]) the cut keeps:
//! - **APIs** listed in `G.apis`, and **products** holding at least one of them (their `apis`
//!   narrowed to those), because subscriptions and product policies hang off products;
//! - **subscriptions** whose scope is a kept API or product, or all APIs (`/apis`) when `G`
//!   serves any API: without them the gateway would answer 401 to valid keys;
//! - **backends** named by a kept API's `backendId`, or quoted in a kept policy (policies
//!   name backends in `set-backend-service backend-id="…"`);
//! - **policy fragments** quoted in a kept policy or kept fragment (`fragment-id="…"`),
//!   transitively;
//! - **named values** referenced as `{{name}}` in a kept policy, fragment or named value
//!   (values may nest), transitively;
//! - **certificates** of `G`'s hostname configurations and certificate authorities, those
//!   kept backends trust or present (`tls.caCertificateIds`, `credentials.certificateIds`),
//!   and any quoted in a kept policy, by id or (for `authentication-certificate
//!   thumbprint="…"`) by SHA-1 thumbprint;
//! - the global **policy**, and `G`'s own **gateway** entry without its signing keys (the
//!   gateway never needs the keys that sign its own tokens).
//!
//! "Quoted" and "referenced" are case-insensitive tests on policy text for the reference's
//! form (`"id"`, `'id'`, `{{name}}`). They may keep something that only looks referenced
//! (an id computed by an expression cannot be followed, so a quoted literal is the most a
//! cut can rely on), never drop something a literal reference names.
//!
//! The managed gateway ([`Audience::Managed`], inside `portico up`) is APIM's built-in
//! gateway: it serves every API, so it receives everything except the self-hosted gateways'
//! entries (their keys and hostnames are not its business).

use portico_model::{Document, SubscriptionScope};
use std::collections::HashSet;

/// Who a document is cut for.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Audience {
    /// The managed gateway: every API.
    Managed,
    /// The self-hosted gateway with this id (compared case-insensitively, as APIM ids are).
    Gateway(String),
}

/// The part of `doc` that `audience` receives, or `None` when `doc` has no such gateway.
pub fn document_for(doc: &Document, audience: &Audience) -> Option<Document> {
    match audience {
        Audience::Managed => {
            let mut all = doc.clone();
            all.gateways.clear();
            Some(all)
        }
        Audience::Gateway(id) => for_gateway(doc, id),
    }
}

fn for_gateway(doc: &Document, id: &str) -> Option<Document> {
    let mut gateway = doc
        .gateways
        .iter()
        .find(|g| g.id.eq_ignore_ascii_case(id))?
        .clone();
    gateway.primary_key = None;
    gateway.secondary_key = None;
    let served = lower_set(gateway.apis.iter());
    let mut out = Document {
        policy: doc.policy.clone(),
        ..Document::default()
    };
    out.apis = doc
        .apis
        .iter()
        .filter(|a| served.contains(&a.id.to_ascii_lowercase()))
        .cloned()
        .collect();
    out.products = doc
        .products
        .iter()
        .filter_map(|p| {
            let mut p = p.clone();
            p.apis.retain(|a| served.contains(&a.to_ascii_lowercase()));
            (!p.apis.is_empty()).then_some(p)
        })
        .collect();
    let products = lower_set(out.products.iter().map(|p| &p.id));
    out.subscriptions = doc
        .subscriptions
        .iter()
        .filter(|s| match SubscriptionScope::parse(&s.scope) {
            Some(SubscriptionScope::AllApis) => !served.is_empty(),
            Some(SubscriptionScope::Api(a)) => served.contains(&a.to_ascii_lowercase()),
            Some(SubscriptionScope::Product(p)) => products.contains(&p.to_ascii_lowercase()),
            None => false,
        })
        .cloned()
        .collect();

    let mut text = policy_text(&out);
    out.policy_fragments = closure(
        &doc.policy_fragments,
        &mut text,
        |f| Needle::Quoted(&f.id),
        |f| &f.value,
    );
    out.named_values = closure(
        &doc.named_values,
        &mut text,
        |nv| Needle::Placeholder(nv.name()),
        |nv| nv.value.expose(),
    );
    let backend_ids = lower_set(out.apis.iter().filter_map(|a| a.backend_id.as_ref()));
    out.backends = doc
        .backends
        .iter()
        .filter(|b| {
            backend_ids.contains(&b.id.to_ascii_lowercase())
                || Needle::Quoted(&b.id).found_in(&text)
        })
        .cloned()
        .collect();
    let cert_ids = lower_set(
        gateway
            .hostname_configurations
            .iter()
            .filter_map(|h| h.certificate_id.as_ref())
            .chain(gateway.certificate_authorities.iter().map(|c| &c.id))
            .chain(out.backends.iter().flat_map(|b| {
                let client = b.credentials.iter().flat_map(|c| &c.certificate_ids);
                b.tls.ca_certificate_ids.iter().chain(client)
            })),
    );
    // Reading a certificate for its thumbprint costs (a PFX's key derivation), so only
    // documents whose policies name certificates by thumbprint pay it.
    let by_thumbprint = text.contains("thumbprint=");
    out.certificates = doc
        .certificates
        .iter()
        .filter(|c| {
            cert_ids.contains(&c.id.to_ascii_lowercase())
                || Needle::Quoted(&c.id).found_in(&text)
                || by_thumbprint
                    && c.parse()
                        .is_ok_and(|p| Needle::Quoted(&p.info.thumbprint).found_in(&text))
        })
        .cloned()
        .collect();
    out.gateways = vec![gateway];
    Some(out)
}

fn lower_set<'a>(ids: impl Iterator<Item = &'a String>) -> HashSet<String> {
    ids.map(|s| s.to_ascii_lowercase()).collect()
}

/// Every kept policy, lowercased and joined, for the "mentioned" tests.
fn policy_text(doc: &Document) -> String {
    let mut parts: Vec<&str> = doc.policy.iter().map(String::as_str).collect();
    for api in &doc.apis {
        parts.extend(api.policy.as_deref());
        parts.extend(api.operations.iter().filter_map(|o| o.policy.as_deref()));
    }
    parts.extend(doc.products.iter().filter_map(|p| p.policy.as_deref()));
    parts.join("\n").to_ascii_lowercase()
}

/// How policy text refers to an item. A bare substring test would send a secret whose id is
/// a common word (`key`, `api`) to every gateway, so references are matched in their form.
enum Needle<'a> {
    /// A quoted string: an attribute value such as `backend-id="legacy"` or
    /// `fragment-id='auth'`, or a string literal in an expression.
    Quoted(&'a str),
    /// A named value's `{{name}}`.
    Placeholder(&'a str),
}

impl Needle<'_> {
    /// Whether lower-cased `text` holds this reference (ids compare ignoring ASCII case).
    fn found_in(&self, text: &str) -> bool {
        match self {
            Needle::Quoted(id) if !id.is_empty() => {
                let id = id.to_ascii_lowercase();
                text.contains(&format!("\"{id}\"")) || text.contains(&format!("'{id}'"))
            }
            Needle::Placeholder(name) if !name.is_empty() => {
                text.contains(&format!("{{{{{}}}}}", name.to_ascii_lowercase()))
            }
            _ => false,
        }
    }
}

/// The items of `all` that `text` references (`referenced` says whether the text so far
/// names an item), transitively: each kept item's content joins `text`, so a fragment that
/// includes another fragment (or a named value whose value names another) brings it along.
fn closure<T: Clone>(
    all: &[T],
    text: &mut String,
    referenced: impl Fn(&T) -> Needle<'_>,
    content: impl Fn(&T) -> &str,
) -> Vec<T> {
    let mut kept = vec![false; all.len()];
    loop {
        let mut grew = false;
        for (i, item) in all.iter().enumerate() {
            if !kept[i] && referenced(item).found_in(text) {
                kept[i] = true;
                grew = true;
                text.push('\n');
                text.push_str(&content(item).to_ascii_lowercase());
            }
        }
        if !grew {
            break;
        }
    }
    all.iter()
        .zip(kept)
        .filter(|(_, k)| *k)
        .map(|(item, _)| item.clone())
        .collect()
}

#[cfg(test)]
#[path = "per_gateway_tests.rs"]
mod tests;
