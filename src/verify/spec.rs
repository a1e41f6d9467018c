//! A rule's live check and revocation as compiled from its `verify:` and `revoke:` blocks:
//! a request template ([`Template`]) and how to read the answer.
//!
//! A template's URL is split into the provider's origin (scheme, host, port: the part that
//! `[verify.endpoints]` replaces) and the rest. The secret is substituted only into the rest,
//! headers and body, each with its own escaping, so no secret can change the host a request
//! goes to, add a header or end a JSON string.

use std::{collections::BTreeMap, sync::OnceLock};

use base64::Engine as _;

use crate::rules::syntax::{RevokeSyntax, VerifySyntax};

/// An HTTP method a check may use.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Method {
    /// `GET`.
    Get,
    /// `HEAD`.
    Head,
    /// `POST` (GraphQL queries, token-info endpoints, revocation).
    Post,
    /// `DELETE` (revocation only).
    Delete,
}

impl Method {
    /// The method as sent.
    pub fn as_str(self) -> &'static str {
        match self {
            Method::Get => "GET",
            Method::Head => "HEAD",
            Method::Post => "POST",
            Method::Delete => "DELETE",
        }
    }
}

/// A request to build once the secret is known.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Template {
    /// The method.
    pub method: Method,
    /// The provider's public origin (`https://api.github.com`); none when every customer has
    /// its own host (`{endpoint}`), which the user then names in `[verify.endpoints]`.
    pub origin: Option<String>,
    /// Path and query, with `{secret}` / `{companion}` placeholders.
    pub rest: String,
    headers: BTreeMap<String, String>,
    basic: Option<String>,
    form: BTreeMap<String, String>,
    json: Option<String>,
}

/// A request ready to send. Its `Debug` form never shows header values or the body.
#[derive(Clone, PartialEq, Eq)]
pub struct Request {
    /// The method.
    pub method: Method,
    /// The whole URL (it may hold the secret in its path or query: never print it).
    pub url: String,
    /// Headers, names as written.
    pub headers: Vec<(String, String)>,
    /// The body.
    pub body: Option<Vec<u8>>,
}

impl std::fmt::Debug for Request {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Request")
            .field("method", &self.method)
            .field("headers", &self.headers.len())
            .finish_non_exhaustive()
    }
}

/// What fills a template's placeholders.
#[derive(Debug, Clone, Copy)]
pub struct Vars<'a> {
    /// The secret.
    pub secret: &'a str,
    /// The other half of a two-part secret, when it was found.
    pub companion: Option<&'a str>,
}

/// Why a request could not be built.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BuildError {
    /// The template needs the other half, which was not found near the secret.
    #[error("the other half of this secret was not found near it")]
    NoCompanion,
    /// The provider has no public host and none is configured.
    #[error("needs an endpoint: set [verify.endpoints] {0} to the host")]
    NoEndpoint(String),
    /// The secret cannot be sent as a header value.
    #[error("the secret holds characters that cannot be sent in a header")]
    Unsendable,
}

/// A rule's live check.
#[derive(Debug)]
pub struct VerifySpec {
    /// The request (none for a check written in code).
    pub request: Option<Template>,
    /// Statuses that mean live.
    pub active: Vec<u16>,
    /// Statuses that mean revoked or invalid.
    pub inactive: Vec<u16>,
    /// A JSON pointer that must hold `true` for the secret to be live.
    pub ok: Option<String>,
    /// A JSON pointer to the owner.
    pub identity: Option<String>,
    /// A response header listing the scopes (lower-case).
    pub scopes: Option<String>,
    /// The other half of a two-part secret.
    pub companion: Option<Companion>,
    /// A check written in code.
    pub kind: Option<Kind>,
    /// The endpoint's documentation.
    pub docs: String,
}

/// A rule's revocation.
#[derive(Debug)]
pub struct RevokeSpec {
    /// The request (none for a revoker written in code).
    pub request: Option<Template>,
    /// Statuses that mean revoked now.
    pub revoked: Vec<u16>,
    /// A JSON pointer that must hold `true` for the token to count as revoked.
    pub ok: Option<String>,
    /// Statuses that mean already revoked or invalid.
    pub inactive: Vec<u16>,
    /// A revoker written in code.
    pub kind: Option<Kind>,
    /// The endpoint's documentation.
    pub docs: String,
}

/// A check or revoker written in code.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// AWS STS `GetCallerIdentity`, signed with SigV4 (access key id + secret access key).
    AwsSts,
    /// GitHub's `POST /credentials/revoke`, batched (up to 1,000 tokens a request).
    GithubCredentials,
}

impl Kind {
    fn parse(name: &str) -> Option<Kind> {
        match name {
            "aws-sts" => Some(Kind::AwsSts),
            "github-credentials" => Some(Kind::GithubCredentials),
            _ => None,
        }
    }

    /// The public origin of a check written in code (what `[verify.endpoints]` replaces).
    pub fn origin(self) -> &'static str {
        match self {
            Kind::AwsSts => "https://sts.amazonaws.com",
            Kind::GithubCredentials => "https://api.github.com",
        }
    }
}

/// The pattern of the other half of a two-part secret, compiled on first use.
#[derive(Debug)]
pub struct Companion {
    /// The pattern; capture 1 is the other half.
    pub pattern: String,
    regex: OnceLock<Option<regex::bytes::Regex>>,
}

impl Companion {
    /// Checks the pattern now when `eager` (rules from files); built-in rules are checked by
    /// the test suite and compile on first use.
    fn new(pattern: String, eager: bool) -> Result<Companion, String> {
        let regex = OnceLock::new();
        if eager {
            let re = regex::bytes::Regex::new(&pattern)
                .map_err(|e| format!("companion pattern does not compile: {e}"))?;
            if re.captures_len() != 2 {
                return Err("a companion pattern has exactly one capture group".into());
            }
            let _ = regex.set(Some(re));
        }
        Ok(Companion { pattern, regex })
    }

    /// Whether the pattern compiles with exactly one capture group.
    pub fn check(&self) -> Result<(), String> {
        Companion::new(self.pattern.clone(), true).map(drop)
    }

    /// The compiled pattern (checked when a rule file was loaded; built-in rules by the test
    /// suite).
    pub fn regex(&self) -> Option<&regex::bytes::Regex> {
        self.regex
            .get_or_init(|| regex::bytes::Regex::new(&self.pattern).ok())
            .as_ref()
    }

    /// The occurrence of the other half nearest to the byte span `at` of the secret in
    /// `input` (not the secret itself), within [`COMPANION_WINDOW`] bytes either side.
    pub fn nearest(&self, input: &[u8], at: (usize, usize)) -> Option<String> {
        let re = self.regex()?;
        let secret = input.get(at.0..at.1)?;
        let lo = at.0.saturating_sub(COMPANION_WINDOW);
        let hi = at.1.saturating_add(COMPANION_WINDOW).min(input.len());
        let window = input.get(lo..hi)?;
        let (start, end) = (at.0 - lo, at.1 - lo);
        re.captures_iter(window)
            .filter_map(|c| c.get(1))
            .filter(|m| m.as_bytes() != secret)
            .min_by_key(|m| {
                if m.start() >= end {
                    m.start() - end
                } else {
                    start.saturating_sub(m.end())
                }
            })
            .and_then(|m| std::str::from_utf8(m.as_bytes()).ok())
            .map(str::to_owned)
    }
}

/// How far from a secret its other half is looked for (a credentials file, an `.env`, a
/// config block): far enough for a section, near enough not to pair strangers.
pub const COMPANION_WINDOW: usize = 4096;

impl VerifySpec {
    /// Compiles a `verify:` block.
    pub(crate) fn from_syntax(s: VerifySyntax, eager: bool) -> Result<VerifySpec, String> {
        let kind = parse_kind(s.kind.as_deref())?;
        let request = template(
            s.request.as_deref(),
            kind,
            &s.headers,
            &s.basic,
            &s.form,
            &s.json,
        )?;
        if let Some(m) = request.as_ref().map(|t| t.method)
            && m == Method::Delete
        {
            return Err("a live check is read-only: use GET, HEAD or POST".into());
        }
        check_docs(&s.docs)?;
        for p in [&s.ok, &s.identity].into_iter().flatten() {
            if !p.starts_with('/') {
                return Err(format!("{p:?} is not a JSON pointer (it starts with /)"));
            }
        }
        let companion = s.companion.map(|p| Companion::new(p, eager)).transpose()?;
        if let Some(t) = &request
            && t.uses("{companion}")
            && companion.is_none()
        {
            return Err("the request uses {companion} but the block has no companion".into());
        }
        Ok(VerifySpec {
            request,
            active: or(s.active, &[200]),
            inactive: or(s.inactive, &[401, 403]),
            ok: s.ok,
            identity: s.identity,
            scopes: s.scopes.map(|h| h.to_ascii_lowercase()),
            companion,
            kind,
            docs: s.docs,
        })
    }
}

impl RevokeSpec {
    /// Compiles a `revoke:` block.
    pub(crate) fn from_syntax(s: RevokeSyntax) -> Result<RevokeSpec, String> {
        let kind = parse_kind(s.kind.as_deref())?;
        let request = template(
            s.request.as_deref(),
            kind,
            &s.headers,
            &s.basic,
            &s.form,
            &s.json,
        )?;
        if let Some(t) = &request
            && t.uses("{companion}")
        {
            return Err("revocation works with the secret alone (no {companion})".into());
        }
        check_docs(&s.docs)?;
        if let Some(p) = &s.ok
            && !p.starts_with('/')
        {
            return Err(format!("{p:?} is not a JSON pointer (it starts with /)"));
        }
        Ok(RevokeSpec {
            request,
            revoked: or(s.revoked, &[200, 204]),
            ok: s.ok,
            inactive: or(s.inactive, &[401, 403, 404]),
            kind,
            docs: s.docs,
        })
    }
}

fn or(v: Vec<u16>, default: &[u16]) -> Vec<u16> {
    if v.is_empty() { default.to_vec() } else { v }
}

fn parse_kind(kind: Option<&str>) -> Result<Option<Kind>, String> {
    kind.map(|k| {
        Kind::parse(k).ok_or_else(|| format!("unknown kind {k:?} (aws-sts, github-credentials)"))
    })
    .transpose()
}

fn check_docs(docs: &str) -> Result<(), String> {
    if docs.starts_with("https://") {
        Ok(())
    } else {
        Err("docs must name the endpoint's documentation (an https:// URL)".into())
    }
}

fn template(
    request: Option<&str>,
    kind: Option<Kind>,
    headers: &BTreeMap<String, String>,
    basic: &Option<String>,
    form: &BTreeMap<String, String>,
    json: &Option<String>,
) -> Result<Option<Template>, String> {
    let Some(request) = request else {
        return match kind {
            Some(_) => Ok(None),
            None => Err("a block needs a request or a kind".into()),
        };
    };
    let (method, url) = request
        .trim()
        .split_once(' ')
        .ok_or("request is `METHOD URL`")?;
    let method = match method {
        "GET" => Method::Get,
        "HEAD" => Method::Head,
        "POST" => Method::Post,
        "DELETE" => Method::Delete,
        other => return Err(format!("method {other:?} is not GET, HEAD, POST or DELETE")),
    };
    let url = url.trim();
    let (origin, rest) = if let Some(rest) = url.strip_prefix("{endpoint}") {
        (None, rest)
    } else {
        let (origin, rest) = split_origin(url)?;
        if origin.contains('{') {
            return Err("nothing may be substituted into the URL's host".into());
        }
        if !origin.starts_with("https://") && !is_loopback_origin(origin) {
            return Err(format!(
                "{origin} is not https (plain http only for loopback hosts)"
            ));
        }
        (Some(origin.to_owned()), rest)
    };
    if !rest.is_empty() && !rest.starts_with('/') {
        return Err("the URL's path starts with /".into());
    }
    if json.is_some() && !form.is_empty() {
        return Err("a request has a form body or a JSON body, not both".into());
    }
    for name in headers.keys() {
        if name.is_empty() || !name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-') {
            return Err(format!("{name:?} is not a header name"));
        }
    }
    let t = Template {
        method,
        origin,
        rest: rest.to_owned(),
        headers: headers.clone(),
        basic: basic.clone(),
        form: form.clone(),
        json: json.clone(),
    };
    if !t.uses("{secret}") {
        return Err("the request does not use {secret}".into());
    }
    Ok(Some(t))
}

/// Splits `https://host:port/path?q` into the origin and the rest.
pub fn split_origin(url: &str) -> Result<(&str, &str), String> {
    let after = url
        .strip_prefix("https://")
        .or_else(|| url.strip_prefix("http://"))
        .ok_or_else(|| format!("{url:?} is not an http(s) URL"))?;
    let host_len = after.find(['/', '?']).unwrap_or(after.len());
    let host = &after[..host_len];
    if host.is_empty() || host.contains('@') || host.contains(char::is_whitespace) {
        return Err(format!("{url:?} has no valid host"));
    }
    let cut = url.len() - after.len() + host_len;
    Ok((&url[..cut], &url[cut..]))
}

/// Whether an origin's host is a loopback address (where plain http is allowed).
pub fn is_loopback_origin(origin: &str) -> bool {
    let Some(host) = origin.strip_prefix("http://") else {
        return false;
    };
    let host = if let Some(v6) = host.strip_prefix('[') {
        v6.split(']').next().unwrap_or("")
    } else {
        host.rsplit_once(':').map_or(host, |(h, _)| h)
    };
    host == "localhost"
        || host
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}

impl Template {
    /// Whether a placeholder occurs anywhere in the request.
    fn uses(&self, placeholder: &str) -> bool {
        self.rest.contains(placeholder)
            || self.headers.values().any(|v| v.contains(placeholder))
            || self.basic.as_ref().is_some_and(|v| v.contains(placeholder))
            || self.form.values().any(|v| v.contains(placeholder))
            || self.json.as_ref().is_some_and(|v| v.contains(placeholder))
    }

    /// Builds the request, sent to `base` (an override from `[verify.endpoints]`) or to the
    /// template's own origin.
    pub fn build(
        &self,
        vars: Vars<'_>,
        base: Option<&str>,
        provider: &str,
    ) -> Result<Request, BuildError> {
        if self.uses("{companion}") && vars.companion.is_none() {
            return Err(BuildError::NoCompanion);
        }
        let base = base
            .or(self.origin.as_deref())
            .ok_or_else(|| BuildError::NoEndpoint(provider.to_owned()))?;
        let url = format!(
            "{}{}",
            base.trim_end_matches('/'),
            substitute(&self.rest, vars, Escape::Url)
        );
        let mut headers = Vec::new();
        for (name, value) in &self.headers {
            headers.push((
                name.clone(),
                header_value(substitute(value, vars, Escape::None))?,
            ));
        }
        if let Some(basic) = &self.basic {
            let pair = substitute(basic, vars, Escape::None);
            let encoded = base64::engine::general_purpose::STANDARD.encode(pair);
            headers.push(("Authorization".into(), format!("Basic {encoded}")));
        }
        let body = if let Some(json) = &self.json {
            headers.push(("Content-Type".into(), "application/json".into()));
            Some(substitute(json, vars, Escape::Json).into_bytes())
        } else if !self.form.is_empty() {
            headers.push((
                "Content-Type".into(),
                "application/x-www-form-urlencoded".into(),
            ));
            let pairs: Vec<String> = self
                .form
                .iter()
                .map(|(k, v)| {
                    format!(
                        "{}={}",
                        percent(k, FORM_SAFE),
                        substitute(v, vars, Escape::Form)
                    )
                })
                .collect();
            Some(pairs.join("&").into_bytes())
        } else {
            None
        };
        Ok(Request {
            method: self.method,
            url,
            headers,
            body,
        })
    }
}

/// A header value as sent: printable ASCII only (a secret with CR/LF could add headers).
fn header_value(v: String) -> Result<String, BuildError> {
    if v.bytes().all(|b| (0x20..0x7f).contains(&b)) {
        Ok(v)
    } else {
        Err(BuildError::Unsendable)
    }
}

#[derive(Clone, Copy)]
enum Escape {
    None,
    Url,
    Form,
    Json,
}

/// Bytes kept as they are in a URL's path or query (RFC 3986 unreserved, plus `:` for
/// tokens like Telegram's `123:ABC` in a path segment).
const URL_SAFE: &[u8] = b"-._~:";
/// Bytes kept in a form value.
const FORM_SAFE: &[u8] = b"-._~";

fn substitute(template: &str, vars: Vars<'_>, escape: Escape) -> String {
    let fill = |value: &str| match escape {
        Escape::None => value.to_owned(),
        Escape::Url => percent(value, URL_SAFE),
        Escape::Form => percent(value, FORM_SAFE),
        Escape::Json => {
            let quoted = serde_json::to_string(value).unwrap_or_default();
            quoted
                .get(1..quoted.len().saturating_sub(1))
                .unwrap_or("")
                .to_owned()
        }
    };
    let mut out = template.replace("{secret}", &fill(vars.secret));
    if let Some(c) = vars.companion {
        out = out.replace("{companion}", &fill(c));
    }
    out
}

/// Percent-encodes every byte except ASCII alphanumerics and `keep`.
pub fn percent(value: &str, keep: &[u8]) -> String {
    let mut out = String::with_capacity(value.len());
    for b in value.bytes() {
        if b.is_ascii_alphanumeric() || keep.contains(&b) {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(yaml: &str) -> Result<VerifySpec, String> {
        VerifySpec::from_syntax(
            serde_yaml_ng::from_str(yaml).map_err(|e| e.to_string())?,
            true,
        )
    }

    const SECRET: Vars<'static> = Vars {
        secret: "tok/en?x=1&y",
        companion: None,
    };

    #[test]
    fn secret_is_escaped_for_each_place() {
        let s = spec(
            "request: 'GET https://api.example.net/v1/{secret}/me?key={secret}'\n\
             headers: {Authorization: 'Bearer {secret}'}\n\
             form: {token: '{secret}'}\n\
             docs: 'https://docs.example.net'\n",
        )
        .unwrap();
        let r = s.request.unwrap().build(SECRET, None, "example").unwrap();
        assert_eq!(
            r.url,
            "https://api.example.net/v1/tok%2Fen%3Fx%3D1%26y/me?key=tok%2Fen%3Fx%3D1%26y"
        );
        assert!(
            r.headers
                .contains(&("Authorization".into(), "Bearer tok/en?x=1&y".into()))
        );
        assert_eq!(r.body.unwrap(), b"token=tok%2Fen%3Fx%3D1%26y");
        let j = spec("request: 'POST https://api.example.net/q'\njson: '{\"t\": \"{secret}\"}'\ndocs: 'https://d.example'\n")
            .unwrap();
        let quote = Vars {
            secret: "a\"b\\c",
            companion: None,
        };
        let body = j
            .request
            .unwrap()
            .build(quote, None, "x")
            .unwrap()
            .body
            .unwrap();
        let parsed: serde_json::Value = serde_json::from_slice(&body).unwrap();
        assert_eq!(parsed["t"], "a\"b\\c");
    }

    #[test]
    fn a_secret_never_moves_the_host_or_adds_a_header() {
        let s = spec("request: 'GET https://api.example.net/{secret}'\nheaders: {X-Key: '{secret}'}\ndocs: 'https://d.example'\n")
            .unwrap();
        let t = s.request.unwrap();
        let evil = Vars {
            secret: "@evil.example/",
            companion: None,
        };
        let r = t.build(evil, None, "x").unwrap();
        assert_eq!(split_origin(&r.url).unwrap().0, "https://api.example.net");
        let crlf = Vars {
            secret: "a\r\nHost: evil",
            companion: None,
        };
        assert_eq!(t.build(crlf, None, "x"), Err(BuildError::Unsendable));
    }

    #[test]
    fn invalid_blocks_are_refused() {
        for (yaml, why) in [
            (
                "request: 'GET https://{secret}.example.net/'\ndocs: 'https://d'\n",
                "host",
            ),
            (
                "request: 'GET http://api.example.net/{secret}'\ndocs: 'https://d'\n",
                "https",
            ),
            (
                "request: 'DELETE https://api.example.net/{secret}'\ndocs: 'https://d'\n",
                "read-only",
            ),
            (
                "request: 'GET https://api.example.net/me'\ndocs: 'https://d'\n",
                "{secret}",
            ),
            (
                "request: 'GET https://api.example.net/{secret}'\ndocs: 'none'\n",
                "docs",
            ),
            (
                "request: 'GET https://a.example/{secret}'\nbasic: '{companion}:{secret}'\ndocs: 'https://d'\n",
                "companion",
            ),
            ("kind: nope\ndocs: 'https://d'\n", "unknown kind"),
        ] {
            let err = spec(yaml).unwrap_err();
            assert!(err.contains(why), "{yaml}: {err}");
        }
        assert!(spec("request: 'GET http://127.0.0.1:8080/{secret}'\ndocs: 'https://d'\n").is_ok());
    }

    #[test]
    fn endpoints_and_companions() {
        let s = spec(
            "request: 'GET {endpoint}/api/me'\nbasic: '{companion}:{secret}'\n\
             companion: '\\b(AC[0-9a-f]{4})\\b'\ndocs: 'https://d.example'\n",
        )
        .unwrap();
        let t = s.request.as_ref().unwrap();
        assert_eq!(
            t.build(
                Vars {
                    secret: "s",
                    companion: Some("AC12ab")
                },
                None,
                "shop"
            ),
            Err(BuildError::NoEndpoint("shop".into()))
        );
        assert_eq!(
            t.build(SECRET, Some("https://x.example"), "shop"),
            Err(BuildError::NoCompanion)
        );
        let r = t
            .build(
                Vars {
                    secret: "s",
                    companion: Some("u"),
                },
                Some("https://x.example/base/"),
                "shop",
            )
            .unwrap();
        assert_eq!(r.url, "https://x.example/base/api/me");
        assert!(
            r.headers
                .contains(&("Authorization".into(), "Basic dTpz".into()))
        );
        let input = b"sid AC0000 x\nsecret here\nsid AC1111";
        let c = s.companion.as_ref().unwrap();
        assert_eq!(c.nearest(input, (14, 18)).as_deref(), Some("AC0000"));
        assert_eq!(c.nearest(input, (26, 27)).as_deref(), Some("AC1111"));
    }

    #[test]
    fn loopback_origins() {
        assert!(is_loopback_origin("http://127.0.0.1:9"));
        assert!(is_loopback_origin("http://localhost"));
        assert!(is_loopback_origin("http://[::1]:80"));
        assert!(!is_loopback_origin("http://10.0.0.1"));
        assert!(!is_loopback_origin("http://localhost.evil.example"));
        assert!(!is_loopback_origin("https://127.0.0.1"));
    }
}
