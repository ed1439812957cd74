//! What the commands that print (`rules`, `test-rule`, `snapshot`, `new-rule`) write to
//! stdout: [`outln!`] is `println!` that returns the write's error instead of panicking, so a
//! reader that goes away (`reddalert rules | head`) ends the command quietly
//! ([`is_broken_pipe`]) rather than with a panic and exit code 101.

/// `println!` that returns the `std::io::Result` of the write.
macro_rules! outln {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        writeln!(std::io::stdout().lock(), $($arg)*)
    }};
}

pub(crate) use outln;

/// Whether `err` comes from writing to a pipe whose reader went away.
pub fn is_broken_pipe(err: &anyhow::Error) -> bool {
    err.chain().any(|cause| {
        cause
            .downcast_ref::<std::io::Error>()
            .is_some_and(|e| e.kind() == std::io::ErrorKind::BrokenPipe)
    })
}
