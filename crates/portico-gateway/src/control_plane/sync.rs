//! The sync loop: long-poll the control plane for a configuration newer than the one applied,
//! apply it, back it up, ask again. On any failure: say so (log, metric, `/readyz`), move to
//! the next control-plane URL, wait a jittered backoff (never more than 10 s), try again. The
//! configuration being served is never dropped: losing the control plane changes nothing for
//! clients. At start, if the control plane cannot be reached, the on-disk backup is served.

use super::backoff;
use super::backup::Backup;
use super::client::{Answer, ClientError};
use super::status::ConfigSource;
use super::Shared;
use crate::server::ShutdownSignal;
use http::{Method, StatusCode};
use portico_model::{Document, Snapshot};
use std::sync::Arc;
use std::time::Duration;

/// How long a config request may take: the control plane holds it up to 30 s.
const POLL_TIMEOUT: Duration = Duration::from_secs(45);

/// What one exchange ended with.
enum Outcome {
    /// Connected; nothing more to do before the next poll.
    Synced,
    /// Failed; back off before the next attempt.
    Failed,
}

/// Runs until `shutdown`.
pub async fn run(shared: Arc<Shared>, backup: Option<Backup>, mut shutdown: ShutdownSignal) {
    let mut after = 0u64;
    let mut failures = 0u32;
    let mut tried_backup = false;
    let mut probe = true;
    let mut token_changes = shared.token.subscribe();
    loop {
        let endpoint = shared.endpoint();
        // After a failure, ask without waiting: the answer tells at once that the control
        // plane is back and the token accepted, instead of after a 30 s hold.
        let wait = if failures > 0 || probe { "&wait=0" } else { "" };
        let path = format!(
            "/gateway/v1/{}/config?after={after}{wait}",
            shared.token.gateway_id()
        );
        let token = shared.token.current();
        let sent = shared
            .client
            .send(&endpoint, Method::GET, &path, &token, None, POLL_TIMEOUT);
        let result = tokio::select! {
            r = sent => r,
            _ = shutdown.wait_for(|s| *s) => return,
        };
        let outcome = match result {
            Ok(answer) => handle(&shared, &endpoint.url, answer, &mut after, backup.as_ref()),
            Err(e) => unreachable(&shared, &endpoint.url, &e),
        };
        match outcome {
            Outcome::Synced => {
                failures = 0;
                probe = false;
            }
            Outcome::Failed => {
                failures = failures.saturating_add(1);
                if !tried_backup && shared.gateway.revision().is_none() {
                    tried_backup = true;
                    if let Some(rev) = boot_from_backup(&shared, backup.as_ref()) {
                        after = rev;
                    }
                }
                let wait = backoff::delay(failures, backoff::random_unit());
                tokio::select! {
                    _ = tokio::time::sleep(wait) => {}
                    // A rotated token deserves an immediate try.
                    _ = token_changes.changed() => probe = true,
                    _ = shutdown.wait_for(|s| *s) => return,
                }
            }
        }
    }
}

fn handle(
    shared: &Shared,
    url: &str,
    answer: Answer,
    after: &mut u64,
    backup: Option<&Backup>,
) -> Outcome {
    match answer.status {
        StatusCode::OK => {
            match apply(shared, &answer.body, ConfigSource::ControlPlane) {
                Ok(revision) => {
                    *after = revision;
                    if let Some(backup) = backup {
                        if let Err(e) = backup.write(&answer.body) {
                            tracing::error!(error = %e, file = %backup.path().display(), "cannot write the configuration backup; a restart without the control plane would serve an older one");
                        }
                    }
                    shared
                        .status
                        .synced(format!("applied revision {revision} from {url}"));
                }
                Err((revision, message)) => {
                    // Not asked again until something newer exists: no retry loop on a
                    // configuration this gateway cannot run.
                    if let Some(r) = revision {
                        *after = r;
                    }
                    tracing::error!(error = %message, "the control plane's configuration was refused; the previous configuration keeps serving");
                    shared.status.failed(
                        "invalid",
                        format!("configuration refused: {message}"),
                        false,
                    );
                }
            }
            Outcome::Synced
        }
        StatusCode::NO_CONTENT => {
            shared
                .status
                .synced(format!("up to date at revision {after} with {url}"));
            Outcome::Synced
        }
        status @ (StatusCode::UNAUTHORIZED | StatusCode::FORBIDDEN) => {
            let reason = if status == StatusCode::UNAUTHORIZED {
                "unauthorized"
            } else {
                "forbidden"
            };
            let message = format!(
                "the control plane refused the gateway token from {} ({status}): {}; still serving revision {}. Generate a new token (POST /gateways/{{id}}/generateToken) and update {}",
                shared.token.origin(),
                error_message(&answer.body),
                shared.gateway.revision().map_or("none".to_owned(), |r| r.to_string()),
                shared.token.origin(),
            );
            tracing::error!("{message}");
            shared.status.failed(reason, message, true);
            Outcome::Failed
        }
        status => {
            let message = format!("{url} answered {status}: {}", error_message(&answer.body));
            tracing::warn!("{message}; retrying");
            shared.status.failed("http", message, false);
            shared.next_endpoint();
            Outcome::Failed
        }
    }
}

fn unreachable(shared: &Shared, url: &str, e: &ClientError) -> Outcome {
    let message = format!("control plane {url} unreachable: {e}");
    tracing::warn!(
        serving = shared.gateway.revision(),
        "{message}; the current configuration keeps serving, retrying"
    );
    shared.status.failed("unreachable", message, false);
    shared.next_endpoint();
    Outcome::Failed
}

/// Applies a `{revision, document}` body. On refusal, returns the revision (if it could be
/// read) and why.
fn apply(shared: &Shared, body: &[u8], source: ConfigSource) -> Result<u64, (Option<u64>, String)> {
    let snapshot = decode(body)?;
    let revision = snapshot.revision();
    shared
        .gateway
        .apply(&snapshot)
        .map_err(|e| (Some(revision), format!("revision {revision}: {e}")))?;
    shared.status.applied(source);
    Ok(revision)
}

/// Reads and validates a `{revision, document}` body (what the benchmark times as the
/// snapshot's parse and validate). On refusal, the revision (if it could be read) and why.
pub fn decode(body: &[u8]) -> Result<Snapshot, (Option<u64>, String)> {
    #[derive(serde::Deserialize)]
    struct Wire {
        revision: u64,
        document: Document,
    }
    /// Only for naming the revision of a body that did not read as a whole.
    #[derive(serde::Deserialize)]
    struct RevisionOnly {
        revision: Option<u64>,
    }
    // Straight into the typed document: going through `serde_json::Value` first took
    // several times longer at 10 000 APIs.
    let wire: Wire = serde_json::from_slice(body).map_err(|e| {
        let revision = serde_json::from_slice::<RevisionOnly>(body)
            .ok()
            .and_then(|r| r.revision);
        let message = match revision {
            Some(r) => format!("revision {r}: {e}"),
            None => format!("not a snapshot: {e}"),
        };
        (revision, message)
    })?;
    let revision = wire.revision;
    Snapshot::new(revision, wire.document)
        .map_err(|e| (Some(revision), format!("revision {revision}: {e}")))
}

/// Serves the backup when the control plane is unreachable at start.
fn boot_from_backup(shared: &Shared, backup: Option<&Backup>) -> Option<u64> {
    let Some(backup) = backup else {
        tracing::error!("the control plane is unreachable and there is no backup (--backup-dir): not ready until the control plane answers; retrying");
        return None;
    };
    let file = backup.path();
    match backup.read() {
        Ok(Some(body)) => match apply(shared, &body, ConfigSource::Backup) {
            Ok(revision) => {
                tracing::warn!(file = %file.display(), revision, "the control plane is unreachable: serving the on-disk backup until it answers");
                Some(revision)
            }
            Err((_, e)) => {
                tracing::error!(file = %file.display(), error = %e, "the backup cannot be served; not ready until the control plane answers");
                None
            }
        },
        Ok(None) => {
            tracing::error!(file = %file.display(), "the control plane is unreachable and no backup has been written yet: not ready until it answers");
            None
        }
        Err(e) => {
            tracing::error!(file = %file.display(), error = %e, "cannot read the backup; not ready until the control plane answers");
            None
        }
    }
}

/// The `message` of an APIM-shaped error body, or the body itself (shortened).
fn error_message(body: &[u8]) -> String {
    serde_json::from_slice::<serde_json::Value>(body)
        .ok()
        .and_then(|v| v["error"]["message"].as_str().map(str::to_owned))
        .unwrap_or_else(|| String::from_utf8_lossy(&body[..body.len().min(300)]).into_owned())
}

#[cfg(test)]
mod tests {
    use super::decode;

    #[test]
    fn a_snapshot_body_is_read_or_refused_naming_its_revision() {
        let ok = decode(br#"{"revision": 7, "document": {"apis": []}}"#).unwrap();
        assert_eq!(ok.revision(), 7);

        let (revision, message) = decode(b"<html>").unwrap_err();
        assert_eq!(revision, None);
        assert!(message.starts_with("not a snapshot: "), "{message}");

        // The document does not read: the revision is still named.
        let (revision, message) =
            decode(br#"{"revision": 8, "document": {"apis": 3}}"#).unwrap_err();
        assert_eq!(revision, Some(8));
        assert!(message.starts_with("revision 8: "), "{message}");

        // It reads but is invalid.
        let (revision, message) = decode(
            br#"{"revision": 9, "document": {"apis": [{"id": "a", "serviceUrl": "not a url"}]}}"#,
        )
        .unwrap_err();
        assert_eq!(revision, Some(9));
        assert!(message.contains("serviceUrl"), "{message}");
    }
}
