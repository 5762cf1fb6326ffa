//! Backend pools and circuit breakers: a pool lists existing Single backends (no pools of
//! pools, no duplicates, weights and priorities in APIM's 0–100 range); a circuit breaker has
//! exactly one rule (as APIM allows) with a failure count or percentage, ISO 8601 durations and
//! status ranges within 100–599.

use super::Validator;
use crate::backends::{parse_iso_duration, Backend, BackendType, CircuitBreaker};
use std::collections::{HashMap, HashSet};

impl Validator {
    /// The certificates backends name: trusted authorities, and one client certificate with
    /// its private key. `certificates` maps ids to whether they hold a key.
    pub(super) fn backend_certificates(
        &mut self,
        backends: &[Backend],
        certificates: &HashMap<String, bool>,
    ) {
        for (i, b) in backends.iter().enumerate() {
            let path = format!("backends[{i}]");
            for (j, id) in b.tls.ca_certificate_ids.iter().enumerate() {
                if !certificates.contains_key(&id.to_ascii_lowercase()) {
                    self.error(
                        format!("{path}.tls.caCertificateIds[{j}]"),
                        format!("no certificate has id {id:?}"),
                    );
                }
            }
            let Some(credentials) = &b.credentials else {
                continue;
            };
            if credentials.certificate_ids.len() > 1 {
                self.error(
                    format!("{path}.credentials.certificateIds"),
                    "name one client certificate; Portico presents a single certificate to a backend",
                );
            }
            for (j, id) in credentials.certificate_ids.iter().enumerate() {
                let at = format!("{path}.credentials.certificateIds[{j}]");
                match certificates.get(&id.to_ascii_lowercase()) {
                    None => self.error(at, format!("no certificate has id {id:?}")),
                    Some(false) => self.error(
                        at,
                        format!("certificate {id:?} has no private key, so it cannot authenticate the gateway"),
                    ),
                    Some(true) => {}
                }
            }
        }
    }

    pub(super) fn pools(&mut self, backends: &[Backend]) {
        let kinds: HashMap<String, BackendType> = backends
            .iter()
            .map(|b| (b.id.to_ascii_lowercase(), b.kind))
            .collect();
        for (i, b) in backends.iter().enumerate() {
            if b.kind != BackendType::Pool {
                continue;
            }
            let path = format!("backends[{i}].pool");
            let Some(pool) = b.pool.as_ref().filter(|p| !p.services.is_empty()) else {
                self.error(path, "a Pool backend lists its members in pool.services");
                continue;
            };
            let mut seen = HashSet::new();
            for (j, member) in pool.services.iter().enumerate() {
                let at = format!("{path}.services[{j}]");
                let id = member.backend_id();
                match kinds.get(&id.to_ascii_lowercase()) {
                    None => self.error(format!("{at}.id"), format!("no backend has id {id:?}")),
                    Some(BackendType::Pool) => self.error(
                        format!("{at}.id"),
                        format!("{id:?} is a pool; pool members must be Single backends"),
                    ),
                    Some(BackendType::Single) if !seen.insert(id.to_ascii_lowercase()) => {
                        self.error(format!("{at}.id"), format!("{id:?} is listed twice"))
                    }
                    Some(BackendType::Single) => {}
                }
                if member.priority > 100 {
                    self.error(
                        format!("{at}.priority"),
                        "must be 0 to 100 (0 is tried first)",
                    );
                }
                if member.weight > 100 {
                    self.error(format!("{at}.weight"), "must be 0 to 100");
                }
            }
            if pool.services.iter().all(|m| m.weight == 0) {
                self.error(
                    format!("{path}.services"),
                    "at least one member needs a weight above 0",
                );
            }
        }
    }

    pub(super) fn circuit_breaker(&mut self, path: &str, kind: BackendType, cb: &CircuitBreaker) {
        if kind == BackendType::Pool {
            self.error(
                path,
                "a pool has no circuit breaker of its own: set one on each member",
            );
            return;
        }
        let [rule] = cb.rules.as_slice() else {
            self.error(
                format!("{path}.rules"),
                "exactly one rule is supported (as in APIM)",
            );
            return;
        };
        let at = format!("{path}.rules[0]");
        let fc = &rule.failure_condition;
        match (fc.count, fc.percentage) {
            (Some(0), _) => {
                self.error(format!("{at}.failureCondition.count"), "must be at least 1")
            }
            (_, Some(p)) if p == 0 || p > 100 => self.error(
                format!("{at}.failureCondition.percentage"),
                "must be 1 to 100",
            ),
            (None, None) => self.error(
                format!("{at}.failureCondition"),
                "set count (failures within interval) or percentage",
            ),
            (Some(_), Some(_)) => self.error(
                format!("{at}.failureCondition"),
                "set count or percentage, not both",
            ),
            _ => {}
        }
        for (field, text) in [
            ("failureCondition.interval", &fc.interval),
            ("tripDuration", &rule.trip_duration),
        ] {
            match parse_iso_duration(text) {
                Some(d) if !d.is_zero() => {}
                _ => self.error(
                    format!("{at}.{field}"),
                    format!("{text:?} is not an ISO 8601 duration of at most a year, such as PT30S or PT5M"),
                ),
            }
        }
        if !fc.error_reasons.is_empty() {
            self.error(
                format!("{at}.failureCondition.errorReasons"),
                "not supported: connection failures and timeouts always count as failures; list statuses in statusCodeRanges",
            );
        }
        for (k, r) in fc.status_code_ranges.iter().enumerate() {
            if !(100..=599).contains(&r.min) || !(100..=599).contains(&r.max) || r.min > r.max {
                self.error(
                    format!("{at}.failureCondition.statusCodeRanges[{k}]"),
                    "min and max must be status codes (100-599) with min <= max",
                );
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::errors_of as errors;

    #[test]
    fn pools_and_breakers_are_checked() {
        let good = r#"
backends:
  - id: a
    url: http://a
    circuitBreaker:
      rules:
        - name: r
          failureCondition: { count: 3, interval: PT1M, statusCodeRanges: [{ min: 500, max: 599 }] }
          tripDuration: PT30S
  - { id: b, url: "http://b" }
  - id: p
    type: Pool
    pool: { services: [{ id: /backends/a, priority: 0, weight: 3 }, { id: b, priority: 1 }] }
"#;
        assert_eq!(errors(good), Vec::<String>::new());
        let bad = r#"
backends:
  - { id: s }
  - id: a
    url: http://a
    circuitBreaker:
      rules:
        - { name: r, failureCondition: { interval: 1m }, tripDuration: PT0S }
  - id: p
    type: Pool
    url: http://p
    pool: { services: [{ id: missing }, { id: q }, { id: a, weight: 0 }, { id: a }] }
  - { id: q, type: Pool }
  - id: e
    url: http://e
    circuitBreaker:
      rules:
        - { name: r, failureCondition: { count: 1, interval: PT1M, errorReasons: [Server errors] }, tripDuration: P400D }
"#;
        let errs = errors(bad);
        for path in [
            "backends[0].url:",
            "backends[1].circuitBreaker.rules[0].failureCondition:",
            "backends[1].circuitBreaker.rules[0].failureCondition.interval:",
            "backends[1].circuitBreaker.rules[0].tripDuration:",
            "backends[2].url:",
            "backends[2].pool.services[0].id: no backend",
            "backends[2].pool.services[1].id: \"q\" is a pool",
            "backends[2].pool.services[3].id: \"a\" is listed twice",
            "backends[3].pool:",
            "backends[4].circuitBreaker.rules[0].failureCondition.errorReasons: not supported",
            "backends[4].circuitBreaker.rules[0].tripDuration:",
        ] {
            assert!(
                errs.iter().any(|e| e.starts_with(path)),
                "missing {path} in {errs:#?}"
            );
        }
    }
}
