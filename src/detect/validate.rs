//! Offline validity checks: what a token's own format says about it, without the network.
//!
//! | `validate:` | check | on failure |
//! |---|---|---|
//! | `github-checksum`, `npm-checksum` | the last 6 characters are the base62 CRC32 of the 30-character body | dropped |
//! | `jwt` | header and payload decode to JSON objects with `alg`; `exp` in the past is `expired` | dropped |
//! | `private-key` | the PEM/OpenSSH body decodes and parses (type, bits, encryption); a truncated or placeholder block | dropped |
//! | `aws-key-id` | decodes to the AWS account id | dropped |
//! | `pkcs12`, `java-keystore`, `keytab` | the binary container parses (PFX version 3; a JKS/JCEKS store with a key entry, not a trust store; a keytab entry with a key) | dropped |
//! | `structure` | the pattern itself encodes the documented structure (Slack, Stripe, Twilio, …) | — |
//!
//! A check that passes sets the finding's [`Validation`] (`checksum_valid`, `structure_valid`,
//! `expired`), and [`details`] reports what was decoded (JWT `alg`/`iss`/`exp`, key type and
//! bits, AWS account id). Rules without `validate:` are `unchecked`.

use base64::Engine as _;
use serde::{Deserialize, Serialize};

pub use crate::rules::Validator;

/// What a check established about a finding.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Validation {
    /// An embedded checksum verifies.
    ChecksumValid,
    /// The value decodes/parses as the format says.
    StructureValid,
    /// It parses but has expired (a JWT past its `exp`).
    Expired,
    /// No offline check exists for this format.
    Unchecked,
}

impl Validation {
    /// The snake_case name used in every output.
    pub fn as_str(self) -> &'static str {
        match self {
            Validation::ChecksumValid => "checksum_valid",
            Validation::StructureValid => "structure_valid",
            Validation::Expired => "expired",
            Validation::Unchecked => "unchecked",
        }
    }
}

/// How sure leakhound is that a finding is a live credential.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Confidence {
    /// Generic matches in documentation, tests and examples, weak or repeated values, and
    /// expired tokens (see [`crate::detect::context`]); hidden by default.
    Low,
    /// Specific formats without an offline check, and generic credentials in code and
    /// configuration.
    Medium,
    /// A checksum or structure verified, or a strong generic credential in a configuration
    /// file.
    High,
}

impl Confidence {
    /// The lower-case name used in every output.
    pub fn as_str(self) -> &'static str {
        match self {
            Confidence::Low => "low",
            Confidence::Medium => "medium",
            Confidence::High => "high",
        }
    }

    /// The confidence a validation gives a finding of a generic or specific rule.
    pub fn of(validation: Validation, generic: bool) -> Confidence {
        match validation {
            Validation::ChecksumValid | Validation::StructureValid => Confidence::High,
            Validation::Expired => Confidence::Low,
            Validation::Unchecked if generic => Confidence::Low,
            Validation::Unchecked => Confidence::Medium,
        }
    }
}

/// Every key [`details`] may report.
pub const DETAIL_KEYS: [&str; 10] = [
    "alg",
    "iss",
    "exp",
    "expired",
    "key_type",
    "encrypted",
    "bits",
    "curve",
    "aws_account_id",
    "username",
];

/// The static key of a detail name read back from a store.
pub fn detail_key(name: &str) -> Option<&'static str> {
    DETAIL_KEYS.into_iter().find(|k| *k == name)
}

/// Runs a check: `None` rejects the match, `Some` says what was established.
pub fn check(validator: Option<Validator>, secret: &[u8]) -> Option<Validation> {
    let Some(v) = validator else {
        return Some(Validation::Unchecked);
    };
    match v {
        Validator::GithubChecksum | Validator::NpmChecksum => {
            crc32_base62_ok(secret).then_some(Validation::ChecksumValid)
        }
        Validator::Jwt => jwt(secret).map(|j| {
            if j.expired {
                Validation::Expired
            } else {
                Validation::StructureValid
            }
        }),
        Validator::PrivateKey => private_key(secret).map(|_| Validation::StructureValid),
        Validator::AwsKeyId => aws_account(secret).map(|_| Validation::StructureValid),
        Validator::Structure => Some(Validation::StructureValid),
        Validator::BasicAuth => basic_auth(secret).map(|_| Validation::StructureValid),
        // Without the rest of the match there is no expiry to read: the format is all we know.
        Validator::AzureSas | Validator::AwsPresigned => Some(Validation::StructureValid),
        Validator::Pkcs12 => super::keystore::pkcs12(secret).then_some(Validation::StructureValid),
        Validator::JavaKeystore => {
            super::keystore::java_keystore(secret).then_some(Validation::StructureValid)
        }
        Validator::Keytab => super::keystore::keytab(secret).then_some(Validation::StructureValid),
    }
}

/// [`check`], for validators that read the whole match around the secret (an expiry next to
/// a signature): `whole` is the rule's whole match.
pub fn check_match(
    validator: Option<Validator>,
    secret: &[u8],
    whole: &[u8],
) -> Option<Validation> {
    let expires = match validator {
        Some(Validator::AzureSas) => query_param(whole, b"se").and_then(sas_expiry),
        Some(Validator::AwsPresigned) => presigned_expiry(whole),
        _ => return check(validator, secret),
    };
    Some(match expires {
        Some(at) if at < unix_now() => Validation::Expired,
        Some(_) => Validation::StructureValid,
        None => Validation::Unchecked,
    })
}

fn unix_now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
}

/// The value of `name=` in a query string (after `?`, `&`, a quote or the start).
fn query_param<'a>(query: &'a [u8], name: &[u8]) -> Option<&'a [u8]> {
    let mut from = 0;
    while let Some(i) = memchr::memmem::find(&query[from..], name) {
        let at = from + i;
        let starts = at == 0 || matches!(query[at - 1], b'?' | b'&' | b'"' | b'\'' | b' ');
        let rest = &query[at + name.len()..];
        if starts && rest.first() == Some(&b'=') {
            let value = &rest[1..];
            let end = value
                .iter()
                .position(|b| matches!(b, b'&' | b'"' | b'\'' | b' ' | b'<' | b'>'))
                .unwrap_or(value.len());
            return Some(&value[..end]);
        }
        from = at + 1;
    }
    None
}

/// Days from 1970-01-01 to a proleptic Gregorian date.
///
/// ```
/// use leakhound::detect::validate::days_from_civil;
/// assert_eq!(days_from_civil(1970, 1, 1), 0);
/// assert_eq!(days_from_civil(2000, 3, 1), 11017);
/// ```
pub fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let doy = (153 * ((m + 9) % 12) + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

fn digits(b: &[u8]) -> Option<i64> {
    if b.is_empty() || !b.iter().all(u8::is_ascii_digit) {
        return None;
    }
    std::str::from_utf8(b).ok()?.parse().ok()
}

/// A SAS `se=` value (`2025-12-31`, `2025-12-31T23:59:59Z`, colons maybe as `%3A`) as Unix
/// seconds.
fn sas_expiry(se: &[u8]) -> Option<i64> {
    let text = String::from_utf8_lossy(se)
        .replace("%3A", ":")
        .replace("%3a", ":");
    let b = text.as_bytes();
    if b.len() < 10 || b[4] != b'-' || b[7] != b'-' {
        return None;
    }
    let (y, m, d) = (digits(&b[0..4])?, digits(&b[5..7])?, digits(&b[8..10])?);
    let mut secs = days_from_civil(y, m, d) * 86_400;
    if b.len() >= 16 && b[10] == b'T' && b[13] == b':' {
        secs += digits(&b[11..13])? * 3600 + digits(&b[14..16])? * 60;
    } else {
        secs += 86_399;
    }
    Some(secs)
}

/// `X-Amz-Date` (`20190814T123456Z`) plus `X-Amz-Expires` (seconds) as Unix seconds.
fn presigned_expiry(url: &[u8]) -> Option<i64> {
    let date = query_param(url, b"X-Amz-Date")?;
    let expires = digits(query_param(url, b"X-Amz-Expires")?)?;
    if date.len() < 15 || date[8] != b'T' {
        return None;
    }
    let day = days_from_civil(
        digits(&date[0..4])?,
        digits(&date[4..6])?,
        digits(&date[6..8])?,
    );
    let time = digits(&date[9..11])? * 3600 + digits(&date[11..13])? * 60 + digits(&date[13..15])?;
    Some(day * 86_400 + time + expires)
}

/// What a passing check decoded, as `(name, value)` pairs.
pub fn details(validator: Option<Validator>, secret: &[u8]) -> Vec<(&'static str, String)> {
    match validator {
        Some(Validator::Jwt) => jwt(secret).map(|j| j.details).unwrap_or_default(),
        Some(Validator::PrivateKey) => private_key(secret).unwrap_or_default(),
        Some(Validator::AwsKeyId) => aws_account(secret)
            .map(|a| vec![("aws_account_id", a)])
            .unwrap_or_default(),
        Some(Validator::BasicAuth) => basic_auth(secret)
            .map(|user| vec![("username", user)])
            .unwrap_or_default(),
        _ => Vec::new(),
    }
}

/// Decodes `user:password`; rejects trivial or placeholder passwords. Returns the user name.
fn basic_auth(b64: &[u8]) -> Option<String> {
    let decoded = base64::engine::general_purpose::STANDARD.decode(b64).ok()?;
    let text = String::from_utf8(decoded).ok()?;
    let (user, pass) = text.split_once(':')?;
    const TRIVIAL: &[&str] = &[
        "pass", "password", "passwd", "secret", "admin", "changeme", "test", "user", "guest",
        "root",
    ];
    let trivial = pass.len() < 4 || TRIVIAL.contains(&pass.to_ascii_lowercase().as_str());
    (!trivial && !super::filter::is_placeholder(pass.as_bytes())).then(|| user.to_owned())
}

const BASE62: &[u8] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

/// `prefix_` + 30-character body + 6-character base62 CRC32 of the body.
///
/// ```
/// use leakhound::detect::validate::crc32_base62_ok;
/// let body = "Ky9Pf34qY6Nb3wWD25RQ4F5ZR3qa7y";
/// let sum = crc32fast::hash(body.as_bytes());
/// let mut n = sum; let mut s = Vec::new();
/// while n > 0 { s.push(b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"[(n % 62) as usize]); n /= 62; }
/// while s.len() < 6 { s.push(b'0'); }
/// s.reverse();
/// let token = format!("ghp_{body}{}", String::from_utf8(s).unwrap());
/// assert!(crc32_base62_ok(token.as_bytes()));
/// assert!(!crc32_base62_ok(format!("ghp_{body}000000").as_bytes()));
/// ```
pub fn crc32_base62_ok(token: &[u8]) -> bool {
    let Some(us) = token.iter().position(|&b| b == b'_') else {
        return false;
    };
    let rest = &token[us + 1..];
    if rest.len() != 36 {
        return false;
    }
    let (body, sum) = rest.split_at(30);
    let mut n = crc32fast::hash(body);
    let mut digits = [b'0'; 6];
    for d in digits.iter_mut().rev() {
        *d = BASE62[(n % 62) as usize];
        n /= 62;
    }
    n == 0 && digits == sum
}

struct Jwt {
    expired: bool,
    details: Vec<(&'static str, String)>,
}

fn jwt(token: &[u8]) -> Option<Jwt> {
    let text = std::str::from_utf8(token).ok()?;
    let mut parts = text.split('.');
    let (header, payload, _sig) = (parts.next()?, parts.next()?, parts.next()?);
    let decode = |p: &str| -> Option<serde_json::Map<String, serde_json::Value>> {
        let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(p.trim_end_matches('='))
            .ok()?;
        match serde_json::from_slice::<serde_json::Value>(&bytes).ok()? {
            serde_json::Value::Object(m) => Some(m),
            _ => None,
        }
    };
    let header = decode(header)?;
    let payload = decode(payload)?;
    let alg = header.get("alg")?.as_str()?.to_owned();
    let mut details = vec![("alg", alg)];
    if let Some(iss) = payload.get("iss").and_then(|v| v.as_str()) {
        details.push(("iss", iss.to_owned()));
    }
    let mut expired = false;
    if let Some(exp) = payload.get("exp").and_then(serde_json::Value::as_i64) {
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX));
        expired = exp < now;
        details.push(("exp", exp.to_string()));
        details.push(("expired", expired.to_string()));
    }
    Some(Jwt { expired, details })
}

/// AWS account id from an access key id (`AKIA`/`ASIA`…): base32 of the 16 characters after
/// the prefix, first 6 bytes, masked and shifted.
///
/// ```
/// use leakhound::detect::validate::aws_account;
/// // a key id published as an example of this decoding (assembled: not a secret here)
/// let id = ["ASIA", "Y34FZKBOKMUTVV7A"].concat();
/// assert_eq!(aws_account(id.as_bytes()).as_deref(), Some("609629065308"));
/// assert_eq!(aws_account(b"AKIA0000"), None);
/// ```
pub fn aws_account(key_id: &[u8]) -> Option<String> {
    if key_id.len() != 20 {
        return None;
    }
    let mut bits: u128 = 0;
    for &c in &key_id[4..] {
        let v = match c {
            b'A'..=b'Z' => c - b'A',
            b'2'..=b'7' => c - b'2' + 26,
            _ => return None,
        };
        bits = (bits << 5) | u128::from(v);
    }
    // 16 characters are 80 bits; the account id sits in the first 48, bits 1..=40 after a shift.
    let first6 = (bits >> 32) as u64;
    let account = (first6 & 0x7fff_ffff_ff80) >> 7;
    Some(format!("{account:012}"))
}

/// Parses a private key block; `None` for a truncated or placeholder one.
fn private_key(block: &[u8]) -> Option<Vec<(&'static str, String)>> {
    let text = std::str::from_utf8(block).ok()?;
    // JSON-escaped blocks (service-account files) use the two characters `\n`.
    let text = text.replace("\\n", "\n").replace("\\r", "");
    // Keys indented in YAML blocks or config files: compare lines without their indentation.
    let text: String = text.lines().map(str::trim).collect::<Vec<_>>().join("\n");
    if text.starts_with("PuTTY-User-Key-File-") {
        let kind = text.lines().next()?.split(':').nth(1)?.trim().to_owned();
        let enc = text
            .lines()
            .find_map(|l| l.strip_prefix("Encryption:"))
            .map(str::trim)?;
        let body: String = text
            .lines()
            .skip_while(|l| !l.starts_with("Private-Lines:"))
            .skip(1)
            .take_while(|l| !l.contains(':'))
            .collect();
        if body.len() < 40 {
            return None;
        }
        return Some(vec![
            ("key_type", kind),
            ("encrypted", (enc != "none").to_string()),
        ]);
    }
    if text.starts_with("AGE-SECRET-KEY-1") {
        return (text.len() >= 70).then(|| {
            vec![
                ("key_type", "age X25519".to_owned()),
                ("encrypted", "false".into()),
            ]
        });
    }
    let begin = text.find("-----BEGIN ")?;
    let label_end = text[begin + 11..].find("-----")? + begin + 11;
    let label = text[begin + 11..label_end].to_owned();
    let body_start = label_end + 5;
    let end = text[body_start..].find("-----END")? + body_start;
    let mut headers_encrypted = false;
    let mut b64 = String::new();
    for line in text[body_start..end].lines() {
        let line = line.trim();
        if line.contains(':') {
            headers_encrypted |= line.starts_with("Proc-Type:") && line.contains("ENCRYPTED");
            continue;
        }
        if line.starts_with('=') && label.contains("PGP") {
            continue; // the armor checksum line
        }
        b64.push_str(line);
    }
    let der = base64::engine::general_purpose::STANDARD
        .decode(b64.as_bytes())
        .ok()?;
    // Why: a real key is hundreds of bytes; "MIIE...", "<key>" or a handful of lines is a
    // placeholder or a truncated copy.
    if der.len() < 32 {
        return None;
    }
    let mut d = vec![("encrypted", headers_encrypted.to_string())];
    match label.as_str() {
        "OPENSSH PRIVATE KEY" => return openssh(&der),
        "RSA PRIVATE KEY" => {
            if !headers_encrypted {
                d.push(("key_type", "rsa".into()));
                d.push(("bits", rsa_bits_pkcs1(&der)?.to_string()));
            } else {
                d.push(("key_type", "rsa".into()));
            }
        }
        "EC PRIVATE KEY" => {
            d.push(("key_type", "ec".into()));
            if !headers_encrypted && let Some(curve) = sec1_curve(&der) {
                d.push(("curve", curve.into()));
            }
        }
        "DSA PRIVATE KEY" => d.push(("key_type", "dsa".into())),
        "PRIVATE KEY" => d.extend(pkcs8(&der)?),
        "ENCRYPTED PRIVATE KEY" => {
            d[0] = ("encrypted", "true".into());
            Der::new(&der).sequence()?;
        }
        l if l.contains("PGP PRIVATE KEY") => d.push(("key_type", "pgp".into())),
        _ => d.push(("key_type", label.to_lowercase())),
    }
    Some(d)
}

fn openssh(data: &[u8]) -> Option<Vec<(&'static str, String)>> {
    let rest = data.strip_prefix(b"openssh-key-v1\0")?;
    let mut r = SshReader(rest);
    let cipher = String::from_utf8_lossy(r.string()?).into_owned();
    let _kdf = r.string()?;
    let _kdf_opts = r.string()?;
    let _n = r.u32()?;
    let mut pubkey = SshReader(r.string()?);
    let kind = String::from_utf8_lossy(pubkey.string()?).into_owned();
    let mut d = vec![
        ("encrypted", (cipher != "none").to_string()),
        ("key_type", kind.clone()),
    ];
    if kind == "ssh-rsa" {
        let _e = pubkey.string()?;
        let n = pubkey.string()?;
        d.push(("bits", bits_of_integer(n).to_string()));
    }
    Some(d)
}

struct SshReader<'a>(&'a [u8]);

impl<'a> SshReader<'a> {
    fn u32(&mut self) -> Option<u32> {
        let (head, rest) = self.0.split_first_chunk::<4>()?;
        self.0 = rest;
        Some(u32::from_be_bytes(*head))
    }
    fn string(&mut self) -> Option<&'a [u8]> {
        let n = self.u32()? as usize;
        if n > self.0.len() {
            return None;
        }
        let (s, rest) = self.0.split_at(n);
        self.0 = rest;
        Some(s)
    }
}

fn bits_of_integer(int: &[u8]) -> usize {
    let trimmed = match int.iter().position(|&b| b != 0) {
        Some(i) => &int[i..],
        None => return 0,
    };
    trimmed.len() * 8 - trimmed[0].leading_zeros() as usize
}

/// A minimal DER reader: tag-length-value walking with bounds checks (only what key metadata
/// needs: SEQUENCE, INTEGER, OID, OCTET STRING, context tags).
struct Der<'a>(&'a [u8]);

impl<'a> Der<'a> {
    fn new(data: &'a [u8]) -> Self {
        Der(data)
    }
    /// The next TLV: (tag, contents).
    fn next(&mut self) -> Option<(u8, &'a [u8])> {
        let (&tag, rest) = self.0.split_first()?;
        let (&first, mut rest) = rest.split_first()?;
        let len = if first < 0x80 {
            first as usize
        } else {
            let n = (first & 0x7f) as usize;
            if n == 0 || n > 4 || rest.len() < n {
                return None;
            }
            let len = rest[..n].iter().fold(0usize, |a, &b| (a << 8) | b as usize);
            rest = &rest[n..];
            len
        };
        if len > rest.len() {
            return None;
        }
        let (contents, after) = rest.split_at(len);
        self.0 = after;
        Some((tag, contents))
    }
    fn sequence(&mut self) -> Option<Der<'a>> {
        match self.next()? {
            (0x30, c) => Some(Der(c)),
            _ => None,
        }
    }
}

fn rsa_bits_pkcs1(der: &[u8]) -> Option<usize> {
    let mut seq = Der::new(der).sequence()?;
    let (0x02, _version) = seq.next()? else {
        return None;
    };
    let (0x02, modulus) = seq.next()? else {
        return None;
    };
    let bits = bits_of_integer(modulus);
    (bits >= 256).then_some(bits)
}

fn oid_name(oid: &[u8]) -> Option<&'static str> {
    Some(match oid {
        [0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x01] => "rsa",
        [0x2a, 0x86, 0x48, 0xce, 0x3d, 0x02, 0x01] => "ec",
        [0x2b, 0x65, 0x70] => "ed25519",
        [0x2b, 0x65, 0x71] => "ed448",
        [0x2b, 0x65, 0x6e] => "x25519",
        [0x2a, 0x86, 0x48, 0xce, 0x38, 0x04, 0x01] => "dsa",
        [0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07] => "P-256",
        [0x2b, 0x81, 0x04, 0x00, 0x22] => "P-384",
        [0x2b, 0x81, 0x04, 0x00, 0x23] => "P-521",
        [0x2b, 0x81, 0x04, 0x00, 0x0a] => "secp256k1",
        _ => return None,
    })
}

fn pkcs8(der: &[u8]) -> Option<Vec<(&'static str, String)>> {
    let mut seq = Der::new(der).sequence()?;
    let (0x02, _version) = seq.next()? else {
        return None;
    };
    let mut alg = seq.sequence()?;
    let (0x06, oid) = alg.next()? else {
        return None;
    };
    let kind = oid_name(oid).unwrap_or("unknown");
    let mut d = vec![("key_type", kind.to_owned())];
    let params = alg.next();
    let (0x04, key) = seq.next()? else {
        return None;
    };
    match kind {
        "rsa" => d.push(("bits", rsa_bits_pkcs1(key)?.to_string())),
        "ec" => {
            if let Some((0x06, curve)) = params
                && let Some(name) = oid_name(curve)
            {
                d.push(("curve", name.to_owned()));
            }
        }
        _ => {}
    }
    Some(d)
}

fn sec1_curve(der: &[u8]) -> Option<&'static str> {
    let mut seq = Der::new(der).sequence()?;
    let _version = seq.next()?;
    let _key = seq.next()?;
    let (0xa0, params) = seq.next()? else {
        return None;
    };
    let (0x06, oid) = Der::new(params).next()? else {
        return None;
    };
    oid_name(oid)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sas_and_presigned_expiry_are_read_from_the_whole_match() {
        let sas = b"?sv=2021-06-08&se=2022-12-20T22%3A54%3A52Z&sp=rl&sig=abc";
        assert_eq!(
            query_param(sas, b"se").and_then(sas_expiry),
            Some(days_from_civil(2022, 12, 20) * 86_400 + 22 * 3600 + 54 * 60)
        );
        assert_eq!(
            check_match(Some(Validator::AzureSas), b"abc", sas),
            Some(Validation::Expired)
        );
        let far = b"?sv=2021-06-08&se=2099-01-01&sig=abc";
        assert_eq!(
            check_match(Some(Validator::AzureSas), b"abc", far),
            Some(Validation::StructureValid)
        );
        // no expiry at all: the format is known, its lifetime is not
        assert_eq!(
            check_match(Some(Validator::AzureSas), b"abc", b"?sv=2021-06-08&sig=abc"),
            Some(Validation::Unchecked)
        );
        let url = b"?X-Amz-Date=20190814T101500Z&X-Amz-Expires=3600&X-Amz-Credential=A";
        assert_eq!(
            presigned_expiry(url),
            Some(days_from_civil(2019, 8, 14) * 86_400 + 10 * 3600 + 15 * 60 + 3600)
        );
        assert_eq!(
            check_match(Some(Validator::AwsPresigned), b"A", url),
            Some(Validation::Expired)
        );
    }

    #[test]
    fn jwt_expiry_and_garbage() {
        let enc = |s: &str| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(s);
        let old = format!(
            "{}.{}.sig",
            enc(r#"{"alg":"HS256"}"#),
            enc(r#"{"iss":"me","exp":1000}"#)
        );
        assert_eq!(
            check(Some(Validator::Jwt), old.as_bytes()),
            Some(Validation::Expired)
        );
        let d = details(Some(Validator::Jwt), old.as_bytes());
        assert!(d.contains(&("iss", "me".to_owned())) && d.contains(&("alg", "HS256".to_owned())));
        let live = format!(
            "{}.{}.sig",
            enc(r#"{"alg":"RS256"}"#),
            enc(r#"{"sub":"x"}"#)
        );
        assert_eq!(
            check(Some(Validator::Jwt), live.as_bytes()),
            Some(Validation::StructureValid)
        );
        assert_eq!(
            check(
                Some(Validator::Jwt),
                b"eyJhbGciOiJIUzI1NiJ9.bm90IGpzb24.sig"
            ),
            None
        );
    }

    #[test]
    fn placeholder_pem_blocks_are_rejected() {
        let fake =
            b"-----BEGIN RSA PRIVATE KEY-----\nMIIEpAIBAAKCAQEA...\n-----END RSA PRIVATE KEY-----";
        assert_eq!(check(Some(Validator::PrivateKey), fake), None);
        let placeholder =
            b"-----BEGIN PRIVATE KEY-----\n<your key here>\n-----END PRIVATE KEY-----";
        assert_eq!(check(Some(Validator::PrivateKey), placeholder), None);
    }

    #[test]
    fn der_reader_refuses_lengths_past_the_end() {
        assert!(
            Der::new(&[0x30, 0x84, 0xff, 0xff, 0xff, 0xff])
                .next()
                .is_none()
        );
        assert!(Der::new(&[0x30, 0x05, 0x01]).next().is_none());
    }
}
