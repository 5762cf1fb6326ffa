//! Backends (APIM's `backends`): a single upstream with its URL, TLS checks and optional
//! circuit breaker, or a pool of single backends chosen by priority and weight. The gateway's
//! `runtime::backend` enforces both.

use serde::{Deserialize, Serialize};

/// A backend: a named upstream that APIs can forward to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Backend {
    pub id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// The upstream's base URL; a `Single` backend needs one, a `Pool` has none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    #[serde(default)]
    pub protocol: BackendProtocol,
    #[serde(default, rename = "type")]
    pub kind: BackendType,
    #[serde(default)]
    pub tls: BackendTls,
    /// The members of a `Pool` backend.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pool: Option<BackendPool>,
    /// Stops sending requests to a failing `Single` backend for a while.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub circuit_breaker: Option<CircuitBreaker>,
    /// What the gateway presents to the backend (APIM's `credentials`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub credentials: Option<BackendCredentials>,
}

/// Credentials for a backend. Of APIM's, Portico supports client certificates.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct BackendCredentials {
    /// The `certificates` entry (with its private key) presented for mTLS; one at most.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub certificate_ids: Vec<String>,
}

/// The backend's protocol. Only `http` (which includes HTTPS URLs) is supported.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum BackendProtocol {
    #[default]
    Http,
    Soap,
}

/// APIM's backend types.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, utoipa::ToSchema)]
pub enum BackendType {
    #[default]
    Single,
    Pool,
}

/// How the gateway checks a TLS backend's certificate (APIM's `tls` backend property).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct BackendTls {
    #[serde(default = "default_true")]
    pub validate_certificate_chain: bool,
    #[serde(default = "default_true")]
    pub validate_certificate_name: bool,
    /// `certificates` entries of the authorities the backend's chain must lead to, instead of
    /// the system's roots (a Portico extension, for backends with a private CA).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub ca_certificate_ids: Vec<String>,
}

impl Default for BackendTls {
    fn default() -> Self {
        Self {
            validate_certificate_chain: true,
            validate_certificate_name: true,
            ca_certificate_ids: Vec::new(),
        }
    }
}

fn default_true() -> bool {
    true
}

/// A pool's members (APIM's `pool.services`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct BackendPool {
    pub services: Vec<PoolService>,
}

/// A pool member: requests go to the lowest `priority` with an available member, spread by
/// `weight` among members of that priority.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PoolService {
    /// The member backend: its id, or APIM's resource form `/backends/{id}`.
    pub id: String,
    #[serde(default)]
    pub priority: u32,
    #[serde(default = "default_weight")]
    pub weight: u32,
}

impl PoolService {
    /// The member backend's id, without APIM's `/backends/` prefix.
    pub fn backend_id(&self) -> &str {
        let id = self.id.trim_end_matches('/');
        id.rsplit_once("/backends/").map_or(id, |(_, b)| b)
    }
}

fn default_weight() -> u32 {
    1
}

/// APIM's circuit breaker: one rule.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CircuitBreaker {
    pub rules: Vec<CircuitBreakerRule>,
}

/// When to trip, and for how long.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CircuitBreakerRule {
    pub name: String,
    pub failure_condition: FailureCondition,
    /// ISO 8601 duration, such as `PT1M`.
    pub trip_duration: String,
    /// A failing answer's `Retry-After` sets the trip duration instead.
    #[serde(default)]
    pub accept_retry_after: bool,
}

/// Failures within `interval`: at least `count` of them, or at least `percentage` percent of
/// the requests. A failure is an answer with a status in `statusCodeRanges`, or no answer at
/// all (connection failure or timeout).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct FailureCondition {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub count: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub percentage: Option<u32>,
    /// ISO 8601 duration, such as `PT1M`.
    pub interval: String,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub status_code_ranges: Vec<StatusCodeRange>,
    /// APIM's labels for what counts. Portico counts connection failures and timeouts always
    /// and refuses a list here, rather than store labels it would not enforce.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub error_reasons: Vec<String>,
}

/// An inclusive range of HTTP status codes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct StatusCodeRange {
    pub min: u16,
    pub max: u16,
}

/// Longest duration accepted: a year. Longer intervals and trips are mistakes, and a clock
/// cannot add arbitrary durations.
const MAX_DURATION_SECONDS: f64 = 366.0 * 86_400.0;

/// Parses an ISO 8601 duration as APIM writes them (`PT30S`, `PT1M`, `P1DT2H`, `PT0.5S`).
/// Years and months are refused: their length is not fixed.
pub fn parse_iso_duration(text: &str) -> Option<std::time::Duration> {
    let rest = text.strip_prefix('P')?;
    let (date, time) = match rest.split_once('T') {
        Some((d, t)) => (d, Some(t)),
        None => (rest, None),
    };
    let mut seconds = 0f64;
    let mut any = false;
    for (part, units) in [
        (date, &[('W', 604_800.0), ('D', 86_400.0)][..]),
        (
            time.unwrap_or(""),
            &[('H', 3_600.0), ('M', 60.0), ('S', 1.0)][..],
        ),
    ] {
        let mut number = String::new();
        let mut allowed = units.iter();
        for c in part.chars() {
            if c.is_ascii_digit() || c == '.' {
                number.push(c);
                continue;
            }
            let (_, factor) = allowed.by_ref().find(|(u, _)| *u == c)?;
            seconds += number.parse::<f64>().ok()? * factor;
            number.clear();
            any = true;
        }
        if !number.is_empty() {
            return None;
        }
    }
    if time == Some("") || !any || !seconds.is_finite() || seconds > MAX_DURATION_SECONDS {
        return None;
    }
    std::time::Duration::try_from_secs_f64(seconds).ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn iso_durations() {
        assert_eq!(parse_iso_duration("PT30S"), Some(Duration::from_secs(30)));
        assert_eq!(
            parse_iso_duration("PT1H1M"),
            Some(Duration::from_secs(3660))
        );
        assert_eq!(
            parse_iso_duration("P1DT2H"),
            Some(Duration::from_secs(93_600))
        );
        assert_eq!(
            parse_iso_duration("PT0.5S"),
            Some(Duration::from_millis(500))
        );
        for bad in [
            "",
            "P",
            "PT",
            "1M",
            "PT1X",
            "P1M",
            "PT1S2",
            "PT1M1H",
            "P99999999999999999999D",
            "P400D",
        ] {
            assert_eq!(parse_iso_duration(bad), None, "{bad}");
        }
    }

    #[test]
    fn pool_members_name_backends_either_way() {
        let s = |id: &str| PoolService {
            id: id.into(),
            priority: 0,
            weight: 1,
        };
        assert_eq!(s("b1").backend_id(), "b1");
        assert_eq!(s("/backends/b1").backend_id(), "b1");
    }
}
