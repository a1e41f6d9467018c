//! AWS: STS `GetCallerIdentity` (read-only, needs no permission, answers for any valid key),
//! signed with SigV4 by the `aws-sigv4` crate. The access key id and the secret access key are
//! two findings; the verifier pairs one with the other half found nearest to it.

use std::time::SystemTime;

use aws_sigv4::{
    http_request::{SignableBody, SignableRequest, SigningSettings, sign},
    sign::v4,
};

use super::spec::{Method, Request};

/// The STS request body.
const BODY: &str = "Action=GetCallerIdentity&Version=2011-06-15";

/// Signs a request with SigV4 and returns the headers to add (`authorization`, `x-amz-date`).
pub fn sign_headers(
    method: &str,
    url: &str,
    headers: &[(&str, &str)],
    body: &[u8],
    key: (&str, &str),
    scope: (&str, &str),
    time: SystemTime,
) -> Result<Vec<(String, String)>, String> {
    let identity =
        aws_credential_types::Credentials::new(key.0, key.1, None, None, "leakhound").into();
    let params = v4::SigningParams::builder()
        .identity(&identity)
        .region(scope.0)
        .name(scope.1)
        .time(time)
        .settings(SigningSettings::default())
        .build()
        .map_err(|_| "signing parameters are incomplete".to_owned())?
        .into();
    let signable = SignableRequest::new(
        method,
        url,
        headers.iter().copied(),
        SignableBody::Bytes(body),
    )
    .map_err(|_| "the request cannot be signed".to_owned())?;
    let (instructions, _) = sign(signable, &params)
        .map_err(|_| "signing failed".to_owned())?
        .into_parts();
    Ok(instructions
        .headers()
        .map(|(n, v)| (n.to_owned(), v.to_owned()))
        .collect())
}

/// The access key id and the secret access key of a finding and its other half, whichever
/// way round they came.
pub fn pair<'a>(secret: &'a str, companion: &'a str) -> (&'a str, &'a str) {
    if is_key_id(secret) {
        (secret, companion)
    } else {
        (companion, secret)
    }
}

/// Whether a value is shaped like an access key id (`AKIA…`, `ASIA…`).
pub fn is_key_id(v: &str) -> bool {
    v.len() == 20 && (v.starts_with("AKIA") || v.starts_with("ASIA") || v.starts_with("AIDA"))
}

/// The signed `GetCallerIdentity` request to `base` (`https://sts.amazonaws.com` or an
/// override).
pub fn request(
    base: &str,
    key_id: &str,
    secret_key: &str,
    time: SystemTime,
) -> Result<Request, String> {
    let url = format!("{}/", base.trim_end_matches('/'));
    let host = super::spec::split_origin(&url)?
        .0
        .split_once("://")
        .map(|(_, h)| h.to_owned())
        .unwrap_or_default();
    let content_type = "application/x-www-form-urlencoded; charset=utf-8";
    let base_headers = [("host", host.as_str()), ("content-type", content_type)];
    let signed = sign_headers(
        "POST",
        &url,
        &base_headers,
        BODY.as_bytes(),
        (key_id, secret_key),
        ("us-east-1", "sts"),
        time,
    )?;
    let mut headers = vec![("Content-Type".to_owned(), content_type.to_owned())];
    headers.extend(signed);
    Ok(Request {
        method: Method::Post,
        url,
        headers,
        body: Some(BODY.as_bytes().to_vec()),
    })
}

/// The ARN in a `GetCallerIdentity` answer.
pub fn arn(body: &[u8]) -> Option<String> {
    let text = std::str::from_utf8(body).ok()?;
    let start = text.find("<Arn>")? + "<Arn>".len();
    let end = text[start..].find("</Arn>")? + start;
    Some(text[start..end].trim().to_owned())
}

/// The error code of an STS error answer (`InvalidClientTokenId`, `SignatureDoesNotMatch`).
pub fn error_code(body: &[u8]) -> Option<String> {
    let text = std::str::from_utf8(body).ok()?;
    let start = text.find("<Code>")? + "<Code>".len();
    let end = text[start..].find("</Code>")? + start;
    Some(text[start..end].trim().to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::{Duration, UNIX_EPOCH};

    /// 2015-08-30T12:36:00Z, the time of AWS's published SigV4 test suite.
    fn suite_time() -> SystemTime {
        UNIX_EPOCH + Duration::from_secs(1_440_938_160)
    }

    /// The credentials of AWS's published SigV4 test suite (documentation values).
    const SUITE_KEY: (&str, &str) = ("AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY");

    fn authorization(headers: &[(String, String)]) -> &str {
        headers
            .iter()
            .find(|(n, _)| n == "authorization")
            .map(|(_, v)| v.as_str())
            .unwrap()
    }

    #[test]
    fn signs_the_published_get_vanilla_vector() {
        // AWS SigV4 test suite, `get-vanilla`: GET / on example.amazonaws.com, service
        // "service", region us-east-1.
        let headers = sign_headers(
            "GET",
            "https://example.amazonaws.com/",
            &[("host", "example.amazonaws.com")],
            b"",
            SUITE_KEY,
            ("us-east-1", "service"),
            suite_time(),
        )
        .unwrap();
        assert_eq!(
            authorization(&headers),
            "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, \
             SignedHeaders=host;x-amz-date, \
             Signature=5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31"
        );
        assert!(
            headers
                .iter()
                .any(|(n, v)| n == "x-amz-date" && v == "20150830T123600Z")
        );
    }

    #[test]
    fn signs_the_published_iam_list_users_example() {
        // The worked example of AWS's "Create a signed AWS API request" documentation:
        // GET https://iam.amazonaws.com/?Action=ListUsers&Version=2010-05-08.
        let headers = sign_headers(
            "GET",
            "https://iam.amazonaws.com/?Action=ListUsers&Version=2010-05-08",
            &[
                ("host", "iam.amazonaws.com"),
                (
                    "content-type",
                    "application/x-www-form-urlencoded; charset=utf-8",
                ),
            ],
            b"",
            SUITE_KEY,
            ("us-east-1", "iam"),
            suite_time(),
        )
        .unwrap();
        assert!(
            authorization(&headers).ends_with(
                "Signature=5d672d79c15b13162d9279b0855cfba6789a8edb4c82c400e06b5924a6f2b5d7"
            ),
            "{}",
            authorization(&headers)
        );
    }

    #[test]
    fn builds_the_sts_request_and_reads_answers() {
        let r = request(
            "http://127.0.0.1:9",
            "AKIDEXAMPLE",
            SUITE_KEY.1,
            suite_time(),
        )
        .unwrap();
        assert_eq!(r.url, "http://127.0.0.1:9/");
        assert_eq!(r.body.as_deref(), Some(BODY.as_bytes()));
        assert!(authorization(&r.headers).contains("/us-east-1/sts/aws4_request"));
        assert_eq!(
            arn(b"<GetCallerIdentityResult><Arn>arn:aws:iam::123456789012:user/ci</Arn></GetCallerIdentityResult>")
                .as_deref(),
            Some("arn:aws:iam::123456789012:user/ci")
        );
        assert_eq!(
            error_code(b"<Error><Code>InvalidClientTokenId</Code></Error>").as_deref(),
            Some("InvalidClientTokenId")
        );
        assert_eq!(
            pair("AKIAIOSFODNN7EXAMPL1", "s"),
            ("AKIAIOSFODNN7EXAMPL1", "s")
        );
        assert_eq!(
            pair("s", "AKIAIOSFODNN7EXAMPL1"),
            ("AKIAIOSFODNN7EXAMPL1", "s")
        );
    }
}
