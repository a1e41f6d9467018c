//! UTC calendar times from Unix seconds, without a time-zone database.

/// Seconds since the epoch now (0 if the clock is before it).
pub fn unix_now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// Now as RFC 3339 in UTC with its `Z` (`2026-12-04T19:40:02Z`), for results and logs.
pub fn rfc3339_now() -> String {
    format!("{}Z", utc(unix_now()))
}

/// `YYYY-MM-DDTHH:MM:SS` (UTC) for seconds since the epoch (GitLab's report schema and the store use it).
///
/// ```
/// use leakhound::timestamp::utc;
/// assert_eq!(utc(0), "1970-01-01T00:00:00");
/// assert_eq!(utc(1_700_000_000), "2023-11-14T22:13:20");
/// ```
pub fn utc(secs: u64) -> String {
    let days = (secs / 86_400) as i64;
    let rem = secs % 86_400;
    // Civil from days (Howard Hinnant's algorithm).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1_460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}
