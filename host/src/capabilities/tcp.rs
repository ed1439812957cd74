//! `tcp-probe`: whether a TCP connection to host:port can be opened within the timeout, as the
//! original's secgroups rule checked an opened port. The name is resolved once, every address
//! is checked against the rule's host policy, and only those checked addresses are dialled, so
//! nothing can change between the check and the connection. A refused or timed-out connection
//! is an answer (`false`), not an error; a name that does not resolve is a transport error.

use std::net::{IpAddr, SocketAddr, TcpStream, ToSocketAddrs};
use std::time::{Duration, Instant};

use super::CallError;
use crate::config::capabilities::HostPolicy;
use crate::contract::NetError;

/// Addresses of one name tried at most.
const MAX_ADDRS: usize = 16;

pub(super) fn probe(
    host: &str,
    port: u16,
    timeout: Duration,
    policy: &HostPolicy,
) -> Result<bool, CallError> {
    let name = host.trim_start_matches('[').trim_end_matches(']');
    if name.is_empty() || name.contains(['/', ' ', '@']) {
        return Err(transport(format!(
            "{host:?} is not a host name or IP address"
        )));
    }
    if port == 0 {
        return Err(transport("port 0 cannot be probed".into()));
    }
    let addrs: Vec<SocketAddr> = match name.parse::<IpAddr>() {
        Ok(ip) => vec![SocketAddr::new(ip, port)],
        Err(_) => (name, port)
            .to_socket_addrs()
            .map_err(|e| transport(format!("failed to resolve {name}: {e}")))?
            .take(MAX_ADDRS)
            .collect(),
    };
    if addrs.is_empty() {
        return Err(transport(format!("{name} resolves to no address")));
    }
    let ips: Vec<IpAddr> = addrs.iter().map(SocketAddr::ip).collect();
    policy.check(name, &ips).map_err(CallError::Refused)?;
    let deadline = Instant::now() + timeout;
    for addr in &addrs {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            break;
        }
        if TcpStream::connect_timeout(addr, left).is_ok() {
            return Ok(true);
        }
    }
    Ok(false)
}

fn transport(message: String) -> CallError {
    CallError::Net(NetError::Transport(message))
}
