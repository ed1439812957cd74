//! The `reddalert` binary: parse the command line, set up logging, run, exit with a code
//! that means something (0 ok, 1 partial failure, 2 fatal).

use std::process::ExitCode;

fn main() -> ExitCode {
    let cli = reddalert::app::parse_cli();
    reddalert::logging::init(cli.common.verbose, cli.common.silent);
    // Held to the end of main: dropping it flushes what is queued for Sentry.
    let _reporter = match reddalert::report::init(cli.common.sentry.as_deref()) {
        Ok(reporter) => reporter,
        Err(err) => {
            eprintln!("error: {err:#}");
            return ExitCode::from(2);
        }
    };
    match reddalert::app::run(cli) {
        Ok(outcome) => outcome.exit_code(),
        // The reader of what the command printed went away (`reddalert rules | head`).
        Err(err) if reddalert::out::is_broken_pipe(&err) => ExitCode::SUCCESS,
        Err(err) => {
            tracing::error!("{err:#}");
            reddalert::report::fatal(&err);
            eprintln!("error: {err:#}");
            ExitCode::from(2)
        }
    }
}
