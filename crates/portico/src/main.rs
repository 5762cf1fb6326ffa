//! `portico`: the command line. Parses arguments, sets up logging and the async runtime,
//! and hands over to the library crates; no gateway or control-plane logic lives here.

mod cli;
mod client;
mod control_cmd;
mod declarative_cmd;
mod gateway_cmd;
mod logging;
mod remote_cmd;
mod up_cmd;

use clap::Parser;

/// mimalloc: measurably cheaper than glibc's allocator for the many small, short-lived
/// allocations of request handling (see the README's Performance section).
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;
use std::process::ExitCode;

fn main() -> ExitCode {
    let cli = cli::Cli::parse();
    logging::init(cli.log_format);
    let result = match cli.command {
        cli::Command::Up(args) => up_cmd::run(args),
        cli::Command::Gateway(args) => gateway_cmd::run(args),
        cli::Command::ControlPlane(args) => control_cmd::run(args),
        cli::Command::Echo(args) => echo_cmd(args),
        cli::Command::Apply(args) => declarative_cmd::apply(args),
        cli::Command::Export(args) => declarative_cmd::export(args),
        cli::Command::Import(cli::ImportCommand::Openapi(args)) => {
            declarative_cmd::import_openapi(args)
        }
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("portico: {e:#}");
            ExitCode::FAILURE
        }
    }
}

fn echo_cmd(args: cli::EchoArgs) -> anyhow::Result<()> {
    use anyhow::Context;
    tokio::runtime::Runtime::new()?.block_on(async {
        let listener = tokio::net::TcpListener::bind(args.listen)
            .await
            .with_context(|| format!("cannot listen on {}", args.listen))?;
        tracing::info!(listen = %listener.local_addr()?, "echo backend started");
        portico_echo::serve(listener).await;
        Ok(())
    })
}
