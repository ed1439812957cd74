//! The `reddalert` binary: parse the command line, set up logging, run, exit with a code
//! that means something (0 ok, 1 partial failure, 2 fatal).

use std::process::ExitCode;

use clap::Parser as _;

fn main() -> ExitCode {
    let cli = reddalert::cli::Cli::parse();
    reddalert::logging::init(cli.common.verbose, cli.common.silent);
    match reddalert::app::run(cli) {
        Ok(outcome) => outcome.exit_code(),
        Err(err) => {
            tracing::error!("{err:#}");
            eprintln!("error: {err:#}");
            ExitCode::from(2)
        }
    }
}
