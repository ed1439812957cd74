//! A test rule that reaches for ambient authority (environment, files, clocks, network) and
//! reports what it got, so the tests can prove the sandbox grants none of it.

use reddalert_rule_sdk::prelude::*;

struct Ambient;

impl Rule for Ambient {
    fn info() -> Info {
        Info {
            name: "ambient".into(),
            version: "0.0.1".into(),
            description: "reports what ambient authority the sandbox lets through".into(),
            queries: vec![Query::current(INSTANCES)],
            capabilities: vec![],
            default_config: json!({}),
        }
    }

    fn evaluate(_input: Input) -> Result<Output> {
        let env: Vec<String> = std::env::vars().map(|(k, _)| k).collect();
        let args: Vec<String> = std::env::args().collect();
        let root = std::fs::read_dir("/")
            .map(|d| d.count())
            .map_err(|e| e.to_string());
        let passwd = std::fs::read_to_string("/etc/passwd")
            .map(|s| s.len())
            .map_err(|e| e.to_string());
        let cwd = std::env::current_dir()
            .map(|p| p.display().to_string())
            .map_err(|e| e.to_string());
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_millis() as u64)
            .unwrap_or(0);
        let started = std::time::Instant::now();
        let elapsed_ns = started.elapsed().as_nanos() as u64;
        let tcp = std::net::TcpStream::connect("127.0.0.1:9")
            .map(|_| ())
            .map_err(|e| e.to_string());
        let dns = std::net::ToSocketAddrs::to_socket_addrs(&("localhost", 80))
            .map(|a| a.count())
            .map_err(|e| e.to_string());
        let mut out = Output::new();
        out.alert(
            "ambient",
            json!({
                "env": env,
                "args": args,
                "read_dir_root": format!("{root:?}"),
                "read_passwd": format!("{passwd:?}"),
                "cwd": format!("{cwd:?}"),
                "wall_clock_ms": now,
                "monotonic_elapsed_ns": elapsed_ns,
                "tcp_connect": format!("{tcp:?}"),
                "dns": format!("{dns:?}"),
            }),
        );
        Ok(out)
    }
}

reddalert_rule_sdk::register!(Ambient);
