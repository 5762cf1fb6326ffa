//! Subscription keys: finding the subscription a key belongs to and deciding whether it grants
//! access to an API, as APIM does (scopes `/apis`, `/apis/{id}`, `/products/{id}`; only
//! `active` subscriptions pass).
//!
//! Keys are looked up in a hash map whose equality check is constant-time, and the hasher is
//! seeded randomly per process, so response timing reveals nothing useful about stored keys.

use hashbrown::{Equivalent, HashMap};
use std::hash::{Hash, Hasher};
use std::sync::Arc;
use subtle::ConstantTimeEq;

/// What a subscription grants access to, by compiled index.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    AllApis,
    Api(usize),
    Product(usize),
}

/// A compiled subscription.
#[derive(Debug)]
pub struct CompiledSubscription {
    pub id: Arc<str>,
    pub scope: Scope,
    pub active: bool,
}

/// The outcome of checking a key against an API.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyCheck {
    /// The key grants access; `product` is set for product-scoped subscriptions.
    Granted {
        subscription: usize,
        product: Option<usize>,
    },
    /// Unknown key, inactive subscription, or a scope that does not cover the API.
    Denied,
}

/// All subscription keys of a snapshot.
#[derive(Debug, Default)]
pub struct SubscriptionIndex {
    subscriptions: Vec<CompiledSubscription>,
    by_key: HashMap<StoredKey, usize>,
}

impl SubscriptionIndex {
    /// Adds a subscription and its keys.
    pub fn insert<'k>(
        &mut self,
        subscription: CompiledSubscription,
        keys: impl IntoIterator<Item = &'k str>,
    ) {
        let index = self.subscriptions.len();
        self.subscriptions.push(subscription);
        for key in keys {
            self.by_key.insert(StoredKey(key.as_bytes().into()), index);
        }
    }

    /// The subscription at `index`.
    pub fn get(&self, index: usize) -> &CompiledSubscription {
        &self.subscriptions[index]
    }

    /// Checks `key` for access to the API at `api`, which belongs to `api_products`.
    pub fn check(&self, key: &[u8], api: usize, api_products: &[usize]) -> KeyCheck {
        let Some(&index) = self.by_key.get(&KeyProbe(key)) else {
            return KeyCheck::Denied;
        };
        let sub = &self.subscriptions[index];
        if !sub.active {
            return KeyCheck::Denied;
        }
        match sub.scope {
            Scope::AllApis => KeyCheck::Granted {
                subscription: index,
                product: None,
            },
            Scope::Api(a) if a == api => KeyCheck::Granted {
                subscription: index,
                product: None,
            },
            Scope::Product(p) if api_products.contains(&p) => KeyCheck::Granted {
                subscription: index,
                product: Some(p),
            },
            _ => KeyCheck::Denied,
        }
    }
}

/// A stored key. Its `Debug` never shows the key.
#[derive(PartialEq, Eq)]
struct StoredKey(Box<[u8]>);

impl std::fmt::Debug for StoredKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("StoredKey(***)")
    }
}

impl Hash for StoredKey {
    fn hash<H: Hasher>(&self, state: &mut H) {
        state.write(&self.0);
    }
}

struct KeyProbe<'a>(&'a [u8]);

impl Hash for KeyProbe<'_> {
    fn hash<H: Hasher>(&self, state: &mut H) {
        state.write(self.0);
    }
}

impl Equivalent<StoredKey> for KeyProbe<'_> {
    fn equivalent(&self, key: &StoredKey) -> bool {
        self.0.ct_eq(&key.0).into()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn index() -> SubscriptionIndex {
        let mut idx = SubscriptionIndex::default();
        let sub = |id: &str, scope, active| CompiledSubscription {
            id: id.into(),
            scope,
            active,
        };
        idx.insert(sub("all", Scope::AllApis, true), ["k-all", "k-all-2"]);
        idx.insert(sub("api0", Scope::Api(0), true), ["k-api0"]);
        idx.insert(sub("prod1", Scope::Product(1), true), ["k-prod1"]);
        idx.insert(sub("off", Scope::AllApis, false), ["k-off"]);
        idx
    }

    #[test]
    fn scopes_grant_what_they_cover() {
        let idx = index();
        let granted = |key: &str, api, products: &[usize]| {
            matches!(
                idx.check(key.as_bytes(), api, products),
                KeyCheck::Granted { .. }
            )
        };
        assert!(granted("k-all", 5, &[]));
        assert!(granted("k-all-2", 5, &[]));
        assert!(granted("k-api0", 0, &[]));
        assert!(!granted("k-api0", 1, &[]));
        assert!(granted("k-prod1", 3, &[0, 1]));
        assert!(!granted("k-prod1", 3, &[0]));
        assert!(!granted("k-off", 0, &[]));
        assert!(!granted("nope", 0, &[]));
        assert_eq!(
            idx.check(b"k-prod1", 3, &[1]),
            KeyCheck::Granted {
                subscription: 2,
                product: Some(1)
            }
        );
    }
}
