//! [`Script`]: a Lua script run on the Redis server, so a read-modify-write is atomic
//! however many gateways call it at once. It is called by its SHA1 (`EVALSHA`, a few bytes
//! per call); a server that does not know it yet (after a restart or `SCRIPT FLUSH`)
//! answers `NOSCRIPT`, and the call is repeated once with the source (`EVAL`), which also
//! caches it for the next calls.

use redis::Cmd;

/// A server-side script: its source and SHA1.
#[derive(Debug)]
pub struct Script {
    source: &'static str,
    sha: String,
}

impl Script {
    pub fn new(source: &'static str) -> Self {
        Self {
            source,
            sha: redis::Script::new(source).get_hash().to_owned(),
        }
    }

    /// `EVALSHA sha 1 key args…`.
    pub(super) fn by_hash(&self, key: &[u8], args: &(dyn Fn(&mut Cmd) + Sync)) -> Cmd {
        invocation("EVALSHA", &self.sha, key, args)
    }

    /// `EVAL source 1 key args…`.
    pub(super) fn by_source(&self, key: &[u8], args: &(dyn Fn(&mut Cmd) + Sync)) -> Cmd {
        invocation("EVAL", self.source, key, args)
    }
}

fn invocation(verb: &str, script: &str, key: &[u8], args: &(dyn Fn(&mut Cmd) + Sync)) -> Cmd {
    let mut cmd = redis::cmd(verb);
    cmd.arg(script).arg(1).arg(key);
    args(&mut cmd);
    cmd
}
