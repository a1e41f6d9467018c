//! The [`Secret`] newtype: a found credential that redacts itself everywhere.
//!
//! `Debug`, `Display` and `Serialize` all print the redacted form, so no error message, log line
//! or report can leak the value by accident. [`Secret::expose`] is the only way to the value; only
//! reporters given `--show-secrets` call it.

use std::fmt;

use serde::{Serialize, Serializer};
use sha2::{Digest, Sha256};

/// A found secret value (or, read back from a store, only its redacted form).
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct Secret {
    value: String,
    withheld: bool,
}

impl Secret {
    /// Wraps a value (invalid UTF-8 is replaced with U+FFFD).
    pub fn new(bytes: &[u8]) -> Secret {
        Secret {
            value: String::from_utf8_lossy(bytes).into_owned(),
            withheld: false,
        }
    }

    /// A secret whose value is not known, only its redacted form (stores keep no values).
    ///
    /// ```
    /// use leakhound::secret::Secret;
    /// let s = Secret::withheld("ghp_…");
    /// assert_eq!((s.redacted().as_str(), s.expose()), ("ghp_…", "ghp_…"));
    /// ```
    pub fn withheld(redacted: &str) -> Secret {
        Secret {
            value: redacted.to_owned(),
            withheld: true,
        }
    }

    /// Whether only the redacted form is known (read back from a store).
    pub fn is_withheld(&self) -> bool {
        self.withheld
    }

    /// The value itself (for a [withheld](Secret::withheld) secret, its redacted form). Call only
    /// when the user asked to see secrets.
    pub fn expose(&self) -> &str {
        &self.value
    }

    /// The redacted form: a short prefix (4 characters for values of 12 or more, 2 for 6 to 11,
    /// none below) followed by `…`.
    ///
    /// ```
    /// use leakhound::secret::Secret;
    /// assert_eq!(Secret::new(b"ghp_k8Xq2LmP9zRw4TvB").redacted(), "ghp_…");
    /// assert_eq!(Secret::new(b"hunter22").redacted(), "hu…");
    /// assert_eq!(Secret::new(b"abc").redacted(), "…");
    /// ```
    pub fn redacted(&self) -> String {
        if self.withheld {
            return self.value.clone();
        }
        let n = self.value.chars().count();
        let keep = if n >= 12 {
            4
        } else if n >= 6 {
            2
        } else {
            0
        };
        let mut s: String = self.value.chars().take(keep).collect();
        s.push('…');
        s
    }

    /// A stable identifier of this secret as found by `rule_id`: the first 128 bits of
    /// SHA-256 over a domain tag, the rule id and the value, as 32 hex digits. The same secret
    /// found by the same rule anywhere has the same id; the id reveals nothing practical about a
    /// long random secret (a short password could be guessed by trying candidates, which is why
    /// the value is hashed together with the rule id and a tag rather than alone).
    pub fn id(&self, rule_id: &str) -> String {
        let mut h = Sha256::new();
        h.update(b"leakhound:secret-id:v1\0");
        h.update(rule_id.as_bytes());
        h.update(b"\0");
        h.update(self.value.as_bytes());
        let digest = h.finalize();
        digest[..16].iter().map(|b| format!("{b:02x}")).collect()
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Secret({})", self.redacted())
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.redacted())
    }
}

impl Serialize for Secret {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.redacted())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn never_prints_the_value() {
        let s = Secret::new(b"sk_live_Zq81mXk20LpAq9");
        assert!(!format!("{s:?} {s}").contains("Zq81"));
        assert!(!serde_json::to_string(&s).unwrap().contains("Zq81"));
        assert_eq!(s.expose(), "sk_live_Zq81mXk20LpAq9");
    }

    #[test]
    fn id_depends_on_rule_and_value_only() {
        let a = Secret::new(b"value-one-123");
        assert_eq!(a.id("r.a"), Secret::new(b"value-one-123").id("r.a"));
        assert_ne!(a.id("r.a"), a.id("r.b"));
        assert_ne!(a.id("r.a"), Secret::new(b"value-one-124").id("r.a"));
        assert_eq!(a.id("r.a").len(), 32);
    }
}
