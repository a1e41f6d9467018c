//! Bare mirrors of remote repositories, cloned and then fetched with gix.
//!
//! A mirror fetches every ref (`+refs/*:refs/*`, as `git clone --mirror` does: branches, tags,
//! and the hosting service's pull/merge request refs), so history that only a pull request
//! reaches is scanned too. The first call clones; later calls fetch only what changed. The
//! remote URL is not written to the mirror's configuration and a token is handed to gix only in
//! memory, so no credential reaches the disk.

use std::{
    path::{Path, PathBuf},
    sync::atomic::AtomicBool,
};

use gix::remote::Direction;

/// Credentials for HTTP(S) remotes.
#[derive(Clone)]
pub struct HttpAuth {
    /// User name (`x-access-token` for GitHub, `oauth2` for GitLab).
    pub username: String,
    /// The token.
    pub token: String,
}

impl std::fmt::Debug for HttpAuth {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HttpAuth")
            .field("username", &self.username)
            .field("token", &"…")
            .finish()
    }
}

/// Mirror errors.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The cache directory could not be created.
    #[error("cannot create {path}: {source}")]
    Create {
        /// The directory.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// gix failed: bad URL, connection, authentication, protocol or pack.
    #[error("{stage} {url}: {message}")]
    Git {
        /// What was being done.
        stage: &'static str,
        /// The remote (credentials removed).
        url: String,
        /// What gix said.
        message: String,
    },
}

/// What a mirror update did.
#[derive(Debug)]
pub struct Mirrored {
    /// The mirror, opened.
    pub repo: gix::Repository,
    /// Whether it was cloned now (as opposed to fetched).
    pub cloned: bool,
}

/// The mirror directory of `url` under `cache`: host and path, made filesystem-safe, ending in
/// `.git`.
///
/// ```
/// use std::path::Path;
/// use leakhound::sources::mirror::mirror_dir;
/// assert_eq!(
///     mirror_dir(Path::new("cache"), "https://github.com/acme/api.git"),
///     Path::new("cache/github.com/acme/api.git")
/// );
/// assert_eq!(
///     mirror_dir(Path::new("c"), "git://127.0.0.1:9418/../x"),
///     Path::new("c/127.0.0.1_9418/_/x.git")
/// );
/// ```
pub fn mirror_dir(cache: &Path, url: &str) -> PathBuf {
    let rest = url.split_once("://").map_or(url, |(_, r)| r);
    // Drop any user info, so that a token in a URL never names a directory.
    let rest = match rest.split_once('/') {
        Some((authority, path)) => {
            let host = authority.rsplit('@').next().unwrap_or(authority);
            format!("{host}/{path}")
        }
        None => rest.rsplit('@').next().unwrap_or(rest).to_owned(),
    };
    let mut dir = cache.to_path_buf();
    for part in rest.split('/').filter(|p| !p.is_empty()) {
        let part = part.strip_suffix(".git").unwrap_or(part);
        let safe: String = part
            .chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.') {
                    c
                } else {
                    '_'
                }
            })
            .collect();
        let safe = if safe.chars().all(|c| c == '.') {
            "_".to_owned()
        } else {
            safe
        };
        dir.push(safe);
    }
    let mut s = dir.into_os_string();
    s.push(".git");
    PathBuf::from(s)
}

/// Why: gix derives server-side ref prefixes from the refspecs, and `refs/*` has none it can
/// derive; with the filter on, the server is asked for no refs at all. A mirror wants every ref.
fn ref_map_options() -> gix::remote::ref_map::Options {
    gix::remote::ref_map::Options {
        prefix_from_spec_as_filter_on_remote: false,
        ..Default::default()
    }
}

/// Whether a URL's host is this machine (`localhost`, `127.0.0.0/8`, `[::1]`).
fn is_loopback_url(url: &str) -> bool {
    let rest = url.split_once("://").map_or(url, |(_, r)| r);
    let authority = rest.split('/').next().unwrap_or("");
    let host = authority.rsplit('@').next().unwrap_or(authority);
    let host = match host.strip_prefix('[') {
        Some(v6) => v6.split(']').next().unwrap_or(""),
        None => host.split(':').next().unwrap_or(""),
    };
    host == "localhost"
        || host
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}

/// Removes user info from a URL for messages.
fn sanitized(url: &str) -> String {
    match url.split_once("://") {
        Some((scheme, rest)) => {
            let (authority, path) = rest.split_once('/').unwrap_or((rest, ""));
            let host = authority.rsplit('@').next().unwrap_or(authority);
            format!("{scheme}://{host}/{path}")
        }
        None => url.to_owned(),
    }
}

/// Clones `url` into `dir` as a bare mirror, or fetches into the mirror already there.
pub fn update(
    url: &str,
    dir: &Path,
    auth: Option<&HttpAuth>,
    interrupt: &AtomicBool,
) -> Result<Mirrored, Error> {
    let shown = sanitized(url);
    let git = |stage: &'static str| {
        let url = shown.clone();
        move |e: &dyn std::error::Error| {
            // The top-level message of gix errors is often generic ("handshake failed"): the
            // causes say what happened.
            let mut message = e.to_string();
            let mut source = e.source();
            while let Some(cause) = source {
                let text = cause.to_string();
                if !message.contains(&text) {
                    message.push_str(": ");
                    message.push_str(&text);
                }
                source = cause.source();
            }
            Error::Git {
                stage,
                url: url.clone(),
                message,
            }
        }
    };
    // Why: gix is built to allow credentials over plain http (for loopback servers); the policy
    // is here instead: a token goes over TLS, or over http only to this machine.
    if auth.is_some() && url.starts_with("http://") && !is_loopback_url(url) {
        return Err(Error::Git {
            stage: "refusing to send the token in clear text to",
            url: shown,
            message: "use an https:// URL".into(),
        });
    }
    let cloned = !dir.join("HEAD").is_file();
    let repo = if cloned {
        std::fs::create_dir_all(dir).map_err(|source| Error::Create {
            path: dir.to_owned(),
            source,
        })?;
        gix::init_bare(dir).map_err(|e| git("cannot create a mirror of")(&e))?
    } else {
        gix::open(dir).map_err(|e| git("cannot open the mirror of")(&e))?
    };
    let remote = repo
        .remote_at(url)
        .map_err(|e| git("bad remote URL")(&e))?
        .with_refspecs(["+refs/*:refs/*"], Direction::Fetch)
        .map_err(|e| git("bad refspec for")(&e))?
        .with_fetch_tags(gix::remote::fetch::Tags::None);
    let connection = remote
        .connect(Direction::Fetch)
        .map_err(|e| git("cannot connect to")(&e))?;
    let outcome = match auth {
        Some(auth) => {
            let auth = auth.clone();
            connection
                .with_credentials(move |action| match action {
                    gix::credentials::helper::Action::Get(ctx) => {
                        Ok(Some(gix::credentials::protocol::Outcome {
                            identity: gix::sec::identity::Account {
                                username: auth.username.clone(),
                                password: auth.token.clone(),
                                oauth_refresh_token: None,
                            },
                            next: ctx.into(),
                        }))
                    }
                    _ => Ok(None),
                })
                .prepare_fetch(gix::progress::Discard, ref_map_options())
                .map_err(|e| git("cannot list the refs of")(&e))?
                .receive(gix::progress::Discard, interrupt)
        }
        None => connection
            .prepare_fetch(gix::progress::Discard, ref_map_options())
            .map_err(|e| git("cannot list the refs of")(&e))?
            .receive(gix::progress::Discard, interrupt),
    }
    .map_err(|e| git("cannot fetch from")(&e))?;
    // The mirror's HEAD follows the remote's, so `in_head` means the default branch.
    let head = outcome.ref_map.remote_refs.iter().find_map(|r| match r {
        gix::protocol::handshake::Ref::Symbolic {
            full_ref_name,
            target,
            ..
        } if full_ref_name == "HEAD" => Some(target.clone()),
        _ => None,
    });
    if let Some(target) = head {
        let _ = std::fs::write(dir.join("HEAD"), format!("ref: {target}\n"));
    }
    let repo = gix::open(dir).map_err(|e| git("cannot open the mirror of")(&e))?;
    Ok(Mirrored { repo, cloned })
}
