//! What the credential chain's sources share: what one source had, the link-local sources'
//! addresses, and a bounded read of a file a source names.

use std::time::Duration;

use crate::aws::keys::Credentials;
use crate::aws::transport::Transport;

/// What one source had.
pub(super) enum Lookup {
    /// Credentials, and where from (for the log).
    Found(Credentials, String),
    /// Nothing, because the source is not configured here; why, for "no credentials".
    Absent(String),
}

/// The link-local sources' addresses and transports.
pub(crate) struct Local {
    /// Where `AWS_CONTAINER_CREDENTIALS_RELATIVE_URI` is resolved.
    pub container_base: String,
    pub container: Transport,
    /// Where instance metadata is when `AWS_EC2_METADATA_SERVICE_ENDPOINT` is unset.
    pub imds_base: String,
    pub imds: Transport,
}

impl Local {
    /// The SDKs' addresses; timeouts short enough that a host off EC2 fails fast.
    pub(crate) fn standard() -> Local {
        Local {
            container_base: "http://169.254.170.2".into(),
            container: Transport::local(Duration::from_secs(2), 2),
            imds_base: "http://169.254.169.254".into(),
            imds: Transport::local(Duration::from_secs(1), 1),
        }
    }
}

/// Reads a small file a credential source names (a token), bounded.
pub(super) fn read_small(path: &str, what: &str) -> Result<String, String> {
    use std::io::Read as _;
    const MAX: u64 = 64 << 10;
    let file =
        std::fs::File::open(path).map_err(|e| format!("failed to open {what} {path}: {e}"))?;
    let mut text = String::new();
    file.take(MAX + 1)
        .read_to_string(&mut text)
        .map_err(|e| format!("failed to read {what} {path}: {e}"))?;
    if text.len() as u64 > MAX {
        return Err(format!("{what} {path} is larger than {} KiB", MAX >> 10));
    }
    Ok(text.trim().to_owned())
}
