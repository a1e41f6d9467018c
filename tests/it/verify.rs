//! `--verify` and `leakhound revoke` against mock providers on 127.0.0.1: the request each
//! provider family is sent (method, path, auth header, body) and every outcome (active,
//! inactive, unknown on 5xx, on timeout and when rate limited).

use std::{
    io::{BufReader, Read, Write},
    net::TcpListener,
    path::Path,
    sync::{
        Arc, Mutex,
        atomic::{AtomicUsize, Ordering},
    },
    time::Duration,
};

use base64::Engine as _;

use crate::util::{findings, github_token, json, leakhound, read_request, slack_token, stripe_key};

/// A request the mock saw.
#[derive(Debug, Clone)]
struct Seen {
    method: String,
    target: String,
    headers: Vec<(String, String)>,
    body: String,
}

impl Seen {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// What the mock answers: status, extra headers, body, and a delay first.
struct Answer {
    status: u16,
    headers: Vec<(&'static str, &'static str)>,
    body: String,
    delay: Duration,
}

fn answer(status: u16, body: &str) -> Answer {
    Answer {
        status,
        headers: Vec::new(),
        body: body.to_owned(),
        delay: Duration::ZERO,
    }
}

type Handler = dyn Fn(&Seen) -> Answer + Send + Sync;

/// A provider on 127.0.0.1 that records every request.
struct Mock {
    url: String,
    seen: Arc<Mutex<Vec<Seen>>>,
    /// Requests being answered now, and the most at once.
    busy: Arc<(AtomicUsize, AtomicUsize)>,
}

impl Mock {
    fn start(handler: impl Fn(&Seen) -> Answer + Send + Sync + 'static) -> Mock {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://127.0.0.1:{}", listener.local_addr().unwrap().port());
        let seen = Arc::new(Mutex::new(Vec::new()));
        let log = Arc::clone(&seen);
        let busy = Arc::new((AtomicUsize::new(0), AtomicUsize::new(0)));
        let gauge = Arc::clone(&busy);
        let handler: Arc<Handler> = Arc::new(handler);
        std::thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                let log = Arc::clone(&log);
                let handler = Arc::clone(&handler);
                let gauge = Arc::clone(&gauge);
                std::thread::spawn(move || {
                    let mut reader = BufReader::new(stream.try_clone().unwrap());
                    let Some(req) = read_request(&mut reader) else {
                        return;
                    };
                    let len: usize = req
                        .header("content-length")
                        .and_then(|v| v.parse().ok())
                        .unwrap_or(0);
                    let mut body = vec![0; len];
                    let _ = reader.read_exact(&mut body);
                    let names = [
                        "authorization",
                        "private-token",
                        "accept",
                        "content-type",
                        "x-github-api-version",
                        "x-amz-date",
                    ];
                    let seen = Seen {
                        method: req.method.clone(),
                        target: req.target.clone(),
                        headers: names
                            .iter()
                            .filter_map(|n| Some(((*n).to_owned(), req.header(n)?.to_owned())))
                            .collect(),
                        body: String::from_utf8_lossy(&body).into_owned(),
                    };
                    log.lock().unwrap().push(seen.clone());
                    let now = gauge.0.fetch_add(1, Ordering::SeqCst) + 1;
                    gauge.1.fetch_max(now, Ordering::SeqCst);
                    let a = handler(&seen);
                    std::thread::sleep(a.delay);
                    gauge.0.fetch_sub(1, Ordering::SeqCst);
                    let mut out = stream;
                    let mut head = format!(
                        "HTTP/1.1 {} X\r\nContent-Length: {}\r\nConnection: close\r\nContent-Type: application/json\r\n",
                        a.status,
                        a.body.len()
                    );
                    for (k, v) in &a.headers {
                        head.push_str(&format!("{k}: {v}\r\n"));
                    }
                    head.push_str("\r\n");
                    let _ = out.write_all(head.as_bytes());
                    let _ = out.write_all(a.body.as_bytes());
                });
            }
        });
        Mock { url, seen, busy }
    }

    fn seen(&self) -> Vec<Seen> {
        self.seen.lock().unwrap().clone()
    }

    fn count(&self, path_prefix: &str) -> usize {
        self.seen()
            .iter()
            .filter(|s| s.target.starts_with(path_prefix))
            .count()
    }
}

/// A fake GitLab token, assembled so that this file does not hold it.
fn gitlab_token() -> String {
    ["glpat-", "Mx4fBnmGzaQ", "Dw_eJv8RE"].concat()
}

/// A fake AWS key pair, assembled so that this file does not hold it.
fn aws_pair() -> (String, String) {
    (
        ["AKIA", "S7OYNM6U3VYQ5RBO"].concat(),
        ["TmU1Qaqnzm7jmAZl", "rl4QTImyErs6BPkLb+b/hwAe"].concat(),
    )
}

/// A directory with these files and a `.leakhound.toml` naming the mock for these providers.
fn tree(
    files: &[(&str, String)],
    mock: &Mock,
    providers: &[&str],
    extra: &str,
) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    for (name, text) in files {
        std::fs::write(dir.path().join(name), text).unwrap();
    }
    let endpoints: Vec<String> = providers
        .iter()
        .map(|p| format!("{p} = \"{}\"", mock.url))
        .collect();
    std::fs::write(
        dir.path().join(".leakhound.toml"),
        format!(
            "[verify]\nretries = 2\n{extra}\n[verify.endpoints]\n{}\n",
            endpoints.join("\n")
        ),
    )
    .unwrap();
    dir
}

fn run(dir: &Path, args: &[&str]) -> (i32, serde_json::Value, String) {
    let out = leakhound()
        .current_dir(dir)
        .env_remove("HTTPS_PROXY")
        .env_remove("https_proxy")
        .env_remove("HTTP_PROXY")
        .env_remove("http_proxy")
        .env_remove("ALL_PROXY")
        .args(["scan", ".", "--format", "json", "--no-progress"])
        .args(args)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    (out.status.code().unwrap_or(-1), json(&out.stdout), stderr)
}

fn by_rule<'a>(doc: &'a serde_json::Value, rule: &str) -> &'a serde_json::Value {
    findings(doc)
        .iter()
        .find(|f| f["rule_id"] == rule)
        .unwrap_or_else(|| panic!("no {rule} finding in {doc}"))
}

#[test]
fn each_family_gets_its_request_shape_and_each_outcome_its_status() {
    let gh = github_token();
    let gh_auth = format!("Bearer {gh}");
    let mock = Mock::start(move |s| match (s.method.as_str(), s.target.as_str()) {
        ("GET", "/user") if s.header("authorization") == Some(gh_auth.as_str()) => Answer {
            headers: vec![("X-OAuth-Scopes", "repo, gist")],
            ..answer(200, r#"{"login": "octo\u001b[31mcat"}"#)
        },
        ("POST", "/api/auth.test") => answer(200, r#"{"ok": false, "error": "invalid_auth"}"#),
        ("GET", "/v1/account") => answer(503, "{}"),
        _ => answer(404, "{}"),
    });
    let dir = tree(
        &[
            (
                "a.cfg",
                format!("GITHUB_TOKEN={gh}\nSLACK_BOT_TOKEN={}\n", slack_token()),
            ),
            // The same GitHub token at a second place: still one request.
            (
                "b.cfg",
                format!("TOKEN={gh}\nSTRIPE_KEY={}\n", stripe_key()),
            ),
        ],
        &mock,
        &["github", "slack", "stripe"],
        "",
    );
    let (code, doc, stderr) = run(dir.path(), &["--verify"]);
    assert_eq!(code, 1, "{stderr}");

    let github = &by_rule(&doc, "github.pat-classic")["verification"];
    assert_eq!(github["status"], "active", "{doc}");
    assert_eq!(
        github["identity"], "octo[31mcat",
        "control characters are dropped"
    );
    assert_eq!(github["scopes"], serde_json::json!(["repo", "gist"]));
    assert!(github["checked_at"].as_str().unwrap().ends_with('Z'));
    assert_eq!(mock.count("/user"), 1, "one request per distinct secret");
    let req = mock
        .seen()
        .into_iter()
        .find(|s| s.target == "/user")
        .unwrap();
    assert_eq!(req.header("accept"), Some("application/vnd.github+json"));
    assert_eq!(req.header("x-github-api-version"), Some("2022-11-28"));

    let slack = &by_rule(&doc, "slack.bot-token")["verification"];
    assert_eq!(
        slack["status"], "inactive",
        "ok: false means rejected: {doc}"
    );
    let slack_req = mock
        .seen()
        .into_iter()
        .find(|s| s.target == "/api/auth.test")
        .unwrap();
    assert_eq!(
        slack_req.header("authorization"),
        Some(format!("Bearer {}", slack_token()).as_str())
    );

    let stripe = &by_rule(&doc, "stripe.secret-key")["verification"];
    assert_eq!(stripe["status"], "unknown");
    assert_eq!(stripe["detail"], "provider error (HTTP 503)");
    assert_eq!(mock.count("/v1/account"), 3, "a 5xx is retried twice");
    let stripe_req = mock
        .seen()
        .into_iter()
        .find(|s| s.target == "/v1/account")
        .unwrap();
    let basic = base64::engine::general_purpose::STANDARD.encode(format!("{}:", stripe_key()));
    assert_eq!(
        stripe_req.header("authorization"),
        Some(format!("Basic {basic}").as_str())
    );

    let stats = &doc["stats"]["verification"];
    assert_eq!(
        (
            stats["active"].as_u64(),
            stats["inactive"].as_u64(),
            stats["unknown"].as_u64()
        ),
        (Some(1), Some(1), Some(1))
    );
    assert_eq!(stats["requests"]["stripe"], 3);
    assert_eq!(stats["requests"]["github"], 1);
    assert!(
        stderr.contains("verified 3 distinct secrets: 1 active, 1 inactive, 1 unknown"),
        "{stderr}"
    );
    assert!(
        !stderr.contains(&gh) && !stderr.contains(&stripe_key()),
        "no secret on stderr"
    );
}

#[test]
fn timeouts_and_rate_limits_are_unknown_with_the_reason() {
    let mock = Mock::start(|s| match s.target.as_str() {
        "/user" => Answer {
            delay: Duration::from_secs(5),
            ..answer(200, r#"{"login": "late"}"#)
        },
        _ => Answer {
            headers: vec![("Retry-After", "1")],
            ..answer(429, "{}")
        },
    });
    let dir = tree(
        &[(
            "a.cfg",
            format!(
                "GITHUB_TOKEN={}\nSTRIPE_KEY={}\n",
                github_token(),
                stripe_key()
            ),
        )],
        &mock,
        &["github", "stripe"],
        "timeout = 0.5",
    );
    let (_, doc, stderr) = run(dir.path(), &["--verify"]);
    let github = &by_rule(&doc, "github.pat-classic")["verification"];
    assert_eq!(
        (github["status"].as_str(), github["detail"].as_str()),
        (Some("unknown"), Some("timeout")),
        "{stderr}"
    );
    let stripe = &by_rule(&doc, "stripe.secret-key")["verification"];
    assert_eq!(stripe["detail"], "rate limited (HTTP 429)");
    assert_eq!(
        mock.count("/v1/account"),
        3,
        "429 is retried after Retry-After"
    );
}

#[test]
fn only_verified_and_fail_on_active_gate_on_live_secrets() {
    let mock = Mock::start(|s| match s.target.as_str() {
        "/user" => answer(401, r#"{"message": "Bad credentials"}"#),
        _ => answer(200, r#"{"id": "acct_1"}"#),
    });
    let files = [("a.cfg", format!("GITHUB_TOKEN={}\n", github_token()))];
    let dir = tree(&files, &mock, &["github", "stripe"], "");
    let (code, doc, _) = run(
        dir.path(),
        &["--verify", "--only-verified", "--fail-on", "active"],
    );
    assert_eq!(code, 0, "an inactive secret does not fail --fail-on active");
    assert!(findings(&doc).is_empty());
    assert_eq!(doc["stats"]["unverified_hidden"], 1);

    std::fs::write(
        dir.path().join("b.cfg"),
        format!("STRIPE_KEY={}\n", stripe_key()),
    )
    .unwrap();
    let (code, doc, _) = run(
        dir.path(),
        &["--verify", "--only-verified", "--fail-on", "active"],
    );
    assert_eq!(code, 1);
    assert_eq!(findings(&doc).len(), 1);
    assert_eq!(findings(&doc)[0]["verification"]["identity"], "acct_1");

    // --fail-on active without --verify is refused before scanning.
    let (code, _, _) = run_raw(dir.path(), &["scan", ".", "--fail-on", "active"]);
    assert_eq!(code, 2);
    // The pre-commit hook never verifies.
    let (code, _, stderr) = run_raw(dir.path(), &["git", "--staged", "--verify"]);
    assert_eq!(code, 2);
    assert!(stderr.contains("--verify"), "{stderr}");
}

fn run_raw(dir: &Path, args: &[&str]) -> (i32, String, String) {
    let out = leakhound().current_dir(dir).args(args).output().unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn aws_pairs_are_signed_with_sigv4_and_checked_once() {
    let (id, secret) = aws_pair();
    let mock = Mock::start(|s| {
        if s.method == "POST" && s.body == "Action=GetCallerIdentity&Version=2011-06-15" {
            answer(
                200,
                "<GetCallerIdentityResponse><GetCallerIdentityResult><Arn>arn:aws:iam::123456789012:user/deploy</Arn></GetCallerIdentityResult></GetCallerIdentityResponse>",
            )
        } else {
            answer(400, "")
        }
    });
    let creds = format!("[default]\naws_access_key_id = {id}\naws_secret_access_key = {secret}\n");
    let dir = tree(&[("credentials", creds)], &mock, &["aws"], "");
    let (_, doc, stderr) = run(dir.path(), &["--verify"]);
    for rule in ["aws.access-key-id", "aws.secret-access-key"] {
        let v = &by_rule(&doc, rule)["verification"];
        assert_eq!(v["status"], "active", "{rule}: {stderr} {doc}");
        assert_eq!(v["identity"], "arn:aws:iam::123456789012:user/deploy");
    }
    let seen = mock.seen();
    assert_eq!(seen.len(), 1, "both halves share one request");
    let auth = seen[0].header("authorization").unwrap();
    assert!(
        auth.starts_with(&format!("AWS4-HMAC-SHA256 Credential={id}/")),
        "{auth}"
    );
    assert!(
        auth.contains("/us-east-1/sts/aws4_request, SignedHeaders="),
        "{auth}"
    );
    assert!(!auth.contains(&secret), "the secret key is never sent");
    assert!(seen[0].header("x-amz-date").is_some());
}

#[test]
fn unsupported_rules_and_bad_endpoints_say_why() {
    let mock = Mock::start(|_| answer(200, "{}"));
    // A rule with no live check.
    let webhook = ["whsec_", "D8GfvKBUQ5QUVN2w", "T0qvad1QhalPQodg"].concat();
    let dir = tree(
        &[("a.cfg", format!("STRIPE_WEBHOOK_SECRET={webhook}\n"))],
        &mock,
        &[],
        "",
    );
    let (_, doc, _) = run(dir.path(), &["--verify"]);
    let v = &by_rule(&doc, "stripe.webhook-secret")["verification"];
    assert_eq!(v["status"], "unknown");
    assert!(
        v["detail"].as_str().unwrap().starts_with("unsupported"),
        "{v}"
    );
    assert!(mock.seen().is_empty());

    // A provider with a host per customer is asked only once its host is named.
    let dbx = ["dapi", "cb454373b59911f1", "e5b8ad4b6ec931a9"].concat();
    std::fs::write(
        dir.path().join("b.cfg"),
        format!("DATABRICKS_TOKEN={dbx}\n"),
    )
    .unwrap();
    let (_, doc, _) = run(dir.path(), &["--verify"]);
    let v = &by_rule(&doc, "databricks.api-token")["verification"];
    assert_eq!(v["status"], "unknown");
    assert!(
        v["detail"]
            .as_str()
            .unwrap()
            .starts_with("needs an endpoint: set [verify.endpoints] databricks"),
        "{v}"
    );
    assert!(mock.seen().is_empty());
    let dir = tree(
        &[("b.cfg", format!("DATABRICKS_TOKEN={dbx}\n"))],
        &mock,
        &["databricks"],
        "",
    );
    let (_, doc, _) = run(dir.path(), &["--verify"]);
    assert_eq!(
        by_rule(&doc, "databricks.api-token")["verification"]["status"],
        "active"
    );
    assert_eq!(mock.seen()[0].target, "/api/2.0/preview/scim/v2/Me");

    // Plain http to a host that is not loopback is refused.
    std::fs::write(
        dir.path().join(".leakhound.toml"),
        "[verify.endpoints]\ngithub = \"http://github.example.com\"\n",
    )
    .unwrap();
    let (code, _, stderr) = run_raw(dir.path(), &["scan", ".", "--verify"]);
    assert_eq!(code, 2);
    assert!(stderr.contains("not https"), "{stderr}");
}

#[test]
fn revoke_is_a_dry_run_until_yes_and_logs_every_action() {
    let mock = Mock::start(|s| match (s.method.as_str(), s.target.as_str()) {
        ("POST", "/credentials/revoke") => answer(202, "{}"),
        ("DELETE", "/api/v4/personal_access_tokens/self") => answer(204, ""),
        _ => answer(404, ""),
    });
    let files = [(
        "a.cfg",
        format!(
            "GITHUB_TOKEN={}\nGITLAB_TOKEN={}\nSTRIPE_KEY={}\n",
            github_token(),
            gitlab_token(),
            stripe_key()
        ),
    )];
    let dir = tree(&files, &mock, &["github", "gitlab"], "");
    let (code, stdout, stderr) = run_raw(dir.path(), &["revoke", "."]);
    assert_eq!(code, 0, "{stderr}");
    assert!(
        stdout.contains("would revoke  github.pat-classic"),
        "{stdout}"
    );
    assert!(stdout.contains("would revoke  gitlab.pat"), "{stdout}");
    assert!(stdout.contains("Dry run: 2 secrets"), "{stdout}");
    assert!(
        stderr.contains("1 other secret has no token-only revocation API"),
        "{stderr}"
    );
    assert!(mock.seen().is_empty(), "a dry run sends nothing");
    assert!(!dir.path().join("leakhound-revocations.jsonl").exists());

    let log = dir.path().join("audit.jsonl");
    let (code, stdout, stderr) = run_raw(
        dir.path(),
        &["revoke", ".", "--yes", "--audit-log", "audit.jsonl"],
    );
    assert_eq!(code, 0, "{stdout} {stderr}");
    let seen = mock.seen();
    let gh = seen
        .iter()
        .find(|s| s.target == "/credentials/revoke")
        .expect("GitHub batch");
    assert_eq!(
        gh.header("authorization"),
        None,
        "GitHub's revocation is unauthenticated"
    );
    let body: serde_json::Value = serde_json::from_str(&gh.body).unwrap();
    assert_eq!(body["credentials"], serde_json::json!([github_token()]));
    let gl = seen
        .iter()
        .find(|s| s.method == "DELETE")
        .expect("GitLab self-revoke");
    assert_eq!(gl.header("private-token"), Some(gitlab_token().as_str()));

    let text = std::fs::read_to_string(&log).unwrap();
    let lines: Vec<serde_json::Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 2);
    let outcomes: Vec<&str> = lines
        .iter()
        .map(|l| l["outcome"].as_str().unwrap())
        .collect();
    assert!(
        outcomes.contains(&"submitted") && outcomes.contains(&"revoked"),
        "{text}"
    );
    assert!(
        lines.iter().all(
            |l| l["secret_id"].as_str().is_some_and(|s| s.len() == 32) && l["time"].is_string()
        )
    );
    assert!(
        !text.contains(&github_token()) && !text.contains(&gitlab_token()),
        "the log never holds a value"
    );

    // --id restricts; a saved report must hold the values.
    let (code, _, stderr) = run_raw(
        dir.path(),
        &["scan", ".", "--format", "json", "-o", "redacted.json"],
    );
    assert_eq!(code, 1, "{stderr}");
    let (code, _, stderr) = run_raw(dir.path(), &["revoke", "--from", "redacted.json"]);
    assert_eq!(code, 2);
    assert!(stderr.contains("--show-secrets"), "{stderr}");
    let (_, _, _) = run_raw(
        dir.path(),
        &[
            "scan",
            ".",
            "--format",
            "json",
            "--show-secrets",
            "-o",
            "full.json",
        ],
    );
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(dir.path().join("full.json"))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600, "a report with values is private");
    }
    let report = crate::util::json(&std::fs::read(dir.path().join("full.json")).unwrap());
    let gl_id = findings(&report)
        .iter()
        .find(|f| f["rule_id"] == "gitlab.pat")
        .unwrap()["secret_id"]
        .as_str()
        .unwrap()
        .to_owned();
    let before = mock.seen().len();
    let (code, stdout, stderr) = run_raw(
        dir.path(),
        &[
            "revoke",
            "--from",
            "full.json",
            "--id",
            &gl_id[..12],
            "--yes",
            "--audit-log",
            "audit.jsonl",
        ],
    );
    assert_eq!(code, 0, "{stdout} {stderr}");
    let after = mock.seen();
    assert_eq!(after.len(), before + 1, "only the chosen secret");
    assert_eq!(after[before].method, "DELETE");
    assert_eq!(
        std::fs::read_to_string(&log).unwrap().lines().count(),
        3,
        "appended"
    );
}

#[test]
fn rules_list_marks_verifiable_and_revocable_rules() {
    let out = leakhound()
        .args(["rules", "list", "--format", "json"])
        .output()
        .unwrap();
    let rules = json(&out.stdout);
    let rules = rules.as_array().unwrap();
    let flag = |id: &str, k: &str| {
        rules.iter().find(|r| r["id"] == id).unwrap()[k]
            .as_bool()
            .unwrap()
    };
    assert!(flag("github.pat-classic", "verifiable") && flag("github.pat-classic", "revocable"));
    assert!(flag("aws.access-key-id", "verifiable") && !flag("aws.access-key-id", "revocable"));
    assert!(!flag("stripe.webhook-secret", "verifiable"));
    let verifiable = rules.iter().filter(|r| r["verifiable"] == true).count();
    assert!(verifiable >= 60, "{verifiable} verifiable rules");
}

#[test]
fn org_verifies_each_secret_once_and_caches_the_result_in_the_store() {
    let gh = github_token();
    let mock = Mock::start(|s| match s.target.as_str() {
        "/user" => answer(200, r#"{"login": "octocat"}"#),
        _ => answer(404, ""),
    });
    let repo = crate::gitrepo::Repo::init();
    repo.write("deploy.sh", format!("export GITHUB_TOKEN={gh}\n"));
    repo.commit("add deploy");
    // The same token again in a later commit, at another path.
    repo.write("ci.sh", format!("TOKEN={gh}\n"));
    repo.commit("add ci");
    let work = tempfile::tempdir().unwrap();
    std::fs::write(
        work.path().join("repos.txt"),
        format!("{}\n", repo.path().display()),
    )
    .unwrap();
    std::fs::write(
        work.path().join(".leakhound.toml"),
        format!("[verify.endpoints]\ngithub = \"{}\"\n", mock.url),
    )
    .unwrap();
    let org = |extra: &[&str]| {
        let out = leakhound()
            .current_dir(work.path())
            .args([
                "org",
                "--repos",
                "repos.txt",
                "--no-progress",
                "--format",
                "json",
            ])
            .args([
                "--store",
                "s.db",
                "--cache-dir",
                "mirrors",
                "--config",
                ".leakhound.toml",
            ])
            .args(extra)
            .output()
            .unwrap();
        (
            json(&out.stdout),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    };
    let (doc, stderr) = org(&["--verify"]);
    let fs = findings(&doc);
    assert_eq!(fs.len(), 2, "{stderr}");
    for f in fs {
        assert_eq!(f["verification"]["status"], "active", "{stderr} {f}");
        assert_eq!(f["verification"]["identity"], "octocat");
    }
    assert_eq!(mock.count("/user"), 1);

    let (doc, _) = org(&["--verify"]);
    assert_eq!(doc["stats"]["verification"]["cached"], 1);
    assert_eq!(
        mock.count("/user"),
        1,
        "a fresh result in the store is not asked again"
    );

    // `report` shows what the store keeps, without any request.
    let out = leakhound()
        .current_dir(work.path())
        .args([
            "report",
            "--store",
            "s.db",
            "--format",
            "json",
            "--only-verified",
        ])
        .output()
        .unwrap();
    let doc = json(&out.stdout);
    assert_eq!(findings(&doc).len(), 2);
    assert_eq!(findings(&doc)[0]["verification"]["status"], "active");
    assert_eq!(mock.count("/user"), 1);
}

#[test]
fn requests_to_one_provider_stay_within_its_limit() {
    let mock = Mock::start(|_| Answer {
        delay: Duration::from_millis(150),
        ..answer(200, r#"{"id": "acct_1"}"#)
    });
    let keys: Vec<String> = (0..12)
        .map(|i| ["sk", "_live_", &format!("Zq81mXk20LpAq9Rt7Vb3{i:04}")].concat())
        .collect();
    let text: String = keys.iter().map(|k| format!("KEY={k}\n")).collect();
    let dir = tree(
        &[("keys.cfg", text)],
        &mock,
        &["stripe"],
        "per_provider = 3\nrate = 1000",
    );
    let (_, doc, stderr) = run(dir.path(), &["--verify"]);
    assert_eq!(doc["stats"]["verification"]["active"], 12, "{stderr}");
    assert_eq!(mock.count("/v1/account"), 12);
    let most = mock.busy.1.load(Ordering::SeqCst);
    assert!(
        (2..=3).contains(&most),
        "at most 3 in flight to one provider, saw {most}"
    );
}

#[test]
fn a_failed_revocation_is_logged_and_fails_the_run() {
    let mock = Mock::start(|_| answer(500, ""));
    let dir = tree(
        &[("a.cfg", format!("GITLAB_TOKEN={}\n", gitlab_token()))],
        &mock,
        &["gitlab"],
        "",
    );
    let (code, stdout, _) = run_raw(
        dir.path(),
        &["revoke", ".", "--yes", "--audit-log", "audit.jsonl"],
    );
    assert_eq!(code, 2, "{stdout}");
    assert!(
        stdout.contains("failed") && stdout.contains("HTTP 500"),
        "{stdout}"
    );
    let line: serde_json::Value = serde_json::from_str(
        std::fs::read_to_string(dir.path().join("audit.jsonl"))
            .unwrap()
            .trim(),
    )
    .unwrap();
    assert_eq!(
        (line["outcome"].as_str(), line["detail"].as_str()),
        (Some("failed"), Some("HTTP 500"))
    );
}

#[test]
fn git_history_is_verified_through_the_same_step() {
    let mock = Mock::start(|_| answer(200, r#"{"login": "octocat"}"#));
    let repo = crate::gitrepo::Repo::init();
    repo.write(
        "deploy.sh",
        format!("export GITHUB_TOKEN={}\n", github_token()),
    );
    repo.commit("add deploy");
    repo.write("deploy.sh", "export GITHUB_TOKEN=$TOKEN\n");
    repo.commit("remove the token");
    std::fs::write(
        repo.path().join(".leakhound.toml"),
        format!("[verify.endpoints]\ngithub = \"{}\"\n", mock.url),
    )
    .unwrap();
    let out = leakhound()
        .args(["git", "--verify", "--format", "json", "--no-progress"])
        .arg(repo.path())
        .output()
        .unwrap();
    let doc = json(&out.stdout);
    let f = by_rule(&doc, "github.pat-classic");
    assert_eq!(f["in_head"], false, "found in history only");
    assert_eq!(f["verification"]["identity"], "octocat");
    assert_eq!(mock.count("/user"), 1);
}
