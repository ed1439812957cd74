//! The registry protocol, from `oci-client` (the client Kubewarden and the WebAssembly package
//! tools use): Bearer token and Basic auth as Docker Hub, GHCR, ECR and Harbor answer them,
//! redirects to blob storage, uploads. Its TLS is the host's rustls with ring; plain HTTP is
//! spoken only to the hosts listed in `registry.insecure`. Its async API runs on a
//! current-thread runtime owned here, so nothing else in the host is async, and only `pull`,
//! `push` and `sign` ever build one. Blobs are read through a writer that stops at their
//! declared size, so a registry cannot make the host hold more than it announced.

use std::collections::BTreeMap;
use std::path::Path;
use std::pin::Pin;
use std::task::{Context, Poll};

use anyhow::{Context as _, Result, anyhow, bail};
use oci_client::client::{Certificate, CertificateEncoding, ClientConfig, ClientProtocol};
use oci_client::errors::{OciDistributionError, OciErrorCode};
use oci_client::secrets::RegistryAuth;
use oci_client::{Client, Reference};

use super::artifact::IMAGE_MANIFEST;
use crate::config::RegistrySettings;

/// A connection to registries with the config's settings.
pub struct Registry {
    client: Client,
    runtime: tokio::runtime::Runtime,
    settings: RegistrySettings,
    docker_auths: BTreeMap<String, (String, String)>,
}

/// A reference parsed, with the host named as written.
#[derive(Debug, Clone)]
pub struct Ref(Reference);

impl Ref {
    pub fn parse(text: &str) -> Result<Ref> {
        text.parse::<Reference>()
            .map(Ref)
            .map_err(|err| anyhow!("{text:?} is not an OCI reference: {err}"))
    }

    /// `host/repository`, without tag or digest: what a signature's payload names.
    pub fn repository(&self) -> String {
        format!("{}/{}", self.0.registry(), self.0.repository())
    }

    pub fn host(&self) -> &str {
        self.0.resolve_registry()
    }

    /// The same repository at `digest`.
    pub fn at_digest(&self, digest: &str) -> Ref {
        Ref(Reference::with_digest(
            self.0.registry().to_owned(),
            self.0.repository().to_owned(),
            digest.to_owned(),
        ))
    }

    /// The same repository at `tag`.
    pub fn at_tag(&self, tag: &str) -> Ref {
        Ref(Reference::with_tag(
            self.0.registry().to_owned(),
            self.0.repository().to_owned(),
            tag.to_owned(),
        ))
    }

    pub fn digest(&self) -> Option<&str> {
        self.0.digest()
    }
}

impl std::fmt::Display for Ref {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", self.0.whole())
    }
}

impl Registry {
    pub fn new(settings: &RegistrySettings) -> Result<Registry> {
        // reqwest is built without a crypto provider of its own: ours is ring. Another part of
        // the process may have installed it first.
        let _ = rustls::crypto::ring::default_provider().install_default();
        let mut extra_root_certificates = Vec::new();
        if let Some(path) = &settings.ca_file {
            let data = std::fs::read(path)
                .with_context(|| format!("failed to read registry.ca_file {}", path.display()))?;
            extra_root_certificates.push(Certificate {
                encoding: CertificateEncoding::Pem,
                data,
            });
        }
        let config = ClientConfig {
            protocol: ClientProtocol::HttpsExcept(settings.insecure.clone()),
            extra_root_certificates,
            // An index is not a module's artifact: refuse it rather than pick a platform.
            platform_resolver: None,
            connect_timeout: Some(settings.timeout),
            read_timeout: Some(settings.timeout),
            user_agent: concat!("reddalert/", env!("CARGO_PKG_VERSION")),
            ..ClientConfig::default()
        };
        let client = Client::try_from(config).context("failed to set up the registry client")?;
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .context("failed to start the registry client's runtime")?;
        let docker_auths = match &settings.docker_config {
            Some(path) => docker_auths(path)?,
            None => BTreeMap::new(),
        };
        Ok(Registry {
            client,
            runtime,
            settings: settings.clone(),
            docker_auths,
        })
    }

    /// The credentials for `reference`'s host: `[registry.auth]`, then docker's config.json,
    /// else none.
    fn auth(&self, reference: &Ref) -> Result<RegistryAuth> {
        let host = reference.0.registry();
        if let Some(creds) = self
            .settings
            .auth
            .get(host)
            .or_else(|| self.settings.auth.get(reference.host()))
        {
            let key = format!("registry.auth.\"{host}\"");
            return Ok(RegistryAuth::Basic(
                crate::config::secret(&creds.username_env, &format!("{key}.username_env"))?,
                crate::config::secret(&creds.password_env, &format!("{key}.password_env"))?,
            ));
        }
        Ok(
            match self
                .docker_auths
                .get(host)
                .or_else(|| self.docker_auths.get(reference.host()))
            {
                Some((user, password)) => RegistryAuth::Basic(user.clone(), password.clone()),
                None => RegistryAuth::Anonymous,
            },
        )
    }

    /// The manifest at `reference`, and its digest (checked against the body, and against the
    /// reference's digest when it has one).
    pub fn manifest(&self, reference: &Ref) -> Result<(Vec<u8>, String)> {
        let auth = self.auth(reference)?;
        let (body, digest) = self
            .runtime
            .block_on(
                self.client
                    .pull_manifest_raw(&reference.0, &auth, &[IMAGE_MANIFEST]),
            )
            .map_err(|err| self.explain(reference, err))?;
        Ok((body.to_vec(), digest))
    }

    /// Like [`Registry::manifest`], with `None` when the registry has no such manifest.
    pub fn manifest_if_any(&self, reference: &Ref) -> Result<Option<(Vec<u8>, String)>> {
        let auth = self.auth(reference)?;
        match self.runtime.block_on(self.client.pull_manifest_raw(
            &reference.0,
            &auth,
            &[IMAGE_MANIFEST],
        )) {
            Ok((body, digest)) => Ok(Some((body.to_vec(), digest))),
            Err(err) if is_not_found(&err) => Ok(None),
            Err(err) => Err(self.explain(reference, err)),
        }
    }

    /// The blob `digest` of `reference`'s repository, of at most `size` bytes; oci-client
    /// checks its digest.
    pub fn blob(&self, reference: &Ref, digest: &str, size: u64) -> Result<Vec<u8>> {
        let auth = self.auth(reference)?;
        let mut out = Bounded {
            bytes: Vec::with_capacity(size.min(1 << 20) as usize),
            limit: size,
        };
        self.runtime
            .block_on(async {
                self.client
                    .store_auth_if_needed(reference.0.resolve_registry(), &auth)
                    .await;
                self.client.pull_blob(&reference.0, digest, &mut out).await
            })
            .map_err(|err| self.explain(reference, err))
            .with_context(|| format!("failed to download the blob {digest}"))?;
        Ok(out.bytes)
    }

    /// Uploads `bytes` as a blob of `reference`'s repository (nothing is sent when the
    /// registry has it already).
    pub fn push_blob(&self, reference: &Ref, digest: &str, bytes: Vec<u8>) -> Result<()> {
        let auth = self.auth(reference)?;
        self.runtime
            .block_on(async {
                self.client
                    .auth(&reference.0, &auth, oci_client::RegistryOperation::Push)
                    .await?;
                if self.client.blob_exists(&reference.0, digest).await? {
                    return Ok(());
                }
                self.client
                    .push_blob(&reference.0, bytes, digest)
                    .await
                    .map(|_| ())
            })
            .map_err(|err| self.explain(reference, err))
            .with_context(|| format!("failed to upload the blob {digest}"))
    }

    /// Uploads an image manifest under `reference`'s tag; returns its digest.
    pub fn push_manifest(&self, reference: &Ref, manifest: Vec<u8>) -> Result<String> {
        let auth = self.auth(reference)?;
        let digest = super::artifact::sha256_digest(&manifest);
        self.runtime
            .block_on(async {
                self.client
                    .auth(&reference.0, &auth, oci_client::RegistryOperation::Push)
                    .await?;
                self.client
                    .push_manifest_raw(
                        &reference.0,
                        manifest,
                        http::HeaderValue::from_static(IMAGE_MANIFEST),
                    )
                    .await
            })
            .map_err(|err| self.explain(reference, err))
            .context("failed to upload the manifest")?;
        Ok(digest)
    }

    /// An error of oci-client, with what to do where the cause is plain.
    fn explain(&self, reference: &Ref, err: OciDistributionError) -> anyhow::Error {
        let host = reference.0.registry();
        let hint = match &err {
            OciDistributionError::RequestError(_)
                if !self.settings.insecure.iter().any(|h| h == host) =>
            {
                format!(
                    " (reddalert speaks HTTPS to {host}; a registry that speaks plain HTTP must be listed in `registry.insecure`)"
                )
            }
            OciDistributionError::UnauthorizedError { .. }
            | OciDistributionError::AuthenticationFailure(_) => format!(
                " (credentials for {host} come from `[registry.auth.\"{host}\"]` or `registry.docker_config`)"
            ),
            _ => String::new(),
        };
        anyhow::Error::new(err).context(format!("the registry {host} failed for {reference}{hint}"))
    }
}

fn is_not_found(err: &OciDistributionError) -> bool {
    match err {
        OciDistributionError::RegistryError { envelope, .. } => envelope.errors.iter().any(|e| {
            matches!(
                e.code,
                OciErrorCode::ManifestUnknown | OciErrorCode::NotFound | OciErrorCode::NameUnknown
            )
        }),
        OciDistributionError::ServerError { code, .. } => *code == 404,
        OciDistributionError::ImageManifestNotFoundError(_) => true,
        _ => false,
    }
}

/// The Basic credentials of docker's `config.json` (`auths.<host>.auth`, base64 of
/// `user:password`, or `username` and `password`). Credential helpers are not run.
fn docker_auths(path: &Path) -> Result<BTreeMap<String, (String, String)>> {
    use base64::Engine as _;
    #[derive(serde::Deserialize)]
    struct DockerConfig {
        #[serde(default)]
        auths: BTreeMap<String, DockerAuth>,
    }
    #[derive(serde::Deserialize)]
    struct DockerAuth {
        auth: Option<String>,
        username: Option<String>,
        password: Option<String>,
    }
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("failed to read registry.docker_config {}", path.display()))?;
    let config: DockerConfig = serde_json::from_str(&text)
        .with_context(|| format!("invalid docker config {}", path.display()))?;
    let mut auths = BTreeMap::new();
    for (host, auth) in config.auths {
        // Docker writes Docker Hub as a URL; other hosts as host[:port].
        let host = host
            .trim_start_matches("https://")
            .trim_start_matches("http://")
            .split('/')
            .next()
            .unwrap_or_default()
            .to_owned();
        let pair = match (auth.auth, auth.username, auth.password) {
            (Some(encoded), _, _) => {
                let decoded = base64::engine::general_purpose::STANDARD
                    .decode(encoded.trim())
                    .ok()
                    .and_then(|b| String::from_utf8(b).ok());
                match decoded.as_deref().and_then(|d| d.split_once(':')) {
                    Some((user, password)) => (user.to_owned(), password.to_owned()),
                    None => bail!(
                        "invalid docker config {}: the auth of {host} is not base64 of user:password",
                        path.display()
                    ),
                }
            }
            (None, Some(user), Some(password)) => (user, password),
            _ => continue,
        };
        auths.insert(host, pair);
    }
    Ok(auths)
}

/// Collects a blob, failing past `limit` bytes.
struct Bounded {
    bytes: Vec<u8>,
    limit: u64,
}

impl tokio::io::AsyncWrite for Bounded {
    fn poll_write(
        mut self: Pin<&mut Self>,
        _: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        if (self.bytes.len() + buf.len()) as u64 > self.limit {
            return Poll::Ready(Err(std::io::Error::other(format!(
                "the registry sent more than the {} bytes the manifest announced",
                self.limit
            ))));
        }
        self.bytes.extend_from_slice(buf);
        Poll::Ready(Ok(buf.len()))
    }

    fn poll_flush(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Poll::Ready(Ok(()))
    }

    fn poll_shutdown(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Poll::Ready(Ok(()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::AsyncWriteExt as _;

    #[test]
    fn a_blob_past_its_announced_size_is_cut_off() {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap();
        let mut out = Bounded {
            bytes: Vec::new(),
            limit: 4,
        };
        runtime.block_on(out.write_all(b"1234")).unwrap();
        let err = runtime.block_on(out.write_all(b"5")).unwrap_err();
        assert!(err.to_string().contains("more than the 4 bytes"), "{err}");
        assert_eq!(out.bytes, b"1234");
    }

    #[test]
    fn docker_config_auths_are_read_by_host() {
        use base64::Engine as _;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("config.json");
        let auth = base64::engine::general_purpose::STANDARD.encode("alice:s3cret");
        std::fs::write(
            &path,
            serde_json::json!({"auths": {
                "https://index.docker.io/v1/": {"auth": auth},
                "127.0.0.1:5000": {"username": "bob", "password": "pw"},
                "ghcr.io": {"identitytoken": "x"},
            }, "credsStore": "desktop"})
            .to_string(),
        )
        .unwrap();
        let auths = docker_auths(&path).unwrap();
        assert_eq!(auths["index.docker.io"], ("alice".into(), "s3cret".into()));
        assert_eq!(auths["127.0.0.1:5000"], ("bob".into(), "pw".into()));
        assert!(!auths.contains_key("ghcr.io"));
    }
}
