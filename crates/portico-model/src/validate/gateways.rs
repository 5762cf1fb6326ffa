//! Certificates (each must parse: a PFX its password opens, or PEM certificates with an
//! unencrypted key) and gateways (location, hostnames with their certificates, the APIs they
//! serve, the certificate authorities they trust).

use super::Validator;
use crate::certificates::Certificate;
use crate::gateways::{Gateway, HostnameConfiguration};
use std::collections::{HashMap, HashSet};

/// What reading the certificates found, for the checks of what names them.
#[derive(Default)]
pub(super) struct KnownCertificates {
    /// Lower-cased id → whether the certificate holds its private key.
    pub keyed: HashMap<String, bool>,
    /// SHA-1 thumbprint → lower-cased id. Several certificates may share one (a CA uploaded
    /// with and without its key); one with a key wins, as that is the one a gateway presents.
    pub by_thumbprint: HashMap<String, String>,
}

impl Validator {
    /// Reads every certificate once: ids, keys and thumbprints.
    pub(super) fn certificates(&mut self, certs: &[Certificate]) -> KnownCertificates {
        let mut ids = HashSet::new();
        let mut known = KnownCertificates::default();
        for (i, c) in certs.iter().enumerate() {
            let path = format!("certificates[{i}]");
            self.id(&path, &c.id, &mut ids, "certificate");
            let files = [
                ("pfxFile", &c.pfx_file),
                ("pemFile", &c.pem_file),
                ("keyFile", &c.key_file),
            ];
            let mut unresolved = false;
            for (field, file) in files {
                unresolved |= file.is_some();
                self.unresolved(&path, field, file);
            }
            if unresolved {
                continue;
            }
            match c.parse() {
                Ok(parsed) => {
                    let (id, has_key) = (c.id.to_ascii_lowercase(), parsed.key.is_some());
                    if has_key || !known.by_thumbprint.contains_key(&parsed.info.thumbprint) {
                        known
                            .by_thumbprint
                            .insert(parsed.info.thumbprint, id.clone());
                    }
                    known.keyed.insert(id, has_key);
                }
                Err(e) => self.error(&path, e),
            }
        }
        known
    }

    pub(super) fn gateways(
        &mut self,
        gateways: &[Gateway],
        apis: &HashSet<String>,
        certificates: &HashMap<String, bool>,
    ) {
        let mut ids = HashSet::new();
        for (i, g) in gateways.iter().enumerate() {
            let path = format!("gateways[{i}]");
            self.id(&path, &g.id, &mut ids, "gateway");
            if g.location_data.name.trim().is_empty() {
                self.error(
                    format!("{path}.locationData.name"),
                    "name where this gateway runs (for example \"factory-1\")",
                );
            }
            self.hostnames(&path, &g.hostname_configurations, certificates);
            let mut served = HashSet::new();
            for (j, api) in g.apis.iter().enumerate() {
                let at = format!("{path}.apis[{j}]");
                if !apis.contains(&api.to_ascii_lowercase()) {
                    self.error(at, format!("no API has id {api:?}"));
                } else if !served.insert(api.to_ascii_lowercase()) {
                    self.error(at, format!("API {api:?} is listed twice"));
                }
            }
            let mut cas = HashSet::new();
            for (j, ca) in g.certificate_authorities.iter().enumerate() {
                let at = format!("{path}.certificateAuthorities[{j}]");
                if !certificates.contains_key(&ca.id.to_ascii_lowercase()) {
                    self.error(
                        format!("{at}.id"),
                        format!("no certificate has id {:?}", ca.id),
                    );
                } else if !cas.insert(ca.id.to_ascii_lowercase()) {
                    self.error(
                        format!("{at}.id"),
                        format!("certificate {:?} is listed twice", ca.id),
                    );
                }
            }
        }
    }

    fn hostnames(
        &mut self,
        gateway: &str,
        configs: &[HostnameConfiguration],
        certificates: &HashMap<String, bool>,
    ) {
        let mut ids = HashSet::new();
        let mut names: HashMap<String, String> = HashMap::new();
        let mut default_binding: Option<&str> = None;
        for (j, h) in configs.iter().enumerate() {
            let path = format!("{gateway}.hostnameConfigurations[{j}]");
            self.id(
                &path,
                &h.id,
                &mut ids,
                "hostname configuration of this gateway",
            );
            if !valid_hostname(&h.hostname) {
                self.error(
                    format!("{path}.hostname"),
                    format!("{:?} is not a host name (a wildcard may only be the first label: *.example.com)", h.hostname),
                );
            } else if let Some(other) = names.insert(h.hostname.to_ascii_lowercase(), h.id.clone())
            {
                self.conflict(
                    format!("{path}.hostname"),
                    format!(
                        "hostname configuration {other:?} already has hostname {:?}",
                        h.hostname
                    ),
                );
            }
            if let Some(c) = &h.certificate_id {
                match certificates.get(&c.to_ascii_lowercase()) {
                    None => self.error(
                        format!("{path}.certificateId"),
                        format!("no certificate has id {c:?}"),
                    ),
                    Some(false) => self.error(
                        format!("{path}.certificateId"),
                        format!("certificate {c:?} has no private key, so it cannot be served"),
                    ),
                    Some(true) => {}
                }
            }
            if h.default_ssl_binding {
                if h.certificate_id.is_none() {
                    self.error(
                        format!("{path}.defaultSslBinding"),
                        "the default binding needs a certificateId to serve",
                    );
                }
                if let Some(other) = default_binding.replace(&h.id) {
                    self.conflict(
                        format!("{path}.defaultSslBinding"),
                        format!("hostname configuration {other:?} is already the default binding"),
                    );
                }
            }
            for (field, on) in [
                ("tls10Enabled", h.tls10_enabled),
                ("tls11Enabled", h.tls11_enabled),
            ] {
                if on {
                    self.error(
                        format!("{path}.{field}"),
                        "TLS 1.0 and 1.1 are not offered by Portico (TLS 1.2 and 1.3 only); set it to false",
                    );
                }
            }
        }
    }
}

/// A DNS name, optionally with a leading `*.` wildcard label.
fn valid_hostname(name: &str) -> bool {
    let name = name.strip_prefix("*.").unwrap_or(name);
    !name.is_empty()
        && name.len() <= 253
        && name.split('.').all(|label| {
            !label.is_empty()
                && label.len() <= 63
                && label
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-')
                && !label.starts_with('-')
                && !label.ends_with('-')
        })
}

#[cfg(test)]
mod tests {
    use crate::{Document, DocumentFormat};

    fn errors(doc: &Document) -> Vec<String> {
        super::super::displayed(doc.validate())
    }

    fn pem_pair(name: &str) -> (String, String) {
        let key = rcgen::KeyPair::generate().unwrap();
        let cert = rcgen::CertificateParams::new(vec![name.to_owned()])
            .unwrap()
            .self_signed(&key)
            .unwrap();
        (cert.pem(), key.serialize_pem())
    }

    fn document(yaml: &str) -> Document {
        let (pem, key) = pem_pair("api.example.com");
        let mut doc = Document::parse(yaml, DocumentFormat::Yaml).unwrap();
        doc.resolve_files(&mut |name: &str| match name {
            "tls.pem" => Ok(pem.clone().into_bytes()),
            "tls.key" => Ok(key.clone().into_bytes()),
            other => Err(format!("no file {other}")),
        })
        .unwrap();
        doc
    }

    #[test]
    fn a_gateway_with_hostnames_apis_and_authorities_passes() {
        let doc = document(
            r#"
apis: [{ id: a, serviceUrl: "http://x" }]
certificates:
  - { id: tls, pemFile: tls.pem, keyFile: tls.key }
  - { id: ca, pemFile: tls.pem }
gateways:
  - id: factory
    locationData: { name: Factory 1 }
    hostnameConfigurations:
      - { id: main, hostname: "*.example.com", certificateId: tls }
    apis: [a]
    certificateAuthorities: [{ id: ca, isTrusted: true }]
"#,
        );
        assert_eq!(errors(&doc), Vec::<String>::new());
        let info = doc.certificates[0].parse().unwrap().info;
        assert_eq!(info.thumbprint.len(), 40);
        assert!(info.expiration_date.ends_with('Z'), "{info:?}");
    }

    #[test]
    fn every_gateway_problem_is_named() {
        let doc = document(
            r#"
certificates:
  - { id: ca, pemFile: tls.pem }
  - { id: junk, pem: "not a certificate" }
gateways:
  - id: g
    hostnameConfigurations:
      - { id: h1, hostname: "a.*.com", certificateId: missing }
      - { id: h2, hostname: "b.example.com", certificateId: ca, tls10Enabled: true }
      - { id: h3, hostname: "B.example.com" }
    apis: [nope]
    certificateAuthorities: [{ id: ghost }]
"#,
        );
        let errs = errors(&doc);
        for path in [
            "certificates[1]:",
            "gateways[0].locationData.name:",
            "gateways[0].hostnameConfigurations[0].hostname:",
            "gateways[0].hostnameConfigurations[0].certificateId: no certificate",
            "gateways[0].hostnameConfigurations[1].certificateId: certificate \"ca\" has no private key",
            "gateways[0].hostnameConfigurations[1].tls10Enabled:",
            "gateways[0].hostnameConfigurations[2].hostname: hostname configuration \"h2\"",
            "gateways[0].apis[0]:",
            "gateways[0].certificateAuthorities[0].id:",
        ] {
            assert!(errs.iter().any(|e| e.starts_with(path)), "missing {path} in {errs:#?}");
        }
    }

    #[test]
    fn certificate_errors_never_quote_the_key() {
        let doc = Document {
            certificates: vec![crate::Certificate {
                id: "c".into(),
                data: None,
                password: None,
                pem: Some(pem_pair("x").0),
                key: Some(crate::Secret::new(
                    "-----BEGIN PRIVATE KEY-----\nc2VjcmV0\n-----END PRIVATE KEY-----\n",
                )),
                pfx_file: None,
                pem_file: None,
                key_file: None,
            }],
            ..Document::default()
        };
        let errs = errors(&doc).join("\n");
        assert!(!errs.contains("c2VjcmV0"), "{errs}");
    }

    #[test]
    fn authentication_certificate_must_name_a_certificate_with_its_key() {
        let mut doc = document(
            r#"
apis:
  - id: a
    serviceUrl: "https://x"
    policy: "<policies><inbound><authentication-certificate certificate-id=\"client\"/><authentication-certificate certificate-id=\"ca\"/><authentication-certificate certificate-id=\"gone\"/></inbound></policies>"
products:
  - { id: p, apis: [a], policy: "<policies><inbound><include-fragment fragment-id=\"f\"/></inbound></policies>" }
policyFragments:
  - { id: f, value: "<fragment>\n<authentication-certificate thumbprint=\"0000000000000000000000000000000000000000\"/></fragment>" }
certificates:
  - { id: client, pemFile: tls.pem, keyFile: tls.key }
  - { id: ca, pemFile: tls.pem }
"#,
        );
        assert_eq!(
            errors(&doc),
            [
                "line 1, column 73: apis[0].policy: <authentication-certificate> in API scope: certificate-id `ca` names a certificate without a private key, which cannot authenticate the gateway: upload it with its key",
                "line 1, column 122: apis[0].policy: <authentication-certificate> in API scope: certificate-id `gone` names no uploaded certificate: upload it first",
                "line 2, column 1: policyFragments[0].value: <authentication-certificate> in fragment `f`: thumbprint 0000000000000000000000000000000000000000 names no uploaded certificate: upload it first",
            ]
        );
        // Named by its thumbprint, the keyed certificate is accepted.
        let thumbprint = doc.certificates[0].parse().unwrap().info.thumbprint;
        doc.policy_fragments[0].value = format!(
            "<fragment><authentication-certificate thumbprint=\"{thumbprint}\"/></fragment>"
        );
        doc.apis[0].policy = None;
        assert_eq!(errors(&doc), Vec::<String>::new());
        // Inside a call too.
        doc.apis[0].policy = Some("<policies><inbound><send-one-way-request><set-url>https://x</set-url><authentication-certificate certificate-id=\"nope\"/></send-one-way-request></inbound></policies>".into());
        let e = errors(&doc);
        assert!(
            e.len() == 1 && e[0].contains("certificate-id `nope` names no uploaded certificate"),
            "{e:?}"
        );
    }
}
