//! Command-line arguments. Every listener address and tunable has an environment-variable
//! twin (`PORTICO_…`) so container deployments need no wrapper script.

use crate::logging::LogFormat;
use clap::{Args, Parser, Subcommand, ValueEnum};
use portico_gateway::net::IpRange;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

#[derive(Debug, Parser)]
#[command(
    name = "portico",
    version,
    about = "API management gateway with APIM-compatible resources and policies"
)]
pub struct Cli {
    /// Format of operational logs on standard error.
    #[arg(
        long,
        global = true,
        env = "PORTICO_LOG_FORMAT",
        value_enum,
        default_value = "text"
    )]
    pub log_format: LogFormat,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run everything in one process: the control plane on SQLite in --data-dir and a gateway
    /// serving it, seeded on first start with an Echo API and a subscription key to try.
    Up(UpArgs),
    /// Run a gateway that serves a declarative document, reloading it when it changes.
    Gateway(GatewayArgs),
    /// Run the control plane's management API on SQLite (`sqlite://PATH`) or PostgreSQL.
    ControlPlane(ControlPlaneArgs),
    /// Run the echo backend used by the quick start: answers with a JSON description of each
    /// request, or streams a request body back.
    Echo(EchoArgs),
    /// Make the control plane match a declarative document, in one revision.
    Apply(ApplyArgs),
    /// Print the control plane's configuration as a declarative document (secrets included).
    Export(ExportArgs),
    /// Create or update an API from a description document.
    #[command(subcommand)]
    Import(ImportCommand),
}

/// The control plane a CLI command talks to. The admin token comes from
/// `PORTICO_ADMIN_TOKEN` (or `portico-data/admin-token`, where `portico up` writes it).
#[derive(Debug, Args)]
pub struct ServerArgs {
    /// The management API's base URL (http:// or https://).
    #[arg(long, env = "PORTICO_SERVER", default_value = "http://127.0.0.1:9000")]
    pub server: String,
    /// PEM file of CA certificates to trust for an https:// --server, besides the system's.
    #[arg(long, env = "PORTICO_CA")]
    pub ca: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct ApplyArgs {
    /// The declarative document (YAML or JSON); files it references are read relative to it.
    #[arg(short = 'f', long = "file")]
    pub file: PathBuf,
    /// Also delete what the control plane holds and the document does not.
    #[arg(long)]
    pub prune: bool,
    /// Print the changes without making them.
    #[arg(long)]
    pub dry_run: bool,
    #[command(flatten)]
    pub server: ServerArgs,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum OutputFormat {
    Yaml,
    Json,
}

#[derive(Debug, Args)]
pub struct ExportArgs {
    #[arg(long, value_enum, default_value = "yaml")]
    pub output: OutputFormat,
    #[command(flatten)]
    pub server: ServerArgs,
}

#[derive(Debug, Subcommand)]
pub enum ImportCommand {
    /// Import an OpenAPI 2.0, 3.0 or 3.1 document (YAML or JSON): one operation per path and
    /// method; a re-import replaces the API's operations and keeps its policies.
    Openapi(ImportOpenApiArgs),
}

#[derive(Debug, Args)]
pub struct ImportOpenApiArgs {
    /// The OpenAPI document.
    pub file: PathBuf,
    /// The id of the API to create or update.
    #[arg(long)]
    pub api_id: String,
    /// The API's path prefix on the gateway (for example `petstore`).
    #[arg(long)]
    pub path: String,
    /// The backend URL, instead of the document's first server.
    #[arg(long)]
    pub service_url: Option<String>,
    #[command(flatten)]
    pub server: ServerArgs,
}

#[derive(Debug, Args)]
pub struct ControlPlaneArgs {
    /// `sqlite://PATH` (created if missing) or `postgres://USER:PASSWORD@HOST/DB`.
    #[arg(long, env = "PORTICO_DATABASE")]
    pub database: String,
    /// Address of the management API.
    #[arg(long, env = "PORTICO_ADMIN_LISTEN", default_value = "127.0.0.1:9000")]
    pub admin_listen: SocketAddr,
    #[command(flatten)]
    pub admin_tls: AdminTlsArgs,
}

/// HTTPS for the management API and the gateway sync routes (plain HTTP without them).
#[derive(Debug, Args)]
pub struct AdminTlsArgs {
    /// PEM certificate chain (leaf first) to serve the management API over HTTPS only.
    #[arg(long, env = "PORTICO_ADMIN_TLS_CERT", requires = "admin_tls_key")]
    pub admin_tls_cert: Option<PathBuf>,
    /// PEM private key of --admin-tls-cert.
    #[arg(long, env = "PORTICO_ADMIN_TLS_KEY", requires = "admin_tls_cert")]
    pub admin_tls_key: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct EchoArgs {
    /// Address to listen on.
    #[arg(long, env = "PORTICO_ECHO_LISTEN", default_value = "127.0.0.1:8081")]
    pub listen: SocketAddr,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Switch {
    On,
    Off,
}

#[derive(Debug, Args)]
pub struct GatewayArgs {
    /// Declarative document (YAML or JSON) to serve; watched and hot-reloaded.
    #[arg(
        long,
        env = "PORTICO_CONFIG",
        required_unless_present = "control_plane"
    )]
    pub config: Option<PathBuf>,
    #[command(flatten)]
    pub remote: RemoteArgs,
    #[command(flatten)]
    pub serve: ServeArgs,
}

/// A self-hosted gateway fed by the control plane (instead of --config).
#[derive(Debug, Args)]
pub struct RemoteArgs {
    /// Control-plane base URLs (comma-separated replicas, tried in turn on failure).
    #[arg(
        long,
        env = "PORTICO_CONTROL_PLANE",
        value_delimiter = ',',
        conflicts_with = "config"
    )]
    pub control_plane: Vec<String>,
    /// The gateway token (`POST /gateways/{id}/generateToken`), with or without `GatewayKey `.
    #[arg(
        long,
        env = "PORTICO_GATEWAY_TOKEN",
        conflicts_with = "token_file",
        hide_env_values = true
    )]
    pub token: Option<String>,
    /// A file holding the gateway token; watched, so a rotated token is used without a restart.
    #[arg(long, env = "PORTICO_GATEWAY_TOKEN_FILE")]
    pub token_file: Option<PathBuf>,
    /// Directory for the last applied configuration (mode 0600), served when the control
    /// plane is unreachable at start.
    #[arg(long, env = "PORTICO_BACKUP_DIR")]
    pub backup_dir: Option<PathBuf>,
    /// Time between heartbeats to the control plane.
    #[arg(long, env = "PORTICO_HEARTBEAT_INTERVAL", default_value = "60s", value_parser = humantime::parse_duration)]
    pub heartbeat_interval: Duration,
    /// PEM file of CA certificates to trust for the control plane's TLS, besides the system's.
    #[arg(long, env = "PORTICO_CONTROL_PLANE_CA")]
    pub control_plane_ca: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct UpArgs {
    /// Where the SQLite database and the generated admin token live.
    #[arg(long, env = "PORTICO_DATA_DIR", default_value = "portico-data")]
    pub data_dir: PathBuf,
    /// Address of the management API.
    #[arg(long, env = "PORTICO_ADMIN_LISTEN", default_value = "127.0.0.1:9000")]
    pub admin_listen: SocketAddr,
    #[command(flatten)]
    pub admin_tls: AdminTlsArgs,
    /// Address of the built-in echo backend the seeded Echo API forwards to.
    #[arg(long, env = "PORTICO_ECHO_LISTEN", default_value = "127.0.0.1:9092")]
    pub echo_listen: SocketAddr,
    #[command(flatten)]
    pub serve: ServeArgs,
}

/// How the gateway serves clients: listeners, workers, limits, timeouts, logging.
#[derive(Debug, Args)]
pub struct ServeArgs {
    /// Address of the client-facing HTTP listener.
    #[arg(long, env = "PORTICO_LISTEN", default_value = "0.0.0.0:8080")]
    pub listen: SocketAddr,
    /// Address of the client-facing HTTPS listener, or `off`. It serves the certificates of
    /// the gateway's hostname configurations, and `--tls-cert` as the fallback.
    #[arg(long, env = "PORTICO_TLS_LISTEN", default_value = "0.0.0.0:8443", value_parser = parse_optional_address)]
    pub tls_listen: OptionalAddress,
    /// A PEM certificate chain (leaf first) served to handshakes no hostname configuration
    /// answers; watched, so a renewed file (cert-manager, a Kubernetes secret) is picked up.
    #[arg(long, env = "PORTICO_TLS_CERT", requires = "tls_key")]
    pub tls_cert: Option<PathBuf>,
    /// The unencrypted PEM private key of `--tls-cert`; watched likewise.
    #[arg(long, env = "PORTICO_TLS_KEY", requires = "tls_cert")]
    pub tls_key: Option<PathBuf>,
    /// Address of the ops listener (/healthz, /readyz, /metrics).
    #[arg(long, env = "PORTICO_OPS_LISTEN", default_value = "127.0.0.1:9091")]
    pub ops_listen: SocketAddr,
    /// Worker threads; defaults to the number of CPUs. Use 1 to compare with one nginx worker.
    #[arg(long, env = "PORTICO_WORKERS")]
    pub workers: Option<usize>,
    /// Time a backend has to send response headers (APIM's forward-request default is 300 s).
    #[arg(long, env = "PORTICO_BACKEND_TIMEOUT", default_value = "300s", value_parser = humantime::parse_duration)]
    pub backend_timeout: Duration,
    /// Time to open a TCP (and TLS) connection to a backend.
    #[arg(long, env = "PORTICO_BACKEND_CONNECT_TIMEOUT", default_value = "10s", value_parser = humantime::parse_duration)]
    pub backend_connect_timeout: Duration,
    /// Time a client has to send a request head; also the HTTP/1.1 keep-alive idle timeout.
    #[arg(long, env = "PORTICO_HEADER_TIMEOUT", default_value = "30s", value_parser = humantime::parse_duration)]
    pub header_timeout: Duration,
    /// Largest request head in bytes (request line and headers); larger requests get 431.
    #[arg(long, env = "PORTICO_MAX_HEADER_BYTES", default_value_t = 32 * 1024)]
    pub max_header_bytes: usize,
    /// Client connections served at once; more wait to be accepted.
    #[arg(long, env = "PORTICO_MAX_CONNECTIONS", default_value_t = 10_000)]
    pub max_connections: usize,
    /// Time requests in flight get to finish after SIGTERM or SIGINT.
    #[arg(long, env = "PORTICO_SHUTDOWN_TIMEOUT", default_value = "30s", value_parser = humantime::parse_duration)]
    pub shutdown_timeout: Duration,
    /// Front proxies (IPs or CIDR ranges, comma-separated) whose X-Forwarded-Proto and
    /// X-Forwarded-Host are believed, e.g. an Application Gateway subnet.
    #[arg(long, env = "PORTICO_TRUSTED_PROXIES", value_delimiter = ',')]
    pub trusted_proxies: Vec<IpRange>,
    /// One JSON access-log line per request on standard output.
    #[arg(long, env = "PORTICO_ACCESS_LOG", value_enum, default_value = "on")]
    pub access_log: Switch,
    #[command(flatten)]
    pub redis: RedisArgs,
}

/// The Redis that gateway replicas share for rate limits, quotas and the external cache.
#[derive(Debug, Args)]
pub struct RedisArgs {
    /// Redis shared by every replica: rate-limit, rate-limit-by-key, quota and quota-by-key
    /// count there, and caching-type="external"/"prefer-external" cache there.
    /// redis://[user:password@]host[:port][/db].
    #[arg(long = "redis", env = "PORTICO_REDIS", hide_env_values = true)]
    pub url: Option<String>,
    /// What rate limits and quotas do while Redis is unavailable: count in each replica
    /// alone (fail-open) or refuse the calls they must count with 503 (fail-closed).
    #[arg(
        long = "redis-failure-mode",
        env = "PORTICO_REDIS_FAILURE_MODE",
        value_enum,
        default_value = "fail-open",
        requires = "url"
    )]
    pub failure_mode: RedisFailureMode,
    /// Time one counter call to Redis may take; a slower answer counts as Redis unavailable.
    #[arg(long = "redis-timeout", env = "PORTICO_REDIS_TIMEOUT", default_value = "100ms", value_parser = humantime::parse_duration, requires = "url")]
    pub timeout: Duration,
    /// Prefix of every key Portico writes, so several deployments can share one Redis.
    #[arg(
        long = "redis-key-prefix",
        env = "PORTICO_REDIS_KEY_PREFIX",
        default_value = "portico:",
        requires = "url"
    )]
    pub key_prefix: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum RedisFailureMode {
    /// Count in each replica alone while Redis is unavailable.
    #[value(alias = "local")]
    FailOpen,
    /// Refuse calls that must be counted (503) while Redis is unavailable.
    FailClosed,
}

/// A listener address, or `off` for no listener.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OptionalAddress(pub Option<SocketAddr>);

fn parse_optional_address(text: &str) -> Result<OptionalAddress, String> {
    if text.eq_ignore_ascii_case("off") {
        return Ok(OptionalAddress(None));
    }
    text.parse()
        .map(|a| OptionalAddress(Some(a)))
        .map_err(|e| format!("{e} (give host:port, or off)"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn arguments_are_consistent() {
        Cli::command().debug_assert();
    }
}
