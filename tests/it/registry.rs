//! `leakhound image` against a real registry: Debian's `docker-registry` (the CNCF distribution
//! registry) started on 127.0.0.1 at a free port with its own configuration; a test image is
//! pushed through the registry's HTTP API and pulled back by tag and by digest, anonymously and
//! with basic auth (htpasswd). If the registry or htpasswd is missing, the test installs them
//! with apt-get (`.ci/run` does so up front), and fails if it cannot.

use std::{
    io::Write,
    net::TcpListener,
    path::{Path, PathBuf},
    process::{Child, Command, Stdio},
    time::{Duration, Instant},
};

use base64::Engine as _;
use serde_json::json;
use sha2::{Digest, Sha256};

use crate::util::{findings, json, leakhound, slack_token, stripe_key};

fn ensure_installed() {
    let have = |bin: &str| Path::new(bin).exists();
    if have("/usr/bin/docker-registry") && have("/usr/bin/htpasswd") {
        return;
    }
    let status = Command::new("apt-get")
        .args(["install", "-y", "-qq", "docker-registry", "apache2-utils"])
        .stdout(Stdio::null())
        .status()
        .expect("apt-get runs");
    assert!(
        status.success() && have("/usr/bin/docker-registry"),
        "docker-registry could not be installed"
    );
}

/// A registry process, stopped on drop.
struct Registry {
    child: Child,
    port: u16,
    _dir: tempfile::TempDir,
}

impl Drop for Registry {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn start(htpasswd: Option<&str>) -> Registry {
    ensure_installed();
    let dir = tempfile::tempdir().unwrap();
    let port = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let mut config = format!(
        "version: 0.1\nlog:\n  level: error\nstorage:\n  filesystem:\n    rootdirectory: {}\nhttp:\n  addr: 127.0.0.1:{port}\n",
        dir.path().join("data").display()
    );
    if let Some(line) = htpasswd {
        let file = dir.path().join("htpasswd");
        std::fs::write(&file, line).unwrap();
        config.push_str(&format!(
            "auth:\n  htpasswd:\n    realm: leakhound-test\n    path: {}\n",
            file.display()
        ));
    }
    let cfg: PathBuf = dir.path().join("config.yml");
    std::fs::write(&cfg, config).unwrap();
    let child = Command::new("/usr/bin/docker-registry")
        .arg("serve")
        .arg(&cfg)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let registry = Registry {
        child,
        port,
        _dir: dir,
    };
    let deadline = Instant::now() + Duration::from_secs(15);
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(Instant::now() < deadline, "the registry did not start");
        std::thread::sleep(Duration::from_millis(50));
    }
    registry
}

fn agent() -> ureq::Agent {
    ureq::Agent::config_builder()
        .http_status_as_error(false)
        .build()
        .into()
}

/// Pushes a blob with a monolithic upload.
fn push_blob(base: &str, auth: Option<&str>, data: &[u8]) -> String {
    let digest = format!("sha256:{:x}", Sha256::digest(data));
    let a = agent();
    let mut req = a.post(format!("{base}/blobs/uploads/"));
    if let Some(h) = auth {
        req = req.header("Authorization", h);
    }
    let resp = req.send_empty().unwrap();
    assert_eq!(resp.status().as_u16(), 202, "upload start");
    let location = resp
        .headers()
        .get("location")
        .unwrap()
        .to_str()
        .unwrap()
        .to_owned();
    let url = if location.starts_with("http") {
        location
    } else {
        format!("{}{location}", &base[..base.find("/v2/").unwrap()])
    };
    let sep = if url.contains('?') { '&' } else { '?' };
    let mut put = a
        .put(format!("{url}{sep}digest={digest}"))
        .header("Content-Type", "application/octet-stream");
    if let Some(h) = auth {
        put = put.header("Authorization", h);
    }
    let resp = put.send(data).unwrap();
    assert_eq!(resp.status().as_u16(), 201, "blob upload");
    digest
}

/// Pushes a two-layer image (a secret file whited out by layer 2, a secret in Env); returns the
/// manifest digest.
fn push_image(port: u16, auth: Option<&str>) -> String {
    let base = format!("http://127.0.0.1:{port}/v2/team/app");
    let layer = |path: &str, data: &[u8]| -> Vec<u8> {
        let mut b = tar::Builder::new(Vec::new());
        let mut h = tar::Header::new_gnu();
        h.set_size(data.len() as u64);
        h.set_mode(0o644);
        b.append_data(&mut h, path, data).unwrap();
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        gz.write_all(&b.into_inner().unwrap()).unwrap();
        gz.finish().unwrap()
    };
    let l0 = layer(
        "app/.env",
        format!("STRIPE_KEY={}\n", stripe_key()).as_bytes(),
    );
    let l1 = layer("app/.wh..env", b"");
    let config = serde_json::to_vec(&json!({
        "architecture": "amd64", "os": "linux",
        "config": {"Env": [format!("SLACK_TOKEN={}", slack_token())]},
        "rootfs": {"type": "layers", "diff_ids": []},
        "history": [{"created_by": "COPY .env /app/"}, {"created_by": "RUN rm /app/.env"}],
    }))
    .unwrap();
    let d0 = push_blob(&base, auth, &l0);
    let d1 = push_blob(&base, auth, &l1);
    let dc = push_blob(&base, auth, &config);
    let manifest = serde_json::to_vec(&json!({
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": dc, "size": config.len()},
        "layers": [
            {"mediaType": "application/vnd.oci.image.layer.v1.tar+gzip", "digest": d0, "size": l0.len()},
            {"mediaType": "application/vnd.oci.image.layer.v1.tar+gzip", "digest": d1, "size": l1.len()},
        ],
    }))
    .unwrap();
    let a = agent();
    let mut put = a
        .put(format!("{base}/manifests/1.4"))
        .header("Content-Type", "application/vnd.oci.image.manifest.v1+json");
    if let Some(h) = auth {
        put = put.header("Authorization", h);
    }
    let resp = put.send(&manifest[..]).unwrap();
    assert_eq!(resp.status().as_u16(), 201, "manifest upload");
    format!("sha256:{:x}", Sha256::digest(&manifest))
}

fn check_findings(doc: &serde_json::Value, image: &str) {
    let f = findings(doc);
    let file = f
        .iter()
        .find(|x| x["path"] == "app/.env")
        .unwrap_or_else(|| panic!("{f:#?}"));
    assert_eq!(file["deleted_in_final_image"], true);
    assert_eq!(file["layer_index"], 0);
    assert_eq!(file["created_by"], "COPY .env /app/");
    assert_eq!(file["image"], image);
    assert!(f.iter().any(|x| {
        x["path"]
            .as_str()
            .unwrap()
            .starts_with("[image config] Env")
    }));
}

/// Asserts that a scan ran and found something (exit 1), showing its stderr if not.
fn assert_found(out: &std::process::Output) {
    assert_eq!(
        out.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn pulls_by_tag_and_digest_from_a_real_registry() {
    let reg = start(None);
    let digest = push_image(reg.port, None);
    let image = format!("127.0.0.1:{}/team/app:1.4", reg.port);
    let out = leakhound()
        .args(["image", &image, "--format", "json"])
        .output()
        .unwrap();
    assert_found(&out);
    check_findings(&json(&out.stdout), &image);
    let by_digest = format!("127.0.0.1:{}/team/app@{digest}", reg.port);
    let out = leakhound()
        .args(["image", &by_digest, "--format", "json"])
        .output()
        .unwrap();
    assert_found(&out);
    // a missing tag is a clear error
    let out = leakhound()
        .args(["image", &format!("127.0.0.1:{}/team/app:9.9", reg.port)])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("404"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn basic_auth_with_password_stdin_and_docker_config() {
    let out = Command::new("/usr/bin/htpasswd")
        .args(["-Bbn", "ci", "s3cret-pw"])
        .output();
    ensure_installed();
    let line = String::from_utf8(
        out.unwrap_or_else(|_| {
            Command::new("/usr/bin/htpasswd")
                .args(["-Bbn", "ci", "s3cret-pw"])
                .output()
                .unwrap()
        })
        .stdout,
    )
    .unwrap();
    let reg = start(Some(line.trim()));
    let basic = format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode("ci:s3cret-pw")
    );
    push_image(reg.port, Some(&basic));
    let image = format!("127.0.0.1:{}/team/app:1.4", reg.port);
    let empty = tempfile::tempdir().unwrap();
    // anonymous: refused, clearly
    let out = leakhound()
        .env("DOCKER_CONFIG", empty.path())
        .args(["image", &image])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("credentials"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // --username with --password-stdin
    let out = leakhound()
        .env("DOCKER_CONFIG", empty.path())
        .args([
            "image",
            &image,
            "--format",
            "json",
            "--username",
            "ci",
            "--password-stdin",
        ])
        .write_stdin("s3cret-pw\n")
        .output()
        .unwrap();
    assert_found(&out);
    check_findings(&json(&out.stdout), &image);
    // auths in the Docker config file
    let cfg = tempfile::tempdir().unwrap();
    let auth = base64::engine::general_purpose::STANDARD.encode("ci:s3cret-pw");
    std::fs::write(
        cfg.path().join("config.json"),
        json!({"auths": {format!("127.0.0.1:{}", reg.port): {"auth": auth}}}).to_string(),
    )
    .unwrap();
    let out = leakhound()
        .env("DOCKER_CONFIG", cfg.path())
        .args(["image", &image, "--format", "json"])
        .output()
        .unwrap();
    assert_found(&out);
}

#[test]
fn platform_is_picked_from_a_multi_platform_index() {
    let reg = start(None);
    let base = format!("http://127.0.0.1:{}/v2/team/multi", reg.port);
    let a = agent();
    let manifest_for = |arch: &str, file: &str, content: String| -> (String, usize) {
        let mut b = tar::Builder::new(Vec::new());
        let mut h = tar::Header::new_gnu();
        h.set_size(content.len() as u64);
        h.set_mode(0o644);
        b.append_data(&mut h, file, content.as_bytes()).unwrap();
        let layer = b.into_inner().unwrap();
        let config = serde_json::to_vec(&json!({"architecture": arch, "os": "linux", "config": {}, "history": [{"created_by": format!("ADD {file}")}]})).unwrap();
        let dl = push_blob(&base, None, &layer);
        let dc = push_blob(&base, None, &config);
        let m = serde_json::to_vec(&json!({
            "schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
            "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": dc, "size": config.len()},
            "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar", "digest": dl, "size": layer.len()}],
        }))
        .unwrap();
        let digest = format!("sha256:{:x}", Sha256::digest(&m));
        let resp = a
            .put(format!("{base}/manifests/{digest}"))
            .header("Content-Type", "application/vnd.oci.image.manifest.v1+json")
            .send(&m[..])
            .unwrap();
        assert_eq!(resp.status().as_u16(), 201);
        (digest, m.len())
    };
    let (amd, amd_len) = manifest_for("amd64", "amd.env", format!("K={}\n", stripe_key()));
    let (arm, arm_len) = manifest_for("arm64", "arm.env", format!("T={}\n", slack_token()));
    let index = serde_json::to_vec(&json!({
        "schemaVersion": 2, "mediaType": "application/vnd.oci.image.index.v1+json",
        "manifests": [
            {"mediaType": "application/vnd.oci.image.manifest.v1+json", "digest": amd, "size": amd_len, "platform": {"os": "linux", "architecture": "amd64"}},
            {"mediaType": "application/vnd.oci.image.manifest.v1+json", "digest": arm, "size": arm_len, "platform": {"os": "linux", "architecture": "arm64"}},
        ],
    }))
    .unwrap();
    let resp = a
        .put(format!("{base}/manifests/2.0"))
        .header("Content-Type", "application/vnd.oci.image.index.v1+json")
        .send(&index[..])
        .unwrap();
    assert_eq!(resp.status().as_u16(), 201);
    let image = format!("127.0.0.1:{}/team/multi:2.0", reg.port);
    let paths = |extra: &[&str]| -> Vec<String> {
        let out = leakhound()
            .args(["image", &image, "--format", "json"])
            .args(extra)
            .output()
            .unwrap();
        assert_found(&out);
        findings(&json(&out.stdout))
            .iter()
            .map(|f| f["path"].as_str().unwrap().to_owned())
            .collect()
    };
    assert_eq!(
        paths(&[]),
        vec!["amd.env".to_owned()],
        "linux/amd64 by default"
    );
    assert_eq!(
        paths(&["--platform", "linux/arm64"]),
        vec!["arm.env".to_owned()]
    );
    let out = leakhound()
        .args(["image", &image, "--platform", "linux/s390x"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("no manifest for linux/s390x"));
}

/// A minimal registry on 127.0.0.1 that demands a bearer token from its own token endpoint
/// (the Docker Hub / GHCR flow), serving one image. Each connection answers one request.
fn bearer_mock(
    blobs: std::collections::HashMap<String, (String, Vec<u8>)>,
) -> (u16, std::thread::JoinHandle<Vec<String>>) {
    use std::io::Write as _;
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let handle = std::thread::spawn(move || {
        let mut seen = Vec::new();
        listener.set_nonblocking(false).unwrap();
        for stream in listener.incoming().take(12) {
            let Ok(mut stream) = stream else { break };
            stream
                .set_read_timeout(Some(Duration::from_secs(5)))
                .unwrap();
            let mut reader = std::io::BufReader::new(stream.try_clone().unwrap());
            let Some(request) = crate::util::read_request(&mut reader) else {
                continue;
            };
            let path = request.target.clone();
            let auth = request
                .header("authorization")
                .unwrap_or_default()
                .to_owned();
            seen.push(format!("{path} [{auth}]"));
            let (status, ctype, body, extra): (&str, String, Vec<u8>, String) = if path
                .starts_with("/token?")
            {
                let ok = path.contains("service=mock")
                    && path.contains("scope=repository%3Ateam%2Fapp%3Apull");
                if ok {
                    (
                        "200 OK",
                        "application/json".into(),
                        br#"{"token":"tok-123"}"#.to_vec(),
                        String::new(),
                    )
                } else {
                    (
                        "400 Bad Request",
                        "text/plain".into(),
                        b"bad".to_vec(),
                        String::new(),
                    )
                }
            } else if auth != "Bearer tok-123" {
                let challenge = format!(
                    "WWW-Authenticate: Bearer realm=\"http://127.0.0.1:{port}/token\",service=\"mock\",scope=\"repository:team/app:pull\"\r\n"
                );
                (
                    "401 Unauthorized",
                    "application/json".into(),
                    b"{}".to_vec(),
                    challenge,
                )
            } else if let Some((ctype, data)) = blobs.get(&path) {
                ("200 OK", ctype.clone(), data.clone(), String::new())
            } else {
                (
                    "404 Not Found",
                    "application/json".into(),
                    b"{}".to_vec(),
                    String::new(),
                )
            };
            let head = format!(
                "HTTP/1.1 {status}\r\nContent-Type: {ctype}\r\nContent-Length: {}\r\nConnection: close\r\n{extra}\r\n",
                body.len()
            );
            let _ = stream
                .write_all(head.as_bytes())
                .and_then(|()| stream.write_all(&body));
        }
        seen
    });
    (port, handle)
}

#[test]
fn bearer_token_challenge_flow() {
    let layer = {
        let mut b = tar::Builder::new(Vec::new());
        let content = format!("K={}\n", stripe_key());
        let mut h = tar::Header::new_gnu();
        h.set_size(content.len() as u64);
        h.set_mode(0o644);
        b.append_data(&mut h, "srv/k.env", content.as_bytes())
            .unwrap();
        b.into_inner().unwrap()
    };
    let config = serde_json::to_vec(&json!({"architecture": "amd64", "os": "linux", "config": {}, "history": [{"created_by": "ADD k.env"}]})).unwrap();
    let d = |b: &[u8]| format!("sha256:{:x}", Sha256::digest(b));
    let manifest = serde_json::to_vec(&json!({
        "schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": d(&config), "size": config.len()},
        "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar", "digest": d(&layer), "size": layer.len()}],
    }))
    .unwrap();
    let mut blobs = std::collections::HashMap::new();
    blobs.insert(
        "/v2/team/app/manifests/1".to_owned(),
        (
            "application/vnd.oci.image.manifest.v1+json".to_owned(),
            manifest.clone(),
        ),
    );
    blobs.insert(
        format!("/v2/team/app/blobs/{}", d(&config)),
        ("application/octet-stream".to_owned(), config.clone()),
    );
    blobs.insert(
        format!("/v2/team/app/blobs/{}", d(&layer)),
        ("application/octet-stream".to_owned(), layer.clone()),
    );
    let (port, server) = bearer_mock(blobs);
    let out = leakhound()
        .args([
            "image",
            &format!("127.0.0.1:{port}/team/app:1"),
            "--format",
            "json",
        ])
        .output()
        .unwrap();
    assert_found(&out);
    assert_eq!(findings(&json(&out.stdout))[0]["path"], "srv/k.env");
    // stop the mock: it serves a bounded number of connections
    for _ in 0..12 {
        let _ = std::net::TcpStream::connect(("127.0.0.1", port));
    }
    let seen = server.join().unwrap();
    assert!(seen.iter().any(|r| r.starts_with("/token?")), "{seen:#?}");
    assert!(
        seen.iter()
            .any(|r| r.contains("/blobs/") && r.ends_with("[Bearer tok-123]")),
        "{seen:#?}"
    );
}

#[test]
fn a_registry_error_status_is_a_clear_error() {
    use std::io::Read;
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let server = std::thread::spawn(move || {
        // answer every request of the scan with 500, then stop
        for stream in listener.incoming().take(1) {
            let mut stream = stream.unwrap();
            let mut buf = [0u8; 4096];
            let _ = stream.read(&mut buf);
            let _ = stream.write_all(b"HTTP/1.1 500 Internal Server Error\r\nContent-Length: 0\r\nConnection: close\r\n\r\n");
        }
    });
    let out = leakhound()
        .args(["image", &format!("127.0.0.1:{port}/team/app:1")])
        .output()
        .unwrap();
    server.join().unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("the registry answered 500"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}
