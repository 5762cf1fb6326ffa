//! The store against real databases: a SQLite file, and the PostgreSQL of the machine
//! (`PORTICO_TEST_POSTGRES`, default `postgres://postgres@127.0.0.1:5432/postgres`; each run
//! creates and drops its own database). Every behaviour is checked on both.

mod common;

use common::{on_both, path, put};
use portico_control::store::{Change, Kind, Page, Precondition, SqlStore, Store, StoreError};
use serde_json::json;

#[tokio::test]
async fn puts_version_resources_and_skip_unchanged_ones() {
    on_both(|store| async move {
        assert_eq!(store.revision().await.unwrap(), 0);
        let echo = json!({"displayName": "Echo", "path": "echo"});
        let rev = store
            .commit(
                None,
                &[Change::Put {
                    path: path("apis/Echo"),
                    properties: echo.clone(),
                    precondition: Precondition::Absent,
                }],
            )
            .await
            .unwrap();
        assert_eq!(rev, 1);
        let got = store
            .get(&path("APIS/ECHO"))
            .await
            .unwrap()
            .expect("ids ignore case");
        assert_eq!(
            got.path.as_str(),
            "apis/Echo",
            "the path keeps the case it was written in"
        );
        assert_eq!(got.properties, echo);
        assert_eq!(got.etag(), "\"1\"");

        // The same properties again: nothing changes, the revision stays.
        assert_eq!(
            store
                .commit(None, &[put("apis/echo", echo.clone())])
                .await
                .unwrap(),
            1
        );
        assert_eq!(store.audit(0, 100).await.unwrap().len(), 1);

        let err = store
            .commit(
                None,
                &[Change::Put {
                    path: path("apis/echo"),
                    properties: echo.clone(),
                    precondition: Precondition::Absent,
                }],
            )
            .await
            .unwrap_err();
        assert!(matches!(err, StoreError::AlreadyExists(_)), "{err}");
    })
    .await;
}

#[tokio::test]
async fn if_match_guards_updates_and_batches_are_atomic() {
    on_both(|store| async move {
        store
            .commit(None, &[put("apis/a", json!({"v": 1}))])
            .await
            .unwrap();
        let stale = Change::Put {
            path: path("apis/a"),
            properties: json!({"v": 2}),
            precondition: Precondition::Matches("\"999\"".into()),
        };
        let err = store
            .commit(None, &[put("apis/b", json!({})), stale])
            .await
            .unwrap_err();
        match err {
            StoreError::PreconditionFailed { current, .. } => assert_eq!(current, "\"1\""),
            other => panic!("{other}"),
        }
        assert_eq!(
            store.get(&path("apis/b")).await.unwrap(),
            None,
            "nothing of a failed batch is kept"
        );
        assert_eq!(store.revision().await.unwrap(), 1);

        let fresh = Change::Put {
            path: path("apis/a"),
            properties: json!({"v": 2}),
            precondition: Precondition::Matches("\"1\"".into()),
        };
        assert_eq!(
            store
                .commit(Some(1), std::slice::from_ref(&fresh))
                .await
                .unwrap(),
            2
        );
        // A commit based on an older revision is refused: the caller's view is stale.
        let err = store
            .commit(Some(1), &[put("apis/c", json!({}))])
            .await
            .unwrap_err();
        assert!(
            matches!(
                err,
                StoreError::Stale {
                    base: 1,
                    current: 2
                }
            ),
            "{err}"
        );
        assert_eq!(store.revision().await.unwrap(), 2);
        assert_eq!(
            store
                .get(&path("apis/a"))
                .await
                .unwrap()
                .unwrap()
                .properties,
            json!({"v": 2})
        );
    })
    .await;
}

#[tokio::test]
async fn deletes_take_children_and_nothing_else() {
    on_both(|store| async move {
        store
            .commit(
                None,
                &[
                    put("apis/echo", json!({})),
                    put("apis/echo/operations/get_user", json!({"method": "GET"})),
                    put("apis/echo/policies/policy", json!({"value": "<policies/>"})),
                    put("apis/echo2", json!({})),
                    put("apis/echoxoperations", json!({})),
                    put("apis/a_b", json!({})),
                    put("apis/a_b/operations/o", json!({})),
                    put("apis/axb", json!({})),
                    put("apis/axb/operations/o", json!({})),
                ],
            )
            .await
            .unwrap();
        let rev = store
            .commit(
                None,
                &[
                    Change::Delete {
                        path: path("apis/echo"),
                        precondition: Precondition::None,
                    },
                    // '_' is a LIKE wildcard: apis/axb must survive deleting apis/a_b.
                    Change::Delete {
                        path: path("apis/a_b"),
                        precondition: Precondition::None,
                    },
                ],
            )
            .await
            .unwrap();
        let (at, all) = store.all().await.unwrap();
        assert_eq!(at, rev);
        let left: Vec<&str> = all.iter().map(|s| s.path.as_str()).collect();
        assert_eq!(
            left,
            [
                "apis/axb",
                "apis/axb/operations/o",
                "apis/echo2",
                "apis/echoxoperations"
            ]
        );
        let deletes: Vec<String> = store
            .audit(0, 1000)
            .await
            .unwrap()
            .into_iter()
            .filter(|e| e.revision == rev && e.action == "delete")
            .map(|e| e.path)
            .collect();
        assert_eq!(deletes.len(), 5, "{deletes:?}");
        let err = store
            .commit(
                None,
                &[Change::Delete {
                    path: path("apis/echo"),
                    precondition: Precondition::None,
                }],
            )
            .await
            .unwrap_err();
        assert!(matches!(err, StoreError::NotFound(_)), "{err}");
    })
    .await;
}

#[tokio::test]
async fn lists_by_kind_and_parent_in_pages() {
    on_both(|store| async move {
        let mut changes = vec![put("apis/a", json!({})), put("apis/b", json!({}))];
        for i in 0..5 {
            changes.push(put(&format!("apis/a/operations/op{i}"), json!({"i": i})));
        }
        changes.push(put("apis/b/operations/other", json!({})));
        store.commit(None, &changes).await.unwrap();
        let page = |skip, top| Page { skip, top };
        let ops = store
            .list(Kind::Operation, Some("APIS/A"), page(1, 3))
            .await
            .unwrap();
        let ids: Vec<&str> = ops.iter().map(|s| s.path.id()).collect();
        assert_eq!(ids, ["op1", "op2", "op3"]);
        assert_eq!(
            store
                .list(Kind::Operation, None, page(0, 100))
                .await
                .unwrap()
                .len(),
            6
        );
        assert_eq!(
            store
                .list(Kind::Api, None, page(0, 100))
                .await
                .unwrap()
                .len(),
            2
        );
    })
    .await;
}

#[tokio::test]
async fn concurrent_commits_each_get_their_own_revision() {
    on_both(|store| async move {
        let tasks: Vec<_> = (0..10)
            .map(|i| {
                let store = store.clone();
                tokio::spawn(async move {
                    store
                        .commit(None, &[put(&format!("backends/b{i}"), json!({"i": i}))])
                        .await
                        .unwrap()
                })
            })
            .collect();
        let mut revisions = Vec::new();
        for t in tasks {
            revisions.push(t.await.unwrap());
        }
        revisions.sort();
        assert_eq!(revisions, (1..=10).collect::<Vec<u64>>());
        assert_eq!(store.revision().await.unwrap(), 10);
    })
    .await;
}

#[tokio::test]
async fn a_sqlite_file_keeps_its_data_across_reopening() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}/portico.db", dir.path().display());
    let store = SqlStore::open(&url).await.unwrap();
    store
        .commit(None, &[put("namedValues/nv", json!({"value": "x"}))])
        .await
        .unwrap();
    store.close().await;
    let again = SqlStore::open(&url).await.unwrap();
    assert_eq!(again.revision().await.unwrap(), 1);
    assert!(again.get(&path("namedValues/nv")).await.unwrap().is_some());
}

#[tokio::test]
async fn unsupported_urls_are_refused_with_a_hint() {
    let err = SqlStore::open("mysql://x").await.unwrap_err();
    assert!(
        err.to_string().contains("sqlite://PATH or postgres://"),
        "{err}"
    );
}

#[tokio::test]
async fn the_example_document_goes_in_and_comes_back_out() {
    use portico_control::declarative::{document_of, resources_of};
    use portico_model::{Document, DocumentFormat};
    let text = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../examples/portico.yaml"
    ))
    .unwrap();
    let doc = Document::parse_valid(&text, DocumentFormat::Yaml).unwrap();
    on_both(|store| {
        let doc = doc.clone();
        async move {
            let changes: Vec<Change> = resources_of(&doc)
                .into_iter()
                .map(|(path, properties)| Change::Put {
                    path,
                    properties,
                    precondition: Precondition::None,
                })
                .collect();
            let first = store.commit(None, &changes).await.unwrap();
            // Applying the same document again changes nothing and keeps the revision.
            assert_eq!(store.commit(None, &changes).await.unwrap(), first);
            let (_, stored) = store.all().await.unwrap();
            let back = document_of(&stored).unwrap();
            back.validate().unwrap();
            assert_eq!(back.apis.len(), doc.apis.len());
            assert_eq!(back.subscriptions, doc.subscriptions);
            assert_eq!(back.products, doc.products);
            let echo = back.apis.iter().find(|a| a.id == "echo-api").unwrap();
            assert_eq!(echo.operations.len(), 5);
        }
    })
    .await;
}
