//! [`Catalog`]: the sites of a snapshot, by hostname. Compiled when a snapshot is applied;
//! a site whose hostname configuration, certificate and trusted authorities did not change is
//! carried over from the previous catalog as it is, so unrelated changes cost no key parsing
//! and keep TLS session caches warm.

use super::site::{ClientTrust, Site, SiteOptions};
use portico_model::{Certificate, Document, HostnameConfiguration};
use std::collections::HashMap;
use std::sync::Arc;

/// The sites of one snapshot.
#[derive(Debug, Default)]
pub struct Catalog {
    exact: HashMap<String, Arc<Site>>,
    /// `(".example.com", site)` for `*.example.com`, longest suffix first.
    wildcards: Vec<(String, Arc<Site>)>,
    default_binding: Option<Arc<Site>>,
    first: Option<Arc<Site>>,
    built: Vec<(SiteSource, Arc<Site>)>,
}

/// Everything a site is built from; equal sources build equal sites.
#[derive(Debug, PartialEq)]
struct SiteSource {
    hostname: HostnameConfiguration,
    certificate: Certificate,
    authorities: Vec<(Certificate, bool)>,
}

impl Catalog {
    /// Builds the sites of every hostname configuration with a certificate, in every gateway
    /// of `document` (a gateway's own snapshot holds just that gateway).
    pub fn compile(document: &Document, previous: &Catalog) -> Result<Self, String> {
        let find = |id: &str| {
            document
                .certificates
                .iter()
                .find(|c| c.id.eq_ignore_ascii_case(id))
        };
        let mut catalog = Catalog::default();
        for gateway in &document.gateways {
            let authorities: Vec<(Certificate, bool)> = gateway
                .certificate_authorities
                .iter()
                .filter_map(|ca| find(&ca.id).map(|c| (c.clone(), ca.is_trusted)))
                .collect();
            for config in &gateway.hostname_configurations {
                let Some(certificate) = config.certificate_id.as_deref().and_then(find) else {
                    continue;
                };
                let source = SiteSource {
                    hostname: config.clone(),
                    certificate: certificate.clone(),
                    authorities: if config.negotiate_client_certificate {
                        authorities.clone()
                    } else {
                        Vec::new()
                    },
                };
                let site = match previous.built.iter().find(|(s, _)| *s == source) {
                    Some((_, site)) => site.clone(),
                    None => Arc::new(build(&source).map_err(|e| {
                        format!(
                            "gateway {:?}, hostname {:?}: {e}",
                            gateway.id, config.hostname
                        )
                    })?),
                };
                catalog.add(config, site.clone(), &gateway.id)?;
                catalog.built.push((source, site));
            }
        }
        catalog
            .wildcards
            .sort_by_key(|(suffix, _)| std::cmp::Reverse(suffix.len()));
        Ok(catalog)
    }

    fn add(
        &mut self,
        config: &HostnameConfiguration,
        site: Arc<Site>,
        gateway: &str,
    ) -> Result<(), String> {
        let name = config.hostname.to_ascii_lowercase();
        let taken = match name.strip_prefix('*') {
            Some(suffix) => {
                let taken = self.wildcards.iter().any(|(s, _)| s == suffix);
                self.wildcards.push((suffix.to_owned(), site.clone()));
                taken
            }
            None => self.exact.insert(name, site.clone()).is_some(),
        };
        if taken {
            return Err(format!(
                "hostname {:?} is configured twice (gateway {gateway:?} and another); serve each hostname from one configuration",
                config.hostname
            ));
        }
        if config.default_ssl_binding {
            self.default_binding = Some(site.clone());
        }
        self.first.get_or_insert(site);
        Ok(())
    }

    /// The site for server name `name`: exact match, else the longest wildcard that covers
    /// exactly one more label (`*.example.com` covers `a.example.com`, not `a.b.example.com`).
    pub fn matching(&self, name: &str) -> Option<Arc<Site>> {
        let name = name.trim_end_matches('.').to_ascii_lowercase();
        if let Some(site) = self.exact.get(&name) {
            return Some(site.clone());
        }
        self.wildcards.iter().find_map(|(suffix, site)| {
            let label = name.strip_suffix(suffix.as_str())?;
            (!label.is_empty() && !label.contains('.')).then(|| site.clone())
        })
    }

    /// The site marked `defaultSslBinding`.
    pub fn default_binding(&self) -> Option<Arc<Site>> {
        self.default_binding.clone()
    }

    /// The first configured site: what clients get when nothing else applies.
    pub fn first(&self) -> Option<Arc<Site>> {
        self.first.clone()
    }

    /// Every site, once each.
    pub fn sites(&self) -> impl Iterator<Item = &Arc<Site>> {
        self.built.iter().map(|(_, site)| site)
    }
}

fn build(source: &SiteSource) -> Result<Site, String> {
    let parsed = source.certificate.parse()?;
    let client_certificates = source.hostname.negotiate_client_certificate.then(|| {
        let mut trust = ClientTrust::default();
        for (ca, is_trusted) in &source.authorities {
            let Ok(parsed) = ca.parse() else { continue };
            let Some(der) = parsed.chain.into_iter().next() else {
                continue;
            };
            if *is_trusted {
                trust.roots.push(der);
            } else {
                trust.intermediates.push(der);
            }
        }
        trust
    });
    let options = SiteOptions {
        http2: source.hostname.http2_enabled,
        client_certificates,
    };
    Site::new(source.hostname.hostname.clone(), parsed, &options)
}

#[cfg(test)]
mod tests {
    use super::*;
    use portico_model::DocumentFormat;

    #[test]
    fn only_hostnames_with_negotiate_client_certificate_ask_for_one() {
        let key = rcgen::KeyPair::generate().unwrap();
        let params = rcgen::CertificateParams::new(vec![
            "ask.example.com".to_owned(),
            "quiet.example.com".to_owned(),
        ])
        .unwrap();
        let cert = params.self_signed(&key).unwrap();
        let doc = serde_json::json!({
            "certificates": [{"id": "tls", "pem": cert.pem(), "key": key.serialize_pem()}],
            "gateways": [{
                "id": "edge", "locationData": {"name": "test"},
                "hostnameConfigurations": [
                    {"id": "ask", "hostname": "ask.example.com", "certificateId": "tls",
                     "negotiateClientCertificate": true},
                    {"id": "quiet", "hostname": "quiet.example.com", "certificateId": "tls"},
                ],
            }],
        });
        let doc = Document::parse_valid(&doc.to_string(), DocumentFormat::Json).unwrap();
        let catalog = Catalog::compile(&doc, &Catalog::default()).unwrap();
        let asks = |name: &str| {
            catalog
                .matching(name)
                .unwrap()
                .asks_for_client_certificates()
        };
        assert!(asks("ask.example.com"));
        assert!(!asks("quiet.example.com"));
    }
}
