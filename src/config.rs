//! [`ScanConfig`]: the validated, compiled options of a scan, built from command-line settings
//! and the `.leakhound.toml` configuration file.
//!
//! ```toml
//! [rules]
//! disable = ["generic.password"]     # rule ids to turn off
//! files = ["ci/team-rules.yml"]      # extra rule files or directories (relative to this file)
//!
//! [paths]
//! exclude = ["fixtures/**", "*.min.js"]  # globs against paths relative to the scan root;
//!                                        # a glob without `/` matches at any depth
//!
//! [scan]
//! max_file_size = "25MiB"            # or a number of bytes; 0 = no limit (default: none for
//!                                    # files, scanned in windows; 25MiB for git blobs, image
//!                                    # files and archive members, which are held whole)
//! min_confidence = "medium"          # low | medium | high: hide findings below this
//! decode_depth = 2                   # encodings deep to decode (0 = off)
//!
//! [verify]                           # used with --verify
//! endpoints = { github = "https://github.example.com/api/v3" }  # replaces a provider's API origin
//! timeout = 10                       # seconds per request
//! concurrency = 32                   # requests in flight, in all
//! per_provider = 8                   # requests in flight to one provider
//! rate = 25                          # requests started per second to one provider
//! retries = 2                        # after a 429 or 5xx, with backoff
//! max_age_hours = 24                 # how long an `org` store's cached result stays fresh
//! ```

use std::{
    path::{Path, PathBuf},
    sync::Arc,
};

use globset::{GlobSet, GlobSetBuilder};
use serde::Deserialize;

use crate::{
    analysis::{self, Analyzer},
    detect::{Detector, validate::Confidence},
    rules::{LoadError, RuleSet},
    sources::fs::FsOptions,
    suppress::{
        Suppressions,
        baseline::Baseline,
        ignore::{IGNORE_FILE_NAME, IgnoreFile},
    },
};

/// The configuration file looked for at the scan root.
pub const CONFIG_FILE_NAME: &str = ".leakhound.toml";
pub use crate::sources::DEFAULT_MAX_FILE_SIZE;
/// Default `--min-confidence`: generic matches in documentation, tests and examples, weak
/// values and expired tokens are hidden unless asked for.
pub const DEFAULT_MIN_CONFIDENCE: Confidence = Confidence::Medium;

/// Errors while building a scan configuration.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The configuration file could not be read.
    #[error("failed to read config file {path}")]
    Read {
        /// The file.
        path: PathBuf,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// The configuration file is not valid.
    #[error("invalid config file {path}")]
    Parse {
        /// The file.
        path: PathBuf,
        /// The cause.
        #[source]
        source: toml::de::Error,
    },
    /// A path glob does not parse.
    #[error("invalid exclude glob {glob:?}")]
    Glob {
        /// The glob.
        glob: String,
        /// The cause.
        #[source]
        source: globset::Error,
    },
    /// A size does not parse.
    #[error("invalid size {0:?}: use a number of bytes or a suffix K, M or G (KiB, MiB, GiB)")]
    Size(String),
    /// The `[verify]` section is not valid.
    #[error("invalid config file {path}: {message}")]
    Verify {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        message: String,
    },
    /// Rules failed to load.
    #[error(transparent)]
    Rules(#[from] LoadError),
    /// The ignore file could not be read.
    #[error("failed to read ignore file {path}")]
    Ignore {
        /// The file.
        path: PathBuf,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// The baseline could not be read.
    #[error(transparent)]
    Baseline(#[from] crate::suppress::baseline::Error),
    /// A gitleaks configuration could not be used.
    #[error(transparent)]
    Gitleaks(#[from] crate::gitleaks::ConfigError),
}

/// The `.leakhound.toml` file.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConfigFile {
    /// `[rules]`
    #[serde(default)]
    pub rules: RulesSection,
    /// `[paths]`
    #[serde(default)]
    pub paths: PathsSection,
    /// `[scan]`
    #[serde(default)]
    pub scan: ScanSection,
    /// `[verify]`
    #[serde(default)]
    pub verify: VerifySection,
}

/// `[verify]` of the configuration file (used with `--verify`).
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VerifySection {
    /// Providers' API origins replaced, keyed by the rule id's provider part.
    #[serde(default)]
    pub endpoints: std::collections::BTreeMap<String, String>,
    /// Seconds before one request times out (default 10).
    #[serde(default)]
    pub timeout: Option<f64>,
    /// Requests in flight at once (default 32).
    #[serde(default)]
    pub concurrency: Option<usize>,
    /// Requests in flight at once to one provider (default 8).
    #[serde(default)]
    pub per_provider: Option<usize>,
    /// Requests started per second to one provider (default 25).
    #[serde(default)]
    pub rate: Option<f64>,
    /// Retries after a 429 or 5xx (default 2).
    #[serde(default)]
    pub retries: Option<u32>,
    /// Hours a result cached in an `org` store stays fresh (default 24).
    #[serde(default)]
    pub max_age_hours: Option<f64>,
}

impl VerifySection {
    /// The verification settings this section asks for.
    pub fn settings(&self) -> Result<crate::verify::Settings, String> {
        let d = crate::verify::Settings::default();
        for (provider, url) in &self.endpoints {
            crate::verify::check_endpoint(url)
                .map_err(|e| format!("[verify.endpoints] {provider}: {e}"))?;
        }
        let secs = |v: Option<f64>, what: &str, default: std::time::Duration| match v {
            None => Ok(default),
            Some(s) if s.is_finite() && s > 0.0 && s < 1e9 => {
                Ok(std::time::Duration::from_secs_f64(s))
            }
            Some(s) => Err(format!("[verify] {what} = {s} is not a positive number")),
        };
        let rate = self.rate.unwrap_or(d.rate);
        if !(rate.is_finite() && rate > 0.0) {
            return Err(format!("[verify] rate = {rate} is not a positive number"));
        }
        Ok(crate::verify::Settings {
            endpoints: self.endpoints.clone(),
            timeout: secs(self.timeout, "timeout", d.timeout)?,
            concurrency: self.concurrency.unwrap_or(d.concurrency).clamp(1, 1024),
            per_provider: self.per_provider.unwrap_or(d.per_provider).clamp(1, 1024),
            rate,
            retries: self.retries.unwrap_or(d.retries).min(10),
            backoff: d.backoff,
            max_age: secs(
                self.max_age_hours.map(|h| h * 3600.0),
                "max_age_hours",
                d.max_age,
            )?,
        })
    }
}

/// `[rules]` of the configuration file.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RulesSection {
    /// Rule ids to turn off.
    #[serde(default)]
    pub disable: Vec<String>,
    /// Extra rule files or directories, relative to the configuration file.
    #[serde(default)]
    pub files: Vec<PathBuf>,
}

/// `[paths]` of the configuration file.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PathsSection {
    /// Globs of paths to skip.
    #[serde(default)]
    pub exclude: Vec<String>,
}

/// `[scan]` of the configuration file.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ScanSection {
    /// Maximum file size.
    #[serde(default)]
    pub max_file_size: Option<SizeSyntax>,
    /// Findings below this confidence are hidden (and counted).
    #[serde(default)]
    pub min_confidence: Option<Confidence>,
    /// How many encodings deep to decode (0 = no decoding).
    #[serde(default)]
    pub decode_depth: Option<u8>,
}

/// A size: bytes, or text with a suffix.
#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
pub enum SizeSyntax {
    /// Bytes.
    Bytes(u64),
    /// `25MiB`, `512K`, ...
    Text(String),
}

/// Parses `1024`, `512K`, `25M`, `25MiB`, `1GB` (all multiples are powers of 1024).
///
/// ```
/// use leakhound::config::parse_size;
/// assert_eq!(parse_size("25MiB").unwrap(), 25 << 20);
/// assert_eq!(parse_size("512k").unwrap(), 512 << 10);
/// assert_eq!(parse_size("0").unwrap(), 0);
/// assert!(parse_size("lots").is_err());
/// ```
pub fn parse_size(text: &str) -> Result<u64, ConfigError> {
    let t = text.trim();
    let digits = t.find(|c: char| !c.is_ascii_digit()).unwrap_or(t.len());
    let (num, suffix) = t.split_at(digits);
    let n: u64 = num
        .parse()
        .map_err(|_| ConfigError::Size(text.to_owned()))?;
    let shift = match suffix.trim().to_ascii_lowercase().as_str() {
        "" | "b" => 0,
        "k" | "kb" | "kib" => 10,
        "m" | "mb" | "mib" => 20,
        "g" | "gb" | "gib" => 30,
        _ => return Err(ConfigError::Size(text.to_owned())),
    };
    n.checked_mul(1 << shift)
        .ok_or_else(|| ConfigError::Size(text.to_owned()))
}

impl ConfigFile {
    /// Reads and parses a configuration file.
    pub fn load(path: &Path) -> Result<ConfigFile, ConfigError> {
        let text = read_config(path)?;
        ConfigFile::parse(path, &text)
    }

    /// Parses the text of a configuration file.
    pub fn parse(path: &Path, text: &str) -> Result<ConfigFile, ConfigError> {
        toml::from_str(text).map_err(|source| ConfigError::Parse {
            path: path.to_owned(),
            source,
        })
    }
}

fn read_config(path: &Path) -> Result<String, ConfigError> {
    std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
        path: path.to_owned(),
        source,
    })
}

/// The configuration file of a scan root: `.leakhound.toml`, else Betterleaks' or gitleaks'.
fn discover(root: &Path) -> Option<PathBuf> {
    std::iter::once(CONFIG_FILE_NAME)
        .chain(crate::gitleaks::CONFIG_FILE_NAMES)
        .map(|name| root.join(name))
        .find(|p| p.is_file())
}

/// Settings from the command line that shape a scan (no clap types here).
#[derive(Debug, Clone, Default)]
pub struct ScanSettings {
    /// `--config FILE`: must exist. Without it, `<root>/.leakhound.toml` is used if present.
    pub config_file: Option<PathBuf>,
    /// The scan root, where the configuration file is looked for.
    pub root: PathBuf,
    /// `--rules PATH`: extra rule files or directories.
    pub extra_rules: Vec<PathBuf>,
    /// `--threads N` (0 = one per core).
    pub threads: usize,
    /// `--max-file-size`, overriding the configuration file.
    pub max_file_size: Option<u64>,
    /// `--min-confidence`, overriding the configuration file.
    pub min_confidence: Option<Confidence>,
    /// Honour `.gitignore` files.
    pub respect_ignore: bool,
    /// Scan binary files too.
    pub scan_binary: bool,
    /// Honour `leakhound:allow` markers (`--no-inline-allow` turns this off).
    pub inline_allow: bool,
    /// `--ignore-file FILE`: must exist. Without it, `<root>/.leakhoundignore` if present.
    pub ignore_file: Option<PathBuf>,
    /// `--baseline FILE`.
    pub baseline: Option<PathBuf>,
    /// Use no ignore file at all (not even a discovered one).
    pub no_ignore_file: bool,
    /// The scan reads a few small inputs (pre-commit): build the cheaper prefilter.
    pub small_inputs: bool,
    /// `--decode-depth`, overriding the configuration file.
    pub decode_depth: Option<u8>,
    /// `--verify`: ask providers whether secrets are live.
    pub verify: bool,
}

impl ScanSettings {
    /// The same settings with every suppression (inline, ignore file, baseline) turned off.
    pub fn no_suppressions(self) -> ScanSettings {
        ScanSettings {
            inline_allow: false,
            ignore_file: None,
            baseline: None,
            no_ignore_file: true,
            ..self
        }
    }
}

/// A compiled scan configuration.
#[derive(Debug)]
pub struct ScanConfig {
    /// The analysis: the detector over the enabled rules, and its settings.
    pub analyzer: Analyzer,
    /// Filesystem walk options.
    pub fs: FsOptions,
    /// The configuration file that was used, if any.
    pub config_file: Option<PathBuf>,
    /// Non-fatal problems with the configuration (e.g. disabling an unknown rule id).
    pub warnings: Vec<String>,
    /// Findings below this confidence are hidden (and counted).
    pub min_confidence: Confidence,
    /// Ignore file and baseline.
    pub suppressions: Suppressions,
    /// How to verify, when `--verify` asked for it.
    pub verify: Option<crate::verify::Settings>,
}

impl ScanConfig {
    /// The detector over the enabled rules.
    pub fn detector(&self) -> &Detector {
        self.analyzer.detector()
    }

    /// Loads rules and the configuration file and compiles everything.
    pub fn build(settings: &ScanSettings) -> Result<ScanConfig, ConfigError> {
        let config_path = match &settings.config_file {
            Some(p) => Some(p.clone()),
            None => discover(&settings.root),
        };
        let text = config_path.as_deref().map(read_config).transpose()?;
        let gitleaks = match (&config_path, &text) {
            (Some(p), Some(t))
                if crate::gitleaks::is_gitleaks_config(t)
                    || p.file_name().is_some_and(|n| {
                        crate::gitleaks::CONFIG_FILE_NAMES.iter().any(|g| n == *g)
                    }) =>
            {
                Some(crate::gitleaks::load(p)?)
            }
            _ => None,
        };
        let file = match (&config_path, &text) {
            (Some(p), Some(t)) if gitleaks.is_none() => ConfigFile::parse(p, t)?,
            _ => ConfigFile::default(),
        };
        let base = config_path
            .as_deref()
            .and_then(Path::parent)
            .unwrap_or(Path::new("."));
        let mut warnings = Vec::new();
        // Why: a gitleaks configuration without `useDefault` runs only its own rules.
        let mut rules = match &gitleaks {
            Some(g) if !g.use_default => RuleSet::default(),
            _ => RuleSet::builtin()?,
        };
        for extra in &file.rules.files {
            rules.add_path(&base.join(extra))?;
        }
        for extra in &settings.extra_rules {
            rules.add_path(extra)?;
        }
        let mut allowlists = crate::gitleaks::Allowlists::default();
        if let Some(g) = gitleaks {
            for custom in g.rules {
                rules.push(crate::rules::Rule::from_gitleaks(custom))?;
            }
            for unknown in rules.disable(&g.disabled) {
                warnings.push(format!(
                    "the gitleaks configuration disables rule {unknown:?}, which is neither a leakhound rule id nor one of its rules"
                ));
            }
            warnings.extend(g.warnings);
            allowlists = g.allowlists;
        }
        for unknown in rules.disable(&file.rules.disable) {
            warnings.push(format!(
                "the configuration disables unknown rule id {unknown:?}"
            ));
        }
        let exclude = build_globs(&file.paths.exclude)?;
        let max_file_size = match (settings.max_file_size, &file.scan.max_file_size) {
            (Some(n), _) => Some(n),
            (None, Some(SizeSyntax::Bytes(n))) => Some(*n),
            (None, Some(SizeSyntax::Text(t))) => Some(parse_size(t)?),
            (None, None) => None,
        };
        let ignore_path = match &settings.ignore_file {
            _ if settings.no_ignore_file => None,
            Some(p) => Some(p.clone()),
            None => Some(settings.root.join(IGNORE_FILE_NAME)).filter(|p| p.is_file()),
        };
        let ignore = match ignore_path {
            Some(p) => Some(IgnoreFile::load(&p).map_err(|source| ConfigError::Ignore {
                path: p.clone(),
                source,
            })?),
            None => None,
        };
        if let Some(ignore) = &ignore {
            for (line, problem) in &ignore.problems {
                warnings.push(format!(
                    "{}:{line}: {problem} (entry not applied)",
                    ignore.path.display()
                ));
            }
        }
        let baseline = settings
            .baseline
            .as_deref()
            .map(Baseline::load)
            .transpose()?;
        let gitleaks_ignore = Some(settings.root.join(crate::gitleaks::ignore::FILE_NAME))
            .filter(|p| !settings.no_ignore_file && p.is_file())
            .map(|p| {
                let ids: std::collections::HashSet<&str> =
                    rules.rules().iter().map(|r| r.id.as_str()).collect();
                crate::gitleaks::ignore::GitleaksIgnore::load(&p, &ids)
                    .map_err(|source| ConfigError::Ignore { path: p, source })
            })
            .transpose()?;
        if let Some(g) = &gitleaks_ignore {
            for (line, text) in &g.problems {
                warnings.push(format!(
                    "{}:{line}: not a gitleaks fingerprint (path:rule:line or commit:path:rule:line): {text:?} (entry not applied)",
                    g.path.display()
                ));
            }
            let foreign = g.foreign_rules();
            if foreign > 0 {
                warnings.push(format!(
                    "{}: {foreign} fingerprint(s) name rule ids leakhound does not have (gitleaks' own rules); each suppresses any finding at its path and line",
                    g.path.display()
                ));
            }
        }
        let binary_paths = rules.binary_paths();
        let verify = if settings.verify {
            Some(
                file.verify
                    .settings()
                    .map_err(|message| ConfigError::Verify {
                        path: config_path.clone().unwrap_or_default(),
                        message,
                    })?,
            )
        } else {
            None
        };
        Ok(ScanConfig {
            min_confidence: settings
                .min_confidence
                .or(file.scan.min_confidence)
                .unwrap_or(DEFAULT_MIN_CONFIDENCE),
            suppressions: Suppressions {
                ignore,
                baseline,
                gitleaks_ignore,
            },
            analyzer: Analyzer::new(
                if settings.small_inputs {
                    Detector::for_small_inputs(Arc::new(rules))
                } else {
                    Detector::new(Arc::new(rules))
                },
                analysis::Settings {
                    inline_allow: settings.inline_allow,
                    decode_depth: settings
                        .decode_depth
                        .or(file.scan.decode_depth)
                        .unwrap_or(analysis::DEFAULT_DECODE_DEPTH),
                    companions: settings.verify,
                },
            )
            .with_allowlists(allowlists),
            fs: FsOptions {
                threads: settings.threads,
                respect_ignore: settings.respect_ignore,
                exclude: exclude.map(Arc::new),
                // Why: files on disk are read in windows, so none is too large by default;
                // git blobs, image files and archive members are held whole.
                max_file_size: max_file_size.unwrap_or(0),
                max_blob_size: max_file_size.unwrap_or(DEFAULT_MAX_FILE_SIZE),
                scan_binary: settings.scan_binary,
                binary_paths,
            },
            config_file: config_path,
            warnings,
            verify,
        })
    }
}

/// Compiles exclude globs; a glob without `/` matches at any depth, and a directory glob also
/// excludes what is below it.
fn build_globs(globs: &[String]) -> Result<Option<GlobSet>, ConfigError> {
    if globs.is_empty() {
        return Ok(None);
    }
    let mut b = GlobSetBuilder::new();
    for g in globs {
        let trimmed = g.trim_start_matches("./").trim_end_matches('/');
        let anchored = if trimmed.contains('/') {
            trimmed.to_owned()
        } else {
            format!("**/{trimmed}")
        };
        for pattern in [anchored.clone(), format!("{anchored}/**")] {
            let glob = globset::GlobBuilder::new(&pattern)
                .literal_separator(true)
                .build()
                .map_err(|source| ConfigError::Glob {
                    glob: g.clone(),
                    source,
                })?;
            b.add(glob);
        }
    }
    b.build().map(Some).map_err(|source| ConfigError::Glob {
        glob: globs.join(", "),
        source,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn globs_anchor_and_cover_directories() {
        let set = build_globs(&["fixtures/**".into(), "*.min.js".into(), "vendor".into()])
            .unwrap()
            .unwrap();
        assert!(set.is_match("fixtures/a/b.txt"));
        assert!(set.is_match("web/app.min.js"));
        assert!(set.is_match("vendor/x/y.go"));
        assert!(set.is_match("a/vendor/y.go"));
        assert!(!set.is_match("src/fixtures.rs"));
    }

    #[test]
    fn config_file_rejects_unknown_keys() {
        let err = toml::from_str::<ConfigFile>("[rules]\ndisabled = []\n").unwrap_err();
        assert!(err.to_string().contains("disabled"), "{err}");
        let ok: ConfigFile = toml::from_str("[scan]\nmax_file_size = \"1MiB\"\n").unwrap();
        assert!(matches!(ok.scan.max_file_size, Some(SizeSyntax::Text(_))));
    }
}
