//! Revocation (`leakhound revoke`): one request per secret to the provider's token-only
//! revocation API, as its rule's `revoke:` block says, or a batch for GitHub's
//! `POST /credentials/revoke` (up to 1,000 tokens a request, unauthenticated, 60 requests an
//! hour).

use std::collections::BTreeMap;

use crate::{
    rules::Rule,
    verify::{
        http::Client,
        provider_key,
        spec::{Kind, Method, Request, Vars},
    },
};

/// The most tokens GitHub takes in one `POST /credentials/revoke`.
pub const GITHUB_BATCH: usize = 1000;

/// What became of one revocation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// The provider revoked it.
    Revoked,
    /// The provider took it for revocation and will act on it (GitHub answers 202).
    Submitted,
    /// The provider says it was already revoked or never valid.
    AlreadyInactive,
    /// The request failed (why, without the secret).
    Failed(String),
}

impl Outcome {
    /// The outcome's name in the audit log.
    pub fn as_str(&self) -> &'static str {
        match self {
            Outcome::Revoked => "revoked",
            Outcome::Submitted => "submitted",
            Outcome::AlreadyInactive => "already-inactive",
            Outcome::Failed(_) => "failed",
        }
    }
}

/// A secret to revoke.
#[derive(Debug, Clone, Copy)]
pub struct Item<'a> {
    /// Its rule (which has a `revoke:` block).
    pub rule: &'a Rule,
    /// The value.
    pub secret: &'a str,
}

/// Revokes every item, in order; the outcomes are in the same order.
pub fn revoke(
    client: &Client,
    endpoints: &BTreeMap<String, String>,
    items: &[Item<'_>],
) -> Vec<Outcome> {
    let mut out: Vec<Option<Outcome>> = vec![None; items.len()];
    // GitHub's batch endpoint: group by the base it goes to.
    let mut batches: BTreeMap<String, Vec<usize>> = BTreeMap::new();
    for (i, item) in items.iter().enumerate() {
        let Some(spec) = item.rule.revoke.as_deref() else {
            out[i] = Some(Outcome::Failed("this rule has no revocation API".into()));
            continue;
        };
        let provider = provider_key(&item.rule.id);
        let base = endpoints.get(provider).map(String::as_str);
        if spec.kind == Some(Kind::GithubCredentials) {
            let base = base.unwrap_or(Kind::GithubCredentials.origin()).to_owned();
            batches.entry(base).or_default().push(i);
            continue;
        }
        let Some(template) = &spec.request else {
            out[i] = Some(Outcome::Failed("this rule has no revocation API".into()));
            continue;
        };
        let vars = Vars {
            secret: item.secret,
            companion: None,
        };
        out[i] = Some(match template.build(vars, base, provider) {
            Err(e) => Outcome::Failed(e.to_string()),
            Ok(req) => match client.send(&req) {
                Err(f) => Outcome::Failed(f.to_string()),
                Ok(resp) if spec.revoked.contains(&resp.status) => match &spec.ok {
                    Some(p) if !json_true(&resp.body, p) => Outcome::Failed(format!(
                        "the provider answered HTTP {} but not {} = true",
                        resp.status,
                        p.trim_start_matches('/')
                    )),
                    _ => Outcome::Revoked,
                },
                Ok(resp) if spec.inactive.contains(&resp.status) => Outcome::AlreadyInactive,
                Ok(resp) => Outcome::Failed(format!("HTTP {}", resp.status)),
            },
        });
    }
    for (base, members) in batches {
        for chunk in members.chunks(GITHUB_BATCH) {
            let tokens: Vec<&str> = chunk.iter().map(|&i| items[i].secret).collect();
            let outcome = github_batch(client, &base, &tokens);
            for &i in chunk {
                out[i] = Some(outcome.clone());
            }
        }
    }
    out.into_iter()
        .map(|o| o.unwrap_or_else(|| Outcome::Failed("not sent".into())))
        .collect()
}

fn json_true(body: &[u8], pointer: &str) -> bool {
    serde_json::from_slice::<serde_json::Value>(body)
        .ok()
        .and_then(|v| v.pointer(pointer).and_then(serde_json::Value::as_bool))
        == Some(true)
}

/// The request GitHub's credential revocation takes.
pub fn github_request(base: &str, tokens: &[&str]) -> Request {
    let body = serde_json::json!({ "credentials": tokens });
    Request {
        method: Method::Post,
        url: format!("{}/credentials/revoke", base.trim_end_matches('/')),
        headers: vec![
            ("Accept".into(), "application/vnd.github+json".into()),
            ("X-GitHub-Api-Version".into(), "2022-11-28".into()),
            ("Content-Type".into(), "application/json".into()),
        ],
        body: Some(body.to_string().into_bytes()),
    }
}

fn github_batch(client: &Client, base: &str, tokens: &[&str]) -> Outcome {
    match client.send(&github_request(base, tokens)) {
        Err(f) => Outcome::Failed(f.to_string()),
        Ok(r) if r.status == 202 || r.status == 200 => Outcome::Submitted,
        Ok(r) if r.status == 422 => Outcome::Failed(
            "GitHub refused the batch (HTTP 422: validation failed, or the hourly limit of 60 requests was reached)".into(),
        ),
        Ok(r) if r.status == 429 || r.status == 403 => {
            Outcome::Failed(format!("rate limited (HTTP {}): GitHub takes 60 requests an hour", r.status))
        }
        Ok(r) => Outcome::Failed(format!("HTTP {}", r.status)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn github_batches_carry_every_token_and_no_authorization() {
        let r = github_request("https://api.github.com/", &["a", "b\"c"]);
        assert_eq!(r.url, "https://api.github.com/credentials/revoke");
        assert!(
            !r.headers
                .iter()
                .any(|(n, _)| n.eq_ignore_ascii_case("authorization"))
        );
        let body: serde_json::Value =
            serde_json::from_slice(r.body.as_deref().unwrap_or_default()).unwrap();
        assert_eq!(body["credentials"], serde_json::json!(["a", "b\"c"]));
    }
}
