//! Live verification (`--verify`): for each distinct secret, one read-only request to its
//! provider's documented API, and a result in three states ([`Status`]).
//!
//! The request comes from the rule's `verify:` block ([`spec::VerifySpec`]) or, for AWS, from
//! code ([`aws`]). Requests go only to the provider's public origin or the override the user
//! named in `[verify.endpoints]`; a host is never taken from scanned content. The
//! [`Verifier`] runs them on a bounded pool of threads with a per-provider cap on requests in
//! flight, a per-provider rate, retries with exponential backoff on 429 and 5xx (honouring
//! `Retry-After`, capped), and a pause of the provider after a 429. A result can come from a
//! [`Cache`] (the `org` store keeps them across runs, up to a maximum age).
//!
//! Nothing here logs: failures become an `unknown` status whose detail says why ("timeout",
//! "rate limited (HTTP 429)") and never holds the secret or the URL.

pub mod aws;
pub mod http;
pub mod revoke;
pub mod spec;

use std::{
    collections::{BTreeMap, HashMap, VecDeque},
    sync::{Arc, Condvar, Mutex},
    time::{Duration, Instant, SystemTime},
};

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::{
    finding::Finding,
    rules::{Rule, RuleSet},
    secret::Secret,
    verify::{
        http::{Client, Response},
        spec::{BuildError, Kind, Request, Vars, VerifySpec},
    },
};

/// What the provider said about a secret.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    /// The provider accepted it: it works now.
    Active,
    /// The provider rejected it: revoked, expired or never valid.
    Inactive,
    /// No answer either way (unsupported, timeout, rate limited, provider error).
    Unknown,
}

impl Status {
    /// The lower-case name used in every output.
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Active => "active",
            Status::Inactive => "inactive",
            Status::Unknown => "unknown",
        }
    }

    /// The name read back from a store.
    pub fn parse(name: &str) -> Option<Status> {
        [Status::Active, Status::Inactive, Status::Unknown]
            .into_iter()
            .find(|s| s.as_str() == name)
    }
}

/// The result of verifying one secret.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Verification {
    /// Active, inactive or unknown.
    pub status: Status,
    /// Why (the status code, or why there is no answer).
    pub detail: String,
    /// When the provider was asked (RFC 3339, UTC).
    pub checked_at: String,
    /// Who the secret belongs to, as the provider says (login, account, ARN).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub identity: Option<String>,
    /// The scopes the provider lists for it.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub scopes: Vec<String>,
}

impl Verification {
    fn new(status: Status, detail: impl Into<String>) -> Verification {
        Verification {
            status,
            detail: detail.into(),
            checked_at: crate::timestamp::rfc3339_now(),
            identity: None,
            scopes: Vec::new(),
        }
    }

    /// An `unknown` result.
    pub fn unknown(detail: impl Into<String>) -> Verification {
        Verification::new(Status::Unknown, detail)
    }
}

/// How verification runs.
#[derive(Debug, Clone)]
pub struct Settings {
    /// Overrides of providers' API origins, keyed by the rule id's provider part (validated:
    /// https, or plain http to a loopback address).
    pub endpoints: BTreeMap<String, String>,
    /// Timeout of one request.
    pub timeout: Duration,
    /// Requests in flight at once, in all.
    pub concurrency: usize,
    /// Requests in flight at once to one provider.
    pub per_provider: usize,
    /// Requests started per second to one provider.
    pub rate: f64,
    /// Retries after a 429 or a 5xx.
    pub retries: u32,
    /// The first retry's delay (doubled for each further one).
    pub backoff: Duration,
    /// How old a cached result may be.
    pub max_age: Duration,
}

/// The longest pause a provider's `Retry-After` may impose.
const MAX_RETRY_AFTER: Duration = Duration::from_secs(30);

impl Default for Settings {
    fn default() -> Settings {
        Settings {
            endpoints: BTreeMap::new(),
            timeout: Duration::from_secs(10),
            concurrency: 32,
            per_provider: 8,
            rate: 25.0,
            retries: 2,
            backoff: Duration::from_millis(500),
            max_age: Duration::from_secs(24 * 3600),
        }
    }
}

/// Checks an endpoint override: an https URL, or plain http to a loopback address.
pub fn check_endpoint(url: &str) -> Result<(), String> {
    let (origin, _) = spec::split_origin(url)?;
    if origin.starts_with("https://") || spec::is_loopback_origin(origin) {
        Ok(())
    } else {
        Err(format!(
            "{url} is not https (plain http only for loopback addresses)"
        ))
    }
}

/// What a verification run did.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Summary {
    /// Requests sent, by provider (retries included).
    pub requests: BTreeMap<String, u64>,
    /// Distinct secrets found active.
    pub active: u64,
    /// Distinct secrets found inactive.
    pub inactive: u64,
    /// Distinct secrets with no answer.
    pub unknown: u64,
    /// Distinct secrets whose result came from the cache.
    pub cached: u64,
}

impl Summary {
    /// All requests sent.
    pub fn total_requests(&self) -> u64 {
        self.requests.values().sum()
    }

    /// Sets the counts by status to those of `results` (one per distinct secret).
    pub fn tally<'a>(&mut self, results: impl IntoIterator<Item = &'a Verification>) {
        (self.active, self.inactive, self.unknown) = (0, 0, 0);
        for v in results {
            match v.status {
                Status::Active => self.active += 1,
                Status::Inactive => self.inactive += 1,
                Status::Unknown => self.unknown += 1,
            }
        }
    }
}

/// Results kept across runs, by secret id.
pub trait Cache {
    /// A result no older than `max_age`.
    fn get(&mut self, secret_id: &str, max_age: Duration) -> Option<Verification>;
    /// Keeps a result.
    fn put(&mut self, secret_id: &str, v: &Verification);
}

/// The rule id's provider part: the key of `[verify.endpoints]`.
pub fn provider_key(rule_id: &str) -> &str {
    rule_id.split('.').next().unwrap_or(rule_id)
}

/// What is needed to verify one secret: the value and its other half.
#[derive(Debug, Clone)]
pub struct Target<'a> {
    /// The rule that found it.
    pub rule: &'a Rule,
    /// The secret.
    pub secret: &'a Secret,
    /// Its other half, if the rule has one and it was found.
    pub companion: Option<&'a Secret>,
}

/// The verifier: settings plus the HTTP client.
#[derive(Debug)]
pub struct Verifier {
    settings: Settings,
    client: Client,
}

/// One request to send (and maybe send again).
struct Job {
    provider: String,
    spec: Arc<VerifySpec>,
    /// AWS signs per attempt (the signature covers the time).
    request: Prepared,
    attempt: u32,
    not_before: Instant,
}

enum Prepared {
    Ready(Request),
    Aws {
        base: String,
        key_id: String,
        secret_key: String,
    },
}

/// The shared state of the worker pool.
struct Queue {
    /// Jobs waiting, by provider, oldest first (a retry goes to the back).
    pending: BTreeMap<String, VecDeque<usize>>,
    /// How many jobs wait in all.
    waiting: usize,
    jobs: Vec<Option<Job>>,
    results: Vec<Option<Verification>>,
    inflight: HashMap<String, usize>,
    /// When each provider may be sent the next request (rate and 429 pauses).
    next: HashMap<String, Instant>,
    requests: BTreeMap<String, u64>,
    running: usize,
}

impl Verifier {
    /// A verifier with these settings.
    pub fn new(settings: Settings) -> Verifier {
        Verifier {
            client: Client::new(settings.timeout),
            settings,
        }
    }

    /// The settings.
    pub fn settings(&self) -> &Settings {
        &self.settings
    }

    /// Verifies findings: one request per distinct secret (findings that share a secret id,
    /// or an AWS key pair, share it), the result attached to each finding.
    pub fn verify_findings(
        &self,
        findings: &mut [Finding],
        rules: &RuleSet,
        cache: Option<&mut dyn Cache>,
    ) -> Summary {
        let mut ids: Vec<usize> = Vec::new();
        let mut seen: HashMap<&str, usize> = HashMap::new();
        let mut owner: Vec<usize> = Vec::with_capacity(findings.len());
        for (i, f) in findings.iter().enumerate() {
            let n = seen.len();
            let slot = *seen.entry(f.secret_id.as_str()).or_insert(n);
            if slot == n {
                ids.push(i);
            }
            owner.push(slot);
        }
        let targets: Vec<Option<Target<'_>>> = ids
            .iter()
            .map(|&i| {
                rules.get(&findings[i].rule_id).map(|rule| Target {
                    rule,
                    secret: &findings[i].secret,
                    companion: findings[i].companion.as_ref(),
                })
            })
            .collect();
        let secret_ids: Vec<&str> = ids
            .iter()
            .map(|&i| findings[i].secret_id.as_str())
            .collect();
        let (results, summary) = self.verify(&targets, &secret_ids, cache);
        let results: Vec<Arc<Verification>> = results.into_iter().map(Arc::new).collect();
        for (f, slot) in findings.iter_mut().zip(owner) {
            f.verification = Some(Arc::clone(&results[slot]));
        }
        summary
    }

    /// Verifies distinct secrets (a `None` target: the rule is gone) with their secret ids;
    /// the results are in the same order.
    pub fn verify(
        &self,
        targets: &[Option<Target<'_>>],
        secret_ids: &[&str],
        mut cache: Option<&mut dyn Cache>,
    ) -> (Vec<Verification>, Summary) {
        let mut summary = Summary::default();
        let mut results: Vec<Option<Verification>> = vec![None; targets.len()];
        // A job per distinct request; several secrets may share one (both halves of a pair).
        let mut jobs: Vec<Option<Job>> = Vec::new();
        let mut by_key: HashMap<[u8; 32], usize> = HashMap::new();
        let mut waiting: Vec<(usize, usize)> = Vec::new();
        for (i, target) in targets.iter().enumerate() {
            let Some(t) = target else {
                results[i] = Some(Verification::unknown("unsupported: the rule is not loaded"));
                continue;
            };
            if let Some(c) = cache.as_deref_mut()
                && let Some(v) = c.get(secret_ids[i], self.settings.max_age)
            {
                summary.cached += 1;
                results[i] = Some(v);
                continue;
            }
            match self.prepare(t) {
                Err(v) => results[i] = Some(v),
                Ok((key, job)) => {
                    let n = jobs.len();
                    let slot = *by_key.entry(key).or_insert(n);
                    if slot == n {
                        jobs.push(Some(job));
                    }
                    waiting.push((i, slot));
                }
            }
        }
        let (answers, requests) = self.run(jobs);
        summary.requests = requests;
        for (i, slot) in waiting {
            let v = answers[slot]
                .clone()
                .unwrap_or_else(|| Verification::unknown("no answer"));
            if let Some(c) = cache.as_deref_mut() {
                c.put(secret_ids[i], &v);
            }
            results[i] = Some(v);
        }
        let results: Vec<Verification> = results
            .into_iter()
            .map(|r| r.unwrap_or_else(|| Verification::unknown("no answer")))
            .collect();
        summary.tally(&results);
        (results, summary)
    }

    /// The request for one secret and the key that identifies it, or why there is none.
    fn prepare(&self, t: &Target<'_>) -> Result<([u8; 32], Job), Verification> {
        let Some(spec) = &t.rule.verify else {
            return Err(Verification::unknown(
                "unsupported: no live check for this rule",
            ));
        };
        if t.secret.is_withheld() {
            return Err(Verification::unknown(
                "the value is not known here (read back without it)",
            ));
        }
        let provider = provider_key(&t.rule.id).to_owned();
        let base = self.settings.endpoints.get(&provider).map(String::as_str);
        let secret = t.secret.expose();
        let companion = t.companion.map(Secret::expose);
        let key = job_key(&provider, secret, companion);
        let request = match (spec.kind, &spec.request) {
            (Some(Kind::AwsSts), _) => {
                let Some(other) = companion else {
                    return Err(Verification::unknown(BuildError::NoCompanion.to_string()));
                };
                let (key_id, secret_key) = aws::pair(secret, other);
                if key_id.starts_with("ASIA") {
                    return Err(Verification::unknown(
                        "a temporary key (ASIA…) needs its session token, which is not checked",
                    ));
                }
                Prepared::Aws {
                    base: base.unwrap_or(Kind::AwsSts.origin()).to_owned(),
                    key_id: key_id.to_owned(),
                    secret_key: secret_key.to_owned(),
                }
            }
            (_, Some(template)) => {
                let vars = Vars { secret, companion };
                Prepared::Ready(
                    template
                        .build(vars, base, &provider)
                        .map_err(|e| Verification::unknown(e.to_string()))?,
                )
            }
            (_, None) => {
                return Err(Verification::unknown(
                    "unsupported: no live check for this rule",
                ));
            }
        };
        Ok((
            key,
            Job {
                provider,
                spec: Arc::clone(spec),
                request,
                attempt: 0,
                not_before: Instant::now(),
            },
        ))
    }

    /// Sends every job on the pool; returns the results by job and the requests by provider.
    fn run(&self, jobs: Vec<Option<Job>>) -> (Vec<Option<Verification>>, BTreeMap<String, u64>) {
        let n = jobs.len();
        if n == 0 {
            return (Vec::new(), BTreeMap::new());
        }
        let mut pending: BTreeMap<String, VecDeque<usize>> = BTreeMap::new();
        for (j, job) in jobs.iter().enumerate() {
            if let Some(job) = job {
                pending
                    .entry(job.provider.clone())
                    .or_default()
                    .push_back(j);
            }
        }
        let state = Mutex::new(Queue {
            waiting: pending.values().map(VecDeque::len).sum(),
            pending,
            jobs,
            results: vec![None; n],
            inflight: HashMap::new(),
            next: HashMap::new(),
            requests: BTreeMap::new(),
            running: 0,
        });
        let wake = Condvar::new();
        let workers = self.settings.concurrency.clamp(1, n);
        std::thread::scope(|s| {
            for _ in 0..workers {
                s.spawn(|| self.worker(&state, &wake));
            }
        });
        let q = state
            .into_inner()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        (q.results, q.requests)
    }

    fn worker(&self, state: &Mutex<Queue>, wake: &Condvar) {
        let interval = if self.settings.rate > 0.0 {
            Duration::from_secs_f64(1.0 / self.settings.rate)
        } else {
            Duration::ZERO
        };
        let lock = || {
            state
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner)
        };
        let mut q = lock();
        loop {
            let now = Instant::now();
            let mut earliest: Option<Instant> = None;
            let mut pick = None;
            for (provider, queue) in &q.pending {
                let Some(&j) = queue.front() else { continue };
                let free = q.inflight.get(provider).copied().unwrap_or(0)
                    < self.settings.per_provider.max(1);
                if !free {
                    continue;
                }
                let not_before = q.jobs[j].as_ref().map_or(now, |job| job.not_before);
                let at = q.next.get(provider).copied().unwrap_or(now).max(not_before);
                if at <= now {
                    pick = Some(provider.clone());
                    break;
                }
                earliest = Some(earliest.map_or(at, |e: Instant| e.min(at)));
            }
            let Some(provider) = pick else {
                if q.waiting == 0 && q.running == 0 {
                    wake.notify_all();
                    return;
                }
                if q.waiting == 0 {
                    // Others are still running and may put a retry back.
                    q = wake
                        .wait(q)
                        .unwrap_or_else(std::sync::PoisonError::into_inner);
                    continue;
                }
                let wait = earliest.map_or(Duration::from_millis(50), |e| {
                    e.saturating_duration_since(now)
                });
                q = wake
                    .wait_timeout(q, wait.max(Duration::from_millis(1)))
                    .unwrap_or_else(std::sync::PoisonError::into_inner)
                    .0;
                continue;
            };
            let Some(j) = q.pending.get_mut(&provider).and_then(VecDeque::pop_front) else {
                continue;
            };
            q.waiting -= 1;
            let Some(mut job) = q.jobs[j].take() else {
                continue;
            };
            *q.inflight.entry(job.provider.clone()).or_default() += 1;
            q.next.insert(job.provider.clone(), now + interval);
            *q.requests.entry(job.provider.clone()).or_default() += 1;
            q.running += 1;
            drop(q);

            let outcome = self.attempt(&job);

            q = lock();
            q.running -= 1;
            if let Some(n) = q.inflight.get_mut(&job.provider) {
                *n = n.saturating_sub(1);
            }
            match outcome {
                Outcome::Done(v) => q.results[j] = Some(v),
                Outcome::Retry { last, after } => {
                    if job.attempt < self.settings.retries {
                        let delay = after.map_or_else(
                            || self.settings.backoff * 2u32.saturating_pow(job.attempt),
                            |d| d.min(MAX_RETRY_AFTER),
                        );
                        job.attempt += 1;
                        job.not_before = Instant::now() + delay;
                        if after.is_some() {
                            // Why: a 429 speaks for the provider, not just this request.
                            let until = job.not_before;
                            let next = q.next.entry(job.provider.clone()).or_insert(until);
                            *next = (*next).max(until);
                        }
                        let provider = job.provider.clone();
                        q.jobs[j] = Some(job);
                        q.pending.entry(provider).or_default().push_back(j);
                        q.waiting += 1;
                    } else {
                        q.results[j] = Some(last);
                    }
                }
            }
            wake.notify_all();
        }
    }

    /// Sends one job once and reads the answer.
    fn attempt(&self, job: &Job) -> Outcome {
        let signed;
        let request = match &job.request {
            Prepared::Ready(r) => r,
            Prepared::Aws {
                base,
                key_id,
                secret_key,
            } => match aws::request(base, key_id, secret_key, SystemTime::now()) {
                Ok(r) => {
                    signed = r;
                    &signed
                }
                Err(e) => return Outcome::Done(Verification::unknown(e)),
            },
        };
        match self.client.send(request) {
            Err(f) => Outcome::Done(Verification::unknown(f.to_string())),
            Ok(resp) => classify(&job.spec, &resp),
        }
    }
}

/// What one attempt came to.
enum Outcome {
    Done(Verification),
    /// 429 or 5xx: worth another try (after `Retry-After`, if given).
    Retry {
        last: Verification,
        after: Option<Duration>,
    },
}

/// Reads the provider's answer as the rule says.
fn classify(spec: &VerifySpec, resp: &Response) -> Outcome {
    let status = resp.status;
    if status == 429 {
        return Outcome::Retry {
            last: Verification::unknown("rate limited (HTTP 429)"),
            after: Some(resp.retry_after().unwrap_or(Duration::from_secs(1))),
        };
    }
    if spec.kind == Some(Kind::AwsSts) {
        return Outcome::Done(classify_aws(resp));
    }
    if (500..600).contains(&status) {
        return Outcome::Retry {
            last: Verification::unknown(format!("provider error (HTTP {status})")),
            after: None,
        };
    }
    let body: Option<serde_json::Value> = serde_json::from_slice(&resp.body).ok();
    if spec.active.contains(&status) {
        if let Some(ok) = &spec.ok {
            let yes = body
                .as_ref()
                .and_then(|b| b.pointer(ok))
                .and_then(serde_json::Value::as_bool)
                == Some(true);
            if !yes {
                return Outcome::Done(Verification::new(
                    Status::Inactive,
                    format!(
                        "the provider rejected it (HTTP {status}, {} is not true)",
                        ok.trim_start_matches('/')
                    ),
                ));
            }
        }
        let mut v = Verification::new(
            Status::Active,
            format!("the provider accepted it (HTTP {status})"),
        );
        v.identity = spec
            .identity
            .as_ref()
            .and_then(|p| body.as_ref()?.pointer(p))
            .and_then(|id| match id {
                serde_json::Value::String(s) => Some(s.clone()),
                serde_json::Value::Number(n) => Some(n.to_string()),
                _ => None,
            })
            .map(|s| clean(&s));
        if let Some(h) = &spec.scopes {
            v.scopes = resp
                .header(h)
                .map(|s| {
                    s.split([',', ' '])
                        .map(str::trim)
                        .filter(|s| !s.is_empty())
                        .take(100)
                        .map(clean)
                        .collect()
                })
                .unwrap_or_default();
        }
        return Outcome::Done(v);
    }
    if spec.inactive.contains(&status) {
        return Outcome::Done(Verification::new(
            Status::Inactive,
            format!("the provider rejected it (HTTP {status})"),
        ));
    }
    Outcome::Done(Verification::unknown(format!(
        "unexpected answer (HTTP {status})"
    )))
}

fn classify_aws(resp: &Response) -> Verification {
    let status = resp.status;
    if status == 200 {
        let mut v = Verification::new(
            Status::Active,
            "AWS STS GetCallerIdentity accepted it (HTTP 200)",
        );
        v.identity = aws::arn(&resp.body).map(|a| clean(&a));
        return v;
    }
    let code = aws::error_code(&resp.body).map(|c| clean(&c));
    match code.as_deref() {
        Some(
            c
            @ ("InvalidClientTokenId" | "SignatureDoesNotMatch" | "AccessDenied" | "ExpiredToken"),
        ) => Verification::new(
            Status::Inactive,
            format!("AWS rejected it ({c}, HTTP {status})"),
        ),
        Some(c) => Verification::unknown(format!("AWS answered {c} (HTTP {status})")),
        None if (500..600).contains(&status) => {
            Verification::unknown(format!("provider error (HTTP {status})"))
        }
        None => Verification::unknown(format!("unexpected answer (HTTP {status})")),
    }
}

/// Text from a provider made safe to print: no control characters, at most 200 characters.
pub fn clean(s: &str) -> String {
    s.chars().filter(|c| !c.is_control()).take(200).collect()
}

/// Identifies a request's credentials without holding them.
fn job_key(provider: &str, secret: &str, companion: Option<&str>) -> [u8; 32] {
    let (a, b) = match companion {
        Some(c) if c < secret => (c, secret),
        Some(c) => (secret, c),
        None => (secret, ""),
    };
    let mut h = Sha256::new();
    for part in ["leakhound:verify:v1", provider, a, b] {
        h.update(part.as_bytes());
        h.update([0]);
    }
    h.finalize().into()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(yaml: &str) -> VerifySpec {
        VerifySpec::from_syntax(serde_yaml_ng::from_str(yaml).unwrap(), true).unwrap()
    }

    fn resp(status: u16, body: &str, headers: &[(&str, &str)]) -> Response {
        Response {
            status,
            headers: headers
                .iter()
                .map(|(n, v)| ((*n).into(), (*v).into()))
                .collect(),
            body: body.as_bytes().to_vec(),
        }
    }

    fn done(o: Outcome) -> Verification {
        match o {
            Outcome::Done(v) => v,
            Outcome::Retry { .. } => panic!("a retry"),
        }
    }

    #[test]
    fn answers_are_read_as_the_rule_says() {
        let s = spec(
            "request: 'GET https://api.example.net/me'\nheaders: {Authorization: 'Bearer {secret}'}\n\
             identity: /user/login\nscopes: X-Scopes\nok: /ok\ndocs: 'https://d.example'\n",
        );
        let v = done(classify(
            &s,
            &resp(
                200,
                r#"{"ok": true, "user": {"login": "oct\u001bocat"}}"#,
                &[("x-scopes", "repo, gist")],
            ),
        ));
        assert_eq!(v.status, Status::Active);
        assert_eq!(
            v.identity.as_deref(),
            Some("octocat"),
            "control characters are removed"
        );
        assert_eq!(v.scopes, ["repo", "gist"]);
        assert_eq!(
            done(classify(&s, &resp(200, r#"{"ok": false}"#, &[]))).status,
            Status::Inactive
        );
        assert_eq!(
            done(classify(&s, &resp(401, "", &[]))).status,
            Status::Inactive
        );
        let odd = done(classify(&s, &resp(404, "", &[])));
        assert_eq!(
            (odd.status, odd.detail.as_str()),
            (Status::Unknown, "unexpected answer (HTTP 404)")
        );
        assert!(matches!(
            classify(&s, &resp(503, "", &[])),
            Outcome::Retry { after: None, .. }
        ));
        match classify(&s, &resp(429, "", &[("retry-after", "7")])) {
            Outcome::Retry { after, .. } => assert_eq!(after, Some(Duration::from_secs(7))),
            Outcome::Done(_) => panic!("429 is retried"),
        }
    }

    #[test]
    fn aws_errors_are_read_by_code() {
        let s = spec("kind: aws-sts\ncompanion: '(AKIA[A-Z0-9]{16})'\ndocs: 'https://d.example'\n");
        let ok = "<GetCallerIdentityResponse><GetCallerIdentityResult><Arn>arn:aws:iam::123456789012:user/ci</Arn></GetCallerIdentityResult></GetCallerIdentityResponse>";
        let v = done(classify(&s, &resp(200, ok, &[])));
        assert_eq!(
            (v.status, v.identity.as_deref()),
            (Status::Active, Some("arn:aws:iam::123456789012:user/ci"))
        );
        let bad = "<ErrorResponse><Error><Code>InvalidClientTokenId</Code></Error></ErrorResponse>";
        assert_eq!(
            done(classify(&s, &resp(403, bad, &[]))).status,
            Status::Inactive
        );
        assert_eq!(
            done(classify(&s, &resp(400, "<Code>Throttling</Code>", &[]))).status,
            Status::Unknown
        );
    }

    #[test]
    fn pairs_share_a_key_whichever_way_round() {
        assert_eq!(
            job_key("aws", "A", Some("B")),
            job_key("aws", "B", Some("A"))
        );
        assert_ne!(
            job_key("aws", "A", Some("B")),
            job_key("aws", "A", Some("C"))
        );
        assert_ne!(job_key("aws", "A", None), job_key("gcp", "A", None));
    }

    #[test]
    fn endpoints_must_be_https_or_loopback() {
        assert!(check_endpoint("https://github.example.com/api/v3").is_ok());
        assert!(check_endpoint("http://127.0.0.1:8080").is_ok());
        assert!(check_endpoint("http://github.example.com").is_err());
        assert!(check_endpoint("ftp://x").is_err());
    }
}
