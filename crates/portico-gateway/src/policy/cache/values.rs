//! `cache-lookup-value`, `cache-store-value` and `cache-remove-value`: values by key in the
//! gateway's internal cache or the external one. Values are frozen when stored and copied
//! when read, so a `JObject` cached by one request cannot be changed by another that read
//! it; the external cache keeps them in their stored form
//! ([`portico_policy::expr::stored`]), so a value tied to this process cannot go there.

use super::external;
use super::store::Cached;
use crate::policy::eval::{self, param, text};
use crate::policy::execute::Run;
use crate::policy::failure::Failure;
use portico_policy::expr::{stored, Value};
use portico_policy::policies::{CacheLookupValue, CacheRemoveValue, CacheStoreValue};
use std::sync::PoisonError;
use std::time::{Duration, Instant};

/// Keys of values and of responses never meet.
pub(super) fn value_key(key: &str) -> String {
    format!("v:{key}")
}

impl Run<'_, '_> {
    pub(in crate::policy) async fn cache_lookup_value(
        &mut self,
        p: &CacheLookupValue,
    ) -> Result<(), Failure> {
        let key = value_key(&text(&p.key, &mut self.cx())?);
        let found = match self.external_cache(p.caching_type) {
            Some(redis) => external::get(&redis, &key)
                .await
                .and_then(|b| stored::decode(&b)),
            None => match self.shared.cache.get(&key, Instant::now()) {
                Some(Cached::Value(v)) => Some(freeze(&v)),
                _ => None,
            },
        };
        // APIM: on a miss the variable is set to the default when there is one, else left alone.
        let value = match (found, &p.default_value) {
            (Some(v), _) => v,
            (None, Some(d)) => eval::value(d, &mut self.cx())?,
            (None, None) => return Ok(()),
        };
        self.st.set_variable(&p.variable_name, value);
        Ok(())
    }

    pub(in crate::policy) async fn cache_store_value(
        &mut self,
        p: &CacheStoreValue,
    ) -> Result<(), Failure> {
        let key = value_key(&text(&p.key, &mut self.cx())?);
        let value = freeze(&eval::value(&p.value, &mut self.cx())?);
        let seconds = param(&p.duration, &mut self.cx())?;
        if let Some(redis) = self.external_cache(p.caching_type) {
            let bytes = stored::encode(&value).map_err(|e| {
                Failure::policy(
                    "CacheValueNotSerializable",
                    format!(
                        "A {} cannot be kept in the external cache; store plain data \
                         (a string, number, JSON token, or an array or dictionary of those).",
                        e.0
                    ),
                )
            })?;
            external::put(&redis, &key, &bytes, seconds).await;
            return Ok(());
        }
        let size = value.to_string().len();
        let expires = Instant::now() + Duration::from_secs(seconds.into());
        self.shared
            .cache
            .put(&key, Cached::Value(value), size, expires);
        Ok(())
    }

    pub(in crate::policy) async fn cache_remove_value(
        &mut self,
        p: &CacheRemoveValue,
    ) -> Result<(), Failure> {
        let key = value_key(&text(&p.key, &mut self.cx())?);
        match self.external_cache(p.caching_type) {
            Some(redis) => external::remove(&redis, &key).await,
            None => self.shared.cache.remove(&key),
        }
        Ok(())
    }
}

/// A deep copy of the shared (mutable) parts of a value; immutable values are shared.
pub(super) fn freeze(v: &Value) -> Value {
    match v {
        Value::Array(a) => {
            let a = a.lock().unwrap_or_else(PoisonError::into_inner);
            let items = a.items.iter().map(freeze).collect();
            if a.list {
                Value::list(a.elem.clone(), items)
            } else {
                Value::array(a.elem.clone(), items)
            }
        }
        Value::Dict(d) => {
            let d = d.lock().unwrap_or_else(PoisonError::into_inner);
            Value::dict(d.iter().map(|(k, v)| (k.clone(), freeze(v))).collect())
        }
        Value::Json(r) => r.get().map_or(Value::Null, Value::json),
        other => other.clone(),
    }
}
