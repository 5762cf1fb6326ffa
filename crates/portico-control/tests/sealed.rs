//! Secrets at rest: a [`SealedStore`] over real databases (a SQLite file and PostgreSQL),
//! looked at from above (plaintext) and from below (the rows the inner [`SqlStore`] holds).

mod common;

use common::{on_both, path, put};
use portico_control::master_key::MasterKey;
use portico_control::store::{Kind, Page, SealedStore, SqlStore, Store, StoreError};
use serde_json::{json, Value};
use std::sync::Arc;

const SECRETS: &[&str] = &[
    "s3cret-named-value",
    "pfx-password",
    "-----BEGIN PRIVATE KEY-----",
    "UEZYIGJ5dGVz",
    "sub-primary-key",
    "sub-secondary-key",
    "gw-primary-key",
];

fn sealed(raw: &Arc<SqlStore>, key: u8) -> SealedStore {
    SealedStore::new(raw.clone(), &MasterKey::from_bytes([key; 32]))
}

/// One resource of every kind that holds secrets, and a named value that is not secret.
fn resources() -> Vec<(&'static str, Value)> {
    vec![
        (
            "namedValues/Db-Password",
            json!({"displayName": "db", "value": "s3cret-named-value", "secret": true}),
        ),
        (
            "namedValues/plain",
            json!({"displayName": "plain", "value": "shown-value", "secret": false}),
        ),
        (
            "certificates/pfx",
            json!({"data": "UEZYIGJ5dGVz", "password": "pfx-password"}),
        ),
        (
            "certificates/pem",
            json!({"data": "-----BEGIN CERTIFICATE-----", "key": "-----BEGIN PRIVATE KEY-----"}),
        ),
        (
            "subscriptions/s",
            json!({"scope": "/apis", "primaryKey": "sub-primary-key", "secondaryKey": "sub-secondary-key"}),
        ),
        (
            "gateways/g",
            json!({"description": "edge", "primaryKey": "gw-primary-key", "secondaryKey": null}),
        ),
    ]
}

async fn put_all(store: &dyn Store) -> u64 {
    let changes: Vec<_> = resources()
        .into_iter()
        .map(|(p, properties)| put(p, properties))
        .collect();
    store.commit(None, &changes).await.unwrap()
}

/// The properties as the database holds them.
async fn raw_properties(raw: &SqlStore, p: &str) -> Value {
    raw.get(&path(p)).await.unwrap().unwrap().properties
}

/// Writes `properties` under the sealing layer, as an attacker with database access (or an
/// older Portico) would.
async fn raw_put(raw: &SqlStore, p: &str, properties: Value) {
    raw.commit(None, &[put(p, properties)]).await.unwrap();
}

fn assert_undecryptable(err: StoreError, leaked: &[&str]) {
    let message = err.to_string();
    assert!(matches!(err, StoreError::Corrupt(_)), "{message}");
    assert!(
        message.contains("master key") && message.contains("PORTICO_MASTER_KEY"),
        "{message}"
    );
    assert!(
        !message.contains("enc:v1"),
        "the ciphertext leaks: {message}"
    );
    for secret in leaked {
        assert!(!message.contains(secret), "{secret} leaks: {message}");
    }
}

#[tokio::test]
async fn secrets_are_encrypted_in_the_database_and_plain_above_it() {
    on_both(|sql| async move {
        let raw = Arc::new(sql);
        let store = sealed(&raw, 1);
        assert_eq!(put_all(&store).await, 1);

        let (_, rows) = raw.all().await.unwrap();
        let dump =
            serde_json::to_string(&rows.iter().map(|r| &r.properties).collect::<Vec<_>>()).unwrap();
        for secret in SECRETS {
            assert!(
                !dump.contains(secret),
                "{secret} is stored in clear: {dump}"
            );
        }
        let db = raw_properties(&raw, "namedValues/db-password").await;
        assert!(db["value"].as_str().unwrap().starts_with("enc:v1:"), "{db}");
        assert_eq!(db["displayName"], "db", "other properties stay legible");
        let plain = raw_properties(&raw, "namedValues/plain").await;
        assert_eq!(
            plain["value"], "shown-value",
            "a plain named value is not a secret"
        );
        let gateway = raw_properties(&raw, "gateways/g").await;
        assert_eq!(
            gateway["secondaryKey"],
            Value::Null,
            "nothing to hide in null"
        );

        // Reads through the seal see exactly what was written, by any spelling of the id.
        for (p, properties) in resources() {
            let got = store.get(&path(&p.to_uppercase())).await.unwrap().unwrap();
            assert_eq!(got.properties, properties, "{p}");
        }
        let (revision, all) = store.all().await.unwrap();
        assert_eq!(revision, 1);
        assert_eq!(all.len(), resources().len());
        let listed = store
            .list(Kind::Certificate, None, Page { skip: 0, top: 10 })
            .await
            .unwrap();
        assert_eq!(listed[0].properties["key"], "-----BEGIN PRIVATE KEY-----");
        store.verify().await.unwrap();

        let shown = format!("{store:?}");
        assert!(
            !shown.contains("cipher") && !shown.contains("nonce"),
            "no key material in Debug: {shown}"
        );
    })
    .await;
}

#[tokio::test]
async fn an_identical_put_keeps_the_revision_and_a_changed_secret_bumps_it() {
    on_both(|sql| async move {
        let raw = Arc::new(sql);
        let store = sealed(&raw, 1);
        assert_eq!(put_all(&store).await, 1);
        assert_eq!(
            put_all(&store).await,
            1,
            "the same secrets seal the same way"
        );
        assert_eq!(store.audit(0, 100).await.unwrap().len(), resources().len());

        let changed = json!({"displayName": "db", "value": "rotated", "secret": true});
        assert_eq!(
            store
                .commit(None, &[put("namedValues/db-password", changed.clone())])
                .await
                .unwrap(),
            2
        );
        let got = store.get(&path("namedValues/db-password")).await.unwrap();
        assert_eq!(got.unwrap().properties, changed);
    })
    .await;
}

#[tokio::test]
async fn another_master_key_cannot_read_the_secrets() {
    on_both(|sql| async move {
        let raw = Arc::new(sql);
        put_all(&sealed(&raw, 1)).await;
        let wrong = sealed(&raw, 2);
        let err = wrong
            .get(&path("namedValues/db-password"))
            .await
            .unwrap_err();
        assert_undecryptable(err, SECRETS);
        assert_undecryptable(wrong.all().await.unwrap_err(), SECRETS);
        assert_undecryptable(wrong.verify().await.unwrap_err(), SECRETS);
        let err = wrong
            .list(Kind::Subscription, None, Page { skip: 0, top: 10 })
            .await
            .unwrap_err();
        assert_undecryptable(err, SECRETS);
        // What holds no secret is still readable.
        let plain = wrong
            .get(&path("namedValues/plain"))
            .await
            .unwrap()
            .unwrap();
        assert_eq!(plain.properties["value"], "shown-value");
    })
    .await;
}

#[tokio::test]
async fn altered_or_moved_ciphertexts_do_not_decrypt() {
    on_both(|sql| async move {
        let raw = Arc::new(sql);
        let store = sealed(&raw, 1);
        put_all(&store).await;
        let db = raw_properties(&raw, "namedValues/db-password").await;
        let ciphertext = db["value"].as_str().unwrap().to_owned();

        // One character of the ciphertext changed.
        let mut tampered = db.clone();
        let mut chars: Vec<char> = ciphertext.chars().collect();
        let i = chars.len() - 5;
        chars[i] = if chars[i] == 'A' { 'B' } else { 'A' };
        tampered["value"] = json!(chars.into_iter().collect::<String>());
        raw_put(&raw, "namedValues/db-password", tampered).await;
        let err = store
            .get(&path("namedValues/db-password"))
            .await
            .unwrap_err();
        assert_undecryptable(err, SECRETS);

        // Cut short, or not base64 at all.
        for damaged in ["enc:v1:AAAA", "enc:v1:not base64!"] {
            raw_put(
                &raw,
                "namedValues/db-password",
                json!({"value": damaged, "secret": true}),
            )
            .await;
            let err = store
                .get(&path("namedValues/db-password"))
                .await
                .unwrap_err();
            assert_undecryptable(err, SECRETS);
        }

        // The intact ciphertext, copied to another named value.
        raw_put(
            &raw,
            "namedValues/copy",
            json!({"value": ciphertext, "secret": true}),
        )
        .await;
        let err = store.get(&path("namedValues/copy")).await.unwrap_err();
        assert_undecryptable(err, SECRETS);

        // A subscription's primary key moved to its secondary key.
        let mut sub = raw_properties(&raw, "subscriptions/s").await;
        sub["secondaryKey"] = sub["primaryKey"].clone();
        raw_put(&raw, "subscriptions/s", sub).await;
        let err = store.get(&path("subscriptions/s")).await.unwrap_err();
        assert_undecryptable(err, SECRETS);
    })
    .await;
}

#[tokio::test]
async fn values_written_before_encryption_pass_through_and_are_sealed_by_the_next_put() {
    on_both(|sql| async move {
        let raw = Arc::new(sql);
        let legacy = json!({"displayName": "old", "value": "legacy-secret", "secret": true});
        raw_put(&raw, "namedValues/old", legacy.clone()).await;
        let store = sealed(&raw, 1);
        let got = store.get(&path("namedValues/old")).await.unwrap().unwrap();
        assert_eq!(got.properties, legacy);
        store.verify().await.unwrap();

        assert_eq!(
            store
                .commit(None, &[put("namedValues/old", legacy.clone())])
                .await
                .unwrap(),
            2,
            "the same plaintext, now sealed, is a change"
        );
        let stored = raw_properties(&raw, "namedValues/old").await;
        assert!(stored["value"].as_str().unwrap().starts_with("enc:v1:"));
        let got = store.get(&path("namedValues/old")).await.unwrap().unwrap();
        assert_eq!(got.properties, legacy);

        // A secret written in the sealed form's spelling is still just a secret.
        let lookalike = json!({"value": "enc:v1:AAAA", "secret": true});
        store
            .commit(None, &[put("namedValues/lookalike", lookalike.clone())])
            .await
            .unwrap();
        let got = store.get(&path("namedValues/lookalike")).await.unwrap();
        assert_eq!(got.unwrap().properties, lookalike);
    })
    .await;
}

/// Found in review: a plain (non-secret) value that happens to start with the ciphertext
/// prefix was taken for a ciphertext on read and made the whole store unreadable.
#[tokio::test]
async fn plain_values_that_look_sealed_stay_plain() {
    on_both(|raw| async move {
        let raw = Arc::new(raw);
        let store = sealed(&raw, 7);
        let value =
            json!({"displayName": "odd", "value": "enc:v1:not-a-ciphertext", "secret": false});
        store
            .commit(None, &[put("namedValues/odd", value.clone())])
            .await
            .unwrap();
        let read = store.get(&path("namedValues/odd")).await.unwrap().unwrap();
        assert_eq!(read.properties, value);
        store.verify().await.unwrap();
    })
    .await;
}
