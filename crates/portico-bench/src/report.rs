//! Results: medians per target and scenario, the ratios the goals are read against, the
//! hybrid figures (propagation, certificate rotation), written as Markdown (for people and
//! the README) and JSON (for tools) under `bench/results/`.

use crate::load::LoadResult;
use crate::machine::Machine;
use crate::propagation::PropagationResult;
use crate::rotation::RotationResult;
use crate::scale::ApplyTimes;
use crate::stats::Percentiles;
use serde::Serialize;
use std::fmt::Write;
use std::path::Path;

/// One target's figures in one round.
#[derive(Debug, Clone, Serialize)]
pub struct Measurement {
    pub load: LoadResult,
    /// CPU time of the proxy process(es) per request, in microseconds (None for direct).
    pub cpu_us_per_request: Option<f64>,
    /// Peak resident memory of the proxy, in MiB.
    pub peak_rss_mib: Option<f64>,
}

/// Medians over the rounds of one target.
#[derive(Debug, Clone, Serialize)]
pub struct Summary {
    pub target: &'static str,
    pub rps: f64,
    pub mean_ms: f64,
    /// Percentiles, when the load generator reports them (wrk does, h2load does not).
    pub p50_ms: Option<f64>,
    pub p99_ms: Option<f64>,
    pub p999_ms: Option<f64>,
    pub cpu_us_per_request: Option<f64>,
    pub peak_rss_mib: Option<f64>,
    pub errors: u64,
    pub rounds: usize,
}

impl Summary {
    /// p99 when known, else the mean.
    pub fn tail_ms(&self) -> f64 {
        self.p99_ms.unwrap_or(self.mean_ms)
    }

    pub fn of(target: &'static str, rounds: &[Measurement]) -> Self {
        let med = |f: &dyn Fn(&Measurement) -> f64| median(rounds.iter().map(f).collect());
        let opt = |f: &dyn Fn(&Measurement) -> Option<f64>| {
            let v: Vec<f64> = rounds.iter().filter_map(f).collect();
            (!v.is_empty()).then(|| median(v))
        };
        Self {
            target,
            rps: med(&|m| m.load.rps()),
            mean_ms: med(&|m| m.load.mean_us as f64 / 1e3),
            p50_ms: opt(&|m| m.load.p50_us.map(|us| us as f64 / 1e3)),
            p99_ms: opt(&|m| m.load.p99_us.map(|us| us as f64 / 1e3)),
            p999_ms: opt(&|m| m.load.p999_us.map(|us| us as f64 / 1e3)),
            cpu_us_per_request: opt(&|m| m.cpu_us_per_request),
            peak_rss_mib: opt(&|m| m.peak_rss_mib),
            errors: rounds
                .iter()
                .map(|m| m.load.socket_errors + m.load.non_2xx)
                .sum(),
            rounds: rounds.len(),
        }
    }
}

fn median(mut v: Vec<f64>) -> f64 {
    if v.is_empty() {
        return f64::NAN;
    }
    v.sort_by(|a, b| a.total_cmp(b));
    v[v.len() / 2]
}

/// Portico compared with the others, in one scenario.
#[derive(Debug, Clone, Serialize)]
pub struct Ratios {
    pub rps_vs_nginx: f64,
    pub rps_vs_direct: f64,
    /// p99 where the load generator reports it, else the mean.
    pub latency_vs_nginx: f64,
    pub cpu_vs_nginx: Option<f64>,
}

#[derive(Debug, Clone, Serialize)]
pub struct ScenarioResult {
    pub name: &'static str,
    pub description: &'static str,
    pub targets: Vec<Summary>,
    pub ratios: Ratios,
}

impl ScenarioResult {
    pub fn new(name: &'static str, description: &'static str, targets: Vec<Summary>) -> Self {
        let find = |t: &str| targets.iter().find(|s| s.target == t);
        let (direct, nginx, portico) = (find("direct"), find("nginx"), find("portico"));
        let ratio = |a: Option<f64>, b: Option<f64>| match (a, b) {
            (Some(a), Some(b)) if b > 0.0 => a / b,
            _ => f64::NAN,
        };
        let ratios = Ratios {
            rps_vs_nginx: ratio(portico.map(|p| p.rps), nginx.map(|n| n.rps)),
            rps_vs_direct: ratio(portico.map(|p| p.rps), direct.map(|d| d.rps)),
            latency_vs_nginx: ratio(portico.map(Summary::tail_ms), nginx.map(Summary::tail_ms)),
            cpu_vs_nginx: match (
                portico.and_then(|p| p.cpu_us_per_request),
                nginx.and_then(|n| n.cpu_us_per_request),
            ) {
                (Some(p), Some(n)) if n > 0.0 => Some(p / n),
                _ => None,
            },
        };
        Self {
            name,
            description,
            targets,
            ratios,
        }
    }
}

/// A 10k-API document served by a running Portico.
#[derive(Debug, Clone, Serialize)]
pub struct ScaleServing {
    pub idle_rss_mib: f64,
    pub small_config_idle_rss_mib: f64,
    pub p50_ms: f64,
    pub p99_ms: f64,
    pub small_config_p50_ms: f64,
    pub small_config_p99_ms: f64,
}

/// Everything one run produced.
#[derive(Debug, Serialize)]
pub struct Report {
    pub date: String,
    pub mode: &'static str,
    pub machine: Machine,
    pub settings: String,
    pub scenarios: Vec<ScenarioResult>,
    pub apply: Option<ApplyTimes>,
    pub scale_serving: Option<ScaleServing>,
    /// One entry per fleet size.
    pub propagation: Vec<PropagationResult>,
    pub rotation: Option<RotationResult>,
}

impl Report {
    pub fn markdown(&self) -> String {
        let mut md = String::new();
        let m = &self.machine;
        let _ = writeln!(
            md,
            "# Portico benchmark ({} run, {})\n",
            self.mode, self.date
        );
        let _ = writeln!(
            md,
            "Machine: {} cores, {}, kernel {}, load average at start {}.  ",
            m.cores, m.cpu_model, m.kernel, m.load_average
        );
        let _ = writeln!(md, "Settings: {}.\n", self.settings);
        let _ = writeln!(md, "| scenario | target | req/s | mean ms | p50 ms | p99 ms | p99.9 ms | CPU µs/req | peak RSS MiB | errors |");
        let _ = writeln!(md, "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|");
        let ms = |v: Option<f64>| v.map_or("-".to_owned(), |v| format!("{v:.2}"));
        for s in &self.scenarios {
            for t in &s.targets {
                let _ = writeln!(
                    md,
                    "| {} | {} | {:.0} | {:.2} | {} | {} | {} | {} | {} | {} |",
                    s.name,
                    t.target,
                    t.rps,
                    t.mean_ms,
                    ms(t.p50_ms),
                    ms(t.p99_ms),
                    ms(t.p999_ms),
                    t.cpu_us_per_request
                        .map_or("-".into(), |c| format!("{c:.1}")),
                    t.peak_rss_mib.map_or("-".into(), |r| format!("{r:.1}")),
                    t.errors
                );
            }
        }
        let _ = writeln!(md, "\n| scenario | Portico/nginx req/s | Portico/direct req/s | Portico/nginx p99 (mean for h2) | Portico/nginx CPU per request |");
        let _ = writeln!(md, "|---|---:|---:|---:|---:|");
        for s in &self.scenarios {
            let r = &s.ratios;
            let _ = writeln!(
                md,
                "| {} — {} | {:.2} | {:.2} | {:.2} | {} |",
                s.name,
                s.description,
                r.rps_vs_nginx,
                r.rps_vs_direct,
                r.latency_vs_nginx,
                r.cpu_vs_nginx.map_or("-".into(), |c| format!("{c:.2}"))
            );
        }
        if let Some(a) = &self.apply {
            let _ = writeln!(
                md,
                "\nApply of {} APIs and {} subscriptions ({:.1} MiB of YAML): parse and validate {:.0} ms from the YAML file, {:.0} ms from the control plane's JSON snapshot; compile and swap {:.0} ms; applying it again {:.0} ms.",
                a.apis, a.subscriptions, a.document_mib, a.parse_and_validate_ms, a.snapshot_parse_and_validate_ms, a.compile_and_swap_ms, a.reapply_ms
            );
        }
        if let Some(s) = &self.scale_serving {
            let _ = writeln!(
                md,
                "Serving it: idle RSS {:.1} MiB (one-API document: {:.1} MiB); keyed request latency p50 {:.2} ms / p99 {:.2} ms against p50 {:.2} ms / p99 {:.2} ms with one API.",
                s.idle_rss_mib, s.small_config_idle_rss_mib, s.p50_ms, s.p99_ms, s.small_config_p50_ms, s.small_config_p99_ms
            );
        }
        if !self.propagation.is_empty() {
            propagation_markdown(&mut md, &self.propagation);
        }
        if let Some(r) = &self.rotation {
            rotation_markdown(&mut md, r);
        }
        md
    }

    /// Writes `latest.md` and `latest.json` under `dir`.
    pub fn write(&self, dir: &Path) -> anyhow::Result<()> {
        std::fs::create_dir_all(dir)?;
        std::fs::write(dir.join("latest.md"), self.markdown())?;
        std::fs::write(dir.join("latest.json"), serde_json::to_string_pretty(self)?)?;
        Ok(())
    }
}

fn propagation_markdown(md: &mut String, results: &[PropagationResult]) {
    let _ = writeln!(
        md,
        "\nPropagation: a policy change PUT on the control plane (SQLite) until every gateway \
         answers with it; the gateways are instances of one gateway resource, each polled over \
         a kept-alive connection from the PUT's answer on. Timed from the PUT being sent, so \
         the PUT's round trip is included.\n"
    );
    let _ = writeln!(
        md,
        "| gateways | changes | poll every ms | all serving p50 / p99 / max ms | PUT round trip p50 / p99 / max ms |"
    );
    let _ = writeln!(md, "|---:|---:|---:|---:|---:|");
    for r in results {
        let _ = writeln!(
            md,
            "| {} | {} | {} | {} | {} |",
            r.gateways,
            r.changes,
            r.poll_every_ms,
            Percentiles::cell(Some(&r.all_serving)),
            Percentiles::cell(Some(&r.put))
        );
    }
}

fn rotation_markdown(md: &mut String, r: &RotationResult) {
    let _ = writeln!(
        md,
        "\nCertificate rotation under load: {} rotations by `PUT /certificates/{{id}}` on the \
         control plane, served by a gateway's hostname configuration over HTTPS, while clients \
         send {} requests on new connections (a verified handshake each) and {} on kept-alive \
         connections.\n",
        r.rotations, r.new_connection_requests, r.kept_alive_requests
    );
    let _ = writeln!(md, "| figure | value |");
    let _ = writeln!(md, "|---|---:|");
    let _ = writeln!(md, "| failed requests | {} |", r.errors);
    let _ = writeln!(
        md,
        "| handshakes that got an older certificate after a newer one | {} |",
        r.stale_handshakes
    );
    let rows = [
        (
            "PUT sent until new handshakes get the new certificate, p50 / p99 / max ms",
            &r.new_leaf_after_put,
        ),
        ("request latency, all, p50 / p99 / max ms", &r.latency),
        (
            "request latency within ±50 ms of a swap, p50 / p99 / max ms",
            &r.latency_near_swap,
        ),
    ];
    for (what, p) in rows {
        let _ = writeln!(md, "| {what} | {} |", Percentiles::cell(p.as_ref()));
    }
    for e in &r.first_errors {
        let _ = writeln!(md, "\nFailure: {e}");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(p50_ms: f64) -> Percentiles {
        Percentiles {
            count: 100,
            p50_ms,
            p99_ms: p50_ms * 2.0,
            max_ms: p50_ms * 3.0,
        }
    }

    #[test]
    fn the_hybrid_sections_carry_their_figures() {
        let report = Report {
            date: "now".into(),
            mode: "smoke",
            machine: Machine::probe(),
            settings: String::new(),
            scenarios: Vec::new(),
            apply: None,
            scale_serving: None,
            propagation: vec![PropagationResult {
                gateways: 20,
                changes: 100,
                poll_every_ms: 2.0,
                all_serving: p(40.0),
                put: p(5.0),
            }],
            rotation: Some(RotationResult {
                rotations: 20,
                new_connection_requests: 900,
                kept_alive_requests: 4000,
                errors: 1,
                first_errors: vec!["kept-alive: reset".into()],
                stale_handshakes: 0,
                new_leaf_after_put: Some(p(12.0)),
                latency: Some(p(1.0)),
                latency_near_swap: None,
            }),
        };
        let md = report.markdown();
        assert!(md.contains("| 20 | 100 | 2 | 40.00 / 80.00 / 120.00 | 5.00 / 10.00 / 15.00 |"));
        assert!(md.contains("20 rotations"), "{md}");
        assert!(md.contains("| failed requests | 1 |"), "{md}");
        assert!(md.contains("new certificate, p50 / p99 / max ms | 12.00 / 24.00 / 36.00 |"));
        assert!(md.contains("of a swap, p50 / p99 / max ms | - |"), "{md}");
        assert!(md.contains("Failure: kept-alive: reset"), "{md}");
        let json = serde_json::to_value(&report).unwrap();
        assert_eq!(json["propagation"][0]["all_serving"]["p99_ms"], 80.0);
        assert_eq!(json["rotation"]["errors"], 1);
    }
}
