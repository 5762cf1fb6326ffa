//! [`SealedStore`]: secrets encrypted at rest. It wraps any [`Store`], encrypts the sensitive
//! properties of every put (the table is [`SENSITIVE`]) before the inner store sees them, and
//! decrypts them on every read, so the management API and the snapshot compiler above it work
//! with plaintext and the database only ever holds ciphertext. The audit trail holds no
//! properties and passes through untouched.
//!
//! A sealed property is the string `enc:v1:` followed by the base64 of
//! `nonce (12 bytes) || AES-256-GCM ciphertext || tag (16 bytes)` of the property's JSON text.
//! The resource's key and the property's name are the associated data, so a ciphertext copied
//! to another resource or property does not decrypt.
//!
//! The nonce is synthetic: the first 12 bytes of HMAC-SHA256 over the associated data and the
//! plaintext, under a key of its own. Writing the same secret to the same place again yields
//! the same ciphertext, which the store needs to recognise an unchanged put (a second
//! `portico apply` keeps the revision). It reveals only that a property kept its value, which
//! the revision already tells. Distinct (place, plaintext) pairs get distinct nonces short of
//! a 96-bit collision, as with random nonces.
//!
//! Properties stored before encryption existed pass through as they are and are sealed by the
//! next put. Key rotation is not handled here yet.

use super::{AuditEntry, Change, Heartbeat, Kind, Page, ResourcePath, Store, StoreError, Stored};
use crate::master_key::{MasterKey, ENV, FILE_NAME};
use async_trait::async_trait;
use aws_lc_rs::aead::{Aad, LessSafeKey, Nonce, UnboundKey, AES_256_GCM, NONCE_LEN};
use aws_lc_rs::{hkdf, hmac};
use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use serde_json::{Map, Value};
use std::fmt;
use std::sync::Arc;

/// The properties that are secrets, by kind. This is the one place that decides it.
///
/// - Named values: `value`, when `secret` is true. A plain named value is configuration the
///   API shows to anyone who may read it, so it stays legible in the database.
/// - Certificates: `password` (a PFX's password), `key` (a PEM private key) and `data` (a
///   base64 PFX, which holds the private key).
/// - Gateways: `primaryKey`, `secondaryKey`: they sign the tokens gateways present to the
///   control plane; whoever has one can impersonate the gateway and receive its configuration.
/// - Subscriptions: `primaryKey`, `secondaryKey`: each is a credential that calls the APIs.
pub const SENSITIVE: &[(Kind, &[&str])] = &[
    (Kind::NamedValue, &["value"]),
    (Kind::Certificate, &["password", "key", "data"]),
    (Kind::Gateway, &["primaryKey", "secondaryKey"]),
    (Kind::Subscription, &["primaryKey", "secondaryKey"]),
];

/// The marker and format version of a sealed property.
const PREFIX: &str = "enc:v1:";

/// AES-GCM's tag length.
const TAG_LEN: usize = 16;

/// The properties of `kind` that may hold a secret; reads decrypt any of them that is sealed,
/// whatever flags the resource carries now.
fn sensitive(kind: Kind) -> &'static [&'static str] {
    SENSITIVE
        .iter()
        .find(|(k, _)| *k == kind)
        .map_or(&[], |(_, fields)| fields)
}

/// The properties of this resource that a write must seal.
fn to_seal(kind: Kind, properties: &Map<String, Value>) -> &'static [&'static str] {
    if kind == Kind::NamedValue && properties.get("secret") != Some(&Value::Bool(true)) {
        return &[];
    }
    sensitive(kind)
}

/// A [`Store`] that keeps secrets encrypted in the store it wraps.
pub struct SealedStore {
    inner: Arc<dyn Store>,
    cipher: LessSafeKey,
    nonce_key: hmac::Key,
}

impl SealedStore {
    /// Wraps `inner`, sealing with working keys derived from `key` (HKDF-SHA256), one for
    /// AES-256-GCM and one for the synthetic nonces, so neither use weakens the other.
    pub fn new(inner: Arc<dyn Store>, key: &MasterKey) -> Self {
        let prk =
            hkdf::Salt::new(hkdf::HKDF_SHA256, b"portico secrets at rest").extract(key.expose());
        // `expand` fails only for outputs longer than 255 hash lengths; these are 32 bytes.
        let cipher: UnboundKey = prk
            .expand(&[b"v1 aes-256-gcm"], &AES_256_GCM)
            .expect("a 32-byte HKDF output")
            .into();
        let nonce_key: hmac::Key = prk
            .expand(&[b"v1 synthetic nonce"], hmac::HMAC_SHA256)
            .expect("a 32-byte HKDF output")
            .into();
        Self {
            inner,
            cipher: LessSafeKey::new(cipher),
            nonce_key,
        }
    }

    /// Reads every resource once, so a master key that does not match the database is
    /// reported at start rather than by the first request that needs a secret.
    pub async fn verify(&self) -> Result<(), StoreError> {
        self.all().await.map(|_| ())
    }

    fn seal_properties(&self, path: &ResourcePath, properties: &Value) -> Value {
        let mut sealed = properties.clone();
        if let Value::Object(map) = &mut sealed {
            for field in to_seal(path.kind(), map) {
                if let Some(value) = map.get_mut(*field).filter(|v| !v.is_null()) {
                    *value = Value::String(self.seal(path, field, value));
                }
            }
        }
        sealed
    }

    fn unseal_stored(&self, mut stored: Stored) -> Result<Stored, StoreError> {
        if let Value::Object(map) = &mut stored.properties {
            // Only what a write would have sealed: a non-secret named value whose text
            // happens to start with the prefix is plain text, not a ciphertext.
            for field in to_seal(stored.path.kind(), map) {
                let Some(value) = map.get_mut(*field) else {
                    continue;
                };
                // Anything else was written before encryption existed: as it is.
                if let Some(sealed) = value.as_str().and_then(|s| s.strip_prefix(PREFIX)) {
                    *value = self.unseal(&stored.path, field, sealed).ok_or_else(|| {
                        StoreError::Corrupt(format!(
                            "{}: the {field:?} property cannot be decrypted: the master key ({ENV} or the {FILE_NAME} file) is not the one it was written with, or the stored value was altered",
                            stored.path
                        ))
                    })?;
                }
            }
        }
        Ok(stored)
    }

    fn seal(&self, path: &ResourcePath, field: &str, value: &Value) -> String {
        let aad = associated_data(path, field);
        let mut data = serde_json::to_vec(value).expect("a JSON value serialises");
        let mut tagged = hmac::Context::with_key(&self.nonce_key);
        tagged.update(&aad);
        tagged.update(&data);
        let mut nonce = [0u8; NONCE_LEN];
        nonce.copy_from_slice(&tagged.sign().as_ref()[..NONCE_LEN]);
        self.cipher
            .seal_in_place_append_tag(
                Nonce::assume_unique_for_key(nonce),
                Aad::from(&aad),
                &mut data,
            )
            .expect("AES-GCM seals any input shorter than 64 GiB");
        let mut out = nonce.to_vec();
        out.append(&mut data);
        format!("{PREFIX}{}", STANDARD.encode(out))
    }

    /// The plaintext of a sealed property (without its prefix), or `None` if it does not
    /// decrypt: the key differs, or the text was altered or moved.
    fn unseal(&self, path: &ResourcePath, field: &str, sealed: &str) -> Option<Value> {
        let mut bytes = STANDARD.decode(sealed).ok()?;
        if bytes.len() < NONCE_LEN + TAG_LEN {
            return None;
        }
        let nonce = Nonce::try_assume_unique_for_key(&bytes[..NONCE_LEN]).ok()?;
        let aad = associated_data(path, field);
        let plain = self
            .cipher
            .open_in_place(nonce, Aad::from(&aad), &mut bytes[NONCE_LEN..])
            .ok()?;
        serde_json::from_slice(plain).ok()
    }
}

/// What binds a ciphertext to its place: the format, the resource's key (case-folded, as ids
/// compare) and the property. Keys cannot hold NUL (see [`ResourcePath`]), so the NULs
/// separate unambiguously, and the last one separates it from the plaintext in the nonce's
/// HMAC input.
fn associated_data(path: &ResourcePath, field: &str) -> Vec<u8> {
    format!("{PREFIX}\0{}\0{field}\0", path.key()).into_bytes()
}

impl fmt::Debug for SealedStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SealedStore")
            .field("inner", &self.inner)
            .finish_non_exhaustive()
    }
}

#[async_trait]
impl Store for SealedStore {
    async fn revision(&self) -> Result<u64, StoreError> {
        self.inner.revision().await
    }

    async fn get(&self, path: &ResourcePath) -> Result<Option<Stored>, StoreError> {
        let stored = self.inner.get(path).await?;
        stored.map(|s| self.unseal_stored(s)).transpose()
    }

    async fn list(
        &self,
        kind: Kind,
        parent: Option<&str>,
        page: Page,
    ) -> Result<Vec<Stored>, StoreError> {
        let listed = self.inner.list(kind, parent, page).await?;
        listed.into_iter().map(|s| self.unseal_stored(s)).collect()
    }

    async fn all(&self) -> Result<(u64, Vec<Stored>), StoreError> {
        let (revision, resources) = self.inner.all().await?;
        let resources = resources
            .into_iter()
            .map(|s| self.unseal_stored(s))
            .collect::<Result<_, _>>()?;
        Ok((revision, resources))
    }

    async fn commit(&self, base: Option<u64>, changes: &[Change]) -> Result<u64, StoreError> {
        let sealed: Vec<Change> = changes
            .iter()
            .map(|change| match change {
                Change::Put {
                    path,
                    properties,
                    precondition,
                } => Change::Put {
                    path: path.clone(),
                    properties: self.seal_properties(path, properties),
                    precondition: precondition.clone(),
                },
                delete @ Change::Delete { .. } => delete.clone(),
            })
            .collect();
        self.inner.commit(base, &sealed).await
    }

    async fn audit(&self, after: u64, limit: u64) -> Result<Vec<AuditEntry>, StoreError> {
        self.inner.audit(after, limit).await
    }

    // Heartbeats hold no secrets: they pass through.
    async fn record_heartbeat(&self, heartbeat: &Heartbeat) -> Result<(), StoreError> {
        self.inner.record_heartbeat(heartbeat).await
    }

    async fn heartbeats(&self, gateway_id: &str) -> Result<Vec<Heartbeat>, StoreError> {
        self.inner.heartbeats(gateway_id).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_sealed_property_is_one_a_read_decrypts() {
        let all = serde_json::json!({"secret": true});
        for (kind, fields) in SENSITIVE {
            assert_eq!(to_seal(*kind, all.as_object().unwrap()), *fields);
        }
        let plain = serde_json::json!({"secret": false});
        assert!(to_seal(Kind::NamedValue, plain.as_object().unwrap()).is_empty());
        assert!(sensitive(Kind::Api).is_empty());
    }
}
