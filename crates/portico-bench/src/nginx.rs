//! nginx from Debian, in two roles: the fast static backend every proxy forwards to (1 KiB and
//! 1 MiB files), and the reverse proxy Portico is compared with (keep-alive upstream, the same
//! worker count as Portico's worker threads, access log off or on as the scenario says).

use crate::certs::TlsFiles;
use crate::process::{children, wait_for_port, Extras, Proc};
use anyhow::Context;
use std::net::SocketAddr;
use std::path::Path;

/// A running nginx: master process plus workers.
#[derive(Debug)]
pub struct Nginx {
    master: Proc,
}

impl Nginx {
    /// PIDs whose CPU time is the proxy's cost (the master only supervises).
    pub fn workers(&self) -> Vec<u32> {
        children(self.master.pid())
    }
}

/// The directives that make a server block serve `tls`.
fn ssl_directives(tls: &TlsFiles) -> String {
    format!(
        "ssl_certificate {};
    ssl_certificate_key {};
    ssl_protocols TLSv1.2 TLSv1.3;",
        tls.cert.display(),
        tls.key.display()
    )
}

/// Where the backend listens.
#[derive(Debug, Clone, Copy)]
pub struct BackendAddrs {
    pub http: SocketAddr,
    /// HTTP/2 with prior knowledge.
    pub h2: SocketAddr,
    pub https: SocketAddr,
}

/// Writes the backend's files and config under `dir` and starts it on `addrs`.
pub fn start_backend(
    dir: &Path,
    addrs: BackendAddrs,
    tls: &TlsFiles,
    cores: Option<&str>,
) -> anyhow::Result<Nginx> {
    let BackendAddrs {
        http: addr,
        h2: h2_addr,
        https: tls_addr,
    } = addrs;
    let root = dir.join("www");
    std::fs::create_dir_all(&root)?;
    std::fs::write(root.join("1k.bin"), vec![b'x'; 1024])?;
    std::fs::write(root.join("1m.bin"), vec![b'x'; 1024 * 1024])?;
    let conf = format!(
        "worker_processes 1;\npid {dir}/backend.pid;\nerror_log {dir}/backend-error.log warn;\nevents {{ worker_connections 8192; }}\n\
         http {{\n  access_log off;\n  keepalive_requests 100000000;\n  server {{\n    listen {addr} reuseport;\n    listen {h2_addr} http2;\n    listen {tls_addr} ssl;\n    {ssl}\n    root {root};\n  }}\n}}\n",
        dir = dir.display(),
        root = root.display(),
        ssl = ssl_directives(tls),
    );
    start(dir, "backend", &conf, addr, cores)
}

/// How the nginx reverse proxy is set up for a scenario.
#[derive(Debug, Clone)]
pub struct ProxySettings {
    pub addr: SocketAddr,
    pub backend: SocketAddr,
    pub workers: usize,
    pub access_log: bool,
    /// Clients speak HTTP/2 with prior knowledge (the upstream stays HTTP/1.1).
    pub http2: bool,
    /// Clients speak HTTPS with this certificate.
    pub tls: Option<TlsFiles>,
}

/// Starts nginx as a reverse proxy.
pub fn start_proxy(dir: &Path, p: &ProxySettings, cores: Option<&str>) -> anyhow::Result<Nginx> {
    let (addr, backend, workers) = (p.addr, p.backend, p.workers);
    let (listen, ssl) = match (&p.tls, p.http2) {
        (Some(tls), _) => (format!("{addr} ssl"), ssl_directives(tls)),
        (None, true) => (format!("{addr} http2"), String::new()),
        (None, false) => (addr.to_string(), String::new()),
    };
    let log = if p.access_log {
        format!("access_log {}/nginx-access.log;", dir.display())
    } else {
        "access_log off;".to_owned()
    };
    let conf = format!(
        "worker_processes {workers};\npid {dir}/proxy.pid;\nerror_log {dir}/proxy-error.log warn;\nevents {{ worker_connections 8192; }}\n\
         http {{\n  {log}\n  keepalive_requests 100000000;\n  upstream backend {{ server {backend}; keepalive 256; }}\n\
         server {{\n    listen {listen};\n    {ssl}\n    location / {{\n      proxy_pass http://backend;\n      proxy_http_version 1.1;\n      proxy_set_header Connection \"\";\n    }}\n  }}\n}}\n",
        dir = dir.display(),
    );
    start(dir, "proxy", &conf, addr, cores)
}

fn start(
    dir: &Path,
    role: &str,
    conf: &str,
    addr: SocketAddr,
    cores: Option<&str>,
) -> anyhow::Result<Nginx> {
    let path = dir.join(format!("{role}.conf"));
    std::fs::write(&path, conf).with_context(|| format!("writing {}", path.display()))?;
    let master = Proc::spawn(
        &format!("nginx {role}"),
        cores,
        "nginx",
        &[
            "-c",
            path.to_str().unwrap_or_default(),
            "-p",
            dir.to_str().unwrap_or_default(),
            "-g",
            "daemon off;",
        ],
        Extras::default(),
    )?;
    wait_for_port(addr, &format!("nginx ({role})"))?;
    Ok(Nginx { master })
}
