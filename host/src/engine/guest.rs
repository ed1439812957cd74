//! The per-call store data of a guest: a deny-all WASI context (no files, environment, network
//! or inherited stdio; a frozen clock), a memory limiter that remembers whether it fired, the
//! captured guest stdout/stderr, and the host side of the contract's imports, which forwards
//! to the [`HostServices`] of the rule being run, and how those imports are linked.

use std::sync::Arc;
use std::time::Duration;

use wasmtime::component::{HasSelf, Linker, ResourceTable};
use wasmtime::{ResourceLimiter, StoreContextMut};
use wasmtime_wasi::p2::pipe::MemoryOutputPipe;
use wasmtime_wasi::{HostMonotonicClock, HostWallClock, WasiCtx, WasiCtxView, WasiView};

use crate::contract::{EddaCallError, HostServices, LogLevel, NetError};

use super::bindings::query_from_wit;
use super::bindings::reddalert::rules::{chef, log, net, s3, types};

const GUEST_OUTPUT_CAP: usize = 64 * 1024;
const LOG_LINE_CAP: usize = 4 * 1024;
const LOG_LINES_CAP: usize = 1000;

pub(crate) struct GuestState {
    wasi: WasiCtx,
    table: ResourceTable,
    pub(super) limiter: MemoryCap,
    host: Arc<dyn HostServices>,
    stdout: MemoryOutputPipe,
    stderr: MemoryOutputPipe,
    log_lines: usize,
}

impl GuestState {
    pub(super) fn new(
        host: Arc<dyn HostServices>,
        memory_bytes: usize,
        clock_ms: u64,
    ) -> GuestState {
        let stdout = MemoryOutputPipe::new(GUEST_OUTPUT_CAP);
        let stderr = MemoryOutputPipe::new(GUEST_OUTPUT_CAP);
        let wasi = WasiCtx::builder()
            .stdout(stdout.clone())
            .stderr(stderr.clone())
            .wall_clock(FrozenClock(Duration::from_millis(clock_ms)))
            .monotonic_clock(FrozenClock(Duration::ZERO))
            .build();
        GuestState {
            wasi,
            table: ResourceTable::new(),
            limiter: MemoryCap {
                limit: memory_bytes,
                hit: false,
                total: 0,
                peak: 0,
            },
            host,
            stdout,
            stderr,
            log_lines: 0,
        }
    }

    /// Hands what the guest printed to the host's log, line by line.
    pub(super) fn flush_guest_output(&self) {
        for (pipe, level) in [
            (&self.stdout, LogLevel::Info),
            (&self.stderr, LogLevel::Warn),
        ] {
            let bytes = pipe.contents();
            for line in String::from_utf8_lossy(&bytes)
                .lines()
                .filter(|l| !l.trim().is_empty())
            {
                self.host.log(level, line);
            }
        }
    }
}

impl GuestState {
    /// The end of what the guest wrote to stderr, on one line.
    pub(super) fn guest_stderr_tail(&self, max: usize) -> String {
        let bytes = self.stderr.contents();
        let text = String::from_utf8_lossy(&bytes);
        let lines: Vec<&str> = text
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty() && !l.starts_with("note: run with"))
            .collect();
        let joined = lines.join(" / ");
        let start = joined.len().saturating_sub(max);
        let start = (start..joined.len())
            .find(|i| joined.is_char_boundary(*i))
            .unwrap_or(joined.len());
        joined[start..].to_owned()
    }
}

impl WasiView for GuestState {
    fn ctx(&mut self) -> WasiCtxView<'_> {
        WasiCtxView {
            ctx: &mut self.wasi,
            table: &mut self.table,
        }
    }
}

/// Caps linear memory and remembers that it refused, so the failure is reported as a memory
/// limit rather than as an anonymous trap. It also keeps the peak of the instance's total
/// linear memory (a component may hold several core memories), which `test-rule` reports.
pub(super) struct MemoryCap {
    limit: usize,
    pub(super) hit: bool,
    total: usize,
    pub(super) peak: usize,
}

impl ResourceLimiter for MemoryCap {
    fn memory_growing(
        &mut self,
        current: usize,
        desired: usize,
        _max: Option<usize>,
    ) -> wasmtime::Result<bool> {
        if desired > self.limit {
            self.hit = true;
            return Err(wasmtime::format_err!(
                "memory limit of {} bytes reached",
                self.limit
            ));
        }
        // Also called when a memory is created (current 0), so the total covers every memory.
        self.total = self.total.saturating_add(desired.saturating_sub(current));
        self.peak = self.peak.max(self.total);
        Ok(true)
    }

    fn table_growing(
        &mut self,
        _current: usize,
        desired: usize,
        _max: Option<usize>,
    ) -> wasmtime::Result<bool> {
        Ok(desired <= 100_000)
    }
}

/// A clock that does not move: rules get the run's time through their window, not ambiently.
struct FrozenClock(Duration);

impl HostWallClock for FrozenClock {
    fn resolution(&self) -> Duration {
        Duration::from_millis(1)
    }
    fn now(&self) -> Duration {
        self.0
    }
}

impl HostMonotonicClock for FrozenClock {
    fn resolution(&self) -> u64 {
        1
    }
    fn now(&self) -> u64 {
        self.0.as_nanos() as u64
    }
}

impl types::Host for GuestState {}

impl log::Host for GuestState {
    fn log(&mut self, level: log::Level, message: String) {
        self.log_lines += 1;
        if self.log_lines > LOG_LINES_CAP {
            if self.log_lines == LOG_LINES_CAP + 1 {
                self.host.log(
                    LogLevel::Warn,
                    "log line limit reached; further lines are dropped",
                );
            }
            return;
        }
        let level = match level {
            log::Level::Error => LogLevel::Error,
            log::Level::Warn => LogLevel::Warn,
            log::Level::Info => LogLevel::Info,
            log::Level::Debug => LogLevel::Debug,
            log::Level::Trace => LogLevel::Trace,
        };
        self.host
            .log(level, &crate::contract::bounded(message, LOG_LINE_CAP));
    }
}

/// The `edda` import, linked by hand ([`add_to_linker`]): its answers are the
/// run's shared bodies, handed to the guest as they are.
impl GuestState {
    pub(super) fn edda_fetch(&self, q: types::Query) -> Result<Arc<str>, types::EddaError> {
        self.host.edda(&query_from_wit(q)).map_err(edda_error)
    }

    pub(super) fn edda_fetch_many(
        &self,
        queries: Vec<types::Query>,
    ) -> Vec<Result<Arc<str>, types::EddaError>> {
        let queries: Vec<_> = queries.into_iter().map(query_from_wit).collect();
        self.host
            .edda_many(&queries)
            .into_iter()
            .map(|r| r.map_err(edda_error))
            .collect()
    }
}

fn edda_error(err: EddaCallError) -> types::EddaError {
    match err {
        EddaCallError::Denied => types::EddaError::Denied,
        EddaCallError::InvalidQuery(m) => types::EddaError::InvalidQuery(m),
        EddaCallError::Http {
            status,
            name,
            message,
        } => types::EddaError::Http(types::EddaHttpError {
            status,
            name,
            message,
        }),
        EddaCallError::Transport(m) => types::EddaError::Transport(m),
        EddaCallError::LimitExceeded => types::EddaError::LimitExceeded,
    }
}

fn net_error(err: NetError) -> types::NetError {
    match err {
        NetError::Denied => types::NetError::Denied,
        NetError::Timeout => types::NetError::Timeout,
        NetError::Http(status) => types::NetError::Http(status),
        NetError::Transport(m) => types::NetError::Transport(m),
        NetError::LimitExceeded => types::NetError::LimitExceeded,
    }
}

fn http_response(r: crate::contract::HttpResponse) -> types::HttpResponse {
    types::HttpResponse {
        status: r.status,
        headers: r.headers,
        body: r.body,
        final_url: r.final_url,
    }
}

impl net::Host for GuestState {
    fn http_get(
        &mut self,
        url: String,
        follow: bool,
    ) -> Result<types::HttpResponse, types::NetError> {
        self.host
            .http_get(&url, follow)
            .map(http_response)
            .map_err(net_error)
    }

    fn http_get_many(
        &mut self,
        requests: Vec<net::HttpRequest>,
    ) -> Vec<Result<types::HttpResponse, types::NetError>> {
        let requests: Vec<(String, bool)> = requests
            .into_iter()
            .map(|r| (r.url, r.follow_redirects))
            .collect();
        self.host
            .http_get_many(&requests)
            .into_iter()
            .map(|r| r.map(http_response).map_err(net_error))
            .collect()
    }

    fn tcp_probe(&mut self, host: String, port: u16) -> Result<bool, types::NetError> {
        self.host.tcp_probe(&host, port).map_err(net_error)
    }

    fn tcp_probe_many(
        &mut self,
        targets: Vec<(String, u16)>,
    ) -> Vec<Result<bool, types::NetError>> {
        self.host
            .tcp_probe_many(&targets)
            .into_iter()
            .map(|r| r.map_err(net_error))
            .collect()
    }
}

impl chef::Host for GuestState {
    fn search_nodes(
        &mut self,
        query: String,
        attributes: String,
    ) -> Result<String, types::NetError> {
        self.host
            .chef_search(&query, &attributes)
            .map_err(net_error)
    }
}

impl s3::Host for GuestState {
    fn list_buckets(&mut self) -> Result<Vec<String>, types::NetError> {
        self.host.s3_list_buckets().map_err(net_error)
    }
    fn bucket_location(&mut self, bucket: String) -> Result<String, types::NetError> {
        self.host.s3_bucket_location(&bucket).map_err(net_error)
    }
    fn list_objects(
        &mut self,
        bucket: String,
        prefix: String,
        delimiter: Option<String>,
    ) -> Result<s3::ObjectListing, types::NetError> {
        self.host
            .s3_list_objects(&bucket, &prefix, delimiter.as_deref())
            .map(|l| s3::ObjectListing {
                keys: l.keys,
                common_prefixes: l.common_prefixes,
            })
            .map_err(net_error)
    }
    fn get_bucket_acl(&mut self, bucket: String) -> Result<String, types::NetError> {
        self.host.s3_bucket_acl(&bucket).map_err(net_error)
    }
    fn get_object_acl(&mut self, bucket: String, key: String) -> Result<String, types::NetError> {
        self.host.s3_object_acl(&bucket, &key).map_err(net_error)
    }
}

/// Links the contract's imports. `edda` is linked by hand rather than through bindgen, whose
/// host traits return owned `String`s: its answers are the run's shared bodies (`Arc<str>`),
/// lowered into the guest as they are, so a body many rules read is never copied per rule.
pub(super) fn add_to_linker(linker: &mut Linker<GuestState>) -> wasmtime::Result<()> {
    super::bindings::reddalert::rules::log::add_to_linker::<_, HasSelf<_>>(linker, |s| s)?;
    super::bindings::reddalert::rules::net::add_to_linker::<_, HasSelf<_>>(linker, |s| s)?;
    super::bindings::reddalert::rules::chef::add_to_linker::<_, HasSelf<_>>(linker, |s| s)?;
    super::bindings::reddalert::rules::s3::add_to_linker::<_, HasSelf<_>>(linker, |s| s)?;
    // 0.1.1's `edda`, which rules of 0.2.0 import too.
    let mut edda = linker.instance(&format!(
        "reddalert:rules/edda@{}",
        super::versions::Contract::V01.version()
    ))?;
    edda.func_wrap(
        "fetch",
        |store: StoreContextMut<'_, GuestState>, (query,): (types::Query,)| {
            Ok((store.data().edda_fetch(query),))
        },
    )?;
    edda.func_wrap(
        "fetch-many",
        |store: StoreContextMut<'_, GuestState>, (queries,): (Vec<types::Query>,)| {
            Ok((store.data().edda_fetch_many(queries),))
        },
    )?;
    Ok(())
}
