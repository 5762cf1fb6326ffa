//! The first-start configuration of `portico up`, like APIM's default instance: an Echo API
//! backed by the built-in echo endpoint, a `starter` product holding it, and a subscription to
//! that product whose key the newcomer can use at once.

use crate::declarative::canonical;
use crate::keys::random_key;
use crate::store::{Change, Precondition, ResourcePath, Store, StoreError};
use serde_json::{json, Value};

/// The seeded subscription's id.
pub const DEMO_SUBSCRIPTION: &str = "starter-demo";

/// Seeds an empty store; a store with any revision is left alone. Returns whether it seeded.
pub async fn seed_if_empty(store: &dyn Store, echo_url: &str) -> Result<bool, StoreError> {
    if store.revision().await? > 0 {
        return Ok(false);
    }
    let (key, secondary) = (random_key(), random_key());
    let resources: Vec<(&str, Value)> = vec![
        (
            "apis/echo-api",
            json!({"displayName": "Echo API", "path": "echo", "serviceUrl": echo_url}),
        ),
        (
            "apis/echo-api/operations/retrieve-resource",
            json!({"displayName": "Retrieve resource", "method": "GET", "urlTemplate": "/resource"}),
        ),
        (
            "apis/echo-api/operations/create-resource",
            json!({"displayName": "Create resource", "method": "POST", "urlTemplate": "/resource"}),
        ),
        (
            "apis/echo-api/operations/everything-else",
            json!({"displayName": "Any method, any path", "method": "*", "urlTemplate": "/*"}),
        ),
        ("products/starter", json!({"displayName": "Starter"})),
        ("products/starter/apis/echo-api", json!({})),
        (
            "subscriptions/starter-demo",
            json!({"displayName": "Demo subscription to Starter", "scope": "/products/starter", "primaryKey": key, "secondaryKey": secondary}),
        ),
    ];
    let changes: Vec<Change> = resources
        .into_iter()
        .map(|(path, properties)| {
            let path = ResourcePath::parse(path).expect("seed paths are valid");
            // Stored as the API stores writes, so that exporting and applying changes nothing.
            let properties = canonical(&path, &properties).expect("seed resources are valid");
            Change::Put {
                path,
                properties,
                precondition: Precondition::Absent,
            }
        })
        .collect();
    store.commit(Some(0), &changes).await?;
    Ok(true)
}

/// The demo subscription's primary key, if it still exists.
pub async fn demo_key(store: &dyn Store) -> Result<Option<String>, StoreError> {
    let path =
        ResourcePath::parse(&format!("subscriptions/{DEMO_SUBSCRIPTION}")).expect("valid path");
    Ok(store.get(&path).await?.and_then(|s| {
        s.properties
            .get("primaryKey")
            .and_then(Value::as_str)
            .map(str::to_owned)
    }))
}
