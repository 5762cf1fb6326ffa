//! `portico apply`, `portico export` and `portico import openapi`: the declarative workflow
//! against a running control plane (`--server`). Apply reads the document and the files it
//! references, checks it locally (so errors point at the file's own lines and entries), then
//! lets the control plane apply it in one revision; export prints the configuration in the
//! same form, so export → apply → export changes nothing.

use crate::cli::{ApplyArgs, ExportArgs, ImportOpenApiArgs, OutputFormat};
use crate::client::ManagementClient;
use anyhow::Context;
use http::Method;
use portico_gateway::config_file::read_document;
use portico_model::Document;
use serde_json::{json, Value};

pub fn apply(args: ApplyArgs) -> anyhow::Result<()> {
    let doc = read_document(&args.file)?;
    doc.validate()
        .map_err(|errors| anyhow::anyhow!("{}: {errors}", args.file.display()))?;
    let body = serde_json::to_value(&doc)?;
    let query = format!("?prune={}&dryRun={}", args.prune, args.dry_run);
    let answer = run(async {
        let client = ManagementClient::new(&args.server)?;
        client
            .send(Method::POST, &format!("/apply{query}"), Some(&body))
            .await
    })?;
    print!("{}", describe_plan(&answer));
    Ok(())
}

pub fn export(args: ExportArgs) -> anyhow::Result<()> {
    let answer = run(async {
        let client = ManagementClient::new(&args.server)?;
        client.send(Method::GET, "/export", None).await
    })?;
    let doc: Document = serde_json::from_value(answer).context("the exported document")?;
    match args.output {
        OutputFormat::Yaml => print!("{}", yaml_serde::to_string(&doc)?),
        OutputFormat::Json => println!("{}", serde_json::to_string_pretty(&doc)?),
    }
    Ok(())
}

pub fn import_openapi(args: ImportOpenApiArgs) -> anyhow::Result<()> {
    let text = std::fs::read_to_string(&args.file)
        .with_context(|| format!("cannot read {}", args.file.display()))?;
    let mut properties = json!({"format": "openapi", "value": text, "path": args.path});
    if let Some(url) = &args.service_url {
        properties["serviceUrl"] = json!(url);
    }
    let answer = run(async {
        let client = ManagementClient::new(&args.server)?;
        let path = format!("/apis/{}", args.api_id);
        client
            .send(Method::PUT, &path, Some(&json!({"properties": properties})))
            .await?;
        client
            .send(Method::GET, &format!("{path}/operations?$top=1000"), None)
            .await
    })?;
    let count = answer["value"].as_array().map_or(0, Vec::len);
    println!(
        "imported {} into apis/{} ({count} operations)",
        args.file.display(),
        args.api_id
    );
    Ok(())
}

/// The changes an apply made (or would make), one per line.
fn describe_plan(answer: &Value) -> String {
    let changes = answer["changes"].as_array().cloned().unwrap_or_default();
    let mut out = String::new();
    for c in &changes {
        let sign = match c["action"].as_str() {
            Some("create") => '+',
            Some("delete") => '-',
            _ => '~',
        };
        out.push_str(&format!("{sign} {}", c["path"].as_str().unwrap_or("")));
        if let Some(props) = c["properties"].as_array() {
            let names: Vec<&str> = props.iter().filter_map(Value::as_str).collect();
            out.push_str(&format!(" ({})", names.join(", ")));
        }
        out.push('\n');
    }
    let revision = answer["revision"].as_u64().unwrap_or(0);
    let summary = match (changes.len(), answer["dryRun"].as_bool() == Some(true)) {
        (0, _) => format!("no changes (revision {revision})"),
        (n, true) => format!("dry run: {n} changes would be applied (now at revision {revision})"),
        (n, false) => format!("applied {n} changes as revision {revision}"),
    };
    out.push_str(&summary);
    out.push('\n');
    out
}

fn run<T>(work: impl std::future::Future<Output = anyhow::Result<T>>) -> anyhow::Result<T> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")?
        .block_on(work)
}
