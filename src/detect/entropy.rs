//! Shannon entropy of a byte string.

/// Shannon entropy in bits per byte (0 for empty input, at most 8).
///
/// ```
/// use leakhound::detect::entropy::shannon;
/// assert_eq!(shannon(b""), 0.0);
/// assert_eq!(shannon(b"aaaa"), 0.0);
/// assert!((shannon(b"ab") - 1.0).abs() < 1e-9);
/// assert!(shannon(b"k8Xq2LmP9zRw4TvB") > 3.9);
/// ```
pub fn shannon(bytes: &[u8]) -> f64 {
    if bytes.is_empty() {
        return 0.0;
    }
    let mut counts = [0u32; 256];
    for &b in bytes {
        counts[b as usize] += 1;
    }
    let n = bytes.len() as f64;
    counts
        .iter()
        .filter(|&&c| c > 0)
        .map(|&c| {
            let p = f64::from(c) / n;
            -p * p.log2()
        })
        .sum()
}
