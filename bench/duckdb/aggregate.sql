-- envgov's online-monitoring aggregation, written as DuckDB SQL over the project's own
-- validated partitions. It mirrors functions/pipeline/src/aggregate.rs (`cems_day`,
-- `emission_totals`, `area_summary`) and functions/pipeline/src/datasets.rs (`build`):
-- see bench/README.md, "How the SQL maps to envgov's rules", for the rule-by-rule mapping.
--
-- Placeholders, filled in by bench/duckdb/run.py before the script runs:
--   {{cems_files}}       list of validated/cems/date=YYYY-MM-DD/part.parquet files: the
--                        partitions envgov aggregates (dates in the run date's year, on or
--                        before the run date)
--   {{limits_csv}}       data/standards.toml flattened: standard, pollutant, period, month,
--                        limit (the winter value from December to March where one exists),
--                        limit_illustrative (confidence != "V")
--   {{parameters_csv}}   data/pollutants.toml codes with parameter = true (O2, temperature,
--                        flow): kept out of compliance and totals
--
-- `hourly` and `device_daily` are views (streamed, never materialised: 27.5 M hourly rows at
-- 2000 units x 120 days would take ~5 GB as a table). Outputs (tables): cems_daily, emission_totals, cems_exceedances, district_summary,
-- industry_summary, and the view cems_hourly (compared with the monthly files of cems-hourly). Every float is rounded to 6 decimals as envgov's `finish` does:
-- round(x * 1e6) / 1e6, half away from zero; emission totals and summaries are computed
-- from the rounded daily rows, as envgov computes them from its published daily table.

CREATE OR REPLACE TEMP TABLE limits AS
SELECT * FROM read_csv({{limits_csv}}, header = true, columns = {
    'standard': 'VARCHAR', 'pollutant': 'VARCHAR', 'period': 'VARCHAR',
    'month': 'INTEGER', 'limit': 'DOUBLE', 'limit_illustrative': 'BOOLEAN'});

CREATE OR REPLACE TEMP TABLE parameters AS
SELECT * FROM read_csv({{parameters_csv}}, header = true, columns = {'code': 'VARCHAR'});

CREATE OR REPLACE MACRO r6(x) AS round(x * 1e6) / 1e6;

-- One row per hourly (CN=2061) reading of a pollutant (not a process parameter).
-- Valid: not flagged F, M, D, C, T or B, and a value the validator kept (a sentinel -999 or
-- a physically impossible value has value NULL and an excluded_reason).
CREATE OR REPLACE TEMP VIEW hourly AS
SELECT
    v.uscc, v.permit_no, v.district, v.industry_code, v.outlet, v.outlet_id,
    v.standard, v.pollutant, CAST(v.date AS DATE) AS date, v.observed_at, v.value, v.cou, v.raw_key, v.raw_line,
    v.valid AS envgov_valid,
    coalesce(v.flag IN ('F', 'M', 'D', 'C', 'T', 'B'), false) AS is_flagged,
    (NOT coalesce(v.flag IN ('F', 'M', 'D', 'C', 'T', 'B'), false) AND v.value IS NOT NULL) AS is_valid,
    l.limit AS hourly_limit,
    l.limit_illustrative AS hourly_limit_illustrative
FROM read_parquet({{cems_files}}) v
LEFT JOIN limits l
    ON l.period = 'hourly' AND l.month = month(CAST(v.date AS DATE))
   AND l.standard = v.standard AND l.pollutant = v.pollutant
WHERE v.cn = '2061'
  AND v.pollutant NOT IN (SELECT code FROM parameters);

-- cems-hourly: every hourly (CN=2061) reading, process parameters included, with the
-- hourly limit of its month and whether it is over it (valid by the rule above and above
-- the limit; NULL where there is no hourly limit). A view: written out streamed.
CREATE OR REPLACE TEMP VIEW cems_hourly AS
SELECT
    v.raw_key, v.raw_line, v.pollutant, v.uscc, v.outlet, v.outlet_id, v.mn,
    v.date, v.observed_at, v.hour, v.flag, v.valid, v.excluded_reason, v.value,
    l.limit AS hourly_limit,
    l.limit_illustrative,
    CASE WHEN l.limit IS NOT NULL THEN
        (NOT coalesce(v.flag IN ('F', 'M', 'D', 'C', 'T', 'B'), false) AND v.value IS NOT NULL)
        AND v.value > l.limit
    END AS exceeds_hourly_limit
FROM read_parquet({{cems_files}}) v
LEFT JOIN limits l
    ON l.period = 'hourly' AND l.month = month(CAST(v.date AS DATE))
   AND l.standard = v.standard AND l.pollutant = v.pollutant
WHERE v.cn = '2061';

-- The device's own daily value (CN=2031): ZsAvg, else Avg.
CREATE OR REPLACE TEMP VIEW device_daily AS
SELECT uscc, outlet, pollutant, CAST(date AS DATE) AS date, coalesce(zs_avg, avg) AS device_daily_avg
FROM read_parquet({{cems_files}})
WHERE cn = '2031'
  AND pollutant NOT IN (SELECT code FROM parameters);

-- cems-daily: one row per unit x outlet x pollutant x day.
CREATE OR REPLACE TEMP TABLE cems_daily AS
WITH g AS (
    SELECT
        uscc, permit_no, district, industry_code, outlet, outlet_id, standard, pollutant, date,
        count(*) AS hours_reported,
        count(*) FILTER (WHERE is_valid) AS valid_hours,
        count(*) FILTER (WHERE is_flagged) AS flagged_hours,
        count(*) FILTER (WHERE NOT is_valid AND NOT is_flagged) AS excluded_values,
        coalesce(sum(value), 0) AS value_sum,             -- value is NULL unless valid
        coalesce(sum(cou) FILTER (WHERE is_valid), 0) AS mass_kg,
        any_value(hourly_limit) AS hourly_limit,            -- one limit per group
        count(*) FILTER (WHERE is_valid AND value > hourly_limit) AS hourly_exceedances,
        arg_min(raw_key, raw_line) AS raw_key,
        count(*) FILTER (WHERE is_valid IS DISTINCT FROM envgov_valid) AS validity_disagreements
    FROM hourly
    GROUP BY ALL
), m AS (
    SELECT g.*,
        24 - hours_reported AS missing_hours,
        CASE WHEN valid_hours >= 20 THEN value_sum / valid_hours END AS daily_mean,
        l.limit AS daily_limit,
        l.limit_illustrative AS daily_limit_illustrative
    FROM g
    LEFT JOIN limits l
        ON l.period = 'daily' AND l.month = month(g.date)
       AND l.standard = g.standard AND l.pollutant = g.pollutant
)
SELECT
    strftime(m.date, '%Y-%m-%d') AS date,
    strftime(m.date, '%Y-%m') AS month,
    strftime(m.date, '%Y') AS year,
    m.uscc, m.permit_no, m.district, m.industry_code, m.outlet, m.outlet_id, m.standard,
    m.pollutant, m.hours_reported, m.valid_hours, m.flagged_hours, m.excluded_values,
    m.missing_hours,
    r6(m.value_sum) AS value_sum,
    r6(m.daily_mean) AS daily_mean,
    r6(d.device_daily_avg) AS device_daily_avg,
    r6(m.hourly_limit) AS hourly_limit,
    m.hourly_exceedances,
    r6(m.daily_limit) AS daily_limit,
    m.daily_mean <= m.daily_limit AS daily_compliant,
    r6(CASE WHEN m.daily_mean > m.daily_limit
            THEN (m.daily_mean - m.daily_limit) / m.daily_limit END) AS daily_exceedance_multiple,
    m.daily_limit_illustrative,
    r6(m.mass_kg) AS mass_kg,
    m.raw_key,
    m.validity_disagreements
FROM m
LEFT JOIN device_daily d
    ON d.uscc = m.uscc AND d.outlet = m.outlet AND d.pollutant = m.pollutant AND d.date = m.date
ORDER BY date, uscc, outlet, pollutant;

-- The online-monitoring part of the exceedance register: each valid hourly mean over its
-- hourly limit, and each daily mean over its daily limit.
CREATE OR REPLACE TEMP TABLE cems_exceedances AS
SELECT * FROM (
    SELECT 'cems-hourly' AS record_source, uscc, district, outlet, pollutant,
        'hourly' AS period, observed_at, strftime(date, '%Y-%m-%d') AS date,
        r6(value) AS value, r6(hourly_limit) AS "limit",
        r6((value - hourly_limit) / hourly_limit) AS exceedance_multiple,
        standard, hourly_limit_illustrative AS limit_illustrative, raw_key, raw_line
    FROM hourly
    WHERE is_valid AND value > hourly_limit
    UNION ALL
    SELECT 'cems-daily', uscc, district, outlet, pollutant, 'daily', date, date,
        daily_mean, daily_limit, daily_exceedance_multiple, standard,
        daily_limit_illustrative, raw_key, NULL::BIGINT
    FROM cems_daily
    WHERE daily_compliant = false
)
ORDER BY date, observed_at, uscc, outlet, pollutant, period;

-- emission-totals: per unit and pollutant, per month and per year, from the daily rows.
CREATE OR REPLACE TEMP TABLE emission_totals AS
WITH periods AS (
    SELECT *, month AS period, 'month' AS period_type FROM cems_daily
    UNION ALL
    SELECT *, year AS period, 'year' AS period_type FROM cems_daily
), g AS (
    SELECT uscc, permit_no, district, industry_code, pollutant, period, period_type,
        coalesce(sum(mass_kg), 0) AS mass_kg,
        sum(valid_hours) AS valid_hours,
        coalesce(sum(value_sum), 0) AS value_sum,
        count(DISTINCT date) AS days_with_data,
        sum(hourly_exceedances) AS hourly_exceedances,
        count(*) FILTER (WHERE daily_compliant = false) AS daily_exceedances,
        sum(CASE WHEN hourly_limit IS NOT NULL THEN valid_hours ELSE 0 END) AS hours_checked,
        count(daily_compliant) AS days_checked
    FROM periods
    GROUP BY ALL
)
SELECT uscc, permit_no, district, industry_code, pollutant, period, period_type,
    r6(mass_kg) AS mass_kg, valid_hours, r6(value_sum) AS value_sum, days_with_data,
    hourly_exceedances, daily_exceedances, hours_checked, days_checked,
    r6(CASE WHEN valid_hours > 0 THEN value_sum / valid_hours END) AS mean_concentration
FROM g
ORDER BY uscc, pollutant, period_type, period;

-- district-summary and industry-summary: compliance and totals by area and pollutant.
CREATE OR REPLACE MACRO area_summary(key_col) AS TABLE
    SELECT *,
        r6(CASE WHEN hours_checked > 0
                THEN (hours_checked - hourly_exceedances) / hours_checked END) AS hourly_compliance_rate,
        r6(CASE WHEN days_checked > 0
                THEN (days_checked - daily_exceedances) / days_checked END) AS daily_compliance_rate
    FROM (
        SELECT key_col AS area, pollutant, year,
            count(DISTINCT uscc) AS units,
            count(DISTINCT outlet_id) AS outlets,
            sum(valid_hours) AS valid_hours,
            sum(CASE WHEN hourly_limit IS NOT NULL THEN valid_hours ELSE 0 END) AS hours_checked,
            sum(hourly_exceedances) AS hourly_exceedances,
            count(daily_compliant) AS days_checked,
            count(*) FILTER (WHERE daily_compliant = false) AS daily_exceedances,
            r6(coalesce(sum(mass_kg), 0)) AS mass_kg
        FROM cems_daily
        GROUP BY ALL
    );

CREATE OR REPLACE TEMP TABLE district_summary AS
SELECT area AS district, * EXCLUDE (area) FROM area_summary(district) ORDER BY district, pollutant, year;

CREATE OR REPLACE TEMP TABLE industry_summary AS
SELECT area AS industry_code, * EXCLUDE (area) FROM area_summary(industry_code) ORDER BY industry_code, pollutant, year;
