//! Aggregation with polars (lazy): validated rows → published tables.
//!
//! Stage: aggregate (pure; tables in, tables out). Each function builds one `LazyFrame`
//! and collects once. Partial aggregates carry sums and counts (`value_sum`, `valid_hours`)
//! so that they combine correctly across days, months and districts; a mean or a rate is
//! always a sum over a sum, never an average of averages. Every output is sorted by its key
//! and its numbers are rounded, so the same inputs give the same bytes.

use crate::frame::{from_frame, normalize, to_frame};
use crate::table::{Cell, Kind, Table, round};
use envgov_dataset::vocab::{EmissionStage, Fuel};
use polars::prelude::*;

/// Daily validity rule (HJ 75-2017, as commonly implemented): a daily mean needs at least
/// 20 valid hourly means.
pub const MIN_VALID_HOURS_PER_DAY: i64 = 20;

fn lf(t: &Table) -> PolarsResult<LazyFrame> {
    Ok(to_frame(t)?.lazy())
}

fn f(name: &str) -> Expr {
    col(name).cast(DataType::Float64)
}

fn count_true(name: &str) -> Expr {
    col(name).cast(DataType::Int64).sum()
}

/// `num / den` when `den > 0`, else null.
fn ratio(num: Expr, den: Expr) -> Expr {
    when(den.clone().gt(lit(0.0)))
        .then(num / den)
        .otherwise(lit(NULL).cast(DataType::Float64))
}

fn sort_by(frame: LazyFrame, keys: &[&str]) -> LazyFrame {
    let keys: Vec<PlSmallStr> = keys.iter().map(|k| PlSmallStr::from(*k)).collect();
    frame.sort(
        keys,
        SortMultipleOptions::default().with_maintain_order(true),
    )
}

/// Collects, rounds every float to `digits` decimals, and converts back.
fn finish(frame: LazyFrame, digits: i32) -> PolarsResult<Table> {
    from_frame(&finish_frame(frame, digits)?)
}

/// Collects, gives every column its published type ([`normalize`]) and rounds every float
/// to `digits` decimals with [`round`]: the frame [`finish`] would convert.
fn finish_frame(frame: LazyFrame, digits: i32) -> PolarsResult<DataFrame> {
    let df = normalize(frame.collect()?)?;
    let columns = df
        .columns()
        .iter()
        .map(|c| {
            if c.dtype() == &DataType::Float64 {
                let rounded = c.f64()?.apply_values(|x| round(x, digits));
                Ok(rounded.with_name(c.name().clone()).into_column())
            } else {
                Ok(c.clone())
            }
        })
        .collect::<PolarsResult<Vec<Column>>>()?;
    DataFrame::new(df.height(), columns)
}

/// Stacks frames of one schema (the days of a year) into one.
pub fn stack(frames: Vec<DataFrame>) -> PolarsResult<DataFrame> {
    let mut frames = frames.into_iter();
    let Some(mut out) = frames.next() else {
        polars_bail!(NoData: "no frames to stack");
    };
    for f in frames {
        out.vstack_mut_owned(f)?;
    }
    Ok(out)
}

/// Limits in force for a month: one row per standard × pollutant × period.
pub fn limits_table(curated: &envgov_curated::Curated, month: u32) -> Table {
    let mut t = Table::new(&[
        ("standard", Kind::Str),
        ("pollutant", Kind::Str),
        ("period", Kind::Str),
        ("limit", Kind::F64),
        ("limit_lower", Kind::F64),
        ("limit_illustrative", Kind::Bool),
    ]);
    for s in &curated.standards.list {
        for l in &s.limits {
            t.push(vec![
                Cell::from(s.id.clone()),
                Cell::from(l.pollutant.clone()),
                Cell::from(l.period.as_str()),
                Cell::from(l.upper_for_month(month)),
                Cell::from(l.lower),
                Cell::from(l.illustrative()),
            ]);
        }
    }
    t
}

fn limits_for(limits: &Table, period: &str, prefix: &str) -> PolarsResult<LazyFrame> {
    Ok(lf(limits)?.filter(col("period").eq(lit(period))).select([
        col("standard"),
        col("pollutant"),
        col("limit").alias(format!("{prefix}_limit")),
        col("limit_illustrative").alias(format!("{prefix}_limit_illustrative")),
    ]))
}

/// Whether an hour's value is above the smallest `period` limit of its pollutant (over the
/// standards; false for a pollutant without one): the only hours that can exceed theirs.
fn above_smallest_limit(limits: &Table, period: &str) -> Expr {
    let periods = limits.str_column("period");
    let pollutants = limits.str_column("pollutant");
    let values = limits.f64_column("limit");
    let mut smallest: std::collections::BTreeMap<&str, f64> = Default::default();
    for i in 0..limits.rows() {
        if periods[i].as_deref() != Some(period) {
            continue;
        }
        if let (Some(p), Some(v)) = (pollutants[i].as_deref(), values[i]) {
            let s = smallest.entry(p).or_insert(v);
            *s = s.min(v);
        }
    }
    smallest.into_iter().fold(lit(false), |any, (p, v)| {
        any.or(col("pollutant").eq(lit(p)).and(col("value").gt(lit(v))))
    })
}

/// What one day of online monitoring gives: daily values and that day's exceedances, in
/// their published types and rounded (see [`finish`]).
pub struct CemsDay {
    pub daily: DataFrame,
    pub exceedances: DataFrame,
}

/// The key of a daily row within its day. A partition holds one day (a packet whose time
/// is not on its delivery date is rejected), so the date is not part of the key.
const DAY_KEYS: [&str; 3] = ["uscc", "outlet", "pollutant"];

/// The row number of a group's first hour, while [`cems_day`] groups the hours.
const FIRST_ROW: &str = "__first_row";

/// What a unit's outlet determines in a partition (validated against one registry): taken
/// from each daily group's first hour rather than hashed as part of its key.
const OUTLET_ATTRIBUTES: [&str; 5] = [
    "permit_no",
    "district",
    "industry_code",
    "outlet_id",
    "standard",
];

/// The columns of a validated online-monitoring partition that [`cems_day`] reads.
pub const CEMS_DAY_INPUT: [&str; 19] = [
    "uscc",
    "permit_no",
    "district",
    "industry_code",
    "outlet",
    "outlet_id",
    "standard",
    "cn",
    "date",
    "observed_at",
    "pollutant",
    "avg",
    "zs_avg",
    "cou",
    "valid",
    "flagged",
    "value",
    "raw_key",
    "raw_line",
];

/// Aggregates one day's validated packets (one partition) against the limits in force.
///
/// `parameters` are process parameters (O2, temperature, flow), kept out of compliance.
/// `day` needs the columns [`CEMS_DAY_INPUT`] (others are ignored).
pub fn cems_day(
    date: &str,
    day: DataFrame,
    limits: &Table,
    parameters: &[String],
) -> PolarsResult<CemsDay> {
    // A row without a pollutant is kept, as is any pollutant that is not a parameter.
    let is_parameter = parameters.iter().fold(lit(false), |any, p| {
        any.or(col("pollutant").eq(lit(p.as_str())).fill_null(lit(false)))
    });
    let day = day.lazy();
    // Grouped into daily rows and searched for exceedances below: computed once.
    let hourly_rows = day
        .clone()
        .filter(is_parameter.clone().not().and(col("cn").eq(lit("2061"))))
        .collect()?;
    if let Some(other) = hourly_rows
        .column("date")?
        .str()?
        .iter()
        .find(|d| *d != Some(date))
    {
        polars_bail!(ComputeError: "a row of the day {date} is dated {other:?}: a partition holds one day");
    }
    let hourly = hourly_rows.clone().lazy();
    let hourly_limits = limits_for(limits, "hourly", "hourly")?;
    let keys: Vec<Expr> = DAY_KEYS.iter().map(|k| col(*k)).collect();
    let by_keys = || JoinArgs {
        nulls_equal: true,
        ..JoinArgs::new(JoinType::Left)
    };

    // An hour exceeds its limit when it is valid and above it. Only an hour above the
    // smallest hourly limit of its pollutant can, so only those few are joined to their
    // limits (the daily rows get theirs below, one join per row of the day, not per hour).
    let exceeding = hourly
        .clone()
        .filter(above_smallest_limit(limits, "hourly"))
        .join(
            hourly_limits.clone(),
            [col("standard"), col("pollutant")],
            [col("standard"), col("pollutant")],
            JoinArgs::new(JoinType::Inner),
        )
        .filter(col("valid").and(col("value").gt(col("hourly_limit"))))
        // Read twice below (exceedances and their count per day): computed once.
        .collect()?
        .lazy();

    let exceed_hours = exceeding.clone().select([
        lit("cems-hourly").alias("record_source"),
        col("uscc"),
        col("district"),
        col("outlet"),
        col("pollutant"),
        lit("hourly").alias("period"),
        col("observed_at"),
        col("date"),
        f("value").alias("value"),
        col("hourly_limit").alias("limit"),
        ((f("value") - col("hourly_limit")) / col("hourly_limit")).alias("exceedance_multiple"),
        col("standard"),
        col("hourly_limit_illustrative").alias("limit_illustrative"),
        col("raw_key"),
        col("raw_line"),
    ]);
    let exceed_counts = exceeding
        .group_by(keys.clone())
        .agg([len().cast(DataType::Int64).alias("hourly_exceedances")]);

    let device_daily = day
        .filter(is_parameter.not().and(col("cn").eq(lit("2031"))))
        .select([
            col("uscc"),
            col("outlet"),
            col("pollutant"),
            col("zs_avg")
                .fill_null(col("avg"))
                .alias("device_daily_avg"),
        ]);

    // The sums and counts per key, with the first row of each group; the columns that row
    // determines (the date, the outlet's attributes, the raw file) are then gathered from
    // it: cheaper than a `first()` per string column (the whole of `cems_day` about 28 %
    // faster at 2,000 units; `examples/cems_day_time`).
    let grouped = hourly_rows
        .clone()
        .with_row_index(FIRST_ROW.into(), None)?
        .lazy()
        .group_by(keys.clone())
        .agg([
            col(FIRST_ROW).first(),
            len().cast(DataType::Int64).alias("hours_reported"),
            count_true("valid").alias("valid_hours"),
            count_true("flagged").alias("flagged_hours"),
            (col("valid").not().and(col("flagged").not()))
                .cast(DataType::Int64)
                .sum()
                .alias("excluded_values"),
            f("value").sum().alias("value_sum"),
            f("cou").filter(col("valid")).sum().alias("mass_kg"),
        ])
        .collect()?;
    let first_rows = grouped.column(FIRST_ROW)?.idx()?;
    let determined = hourly_rows
        .select(
            ["date"]
                .into_iter()
                .chain(OUTLET_ATTRIBUTES)
                .chain(["raw_key"]),
        )?
        .take(first_rows)?;
    let daily = grouped
        .drop(FIRST_ROW)?
        .hstack(determined.columns())?
        .lazy()
        .with_columns([
            (lit(24i64) - col("hours_reported")).alias("missing_hours"),
            when(col("valid_hours").gt_eq(lit(MIN_VALID_HOURS_PER_DAY)))
                .then(col("value_sum") / f("valid_hours"))
                .otherwise(lit(NULL).cast(DataType::Float64))
                .alias("daily_mean"),
        ])
        // The standard is the outlet's, one per daily row: its hourly limit is the one every
        // hour of the row was compared with.
        .join(
            hourly_limits.select([col("standard"), col("pollutant"), col("hourly_limit")]),
            [col("standard"), col("pollutant")],
            [col("standard"), col("pollutant")],
            JoinArgs::new(JoinType::Left),
        )
        .join(exceed_counts, keys.clone(), keys, by_keys())
        .with_column(col("hourly_exceedances").fill_null(lit(0i64)))
        .join(
            limits_for(limits, "daily", "daily")?,
            [col("standard"), col("pollutant")],
            [col("standard"), col("pollutant")],
            JoinArgs::new(JoinType::Left),
        )
        .with_columns([
            col("daily_mean")
                .lt_eq(col("daily_limit"))
                .alias("daily_compliant"),
            when(col("daily_mean").gt(col("daily_limit")))
                .then((col("daily_mean") - col("daily_limit")) / col("daily_limit"))
                .otherwise(lit(NULL).cast(DataType::Float64))
                .alias("daily_exceedance_multiple"),
        ])
        .join(
            device_daily,
            [col("uscc"), col("outlet"), col("pollutant")],
            [col("uscc"), col("outlet"), col("pollutant")],
            JoinArgs::new(JoinType::Left),
        );

    let daily = sort_by(
        daily.select([
            col("date"),
            lit(date.get(..7).unwrap_or(date).to_string()).alias("month"),
            lit(date.get(..4).unwrap_or(date).to_string()).alias("year"),
            col("uscc"),
            col("permit_no"),
            col("district"),
            col("industry_code"),
            col("outlet"),
            col("outlet_id"),
            col("standard"),
            col("pollutant"),
            col("hours_reported"),
            col("valid_hours"),
            col("flagged_hours"),
            col("excluded_values"),
            col("missing_hours"),
            col("value_sum"),
            col("daily_mean"),
            col("device_daily_avg"),
            col("hourly_limit"),
            col("hourly_exceedances"),
            col("daily_limit"),
            col("daily_compliant"),
            col("daily_exceedance_multiple"),
            col("daily_limit_illustrative"),
            col("mass_kg"),
            col("raw_key"),
        ]),
        &DAY_KEYS,
    );
    let daily = finish_frame(daily, 6)?;

    let exceed_days = daily
        .clone()
        .lazy()
        .filter(col("daily_compliant").eq(lit(false)))
        .select([
            lit("cems-daily").alias("record_source"),
            col("uscc"),
            col("district"),
            col("outlet"),
            col("pollutant"),
            lit("daily").alias("period"),
            col("date").alias("observed_at"),
            col("date"),
            col("daily_mean").alias("value"),
            col("daily_limit").alias("limit"),
            col("daily_exceedance_multiple").alias("exceedance_multiple"),
            col("standard"),
            col("daily_limit_illustrative").alias("limit_illustrative"),
            col("raw_key"),
            lit(NULL).cast(DataType::Int64).alias("raw_line"),
        ]);
    let exceedances = sort_by(
        concat([exceed_hours, exceed_days], UnionArgs::default())?,
        &[
            "date",
            "observed_at",
            "uscc",
            "outlet",
            "pollutant",
            "period",
        ],
    );
    Ok(CemsDay {
        daily,
        exceedances: finish_frame(exceedances, 6)?,
    })
}

/// Self-monitoring samples over their limit, in the exceedance-register shape.
pub fn self_monitoring_exceedances(rows: &Table) -> PolarsResult<Table> {
    let frame = lf(rows)?.filter(col("compliant").eq(lit(false))).select([
        lit("self-monitoring").alias("record_source"),
        col("uscc"),
        col("district"),
        col("outlet"),
        col("pollutant"),
        lit("sample").alias("period"),
        col("sampled_at").alias("observed_at"),
        col("date"),
        col("result").alias("value"),
        col("limit"),
        col("exceedance_multiple"),
        col("standard"),
        col("limit_illustrative"),
        col("raw_key"),
        col("raw_line"),
    ]);
    finish(
        sort_by(
            frame,
            &["date", "observed_at", "uscc", "outlet", "pollutant"],
        ),
        6,
    )
}

/// The keys of a unit's emission totals (then its period).
const TOTAL_KEYS: [&str; 5] = [
    "uscc",
    "permit_no",
    "district",
    "industry_code",
    "pollutant",
];

/// The sums of the emission totals, by unit, pollutant and month, from daily rows (a month's
/// or any days'): what [`emission_totals`] combines. Every column is a sum (or a count of
/// distinct days, which a month's days never share with another month's), so months
/// combine into the year by adding.
pub fn emission_month_sums(daily: &DataFrame) -> PolarsResult<DataFrame> {
    let mut keys: Vec<Expr> = TOTAL_KEYS.iter().map(|k| col(*k)).collect();
    keys.extend([col("month"), col("year")]);
    daily
        .clone()
        .lazy()
        .group_by(keys)
        .agg([
            f("mass_kg").sum().alias("mass_kg"),
            col("valid_hours").sum().alias("valid_hours"),
            f("value_sum").sum().alias("value_sum"),
            col("date")
                .n_unique()
                .cast(DataType::Int64)
                .alias("days_with_data"),
            col("hourly_exceedances").sum().alias("hourly_exceedances"),
            col("daily_compliant")
                .eq(lit(false))
                .cast(DataType::Int64)
                .sum()
                .alias("daily_exceedances"),
            when(col("hourly_limit").is_not_null())
                .then(col("valid_hours"))
                .otherwise(lit(0i64))
                .sum()
                .alias("hours_checked"),
            col("daily_compliant")
                .is_not_null()
                .cast(DataType::Int64)
                .sum()
                .alias("days_checked"),
        ])
        .collect()
}

/// Totals per unit and pollutant, per month and per year, from the months' sums
/// ([`emission_month_sums`] of each month, stacked).
pub fn emission_totals(month_sums: &DataFrame) -> PolarsResult<Table> {
    let sums = [
        "mass_kg",
        "valid_hours",
        "value_sum",
        "days_with_data",
        "hourly_exceedances",
        "daily_exceedances",
        "hours_checked",
        "days_checked",
    ];
    let mut columns: Vec<Expr> = TOTAL_KEYS.iter().map(|k| col(*k)).collect();
    columns.extend([col("period"), col("period_type")]);
    columns.extend(sums.iter().map(|c| col(*c)));
    let base = month_sums.clone().lazy();
    let month = base
        .clone()
        .with_columns([
            col("month").alias("period"),
            lit("month".to_string()).alias("period_type"),
        ])
        .select(columns.clone());
    let mut keys: Vec<Expr> = TOTAL_KEYS.iter().map(|k| col(*k)).collect();
    keys.push(col("year"));
    let year = base
        .group_by(keys)
        .agg(sums.iter().map(|c| col(*c).sum()).collect::<Vec<_>>())
        .with_columns([
            col("year").alias("period"),
            lit("year".to_string()).alias("period_type"),
        ])
        .select(columns);
    let frame = concat([month, year], UnionArgs::default())?
        .with_column(ratio(col("value_sum"), f("valid_hours")).alias("mean_concentration"));
    finish(
        sort_by(frame, &["uscc", "pollutant", "period_type", "period"]),
        6,
    )
}

/// The sums of the area summaries by outlet and pollutant (with its unit, district and
/// industry), from daily rows (a month's or any days'): what [`area_summary`] combines, by
/// adding, after counting distinct units and outlets.
pub fn area_sums(daily: &DataFrame) -> PolarsResult<DataFrame> {
    daily
        .clone()
        .lazy()
        .group_by([
            col("district"),
            col("industry_code"),
            col("pollutant"),
            col("year"),
            col("uscc"),
            col("outlet_id"),
        ])
        .agg([
            col("valid_hours").sum().alias("valid_hours"),
            when(col("hourly_limit").is_not_null())
                .then(col("valid_hours"))
                .otherwise(lit(0i64))
                .sum()
                .alias("hours_checked"),
            col("hourly_exceedances").sum().alias("hourly_exceedances"),
            col("daily_compliant")
                .is_not_null()
                .cast(DataType::Int64)
                .sum()
                .alias("days_checked"),
            col("daily_compliant")
                .eq(lit(false))
                .cast(DataType::Int64)
                .sum()
                .alias("daily_exceedances"),
            f("mass_kg").sum().alias("mass_kg"),
        ])
        .collect()
}

/// Compliance and totals grouped by one key (district or industry) and pollutant, from the
/// months' [`area_sums`], stacked.
pub fn area_summary(sums: &DataFrame, key: &str) -> PolarsResult<Table> {
    let frame = sums
        .clone()
        .lazy()
        .group_by([col(key), col("pollutant"), col("year")])
        .agg([
            col("uscc").n_unique().cast(DataType::Int64).alias("units"),
            col("outlet_id")
                .n_unique()
                .cast(DataType::Int64)
                .alias("outlets"),
            col("valid_hours").sum().alias("valid_hours"),
            col("hours_checked").sum().alias("hours_checked"),
            col("hourly_exceedances").sum().alias("hourly_exceedances"),
            col("days_checked").sum().alias("days_checked"),
            col("daily_exceedances").sum().alias("daily_exceedances"),
            col("mass_kg").sum().alias("mass_kg"),
        ])
        .with_columns([
            ratio(
                f("hours_checked") - f("hourly_exceedances"),
                f("hours_checked"),
            )
            .alias("hourly_compliance_rate"),
            ratio(
                f("days_checked") - f("daily_exceedances"),
                f("days_checked"),
            )
            .alias("daily_compliance_rate"),
        ]);
    finish(sort_by(frame, &[key, "pollutant", "year"]), 6)
}

/// Fleet indicators by sector and by operator: electrification (BEV, FCEV, PHEV kept
/// apart), China VI share among vehicles that have an emission stage, inspection pass rate.
pub fn vehicle_fleets(vehicles: &Table) -> PolarsResult<Table> {
    let base = lf(vehicles)?.with_columns([
        col("fuel").eq(lit(Fuel::Bev.code())).alias("is_bev"),
        col("fuel").eq(lit(Fuel::Fcev.code())).alias("is_fcev"),
        col("fuel").eq(lit(Fuel::Phev.code())).alias("is_phev"),
        col("emission_stage")
            .neq(lit(EmissionStage::NotApplicable.code()))
            .alias("has_stage"),
        EmissionStage::ALL
            .iter()
            .filter(|s| s.china6())
            .map(|s| col("emission_stage").eq(lit(s.code())))
            .reduce(|a, b| a.or(b))
            .unwrap_or(lit(false))
            .alias("is_china6"),
    ]);
    let metrics = || {
        vec![
            len().cast(DataType::Int64).alias("vehicles"),
            count_true("is_bev").alias("bev"),
            count_true("is_fcev").alias("fcev"),
            count_true("is_phev").alias("phev"),
            count_true("has_stage").alias("with_emission_stage"),
            count_true("is_china6").alias("china6"),
            count_true("inspection_passed").alias("inspections_passed"),
        ]
    };
    let sector = base
        .clone()
        .group_by([col("sector")])
        .agg(metrics())
        .with_columns([
            lit("sector").alias("level"),
            lit(NULL).cast(DataType::String).alias("operator_uscc"),
            lit(NULL).cast(DataType::String).alias("operator_name"),
        ]);
    let operator = base
        .group_by([col("sector"), col("operator_uscc")])
        .agg({
            let mut m = metrics();
            m.push(col("operator_name").first().alias("operator_name"));
            m
        })
        .with_column(lit("operator").alias("level"));
    let cols = [
        "level",
        "sector",
        "operator_uscc",
        "operator_name",
        "vehicles",
        "bev",
        "fcev",
        "phev",
        "with_emission_stage",
        "china6",
        "inspections_passed",
    ];
    let frame = concat(
        [sector.select(cols.map(col)), operator.select(cols.map(col))],
        UnionArgs::default(),
    )?
    .with_columns([
        ratio(f("bev") + f("fcev") + f("phev"), f("vehicles")).alias("electrification_share"),
        ratio(f("china6"), f("with_emission_stage")).alias("china6_share"),
        ratio(f("inspections_passed"), f("vehicles")).alias("inspection_pass_rate"),
    ]);
    finish(sort_by(frame, &["level", "sector", "operator_uscc"]), 6)
}

/// Sewage plants' effluent compliance per plant and month: each (day, parameter) with a
/// limit is one check; NH3-N uses the winter limit from December to March.
pub fn sewage_compliance(rows: &Table, curated: &envgov_curated::Curated) -> PolarsResult<Table> {
    // Unpivot by hand into (plant, day, parameter) checks: the limit depends on the month.
    let params = [
        ("cod_mg_l", "w01018"),
        ("bod5_mg_l", "w01017"),
        ("ss_mg_l", "w01012"),
        ("nh3n_mg_l", "w21003"),
        ("tn_mg_l", "w21001"),
        ("tp_mg_l", "w21011"),
    ];
    let mut checks = Table::new(&[
        ("uscc", Kind::Str),
        ("plant_name", Kind::Str),
        ("standard", Kind::Str),
        ("month", Kind::Str),
        ("date", Kind::Str),
        ("flow_m3_d", Kind::F64),
        ("pollutant", Kind::Str),
        ("value", Kind::F64),
        ("limit", Kind::F64),
    ]);
    let (uscc, name, standard, date, flow) = (
        rows.str_column("uscc"),
        rows.str_column("plant_name"),
        rows.str_column("standard"),
        rows.str_column("date"),
        rows.f64_column("flow_m3_d"),
    );
    for i in 0..rows.rows() {
        let d = date[i].clone().unwrap_or_default();
        let month: u32 = d.get(5..7).and_then(|m| m.parse().ok()).unwrap_or(1);
        let st = standard[i]
            .as_deref()
            .and_then(|s| curated.standards.get(s));
        for (column, code) in params {
            let limit = st
                .and_then(|s| s.limit(code, envgov_curated::Period::Daily))
                .map(|l| l.upper_for_month(month));
            checks.push(vec![
                Cell::from(uscc[i].clone()),
                Cell::from(name[i].clone()),
                Cell::from(standard[i].clone()),
                Cell::from(d.get(..7).unwrap_or("").to_string()),
                Cell::from(d.clone()),
                Cell::from(flow[i]),
                Cell::from(code),
                Cell::from(rows.f64_column(column)[i]),
                Cell::from(limit),
            ]);
        }
    }
    let frame = lf(&checks)?
        .filter(col("limit").is_not_null())
        .with_column(col("value").gt(col("limit")).alias("exceeds"))
        .group_by([
            col("uscc"),
            col("plant_name"),
            col("standard"),
            col("month"),
        ])
        .agg([
            col("date").n_unique().cast(DataType::Int64).alias("days"),
            len().cast(DataType::Int64).alias("checks"),
            count_true("exceeds").alias("exceedances"),
            col("value")
                .filter(col("pollutant").eq(lit("w21003")).and(col("exceeds")))
                .count()
                .cast(DataType::Int64)
                .alias("nh3n_exceedances"),
        ])
        .with_column(ratio(f("checks") - f("exceedances"), f("checks")).alias("compliance_rate"));
    let flows = lf(rows)?
        .with_column(col("date").cast(DataType::String))
        .group_by([col("uscc"), col("month")])
        .agg([f("flow_m3_d").sum().alias("flow_m3")]);
    let frame = frame.join(
        flows,
        [col("uscc"), col("month")],
        [col("uscc"), col("month")],
        JoinArgs::new(JoinType::Left),
    );
    finish(sort_by(frame, &["uscc", "month"]), 6)
}

/// Sums of tonnages by keys, with a rate of two of them.
fn tonnage(
    rows: &Table,
    keys: &[&str],
    sums: &[&str],
    rate: Option<(&str, &str, &str)>,
) -> PolarsResult<Table> {
    let mut frame = lf(rows)?
        .group_by(keys.iter().map(|k| col(*k)).collect::<Vec<_>>())
        .agg({
            let mut a: Vec<Expr> = sums.iter().map(|s| f(s).sum().alias(*s)).collect();
            a.push(col("date").n_unique().cast(DataType::Int64).alias("days"));
            a
        });
    if let Some((num, den, name)) = rate {
        frame = frame.with_column(ratio(col(num), col(den)).alias(name));
    }
    finish(sort_by(frame, keys), 6)
}

/// MSW throughput and harmless-treatment rate per facility, method and month.
pub fn msw_treatment(rows: &Table) -> PolarsResult<Table> {
    tonnage(
        rows,
        &["month", "method", "uscc", "facility_name"],
        &["received_t", "harmless_t", "products_t"],
        Some(("harmless_t", "received_t", "harmless_treatment_rate")),
    )
}

/// Medical waste collected vs treated per district and month.
pub fn medical_waste(rows: &Table) -> PolarsResult<Table> {
    tonnage(
        rows,
        &["month", "district"],
        &["collected_t", "treated_t"],
        Some(("treated_t", "collected_t", "treated_share")),
    )
}

/// Construction waste received and recycled products per facility, product and month.
pub fn construction_waste(rows: &Table) -> PolarsResult<Table> {
    tonnage(
        rows,
        &["month", "district", "uscc", "facility_name", "product_type"],
        &["received_t", "recycled_products_t"],
        Some(("recycled_products_t", "received_t", "recycling_rate")),
    )
}

/// Livestock: facility equipping rate and manure utilisation rate by district.
pub fn livestock_manure(farms: &Table) -> PolarsResult<Table> {
    let frame = lf(farms)?
        .group_by([col("district")])
        .agg([
            len().cast(DataType::Int64).alias("farms"),
            f("pig_equivalents").sum().alias("pig_equivalents"),
            count_true("facilities_equipped").alias("farms_equipped"),
            col("facilities_equipped")
                .and(col("facilities_operating"))
                .cast(DataType::Int64)
                .sum()
                .alias("farms_operating"),
            count_true("third_party").alias("farms_third_party"),
            f("manure_produced_t").sum().alias("manure_produced_t"),
            f("utilised_t").sum().alias("manure_utilised_t"),
            f("third_party_t").sum().alias("third_party_t"),
        ])
        .with_columns([
            ratio(f("farms_equipped"), f("farms")).alias("equipping_rate"),
            ratio(col("manure_utilised_t"), col("manure_produced_t")).alias("utilisation_rate"),
        ]);
    finish(sort_by(frame, &["district"]), 6)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::table::Values;
    use envgov_dataset::Source;

    fn vehicle(sector: &str, operator: &str, fuel: &str, stage: &str, passed: bool) -> Vec<Cell> {
        vec![
            operator.into(),
            format!("operator {operator}").into(),
            sector.into(),
            format!("{sector}-{fuel}-{stage}").into(),
            fuel.into(),
            stage.into(),
            "2026-01-05".into(),
            "obd".into(),
            passed.into(),
            "raw/vehicles/2026-01-05/bus.csv".into(),
            2i64.into(),
        ]
    }

    /// Daily rows of one unit with two outlets for one pollutant (only the columns the
    /// totals and the summaries read): (date, outlet, mass, valid hours, value sum, hourly
    /// exceedances, daily compliant, hourly limit).
    type DailyRow<'a> = (
        &'a str,
        &'a str,
        f64,
        i64,
        f64,
        i64,
        Option<bool>,
        Option<f64>,
    );

    fn daily(rows: &[DailyRow<'_>]) -> DataFrame {
        let col_of = |f: &dyn Fn(&DailyRow<'_>) -> String| rows.iter().map(f).collect::<Vec<_>>();
        let n = rows.len();
        DataFrame::new(
            n,
            vec![
                Column::new("uscc".into(), vec!["U1"; n]),
                Column::new("permit_no".into(), vec!["P1"; n]),
                Column::new("district".into(), vec!["110105"; n]),
                Column::new("industry_code".into(), vec!["4411"; n]),
                Column::new("pollutant".into(), vec!["a21026"; n]),
                Column::new("date".into(), col_of(&|r| r.0.to_string())),
                Column::new("month".into(), col_of(&|r| r.0[..7].to_string())),
                Column::new("year".into(), col_of(&|r| r.0[..4].to_string())),
                Column::new("outlet_id".into(), col_of(&|r| r.1.to_string())),
                Column::new(
                    "mass_kg".into(),
                    rows.iter().map(|r| r.2).collect::<Vec<_>>(),
                ),
                Column::new(
                    "valid_hours".into(),
                    rows.iter().map(|r| r.3).collect::<Vec<_>>(),
                ),
                Column::new(
                    "value_sum".into(),
                    rows.iter().map(|r| r.4).collect::<Vec<_>>(),
                ),
                Column::new(
                    "hourly_exceedances".into(),
                    rows.iter().map(|r| r.5).collect::<Vec<_>>(),
                ),
                Column::new(
                    "daily_compliant".into(),
                    rows.iter().map(|r| r.6).collect::<Vec<_>>(),
                ),
                Column::new(
                    "hourly_limit".into(),
                    rows.iter().map(|r| r.7).collect::<Vec<_>>(),
                ),
            ],
        )
        .unwrap()
    }

    #[test]
    fn totals_and_summaries_of_the_year_combine_the_months_sums() {
        // January: outlets A and B on the 1st (one day with data), A on the 2nd;
        // February: A on the 1st. Sums by hand below.
        let jan = daily(&[
            (
                "2026-01-01",
                "A",
                1.5,
                24,
                240.0,
                1,
                Some(false),
                Some(50.0),
            ),
            ("2026-01-01", "B", 0.5, 20, 100.0, 0, Some(true), None),
            ("2026-01-02", "A", 2.0, 24, 120.0, 0, None, Some(50.0)),
        ]);
        let feb = daily(&[("2026-02-01", "A", 4.0, 12, 60.0, 2, Some(true), Some(50.0))]);
        let sums = stack(vec![
            emission_month_sums(&jan).unwrap(),
            emission_month_sums(&feb).unwrap(),
        ])
        .unwrap();
        let t = emission_totals(&sums).unwrap();
        // Sorted by unit, pollutant, period type (month < year), period.
        assert_eq!(
            t.str_column("period"),
            &[
                Some("2026-01".to_string()),
                Some("2026-02".to_string()),
                Some("2026".to_string())
            ]
        );
        // January: 1.5 + 0.5 + 2.0 kg; 24 + 20 + 24 hours; 460 / 68; 2 days; 1 hourly and
        // 1 daily exceedance. The year adds February: 8 kg, 80 hours, 520 / 80 = 6.5, 3
        // days, 3 hourly and 1 daily exceedances.
        assert_eq!(t.f64_column("mass_kg"), &[Some(4.0), Some(4.0), Some(8.0)]);
        assert_eq!(t.i64_column("valid_hours"), &[Some(68), Some(12), Some(80)]);
        assert_eq!(
            t.f64_column("mean_concentration"),
            &[Some(6.764706), Some(5.0), Some(6.5)]
        );
        assert_eq!(t.i64_column("days_with_data"), &[Some(2), Some(1), Some(3)]);
        assert_eq!(
            t.i64_column("hourly_exceedances"),
            &[Some(1), Some(2), Some(3)]
        );
        assert_eq!(
            t.i64_column("daily_exceedances"),
            &[Some(1), Some(0), Some(1)]
        );
        // Hours checked where an hourly limit applies: January A 24 + 24 (B has none),
        // February A 12; days checked where compliance is known: January 2 (A on the 1st,
        // B), February 1.
        assert_eq!(
            t.i64_column("hours_checked"),
            &[Some(48), Some(12), Some(60)]
        );
        assert_eq!(t.i64_column("days_checked"), &[Some(2), Some(1), Some(3)]);

        let area = stack(vec![area_sums(&jan).unwrap(), area_sums(&feb).unwrap()]).unwrap();
        let d = area_summary(&area, "district").unwrap();
        assert_eq!(d.rows(), 1);
        // One unit, two outlets over the year; hours checked only where there is an hourly
        // limit (A: 24 + 24 + 12 = 60); days checked where compliance is known (3).
        assert_eq!(d.i64_column("units"), &[Some(1)]);
        assert_eq!(d.i64_column("outlets"), &[Some(2)]);
        assert_eq!(d.i64_column("valid_hours"), &[Some(80)]);
        assert_eq!(d.i64_column("hours_checked"), &[Some(60)]);
        assert_eq!(d.i64_column("days_checked"), &[Some(3)]);
        // (60 - 3) / 60 and (3 - 1) / 3, rounded to 6 decimals.
        assert_eq!(d.f64_column("hourly_compliance_rate"), &[Some(0.95)]);
        assert_eq!(d.f64_column("daily_compliance_rate"), &[Some(0.666667)]);
        assert_eq!(d.f64_column("mass_kg"), &[Some(8.0)]);
    }

    #[test]
    fn fleet_shares_count_each_fuel_and_every_china_vi_phase() {
        let mut t = Table::new(crate::validate::schema(Source::Vehicles));
        t.push(vehicle("bus", "A", "bev", "not-applicable", true));
        t.push(vehicle("bus", "A", "diesel", "china6b", true));
        t.push(vehicle("bus", "B", "gasoline", "china5", false));
        t.push(vehicle("bus", "B", "phev", "china6a", true));
        t.push(vehicle("taxi", "C", "fcev", "not-applicable", true));
        let out = vehicle_fleets(&t).unwrap();
        let level = out.str_column("level");
        let sector = out.str_column("sector");
        let row = out
            .str_column("operator_uscc")
            .iter()
            .enumerate()
            .position(|(i, _)| {
                level[i].as_deref() == Some("sector") && sector[i].as_deref() == Some("bus")
            })
            .unwrap();
        let int = |c: &str| match out.column(c) {
            Some(Values::I64(v)) => v[row],
            other => panic!("{c}: {other:?}"),
        };
        let num = |c: &str| out.f64_column(c)[row];
        // Bus: 4 vehicles; BEV 1, PHEV 1; 3 with a stage, 2 of them China VI (6a, 6b); 3 passed.
        assert_eq!(int("vehicles"), Some(4));
        assert_eq!(
            (int("bev"), int("phev"), int("fcev")),
            (Some(1), Some(1), Some(0))
        );
        assert_eq!(
            (int("with_emission_stage"), int("china6")),
            (Some(3), Some(2))
        );
        assert_eq!(num("electrification_share"), Some(0.5));
        assert_eq!(num("china6_share"), Some(0.666667));
        assert_eq!(num("inspection_pass_rate"), Some(0.75));
    }
}
