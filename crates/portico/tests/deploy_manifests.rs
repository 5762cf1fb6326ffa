//! The deployment files under `deploy/` stay true to the binary: every Kubernetes manifest
//! parses, has a known kind, and hangs together (mounts name volumes, volumes and
//! `secretKeyRef`s name Secrets, ConfigMaps or cert-manager Certificates defined here, file
//! paths given to `portico` lie under a mount, Services select a Deployment's pods and name its
//! ports), and every `portico` flag the manifests and systemd units use is one that
//! `portico SUBCOMMAND --help` lists, and every `PORTICO_*` variable one that it lists or that
//! the code reads directly (the admin token, the master key: secrets kept out of `--help`).

mod common;

use common::BIN;
use serde_json::Value;
use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::process::Command;

fn deploy_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../deploy")
}

/// The flags and environment variables `portico SUBCOMMAND --help` lists.
#[derive(Debug, Default)]
struct Help {
    flags: HashSet<String>,
    env: HashSet<String>,
}

/// `--help` of each subcommand, asked once, and the variables the code reads itself.
#[derive(Debug, Default)]
struct Helps {
    help: HashMap<String, Help>,
    read_directly: HashSet<String>,
}

impl Helps {
    fn new() -> Self {
        Self {
            help: HashMap::new(),
            read_directly: variables_read_directly(),
        }
    }

    fn of(&mut self, subcommand: &str) -> &Help {
        self.help.entry(subcommand.to_owned()).or_insert_with(|| {
            let out = Command::new(BIN)
                .args([subcommand, "--help"])
                .output()
                .unwrap();
            assert!(
                out.status.success(),
                "`portico {subcommand}` is not a subcommand: {}",
                String::from_utf8_lossy(&out.stderr)
            );
            parse_help(&String::from_utf8(out.stdout).unwrap())
        })
    }

    /// Flags in `args` (after the subcommand) and `PORTICO_*` names in `env` that
    /// `portico SUBCOMMAND --help` does not list.
    fn unknown(&mut self, args: &[String], env: &[String]) -> Vec<String> {
        let Some(subcommand) = args.first() else {
            return vec!["no subcommand".into()];
        };
        let read_directly = self.read_directly.clone();
        let help = self.of(subcommand);
        let flags = args[1..]
            .iter()
            .filter(|a| a.starts_with('-'))
            .map(|a| a.split('=').next().unwrap_or(a))
            .filter(|f| !help.flags.contains(*f))
            .map(|f| format!("portico {subcommand} {f}"));
        let names = env
            .iter()
            .filter(|n| {
                n.starts_with("PORTICO_") && !help.env.contains(*n) && !read_directly.contains(*n)
            })
            .map(|n| format!("portico {subcommand}: {n}"));
        flags.chain(names).collect()
    }
}

/// `"PORTICO_…"` string literals in the source of the crates the binary is made of, outside
/// clap's `env = "…"` attributes: variables read with `std::env::var`.
fn variables_read_directly() -> HashSet<String> {
    let crates = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let mut names = HashSet::new();
    let mut dirs: Vec<PathBuf> = ["portico", "portico-control", "portico-gateway"]
        .iter()
        .map(|c| crates.join(c).join("src"))
        .collect();
    while let Some(dir) = dirs.pop() {
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                dirs.push(path);
            } else if path.extension().is_some_and(|e| e == "rs") {
                let text = std::fs::read_to_string(&path).unwrap();
                for line in text.lines().filter(|l| !l.contains("env = \"")) {
                    for (i, _) in line.match_indices("\"PORTICO_") {
                        let name: String = line[i + 1..]
                            .chars()
                            .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                            .collect();
                        names.insert(name);
                    }
                }
            }
        }
    }
    names
}

fn parse_help(text: &str) -> Help {
    let mut help = Help::default();
    for line in text.lines() {
        let line = line.trim_start();
        if line.starts_with('-') {
            help.flags.extend(
                line.split([' ', ','])
                    .take_while(|t| t.is_empty() || t.starts_with('-'))
                    .filter(|t| t.starts_with('-'))
                    .map(str::to_owned),
            );
        }
        for (i, _) in line.match_indices("[env: ") {
            let name: String = line[i + 6..]
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                .collect();
            help.env.insert(name);
        }
    }
    help
}

/// Every document of every manifest, with the file it came from.
fn manifests() -> Vec<(String, Value)> {
    let dir = deploy_dir().join("kubernetes");
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "yaml"))
        .collect();
    files.sort();
    assert!(!files.is_empty(), "no manifests in {}", dir.display());
    let mut docs = Vec::new();
    for file in files {
        let name = file.file_name().unwrap().to_string_lossy().into_owned();
        let text = std::fs::read_to_string(&file).unwrap();
        for doc in yaml_serde::Deserializer::from_str(&text) {
            let value: Value = serde::Deserialize::deserialize(doc)
                .unwrap_or_else(|e| panic!("{name}: not valid YAML: {e}"));
            if !value.is_null() {
                docs.push((name.clone(), value));
            }
        }
    }
    docs
}

/// The kinds the manifests may use, with their API versions.
const KINDS: &[(&str, &str)] = &[
    ("Namespace", "v1"),
    ("Secret", "v1"),
    ("ConfigMap", "v1"),
    ("Service", "v1"),
    ("Deployment", "apps/v1"),
    ("CronJob", "batch/v1"),
    ("Certificate", "cert-manager.io/v1"),
];

fn strings(v: &Value) -> Vec<String> {
    v.as_array()
        .into_iter()
        .flatten()
        .filter_map(|s| s.as_str().map(str::to_owned))
        .collect()
}

/// The pod spec of a workload, if it is one.
fn pod_spec(doc: &Value) -> Option<&Value> {
    match doc["kind"].as_str()? {
        "Deployment" => Some(&doc["spec"]["template"]["spec"]),
        "CronJob" => Some(&doc["spec"]["jobTemplate"]["spec"]["template"]["spec"]),
        _ => None,
    }
}

#[test]
fn kubernetes_manifests_parse_have_known_kinds_and_hang_together() {
    let docs = manifests();
    let mut seen = HashSet::new();
    for (file, doc) in &docs {
        let kind = doc["kind"]
            .as_str()
            .unwrap_or_else(|| panic!("{file}: no kind"));
        let name = doc["metadata"]["name"].as_str();
        assert!(name.is_some(), "{file}: {kind} without metadata.name");
        let expected = KINDS.iter().find(|(k, _)| *k == kind);
        let (_, version) = expected.unwrap_or_else(|| panic!("{file}: unexpected kind {kind}"));
        assert_eq!(doc["apiVersion"], *version, "{file}: {kind}");
        if kind != "Namespace" {
            assert_eq!(doc["metadata"]["namespace"], "portico", "{file}: {kind}");
        }
        seen.insert(kind);
    }
    for kind in ["Deployment", "Service", "Secret", "Certificate"] {
        assert!(seen.contains(kind), "no {kind} among the manifests");
    }

    let named = |kind: &str| -> HashMap<String, &Value> {
        docs.iter()
            .filter(|(_, d)| d["kind"] == kind)
            .map(|(_, d)| (d["metadata"]["name"].as_str().unwrap().to_owned(), d))
            .collect()
    };
    let configmaps = named("ConfigMap");
    let mut secrets: HashMap<String, Option<Vec<String>>> = named("Secret")
        .into_iter()
        .map(|(n, d)| {
            let keys = d["stringData"]
                .as_object()
                .or(d["data"].as_object())
                .map(|m| m.keys().cloned().collect());
            (n, keys)
        })
        .collect();
    // cert-manager writes tls.crt, tls.key and ca.crt into a Certificate's Secret.
    for cert in named("Certificate").values() {
        let secret = cert["spec"]["secretName"].as_str().unwrap().to_owned();
        secrets.insert(
            secret,
            Some(vec!["tls.crt".into(), "tls.key".into(), "ca.crt".into()]),
        );
    }

    let mut helps = Helps::new();
    let mut problems = Vec::new();
    for (file, doc) in &docs {
        let Some(pod) = pod_spec(doc) else { continue };
        let what = format!("{file}: {}", doc["metadata"]["name"].as_str().unwrap());
        let volumes: HashMap<&str, &Value> = pod["volumes"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|v| (v["name"].as_str().unwrap(), v))
            .collect();
        for volume in volumes.values() {
            if let Some(secret) = volume["secret"]["secretName"].as_str() {
                match secrets.get(secret) {
                    None => {
                        problems.push(format!("{what}: no Secret or Certificate makes {secret}"))
                    }
                    Some(Some(keys)) => {
                        for item in volume["secret"]["items"].as_array().into_iter().flatten() {
                            let key = item["key"].as_str().unwrap();
                            if !keys.iter().any(|k| k == key) {
                                problems.push(format!("{what}: {secret} has no key {key}"));
                            }
                        }
                    }
                    Some(None) => {}
                }
            }
            if let Some(map) = volume["configMap"]["name"].as_str() {
                if !configmaps.contains_key(map) {
                    problems.push(format!("{what}: no ConfigMap {map}"));
                }
            }
        }
        for container in pod["containers"].as_array().unwrap() {
            let args = strings(&container["args"]);
            let env: Vec<String> = container["env"]
                .as_array()
                .into_iter()
                .flatten()
                .map(|e| e["name"].as_str().unwrap().to_owned())
                .collect();
            problems.extend(helps.unknown(&args, &env));
            for e in container["env"].as_array().into_iter().flatten() {
                let r = &e["valueFrom"]["secretKeyRef"];
                if let (Some(secret), Some(key)) = (r["name"].as_str(), r["key"].as_str()) {
                    match secrets.get(secret) {
                        Some(Some(keys)) if keys.iter().any(|k| k == key) => {}
                        _ => problems.push(format!(
                            "{what}: secretKeyRef {secret}/{key} is not defined here"
                        )),
                    }
                }
            }
            let mounts: Vec<(String, String)> = container["volumeMounts"]
                .as_array()
                .into_iter()
                .flatten()
                .map(|m| {
                    let name = m["name"].as_str().unwrap().to_owned();
                    (name, m["mountPath"].as_str().unwrap().to_owned())
                })
                .collect();
            for (name, _) in &mounts {
                if !volumes.contains_key(name.as_str()) {
                    problems.push(format!("{what}: mount of unknown volume {name}"));
                }
            }
            // Files and directories handed to portico must come from a mounted volume.
            for path in args.iter().filter(|a| a.starts_with('/')) {
                let mounted = mounts
                    .iter()
                    .any(|(_, at)| path == at || path.starts_with(&format!("{at}/")));
                if !mounted {
                    problems.push(format!("{what}: {path} is not under any volume mount"));
                }
            }
        }
    }

    // Services select a Deployment's pods and name its ports.
    for (file, svc) in docs.iter().filter(|(_, d)| d["kind"] == "Service") {
        let selector = svc["spec"]["selector"].as_object().unwrap();
        let target = docs
            .iter()
            .filter_map(|(_, d)| (d["kind"] == "Deployment").then_some(d))
            .find(|d| {
                let labels = &d["spec"]["template"]["metadata"]["labels"];
                selector.iter().all(|(k, v)| labels[k] == *v)
            });
        let Some(deployment) = target else {
            problems.push(format!(
                "{file}: Service {} selects no Deployment",
                svc["metadata"]["name"]
            ));
            continue;
        };
        let ports: HashSet<&str> = deployment["spec"]["template"]["spec"]["containers"]
            .as_array()
            .unwrap()
            .iter()
            .flat_map(|c| c["ports"].as_array().into_iter().flatten())
            .filter_map(|p| p["name"].as_str())
            .collect();
        for port in svc["spec"]["ports"].as_array().unwrap() {
            if let Some(name) = port["targetPort"].as_str() {
                if !ports.contains(name) {
                    problems.push(format!("{file}: targetPort {name} is not a container port"));
                }
            }
        }
    }

    // Declarative documents shipped in ConfigMaps are ones `portico apply` reads.
    for map in configmaps.values() {
        for (key, text) in map["data"].as_object().into_iter().flatten() {
            if key.ends_with(".yaml") {
                if let Err(e) =
                    yaml_serde::from_str::<portico_model::Document>(text.as_str().unwrap())
                {
                    problems.push(format!("ConfigMap {key}: not a declarative document: {e}"));
                }
            }
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

/// The `portico` command of a unit's `ExecStart` (continuation lines joined) and every
/// `PORTICO_*` name the unit mentions.
fn unit_command(text: &str) -> (Vec<String>, Vec<String>) {
    let joined = text.replace("\\\n", " ");
    let exec = joined
        .lines()
        .find_map(|l| l.strip_prefix("ExecStart="))
        .expect("an ExecStart line");
    let mut words = exec.split_whitespace();
    let binary = words.next().unwrap();
    assert!(binary.ends_with("/portico"), "ExecStart runs {binary}");
    let env = text
        .split(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
        .filter(|w| w.starts_with("PORTICO_"))
        .map(str::to_owned)
        .collect();
    (words.map(str::to_owned).collect(), env)
}

#[test]
fn systemd_units_use_real_flags_and_variables() {
    let dir = deploy_dir().join("systemd");
    let mut helps = Helps::new();
    let mut problems = Vec::new();
    for unit in ["portico-control-plane.service", "portico-gateway.service"] {
        let text = std::fs::read_to_string(dir.join(unit)).unwrap();
        assert!(
            text.contains("[Service]") && text.contains("[Install]"),
            "{unit}"
        );
        let (args, env) = unit_command(&text);
        problems.extend(
            helps
                .unknown(&args, &env)
                .into_iter()
                .map(|p| format!("{unit}: {p}")),
        );
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

#[test]
fn the_flag_check_catches_made_up_flags_and_variables() {
    let mut helps = Helps::new();
    let args: Vec<String> = ["gateway", "--token-file", "/t", "--no-such-flag", "x"]
        .map(String::from)
        .to_vec();
    let env = ["PORTICO_LISTEN", "PORTICO_ADMIN_TOKEN", "PORTICO_NO_SUCH"]
        .map(String::from)
        .to_vec();
    assert_eq!(
        helps.unknown(&args, &env),
        vec![
            "portico gateway --no-such-flag",
            "portico gateway: PORTICO_NO_SUCH"
        ]
    );
    let (args, env) = unit_command(
        "[Service]\nEnvironment=PORTICO_X=1\nExecStart=/usr/bin/portico control-plane \\\n    --database sqlite:///x\n",
    );
    assert_eq!((args.len(), env), (3, vec!["PORTICO_X".to_owned()]));
}
