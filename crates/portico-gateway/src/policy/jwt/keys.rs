//! Signing keys for `validate-jwt`: written in the policy (`<issuer-signing-keys>`) or read
//! from a JWKS document, each with its key id and the algorithm family it verifies.

use base64::Engine;
use jsonwebtoken::jwk::{AlgorithmParameters, Jwk};
use jsonwebtoken::{Algorithm, DecodingKey};
use portico_policy::policies::SigningKey;
use portico_policy::Template;

/// The algorithms Portico accepts, by their JOSE names.
pub fn algorithm(name: &str) -> Option<Algorithm> {
    Some(match name {
        "HS256" => Algorithm::HS256,
        "HS384" => Algorithm::HS384,
        "HS512" => Algorithm::HS512,
        "RS256" => Algorithm::RS256,
        "RS384" => Algorithm::RS384,
        "RS512" => Algorithm::RS512,
        "PS256" => Algorithm::PS256,
        "PS384" => Algorithm::PS384,
        "PS512" => Algorithm::PS512,
        "ES256" => Algorithm::ES256,
        "ES384" => Algorithm::ES384,
        _ => return None,
    })
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Family {
    Hmac,
    Rsa,
    Ec,
}

impl Family {
    pub fn of(alg: Algorithm) -> Family {
        match alg {
            Algorithm::HS256 | Algorithm::HS384 | Algorithm::HS512 => Family::Hmac,
            Algorithm::ES256 | Algorithm::ES384 => Family::Ec,
            _ => Family::Rsa,
        }
    }
}

/// A key ready to verify signatures.
#[derive(Clone)]
pub struct Key {
    pub id: Option<String>,
    pub family: Family,
    pub key: DecodingKey,
}

impl std::fmt::Debug for Key {
    // Never print key material.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Key")
            .field("id", &self.id)
            .field("family", &self.family)
            .finish_non_exhaustive()
    }
}

impl Key {
    /// Whether this key may have signed a token with this `kid` and algorithm: a key or a
    /// token without an id matches any.
    pub fn fits(&self, kid: Option<&str>, alg: Algorithm) -> bool {
        let id_ok = match (&self.id, kid) {
            (Some(mine), Some(theirs)) => mine == theirs,
            _ => true,
        };
        id_ok && self.family == Family::of(alg)
    }

    /// A symmetric key from its base64 text.
    pub fn symmetric(id: Option<String>, base64_text: &str) -> Result<Key, String> {
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(base64_text.trim())
            .map_err(|_| "a symmetric <key> must be base64".to_owned())?;
        Ok(Key {
            id,
            family: Family::Hmac,
            key: DecodingKey::from_secret(&bytes),
        })
    }

    /// A key from a JWK; `None` for key types Portico does not verify with.
    pub fn from_jwk(jwk: &Jwk) -> Option<Key> {
        let family = match &jwk.algorithm {
            AlgorithmParameters::RSA(_) => Family::Rsa,
            AlgorithmParameters::EllipticCurve(_) => Family::Ec,
            AlgorithmParameters::OctetKey(_) => Family::Hmac,
            AlgorithmParameters::OctetKeyPair(_) => return None,
        };
        Some(Key {
            id: jwk.common.key_id.clone(),
            family,
            key: DecodingKey::from_jwk(jwk).ok()?,
        })
    }
}

/// The keys written in the policy: literal ones ready now, expression ones per request.
#[derive(Debug, Default)]
pub struct PolicyKeys {
    pub fixed: Vec<Key>,
    pub computed: Vec<(Option<String>, Template)>,
}

impl PolicyKeys {
    pub fn new(keys: &[SigningKey]) -> Result<Self, String> {
        let mut out = PolicyKeys::default();
        for k in keys {
            match k {
                SigningKey::Symmetric { id, key } => match key.as_literal() {
                    Some(text) => out.fixed.push(Key::symmetric(id.clone(), text)?),
                    None => out.computed.push((id.clone(), key.clone())),
                },
                SigningKey::Rsa { id, n, e } => out.fixed.push(Key {
                    id: id.clone(),
                    family: Family::Rsa,
                    key: DecodingKey::from_rsa_components(n, e)
                        .map_err(|_| "an RSA <key> needs base64url n and e".to_owned())?,
                }),
            }
        }
        Ok(out)
    }
}

/// The usable keys of a JWKS document (`{"keys": [...]}`); keys of other types are skipped.
pub fn from_jwks(doc: &serde_json::Value) -> Vec<Key> {
    doc.get("keys")
        .and_then(|k| k.as_array())
        .map(|keys| {
            keys.iter()
                .filter_map(|k| serde_json::from_value::<Jwk>(k.clone()).ok())
                .filter_map(|jwk| Key::from_jwk(&jwk))
                .collect()
        })
        .unwrap_or_default()
}
