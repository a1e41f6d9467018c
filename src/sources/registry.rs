//! Pulling images from an OCI/Docker registry (HTTP API v2), streaming layers straight into the
//! scanner.
//!
//! `ureq` is the HTTP client: blocking, small, rustls for TLS, and its response bodies are plain
//! `Read`ers, which is exactly what the layer walk consumes (no async runtime, nothing buffered
//! to disk). Manifests and configs are parsed as JSON values and their digests verified; the
//! registry's media types (OCI and Docker v2, indexes and manifest lists) are all accepted.
//!
//! Authentication: anonymous first; on `401` the `WWW-Authenticate` challenge decides: `Bearer`
//! (token service: realm, service, scope; with credentials if any) or `Basic`. Credentials come
//! from `--username` with `--password-stdin`, else from `auths` in `$DOCKER_CONFIG/config.json`
//! (default `~/.docker/config.json`). Plain HTTP is used only for `localhost`, `127.0.0.1` and
//! `[::1]`, or with `--insecure-registry`.

use std::{io::Read, sync::Mutex, time::Duration};

use base64::Engine as _;

/// How to reach a registry.
#[derive(Debug, Clone, Default)]
pub struct RegistryOptions {
    /// `--username`.
    pub username: Option<String>,
    /// The password read from stdin (`--password-stdin`).
    pub password: Option<String>,
    /// Allow plain HTTP to any host.
    pub insecure: bool,
    /// `os/arch[/variant]` to pick from an index.
    pub platform: String,
    /// How long to wait for a connection or a response (0 = the defaults: 15 s / 60 s).
    pub timeout_secs: u64,
}

/// A parsed image reference.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reference {
    /// `host[:port]`.
    pub registry: String,
    /// Repository name.
    pub repository: String,
    /// Tag or `sha256:` digest.
    pub reference: String,
}

/// Parses `host[:port]/name[:tag|@digest]`; `None` if the first component is not a registry host.
///
/// ```
/// use leakhound::sources::registry::parse_reference;
/// let r = parse_reference("localhost:5000/team/app:1.4").unwrap();
/// assert_eq!((r.registry.as_str(), r.repository.as_str(), r.reference.as_str()), ("localhost:5000", "team/app", "1.4"));
/// let d = parse_reference("registry.example.com/app@sha256:abc").unwrap();
/// assert_eq!(d.reference, "sha256:abc");
/// assert!(parse_reference("./app.tar").is_none());
/// ```
pub fn parse_reference(s: &str) -> Option<Reference> {
    let (host, rest) = s.split_once('/')?;
    let looks_like_host = host.contains('.') || host.contains(':') || host == "localhost";
    if !looks_like_host || host.starts_with('.') || host.ends_with('.') || rest.is_empty() {
        return None;
    }
    let (name, reference) = match rest.split_once('@') {
        Some((n, d)) => (n, d.to_owned()),
        None => match rest.rsplit_once(':') {
            Some((n, t)) if !t.contains('/') => (n, t.to_owned()),
            _ => (rest, "latest".to_owned()),
        },
    };
    Some(Reference {
        registry: host.to_owned(),
        repository: name.to_owned(),
        reference,
    })
}

/// A registry session: the agent, the base URL and the authorization that worked.
pub struct Client {
    agent: ureq::Agent,
    base: String,
    repository: String,
    credentials: Option<(String, String)>,
    authorization: Mutex<Option<String>>,
}

impl std::fmt::Debug for Client {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Why: never print credentials or tokens.
        f.debug_struct("Client")
            .field("base", &self.base)
            .field("repository", &self.repository)
            .finish_non_exhaustive()
    }
}

fn is_loopback(host: &str) -> bool {
    let h = host.rsplit_once(':').map_or(host, |(h, p)| {
        if p.bytes().all(|b| b.is_ascii_digit()) {
            h
        } else {
            host
        }
    });
    matches!(h, "localhost" | "127.0.0.1" | "[::1]")
}

/// Credentials for a registry from a Docker config file's `auths`.
fn docker_config_credentials(registry: &str) -> Option<(String, String)> {
    let dir = std::env::var_os("DOCKER_CONFIG")
        .map(std::path::PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| std::path::Path::new(&h).join(".docker")))?;
    let text = std::fs::read_to_string(dir.join("config.json")).ok()?;
    let doc: serde_json::Value = serde_json::from_str(&text).ok()?;
    let auths = doc.get("auths")?.as_object()?;
    let entry = auths.iter().find(|(k, _)| {
        let k = k
            .trim_start_matches("https://")
            .trim_start_matches("http://");
        k == registry || k.split('/').next() == Some(registry)
    })?;
    let auth = entry.1.get("auth")?.as_str()?;
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(auth)
        .ok()?;
    let (u, p) = String::from_utf8(decoded)
        .ok()?
        .split_once(':')
        .map(|(u, p)| (u.to_owned(), p.to_owned()))?;
    Some((u, p))
}

impl Client {
    /// A client for a reference's registry.
    pub fn new(r: &Reference, opts: &RegistryOptions) -> Result<Client, String> {
        let scheme = if is_loopback(&r.registry) || opts.insecure {
            "http"
        } else {
            "https"
        };
        let agent: ureq::Agent = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .timeout_connect(Some(Duration::from_secs(if opts.timeout_secs > 0 {
                opts.timeout_secs
            } else {
                15
            })))
            .timeout_recv_response(Some(Duration::from_secs(if opts.timeout_secs > 0 {
                opts.timeout_secs
            } else {
                60
            })))
            .timeout_recv_body(Some(Duration::from_secs(300)))
            .build()
            .into();
        let credentials = match (&opts.username, &opts.password) {
            (Some(u), Some(p)) => Some((u.clone(), p.clone())),
            (Some(_), None) => return Err("--username needs --password-stdin".into()),
            _ => docker_config_credentials(&r.registry),
        };
        Ok(Client {
            agent,
            base: format!("{scheme}://{}/v2/{}", r.registry, r.repository),
            repository: r.repository.clone(),
            credentials,
            authorization: Mutex::new(None),
        })
    }

    fn basic(&self) -> Option<String> {
        self.credentials.as_ref().map(|(u, p)| {
            format!(
                "Basic {}",
                base64::engine::general_purpose::STANDARD.encode(format!("{u}:{p}"))
            )
        })
    }

    /// GET with the current authorization, answering one `401` challenge.
    fn get(&self, url: &str, accept: &str) -> Result<ureq::http::Response<ureq::Body>, String> {
        for attempt in 0..2 {
            let mut req = self.agent.get(url).header("Accept", accept);
            let auth = self
                .authorization
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .clone();
            if let Some(a) = &auth {
                req = req.header("Authorization", a);
            }
            let resp = req.call().map_err(|e| format!("GET {url}: {e}"))?;
            let status = resp.status().as_u16();
            if status == 401 && attempt == 0 {
                let challenge = resp
                    .headers()
                    .get("www-authenticate")
                    .and_then(|v| v.to_str().ok())
                    .unwrap_or("")
                    .to_owned();
                let new = self.answer(&challenge)?;
                *self.authorization.lock().unwrap_or_else(|p| p.into_inner()) = Some(new);
                continue;
            }
            return match status {
                200..=299 => Ok(resp),
                401 | 403 => Err(format!(
                    "GET {url}: {status} {}: the registry refused the credentials (use --username with --password-stdin, or docker login)",
                    if status == 401 {
                        "Unauthorized"
                    } else {
                        "Forbidden"
                    }
                )),
                404 => Err(format!(
                    "GET {url}: 404 Not Found (no such repository, tag or blob)"
                )),
                _ => Err(format!("GET {url}: the registry answered {status}")),
            };
        }
        Err(format!("GET {url}: authentication failed"))
    }

    /// The `Authorization` header that answers a `WWW-Authenticate` challenge.
    fn answer(&self, challenge: &str) -> Result<String, String> {
        let lower = challenge.to_ascii_lowercase();
        if lower.starts_with("basic") {
            return self.basic().ok_or_else(|| "the registry wants credentials (--username with --password-stdin, or docker login)".into());
        }
        if !lower.starts_with("bearer") {
            return Err(format!(
                "unsupported authentication challenge {challenge:?}"
            ));
        }
        let param = |name: &str| -> Option<String> {
            let at = challenge.find(&format!("{name}=\""))? + name.len() + 2;
            let end = challenge[at..].find('"')? + at;
            Some(challenge[at..end].to_owned())
        };
        let realm = param("realm").ok_or("bearer challenge without a realm")?;
        let mut url = realm;
        let mut sep = if url.contains('?') { '&' } else { '?' };
        if let Some(service) = param("service") {
            url.push_str(&format!("{sep}service={}", encode(&service)));
            sep = '&';
        }
        let scope =
            param("scope").unwrap_or_else(|| format!("repository:{}:pull", self.repository));
        url.push_str(&format!("{sep}scope={}", encode(&scope)));
        let mut req = self.agent.get(&url);
        if let Some(b) = self.basic() {
            req = req.header("Authorization", &b);
        }
        let resp = req.call().map_err(|e| format!("token request: {e}"))?;
        if !resp.status().is_success() {
            return Err(format!(
                "the token service answered {}",
                resp.status().as_u16()
            ));
        }
        let body = resp
            .into_body()
            .read_to_string()
            .map_err(|e| format!("token response: {e}"))?;
        let doc: serde_json::Value =
            serde_json::from_str(&body).map_err(|e| format!("token response: {e}"))?;
        let token = doc
            .get("token")
            .or_else(|| doc.get("access_token"))
            .and_then(|t| t.as_str())
            .ok_or("no token in the token response")?;
        Ok(format!("Bearer {token}"))
    }

    /// A small document (manifest, index or config), verified against `digest` when given.
    fn document(&self, url: &str, accept: &str, digest: Option<&str>) -> Result<Vec<u8>, String> {
        let resp = self.get(url, accept)?;
        let bytes = resp
            .into_body()
            .with_config()
            .limit(16 << 20)
            .read_to_vec()
            .map_err(|e| format!("GET {url}: {e}"))?;
        match digest {
            Some(d) => super::oci::verified(d, bytes).map_err(|e| format!("{url}: {e}")),
            None => Ok(bytes),
        }
    }

    /// Resolves the reference (through indexes, by platform) to the image's config and layers.
    pub fn resolve(&self, reference: &str, platform: &str) -> Result<super::oci::Resolved, String> {
        const ACCEPT: &str = "application/vnd.oci.image.index.v1+json, application/vnd.docker.distribution.manifest.list.v2+json, application/vnd.oci.image.manifest.v1+json, application/vnd.docker.distribution.manifest.v2+json";
        let by_digest = reference.starts_with("sha256:").then_some(reference);
        let top = self.document(
            &format!("{}/manifests/{reference}", self.base),
            ACCEPT,
            by_digest,
        )?;
        let doc = serde_json::from_slice(&top)
            .map_err(|e| format!("invalid manifest {reference}: {e}"))?;
        super::oci::resolve(doc, None, platform, &|what, digest| match what {
            super::oci::Fetch::Manifest => self.document(
                &format!("{}/manifests/{digest}", self.base),
                ACCEPT,
                Some(digest),
            ),
            super::oci::Fetch::Blob => self.document(
                &format!("{}/blobs/{digest}", self.base),
                "*/*",
                Some(digest),
            ),
        })
    }

    /// A streaming reader over a blob.
    pub fn blob(&self, digest: &str) -> Result<Box<dyn Read + Send>, String> {
        let resp = self.get(&format!("{}/blobs/{digest}", self.base), "*/*")?;
        Ok(Box::new(resp.into_body().into_reader()))
    }
}

/// Percent-encodes a query value.
fn encode(s: &str) -> String {
    s.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}
