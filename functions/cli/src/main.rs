//! `envgov`: the command line over the pipeline's jobs.
//!
//! Thin by design: parses arguments, sets up logging and progress bars, opens the store,
//! and calls the same library functions the Lambda functions call.

use anyhow::{Context as _, Result, bail};
use chrono::NaiveDate;
use clap::{Parser, Subcommand};
use envgov_curated::Curated;
use envgov_dataset::{Source, layout};
use envgov_pipeline::jobs::{self, NightlyOptions};
use envgov_pipeline::progress::Progress;
use envgov_pipeline::store::{Store, open_store};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use std::io::IsTerminal;
use std::path::PathBuf;
use std::process::ExitCode;

mod headers;
mod serve;
mod verify;

/// The default store: `./store` in the working directory (the repository's root for the
/// README's commands, where git ignores it). Never a path compiled in from the build
/// machine: an installed binary must not point at a folder that only existed there.
const DEFAULT_STORE: &str = "store";

#[derive(Parser)]
#[command(
    name = "envgov",
    version,
    about = "Beijing environmental governance open data: sample data, validation, the nightly pipeline"
)]
struct Cli {
    /// Log format: `text` for people, `json` for machines.
    #[arg(long, global = true, default_value = "text", value_parser = ["text", "json"])]
    log_format: String,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Generate deterministic, realistic sample raw data into the store's raw/ folder.
    Generate {
        /// The store folder (laid out like the S3 bucket).
        /// The store: a folder laid out like the bucket, or `s3://BUCKET[/PREFIX]`.
        #[arg(long, default_value = DEFAULT_STORE)]
        store: String,
        /// Number of key polluting units.
        #[arg(long, default_value_t = 300)]
        units: usize,
        /// Number of days of data, ending on --end.
        #[arg(long, default_value_t = 31)]
        days: u32,
        /// Last day of the sample window.
        #[arg(long, default_value = "2026-01-31")]
        end: NaiveDate,
        /// Random seed: the same seed gives the same bytes.
        #[arg(long, default_value_t = 2021)]
        seed: u64,
        /// Generate clean data, without injected defects.
        #[arg(long)]
        clean: bool,
    },
    /// Check raw files as a data provider would before delivering them.
    ///
    /// The source is taken from the path (`raw/{source}/{date}/file`) or given with --source;
    /// unit and device look-ups use the registry validated in --store, if any.
    Validate {
        files: Vec<PathBuf>,
        #[arg(long)]
        source: Option<String>,
        /// The delivery date (default: from the path, else today's date is NOT assumed).
        #[arg(long)]
        date: Option<NaiveDate>,
        /// The store: a folder laid out like the bucket, or `s3://BUCKET[/PREFIX]`.
        #[arg(long, default_value = DEFAULT_STORE)]
        store: String,
    },
    /// Ingest raw deliveries already in the store, as the `envgov-ingest` function does when
    /// S3 reports them: validate each key's partition (source × day) now and write the
    /// per-file report `runs/ingest/{source}/{date}/{file}.json`. Prints one JSON line per
    /// key; exits 1 unless every key was accepted whole.
    Ingest {
        /// Keys of delivered files, `raw/{source}/{YYYY-MM-DD}/{file}`.
        #[arg(required = true)]
        keys: Vec<String>,
        /// The store: a folder laid out like the bucket, or `s3://BUCKET[/PREFIX]`.
        #[arg(long, default_value = DEFAULT_STORE)]
        store: String,
        /// When the files arrived (RFC 3339; default: now), as S3's event time.
        #[arg(long)]
        arrived_at: Option<String>,
        /// Refuse a delivery dated more than this many days after its arrival (Beijing).
        #[arg(long, env = "ENVGOV_MAX_FUTURE_DAYS", default_value_t = envgov_pipeline::ingest::DEFAULT_MAX_FUTURE_DAYS)]
        max_future_days: u32,
        /// Reject, unread, any raw file larger than this many bytes.
        #[arg(long, env = "ENVGOV_MAX_FILE_BYTES", default_value_t = envgov_pipeline::partition::DEFAULT_MAX_FILE_BYTES)]
        max_file_bytes: u64,
    },
    /// Run the nightly job: ingest, validate, aggregate and publish datasets.
    Nightly {
        /// The store: a folder laid out like the bucket, or `s3://BUCKET[/PREFIX]`.
        #[arg(long, default_value = DEFAULT_STORE)]
        store: String,
        /// The run date; default: the latest date that has raw data, not after today in
        /// Beijing. Deliveries dated after the run date are held back (see the report).
        #[arg(long)]
        date: Option<NaiveDate>,
        /// Fail when more than this share of a source's new records is rejected.
        #[arg(long, default_value_t = 0.05)]
        max_reject_rate: f64,
        /// Re-hash every raw file against the ledger (default: files whose listed size
        /// and tag match the ledger are trusted, but for a rotating sample each night).
        #[arg(long)]
        rehash: bool,
        /// Reject, unread, any raw file larger than this many bytes.
        #[arg(long, env = "ENVGOV_MAX_FILE_BYTES", default_value_t = envgov_pipeline::partition::DEFAULT_MAX_FILE_BYTES)]
        max_file_bytes: u64,
        /// Hold back a registry delivery that removes more than this share of the units in
        /// force, until `envgov registry accept DATE`.
        #[arg(long, env = "ENVGOV_MAX_REGISTRY_SHRINK", default_value_t = envgov_pipeline::registry::DEFAULT_MAX_REGISTRY_SHRINK)]
        max_registry_shrink: f64,
        /// Generate the default sample data first when the store has no raw data.
        #[arg(long)]
        sample_if_empty: bool,
        /// Publish the datasets only; do not render the site.
        #[arg(long)]
        no_site: bool,
        #[command(flatten)]
        release: ReleaseArgs,
    },
    /// Recompute the datasets of the night of --date from the raw archive of --store into
    /// --out (a new or empty folder laid out like the bucket; nothing is written to
    /// --store), and compare them byte for byte with the dated archive of that date
    /// (`datasets/{id}/archive/{date}/`, its latest revision). Prints every file that
    /// differs with the expected and actual sha256; exits 1 unless every file is identical.
    Rebuild {
        /// The store holding the raw archive and the dated archives.
        #[arg(long, default_value = DEFAULT_STORE)]
        store: String,
        /// The night to rebuild.
        #[arg(long)]
        date: NaiveDate,
        /// Where the rebuild is written: a new or empty folder (or `s3://BUCKET/PREFIX`).
        #[arg(long)]
        out: String,
        /// The file size limit the night ran with.
        #[arg(long, env = "ENVGOV_MAX_FILE_BYTES", default_value_t = envgov_pipeline::partition::DEFAULT_MAX_FILE_BYTES)]
        max_file_bytes: u64,
        /// The registry shrink limit the night ran with.
        #[arg(long, env = "ENVGOV_MAX_REGISTRY_SHRINK", default_value_t = envgov_pipeline::registry::DEFAULT_MAX_REGISTRY_SHRINK)]
        max_registry_shrink: f64,
        /// Print the full comparison as JSON instead of a summary.
        #[arg(long)]
        json: bool,
    },
    /// Render the site alone from what is already published, and make it live.
    Site {
        /// The store: a folder laid out like the bucket, or `s3://BUCKET[/PREFIX]`.
        #[arg(long, default_value = DEFAULT_STORE)]
        store: String,
        #[command(flatten)]
        release: ReleaseArgs,
    },
    /// Make an earlier site release live again (checked complete against its manifest
    /// first), and mirror it to the KeyValueStore when --kvs-arn / ENVGOV_KVS_ARN is set.
    Rollback {
        /// The store: a folder laid out like the bucket, or `s3://BUCKET[/PREFIX]`.
        #[arg(long, default_value = DEFAULT_STORE)]
        store: String,
        /// The release to make live; default: the release live before the current one.
        #[arg(long)]
        to: Option<String>,
        /// The CloudFront KeyValueStore whose `site/current` key mirrors the live release.
        #[arg(long, env = "ENVGOV_KVS_ARN")]
        kvs_arn: Option<String>,
    },
    /// Registry deliveries held back by the nightly run (rejected whole, or shrinking the
    /// register by more than the limit): list them, or confirm one.
    Registry {
        #[command(subcommand)]
        action: RegistryAction,
    },
    /// List the stored site releases, oldest data first; the live one is marked with `*`.
    Releases {
        /// The store: a folder laid out like the bucket, or `s3://BUCKET[/PREFIX]`.
        #[arg(long, default_value = DEFAULT_STORE)]
        store: String,
        /// Print JSON instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// Check a download offline against its signed manifest: the signature, the manifest,
    /// every file's sha256 and size. Exit code 0 only when everything holds.
    Verify(verify::VerifyArgs),
    /// Generate a signing key pair (minisign format, unencrypted) for ENVGOV_SIGNING_KEY_FILE
    /// or SSM Parameter Store.
    Keygen {
        /// The folder to write envgov.key and envgov.pub into (neither may exist).
        #[arg(long)]
        out: PathBuf,
    },
    /// Serve the live site release (and the datasets) on 127.0.0.1 for preview.
    Serve {
        #[arg(long, default_value = DEFAULT_STORE)]
        store: PathBuf,
        /// Port on 127.0.0.1 (0 picks a free one).
        #[arg(long, default_value_t = 8000)]
        port: u16,
    },
}

#[derive(Subcommand)]
enum RegistryAction {
    /// Confirm the registry delivered on DATE: the next nightly run puts it in force even
    /// though it was rejected whole or shrinks the register by more than the limit.
    Accept {
        /// The delivery date of the registry (`raw/enterprises/{DATE}/`).
        date: NaiveDate,
        /// Who confirms, and why (kept with the confirmation).
        #[arg(long)]
        note: Option<String>,
        /// The store: a folder laid out like the bucket, or `s3://BUCKET[/PREFIX]`.
        #[arg(long, default_value = DEFAULT_STORE)]
        store: String,
    },
}

/// How a site release is published (flags, or the same environment as the Lambda function).
#[derive(clap::Args, Debug, Clone)]
struct ReleaseArgs {
    /// The public origin of the site, for absolute URLs (sitemap, feeds, calendars, citations).
    #[arg(long, env = "ENVGOV_SITE_ORIGIN")]
    site_origin: Option<String>,
    /// Site releases to keep, the live one included; older ones are pruned after the
    /// switch (default: keep every release).
    #[arg(long, env = "ENVGOV_RELEASES_TO_KEEP", value_parser = clap::value_parser!(u32).range(1..))]
    releases_to_keep: Option<u32>,
    /// The CloudFront KeyValueStore whose `site/current` key mirrors the live release
    /// (empty: none).
    #[arg(long, env = "ENVGOV_KVS_ARN")]
    kvs_arn: Option<String>,
    /// The in-browser query engine's files (DuckDB-WASM: the folder
    /// `scripts/duckdb-wasm-assets` prints), stored once and copied into every release;
    /// without it, the store's copy if it has one, else the query pages say the engine is
    /// not available.
    #[arg(long, env = "ENVGOV_QUERY_ENGINE")]
    query_engine: Option<std::path::PathBuf>,
}

impl ReleaseArgs {
    /// The options, the signing key from `ENVGOV_SIGNING_KEY` or `ENVGOV_SIGNING_KEY_FILE`
    /// (neither: the store's development key).
    fn options(&self) -> Result<envgov_pipeline::release::ReleaseOptions> {
        Ok(envgov_pipeline::release::ReleaseOptions {
            site_origin: self.site_origin.clone().filter(|o| !o.is_empty()),
            releases_to_keep: self.releases_to_keep.map(|n| n as usize),
            kvs_arn: self.kvs_arn.clone().filter(|a| !a.trim().is_empty()),
            signing: envgov_pipeline::signing::KeyConfig::from_env()?,
            query_engine_dir: self
                .query_engine
                .clone()
                .filter(|d| !d.as_os_str().is_empty()),
        })
    }
}

struct Bars {
    bar: ProgressBar,
}

impl Bars {
    fn new() -> Self {
        let bar = ProgressBar::hidden();
        if std::io::stderr().is_terminal() {
            bar.set_draw_target(ProgressDrawTarget::stderr());
        }
        bar.set_style(
            ProgressStyle::with_template("{prefix:>10} [{bar:40}] {pos}/{len} {elapsed}")
                .expect("template")
                .progress_chars("=> "),
        );
        Self { bar }
    }
}

impl Progress for Bars {
    fn stage(&self, name: &str, total: u64) {
        self.bar.reset();
        self.bar.set_prefix(name.to_string());
        self.bar.set_length(total);
        self.bar.set_position(0);
    }
    fn advance(&self, n: u64) {
        self.bar.inc(n);
    }
    fn done(&self) {
        self.bar.finish_and_clear();
    }
}

fn init_logging(format: &str) {
    let filter =
        tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into());
    // Colour codes only for a person at a terminal: a log file or a pipe gets plain text.
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(std::io::stderr().is_terminal())
        .with_writer(std::io::stderr);
    if format == "json" {
        builder.json().init();
    } else {
        builder.init();
    }
}

fn generate(store: &dyn Store, config: &envgov_sample_data::SampleConfig) -> Result<u64> {
    let mut n = 0u64;
    let mut failure = None;
    let ledger = envgov_sample_data::generate(config, &mut |key, bytes| {
        if failure.is_none() {
            if let Err(e) = store.put(&key, &bytes) {
                failure = Some(e);
            }
            n += 1;
        }
    });
    if let Some(e) = failure {
        return Err(e.into());
    }
    let mut bytes = serde_json::to_vec_pretty(&ledger)?;
    bytes.push(b'\n');
    store.put(envgov_dataset::layout::SAMPLE_LEDGER_KEY, &bytes)?;
    Ok(n)
}

/// A file to check, with the source and delivery date it is checked as.
struct FileToCheck {
    path: PathBuf,
    shown: String,
    source: Source,
    date: NaiveDate,
}

/// The source and delivery date of a file: given, or from its `raw/{source}/{date}/` path.
fn file_to_check(
    path: &std::path::Path,
    source: Option<&str>,
    date: Option<NaiveDate>,
) -> Result<FileToCheck> {
    let shown = path.to_string_lossy().replace('\\', "/");
    let from_path = shown
        .find("raw/")
        .and_then(|i| layout::parse_raw_key(&shown[i..]).ok());
    let source = match (source, &from_path) {
        (Some(s), _) => Source::parse(s).with_context(|| format!("unknown source {s}"))?,
        (None, Some((s, _, _))) => *s,
        (None, None) => bail!(
            "cannot tell the source of {shown}: give --source or use a raw/{{source}}/{{date}}/ path"
        ),
    };
    let date = match (date, &from_path) {
        (Some(d), _) => d,
        (None, Some((_, d, _))) => d.parse().context("date in path")?,
        (None, None) => bail!("cannot tell the delivery date of {shown}: give --date"),
    };
    Ok(FileToCheck {
        path: path.to_path_buf(),
        shown,
        source,
        date,
    })
}

/// `envgov validate`: checks files as a provider would (on both cores, printed in the order
/// given), each against the registry in force on its date, loaded once per registry
/// delivery. Returns whether any record was rejected. Stops at the first file whose source,
/// date or bytes cannot be had, after printing the files before it.
fn check_files(
    store: &dyn Store,
    curated: &Curated,
    files: &[PathBuf],
    source: Option<&str>,
    date: Option<NaiveDate>,
) -> Result<bool> {
    let mut jobs = Vec::new();
    let mut stop = None;
    for path in files {
        match file_to_check(path, source, date) {
            Ok(job) => jobs.push(job),
            Err(e) => {
                stop = Some(e);
                break;
            }
        }
    }
    // The registry in force on a date depends only on the deliveries up to it: one load per
    // latest delivery on or before the files' dates.
    let deliveries: Vec<NaiveDate> = store
        .list("validated/enterprises/")?
        .iter()
        .filter_map(|k| k.strip_prefix("validated/enterprises/date="))
        .filter_map(|r| r.strip_suffix("/part.parquet"))
        .filter_map(|d| d.parse().ok())
        .collect();
    let in_force = |d: NaiveDate| deliveries.iter().copied().filter(|x| *x <= d).max();
    let mut registries = std::collections::BTreeMap::new();
    for job in &jobs {
        if let std::collections::btree_map::Entry::Vacant(e) = registries.entry(in_force(job.date))
        {
            let on = e.key().unwrap_or(job.date);
            e.insert(envgov_pipeline::registry::registry_on(store, on)?);
        }
    }
    let results = envgov_pipeline::partition::in_parallel(&jobs, |job| {
        let bytes =
            std::fs::read(&job.path).with_context(|| format!("reading {}", job.path.display()))?;
        let registry = registries
            .get(&in_force(job.date))
            .context("registry loaded above")?;
        let ctx = envgov_pipeline::validate::Context {
            curated,
            registry,
            date: job.date,
        };
        let r = envgov_pipeline::validate::validate_batch(job.source, &job.shown, &bytes, ctx);
        anyhow::Ok((r.counts, r.rejections))
    });
    let mut failed = false;
    for (job, result) in jobs.iter().zip(results) {
        let (c, rejections) = result?;
        println!(
            "{} ({}, {}, {}): {} read, {} accepted, {} rejected, {} warnings",
            job.shown, job.source, job.date, c.encoding, c.read, c.accepted, c.rejected, c.warnings
        );
        for r in &rejections {
            println!(
                "  line {}: [{}] {} {} = {:?}: {}",
                r.line,
                r.scope.as_str(),
                r.reason_code,
                r.field,
                r.value,
                r.reason
            );
        }
        failed |= c.rejected > 0;
    }
    match stop {
        Some(e) => Err(e),
        None => Ok(failed),
    }
}

/// Prints a rebuild's comparison: every file that is not identical, then the verdict.
fn print_rebuild(report: &envgov_pipeline::rebuild::RebuildReport, json: bool) -> Result<()> {
    if json {
        println!("{}", serde_json::to_string_pretty(report)?);
        return Ok(());
    }
    for f in report.differences() {
        let none = "(none)";
        println!(
            "{:?} {}/{}: expected sha256 {} ({}), actual {} ({})",
            f.verdict,
            f.dataset,
            f.file,
            f.expected_sha256.as_deref().unwrap_or(none),
            f.archive_key.as_deref().unwrap_or("not archived"),
            f.actual_sha256.as_deref().unwrap_or(none),
            f.rebuilt_key.as_deref().unwrap_or("not rebuilt"),
        );
    }
    for key in &report.raw_missing {
        println!("missing raw file: {key} (the night saw it; it is no longer in the store)");
    }
    let differing = report.differences().count();
    println!(
        "rebuild of {}: {} raw files read ({} dated by then but first seen later, left out; {} corrections in force), registry in force {} (that night: {}); {} datasets, {} files compared, {}",
        report.date,
        report.raw_files,
        report.raw_first_seen_later,
        report.revisions_in_force.len(),
        report.registry_in_force.as_deref().unwrap_or("none"),
        report
            .registry_in_force_that_night
            .as_deref()
            .unwrap_or("unknown"),
        report.archives.len(),
        report.files.len(),
        if report.identical() {
            "every file identical to the archive".to_string()
        } else {
            format!("{differing} NOT identical")
        }
    );
    Ok(())
}

fn run(cli: Cli) -> Result<ExitCode> {
    let curated = Curated::load().context("loading the curated tables in data/")?;
    match cli.command {
        Command::Generate {
            store,
            units,
            days,
            end,
            seed,
            clean,
        } => {
            let store = open_store(&store)?;
            let store: &dyn Store = store.as_ref();
            let mut config = envgov_sample_data::SampleConfig {
                units,
                days,
                seed,
                end_date: end,
                ..Default::default()
            };
            if clean {
                config.defects = envgov_sample_data::DefectRates::none();
            }
            let n = generate(store, &config)?;
            eprintln!("wrote {n} raw files to {}", store.describe());
            Ok(ExitCode::SUCCESS)
        }
        Command::Validate {
            files,
            source,
            date,
            store,
        } => {
            if files.is_empty() {
                bail!("give at least one file to check");
            }
            let store = open_store(&store)?;
            let failed = check_files(store.as_ref(), &curated, &files, source.as_deref(), date)?;
            Ok(if failed {
                ExitCode::FAILURE
            } else {
                ExitCode::SUCCESS
            })
        }
        Command::Ingest {
            keys,
            store,
            arrived_at,
            max_future_days,
            max_file_bytes,
        } => {
            use envgov_pipeline::ingest::{self, Limits, Outcome, Status};
            if let Some(t) = &arrived_at {
                chrono::DateTime::parse_from_rfc3339(t)
                    .with_context(|| format!("--arrived-at {t:?} is not an RFC 3339 time"))?;
            }
            let store = open_store(&store)?;
            let limits = Limits {
                max_future_days,
                max_file_bytes,
            };
            let mut all_accepted = true;
            for key in &keys {
                let outcome =
                    ingest::ingest(store.as_ref(), &curated, key, arrived_at.as_deref(), limits)
                        .with_context(|| format!("ingesting {key}"))?;
                all_accepted &= matches!(
                    &outcome,
                    Outcome::Ingested { report, .. } if report.status == Status::Accepted
                );
                println!("{}", outcome.summary());
            }
            Ok(if all_accepted {
                ExitCode::SUCCESS
            } else {
                ExitCode::FAILURE
            })
        }
        Command::Nightly {
            store,
            date,
            max_reject_rate,
            rehash,
            max_file_bytes,
            max_registry_shrink,
            sample_if_empty,
            no_site,
            release,
        } => {
            if !(0.0..=1.0).contains(&max_registry_shrink) {
                bail!("--max-registry-shrink must be between 0 and 1, got {max_registry_shrink}");
            }
            let store = open_store(&store)?;
            let store: &dyn Store = store.as_ref();
            if sample_if_empty && store.list("raw/")?.is_empty() {
                tracing::info!(store = %store.describe(), "store has no raw data: generating the default sample");
                generate(store, &envgov_sample_data::SampleConfig::default())?;
            }
            let bars = Bars::new();
            let opts = NightlyOptions {
                date,
                today: None,
                rehash,
                max_file_bytes,
                max_registry_shrink,
                max_reject_rate,
                progress: Some(&bars),
                render_site: !no_site,
                release: release.options()?,
            };
            let report = jobs::nightly(store, &curated, &opts)?;
            bars.done();
            let (read, accepted, rejected) = report.totals();
            println!(
                "run {}: {read} records read, {accepted} accepted, {rejected} rejected; {} datasets in publication {} of {} (the live site release serves them at /datasets/); report: runs/{}/report.json",
                report.run_date,
                report.datasets.len(),
                report.publication.as_deref().unwrap_or("(none)"),
                store.describe(),
                report.run_date
            );
            let held =
                report.held_back.len() + report.raw_conflicts.len() + report.registry_held.len();
            if held > 0 {
                println!(
                    "attention: {} deliveries held back (future date), {} raw files changed after delivery, {} registry deliveries held: see the report",
                    report.held_back.len(),
                    report.raw_conflicts.len(),
                    report.registry_held.len()
                );
            }
            if let Some(release) = &report.site_release {
                // A release of an older data date than the live one is uploaded, not switched.
                match envgov_pipeline::release::current(store)? {
                    Some(live) if live == *release => println!(
                        "site release {release} is live: preview it with `envgov serve --store {}`",
                        store.describe()
                    ),
                    live => println!(
                        "site release {release} is uploaded but NOT live: {} (of a later data date) stays live; `envgov rollback --to {release}` would switch to it",
                        live.as_deref().unwrap_or("none")
                    ),
                }
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::Registry {
            action: RegistryAction::Accept { date, note, store },
        } => {
            let store = open_store(&store)?;
            let d = date.to_string();
            let validated = layout::validated_key(Source::Enterprises, &d)?;
            if store.get(&validated)?.is_none() {
                bail!(
                    "no validated registry delivery for {d} in {} (run `envgov nightly` first)",
                    store.describe()
                );
            }
            let key = layout::registry_acceptance_key(&d)?;
            let record = serde_json::json!({
                "date": d,
                "validated_sha256": store.stored_hash(&validated)?,
                "note": note,
            });
            let mut bytes = serde_json::to_vec_pretty(&record)?;
            bytes.push(b'\n');
            store.put(&key, &bytes)?;
            println!("registry of {d} accepted ({key}): the next nightly run puts it in force");
            Ok(ExitCode::SUCCESS)
        }
        Command::Rebuild {
            store,
            date,
            out,
            max_file_bytes,
            max_registry_shrink,
            json,
        } => {
            let source = open_store(&store)?;
            let out = open_store(&out)?;
            let opts = envgov_pipeline::rebuild::RebuildOptions {
                date,
                max_file_bytes,
                max_registry_shrink,
            };
            let report =
                envgov_pipeline::rebuild::rebuild(source.as_ref(), out.as_ref(), &curated, &opts)?;
            print_rebuild(&report, json)?;
            Ok(if report.identical() {
                ExitCode::SUCCESS
            } else {
                ExitCode::FAILURE
            })
        }
        Command::Site { store, release } => {
            let store = open_store(&store)?;
            let store: &dyn Store = store.as_ref();
            let release = envgov_pipeline::release::publish(store, &curated, &release.options()?)?;
            println!(
                "site release {} {}: {} pages, {} files, {} bytes; {} objects uploaded, {} unchanged{}",
                release.id,
                if release.live {
                    "is live"
                } else {
                    "is uploaded but NOT live (a release of a later data date is live)"
                },
                release.pages,
                release.files,
                release.bytes,
                release.uploaded,
                release.skipped,
                if release.pruned.is_empty() {
                    String::new()
                } else {
                    format!("; pruned {}", release.pruned.join(", "))
                }
            );
            Ok(ExitCode::SUCCESS)
        }
        Command::Rollback { store, to, kvs_arn } => {
            let store = open_store(&store)?;
            let store: &dyn Store = store.as_ref();
            let options = envgov_pipeline::release::ReleaseOptions {
                kvs_arn: kvs_arn.filter(|a| !a.trim().is_empty()),
                ..Default::default()
            };
            let done = envgov_pipeline::release::rollback(store, to.as_deref(), &options)?;
            println!(
                "site release {} is live (was {}); {} files verified against its manifest{}",
                done.to,
                done.from.as_deref().unwrap_or("none"),
                done.files,
                match &options.kvs_arn {
                    Some(arn) => format!("; KeyValueStore {arn} updated"),
                    None => String::new(),
                }
            );
            Ok(ExitCode::SUCCESS)
        }
        Command::Releases { store, json } => {
            let store = open_store(&store)?;
            let store: &dyn Store = store.as_ref();
            let releases = envgov_pipeline::release::list(store)?;
            if json {
                println!("{}", serde_json::to_string_pretty(&releases)?);
            } else if releases.is_empty() {
                println!("no site releases in {}", store.describe());
            } else {
                for r in &releases {
                    println!(
                        "{} {}  {}  {} objects{}",
                        if r.live { "*" } else { " " },
                        r.id,
                        if r.complete {
                            "complete  "
                        } else {
                            "INCOMPLETE"
                        },
                        r.objects,
                        if r.last_live.is_some() {
                            ""
                        } else {
                            "  (never live)"
                        }
                    );
                }
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::Verify(args) => verify::run(&args),
        Command::Keygen { out } => verify::keygen(&out),
        Command::Serve { store, port } => {
            serve::serve(&store, port)?;
            Ok(ExitCode::SUCCESS)
        }
    }
}

fn main() -> ExitCode {
    envgov_pipeline::memory::limit_arenas();
    let cli = Cli::parse();
    init_logging(&cli.log_format);
    match run(cli) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}
