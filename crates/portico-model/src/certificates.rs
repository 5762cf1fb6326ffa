//! Certificates: a PFX (APIM's `data` + `password`) or a PEM chain with its private key
//! (Portico's `pem` + `key`), or a bare CA certificate. [`Certificate::parse`] reads either
//! form into DER, with what reads show instead of the secret material: subject, thumbprint
//! (SHA-1, upper-case hex, as APIM and Windows print it) and expiration date.

use crate::secret::Secret;
use base64::Engine;
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer};
use serde::{Deserialize, Serialize};
use sha1::{Digest, Sha1};

/// A certificate resource.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Certificate {
    pub id: String,
    /// A base64 PKCS#12 (PFX) file holding the certificate, its chain and its key.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub data: Option<Secret>,
    /// The PFX's password.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub password: Option<Secret>,
    /// PEM certificates: the leaf first, then its intermediates.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pem: Option<String>,
    /// The leaf's PEM private key.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key: Option<Secret>,
    /// Files relative to the declarative document; loaders replace them with `data`, `pem`
    /// and `key` before validation.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pfx_file: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pem_file: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key_file: Option<String>,
}

/// A certificate read into what TLS needs and what operators may see.
#[derive(Debug)]
pub struct ParsedCertificate {
    /// The leaf first, then its intermediates, as served.
    pub chain: Vec<CertificateDer<'static>>,
    /// The leaf's private key, when the certificate has one (CA certificates do not).
    pub key: Option<PrivateKeyDer<'static>>,
    pub info: CertificateInfo,
}

/// The public facts about a certificate's leaf.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct CertificateInfo {
    pub subject: String,
    pub thumbprint: String,
    /// RFC 3339, UTC.
    pub expiration_date: String,
}

impl Certificate {
    /// Reads the certificate. Errors say what is wrong without quoting any secret material.
    pub fn parse(&self) -> Result<ParsedCertificate, String> {
        let (chain, key) = match (&self.data, &self.pem) {
            (Some(data), None) => self.read_pfx(data)?,
            (None, Some(pem)) => self.read_pem(pem)?,
            (Some(_), Some(_)) => return Err("set data (a PFX) or pem, not both".into()),
            (None, None) => {
                return Err("set data (a base64 PFX with password) or pem (with key)".into())
            }
        };
        let leaf = chain.first().ok_or("holds no certificate")?;
        let info = info_of(leaf)?;
        Ok(ParsedCertificate { chain, key, info })
    }

    fn read_pfx(&self, data: &Secret) -> Result<Chain, String> {
        if self.key.is_some() {
            return Err("a PFX carries its own key; remove key".into());
        }
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(data.expose().trim())
            .map_err(|_| "data is not base64 (send the PFX file's bytes, base64-encoded)")?;
        let password = self.password.as_ref().map_or("", Secret::expose);
        let store = p12_keystore::KeyStore::from_pkcs12(&bytes, password)
            .map_err(|_| "data is not a PFX that this password opens")?;
        if let Some((_, chain)) = store.private_key_chain() {
            let certs = chain
                .chain()
                .iter()
                .map(|c| CertificateDer::from(c.as_der().to_vec()))
                .collect();
            let key = PrivateKeyDer::try_from(chain.key().to_vec())
                .map_err(|_| "the PFX's private key is in a form Portico cannot read")?;
            return Ok((certs, Some(key)));
        }
        let certs = store
            .entries()
            .filter_map(|(_, e)| match e {
                p12_keystore::KeyStoreEntry::Certificate(c) => {
                    Some(CertificateDer::from(c.as_der().to_vec()))
                }
                _ => None,
            })
            .collect();
        Ok((certs, None))
    }

    fn read_pem(&self, pem: &str) -> Result<Chain, String> {
        if self.password.is_some() {
            return Err("password applies to a PFX (data); a PEM key must not be encrypted".into());
        }
        let certs = CertificateDer::pem_slice_iter(pem.as_bytes())
            .collect::<Result<Vec<_>, _>>()
            .map_err(|_| "pem holds something that is not a PEM certificate")?;
        let key = match &self.key {
            None => None,
            Some(k) => Some(
                PrivateKeyDer::from_pem_slice(k.expose().as_bytes()).map_err(|_| {
                    "key is not an unencrypted PEM private key (PKCS#8, PKCS#1 or SEC1)"
                })?,
            ),
        };
        Ok((certs, key))
    }
}

type Chain = (Vec<CertificateDer<'static>>, Option<PrivateKeyDer<'static>>);

fn info_of(leaf: &CertificateDer<'_>) -> Result<CertificateInfo, String> {
    let (_, cert) = x509_parser::parse_x509_certificate(leaf)
        .map_err(|_| "the certificate is not valid X.509")?;
    let thumbprint = Sha1::digest(leaf.as_ref())
        .iter()
        .map(|b| format!("{b:02X}"))
        .collect();
    let expiration_date = cert
        .validity()
        .not_after
        .to_datetime()
        .format(&time::format_description::well_known::Rfc3339)
        .map_err(|_| "the certificate's expiration date cannot be printed")?;
    Ok(CertificateInfo {
        subject: cert.subject().to_string(),
        thumbprint,
        expiration_date,
    })
}
