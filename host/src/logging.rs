//! Logs go to stderr through `tracing` (stdout carries alerts only). `RUST_LOG` wins over
//! `-v`/`--silent`.

use tracing_subscriber::EnvFilter;

pub fn init(verbose: u8, silent: bool) {
    let default = match (silent, verbose) {
        (true, _) => "warn",
        (false, 0) => "info",
        (false, 1) => "debug",
        (false, _) => "trace",
    };
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| {
        // Our own crate at the chosen level; wasmtime's internals stay quiet unless asked.
        EnvFilter::new(format!("warn,reddalert={default}"))
    });
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .with_target(false)
        .try_init();
}
