//! Listing the repositories of a GitHub organization or user, or of a GitLab group and its
//! subgroups, through their REST APIs: every page (`Link: rel="next"`, GitLab's
//! `X-Next-Page`), waiting out rate limits (`X-RateLimit-Remaining: 0` until
//! `X-RateLimit-Reset`, `Retry-After`), with archived/fork/visibility filters and any API base
//! URL (GitHub Enterprise Server, self-managed GitLab).

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde::Deserialize;

/// Which forge and which owner.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    /// `github:OWNER`: an organization, or else a user.
    Github(String),
    /// `gitlab:GROUP/SUBGROUP`: a group with its subgroups.
    Gitlab(String),
}

impl Target {
    /// Parses `github:OWNER` or `gitlab:GROUP[/SUBGROUP…]`.
    ///
    /// ```
    /// use leakhound::sources::forge::Target;
    /// assert_eq!(Target::parse("github:acme"), Ok(Target::Github("acme".into())));
    /// assert_eq!(Target::parse("gitlab:a/b"), Ok(Target::Gitlab("a/b".into())));
    /// assert!(Target::parse("acme").is_err());
    /// ```
    pub fn parse(s: &str) -> Result<Target, String> {
        let valid = |o: &str| {
            !o.is_empty()
                && o.split('/').all(|p| {
                    !p.is_empty()
                        && p.chars()
                            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
                })
        };
        match s.split_once(':') {
            Some(("github", owner)) if valid(owner) && !owner.contains('/') => {
                Ok(Target::Github(owner.to_owned()))
            }
            Some(("gitlab", group)) if valid(group) => Ok(Target::Gitlab(group.to_owned())),
            _ => Err(format!(
                "{s:?}: expected github:OWNER or gitlab:GROUP[/SUBGROUP] (or use --repos FILE)"
            )),
        }
    }

    /// The default API base URL.
    pub fn default_api(&self) -> &'static str {
        match self {
            Target::Github(_) => "https://api.github.com",
            Target::Gitlab(_) => "https://gitlab.com",
        }
    }

    /// The user name that goes with a token when cloning over HTTPS.
    pub fn clone_user(&self) -> &'static str {
        match self {
            Target::Github(_) => "x-access-token",
            Target::Gitlab(_) => "oauth2",
        }
    }
}

/// Which repositories to keep.
#[derive(Debug, Clone, Default)]
pub struct Filters {
    /// Drop archived repositories.
    pub exclude_archived: bool,
    /// Drop forks.
    pub exclude_forks: bool,
    /// Keep only these visibilities (`public`, `private`, `internal`); empty keeps all.
    pub visibility: Vec<String>,
}

/// A repository as the forge lists it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RemoteRepo {
    /// `owner/name` (GitHub) or `group/subgroup/name` (GitLab).
    pub name: String,
    /// HTTPS clone URL.
    pub url: String,
    /// Archived.
    pub archived: bool,
    /// A fork.
    pub fork: bool,
    /// `public`, `private` or `internal`.
    pub visibility: String,
}

#[derive(Deserialize)]
struct GithubRepo {
    full_name: String,
    clone_url: String,
    #[serde(default)]
    archived: bool,
    #[serde(default)]
    fork: bool,
    #[serde(default)]
    private: bool,
    visibility: Option<String>,
}

#[derive(Deserialize)]
struct GitlabProject {
    path_with_namespace: String,
    http_url_to_repo: String,
    #[serde(default)]
    archived: bool,
    forked_from_project: Option<serde_json::Value>,
    visibility: Option<String>,
}

/// Listing options.
#[derive(Debug, Clone)]
pub struct Options {
    /// API base URL (default: the public service).
    pub api: Option<String>,
    /// The token, if any.
    pub token: Option<String>,
    /// The longest wait for a rate limit to reset before giving up.
    pub max_wait: Duration,
}

/// Lists a target's repositories. `on_wait` is told about each rate-limit wait.
pub fn list(
    target: &Target,
    opts: &Options,
    filters: &Filters,
    on_wait: &dyn Fn(&str),
) -> Result<Vec<RemoteRepo>, String> {
    let api = opts
        .api
        .as_deref()
        .unwrap_or(target.default_api())
        .trim_end_matches('/')
        .to_owned();
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .timeout_connect(Some(Duration::from_secs(15)))
        .timeout_recv_response(Some(Duration::from_secs(60)))
        .user_agent(concat!("leakhound/", env!("CARGO_PKG_VERSION")))
        .build()
        .into();
    let client = Client {
        agent,
        target,
        token: opts.token.clone(),
        max_wait: opts.max_wait,
        on_wait,
    };
    let mut repos = match target {
        Target::Github(owner) => {
            let org = format!("{api}/orgs/{owner}/repos?per_page=100&type=all");
            match client.pages(&org, |v: Vec<GithubRepo>| v) {
                Err(Failure::NotFound) => {
                    let user = format!("{api}/users/{owner}/repos?per_page=100&type=owner");
                    client
                        .pages(&user, |v: Vec<GithubRepo>| v)
                        .map_err(|e| e.message(&format!("GitHub owner {owner}")))?
                }
                other => other.map_err(|e| e.message(&format!("GitHub organization {owner}")))?,
            }
            .into_iter()
            .map(|r| RemoteRepo {
                visibility: r
                    .visibility
                    .unwrap_or_else(|| if r.private { "private" } else { "public" }.to_owned()),
                name: r.full_name,
                url: r.clone_url,
                archived: r.archived,
                fork: r.fork,
            })
            .collect::<Vec<_>>()
        }
        Target::Gitlab(group) => {
            let url = format!(
                "{api}/api/v4/groups/{}/projects?include_subgroups=true&per_page=100&order_by=id&sort=asc",
                group.replace('/', "%2F")
            );
            client
                .pages(&url, |v: Vec<GitlabProject>| v)
                .map_err(|e| e.message(&format!("GitLab group {group}")))?
                .into_iter()
                .map(|p| RemoteRepo {
                    name: p.path_with_namespace,
                    url: p.http_url_to_repo,
                    archived: p.archived,
                    fork: p.forked_from_project.is_some_and(|v| !v.is_null()),
                    visibility: p.visibility.unwrap_or_else(|| "public".into()),
                })
                .collect()
        }
    };
    repos.retain(|r| {
        !(filters.exclude_archived && r.archived
            || filters.exclude_forks && r.fork
            || !filters.visibility.is_empty() && !filters.visibility.contains(&r.visibility))
    });
    repos.sort_by(|a, b| a.name.cmp(&b.name));
    repos.dedup_by(|a, b| a.name == b.name);
    Ok(repos)
}

enum Failure {
    NotFound,
    Other(String),
}

impl Failure {
    fn message(self, what: &str) -> String {
        match self {
            Failure::NotFound => format!("{what} not found (or the token cannot see it)"),
            Failure::Other(m) => m,
        }
    }
}

struct Client<'a> {
    agent: ureq::Agent,
    target: &'a Target,
    token: Option<String>,
    max_wait: Duration,
    on_wait: &'a dyn Fn(&str),
}

impl Client<'_> {
    /// Follows `next` links from `first`, collecting each page's items.
    fn pages<T: serde::de::DeserializeOwned, I>(
        &self,
        first: &str,
        items: impl Fn(T) -> Vec<I>,
    ) -> Result<Vec<I>, Failure> {
        let mut out = Vec::new();
        let mut next = Some(first.to_owned());
        let mut seen = std::collections::HashSet::new();
        while let Some(url) = next.take() {
            if !seen.insert(url.clone()) {
                return Err(Failure::Other(format!("pagination loops at {url}")));
            }
            let (body, link) = self.get(&url)?;
            let page: T = serde_json::from_slice(&body)
                .map_err(|e| Failure::Other(format!("GET {url}: unexpected response: {e}")))?;
            out.extend(items(page));
            next = link;
        }
        Ok(out)
    }

    /// One GET, retried after rate-limit waits; returns the body and the next page's URL.
    fn get(&self, url: &str) -> Result<(Vec<u8>, Option<String>), Failure> {
        let mut waited = Duration::ZERO;
        loop {
            let mut req = self.agent.get(url);
            req = match self.target {
                Target::Github(_) => req
                    .header("Accept", "application/vnd.github+json")
                    .header("X-GitHub-Api-Version", "2022-11-28"),
                Target::Gitlab(_) => req.header("Accept", "application/json"),
            };
            if let Some(t) = &self.token {
                req = match self.target {
                    Target::Github(_) => req.header("Authorization", &format!("Bearer {t}")),
                    Target::Gitlab(_) => req.header("PRIVATE-TOKEN", t),
                };
            }
            let mut resp = req
                .call()
                .map_err(|e| Failure::Other(format!("GET {url}: {e}")))?;
            let status = resp.status().as_u16();
            let header = |name: &str| {
                resp.headers()
                    .get(name)
                    .and_then(|v| v.to_str().ok())
                    .map(str::to_owned)
            };
            if let Some(wait) = rate_limit_wait(status, &header) {
                if waited + wait > self.max_wait {
                    return Err(Failure::Other(format!(
                        "GET {url}: rate limited, and the limit resets in {}s (over the {}s wait limit)",
                        wait.as_secs(),
                        self.max_wait.as_secs()
                    )));
                }
                (self.on_wait)(&format!(
                    "rate limited by {url}: waiting {}s for the limit to reset",
                    wait.as_secs().max(1)
                ));
                std::thread::sleep(wait);
                waited += wait;
                continue;
            }
            if status == 404 {
                return Err(Failure::NotFound);
            }
            let next = header("link")
                .and_then(|l| next_link(&l))
                .or_else(|| gitlab_next_page(url, header("x-next-page").as_deref()));
            let body = resp
                .body_mut()
                .with_config()
                .limit(64 << 20)
                .read_to_vec()
                .map_err(|e| Failure::Other(format!("GET {url}: {e}")))?;
            if !(200..300).contains(&status) {
                let text = String::from_utf8_lossy(&body[..body.len().min(300)]).into_owned();
                let hint = if status == 401 {
                    " (check the token)"
                } else {
                    ""
                };
                return Err(Failure::Other(format!(
                    "GET {url}: HTTP {status}{hint}: {}",
                    text.trim()
                )));
            }
            return Ok((body, next));
        }
    }
}

/// How long a rate-limited response asks to wait, if it is one: `Retry-After` seconds, or the
/// time to `X-RateLimit-Reset` (GitHub) / `RateLimit-Reset` (GitLab) when no requests remain.
fn rate_limit_wait(status: u16, header: &dyn Fn(&str) -> Option<String>) -> Option<Duration> {
    if status != 403 && status != 429 {
        return None;
    }
    if let Some(secs) = header("retry-after").and_then(|v| v.trim().parse::<u64>().ok()) {
        return Some(Duration::from_secs(secs.max(1)));
    }
    let remaining = header("x-ratelimit-remaining").or_else(|| header("ratelimit-remaining"));
    if status == 403 && remaining.as_deref().map(str::trim) != Some("0") {
        return None;
    }
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    let reset = header("x-ratelimit-reset")
        .or_else(|| header("ratelimit-reset"))
        .and_then(|v| v.trim().parse::<u64>().ok());
    Some(Duration::from_secs(match reset {
        Some(at) => at.saturating_sub(now) + 1,
        None => 60,
    }))
}

/// The `rel="next"` target of a `Link` header.
///
/// ```
/// # use leakhound::sources::forge::next_link;
/// let h = r#"<https://api.github.com/orgs/a/repos?page=2>; rel="next", <https://x?page=9>; rel="last""#;
/// assert_eq!(next_link(h).as_deref(), Some("https://api.github.com/orgs/a/repos?page=2"));
/// assert_eq!(next_link(r#"<https://x?page=1>; rel="prev""#), None);
/// ```
pub fn next_link(header: &str) -> Option<String> {
    header.split(',').find_map(|part| {
        let (target, params) = part.split_once(';')?;
        let is_next = params
            .split(';')
            .any(|p| matches!(p.trim(), "rel=\"next\"" | "rel=next"));
        is_next.then(|| {
            target
                .trim()
                .trim_start_matches('<')
                .trim_end_matches('>')
                .to_owned()
        })
    })
}

/// GitLab's `X-Next-Page` (a page number) applied to the current URL.
fn gitlab_next_page(url: &str, next: Option<&str>) -> Option<String> {
    let page = next?.trim();
    if page.is_empty() || !page.chars().all(|c| c.is_ascii_digit()) {
        return None;
    }
    let (base, query) = url.split_once('?').unwrap_or((url, ""));
    let mut params: Vec<String> = query
        .split('&')
        .filter(|p| !p.is_empty() && !p.starts_with("page="))
        .map(str::to_owned)
        .collect();
    params.push(format!("page={page}"));
    Some(format!("{base}?{}", params.join("&")))
}
