//! Entry point: parse the command line, load settings, set up logging, dispatch.

use std::process::ExitCode;

use clap::Parser;
use {{crate_name}}::{cli, settings::Settings, telemetry};

#[tokio::main]
async fn main() -> ExitCode {
    let cli = cli::Cli::parse();
    let settings = match Settings::load() {
        Ok(settings) => settings,
        Err(error) => {
            // One line naming the key, before logging exists: no backtrace.
            eprintln!("error: {error}");
            return ExitCode::from(2);
        }
    };
    // Kept to the end, so that the last traces are sent.
    let _traces = telemetry::init(&settings.log, &settings.traces);
    match cli::run(cli, settings).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("error: {error:#}");
            ExitCode::FAILURE
        }
    }
}
