//! `leakhound org`, `report` and `merge` against real repositories served by `git daemon` on
//! 127.0.0.1, and mocks of the GitHub and GitLab REST APIs on 127.0.0.1.

use std::{
    collections::BTreeSet,
    io::{BufReader, Write},
    net::{TcpListener, TcpStream},
    path::{Path, PathBuf},
    process::{Child, Command, Stdio},
    sync::{Arc, Mutex},
    time::{Duration, Instant},
};

use serde_json::Value;

use crate::{
    gitrepo::{Repo, git_command},
    util::{
        Request, github_token, leakhound, read_request, sarif_uris, slack_token, stripe_key,
        stripe_key_2,
    },
};

/// `git daemon` serving the bare repositories under a temporary directory.
struct Daemon {
    child: Child,
    port: u16,
    base: tempfile::TempDir,
}

impl Drop for Daemon {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Daemon {
    fn start() -> Daemon {
        let base = tempfile::tempdir().unwrap();
        let port = TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let child = git_command(base.path())
            .args([
                "daemon",
                "--reuseaddr",
                "--export-all",
                "--listen=127.0.0.1",
                &format!("--port={port}"),
                &format!("--base-path={}", base.path().display()),
            ])
            .arg(base.path())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("git daemon starts");
        let deadline = Instant::now() + Duration::from_secs(10);
        while TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(Instant::now() < deadline, "git daemon did not listen");
            std::thread::sleep(Duration::from_millis(20));
        }
        Daemon { child, port, base }
    }

    /// Publishes a work repository's refs as `name.git`; returns its URL.
    fn publish(&self, name: &str, repo: &Repo) -> String {
        let bare = self.base.path().join(format!("{name}.git"));
        if !bare.exists() {
            git_command(self.base.path())
                .args(["init", "-q", "--bare"])
                .arg(&bare)
                .status()
                .unwrap();
        }
        repo.git(&["push", "-q", "--mirror", bare.to_str().unwrap()]);
        self.url(name)
    }

    /// Publishes a new repository with one file besides its README.
    fn publish_one(&self, name: &str, path: &str, content: String) -> String {
        self.publish(name, &repo_with(&[(path, content)]))
    }

    fn url(&self, name: &str) -> String {
        format!("git://127.0.0.1:{}/{name}.git", self.port)
    }
}

fn repo_with(files: &[(&str, String)]) -> Repo {
    let r = Repo::init();
    r.write("README.md", "# service\n");
    r.commit("init");
    for (path, content) in files {
        r.write(path, content);
        r.commit(&format!("add {path}"));
    }
    r
}

fn org(store: &Path, cache: &Path, args: &[&str]) -> (Value, String, i32) {
    let out = leakhound()
        .args([
            "org",
            "--no-progress",
            "--format",
            "json",
            "--group",
            "--store",
        ])
        .arg(store)
        .arg("--cache-dir")
        .arg(cache)
        .args(args)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    let doc = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("org output is not JSON ({e}); stderr: {stderr}"));
    crate::util::assert_report_schema(&doc);
    (doc, stderr, out.status.code().unwrap_or(-1))
}

fn report(store: &Path, args: &[&str]) -> Value {
    let out = leakhound()
        .args(["report", "--format", "json", "--store"])
        .arg(store)
        .args(args)
        .output()
        .unwrap();
    assert!(
        out.status.code() == Some(0) || out.status.code() == Some(1),
        "report failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    crate::util::json(&out.stdout)
}

/// `(secret_id, repository, path, commit)` of every location of a grouped document.
fn locations(doc: &Value) -> BTreeSet<(String, String, String, String)> {
    doc["findings"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|s| {
            s["locations"].as_array().unwrap().iter().map(|l| {
                (
                    s["secret_id"].as_str().unwrap().to_owned(),
                    l["repository"].as_str().unwrap().to_owned(),
                    l["path"].as_str().unwrap().to_owned(),
                    l["commit"].as_str().unwrap_or("").to_owned(),
                )
            })
        })
        .collect()
}

/// A temporary directory with a repository list of `urls`, and the store and cache paths in it.
fn workspace(urls: &[String]) -> (tempfile::TempDir, PathBuf, PathBuf, PathBuf) {
    let work = tempfile::tempdir().unwrap();
    let list = write_list(work.path(), urls);
    let (store, cache) = (work.path().join("org.db"), work.path().join("mirrors"));
    (work, list, store, cache)
}

/// The repositories findings were reported in.
fn repositories(doc: &Value) -> BTreeSet<&str> {
    doc["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["repository"].as_str().unwrap())
        .collect()
}

fn write_list(dir: &Path, urls: &[String]) -> PathBuf {
    let list = dir.join("repos.txt");
    std::fs::write(&list, format!("# test org\n{}\n", urls.join("\n"))).unwrap();
    list
}

#[test]
fn mirrors_repositories_and_one_secret_has_a_location_per_repository() {
    let daemon = Daemon::start();
    let key = stripe_key();
    let api = repo_with(&[("config/settings.py", format!("STRIPE_KEY = \"{key}\"\n"))]);
    // The key is removed later: still in history, no longer in HEAD.
    api.write(
        "config/settings.py",
        "STRIPE_KEY = os.environ[\"STRIPE_KEY\"]\n",
    );
    api.commit("read the key from the environment");
    let web = repo_with(&[("deploy/.env.production", format!("STRIPE={key}\n"))]);
    let docs = repo_with(&[("docs/guide.md", "Nothing secret here.\n".into())]);
    let urls = vec![
        daemon.publish("api", &api),
        daemon.publish("web", &web),
        daemon.publish("docs", &docs),
    ];
    let (_work, list, store, cache) = workspace(&urls);

    let (doc, stderr, code) = org(&store, &cache, &["--repos", list.to_str().unwrap()]);
    assert_eq!(code, 1, "findings exit 1; stderr: {stderr}");
    assert_eq!(doc["stats"]["repositories"], 3);
    // README (the same in all three), settings.py twice, .env.production, guide.md.
    assert_eq!(doc["stats"]["new_blobs"], 5, "{}", doc["stats"]);
    assert_eq!(doc["stats"]["known_blobs"], 2, "{}", doc["stats"]);
    let stripe: Vec<&Value> = doc["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|s| s["rule_id"] == "stripe.secret-key")
        .collect();
    assert_eq!(stripe.len(), 1, "one secret, however many repositories");
    let places: BTreeSet<(String, String)> = stripe[0]["locations"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| {
            (
                l["repository"].as_str().unwrap().to_owned(),
                l["path"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    assert_eq!(
        places,
        BTreeSet::from([
            ("api".to_owned(), "config/settings.py".to_owned()),
            ("web".to_owned(), "deploy/.env.production".to_owned()),
        ])
    );
    for l in stripe[0]["locations"].as_array().unwrap() {
        let expected_in_head = l["repository"] == "web";
        assert_eq!(l["in_head"], expected_in_head, "{l}");
        assert_eq!(l["commit"].as_str().unwrap().len(), 40);
        assert_eq!(l["author"], "Ada Tester");
    }
    assert_eq!(stripe[0]["secret"], "sk_l…", "the store keeps no values");
    assert_eq!(doc["stats"]["by_repository"]["api"], 1);
    // The mirrors are real bare repositories with every ref.
    let mirror = cache
        .join(format!("127.0.0.1_{}", daemon.port))
        .join("api.git");
    let refs = git_command(&mirror)
        .args(["for-each-ref", "--format=%(refname)"])
        .output()
        .unwrap();
    assert_eq!(
        String::from_utf8_lossy(&refs.stdout).trim(),
        "refs/heads/main"
    );
    // Nothing secret is written to the store file.
    let bytes = std::fs::read(&store).unwrap();
    assert!(!bytes.windows(key.len()).any(|w| w == key.as_bytes()));

    // `report` renders the same findings from the store, in every format.
    let rep = report(&store, &["--group"]);
    assert_eq!(locations(&rep), locations(&doc));
    let sarif = leakhound()
        .args(["report", "--format", "sarif", "--store"])
        .arg(&store)
        .output()
        .unwrap();
    let sarif: Value = serde_json::from_slice(&sarif.stdout).unwrap();
    let uris = sarif_uris(&sarif);
    assert!(uris.contains(&"web/deploy/.env.production"), "{uris:?}");
    let md = leakhound()
        .args(["report", "--format", "markdown", "--store"])
        .arg(&store)
        .output()
        .unwrap();
    let md = String::from_utf8(md.stdout).unwrap();
    assert!(
        md.contains("| repository | findings |") && md.contains("| web |"),
        "{md}"
    );
    let only_web = report(&store, &["--repo", "web"]);
    assert!(
        only_web["findings"]
            .as_array()
            .unwrap()
            .iter()
            .all(|f| f["repository"] == "web")
    );
}

#[test]
fn a_rerun_scans_no_old_blob_and_a_new_commit_only_its_new_blobs() {
    let daemon = Daemon::start();
    let app = repo_with(&[("app/config.yml", format!("stripe: {}\n", stripe_key()))]);
    let lib = repo_with(&[("src/lib.rs", "pub fn f() {}\n".into())]);
    // A fork: the same history again, so its blobs are already in the store.
    let urls = vec![
        daemon.publish("app", &app),
        daemon.publish("lib", &lib),
        daemon.publish("app-fork", &app),
    ];
    let (_work, list, store, cache) = workspace(&urls);
    let args = ["--repos", list.to_str().unwrap(), "--jobs", "1"];

    let (first, _, _) = org(&store, &cache, &args);
    let first_new = first["stats"]["new_blobs"].as_u64().unwrap();
    // app: README + config; lib: README (same content as app's) + lib.rs.
    assert_eq!(first_new, 3, "{}", first["stats"]);
    assert_eq!(
        first["stats"]["known_blobs"].as_u64().unwrap(),
        3,
        "lib's README and the fork's two blobs were already scanned"
    );
    let fork_places: Vec<&Value> = first["findings"][0]["locations"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|l| l["repository"] == "app-fork")
        .collect();
    assert_eq!(
        fork_places.len(),
        1,
        "a known blob is attributed to the fork"
    );

    let (second, stderr, _) = org(&store, &cache, &args);
    assert_eq!(second["stats"]["new_blobs"], 0, "{stderr}");
    assert_eq!(second["stats"]["commits"], 0, "no new commits walked");
    assert_eq!(
        locations(&second),
        locations(&first),
        "nothing lost on a re-run"
    );

    lib.write("src/token.txt", format!("SLACK={}\n", slack_token()));
    let new_commit = lib.commit("add a token");
    daemon.publish("lib", &lib);
    let (third, _, _) = org(&store, &cache, &args);
    assert_eq!(third["stats"]["new_blobs"], 1, "{}", third["stats"]);
    assert_eq!(third["stats"]["commits"], 1);
    let added: Vec<_> = locations(&third)
        .difference(&locations(&second))
        .cloned()
        .collect();
    assert_eq!(added.len(), 1, "{added:?}");
    assert_eq!(
        (
            added[0].1.as_str(),
            added[0].2.as_str(),
            added[0].3.as_str()
        ),
        ("lib", "src/token.txt", new_commit.as_str())
    );
}

/// A server that accepts connections and never answers: the scan hangs there until killed.
fn black_hole() -> (u16, Arc<Mutex<Vec<TcpStream>>>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let held = Arc::new(Mutex::new(Vec::new()));
    let keep = Arc::clone(&held);
    std::thread::spawn(move || {
        for s in listener.incoming().flatten() {
            keep.lock().unwrap().push(s);
        }
    });
    (port, held)
}

#[test]
fn a_killed_run_resumes_where_it_stopped_and_loses_nothing() {
    let daemon = Daemon::start();
    let repos = [
        repo_with(&[("a.py", format!("KEY = \"{}\"\n", stripe_key()))]),
        repo_with(&[("b.env", format!("TOKEN={}\n", github_token()))]),
        repo_with(&[("c.py", format!("KEY = \"{}\"\n", stripe_key_2()))]),
    ];
    let mut urls: Vec<String> = ["a", "b", "c"]
        .iter()
        .zip(&repos)
        .map(|(n, r)| daemon.publish(n, r))
        .collect();
    let (hole, _held) = black_hole();
    let good_c = urls[2].clone();
    urls[2] = format!("git://127.0.0.1:{hole}/c.git");
    let (work, list, store, cache) = workspace(&urls);

    let mut child = Command::new(env!("CARGO_BIN_EXE_leakhound"))
        .args([
            "org",
            "--no-progress",
            "-q",
            "--jobs",
            "1",
            "--format",
            "json",
            "--store",
        ])
        .arg(&store)
        .arg("--cache-dir")
        .arg(&cache)
        .arg("--repos")
        .arg(&list)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    // Wait until a and b are recorded (c hangs), then kill the process.
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        if store.exists() {
            let doc = report(&store, &[]);
            if doc["stats"]["repositories"] == 2 {
                break;
            }
        }
        assert!(Instant::now() < deadline, "a and b were never recorded");
        assert!(
            child.try_wait().unwrap().is_none(),
            "the run ended on its own"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    child.kill().unwrap();
    child.wait().unwrap();

    // The server for c is back; the same list (same source) resumes the run.
    urls[2] = good_c;
    write_list(work.path(), &urls);
    let (resumed, stderr, code) = org(&store, &cache, &["--repos", list.to_str().unwrap()]);
    assert_eq!(code, 1, "{stderr}");
    assert!(
        stderr.contains("resumed an interrupted run: 2 already done"),
        "{stderr}"
    );
    assert_eq!(resumed["stats"]["repositories"], 1, "only c was left");

    // The result equals one uninterrupted run.
    let fresh = work.path().join("fresh.db");
    let (full, _, _) = org(
        &fresh,
        &work.path().join("m2"),
        &["--repos", list.to_str().unwrap()],
    );
    assert_eq!(locations(&resumed), locations(&full));
    assert!(locations(&full).len() >= 3);
}

#[test]
fn shards_merged_equal_one_unsharded_run() {
    let daemon = Daemon::start();
    let names = ["svc-a", "svc-b", "svc-c", "svc-d", "svc-e", "svc-f"];
    let secrets = [stripe_key(), github_token(), slack_token(), stripe_key_2()];
    let urls: Vec<String> = names
        .iter()
        .enumerate()
        .map(|(i, n)| {
            let r = repo_with(&[(
                "settings.env",
                format!("SECRET={}\n", secrets[i % secrets.len()]),
            )]);
            daemon.publish(n, &r)
        })
        .collect();
    let work = tempfile::tempdir().unwrap();
    let list = write_list(work.path(), &urls);
    let list = list.to_str().unwrap();
    let cache = work.path().join("mirrors");
    let all = work.path().join("all.db");
    let (whole, _, _) = org(&all, &cache, &["--repos", list]);

    let mut shard_repos = Vec::new();
    for k in 0..3 {
        let db = work.path().join(format!("shard{k}.db"));
        let (doc, stderr, code) = org(
            &db,
            &cache,
            &["--repos", list, "--shard", &format!("{k}/3")],
        );
        assert!(code == 0 || code == 1, "{stderr}");
        shard_repos.push(doc["stats"]["repositories"].as_u64().unwrap());
    }
    assert_eq!(shard_repos.iter().sum::<u64>(), 6, "{shard_repos:?}");
    assert!(
        shard_repos.iter().filter(|n| **n > 0).count() >= 2,
        "{shard_repos:?}"
    );

    let merged = work.path().join("merged.db");
    let status = leakhound()
        .args(["merge", "-o"])
        .arg(&merged)
        .args((0..3).map(|k| work.path().join(format!("shard{k}.db"))))
        .output()
        .unwrap();
    assert!(
        status.status.success(),
        "{}",
        String::from_utf8_lossy(&status.stderr)
    );
    let merged_doc = report(&merged, &["--group"]);
    assert_eq!(locations(&merged_doc), locations(&whole));
    assert_eq!(merged_doc["stats"]["repositories"], 6);
    assert_eq!(
        merged_doc["findings"].as_array().unwrap().len(),
        whole["findings"].as_array().unwrap().len(),
        "a secret in two shards is one secret after the merge"
    );
    // Merging again adds nothing.
    let again = leakhound()
        .args(["merge", "-o"])
        .arg(&merged)
        .arg(work.path().join("shard0.db"))
        .output()
        .unwrap();
    let said = String::from_utf8_lossy(&again.stderr);
    assert!(
        said.contains("0 new repositories, 0 new blobs, 0 new locations"),
        "{said}"
    );
    assert_eq!(locations(&report(&merged, &["--group"])), locations(&whole));
}

/// The request targets a test server saw.
type Requests = Arc<Mutex<Vec<String>>>;

type Handler = dyn Fn(&Request) -> (u16, Vec<(String, String)>, String) + Send + Sync;

/// A REST mock on 127.0.0.1: `handler` answers each request; every request's target is
/// recorded.
fn mock_api(handler: Box<Handler>) -> (u16, Requests) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let seen = Arc::new(Mutex::new(Vec::new()));
    let log = Arc::clone(&seen);
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { break };
            stream
                .set_read_timeout(Some(Duration::from_secs(5)))
                .unwrap();
            let mut reader = BufReader::new(stream.try_clone().unwrap());
            let Some(request) = read_request(&mut reader) else {
                continue;
            };
            let (status, extra, body) = handler(&request);
            log.lock().unwrap().push(request.target);
            let mut head = format!(
                "HTTP/1.1 {status} X\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n",
                body.len()
            );
            for (k, v) in extra {
                head.push_str(&format!("{k}: {v}\r\n"));
            }
            head.push_str("\r\n");
            let _ = stream
                .write_all(head.as_bytes())
                .and_then(|()| stream.write_all(body.as_bytes()));
        }
    });
    (port, seen)
}

fn now_secs() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

#[test]
fn github_org_is_listed_across_pages_through_a_rate_limit_with_filters() {
    let daemon = Daemon::start();
    let one = daemon.publish_one("one", "k.py", format!("K = \"{}\"\n", stripe_key()));
    let two = daemon.publish_one("two", "t.env", format!("T={}\n", github_token()));
    let old = daemon.publish_one("old", "o.txt", "old\n".into());
    let fork = daemon.publish_one("fork", "f.txt", "fork\n".into());
    let entry = |name: &str, url: &str, archived: bool, fork: bool| {
        serde_json::json!({"full_name": format!("acme/{name}"), "clone_url": url,
            "archived": archived, "fork": fork, "private": true, "visibility": "private"})
    };
    let page1 = serde_json::json!([
        entry("one", &one, false, false),
        entry("two", &two, false, false)
    ])
    .to_string();
    let page2 = serde_json::json!([
        entry("old", &old, true, false),
        entry("fork", &fork, false, true)
    ])
    .to_string();
    let limited = Arc::new(Mutex::new(false));
    let (port, seen) = mock_api(Box::new(move |request| {
        if request.header("authorization") != Some("Bearer test-token-123") {
            return (401, vec![], r#"{"message":"Bad credentials"}"#.into());
        }
        match request.target.as_str() {
            "/orgs/acme/repos?per_page=100&type=all" => {
                let host = request.header("host").unwrap_or_default();
                let next = format!(
                    "<http://{host}/orgs/acme/repos?per_page=100&type=all&page=2>; rel=\"next\""
                );
                (200, vec![("Link".into(), next)], page1.clone())
            }
            "/orgs/acme/repos?per_page=100&type=all&page=2" => {
                let mut limited = limited.lock().unwrap();
                if !*limited {
                    *limited = true;
                    let reset = (now_secs() + 1).to_string();
                    return (
                        403,
                        vec![
                            ("X-RateLimit-Remaining".into(), "0".into()),
                            ("X-RateLimit-Reset".into(), reset),
                        ],
                        r#"{"message":"API rate limit exceeded"}"#.into(),
                    );
                }
                (200, vec![], page2.clone())
            }
            _ => (404, vec![], r#"{"message":"Not Found"}"#.into()),
        }
    }));
    let work = tempfile::tempdir().unwrap();
    let (store, cache) = (work.path().join("gh.db"), work.path().join("mirrors"));
    let api = format!("http://127.0.0.1:{port}");
    let out = leakhound()
        .env("TEST_GH_TOKEN", "test-token-123")
        .args([
            "org",
            "github:acme",
            "--api",
            &api,
            "--token-env",
            "TEST_GH_TOKEN",
        ])
        .args([
            "--exclude-forks",
            "--no-progress",
            "--format",
            "json",
            "--store",
        ])
        .arg(&store)
        .arg("--cache-dir")
        .arg(&cache)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    let doc: Value = serde_json::from_slice(&out.stdout).unwrap_or_else(|_| panic!("{stderr}"));
    crate::util::assert_report_schema(&doc);
    assert_eq!(doc["stats"]["repositories"], 3, "fork excluded; {stderr}");
    assert!(stderr.contains("rate limited"), "{stderr}");
    let repos = repositories(&doc);
    assert_eq!(repos, BTreeSet::from(["acme/one", "acme/two"]));
    let paths: Vec<String> = seen.lock().unwrap().clone();
    assert_eq!(
        paths,
        [
            "/orgs/acme/repos?per_page=100&type=all",
            "/orgs/acme/repos?per_page=100&type=all&page=2",
            "/orgs/acme/repos?per_page=100&type=all&page=2"
        ]
    );
    // The token never reaches the output or the store.
    assert!(!String::from_utf8_lossy(&out.stdout).contains("test-token-123"));
    let bytes = std::fs::read(&store).unwrap();
    assert!(!bytes.windows(14).any(|w| w == b"test-token-123"));

    // --exclude-archived drops `old` as well; a bad token is a clear error.
    let out = leakhound()
        .env("TEST_GH_TOKEN", "wrong")
        .args([
            "org",
            "github:acme",
            "--api",
            &api,
            "--token-env",
            "TEST_GH_TOKEN",
        ])
        .arg("--store")
        .arg(work.path().join("x.db"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("HTTP 401 (check the token)"));
}

#[test]
fn gitlab_group_is_listed_with_subgroups_pages_and_retry_after() {
    let daemon = Daemon::start();
    let svc = daemon.publish_one("svc", "k.py", format!("K = \"{}\"\n", stripe_key()));
    let arch = daemon.publish_one("arch", "a.py", format!("K = \"{}\"\n", stripe_key_2()));
    let project = |path: &str, url: &str, archived: bool| {
        serde_json::json!({"path_with_namespace": path, "http_url_to_repo": url,
            "archived": archived, "visibility": "internal", "forked_from_project": null})
    };
    let page1 = serde_json::json!([project("acme/platform/svc", &svc, false)]).to_string();
    let page2 = serde_json::json!([project("acme/platform/team/arch", &arch, true)]).to_string();
    let throttled = Arc::new(Mutex::new(false));
    let base = "/api/v4/groups/acme%2Fplatform/projects?include_subgroups=true&per_page=100&order_by=id&sort=asc";
    let (port, seen) = mock_api(Box::new(move |request| {
        let path = request.target.as_str();
        if request.header("private-token") != Some("gl-token") {
            return (401, vec![], "{}".into());
        }
        if path == base {
            return (200, vec![("X-Next-Page".into(), "2".into())], page1.clone());
        }
        if path == format!("{base}&page=2") {
            let mut t = throttled.lock().unwrap();
            if !*t {
                *t = true;
                return (429, vec![("Retry-After".into(), "1".into())], "{}".into());
            }
            return (
                200,
                vec![("X-Next-Page".into(), String::new())],
                page2.clone(),
            );
        }
        (404, vec![], "{}".into())
    }));
    let work = tempfile::tempdir().unwrap();
    let api = format!("http://127.0.0.1:{port}");
    let run = |extra: &[&str], db: &str| {
        let out = leakhound()
            .env("GL", "gl-token")
            .args([
                "org",
                "gitlab:acme/platform",
                "--api",
                &api,
                "--token-env",
                "GL",
            ])
            .args(["--no-progress", "--format", "json", "--store"])
            .arg(work.path().join(db))
            .arg("--cache-dir")
            .arg(work.path().join("mirrors"))
            .args(extra)
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
        let doc: Value = serde_json::from_slice(&out.stdout).unwrap_or_else(|_| panic!("{stderr}"));
        crate::util::assert_report_schema(&doc);
        (doc, stderr)
    };
    let (doc, stderr) = run(&[], "all.db");
    assert_eq!(doc["stats"]["repositories"], 2, "{stderr}");
    assert!(stderr.contains("waiting 1s"), "{stderr}");
    let repos = repositories(&doc);
    assert_eq!(
        repos,
        BTreeSet::from(["acme/platform/svc", "acme/platform/team/arch"])
    );
    assert_eq!(seen.lock().unwrap().len(), 3);

    let (doc, _) = run(
        &["--exclude-archived", "--visibility", "internal"],
        "live.db",
    );
    assert_eq!(doc["stats"]["repositories"], 1);
    let (doc, _) = run(&["--visibility", "public"], "public.db");
    assert_eq!(doc["stats"]["repositories"], 0);
}

#[test]
fn bad_arguments_and_unreachable_repositories_are_clear_errors() {
    let work = tempfile::tempdir().unwrap();
    let out = leakhound()
        .args(["org", "bitbucket:acme"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("expected github:OWNER"));
    let out = leakhound()
        .args(["org", "--repos", "x.txt", "--shard", "3/3"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("need 0 <= K < N"));
    let out = leakhound()
        .args(["report", "--store"])
        .arg(work.path().join("missing.db"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("no such store"));
    // A file that is not a store is refused, not merged or overwritten.
    let text = work.path().join("notes.txt");
    std::fs::write(&text, "not a database\n").unwrap();
    let out = leakhound()
        .args(["merge", "-o"])
        .arg(work.path().join("out.db"))
        .arg(&text)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("failed to merge"));
    assert_eq!(std::fs::read(&text).unwrap(), b"not a database\n");
    // A token variable that is not set is an error before anything is fetched.
    let out = leakhound()
        .env_remove("LEAKHOUND_TEST_UNSET")
        .args([
            "org",
            "--repos",
            "x.txt",
            "--token-env",
            "LEAKHOUND_TEST_UNSET",
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("not set or empty"));
    // A token is never sent in clear text to another machine (refused before connecting).
    let list = write_list(
        work.path(),
        &["http://git.example.invalid/acme/app.git".into()],
    );
    let (_, stderr, code) = {
        let mut cmd = leakhound();
        cmd.env("TOK", "secret-token-1");
        let out = cmd
            .args([
                "org",
                "--no-progress",
                "--format",
                "json",
                "--token-env",
                "TOK",
            ])
            .arg("--repos")
            .arg(&list)
            .arg("--store")
            .arg(work.path().join("h.db"))
            .arg("--cache-dir")
            .arg(work.path().join("hm"))
            .output()
            .unwrap();
        (
            (),
            String::from_utf8_lossy(&out.stderr).into_owned(),
            out.status.code(),
        )
    };
    assert_eq!(code, Some(2));
    assert!(
        stderr.contains("refusing to send the token in clear text"),
        "{stderr}"
    );

    // One repository that cannot be fetched does not stop the others; the exit code says the
    // result is incomplete.
    let daemon = Daemon::start();
    let ok = daemon.publish_one("ok", "k.py", format!("K = \"{}\"\n", stripe_key()));
    let list = write_list(work.path(), &[ok, daemon.url("missing")]);
    let (doc, stderr, code) = org(
        &work.path().join("e.db"),
        &work.path().join("m"),
        &["--repos", list.to_str().unwrap()],
    );
    assert_eq!(code, 2, "{stderr}");
    assert!(stderr.contains("missing"), "{stderr}");
    assert_eq!(doc["stats"]["repositories"], 2);
    assert_eq!(doc["findings"].as_array().unwrap().len(), 1);
}

/// Smart HTTP: `git http-backend` (git's own CGI program) behind a small HTTP/1.1 server on
/// 127.0.0.1 that demands Basic credentials `x-access-token:TOKEN`.
fn http_git_server(root: PathBuf, token: &'static str) -> (u16, Requests) {
    use base64::Engine as _;
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let seen: Requests = Arc::new(Mutex::new(Vec::new()));
    let log = Arc::clone(&seen);
    let expected = format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(format!("x-access-token:{token}"))
    );
    std::thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            let (root, log, expected) = (root.clone(), Arc::clone(&log), expected.clone());
            std::thread::spawn(move || cgi(stream, &root, &log, &expected));
        }
    });
    (port, seen)
}

fn cgi(mut stream: TcpStream, root: &Path, log: &Requests, expected_auth: &str) {
    use std::io::{BufRead, Read};
    let mut reader = BufReader::new(stream.try_clone().unwrap());
    let Some(request) = read_request(&mut reader) else {
        return;
    };
    let header = |name: &str| request.header(name).map(str::to_owned);
    let (path, query) = request
        .target
        .split_once('?')
        .unwrap_or((&request.target, ""));
    log.lock().unwrap().push(request.target.clone());
    if request.header("authorization") != Some(expected_auth) {
        let _ = stream.write_all(
            b"HTTP/1.1 401 Unauthorized\r\nWWW-Authenticate: Basic realm=\"git\"\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
        );
        return;
    }
    let mut body = Vec::new();
    if let Some(n) = header("content-length").and_then(|v| v.parse::<usize>().ok()) {
        body.resize(n, 0);
        reader.read_exact(&mut body).unwrap();
    } else if header("transfer-encoding").is_some_and(|v| v.eq_ignore_ascii_case("chunked")) {
        loop {
            let mut size = String::new();
            reader.read_line(&mut size).unwrap();
            let n = usize::from_str_radix(size.trim(), 16).unwrap_or(0);
            let mut chunk = vec![0; n + 2];
            reader.read_exact(&mut chunk).unwrap();
            if n == 0 {
                break;
            }
            body.extend_from_slice(&chunk[..n]);
        }
    }
    let mut cmd = Command::new("git");
    cmd.arg("http-backend")
        .env("GIT_CONFIG_GLOBAL", "/dev/null")
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env("GIT_PROJECT_ROOT", root)
        .env("GIT_HTTP_EXPORT_ALL", "1")
        .env("REQUEST_METHOD", &request.method)
        .env("PATH_INFO", path)
        .env("QUERY_STRING", query)
        .env("REMOTE_ADDR", "127.0.0.1")
        .env("CONTENT_LENGTH", body.len().to_string())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped());
    for (var, name) in [
        ("CONTENT_TYPE", "content-type"),
        ("HTTP_CONTENT_ENCODING", "content-encoding"),
        ("GIT_PROTOCOL", "git-protocol"),
    ] {
        if let Some(v) = header(name) {
            cmd.env(var, v);
        }
    }
    let mut child = cmd.spawn().unwrap();
    child.stdin.take().unwrap().write_all(&body).unwrap();
    let out = child.wait_with_output().unwrap().stdout;
    let split = out
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .map(|i| (i, i + 4))
        .or_else(|| {
            out.windows(2)
                .position(|w| w == b"\n\n")
                .map(|i| (i, i + 2))
        })
        .unwrap_or((0, 0));
    let cgi_head = String::from_utf8_lossy(&out[..split.0]).into_owned();
    let mut status = "200 OK".to_owned();
    let mut head = String::new();
    for line in cgi_head.lines() {
        match line.split_once(':') {
            Some((k, v)) if k.eq_ignore_ascii_case("status") => status = v.trim().to_owned(),
            Some(_) => head.push_str(&format!("{}\r\n", line.trim())),
            None => {}
        }
    }
    let payload = &out[split.1..];
    let _ = stream.write_all(
        format!(
            "HTTP/1.1 {status}\r\n{head}Content-Length: {}\r\nConnection: close\r\n\r\n",
            payload.len()
        )
        .as_bytes(),
    );
    let _ = stream.write_all(payload);
}

#[test]
fn mirrors_over_smart_http_with_a_token_that_never_reaches_the_disk() {
    let root = tempfile::tempdir().unwrap();
    let repo = repo_with(&[("svc/app.env", format!("STRIPE={}\n", stripe_key()))]);
    let bare = root.path().join("acme/app.git");
    std::fs::create_dir_all(&bare).unwrap();
    git_command(root.path())
        .args(["init", "-q", "--bare"])
        .arg(&bare)
        .status()
        .unwrap();
    repo.git(&["push", "-q", "--mirror", bare.to_str().unwrap()]);
    let token = "http-token-4711";
    let (port, seen) = http_git_server(root.path().to_owned(), token);
    let url = format!("http://127.0.0.1:{port}/acme/app.git");
    let (work, list, store, cache) = workspace(&[url]);
    let mut cmd = leakhound();
    cmd.env("ORG_TOKEN", token);
    let run = |cmd: &mut assert_cmd::Command| {
        cmd.args([
            "org",
            "--no-progress",
            "--format",
            "json",
            "--token-env",
            "ORG_TOKEN",
        ])
        .arg("--repos")
        .arg(&list)
        .arg("--store")
        .arg(&store)
        .arg("--cache-dir")
        .arg(&cache)
        .output()
        .unwrap()
    };
    let out = run(&mut cmd);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    let doc: Value = crate::util::json(&out.stdout);
    assert_eq!(repositories(&doc), BTreeSet::from(["acme/app"]));
    let requests = seen.lock().unwrap().clone();
    assert!(
        requests.iter().any(|p| p.contains("git-upload-pack")),
        "{requests:?}"
    );
    // Nothing under the work directory (store, mirror config) holds the token.
    for entry in walk(work.path()) {
        let bytes = std::fs::read(&entry).unwrap();
        assert!(
            !bytes.windows(token.len()).any(|w| w == token.as_bytes()),
            "{} holds the token",
            entry.display()
        );
    }
    // Without the token the server refuses, and the repository is reported as failed.
    let out = run(&mut leakhound());
    assert_eq!(out.status.code(), Some(2));
}

fn walk(dir: &Path) -> Vec<PathBuf> {
    let mut files = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap().flatten() {
        let p = entry.path();
        if p.is_dir() {
            files.extend(walk(&p));
        } else {
            files.push(p);
        }
    }
    files
}

#[test]
fn path_scoped_rules_and_rule_changes_decide_what_is_scanned_again() {
    let daemon = Daemon::start();
    let content = format!("API_KEY={}\n", stripe_key());
    // The same blob: a plain file in one repository, a committed .env file in the other.
    let notes = daemon.publish_one("notes", "notes.txt", content.clone());
    let env = daemon.publish_one("env", "prod.env", content);
    let (work, list, store, cache) = workspace(&[notes, env]);
    let args = ["--repos", list.to_str().unwrap(), "--jobs", "1"];
    let (doc, stderr, _) = org(&store, &cache, &args);
    let dotenv: Vec<&Value> = doc["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|s| s["rule_id"] == "file.dotenv")
        .collect();
    assert_eq!(dotenv.len(), 1, "{stderr}");
    let places: Vec<(&str, &str)> = dotenv[0]["locations"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| {
            (
                l["repository"].as_str().unwrap(),
                l["path"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        places,
        [("env", "prod.env")],
        "the .env rule applies only there"
    );
    let repos: BTreeSet<String> = locations(&doc).into_iter().map(|l| l.1).collect();
    assert_eq!(
        repos,
        BTreeSet::from(["env".to_owned(), "notes".to_owned()])
    );

    // Another rule set rescans every blob, so new rules reach old history.
    let rules = work.path().join("extra.yml");
    std::fs::write(
        &rules,
        "provider: Internal\nremediation: { revoke: r, rotate: r }\nrules:\n  - id: internal.marker\n    name: Internal marker\n    severity: low\n    keywords: [service]\n    pattern: '# (service)'\n    examples: ['# service']\n",
    )
    .unwrap();
    let mut with_rules = args.to_vec();
    with_rules.extend(["--rules", rules.to_str().unwrap()]);
    let (again, stderr, _) = org(&store, &cache, &with_rules);
    assert_eq!(again["stats"]["new_blobs"], 3, "{stderr}");
    assert!(
        again["findings"]
            .as_array()
            .unwrap()
            .iter()
            .any(|s| s["rule_id"] == "internal.marker"),
        "{stderr}"
    );
}
