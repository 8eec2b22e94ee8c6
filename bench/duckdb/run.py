#!/usr/bin/env python3
"""Runs bench/duckdb/aggregate.sql once over a store's validated online-monitoring partitions.

Usage: run.py STORE RUN_DATE OUT_DIR [--repo REPO] [--threads N]

Selects the partitions envgov aggregates for RUN_DATE (validated/cems/date=*/part.parquet
with a date in RUN_DATE's year, on or before RUN_DATE), flattens data/standards.toml and
data/pollutants.toml into the two small CSV inputs the SQL reads, runs the SQL in a fresh
in-memory DuckDB, and prints one JSON line: {"sql_s": ..., "rows": {...}}. sql_s is the time
of the SQL alone (reading the Parquet partitions included; Python start-up, imports and
writing the outputs excluded). The output tables are then written to OUT_DIR/{table}.parquet
for bench/duckdb/compare.py. Run it under /usr/bin/time -v for the process's peak RSS.
"""
import argparse
import csv
import glob
import json
import os
import sys
import time
import tomllib

import duckdb

HERE = os.path.dirname(os.path.abspath(__file__))
TABLES = ["cems_daily", "emission_totals", "cems_exceedances", "district_summary", "industry_summary",
          "cems_hourly"]


def partitions(store, run_date):
    files = []
    for path in sorted(glob.glob(os.path.join(store, "validated", "cems", "date=*", "part.parquet"))):
        d = os.path.basename(os.path.dirname(path))[len("date="):]
        if d[:4] == run_date[:4] and d <= run_date:
            files.append(os.path.abspath(path))
    return files


def write_inputs(repo, out_dir):
    with open(os.path.join(repo, "data", "standards.toml"), "rb") as f:
        standards = tomllib.load(f)
    with open(os.path.join(repo, "data", "pollutants.toml"), "rb") as f:
        pollutants = tomllib.load(f)
    limits_csv = os.path.join(out_dir, "limits.csv")
    with open(limits_csv, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["standard", "pollutant", "period", "month", "limit", "limit_illustrative"])
        for s in standards["standard"]:
            for l in s.get("limits", []):
                for month in range(1, 13):
                    winter = l.get("winter")
                    value = winter if winter is not None and month in (12, 1, 2, 3) else l["value"]
                    w.writerow([s["id"], l["pollutant"], l["period"], month, repr(float(value)),
                                "true" if l.get("confidence") != "V" else "false"])
    params_csv = os.path.join(out_dir, "parameters.csv")
    with open(params_csv, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["code"])
        for p in pollutants["pollutant"]:
            if p.get("parameter"):
                w.writerow([p["code"]])
    return limits_csv, params_csv


def sql_text(files, limits_csv, params_csv):
    def q(s):
        return "'" + s.replace("'", "''") + "'"
    with open(os.path.join(HERE, "aggregate.sql")) as f:
        text = f.read()
    return (text.replace("{{cems_files}}", "[" + ", ".join(q(p) for p in files) + "]")
                .replace("{{limits_csv}}", q(limits_csv))
                .replace("{{parameters_csv}}", q(params_csv)))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("store")
    ap.add_argument("run_date")
    ap.add_argument("out_dir")
    ap.add_argument("--repo", default=os.path.dirname(os.path.dirname(HERE)))
    ap.add_argument("--threads", type=int, default=0, help="DuckDB threads (0: DuckDB's default)")
    a = ap.parse_args()
    os.makedirs(a.out_dir, exist_ok=True)
    files = partitions(a.store, a.run_date)
    if not files:
        sys.exit(f"no validated online-monitoring partitions for {a.run_date} in {a.store}")
    limits_csv, params_csv = write_inputs(a.repo, a.out_dir)
    text = sql_text(files, limits_csv, params_csv)
    con = duckdb.connect(":memory:")
    if a.threads:
        con.execute(f"SET threads = {a.threads}")
    t0 = time.perf_counter()
    con.execute(text)
    sql_s = time.perf_counter() - t0
    rows = {}
    for t in TABLES:
        rows[t] = con.execute(f"SELECT count(*) FROM {t}").fetchone()[0]
        con.execute(f"COPY {t} TO '{os.path.join(a.out_dir, t + '.parquet')}' (FORMAT parquet)")
    disagreements = con.execute("SELECT coalesce(sum(validity_disagreements), 0) FROM cems_daily").fetchone()[0]
    print(json.dumps({"sql_s": sql_s, "partitions": len(files), "rows": rows,
                      "validity_disagreements": int(disagreements),
                      "threads": con.execute("SELECT current_setting('threads')").fetchone()[0],
                      "duckdb": duckdb.__version__}))


if __name__ == "__main__":
    main()
