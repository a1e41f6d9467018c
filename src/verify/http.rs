//! The HTTP client of verification and revocation: `ureq` (blocking, rustls), with a timeout
//! on every request, no redirects (a redirect could carry the secret's header to another
//! host), `HTTPS_PROXY` / `HTTP_PROXY` / `NO_PROXY` honoured, and bounded response bodies.
//!
//! Failures are described by kind only ("timeout", "connection refused"): a transport error's
//! own text can hold the URL, and a URL can hold the secret.

use std::time::Duration;

use super::spec::Request;

/// The largest response body read (identity calls answer a few KiB).
const MAX_BODY: u64 = 256 << 10;

/// An answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Response {
    /// The status code.
    pub status: u16,
    /// Headers, names lower-cased.
    pub headers: Vec<(String, String)>,
    /// The body (at most 256 KiB).
    pub body: Vec<u8>,
}

impl Response {
    /// A header's value.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// `Retry-After` in seconds, when given as a number.
    pub fn retry_after(&self) -> Option<Duration> {
        self.header("retry-after")
            .and_then(|v| v.trim().parse::<u64>().ok())
            .map(Duration::from_secs)
    }
}

/// Why no answer came.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum Failure {
    /// The request timed out.
    #[error("timeout")]
    Timeout,
    /// Nothing listens at the host.
    #[error("network: connection refused")]
    Refused,
    /// The host name does not resolve.
    #[error("network: host not found")]
    HostNotFound,
    /// TLS failed (certificate, handshake).
    #[error("network: TLS failed")]
    Tls,
    /// The provider answered with a redirect, which is not followed.
    #[error("redirected (not followed)")]
    Redirect,
    /// Any other transport failure.
    #[error("network error")]
    Network,
}

/// A client shared by every worker.
#[derive(Debug, Clone)]
pub struct Client {
    agent: ureq::Agent,
    /// For loopback hosts: never through a proxy.
    direct: ureq::Agent,
}

impl Client {
    /// A client whose requests time out after `timeout`.
    pub fn new(timeout: Duration) -> Client {
        let agent = |proxy: Option<ureq::Proxy>| -> ureq::Agent {
            ureq::Agent::config_builder()
                .http_status_as_error(false)
                .max_redirects(0)
                .timeout_global(Some(timeout))
                .proxy(proxy)
                .user_agent(concat!("leakhound/", env!("CARGO_PKG_VERSION")))
                .build()
                .into()
        };
        Client {
            agent: agent(ureq::Proxy::try_from_env()),
            direct: agent(None),
        }
    }

    /// Sends one request.
    pub fn send(&self, req: &Request) -> Result<Response, Failure> {
        let mut builder = ureq::http::Request::builder()
            .method(req.method.as_str())
            .uri(&req.url);
        for (name, value) in &req.headers {
            builder = builder.header(name.as_str(), value.as_str());
        }
        let request = builder
            .body(req.body.clone().unwrap_or_default())
            .map_err(|_| Failure::Network)?;
        let loopback = super::spec::split_origin(&req.url)
            .is_ok_and(|(origin, _)| super::spec::is_loopback_origin(origin));
        let agent = if loopback { &self.direct } else { &self.agent };
        let mut resp = agent.run(request).map_err(classify)?;
        let status = resp.status().as_u16();
        if (300..400).contains(&status) {
            return Err(Failure::Redirect);
        }
        let headers = resp
            .headers()
            .iter()
            .filter_map(|(n, v)| {
                Some((n.as_str().to_ascii_lowercase(), v.to_str().ok()?.to_owned()))
            })
            .collect();
        let body = resp
            .body_mut()
            .with_config()
            .limit(MAX_BODY)
            .read_to_vec()
            .unwrap_or_default();
        Ok(Response {
            status,
            headers,
            body,
        })
    }
}

fn classify(e: ureq::Error) -> Failure {
    match e {
        ureq::Error::Timeout(_) => Failure::Timeout,
        ureq::Error::HostNotFound => Failure::HostNotFound,
        ureq::Error::Io(io) => match io.kind() {
            std::io::ErrorKind::ConnectionRefused => Failure::Refused,
            std::io::ErrorKind::TimedOut | std::io::ErrorKind::WouldBlock => Failure::Timeout,
            _ => Failure::Network,
        },
        ureq::Error::ConnectionFailed => Failure::Refused,
        ureq::Error::Tls(_) | ureq::Error::Rustls(_) => Failure::Tls,
        ureq::Error::TooManyRedirects | ureq::Error::RedirectFailed => Failure::Redirect,
        _ => Failure::Network,
    }
}
