//! A real SMTP server on loopback for the mail output's tests: `mailin-embedded` speaking the
//! protocol (EHLO, STARTTLS, AUTH PLAIN/LOGIN, MAIL, RCPT, DATA), with a handler that keeps
//! every message it accepted and the credentials it was given. [`FakeSmtp::with_starttls_auth`]
//! offers STARTTLS with a certificate made for the test (rcgen) and, like real submission
//! servers, advertises AUTH only once TLS is up and refuses mail without it.

use std::io;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use mailin_embedded::{AuthMechanism, Handler, Response, Server, SslConfig, response};

use crate::http::lock;

/// One accepted message.
#[derive(Debug, Clone)]
pub struct Received {
    pub from: String,
    pub to: Vec<String>,
    /// The message as sent after DATA (headers and body).
    pub data: Vec<u8>,
    /// The AUTH identity and password, when the client authenticated.
    pub auth: Option<(String, String)>,
}

/// A received message parsed as a mail client would (mail-parser): headers decoded, parts
/// split and their transfer encodings undone.
#[derive(Debug, Clone)]
pub struct Parsed {
    pub subject: String,
    pub from: Vec<String>,
    pub to: Vec<String>,
    pub date: Option<String>,
    /// `type/subtype` of every part, the message itself first.
    pub content_types: Vec<String>,
    pub text: String,
    pub html: String,
}

impl Received {
    pub fn parse(&self) -> Parsed {
        use mail_parser::MimeHeaders as _;
        let message = mail_parser::MessageParser::default()
            .parse(&self.data)
            .expect("a parsable message");
        let addresses = |a: Option<&mail_parser::Address>| -> Vec<String> {
            a.map(|a| {
                a.iter()
                    .filter_map(|x| x.address())
                    .map(str::to_owned)
                    .collect()
            })
            .unwrap_or_default()
        };
        let content_types = message
            .parts
            .iter()
            .filter_map(|p| p.content_type())
            .map(|ct| format!("{}/{}", ct.ctype(), ct.subtype().unwrap_or_default()))
            .collect();
        let part_text = |index: Option<&u32>| {
            index
                .and_then(|&i| message.parts.get(i as usize))
                .and_then(|p| p.text_contents())
                .unwrap_or_default()
                .to_owned()
        };
        Parsed {
            subject: message.subject().unwrap_or_default().to_owned(),
            from: addresses(message.from()),
            to: addresses(message.to()),
            date: message.date().map(|d| d.to_rfc3339()),
            content_types,
            text: part_text(message.text_body.first()),
            html: part_text(message.html_body.first()),
        }
    }
}

#[derive(Clone)]
struct Keeper {
    messages: Arc<Mutex<Vec<Received>>>,
    credentials: Option<(String, String)>,
    auth: Option<(String, String)>,
    current: Option<Received>,
}

impl Handler for Keeper {
    fn data_start(&mut self, _domain: &str, from: &str, _is8bit: bool, to: &[String]) -> Response {
        self.current = Some(Received {
            from: from.to_owned(),
            to: to.to_vec(),
            data: Vec::new(),
            auth: self.auth.clone(),
        });
        response::OK
    }

    fn data(&mut self, buf: &[u8]) -> io::Result<()> {
        if let Some(current) = &mut self.current {
            current.data.extend_from_slice(buf);
        }
        Ok(())
    }

    fn data_end(&mut self) -> Response {
        if let Some(message) = self.current.take() {
            lock(&self.messages).push(message);
        }
        response::OK
    }

    fn auth_plain(&mut self, _authorization_id: &str, user: &str, password: &str) -> Response {
        self.check(user, password)
    }

    fn auth_login(&mut self, user: &str, password: &str) -> Response {
        self.check(user, password)
    }
}

impl Keeper {
    fn check(&mut self, user: &str, password: &str) -> Response {
        match &self.credentials {
            Some((u, p)) if u == user && p == password => {
                self.auth = Some((user.to_owned(), password.to_owned()));
                response::AUTH_OK
            }
            _ => response::INVALID_CREDENTIALS,
        }
    }
}

/// A running SMTP server; it serves until the test process ends.
pub struct FakeSmtp {
    port: u16,
    messages: Arc<Mutex<Vec<Received>>>,
    ca_file: Option<PathBuf>,
    _dir: tempfile::TempDir,
}

impl FakeSmtp {
    /// Plain SMTP, no TLS, no AUTH: the original reddalert's relay.
    pub fn plain() -> FakeSmtp {
        FakeSmtp::start(None)
    }

    /// STARTTLS with a certificate for 127.0.0.1 and localhost, and AUTH (PLAIN, LOGIN)
    /// required, accepting only `user`/`password`.
    pub fn with_starttls_auth(user: &str, password: &str) -> FakeSmtp {
        FakeSmtp::start(Some((user.to_owned(), password.to_owned())))
    }

    /// Implicit TLS (SMTPS): a TLS front on its own port, with a certificate for 127.0.0.1 and
    /// localhost, relaying the decrypted session to a plain server (mailin speaks STARTTLS
    /// only). No AUTH.
    pub fn with_implicit_tls() -> FakeSmtp {
        let mut smtp = FakeSmtp::start(None);
        let certified = rcgen::generate_simple_self_signed(vec![
            "127.0.0.1".to_owned(),
            "localhost".to_owned(),
        ])
        .expect("generate a certificate");
        let cert = smtp._dir.path().join("smtps-cert.pem");
        std::fs::write(&cert, certified.cert.pem()).expect("write certificate");
        let key =
            rustls::pki_types::PrivateKeyDer::Pkcs8(certified.signing_key.serialize_der().into());
        let config = rustls::ServerConfig::builder()
            .with_no_client_auth()
            .with_single_cert(vec![certified.cert.der().clone()], key)
            .expect("TLS server config");
        let front = TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0");
        let backend = smtp.port;
        smtp.port = front.local_addr().expect("local address").port();
        smtp.ca_file = Some(cert);
        let config = Arc::new(config);
        std::thread::spawn(move || {
            for stream in front.incoming().flatten() {
                let config = config.clone();
                std::thread::spawn(move || relay_tls(stream, backend, config));
            }
        });
        smtp
    }

    fn start(credentials: Option<(String, String)>) -> FakeSmtp {
        // mailin's rustls has both crypto back-ends compiled in; rustls then wants one chosen.
        let _ = rustls::crypto::ring::default_provider().install_default();
        let dir = tempfile::tempdir().expect("tempdir");
        let messages = Arc::new(Mutex::new(Vec::new()));
        let keeper = Keeper {
            messages: messages.clone(),
            credentials: credentials.clone(),
            auth: None,
            current: None,
        };
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0");
        let port = listener.local_addr().expect("local address").port();
        let mut server = Server::new(keeper);
        server.with_name("smtp.test").with_tcp_listener(listener);
        let mut ca_file = None;
        if credentials.is_some() {
            let (cert, key) = write_certificate(dir.path());
            server
                .with_ssl(SslConfig::SelfSigned {
                    cert_path: path_string(&cert),
                    key_path: path_string(&key),
                })
                .expect("TLS set up");
            server
                .with_auth(AuthMechanism::Plain)
                .with_auth(AuthMechanism::Login);
            ca_file = Some(cert);
        }
        std::thread::spawn(move || {
            if let Err(err) = server.serve() {
                eprintln!("fake SMTP server stopped: {err}");
            }
        });
        FakeSmtp {
            port,
            messages,
            ca_file,
            _dir: dir,
        }
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// The server's certificate (PEM), for the client to trust.
    pub fn ca_file(&self) -> &Path {
        self.ca_file.as_deref().expect("a TLS server")
    }

    pub fn messages(&self) -> Vec<Received> {
        lock(&self.messages).clone()
    }

    /// Waits up to `timeout` for at least `n` messages.
    pub fn wait_for(&self, n: usize, timeout: Duration) -> Vec<Received> {
        let start = Instant::now();
        loop {
            let messages = self.messages();
            if messages.len() >= n || start.elapsed() > timeout {
                return messages;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

/// Relays one TLS client to the plain server. One thread polls both sides with short read
/// timeouts, because a rustls stream cannot be split between a reader and a writer thread.
fn relay_tls(client: std::net::TcpStream, backend_port: u16, config: Arc<rustls::ServerConfig>) {
    use std::io::{Read, Write};
    let Ok(conn) = rustls::ServerConnection::new(config) else {
        return;
    };
    let Ok(mut backend) = std::net::TcpStream::connect(("127.0.0.1", backend_port)) else {
        return;
    };
    let tick = Some(Duration::from_millis(5));
    if client.set_read_timeout(tick).is_err() || backend.set_read_timeout(tick).is_err() {
        return;
    }
    let mut tls = rustls::StreamOwned::new(conn, client);
    let idle = |e: &io::Error| {
        matches!(
            e.kind(),
            io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
        )
    };
    let mut buf = [0u8; 16 * 1024];
    loop {
        match backend.read(&mut buf) {
            Ok(0) => return,
            Ok(n) => {
                if tls.write_all(&buf[..n]).and_then(|()| tls.flush()).is_err() {
                    return;
                }
            }
            Err(e) if idle(&e) => {}
            Err(_) => return,
        }
        match tls.read(&mut buf) {
            Ok(0) => return,
            Ok(n) => {
                if backend.write_all(&buf[..n]).is_err() {
                    return;
                }
            }
            Err(e) if idle(&e) => {}
            Err(_) => return,
        }
    }
}

fn write_certificate(dir: &Path) -> (PathBuf, PathBuf) {
    let names = vec!["127.0.0.1".to_owned(), "localhost".to_owned()];
    let certified = rcgen::generate_simple_self_signed(names).expect("generate a certificate");
    let cert = dir.join("smtp-cert.pem");
    let key = dir.join("smtp-key.pem");
    std::fs::write(&cert, certified.cert.pem()).expect("write certificate");
    std::fs::write(&key, certified.signing_key.serialize_pem()).expect("write key");
    (cert, key)
}

fn path_string(p: &Path) -> String {
    p.to_str().expect("utf-8 temp path").to_owned()
}
