//! Building every published table from the validated partitions.
//!
//! Stage: aggregate (reads validated partitions through the store, then pure functions of
//! `aggregate` do the work). The ids here must match `data/datasets.toml`; `jobs` fails a run
//! where they disagree. The period of the time-based datasets is the calendar year of the run
//! date, up to and including the run date.

use crate::aggregate;
use crate::error::JobError;
use crate::frame::{self, from_frame};
use crate::monthly::Monthly;
use crate::partials;
use crate::progress::Progress;
use crate::provenance::RawHashes;
use crate::publish::Dataset;
use crate::store::Store;
use crate::table::{Cell, Kind, Table, Values, round};
use crate::validate::{self, Registry};
use chrono::{Datelike, NaiveDate};
use envgov_curated::Curated;
use envgov_dataset::published::EXCEEDANCE_ORDER;
use envgov_dataset::{Source, ids};
use polars::prelude::DataFrame;
use std::collections::BTreeMap;
use std::time::Instant;

fn polars(what: &str) -> impl FnOnce(polars::error::PolarsError) -> JobError + '_ {
    move |source| JobError::Polars {
        what: what.to_string(),
        source,
    }
}

fn partition(
    store: &dyn Store,
    source: Source,
    date: NaiveDate,
) -> Result<Option<Table>, JobError> {
    crate::partition::read_partition(store, source, &date.to_string())
}

/// Appends a constant string column.
fn with_const(mut t: Table, name: &str, value: &str) -> Table {
    let n = t.rows();
    t.names.push(name.to_string());
    t.columns
        .push(Values::Str(vec![Some(value.to_string()); n]));
    t
}

/// Inserts string columns computed from another string column, right after it.
fn with_lookup(
    mut t: Table,
    from: &str,
    names: &[&str],
    f: impl Fn(&str) -> Vec<Option<String>>,
) -> Table {
    let at = t
        .names
        .iter()
        .position(|n| n == from)
        .expect("lookup column");
    let keys = t.str_column(from).to_vec();
    let mut cols: Vec<Vec<Option<String>>> = vec![Vec::with_capacity(keys.len()); names.len()];
    for k in &keys {
        let vals = k
            .as_deref()
            .map(&f)
            .unwrap_or_else(|| vec![None; names.len()]);
        for (c, v) in cols.iter_mut().zip(vals) {
            c.push(v);
        }
    }
    for (i, (name, c)) in names.iter().zip(cols).enumerate() {
        t.names.insert(at + 1 + i, name.to_string());
        t.columns.insert(at + 1 + i, Values::Str(c));
    }
    t
}

fn with_unit_names(t: Table, registry: &Registry) -> Table {
    with_lookup(t, "uscc", &["name_zh", "name_en"], |u| {
        match registry.unit(u) {
            Some(x) => vec![Some(x.name_zh.clone()), Some(x.name_en.clone())],
            None => vec![None, None],
        }
    })
}

fn with_district_names(t: Table) -> Table {
    with_lookup(
        t,
        "district",
        &["district_zh", "district_en"],
        |d| match ids::district(d) {
            Some(x) => vec![Some(x.zh.to_string()), Some(x.en.to_string())],
            None => vec![None, None],
        },
    )
}

/// Concatenates a source's partitions over dates, adding `month`.
fn concat(store: &dyn Store, source: Source, dates: &[NaiveDate]) -> Result<Table, JobError> {
    let mut schema: Vec<(&str, Kind)> = validate::schema(source).to_vec();
    schema.push(("month", Kind::Str));
    let mut out = Table::new(&schema);
    for d in dates {
        if let Some(t) = partition(store, source, *d)? {
            out.extend(with_const(t, "month", &d.format("%Y-%m").to_string()));
        }
    }
    Ok(out)
}

fn latest(store: &dyn Store, source: Source, dates: &[NaiveDate]) -> Result<Table, JobError> {
    for d in dates.iter().rev() {
        if let Some(t) = partition(store, source, *d)? {
            return Ok(t);
        }
    }
    Ok(Table::new(validate::schema(source)))
}

fn registry_tables(registry: &Registry, curated: &Curated) -> (Table, Table, Table) {
    let mut units = Table::new(&[
        ("uscc", Kind::Str),
        ("permit_no", Kind::Str),
        ("name_zh", Kind::Str),
        ("name_en", Kind::Str),
        ("district", Kind::Str),
        ("industry_code", Kind::Str),
        ("industry_zh", Kind::Str),
        ("industry_en", Kind::Str),
        ("source_type", Kind::Str),
        ("address_zh", Kind::Str),
        ("address_en", Kind::Str),
        ("lon", Kind::F64),
        ("lat", Kind::F64),
        ("disclosure_url", Kind::Str),
        ("outlets", Kind::I64),
        ("cems_outlets", Kind::I64),
        ("facilities", Kind::I64),
        ("facilities_operating", Kind::I64),
        ("raw_key", Kind::Str),
        ("raw_line", Kind::I64),
    ]);
    let mut outlets = Table::new(&[
        ("uscc", Kind::Str),
        ("permit_no", Kind::Str),
        ("outlet", Kind::Str),
        ("outlet_id", Kind::Str),
        ("outlet_name_zh", Kind::Str),
        ("outlet_name_en", Kind::Str),
        ("medium", Kind::Str),
        ("mn", Kind::Str),
        ("cems", Kind::Bool),
        ("discharge_method_zh", Kind::Str),
        ("discharge_method_en", Kind::Str),
        ("destination_zh", Kind::Str),
        ("destination_en", Kind::Str),
        ("standard", Kind::Str),
        ("standard_code", Kind::Str),
        ("pollutant", Kind::Str),
        ("pollutant_zh", Kind::Str),
        ("pollutant_en", Kind::Str),
        ("unit", Kind::Str),
        ("hourly_limit", Kind::F64),
        ("daily_limit", Kind::F64),
        ("daily_limit_winter", Kind::F64),
        ("sample_limit", Kind::F64),
        ("limit_illustrative", Kind::Bool),
    ]);
    let mut facilities = Table::new(&[
        ("uscc", Kind::Str),
        ("facility", Kind::Str),
        ("name_zh", Kind::Str),
        ("name_en", Kind::Str),
        ("outlet", Kind::Str),
        ("status", Kind::Str),
        ("commissioned", Kind::Str),
    ]);
    use envgov_curated::Period;
    for (uscc, u) in &registry.units {
        let (raw_key, raw_line) = registry.origins.get(uscc).cloned().unwrap_or_default();
        units.push(vec![
            u.uscc.clone().into(),
            u.permit_no.clone().into(),
            u.name_zh.clone().into(),
            u.name_en.clone().into(),
            u.district.clone().into(),
            u.industry_code.clone().into(),
            u.industry_zh.clone().into(),
            u.industry_en.clone().into(),
            u.source_type.clone().into(),
            u.address_zh.clone().into(),
            u.address_en.clone().into(),
            u.lon.into(),
            u.lat.into(),
            u.disclosure_url.clone().into(),
            (u.outlets.len() as i64).into(),
            (u.outlets.iter().filter(|o| o.cems).count() as i64).into(),
            (u.facilities.len() as i64).into(),
            (u.facilities
                .iter()
                .filter(|f| f.status == "operating")
                .count() as i64)
                .into(),
            raw_key.into(),
            raw_line.into(),
        ]);
        for o in &u.outlets {
            let standard = curated.standards.get(&o.standard);
            for p in &o.pollutants {
                let pol = curated.pollutants.get(p);
                let lim = |period| standard.and_then(|s| s.limit(p, period));
                let any_illustrative = [Period::Hourly, Period::Daily, Period::Sample]
                    .into_iter()
                    .filter_map(lim)
                    .any(|l| l.illustrative());
                outlets.push(vec![
                    u.uscc.clone().into(),
                    u.permit_no.clone().into(),
                    o.code.clone().into(),
                    format!("{}-{}", u.permit_no, o.code).into(),
                    o.name_zh.clone().into(),
                    o.name_en.clone().into(),
                    o.medium.clone().into(),
                    Cell::from(o.mn.clone()),
                    o.cems.into(),
                    o.discharge_method_zh.clone().into(),
                    o.discharge_method_en.clone().into(),
                    o.destination_zh.clone().into(),
                    o.destination_en.clone().into(),
                    o.standard.clone().into(),
                    Cell::from(standard.map(|s| s.code.clone())),
                    p.clone().into(),
                    Cell::from(pol.map(|x| x.name.zh.clone())),
                    Cell::from(pol.map(|x| x.name.en.clone())),
                    Cell::from(pol.map(|x| x.unit.clone())),
                    Cell::from(lim(Period::Hourly).map(|l| l.value)),
                    Cell::from(lim(Period::Daily).map(|l| l.value)),
                    Cell::from(lim(Period::Daily).and_then(|l| l.winter)),
                    Cell::from(lim(Period::Sample).map(|l| l.value)),
                    any_illustrative.into(),
                ]);
            }
        }
        for f in &u.facilities {
            facilities.push(vec![
                u.uscc.clone().into(),
                f.code.clone().into(),
                f.name_zh.clone().into(),
                f.name_en.clone().into(),
                f.outlet.clone().into(),
                f.status.clone().into(),
                Cell::from(f.commissioned.clone()),
            ]);
        }
    }
    (with_district_names(units), outlets, facilities)
}

fn sum(t: &Table, col: &str) -> f64 {
    match t.column(col) {
        Some(Values::F64(v)) => v.iter().flatten().sum(),
        Some(Values::I64(v)) => v.iter().flatten().map(|x| *x as f64).sum(),
        _ => 0.0,
    }
}

fn sum_where(t: &Table, col: &str, key: &str, value: &str) -> f64 {
    let k = t.str_column(key);
    let filtered = t.filter_rows(|i| k[i].as_deref() == Some(value));
    sum(&filtered, col)
}

/// What the plan indicators need of the self-monitoring rows (published as a frame).
struct SelfMonitoringCounts {
    rows: usize,
    /// Rows with a result: no `not_monitored_reason`.
    with_result: usize,
}

/// The plan indicators that the data feeds: every rate is a sum over a sum.
fn plan_indicators(
    tables: &BTreeMap<String, Table>,
    sm: &SelfMonitoringCounts,
    curated: &Curated,
    run_date: NaiveDate,
) -> Table {
    let mut t = Table::new(&[
        ("indicator", Kind::Str),
        ("period", Kind::Str),
        ("value", Kind::F64),
        ("numerator", Kind::F64),
        ("denominator", Kind::F64),
        ("unit", Kind::Str),
        ("source_dataset", Kind::Str),
    ]);
    let period = format!("{}-01-01/{run_date}", run_date.year());
    let mut push = |id: &str, num: f64, den: Option<f64>, unit: &str, source: &str| {
        let value = match den {
            Some(d) if d > 0.0 => Some(round(num / d, 6)),
            Some(_) => None,
            None => Some(round(num, 6)),
        };
        t.push(vec![
            id.into(),
            period.clone().into(),
            value.into(),
            round(num, 6).into(),
            Cell::from(den.map(|d| round(d, 6))),
            unit.into(),
            source.into(),
        ]);
    };
    let districts = &tables["district-summary"];
    let checked = sum(districts, "hours_checked");
    push(
        "cems_hourly_compliance_rate",
        checked - sum(districts, "hourly_exceedances"),
        Some(checked),
        "ratio",
        "district-summary",
    );
    push(
        "exceedance_count",
        tables["exceedances"].rows() as f64,
        None,
        "count",
        "exceedances",
    );
    let units = &tables["enterprises"];
    let disclosing = units
        .str_column("disclosure_url")
        .iter()
        .filter(|u| u.is_some())
        .count() as f64;
    push(
        "units_disclosing",
        disclosing,
        Some(units.rows() as f64),
        "ratio",
        "enterprises",
    );
    push(
        "permit_coverage",
        units
            .str_column("permit_no")
            .iter()
            .filter(|p| p.is_some())
            .count() as f64,
        Some(units.rows() as f64),
        "ratio",
        "enterprises",
    );
    push(
        "self_monitoring_completeness",
        sm.with_result as f64,
        Some(sm.rows as f64),
        "ratio",
        "self-monitoring",
    );
    push(
        "facility_operating_rate",
        sum(units, "facilities_operating"),
        Some(sum(units, "facilities")),
        "ratio",
        "enterprises",
    );
    let fleets = &tables["vehicle-fleets"];
    let sector = fleets.str_column("level");
    let sectors = fleets.filter_rows(|i| sector[i].as_deref() == Some("sector"));
    push(
        "vehicle_electrification_share",
        sum(&sectors, "bev") + sum(&sectors, "fcev") + sum(&sectors, "phev"),
        Some(sum(&sectors, "vehicles")),
        "ratio",
        "vehicle-fleets",
    );
    push(
        "vehicle_china6_share",
        sum(&sectors, "china6"),
        Some(sum(&sectors, "with_emission_stage")),
        "ratio",
        "vehicle-fleets",
    );
    push(
        "vehicle_inspection_pass_rate",
        sum(&sectors, "inspections_passed"),
        Some(sum(&sectors, "vehicles")),
        "ratio",
        "vehicle-fleets",
    );
    let sewage = &tables["sewage-compliance"];
    push(
        "sewage_effluent_compliance_rate",
        sum(sewage, "checks") - sum(sewage, "exceedances"),
        Some(sum(sewage, "checks")),
        "ratio",
        "sewage-compliance",
    );
    let msw = &tables["msw-treatment"];
    push(
        "msw_harmless_treatment_rate",
        sum(msw, "harmless_t"),
        Some(sum(msw, "received_t")),
        "ratio",
        "msw-treatment",
    );
    push(
        "construction_waste_recycled_products_t",
        sum(&tables["construction-waste"], "recycled_products_t"),
        None,
        "t",
        "construction-waste",
    );
    push(
        "kitchen_waste_compost_t",
        sum_where(msw, "products_t", "method", "kitchen-compost"),
        None,
        "t",
        "msw-treatment",
    );
    let med = &tables["medical-waste"];
    push(
        "medical_waste_treated_share",
        sum(med, "treated_t"),
        Some(sum(med, "collected_t")),
        "ratio",
        "medical-waste",
    );
    let farms = &tables["livestock-manure"];
    push(
        "livestock_facility_equipping_rate",
        sum(farms, "farms_equipped"),
        Some(sum(farms, "farms")),
        "ratio",
        "livestock-manure",
    );
    push(
        "livestock_manure_utilisation_rate",
        sum(farms, "manure_utilised_t"),
        Some(sum(farms, "manure_produced_t")),
        "ratio",
        "livestock-manure",
    );
    let held = curated
        .open_days
        .list
        .iter()
        .filter(|e| {
            e.end
                .get(..10)
                .is_some_and(|d| d <= run_date.to_string().as_str())
        })
        .count() as f64;
    push("open_days_held", held, None, "count", "open-days");
    t
}

/// What the year's online monitoring reduces to: each month's sums for the emission totals
/// and the area summaries ([`aggregate::emission_month_sums`], [`aggregate::area_sums`]) and
/// the year's exceedances (a few thousand rows).
struct CemsYear {
    emission_sums: DataFrame,
    area_sums: DataFrame,
    exceedances: DataFrame,
}

/// The year's online monitoring, from each day's stored partial aggregates (computed and
/// stored first where missing or stale, see [`partials`]), a month at a time: a month's
/// daily rows are stacked, reduced to its sums, and dropped (the year's daily rows are
/// never held; `cems-daily` is written a month at a time by [`crate::monthly`]).
fn online_monitoring(
    store: &dyn Store,
    curated: &Curated,
    year: &[NaiveDate],
    progress: Option<&dyn Progress>,
) -> Result<CemsYear, JobError> {
    let inputs = partials::Inputs::new(curated)?;
    if let Some(p) = progress {
        p.stage("aggregate", year.len() as u64);
    }
    let mut months: BTreeMap<u32, Vec<NaiveDate>> = BTreeMap::new();
    for d in year {
        months.entry(d.month()).or_default().push(*d);
    }
    let p = polars("online monitoring");
    let (mut emission, mut area, mut exceedances) = (Vec::new(), Vec::new(), Vec::new());
    let (mut days_read, mut computed) = (0, 0);
    for days in months.values() {
        let results = in_parallel(
            days.len(),
            |i| match days.get(i) {
                Some(d) => partials::day(store, &inputs, *d),
                None => Ok(None),
            },
            || {
                if let Some(p) = progress {
                    p.advance(1);
                }
            },
        );
        let mut daily = Vec::new();
        for day in results {
            if let Some(day) = day? {
                computed += usize::from(day.computed);
                daily.push(day.daily);
                exceedances.push(day.exceedances);
            }
        }
        days_read += daily.len();
        if daily.is_empty() {
            continue;
        }
        let month = aggregate::stack(daily).map_err(polars("online monitoring"))?;
        emission.push(aggregate::emission_month_sums(&month).map_err(polars("emission sums"))?);
        area.push(aggregate::area_sums(&month).map_err(polars("area sums"))?);
    }
    if computed > 0 {
        // The partials computed above were written pending (see `partials::day`).
        store.sync()?;
    }
    tracing::info!(
        days = days_read,
        computed,
        rss_mib = rss_mib(),
        peak_rss_mib = peak_rss_mib(),
        "online monitoring: partial aggregates reduced"
    );
    let empty = inputs.empty_day()?;
    if emission.is_empty() {
        emission
            .push(aggregate::emission_month_sums(&empty.daily).map_err(polars("emission sums"))?);
        area.push(aggregate::area_sums(&empty.daily).map_err(polars("area sums"))?);
    }
    if exceedances.is_empty() {
        exceedances.push(empty.exceedances);
    }
    Ok(CemsYear {
        emission_sums: aggregate::stack(emission).map_err(polars("emission sums"))?,
        area_sums: aggregate::stack(area).map_err(polars("area sums"))?,
        exceedances: aggregate::stack(exceedances).map_err(p)?,
    })
}

/// What the plan indicators and the exceedance register need of the year's self-monitoring
/// rows, read a day at a time (the rows are published a month a file by
/// [`crate::monthly`]).
fn self_monitoring(
    store: &dyn Store,
    year: &[NaiveDate],
) -> Result<(SelfMonitoringCounts, Table), JobError> {
    let sm = crate::day_datasets::SelfMonitoring::new(store)?;
    let mut counts = SelfMonitoringCounts {
        rows: 0,
        with_result: 0,
    };
    let mut exceedances: Option<Table> = None;
    for d in year {
        let Some(day) = sm.day_rows(store, *d)? else {
            continue;
        };
        counts.rows += day.height();
        counts.with_result +=
            frame::null_count(&day, "not_monitored_reason").map_err(polars("self-monitoring"))?;
        let found = frame::rows_where_false(&day, "compliant")
            .and_then(|rows| aggregate::self_monitoring_exceedances(&rows))
            .map_err(polars("self-monitoring exceedances"))?;
        match &mut exceedances {
            Some(t) => t.extend(found),
            None => exceedances = Some(found),
        }
    }
    let exceedances = match exceedances {
        Some(t) => t,
        None => {
            let empty = frame::empty_frame(crate::validate::schema(Source::SelfMonitoring))
                .and_then(|df| frame::with_const_str(df, "month", ""))
                .and_then(frame::publishable)
                .map_err(polars("self-monitoring"))?;
            let empty = RawHashes::default().add_to_frame(empty, "raw_line")?;
            frame::rows_where_false(&empty, "compliant")
                .and_then(|rows| aggregate::self_monitoring_exceedances(&rows))
                .map_err(polars("self-monitoring exceedances"))?
        }
    };
    Ok((counts, exceedances))
}

/// The process's peak resident set so far, in MiB ([`crate::memory`]).
pub(crate) fn peak_rss_mib() -> Option<u64> {
    crate::memory::peak_rss_mib()
}

/// The process's resident set now, in MiB ([`crate::memory`]).
pub(crate) fn rss_mib() -> Option<u64> {
    crate::memory::rss_mib()
}

/// `work(0..n)` on as many threads as the machine has cores, results in index order;
/// `done` is called on this thread once per finished item (for progress).
fn in_parallel<T: Send>(n: usize, work: impl Fn(usize) -> T + Sync, done: impl Fn()) -> Vec<T> {
    use std::sync::atomic::{AtomicUsize, Ordering};
    let threads = std::thread::available_parallelism()
        .map_or(1, |t| t.get())
        .min(n.max(1));
    let next = AtomicUsize::new(0);
    let mut results: Vec<(usize, T)> = Vec::with_capacity(n);
    std::thread::scope(|s| {
        let (tx, rx) = std::sync::mpsc::channel();
        for _ in 0..threads {
            let (tx, next, work) = (tx.clone(), &next, &work);
            s.spawn(move || {
                loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    if i >= n || tx.send((i, work(i))).is_err() {
                        break;
                    }
                }
            });
        }
        drop(tx);
        for r in rx {
            done();
            results.push(r);
        }
    });
    results.sort_by_key(|(i, _)| *i);
    results.into_iter().map(|(_, r)| r).collect()
}

/// The datasets of the sources other than online monitoring and self-monitoring (small: a
/// year's partitions read as tables), built before the large ones.
fn other_sources(
    store: &dyn Store,
    curated: &Curated,
    year: &[NaiveDate],
    out: &mut BTreeMap<String, Table>,
) -> Result<(), JobError> {
    let vehicles = latest(store, Source::Vehicles, year)?;
    out.insert(
        "vehicle-fleets".to_string(),
        aggregate::vehicle_fleets(&vehicles).map_err(polars("vehicle fleets"))?,
    );
    let sewage = concat(store, Source::Sewage, year)?;
    out.insert(
        "sewage-compliance".to_string(),
        aggregate::sewage_compliance(&sewage, curated).map_err(polars("sewage compliance"))?,
    );
    out.insert(
        "msw-treatment".to_string(),
        aggregate::msw_treatment(&concat(store, Source::Msw, year)?)
            .map_err(polars("MSW treatment"))?,
    );
    out.insert(
        "medical-waste".to_string(),
        with_district_names(
            aggregate::medical_waste(&concat(store, Source::MedicalWaste, year)?)
                .map_err(polars("medical waste"))?,
        ),
    );
    out.insert(
        "construction-waste".to_string(),
        aggregate::construction_waste(&concat(store, Source::ConstructionWaste, year)?)
            .map_err(polars("construction waste"))?,
    );
    out.insert(
        "livestock-manure".to_string(),
        with_district_names(
            aggregate::livestock_manure(&latest(store, Source::Livestock, year)?)
                .map_err(polars("livestock manure"))?,
        ),
    );
    Ok(())
}

/// The datasets published a file a month, each a month at a time ([`crate::monthly`]).
pub fn monthly_datasets(
    store: &dyn Store,
    curated: &Curated,
) -> Result<Vec<Box<dyn Monthly>>, JobError> {
    Ok(vec![
        Box::new(crate::hourly::Hourly::new(store, curated)?),
        Box::new(crate::day_datasets::CemsDaily::new(store, curated)?),
        Box::new(crate::day_datasets::SelfMonitoring::new(store)?),
    ])
}

/// Builds every dataset for a run date. The datasets that grow with the year (cems-hourly,
/// cems-daily, self-monitoring) are written a month a file, the months that changed only
/// ([`crate::monthly::update_months`]), and published from the archives by `publication`;
/// the others are tables, the online-monitoring ones from the months' sums.
pub fn build(
    store: &dyn Store,
    curated: &Curated,
    registry: &Registry,
    dates: &[NaiveDate],
    run_date: NaiveDate,
    progress: Option<&dyn Progress>,
    stage_s: &mut BTreeMap<String, f64>,
) -> Result<BTreeMap<String, Dataset>, JobError> {
    let year: Vec<NaiveDate> = dates
        .iter()
        .copied()
        .filter(|d| d.year() == run_date.year() && *d <= run_date)
        .collect();
    let hashes = RawHashes::load(store)?;
    let mut out = BTreeMap::new();
    let (units, outlets, facilities) = registry_tables(registry, curated);
    out.insert(
        "enterprises".to_string(),
        hashes.add_to_table(units, "raw_line")?,
    );
    out.insert("outlets".to_string(), outlets);
    out.insert("treatment-facilities".to_string(), facilities);

    other_sources(store, curated, &year, &mut out)?;
    // The partials first (computed where missing), reduced a month at a time; then the
    // monthly files of the months that changed, a day at a time. The two are timed apart
    // (`stage_s`): the first, with the tables derived below, is what
    // bench/duckdb/aggregate.sql computes.
    let t = Instant::now();
    let cems = online_monitoring(store, curated, &year, progress)?;
    let mut online_s = t.elapsed().as_secs_f64();
    let t = Instant::now();
    for dataset in monthly_datasets(store, curated)? {
        crate::monthly::update_months(store, curated, dataset.as_ref(), &year, run_date)?;
    }
    stage_s.insert("monthly_files".to_string(), t.elapsed().as_secs_f64());
    let (sm_counts, sm_exceed) = self_monitoring(store, &year)?;
    let t = Instant::now();
    let mut register = from_frame(&cems.exceedances).map_err(polars("online monitoring"))?;
    register.extend(sm_exceed);
    out.insert(
        "exceedances".to_string(),
        hashes.add_to_table(
            with_unit_names(register_sorted(register), registry),
            "raw_line",
        )?,
    );
    out.insert(
        "emission-totals".to_string(),
        with_unit_names(
            aggregate::emission_totals(&cems.emission_sums).map_err(polars("emission totals"))?,
            registry,
        ),
    );
    out.insert(
        "district-summary".to_string(),
        with_district_names(
            aggregate::area_summary(&cems.area_sums, "district")
                .map_err(polars("district summary"))?,
        ),
    );
    let industry = aggregate::area_summary(&cems.area_sums, "industry_code")
        .map_err(polars("industry summary"))?;
    out.insert(
        "industry-summary".to_string(),
        industry_names(industry, registry),
    );
    online_s += t.elapsed().as_secs_f64();
    stage_s.insert("online_monitoring".to_string(), online_s);
    tracing::info!(
        rss_mib = rss_mib(),
        peak_rss_mib = peak_rss_mib(),
        "datasets built"
    );
    let indicators = plan_indicators(&out, &sm_counts, curated, run_date);
    out.insert("plan-indicators".to_string(), indicators);
    Ok(out.into_iter().map(|(id, t)| (id, t.into())).collect())
}

/// The industry summary with the industry's names (of the first unit of that industry).
fn industry_names(industry: Table, registry: &Registry) -> Table {
    with_lookup(
        industry,
        "industry_code",
        &["industry_zh", "industry_en"],
        |code| {
            registry
                .units
                .values()
                .find(|u| u.industry_code == code)
                .map_or(vec![None, None], |u| {
                    vec![Some(u.industry_zh.clone()), Some(u.industry_en.clone())]
                })
        },
    )
}

/// The exceedance register sorted ([`EXCEEDANCE_ORDER`]), each row with its stable id.
fn register_sorted(register: Table) -> Table {
    let mut order: Vec<usize> = (0..register.rows()).collect();
    let key =
        |i: usize| EXCEEDANCE_ORDER.map(|c| register.str_column(c)[i].clone().unwrap_or_default());
    order.sort_by_key(|&i| key(i));
    let mut sorted = Table::new(
        &register
            .schema()
            .iter()
            .map(|(n, k)| (n.as_str(), *k))
            .collect::<Vec<_>>(),
    );
    let mut ids_col = Vec::with_capacity(order.len());
    for &i in &order {
        sorted.push(register.columns.iter().map(|c| c.cell(i)).collect());
        let k = key(i);
        ids_col.push(Some(format!(
            "{}:{}:{}:{}:{}:{}",
            k[6], k[2], k[3], k[4], k[5], k[1]
        )));
    }
    sorted.names.insert(0, "exceedance_id".into());
    sorted.columns.insert(0, Values::Str(ids_col));
    sorted
}
