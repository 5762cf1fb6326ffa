//! The subscription-key step of a request, as APIM does it: the key comes from the API's
//! header or, failing that, its query parameter; a key, when sent, must be valid for the API
//! even if the API is open; an API that requires one refuses requests without it.

use crate::errors::GatewayError;
use crate::query;
use crate::runtime::{CompiledApi, KeyCheck, Runtime};
use http::HeaderMap;
use std::borrow::Cow;

/// Who a request was admitted as.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Admission {
    pub subscription: Option<usize>,
    pub product: Option<usize>,
}

/// Checks the request's key for `api` (at index `api_index` of `rt`).
pub fn admit(
    rt: &Runtime,
    api: &CompiledApi,
    api_index: usize,
    headers: &HeaderMap,
    query: Option<&str>,
) -> Result<Admission, GatewayError> {
    let key: Option<Cow<'_, [u8]>> = match headers.get(&api.key_header) {
        Some(v) => Some(Cow::Borrowed(v.as_bytes())),
        None => query
            .and_then(|q| query::find(q, &api.key_query))
            .map(|k| match k {
                Cow::Borrowed(s) => Cow::Borrowed(s.as_bytes()),
                Cow::Owned(s) => Cow::Owned(s.into_bytes()),
            }),
    };
    let Some(key) = key else {
        return if api.subscription_required {
            Err(GatewayError::MissingKey)
        } else {
            Ok(Admission::default())
        };
    };
    match rt.subscriptions.check(&key, api_index, &api.products) {
        KeyCheck::Granted {
            subscription,
            product,
        } => Ok(Admission {
            subscription: Some(subscription),
            product,
        }),
        KeyCheck::Denied => Err(GatewayError::InvalidKey),
    }
}
