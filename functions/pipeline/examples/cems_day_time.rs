//! Times the three parts of computing a day's partial aggregates of online monitoring on a
//! store's validated partitions: reading a partition's columns, the daily aggregation
//! ([`envgov_pipeline::aggregate::cems_day`]) and writing the two partial files: what the
//! bench's `aggregate.online_monitoring` row spends its time on.
//!
//! ```text
//! cargo build --release -p envgov -p envgov-pipeline --example cems_day_time
//! target/release/examples/cems_day_time STORE [DAYS] [REPS]
//! ```
//!
//! Built with `-p envgov` beside it, so that polars has the features of the `envgov` build
//! (`-p envgov-pipeline` alone resolves another feature set and compiles polars again).
//!
//! Reads the first DAYS (default 10) partitions `STORE/validated/cems/date=*/part.parquet`
//! into memory (the columns the aggregation reads, timed once), then aggregates each REPS
//! (default 3) times on one thread at a time and prints the median per day, with the rows in
//! and out, and the time to write the partials as the night stores them.

use envgov_curated::Curated;
use envgov_pipeline::aggregate::{self, CEMS_DAY_INPUT};
use envgov_pipeline::frame::{read_frame_columns, write_frame_internal};
use envgov_pipeline::partials::Inputs;
use std::time::{Duration, Instant};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let store = args
        .next()
        .ok_or("usage: cems_day_time STORE [DAYS] [REPS]")?;
    let days: usize = args.next().map_or(Ok(10), |s| s.parse())?;
    let reps: usize = args.next().map_or(Ok(3), |s| s.parse())?;
    let curated = Curated::load()?;
    let inputs = Inputs::new(&curated)?;
    let schema = envgov_pipeline::validate::schema(envgov_dataset::Source::Cems);
    let mut dirs: Vec<_> = std::fs::read_dir(format!("{store}/validated/cems"))?
        .filter_map(Result::ok)
        .map(|e| e.path())
        .collect();
    dirs.sort();
    let mut partitions = Vec::new();
    let mut read = Duration::ZERO;
    for dir in dirs.into_iter().take(days) {
        let date = dir
            .file_name()
            .and_then(|n| n.to_str())
            .and_then(|n| n.strip_prefix("date="))
            .ok_or("a partition folder is not date=YYYY-MM-DD")?
            .to_string();
        let bytes = std::fs::read(dir.join("part.parquet"))?;
        let started = Instant::now();
        partitions.push((date, read_frame_columns(&bytes, schema, &CEMS_DAY_INPUT)?));
        read += started.elapsed();
    }
    let mut per_day = Vec::new();
    let (mut rows_in, mut rows_out, mut write) = (0, 0, Duration::ZERO);
    for _ in 0..reps {
        let mut aggregating = Duration::ZERO;
        for (date, frame) in &partitions {
            let month: u32 = date.get(5..7).ok_or("bad date")?.parse()?;
            let (limits, _) = inputs.limits(month)?;
            let started = Instant::now();
            let day = aggregate::cems_day(date, frame.clone(), limits, inputs.parameters())?;
            aggregating += started.elapsed();
            rows_in += frame.height();
            rows_out += day.daily.height() + day.exceedances.height();
            let started = Instant::now();
            std::hint::black_box(write_frame_internal(&day.daily)?);
            std::hint::black_box(write_frame_internal(&day.exceedances)?);
            write += started.elapsed();
        }
        per_day.push(aggregating.as_secs_f64() * 1000.0 / partitions.len().max(1) as f64);
    }
    let ms_per_day = |d: Duration, n: usize| d.as_secs_f64() * 1000.0 / n.max(1) as f64;
    per_day.sort_by(f64::total_cmp);
    println!(
        "{} partitions x {reps}: median {:.1} ms per day (min {:.1}, max {:.1}); rows in {}, out {}",
        partitions.len(),
        per_day[per_day.len() / 2],
        per_day[0],
        per_day[per_day.len() - 1],
        rows_in / reps.max(1),
        rows_out / reps.max(1),
    );
    println!(
        "reading a partition: {:.1} ms per day; writing its partials: {:.1} ms per day",
        ms_per_day(read, partitions.len()),
        ms_per_day(write, partitions.len() * reps),
    );
    Ok(())
}
