//! The settings every HTTP client of reddalert starts from (EDDA, the outputs, the HTTP,
//! Chef and S3 capabilities): HTTP errors are answers to read, not transport failures; one
//! overall timeout; a user agent naming us. Each client adds what is its own.

use std::time::Duration;

use ureq::config::ConfigBuilder;
use ureq::typestate::AgentScope;

/// What every client sends as its user agent.
pub const USER_AGENT: &str = concat!("reddalert/", env!("CARGO_PKG_VERSION"));

/// The common agent settings, with `timeout` for each whole request.
pub fn agent_config(timeout: Duration) -> ConfigBuilder<AgentScope> {
    ureq::Agent::config_builder()
        .http_status_as_error(false)
        .timeout_global(Some(timeout))
        .user_agent(USER_AGENT)
}
