#!/usr/bin/env python3
"""Compares the DuckDB SQL's outputs (run.py's OUT_DIR) with the datasets envgov published.

Usage: compare.py STORE OUT_DIR [--date YYYY-MM-DD] [--tolerance 1e-9] [--json FILE]

envgov's published files are found through the store's latest publication
(datasets/staged -> datasets/publications/{id}/publication-manifest.json, which names the
stored key of every file; these are the files the live release serves at
/datasets/{id}/...). Falls back to the live release (site/current) when there is no manifest.
For each dataset: row counts, keys present on one side only, duplicate keys, and per key
every shared column (numbers within the tolerance, other values exactly; NULL = NULL).
Prints a report and exits 1 when anything differs.
"""
import argparse
import glob
import json
import os
import sys

import duckdb

# (published dataset id, DuckDB output table, key columns, published-row filter)
DATASETS = [
    ("cems-daily", "cems_daily", ["date", "uscc", "outlet", "pollutant"], None),
    ("emission-totals", "emission_totals", ["uscc", "pollutant", "period_type", "period"], None),
    ("exceedances", "cems_exceedances",
     ["record_source", "uscc", "outlet", "pollutant", "period", "observed_at"],
     "record_source IN ('cems-hourly', 'cems-daily')"),
    ("district-summary", "district_summary", ["district", "pollutant", "year"], None),
    ("industry-summary", "industry_summary", ["industry_code", "pollutant", "year"], None),
    # Every monthly Parquet file of the publication (cems-hourly-YYYY-MM.parquet).
    ("cems-hourly", "cems_hourly", ["raw_key", "raw_line", "pollutant"], None),
]
NUMERIC = ("DOUBLE", "FLOAT", "BIGINT", "INTEGER", "HUGEINT", "SMALLINT", "TINYINT", "UBIGINT", "DECIMAL")


def publication(store, date):
    """The publication to compare with: the staged one, or with --date the latest of that data date."""
    staged = os.path.join(store, "datasets", "staged")
    pid = open(staged).read().strip() if os.path.exists(staged) else None
    if date is None:
        return pid
    found = []
    for m in glob.glob(os.path.join(store, "datasets", "publications", "*", "publication-manifest.json")):
        if json.load(open(m)).get("data_date") == date:
            found.append((os.path.basename(os.path.dirname(m)) == pid, os.path.getmtime(m), os.path.basename(os.path.dirname(m))))
    return max(found)[2] if found else None


def published_files(store, dataset, date=None):
    pid = publication(store, date)
    if pid:
        manifest = os.path.join(store, "datasets", "publications", pid, "publication-manifest.json")
        if os.path.exists(manifest):
            files = json.load(open(manifest))["files"]
            keys = sorted(f["key"] for p, f in files.items()
                          if p.startswith(dataset + "/") and p.endswith(".parquet"))
            if keys:
                return pid, [os.path.join(store, k) for k in keys]
    current = os.path.join(store, "site", "current")
    if date is None and os.path.exists(current):
        rid = open(current).read().strip()
        paths = sorted(glob.glob(os.path.join(store, "site", "releases", rid, "datasets", dataset, "**", "*.parquet"),
                                 recursive=True))
        return rid, paths
    return None, []


def q(s):
    return "'" + s.replace("'", "''") + "'"


def compare(con, store, out_dir, date, dataset, table, keys, where, tol, show):
    source, paths = published_files(store, dataset, date)
    res = {"dataset": dataset, "published_rows": None, "duckdb_rows": None, "mismatches": 0, "notes": []}
    if not paths:
        res["notes"].append("no published parquet file found")
        res["mismatches"] = 1
        return res
    con.execute(f"CREATE OR REPLACE TABLE pub AS SELECT * FROM read_parquet([{', '.join(q(p) for p in paths)}])"
                + (f" WHERE {where}" if where else ""))
    con.execute(f"CREATE OR REPLACE TABLE ours AS SELECT * FROM read_parquet({q(os.path.join(out_dir, table + '.parquet'))})")
    res["published_rows"] = con.execute("SELECT count(*) FROM pub").fetchone()[0]
    res["duckdb_rows"] = con.execute("SELECT count(*) FROM ours").fetchone()[0]
    res["published_from"] = [os.path.relpath(p, store) for p in paths]
    pub_cols = dict(con.execute("SELECT column_name, column_type FROM (DESCRIBE pub)").fetchall())
    our_cols = dict(con.execute("SELECT column_name, column_type FROM (DESCRIBE ours)").fetchall())
    shared = [c for c in pub_cols if c in our_cols and c not in keys]
    res["compared_columns"] = shared
    res["published_only_columns"] = [c for c in pub_cols if c not in our_cols]
    kl = ", ".join(f'"{k}"' for k in keys)
    on = " AND ".join(f'p."{k}" IS NOT DISTINCT FROM o."{k}"' for k in keys)
    for side in ("pub", "ours"):
        dups = con.execute(f"SELECT count(*) FROM (SELECT {kl} FROM {side} GROUP BY ALL HAVING count(*) > 1)").fetchone()[0]
        if dups:
            res["notes"].append(f"{side}: {dups} duplicate keys")
            res["mismatches"] += dups
    only = {}
    for a, b, label in (("pub", "ours", "only_in_envgov"), ("ours", "pub", "only_in_duckdb")):
        n = con.execute(f"SELECT count(*) FROM (SELECT {kl} FROM {a} EXCEPT ALL SELECT {kl} FROM {b})").fetchone()[0]
        only[label] = n
        res["mismatches"] += n
        if n:
            ex = con.execute(f"SELECT {kl} FROM {a} EXCEPT ALL SELECT {kl} FROM {b} ORDER BY ALL LIMIT {show}").fetchall()
            res["notes"].append(f"{label}: {n} keys, e.g. {ex}")
    res.update(only)
    per_col = {}
    for c in shared:
        numeric = pub_cols[c].startswith(NUMERIC) and our_cols[c].startswith(NUMERIC)
        if numeric:
            diff = (f'NOT ((p."{c}" IS NULL AND o."{c}" IS NULL) OR '
                    f'abs(p."{c}"::DOUBLE - o."{c}"::DOUBLE) <= {tol})')
            diff = f"coalesce({diff}, true)"
        else:
            diff = f'p."{c}"::VARCHAR IS DISTINCT FROM o."{c}"::VARCHAR'
        n = con.execute(f"SELECT count(*) FROM pub p JOIN ours o ON {on} WHERE {diff}").fetchone()[0]
        if n:
            per_col[c] = n
            res["mismatches"] += n
            if numeric:
                # Published numbers are rounded to 6 decimals: a difference of one unit in the
                # last decimal is a rounding tie decided by float summation order.
                ties = con.execute(f'SELECT count(*) FROM pub p JOIN ours o ON {on} WHERE {diff} '
                                   f'AND abs(p."{c}"::DOUBLE - o."{c}"::DOUBLE) <= 1.000001e-6').fetchone()[0]
                res["last_digit_ties"] = res.get("last_digit_ties", 0) + ties
                if ties:
                    res["notes"].append(f"column {c}: {ties} of the {n} differ by one unit in the 6th decimal "
                                        "(a rounding tie decided by float summation order)")
            ex = con.execute(f'SELECT {", ".join("p." + chr(34) + k + chr(34) for k in keys)}, p."{c}", o."{c}" '
                             f"FROM pub p JOIN ours o ON {on} WHERE {diff} LIMIT {show}").fetchall()
            res["notes"].append(f"column {c}: {n} rows differ, e.g. (key..., envgov, duckdb) {ex}")
    res["column_mismatches"] = per_col
    return res


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("store")
    ap.add_argument("out_dir")
    ap.add_argument("--tolerance", type=float, default=1e-9)
    ap.add_argument("--show", type=int, default=3)
    ap.add_argument("--date", help="compare with the publication of this data date (default: the staged one)")
    ap.add_argument("--json")
    a = ap.parse_args()
    con = duckdb.connect(":memory:")
    results = [compare(con, a.store, a.out_dir, a.date, *d, a.tolerance, a.show) for d in DATASETS]
    total = 0
    for r in results:
        total += r["mismatches"]
        status = "identical" if r["mismatches"] == 0 else f"{r['mismatches']} MISMATCHES"
        if r.get("last_digit_ties"):
            status += f" ({r['last_digit_ties']} of them last-digit rounding ties)"
        print(f"{r['dataset']:17} envgov {r['published_rows']} rows, DuckDB {r['duckdb_rows']} rows, "
              f"{len(r.get('compared_columns', []))} columns compared per key (tolerance {a.tolerance:g}): {status}")
        for n in r["notes"]:
            print("    " + n)
    if a.json:
        with open(a.json, "w") as f:
            json.dump(results, f, indent=1, default=str)
    sys.exit(1 if total else 0)


if __name__ == "__main__":
    main()
