//! Certificates: a PFX (APIM's `data` + `password`) or a PEM chain with its private key
//! (Portico's `pem` + `key`), or a bare CA certificate. [`Certificate::parse`] reads either
//! form into DER, checks that the key belongs to the leaf, and returns what reads show instead
//! of the secret material: subject, issuer, names, thumbprints (SHA-1 upper-case hex as APIM
//! and Windows print it, and SHA-256), validity dates, and warnings such as a missing
//! intermediate.
//!
//! Expiry is not a parse error: a snapshot holding a certificate that expired while deployed
//! must still load. Uploads check it with [`CertificateInfo::check_valid_at`].

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
    pub issuer: String,
    /// DNS names and IP addresses of the subjectAltName extension.
    pub subject_alternative_names: Vec<String>,
    /// SHA-1 of the DER leaf, upper-case hex (APIM's thumbprint).
    pub thumbprint: String,
    /// SHA-256 of the DER leaf, upper-case hex.
    pub thumbprint_sha256: String,
    /// Upper-case hex, as .NET's `X509Certificate2.SerialNumber` prints it.
    pub serial_number: String,
    /// RFC 3339, UTC.
    pub not_before: String,
    /// RFC 3339, UTC.
    pub expiration_date: String,
    /// Problems that do not stop the certificate from loading, such as a chain that lacks
    /// the leaf's issuer.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub warnings: Vec<String>,
    #[serde(skip)]
    not_before_unix: i64,
    #[serde(skip)]
    not_after_unix: i64,
}

impl CertificateInfo {
    /// Reads the public facts of one DER certificate.
    pub fn of_der(der: &[u8]) -> Result<Self, String> {
        info_of(der)
    }

    /// Start of validity, Unix seconds.
    pub fn not_before_unix(&self) -> i64 {
        self.not_before_unix
    }

    /// End of validity, Unix seconds.
    pub fn not_after_unix(&self) -> i64 {
        self.not_after_unix
    }

    /// Refuses a leaf that is expired or not yet valid at `now` (Unix seconds).
    pub fn check_valid_at(&self, now: i64) -> Result<(), String> {
        if now < self.not_before_unix {
            return Err(format!(
                "the certificate is not valid yet (notBefore {}); upload it once it is",
                self.not_before
            ));
        }
        if now > self.not_after_unix {
            return Err(format!(
                "the certificate expired on {}; upload a renewed one",
                self.expiration_date
            ));
        }
        Ok(())
    }

    /// Seconds from `now` (Unix seconds) until the leaf expires; negative once expired.
    pub fn seconds_to_expiry(&self, now: i64) -> i64 {
        self.not_after_unix.saturating_sub(now)
    }
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
        let mut info = info_of(leaf)?;
        if let Some(key) = &key {
            check_key_matches(leaf, key)?;
            info.warnings.extend(missing_issuer(&chain));
        }
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

fn info_of(leaf: &[u8]) -> Result<CertificateInfo, String> {
    let (_, cert) = x509_parser::parse_x509_certificate(leaf)
        .map_err(|_| "the certificate is not valid X.509")?;
    let validity = cert.validity();
    Ok(CertificateInfo {
        subject: cert.subject().to_string(),
        issuer: cert.issuer().to_string(),
        subject_alternative_names: alternative_names(&cert),
        thumbprint: upper_hex(&Sha1::digest(leaf)),
        thumbprint_sha256: upper_hex(
            aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, leaf).as_ref(),
        ),
        serial_number: upper_hex(cert.raw_serial()),
        not_before: rfc3339(validity.not_before)?,
        expiration_date: rfc3339(validity.not_after)?,
        warnings: Vec::new(),
        not_before_unix: validity.not_before.timestamp(),
        not_after_unix: validity.not_after.timestamp(),
    })
}

fn upper_hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02X}")).collect()
}

fn rfc3339(at: x509_parser::time::ASN1Time) -> Result<String, String> {
    at.to_datetime()
        .format(&time::format_description::well_known::Rfc3339)
        .map_err(|_| "the certificate's validity dates cannot be printed".into())
}

fn alternative_names(cert: &x509_parser::certificate::X509Certificate<'_>) -> Vec<String> {
    use x509_parser::extensions::GeneralName;
    let Ok(Some(san)) = cert.subject_alternative_name() else {
        return Vec::new();
    };
    san.value
        .general_names
        .iter()
        .filter_map(|name| match name {
            GeneralName::DNSName(dns) => Some((*dns).to_owned()),
            GeneralName::IPAddress(bytes) => ip_text(bytes),
            _ => None,
        })
        .collect()
}

fn ip_text(bytes: &[u8]) -> Option<String> {
    match bytes.len() {
        4 => Some(std::net::Ipv4Addr::from(<[u8; 4]>::try_from(bytes).ok()?).to_string()),
        16 => Some(std::net::Ipv6Addr::from(<[u8; 16]>::try_from(bytes).ok()?).to_string()),
        _ => None,
    }
}

/// A served certificate whose key belongs to another certificate fails every handshake, so
/// it is refused up front.
fn check_key_matches(leaf: &CertificateDer<'_>, key: &PrivateKeyDer<'_>) -> Result<(), String> {
    use rustls::crypto::aws_lc_rs::default_provider;
    let signing = default_provider()
        .key_provider
        .load_private_key(key.clone_key())
        .map_err(|_| "the private key is of a type Portico cannot serve (use RSA, ECDSA P-256/P-384 or Ed25519)")?;
    let certified = rustls::sign::CertifiedKey::new(vec![leaf.clone().into_owned()], signing);
    match certified.keys_match() {
        Ok(()) | Err(rustls::Error::InconsistentKeys(rustls::InconsistentKeys::Unknown)) => Ok(()),
        Err(_) => Err("the private key does not belong to the certificate (the first certificate must be the leaf the key was made for)".into()),
    }
}

/// A warning when the leaf is not self-signed and the chain does not carry its issuer:
/// clients that do not already hold that intermediate then fail to build a path.
fn missing_issuer(chain: &[CertificateDer<'_>]) -> Option<String> {
    let parsed: Vec<_> = chain
        .iter()
        .filter_map(|c| x509_parser::parse_x509_certificate(c).ok().map(|(_, c)| c))
        .collect();
    let leaf = parsed.first()?;
    let issuer = leaf.issuer().as_raw();
    if issuer == leaf.subject().as_raw()
        || parsed[1..].iter().any(|c| c.subject().as_raw() == issuer)
    {
        return None;
    }
    Some(format!(
        "the chain does not include the leaf's issuer ({}); add the intermediate certificate(s) after the leaf, or clients that lack it will fail to connect",
        leaf.issuer()
    ))
}
