//! The gateway token: given on the command line, or read from a file that is watched, so a
//! rotated token (a Kubernetes secret update, a cron job calling `generateToken`) is used from
//! the next request on without a restart. The directory is watched, not the file, so
//! rename-over writes and Kubernetes' `..data` symlink swaps are seen.

use notify::{EventKind, RecursiveMode, Watcher};
use std::path::{Path, PathBuf};
use tokio::sync::watch;

/// The current token, and a signal when it changes. `Debug` shows where it comes from, never
/// the token.
pub struct TokenSource {
    current: watch::Sender<String>,
    file: Option<PathBuf>,
    _watcher: Option<notify::RecommendedWatcher>,
}

impl std::fmt::Debug for TokenSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TokenSource")
            .field("file", &self.file)
            .finish_non_exhaustive()
    }
}

impl TokenSource {
    /// A token that never changes.
    pub fn fixed(token: &str) -> Result<Self, String> {
        let token = normalise(token);
        check(&token)?;
        Ok(Self {
            current: watch::channel(token).0,
            file: None,
            _watcher: None,
        })
    }

    /// The token in `file`, re-read whenever the file changes.
    pub fn watch_file(file: &Path) -> Result<Self, String> {
        let token = read(file)?;
        let current = watch::channel(token).0;
        let sender = current.clone();
        let path = file.to_owned();
        let mut watcher = notify::recommended_watcher(move |event: notify::Result<notify::Event>| {
            if event.is_ok_and(|e| !matches!(e.kind, EventKind::Access(_))) {
                match read(&path) {
                    Ok(token) => {
                        let changed = sender.send_if_modified(|old| {
                            let differs = *old != token;
                            if differs {
                                *old = token.clone();
                            }
                            differs
                        });
                        if changed {
                            tracing::info!(file = %path.display(), "gateway token file changed; using the new token");
                        }
                    }
                    // Often a file caught mid-write: the next event brings the whole token.
                    Err(e) => tracing::debug!(error = %e, "token file not readable yet"),
                }
            }
        })
        .map_err(|e| format!("cannot watch --token-file {}: {e}", file.display()))?;
        let dir = match file.parent() {
            Some(p) if !p.as_os_str().is_empty() => p,
            _ => Path::new("."),
        };
        watcher
            .watch(dir, RecursiveMode::NonRecursive)
            .map_err(|e| format!("cannot watch --token-file {}: {e}", file.display()))?;
        Ok(Self {
            current,
            file: Some(file.to_owned()),
            _watcher: Some(watcher),
        })
    }

    /// The token to send now (without the `GatewayKey ` scheme).
    pub fn current(&self) -> String {
        self.current.borrow().clone()
    }

    /// The gateway the current token is for.
    pub fn gateway_id(&self) -> String {
        let token = self.current.borrow();
        token.split('&').next().unwrap_or_default().to_owned()
    }

    /// A receiver whose `changed()` fires when the token changes after this call.
    pub fn subscribe(&self) -> watch::Receiver<String> {
        self.current.subscribe()
    }

    /// Where the token comes from, for messages.
    pub fn origin(&self) -> String {
        match &self.file {
            Some(f) => format!("--token-file {}", f.display()),
            None => "--token".to_owned(),
        }
    }
}

fn read(file: &Path) -> Result<String, String> {
    let text = std::fs::read_to_string(file)
        .map_err(|e| format!("cannot read --token-file {}: {e}", file.display()))?;
    let token = normalise(&text);
    check(&token).map_err(|e| format!("--token-file {}: {e}", file.display()))?;
    Ok(token)
}

/// Accepts the token with or without APIM's `GatewayKey ` prefix, and surrounding space.
fn normalise(token: &str) -> String {
    let t = token.trim();
    t.strip_prefix("GatewayKey ").unwrap_or(t).trim().to_owned()
}

fn check(token: &str) -> Result<(), String> {
    let parts: Vec<&str> = token.splitn(3, '&').collect();
    if parts.len() == 3 && !parts[0].is_empty() {
        Ok(())
    } else {
        Err("the token must look like {gatewayId}&{yyyyMMddHHmm}&{signature} (POST /gateways/{id}/generateToken)".into())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_normalised_and_checked() {
        let t = TokenSource::fixed(" GatewayKey edge&202601010000&c2ln\n").unwrap();
        assert_eq!(t.current(), "edge&202601010000&c2ln");
        assert_eq!(t.gateway_id(), "edge");
        assert!(TokenSource::fixed("nonsense").is_err());
    }

    #[tokio::test]
    async fn a_rewritten_token_file_is_picked_up() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("token");
        std::fs::write(&file, "edge&202601010000&one").unwrap();
        let t = TokenSource::watch_file(&file).unwrap();
        let mut rx = t.subscribe();
        let tmp = dir.path().join("token.new");
        std::fs::write(&tmp, "edge&202601010000&two").unwrap();
        std::fs::rename(&tmp, &file).unwrap();
        tokio::time::timeout(std::time::Duration::from_secs(5), rx.changed())
            .await
            .unwrap()
            .unwrap();
        assert_eq!(t.current(), "edge&202601010000&two");
    }
}
