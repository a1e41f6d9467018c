//! A generated evaluation corpus: hundreds of files in many languages and config formats, with
//! planted credentials of many kinds and hard negatives, scanned by the real binary. Recall and
//! precision are counted per secret line (a finding counts once per line), as the issue's
//! hidden corpus does. The corpus is generated here from the providers' documented formats with
//! random bodies (a fixed seed), not copied from the rules' examples.
//!
//! Run `cargo test --test it corpus -- --nocapture` to see the figures and every miss.

use std::{
    collections::{BTreeMap, BTreeSet},
    fmt::Write as _,
    fs,
    path::Path,
};

use base64::Engine as _;

use crate::util::{findings, json, leakhound};

/// splitmix64: a small deterministic generator, so the corpus is the same on every run.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
    fn from(&mut self, alphabet: &str, n: usize) -> String {
        let a = alphabet.as_bytes();
        (0..n).map(|_| a[self.below(a.len())] as char).collect()
    }
    fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len())]
    }
}

const ALNUM: &str = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
const LOWER_HEX: &str = "0123456789abcdef";
const UPPER_B32: &str = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
const B64: &str = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789+/";
const B64URL: &str = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_";
const DIGITS: &str = "0123456789";

fn base62_checksum(body: &str) -> String {
    const B62: &[u8] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
    let mut n = crc32fast::hash(body.as_bytes());
    let mut out = [b'0'; 6];
    for d in out.iter_mut().rev() {
        *d = B62[(n % 62) as usize];
        n /= 62;
    }
    String::from_utf8(out.to_vec()).unwrap()
}

/// A credential value of one kind, and the variable name it is usually assigned to.
fn credential(kind: usize, r: &mut Rng) -> (String, &'static str) {
    let b64url = |s: &str| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(s);
    match kind {
        0 => (
            format!("AKIA{}", r.from(UPPER_B32, 16)),
            "AWS_ACCESS_KEY_ID",
        ),
        1 => (r.from(B64, 40), "AWS_SECRET_ACCESS_KEY"),
        2..=4 => {
            let prefix = ["ghp_", "gho_", "ghs_"][kind - 2];
            let body = r.from(ALNUM, 30);
            (
                format!("{prefix}{body}{}", base62_checksum(&body)),
                "GITHUB_TOKEN",
            )
        }
        5 => (
            format!("github_pat_{}_{}", r.from(ALNUM, 22), r.from(ALNUM, 59)),
            "GH_PAT",
        ),
        6 => (format!("glpat-{}", r.from(ALNUM, 20)), "GITLAB_TOKEN"),
        7 => (
            format!(
                "xoxb-{}-{}-{}",
                r.from(DIGITS, 12),
                r.from(DIGITS, 13),
                r.from(ALNUM, 24)
            ),
            "SLACK_BOT_TOKEN",
        ),
        8 => (
            format!(
                "https://hooks.slack.com/services/T{}/B{}/{}",
                r.from(UPPER_B32, 10),
                r.from(UPPER_B32, 10),
                r.from(ALNUM, 24)
            ),
            "SLACK_WEBHOOK_URL",
        ),
        9 => (
            format!("sk_live_{}", r.from(ALNUM, 24)),
            "STRIPE_SECRET_KEY",
        ),
        10 => (
            format!("rk_live_{}", r.from(ALNUM, 24)),
            "STRIPE_RESTRICTED_KEY",
        ),
        11 => (
            format!("whsec_{}", r.from(ALNUM, 32)),
            "STRIPE_WEBHOOK_SECRET",
        ),
        12 => (
            format!("AIza{}", r.from(&format!("{ALNUM}-_"), 35)),
            "GOOGLE_API_KEY",
        ),
        13 => (
            format!("GOCSPX-{}", r.from(&format!("{ALNUM}-_"), 28)),
            "GOOGLE_CLIENT_SECRET",
        ),
        14 => (
            format!(
                "sk-proj-{}T3BlbkFJ{}",
                r.from(B64URL, 74),
                r.from(B64URL, 74)
            ),
            "OPENAI_API_KEY",
        ),
        15 => (
            format!("sk-ant-api03-{}AA", r.from(B64URL, 93)),
            "ANTHROPIC_API_KEY",
        ),
        16 => {
            let body = r.from(ALNUM, 30);
            (format!("npm_{body}{}", base62_checksum(&body)), "NPM_TOKEN")
        }
        17 => (
            format!("pypi-AgEIcHlwaS5vcmc{}", r.from(B64URL, 70)),
            "PYPI_TOKEN",
        ),
        18 => (
            format!(
                "SG.{}.{}",
                r.from(&format!("{ALNUM}-_"), 22),
                r.from(&format!("{ALNUM}-_"), 43)
            ),
            "SENDGRID_API_KEY",
        ),
        19 => (
            format!("shpat_{}", r.from(LOWER_HEX, 32)),
            "SHOPIFY_ACCESS_TOKEN",
        ),
        20 => (
            format!("dop_v1_{}", r.from(LOWER_HEX, 64)),
            "DIGITALOCEAN_TOKEN",
        ),
        21 => (
            format!("hvs.{}", r.from(&format!("{ALNUM}_-"), 90)),
            "VAULT_TOKEN",
        ),
        22 => (
            format!(
                "{}.atlasv1.{}",
                r.from(ALNUM, 14),
                r.from(&format!("{ALNUM}_-"), 67)
            ),
            "TFC_TOKEN",
        ),
        23 => (format!("dp.pt.{}", r.from(ALNUM, 43)), "DOPPLER_TOKEN"),
        24 => (format!("dapi{}", r.from(LOWER_HEX, 32)), "DATABRICKS_TOKEN"),
        25 => (format!("hf_{}", r.from(ALNUM, 34)), "HF_TOKEN"),
        26 => (
            format!(
                "https://discord.com/api/webhooks/{}/{}",
                r.from(DIGITS, 18),
                r.from(&format!("{ALNUM}-_"), 68)
            ),
            "DISCORD_WEBHOOK",
        ),
        27 => (
            format!("postgres://app:{}@db.internal:5432/app", r.from(ALNUM, 16)),
            "DATABASE_URL",
        ),
        28 => (
            format!("mysql://svc:{}@mysql.internal:3306/shop", r.from(ALNUM, 14)),
            "MYSQL_URL",
        ),
        29 => (
            format!(
                "mongodb+srv://admin:{}@cluster0.ab1cd.mongodb.net/prod",
                r.from(ALNUM, 18)
            ),
            "MONGO_URI",
        ),
        30 => (
            format!(
                "redis://default:{}@cache.internal:6379/0",
                r.from(ALNUM, 20)
            ),
            "REDIS_URL",
        ),
        31 => (
            format!("amqp://worker:{}@mq.internal:5672/vhost", r.from(ALNUM, 15)),
            "AMQP_URL",
        ),
        32 => (
            format!(
                "https://deploy:{}@artifacts.internal/repo",
                r.from(ALNUM, 18)
            ),
            "ARTIFACT_URL",
        ),
        33 => {
            let exp = 4_102_444_800u64; // 2100-01-01
            let header = b64url(r#"{"alg":"HS256","typ":"JWT"}"#);
            let payload = b64url(&format!(
                r#"{{"sub":"{}","role":"service","exp":{exp}}}"#,
                r.from(DIGITS, 8)
            ));
            (
                format!("{header}.{payload}.{}", r.from(B64URL, 43)),
                "SERVICE_JWT",
            )
        }
        34 => (
            format!(
                "{}!{}#{}",
                r.from(ALNUM, 5),
                r.from(ALNUM, 4),
                r.from(ALNUM, 5)
            ),
            "DB_PASSWORD",
        ),
        35 => (r.from(ALNUM, 32), "PAYMENTS_API_KEY"),
        36 => (
            format!("{}{}", r.from(ALNUM, 86), "=="),
            "AZURE_STORAGE_KEY",
        ),
        37 => (
            format!(
                "{}{}",
                r.from(DIGITS, 10),
                format_args!(":AA{}", r.from(&format!("{ALNUM}_-"), 33))
            ),
            "TELEGRAM_BOT_TOKEN",
        ),
        38 => (
            format!(
                "xoxp-{}-{}-{}-{}",
                r.from(DIGITS, 12),
                r.from(DIGITS, 12),
                r.from(DIGITS, 13),
                r.from(LOWER_HEX, 32)
            ),
            "SLACK_USER_TOKEN",
        ),
        _ => unreachable!(),
    }
}

const KINDS: usize = 39;

/// A line that plants `value` in the style of a file format.
fn plant(format: &str, var: &str, value: &str, r: &mut Rng) -> String {
    let lower = var.to_ascii_lowercase();
    match format {
        "env" => format!("{var}={value}"),
        "sh" => format!("export {var}=\"{value}\""),
        "yml" => format!("  {lower}: \"{value}\""),
        "json" => format!("  \"{lower}\": \"{value}\","),
        "py" => format!("{var} = \"{value}\""),
        "js" => format!("const {} = '{value}';", lower.replace('_', "")),
        "go" => format!("\t{} = \"{value}\"", lower.replace('_', "")),
        "java" => format!("    private static final String {var} = \"{value}\";"),
        "properties" => format!("{}={value}", lower.replace('_', ".")),
        "toml" => format!("{lower} = \"{value}\""),
        "tf" => format!("  {lower} = \"{value}\""),
        "xml" => format!("    <add key=\"{var}\" value=\"{value}\" />"),
        "ipynb" => format!("    \"{var} = '{value}'\\n\","),
        "rb" => format!("ENV['{var}'] ||= '{value}'"),
        _ => format!("{} {var}: {value}", r.pick(&["#", "//"])),
    }
}

/// Hard negatives: lines a scanner must not report.
fn negative(r: &mut Rng) -> String {
    let sha = r.from(LOWER_HEX, 40);
    let uuid = format!(
        "{}-{}-{}-{}-{}",
        r.from(LOWER_HEX, 8),
        r.from(LOWER_HEX, 4),
        r.from(LOWER_HEX, 4),
        r.from(LOWER_HEX, 4),
        r.from(LOWER_HEX, 12)
    );
    let body = r.from(ALNUM, 30);
    let options = [
        "AWS_ACCESS_KEY_ID=AKIAIOSFODNN7EXAMPLE".to_owned(),
        "aws_secret_access_key = wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY".to_owned(),
        "GITHUB_TOKEN: ${{ secrets.GITHUB_TOKEN }}".to_owned(),
        "api_key = \"YOUR_API_KEY\"".to_owned(),
        "token: <token>".to_owned(),
        "password: changeme".to_owned(),
        "password = \"password\"".to_owned(),
        "DB_PASSWORD=${DB_PASSWORD}".to_owned(),
        "  password: {{ .Values.db.password }}".to_owned(),
        "dsn = \"postgres://%(user)s:%(password)s@%(host)s/db\"".to_owned(),
        "api_key = os.environ[\"API_KEY\"]".to_owned(),
        "const stripeKey = process.env.STRIPE_SECRET_KEY;".to_owned(),
        "token = request.headers.get(\"Authorization\")".to_owned(),
        "password = get_password_from_vault(name)".to_owned(),
        "secret_key = settings.SECRET_KEY".to_owned(),
        format!("commit {sha}"),
        format!("  \"id\": \"{uuid}\","),
        format!("  \"integrity\": \"sha512-{}==\",", r.from(B64, 86)),
        format!("\"sha\": \"{sha}\","),
        format!("<script src=\"/app.js\" integrity=\"sha384-{}\" crossorigin=\"anonymous\"></script>", r.from(B64, 64)),
        format!("checksum = \"{}\"", r.from(LOWER_HEX, 64)),
        format!("github.com/pkg/errors v0.9.1 h1:{}=", r.from(B64, 43)),
        format!("background-image: url(data:image/png;base64,iVBORw0KGgoAAAANSUhEUgAA{});", r.from(B64, 120)),
        format!("ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAI{} deploy@ci", r.from(B64, 43)),
        format!("  color: #{}; border-color: #{};", r.from(LOWER_HEX, 6), r.from(LOWER_HEX, 6)),
        format!(".a-{}{{display:flex}}.b-{}{{margin:0}}", r.from(ALNUM, 6), r.from(ALNUM, 6)),
        "expected = \"e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855\"  # sha256 of empty input".to_owned(),
        format!("GITHUB_TOKEN=ghp_{body}000000"),
        "password_field = \"user_password\"".to_owned(),
        "const tokenKey = 'authTokenStorageKey';".to_owned(),
        "Set STRIPE_SECRET_KEY to your live key (it starts with sk_live_).".to_owned(),
        "api_key = \"xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx\"".to_owned(),
        format!("request_id: {uuid}"),
        "-----BEGIN RSA PRIVATE KEY-----\\nMIIEpAIBAAKCAQEA...\\n-----END RSA PRIVATE KEY-----".to_owned(),
    ];
    r.pick(&options).clone()
}

/// Ordinary lines of code and config.
fn filler(format: &str, i: usize, r: &mut Rng) -> String {
    let n = r.below(1000);
    match format {
        "env" | "sh" => format!(
            "{}SERVICE_{i}_TIMEOUT={n}",
            if format == "sh" { "export " } else { "" }
        ),
        "yml" => format!("  replicas_{i}: {n}"),
        "json" => format!("  \"retries_{i}\": {n},"),
        "py" => format!("def handler_{i}(event):\n    return event.get(\"id\", {n})"),
        "js" => format!("function render{i}(props) {{ return props.items.slice(0, {n}); }}"),
        "go" => format!("\tmaxConns{i} = {n}"),
        "java" => format!("    private int limit{i} = {n};"),
        "properties" => format!("server.pool.size{i}={n}"),
        "toml" => format!("workers_{i} = {n}"),
        "tf" => format!("  instance_count_{i} = {n}"),
        "xml" => format!("    <add key=\"Limit{i}\" value=\"{n}\" />"),
        "ipynb" => format!("    \"df{i} = df.head({n})\\n\","),
        "rb" => format!("LIMIT_{i} = {n}"),
        _ => format!("Paragraph {i}: the service retries {n} times before it gives up."),
    }
}

const FORMATS: [(&str, &str); 15] = [
    ("env", ".env"),
    ("sh", "deploy.sh"),
    ("yml", "config.yml"),
    ("json", "settings.json"),
    ("py", "settings.py"),
    ("js", "config.js"),
    ("go", "config.go"),
    ("java", "Config.java"),
    ("properties", "application.properties"),
    ("toml", "config.toml"),
    ("tf", "main.tf"),
    ("xml", "web.config"),
    ("ipynb", "analysis.ipynb"),
    ("rb", "env.rb"),
    ("md", "NOTES.md"),
];

#[test]
fn recall_and_precision_on_a_generated_corpus() {
    let dir = tempfile::tempdir().unwrap();
    let mut r = Rng(0x1eac_4a0d);
    let mut planted: BTreeSet<(String, usize)> = BTreeSet::new();
    let mut kind_of: BTreeMap<(String, usize), String> = BTreeMap::new();
    let keys_dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/keys");
    let mut file_no = 0;
    for round in 0..40 {
        for (format, name) in FORMATS {
            file_no += 1;
            let path = format!(
                "svc{round}/{}",
                if round % 2 == 0 {
                    name.to_owned()
                } else {
                    format!("{file_no}-{name}")
                }
            );
            let mut lines: Vec<String> = Vec::new();
            if format == "ipynb" {
                lines.push("{\"cells\": [{\"cell_type\": \"code\", \"source\": [".to_owned());
            }
            let n = 12 + r.below(20);
            for i in 0..n {
                match r.below(10) {
                    0 => {
                        let kind = r.below(KINDS);
                        let (value, var) = credential(kind, &mut r);
                        lines.push(plant(format, var, &value, &mut r));
                        planted.insert((path.clone(), lines.len()));
                        kind_of.insert((path.clone(), lines.len()), var.to_owned());
                    }
                    1 => lines.push(negative(&mut r)),
                    _ => lines.extend(filler(format, i, &mut r).lines().map(str::to_owned)),
                }
            }
            if format == "ipynb" {
                lines.push("    \"print(1)\"]}]}".to_owned());
            }
            let full = dir.path().join(&path);
            fs::create_dir_all(full.parent().unwrap()).unwrap();
            fs::write(full, lines.join("\n") + "\n").unwrap();
        }
    }
    // Private keys, and public material that must stay silent.
    for (i, key) in [
        "rsa-pkcs1.pem",
        "ec-sec1.pem",
        "ed25519-pkcs8.pem",
        "openssh",
    ]
    .iter()
    .enumerate()
    {
        let text = fs::read_to_string(keys_dir.join(key)).unwrap();
        let path = format!("keys/k{i}/id_key");
        fs::create_dir_all(dir.path().join(format!("keys/k{i}"))).unwrap();
        fs::write(dir.path().join(&path), &text).unwrap();
        planted.insert((path.clone(), 1));
        kind_of.insert((path, 1), (*key).to_owned());
    }
    fs::create_dir_all(dir.path().join("public")).unwrap();
    for key in ["cert.pem", "rsa-public.pem"] {
        fs::copy(keys_dir.join(key), dir.path().join("public").join(key)).unwrap();
    }
    // A lockfile full of integrity hashes.
    let mut lock = String::from("{\n  \"lockfileVersion\": 3,\n  \"packages\": {\n");
    for i in 0..200 {
        let _ = writeln!(
            lock,
            "    \"node_modules/pkg{i}\": {{\"version\": \"1.{i}.0\", \"resolved\": \"https://registry.npmjs.org/pkg{i}/-/pkg{i}-1.{i}.0.tgz\", \"integrity\": \"sha512-{}==\"}},",
            r.from(B64, 86)
        );
    }
    lock.push_str("  }\n}\n");
    fs::write(dir.path().join("package-lock.json"), lock).unwrap();

    let out = leakhound()
        .current_dir(dir.path())
        .args(["scan", ".", "--format", "json", "-q"])
        .output()
        .unwrap();
    let doc = json(&out.stdout);
    let found: BTreeSet<(String, usize)> = findings(&doc)
        .iter()
        .map(|f| {
            (
                f["path"].as_str().unwrap().to_owned(),
                f["line"].as_u64().unwrap() as usize,
            )
        })
        .collect();
    let tp = planted.intersection(&found).count();
    let missed: Vec<_> = planted
        .difference(&found)
        .map(|p| (p.clone(), kind_of[p].clone()))
        .collect();
    let false_pos: Vec<_> = found.difference(&planted).collect();
    let recall = tp as f64 / planted.len() as f64;
    let precision = tp as f64 / (tp + false_pos.len()) as f64;
    eprintln!(
        "corpus: {} files, {} planted secret lines, {} found, recall {:.3}, precision {:.3}",
        file_no + 7,
        planted.len(),
        found.len(),
        recall,
        precision
    );
    for m in &missed {
        eprintln!("  missed: {m:?}");
    }
    for (path, line) in &false_pos {
        let text = fs::read_to_string(dir.path().join(path)).unwrap();
        let rules: Vec<&str> = findings(&doc)
            .iter()
            .filter(|f| f["path"] == path.as_str() && f["line"] == *line as u64)
            .map(|f| f["rule_id"].as_str().unwrap())
            .collect();
        eprintln!(
            "  false positive: {path}:{line} {rules:?}: {}",
            text.lines().nth(line - 1).unwrap_or("")
        );
    }
    assert!(
        planted.len() >= 250,
        "the corpus plants enough secrets: {}",
        planted.len()
    );
    assert!(recall >= 0.97, "recall {recall:.3}: missed {missed:#?}");
    assert!(
        precision >= 0.97,
        "precision {precision:.3}: false positives {false_pos:#?}"
    );
}
