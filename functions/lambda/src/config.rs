//! The functions' configuration, from environment variables, checked once at start.
//!
//! Every problem is collected (not only the first), so one failed deployment names them
//! all. Nothing here panics; [`Config::from_env`] returns the problems and the binary
//! reports them through the Runtime API's init-error endpoint (see [`crate::runtime_api`]).
//!
//! | variable | meaning |
//! |---|---|
//! | `ENVGOV_STORE` | required: `s3://BUCKET[/PREFIX]` or a folder |
//! | `ENVGOV_EVIDENCE_BUCKET` | optional: bucket holding `raw/` under the same keys |
//! | `ENVGOV_MAX_REJECT_RATE` | optional, `0..=1`, default 0.05 (nightly) |
//! | `ENVGOV_RELEASES_TO_KEEP` | optional, integer ≥ 1 (nightly) |
//! | `ENVGOV_KVS_ARN` | optional CloudFront KeyValueStore ARN; empty = none (nightly) |
//! | `ENVGOV_SITE_ORIGIN` | optional `https://host`; empty = the generator's default (nightly) |
//! | `ENVGOV_MAX_FUTURE_DAYS` | optional integer ≥ 0, default 1: ingest rejects a delivery dated more days after its arrival (Beijing) |
//! | `ENVGOV_MAX_FILE_BYTES` | optional integer ≥ 1, default 256 MiB: larger raw files are rejected unread |
//! | `RUST_LOG` | optional `tracing` filter, default `info` |

use envgov_pipeline::release::ReleaseOptions;
use envgov_pipeline::signing::KeyConfig;
use envgov_pipeline::store::s3::S3Location;
use std::fmt;

/// The default highest share of rejected new records per source (as `envgov nightly`).
pub const DEFAULT_MAX_REJECT_RATE: f64 = 0.05;

/// How many days after its arrival date (in Beijing) a delivery may be dated by default.
pub use envgov_pipeline::ingest::DEFAULT_MAX_FUTURE_DAYS;

/// The checked configuration of either function.
#[derive(Debug, Clone, PartialEq)]
pub struct Config {
    /// `ENVGOV_STORE`: where derived data lives (and raw data, without an evidence bucket).
    pub store: String,
    /// `ENVGOV_EVIDENCE_BUCKET`: the bucket whose `raw/` keys are the deliveries.
    pub evidence_bucket: Option<String>,
    pub max_reject_rate: f64,
    /// `ENVGOV_MAX_FUTURE_DAYS`.
    pub max_future_days: u32,
    /// `ENVGOV_MAX_FILE_BYTES`.
    pub max_file_bytes: u64,
    pub release: ReleaseOptions,
    /// `RUST_LOG`, checked to be a valid filter.
    pub log_filter: String,
}

/// Everything wrong with the environment, one line per variable.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigError {
    pub problems: Vec<String>,
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "invalid configuration: {}", self.problems.join("; "))
    }
}

impl std::error::Error for ConfigError {}

impl Config {
    /// Reads and checks the process environment.
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_lookup(|name| std::env::var(name).ok())
    }

    /// Reads and checks variables from `var` (the environment, or a map in tests). An
    /// empty value counts as unset, as CloudFormation writes `""` for "none".
    pub fn from_lookup(var: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let get = |name: &str| {
            var(name)
                .map(|v| v.trim().to_string())
                .filter(|v| !v.is_empty())
        };
        let mut problems = Vec::new();

        let store = match get("ENVGOV_STORE") {
            None => {
                problems.push(
                    "ENVGOV_STORE is not set (expected s3://BUCKET[/PREFIX] or a folder)".into(),
                );
                String::new()
            }
            Some(s) if s.starts_with("s3://") => {
                if let Err(e) = S3Location::parse(&s) {
                    problems.push(format!("ENVGOV_STORE={s:?}: {e}"));
                }
                s
            }
            Some(s) if s.contains("://") => {
                problems.push(format!(
                    "ENVGOV_STORE={s:?}: only s3:// locations and folders are supported"
                ));
                s
            }
            Some(s) => s,
        };

        let evidence_bucket = get("ENVGOV_EVIDENCE_BUCKET");
        if let Some(b) = &evidence_bucket {
            if b.contains('/') {
                problems.push(format!(
                    "ENVGOV_EVIDENCE_BUCKET={b:?}: a bucket name, without s3:// or a prefix (raw/ keys are read under the same key)"
                ));
            } else if let Err(e) = S3Location::parse(&format!("s3://{b}")) {
                problems.push(format!("ENVGOV_EVIDENCE_BUCKET={b:?}: {e}"));
            }
        }

        let max_reject_rate = match get("ENVGOV_MAX_REJECT_RATE") {
            None => DEFAULT_MAX_REJECT_RATE,
            Some(s) => match s.parse::<f64>() {
                Ok(r) if r.is_finite() && (0.0..=1.0).contains(&r) => r,
                _ => {
                    problems.push(format!(
                        "ENVGOV_MAX_REJECT_RATE={s:?}: expected a number from 0 to 1 (0.05 = 5 %)"
                    ));
                    DEFAULT_MAX_REJECT_RATE
                }
            },
        };

        let max_future_days = match get("ENVGOV_MAX_FUTURE_DAYS") {
            None => DEFAULT_MAX_FUTURE_DAYS,
            Some(s) => s.parse::<u32>().unwrap_or_else(|_| {
                problems.push(format!(
                    "ENVGOV_MAX_FUTURE_DAYS={s:?}: expected a whole number of days (0 or more)"
                ));
                DEFAULT_MAX_FUTURE_DAYS
            }),
        };
        let max_file_bytes = match get("ENVGOV_MAX_FILE_BYTES") {
            None => envgov_pipeline::partition::DEFAULT_MAX_FILE_BYTES,
            Some(s) => match s.parse::<u64>() {
                Ok(n) if n >= 1 => n,
                _ => {
                    problems.push(format!(
                        "ENVGOV_MAX_FILE_BYTES={s:?}: expected a whole number of bytes (1 or more)"
                    ));
                    envgov_pipeline::partition::DEFAULT_MAX_FILE_BYTES
                }
            },
        };

        let releases_to_keep = match get("ENVGOV_RELEASES_TO_KEEP") {
            None => None,
            Some(s) => match s.parse::<usize>() {
                Ok(n) if n >= 1 => Some(n),
                _ => {
                    problems.push(format!(
                        "ENVGOV_RELEASES_TO_KEEP={s:?}: expected a whole number of at least 1"
                    ));
                    None
                }
            },
        };

        let kvs_arn = get("ENVGOV_KVS_ARN");
        if let Some(arn) = &kvs_arn
            && !(arn.starts_with("arn:") && arn.contains(":cloudfront::"))
        {
            problems.push(format!(
                "ENVGOV_KVS_ARN={arn:?}: expected a CloudFront KeyValueStore ARN (arn:PARTITION:cloudfront::ACCOUNT:key-value-store/ID) or nothing"
            ));
        }

        // ENVGOV_SIGNING_KEY (the key's text), ENVGOV_SIGNING_KEY_FILE, or
        // ENVGOV_SIGNING_KEY_SECRET_ARN (read from Secrets Manager now, once); none: the
        // store's development key.
        let signing = KeyConfig::from_lookup(get).unwrap_or_else(|e| {
            problems.push(e.to_string());
            KeyConfig::Development
        });

        let site_origin = get("ENVGOV_SITE_ORIGIN").map(|s| s.trim_end_matches('/').to_string());
        if let Some(origin) = &site_origin {
            let host = origin
                .strip_prefix("https://")
                .or_else(|| origin.strip_prefix("http://"));
            if host.is_none_or(|h| h.is_empty() || h.contains('/')) {
                problems.push(format!(
                    "ENVGOV_SITE_ORIGIN={origin:?}: expected an origin such as https://envgov.example.org (no path)"
                ));
            }
        }

        let log_filter = get("RUST_LOG").unwrap_or_else(|| "info".into());
        if let Err(e) = tracing_subscriber::EnvFilter::try_new(&log_filter) {
            problems.push(format!("RUST_LOG={log_filter:?}: {e}"));
        }

        if !problems.is_empty() {
            return Err(ConfigError { problems });
        }
        Ok(Config {
            store,
            evidence_bucket,
            max_reject_rate,
            max_future_days,
            max_file_bytes,
            release: ReleaseOptions {
                site_origin,
                releases_to_keep,
                kvs_arn,
                signing,
                // The store's copy of the query engine (an operator's `envgov` run put it).
                query_engine_dir: None,
            },
            log_filter,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn config(vars: &[(&str, &str)]) -> Result<Config, ConfigError> {
        let map: HashMap<String, String> = vars
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        Config::from_lookup(|name| map.get(name).cloned())
    }

    #[test]
    fn hostile_environment_values_are_reported_never_panics() {
        const VARS: [&str; 8] = [
            "ENVGOV_STORE",
            "ENVGOV_EVIDENCE_BUCKET",
            "ENVGOV_MAX_REJECT_RATE",
            "ENVGOV_MAX_FUTURE_DAYS",
            "ENVGOV_MAX_FILE_BYTES",
            "ENVGOV_RELEASES_TO_KEEP",
            "ENVGOV_KVS_ARN",
            "ENVGOV_SITE_ORIGIN",
        ];
        const VALUES: [&str; 16] = [
            "",
            " ",
            "s3://",
            "s3:///x",
            "s3://b/p",
            "://",
            "NaN",
            "inf",
            "-1",
            "1e309",
            "18446744073709551616",
            "0",
            "中文",
            "arn:aws:cloudfront::1:key-value-store/x",
            "https://",
            "\u{0}",
        ];
        let mut seed = 7u64;
        let (mut accepted, mut refused) = (0, 0);
        for _ in 0..5_000 {
            let vars: Vec<(&str, &str)> = VARS
                .iter()
                .map(|v| {
                    seed = seed
                        .wrapping_mul(6364136223846793005)
                        .wrapping_add(1442695040888963407);
                    (*v, VALUES[(seed >> 33) as usize % VALUES.len()])
                })
                .collect();
            match config(&vars) {
                Ok(_) => accepted += 1,
                Err(e) => {
                    assert!(!e.problems.is_empty() && e.problems.iter().all(|p| !p.is_empty()));
                    refused += 1;
                }
            }
        }
        assert!(refused > 0 && accepted + refused == 5_000);
    }

    #[test]
    fn reads_the_template_s_variables() {
        let c = config(&[
            ("ENVGOV_STORE", "s3://prod-envgov-store-1-cn-north-1"),
            (
                "ENVGOV_EVIDENCE_BUCKET",
                "prod-envgov-evidence-1-cn-north-1",
            ),
            ("ENVGOV_MAX_REJECT_RATE", "0.1"),
            ("ENVGOV_RELEASES_TO_KEEP", "7"),
            (
                "ENVGOV_KVS_ARN",
                "arn:aws-cn:cloudfront::123456789012:key-value-store/abc",
            ),
            ("ENVGOV_SITE_ORIGIN", "https://envgov.example.org/"),
            ("RUST_LOG", "info,envgov_pipeline=debug"),
        ])
        .unwrap();
        assert_eq!(c.store, "s3://prod-envgov-store-1-cn-north-1");
        assert_eq!(
            c.evidence_bucket.as_deref(),
            Some("prod-envgov-evidence-1-cn-north-1")
        );
        assert_eq!(c.max_reject_rate, 0.1);
        assert_eq!(c.release.releases_to_keep, Some(7));
        assert_eq!(
            c.release.site_origin.as_deref(),
            Some("https://envgov.example.org")
        );
        assert!(c.release.kvs_arn.is_some());
    }

    #[test]
    fn empty_values_mean_unset_as_cloudformation_writes_them() {
        let c = config(&[
            ("ENVGOV_STORE", "/tmp/store"),
            ("ENVGOV_EVIDENCE_BUCKET", ""),
            ("ENVGOV_KVS_ARN", ""),
            ("ENVGOV_SITE_ORIGIN", ""),
        ])
        .unwrap();
        assert_eq!(c.evidence_bucket, None);
        assert_eq!(c.release, ReleaseOptions::default());
        assert_eq!(c.max_reject_rate, DEFAULT_MAX_REJECT_RATE);
        assert_eq!(c.log_filter, "info");
    }

    #[test]
    fn names_every_bad_variable_at_once() {
        let err = config(&[
            ("ENVGOV_MAX_REJECT_RATE", "abc"),
            ("ENVGOV_RELEASES_TO_KEEP", "0"),
            ("ENVGOV_EVIDENCE_BUCKET", "s3://evidence/raw"),
            ("ENVGOV_SITE_ORIGIN", "envgov.example.org"),
            ("ENVGOV_KVS_ARN", "kvs"),
        ])
        .unwrap_err();
        let text = err.to_string();
        for name in [
            "ENVGOV_STORE is not set",
            "ENVGOV_MAX_REJECT_RATE=\"abc\"",
            "ENVGOV_RELEASES_TO_KEEP=\"0\"",
            "ENVGOV_EVIDENCE_BUCKET=",
            "ENVGOV_SITE_ORIGIN=",
            "ENVGOV_KVS_ARN=",
        ] {
            assert!(text.contains(name), "{name} missing from {text}");
        }
        assert_eq!(err.problems.len(), 6);
    }

    #[test]
    fn refuses_out_of_range_rates_and_bad_stores() {
        for rate in ["1.5", "-0.1", "NaN", "inf"] {
            assert!(
                config(&[("ENVGOV_STORE", "s"), ("ENVGOV_MAX_REJECT_RATE", rate)]).is_err(),
                "{rate}"
            );
        }
        assert!(config(&[("ENVGOV_STORE", "s3://Bad_Bucket")]).is_err());
        assert!(config(&[("ENVGOV_STORE", "gs://bucket")]).is_err());
        assert!(config(&[("ENVGOV_STORE", "s3://ok-bucket/prefix")]).is_ok());
    }
}
