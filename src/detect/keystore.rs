//! Binary credential files: PKCS#12 (`.p12`/`.pfx`), Java key stores (JKS, JCEKS) and Kerberos
//! keytabs. They hold private or secret keys in a binary container, so no text rule sees them;
//! rules marked `binary: true` match their magic bytes on the paths they name, and these parsers
//! (`validate: pkcs12 | java-keystore | keytab`) read enough of the container to say that it is
//! one and that it holds a key: a trust store of public certificates (Java's `cacerts`) is not a
//! leak.
//!
//! Every read is bounds-checked; a truncated or corrupt file fails the check and is not
//! reported.

/// A big-endian reader over a byte slice that fails instead of panicking.
struct Reader<'a> {
    bytes: &'a [u8],
    at: usize,
}

impl<'a> Reader<'a> {
    fn new(bytes: &'a [u8]) -> Self {
        Reader { bytes, at: 0 }
    }

    fn take(&mut self, n: usize) -> Option<&'a [u8]> {
        let end = self.at.checked_add(n)?;
        let out = self.bytes.get(self.at..end)?;
        self.at = end;
        Some(out)
    }

    fn u8(&mut self) -> Option<u8> {
        self.take(1).map(|b| b[0])
    }

    fn u16(&mut self) -> Option<u16> {
        self.take(2).map(|b| u16::from_be_bytes([b[0], b[1]]))
    }

    fn u32(&mut self) -> Option<u32> {
        self.take(4)
            .map(|b| u32::from_be_bytes([b[0], b[1], b[2], b[3]]))
    }

    /// A `u16`-length-prefixed string (JKS aliases and certificate types, keytab names).
    fn counted16(&mut self) -> Option<&'a [u8]> {
        let n = self.u16()?;
        self.take(usize::from(n))
    }

    /// A `u32`-length-prefixed blob.
    fn counted32(&mut self) -> Option<&'a [u8]> {
        let n = usize::try_from(self.u32()?).ok()?;
        self.take(n)
    }
}

/// A DER tag and its contents; `None` if the length runs past the input.
fn der<'a>(r: &mut Reader<'a>) -> Option<(u8, &'a [u8])> {
    let tag = r.u8()?;
    let first = r.u8()?;
    let len = if first < 0x80 {
        usize::from(first)
    } else {
        let n = usize::from(first & 0x7f);
        if n == 0 || n > 4 {
            return None;
        }
        r.take(n)?
            .iter()
            .fold(0usize, |acc, &b| (acc << 8) | usize::from(b))
    };
    Some((tag, r.take(len)?))
}

/// PKCS#12 `PFX ::= SEQUENCE { version INTEGER (3), authSafe ContentInfo, macData OPTIONAL }`
/// whose `ContentInfo` is PKCS#7 `data` or `signedData`, holding a key bag (`keyBag` or
/// `pkcs8ShroudedKeyBag`, OID 1.2.840.113549.1.12.10.1.1 or .2). OpenSSL, Java and Windows
/// write the key bag into a plain `data` safe (the key inside is encrypted with the store
/// password), so the OID is visible; a store of certificates only (a trust store) has none and
/// is not a leak.
///
/// ```
/// use leakhound::detect::keystore::pkcs12;
/// // SEQUENCE { INTEGER 3, SEQUENCE { OID pkcs7-data, [0] { OCTET STRING { OID shroudedKeyBag } } } }
/// let pfx = b"\x30\x21\x02\x01\x03\x30\x1c\x06\x09\x2a\x86\x48\x86\xf7\x0d\x01\x07\x01\xa0\x0f\x04\x0d\x06\x0b\x2a\x86\x48\x86\xf7\x0d\x01\x0c\x0a\x01\x02";
/// assert!(pkcs12(pfx));
/// assert!(!pkcs12(&pfx[..10]));
/// let mut certs_only = pfx.to_vec();
/// certs_only[33] = 3; // certBag
/// assert!(!pkcs12(&certs_only));
/// ```
pub fn pkcs12(bytes: &[u8]) -> bool {
    let mut r = Reader::new(bytes);
    let Some((0x30, pfx)) = der(&mut r) else {
        return false;
    };
    let mut r = Reader::new(pfx);
    if der(&mut r) != Some((0x02, &[3][..])) {
        return false;
    }
    let Some((0x30, content_info)) = der(&mut r) else {
        return false;
    };
    let mut r = Reader::new(content_info);
    // 1.2.840.113549.1.7.1 (data) and .2 (signedData)
    const PKCS7: &[u8] = b"\x2a\x86\x48\x86\xf7\x0d\x01\x07";
    let pkcs7 = matches!(der(&mut r), Some((0x06, oid)) if oid.len() == 9 && oid.starts_with(PKCS7) && matches!(oid[8], 1 | 2));
    const KEY_BAG: &[u8] = b"\x06\x0b\x2a\x86\x48\x86\xf7\x0d\x01\x0c\x0a\x01";
    pkcs7
        && memchr::memmem::find_iter(bytes, KEY_BAG)
            .any(|at| matches!(bytes.get(at + KEY_BAG.len()), Some(1 | 2)))
}

/// A Java key store (JKS, magic `FEEDFEED`, or JCEKS, `CECECECE`, versions 1 and 2) holding at
/// least one private key (tag 1) or secret key (tag 3, JCEKS) entry. A store of trusted
/// certificates only (tag 2, a trust store) is not a leak. Entries are read up to the first
/// key; a store cut short before one fails.
///
/// ```
/// use leakhound::detect::keystore::java_keystore;
/// let mut jks = b"\xfe\xed\xfe\xed\x00\x00\x00\x02\x00\x00\x00\x01".to_vec();
/// jks.extend(b"\x00\x00\x00\x01\x00\x02me\x00\x00\x01\x8c\x00\x00\x00\x00\x00\x00\x00\x03key");
/// jks.extend(b"\x00\x00\x00\x00"); // no certificate chain
/// assert!(java_keystore(&jks));
/// jks[15] = 2; // the entry is a trusted certificate: a trust store
/// assert!(!java_keystore(&jks));
/// ```
pub fn java_keystore(bytes: &[u8]) -> bool {
    let mut r = Reader::new(bytes);
    let jceks = match r.u32() {
        Some(0xFEED_FEED) => false,
        Some(0xCECE_CECE) => true,
        _ => return false,
    };
    let version2 = match r.u32() {
        Some(1) => false,
        Some(2) => true,
        _ => return false,
    };
    let Some(count) = r.u32() else {
        return false;
    };
    for _ in 0..count.min(100_000) {
        let Some(tag) = r.u32() else {
            return false;
        };
        // alias and creation date (milliseconds since the epoch)
        if r.counted16().is_none() || r.take(8).is_none() {
            return false;
        }
        match tag {
            1 => return r.counted32().is_some_and(|key| !key.is_empty()),
            3 if jceks => return true,
            2 => {
                if version2 && r.counted16().is_none() {
                    return false;
                }
                if r.counted32().is_none() {
                    return false;
                }
            }
            _ => return false,
        }
    }
    false
}

/// A Kerberos keytab (`0x05 0x01` or `0x05 0x02`) whose first entry parses: principal
/// components, name type, time stamp, key version and a non-empty key block. Holes (negative
/// entry sizes) are skipped.
///
/// ```
/// use leakhound::detect::keystore::keytab;
/// let mut kt = b"\x05\x02".to_vec();
/// let entry = b"\x00\x01\x00\x0bEXAMPLE.COM\x00\x04host\x00\x00\x00\x01\x65\x00\x00\x00\x01\x00\x12\x00\x04\x01\x02\x03\x04";
/// kt.extend((entry.len() as u32).to_be_bytes());
/// kt.extend(entry);
/// assert!(keytab(&kt));
/// assert!(!keytab(&kt[..kt.len() - 2]));
/// ```
pub fn keytab(bytes: &[u8]) -> bool {
    let mut r = Reader::new(bytes);
    let version1 = match (r.u8(), r.u8()) {
        (Some(5), Some(1)) => true,
        (Some(5), Some(2)) => false,
        _ => return false,
    };
    for _ in 0..10_000 {
        let Some(size) = r.u32() else {
            return false;
        };
        // A hole: a deleted entry whose space is kept.
        let size = size as i32;
        if size < 0 {
            if r.take(size.unsigned_abs() as usize).is_none() {
                return false;
            }
            continue;
        }
        let Some(entry) = r.take(size as usize) else {
            return false;
        };
        let mut e = Reader::new(entry);
        let Some(mut components) = e.u16() else {
            return false;
        };
        if version1 {
            components = components.saturating_sub(1);
        }
        if e.counted16().is_none_or(<[u8]>::is_empty) {
            return false;
        }
        for _ in 0..components {
            if e.counted16().is_none() {
                return false;
            }
        }
        // Version 2 adds the name type.
        if !version1 && e.u32().is_none() {
            return false;
        }
        // time stamp, key version, key type, key
        return e.u32().is_some()
            && e.u8().is_some()
            && e.u16().is_some()
            && e.counted16().is_some_and(|k| !k.is_empty());
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn corrupt_inputs_fail_without_panicking() {
        for input in [
            &b""[..],
            b"\x30",
            b"\x30\x84\xff\xff\xff\xff",
            b"\xfe\xed\xfe\xed\x00\x00\x00\x02\xff\xff\xff\xff",
            b"\xfe\xed\xfe\xed\x00\x00\x00\x02\x00\x00\x00\x01\x00\x00\x00\x01\xff\xff",
            b"\x05\x02\x7f\xff\xff\xff",
            b"\x05\x02\xff\xff\xff\xff",
        ] {
            assert!(!pkcs12(input));
            assert!(!java_keystore(input));
            assert!(!keytab(input));
        }
    }

    #[test]
    fn version_one_keytab_counts_the_realm_as_a_component() {
        let entry = b"\x00\x02\x00\x04ACME\x00\x04host\x00\x00\x00\x01\x65\x00\x12\x00\x02\x01\x02";
        let mut kt = b"\x05\x01".to_vec();
        kt.extend((entry.len() as u32).to_be_bytes());
        kt.extend(entry);
        assert!(keytab(&kt));
    }
}
