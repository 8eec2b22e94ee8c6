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
import re
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


def month_of(path):
    """The month a monthly file holds (cems-hourly-YYYY-MM.parquet), or None."""
    m = re.search(r"(\d{4}-\d{2})\.parquet$", path)
    return m.group(1) if m else None


def chunks(dataset, paths):
    """What to compare at a time: the monthly files of cems-hourly a month at a time (against the
    DuckDB rows of that month), so that a year of hourly rows (75 M at 2,000 units) is never held
    or joined at once; every other dataset whole."""
    if dataset == "cems-hourly" and all(month_of(p) for p in paths):
        return [([p], f"substr(CAST(date AS VARCHAR), 1, 7) = {q(month_of(p))}") for p in paths]
    return [(paths, None)]


def compare(con, store, out_dir, date, dataset, table, keys, where, tol, show):
    source, paths = published_files(store, dataset, date)
    res = {"dataset": dataset, "published_rows": 0, "duckdb_rows": 0, "mismatches": 0, "notes": [],
           "only_in_envgov": 0, "only_in_duckdb": 0, "column_mismatches": {}}
    if not paths:
        res["notes"].append("no published parquet file found")
        res["mismatches"] = 1
        return res
    res["published_from"] = [os.path.relpath(p, store) for p in paths]
    ours_file = os.path.join(out_dir, table + ".parquet")
    for chunk_paths, ours_where in chunks(dataset, paths):
        compare_chunk(con, res, chunk_paths, where, ours_file, ours_where, keys, tol, show)
    if sum(1 for _ in chunks(dataset, paths)) == 1:
        return res
    # The DuckDB rows of months envgov published no file for.
    months = [q(month_of(p)) for p in paths]
    n = con.execute(f"SELECT count(*) FROM read_parquet({q(ours_file)}) "
                    f"WHERE substr(CAST(date AS VARCHAR), 1, 7) NOT IN ({', '.join(months)})").fetchone()[0]
    res["duckdb_rows"] += n
    res["only_in_duckdb"] += n
    res["mismatches"] += n
    if n:
        res["notes"].append(f"only_in_duckdb: {n} rows of months envgov published no file for")
    return res


def compare_chunk(con, res, paths, where, ours_file, ours_where, keys, tol, show):
    """Compares published rows (paths, filtered by `where`) with DuckDB's (ours_file, filtered
    by `ours_where`), adding to res. Every shared column is compared in one join."""
    con.execute(f"CREATE OR REPLACE TABLE pub AS SELECT * FROM read_parquet([{', '.join(q(p) for p in paths)}])"
                + (f" WHERE {where}" if where else ""))
    con.execute(f"CREATE OR REPLACE TABLE ours AS SELECT * FROM read_parquet({q(ours_file)})"
                + (f" WHERE {ours_where}" if ours_where else ""))
    res["published_rows"] += con.execute("SELECT count(*) FROM pub").fetchone()[0]
    res["duckdb_rows"] += con.execute("SELECT count(*) FROM ours").fetchone()[0]
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
    for a, b, label in (("pub", "ours", "only_in_envgov"), ("ours", "pub", "only_in_duckdb")):
        n = con.execute(f"SELECT count(*) FROM (SELECT {kl} FROM {a} EXCEPT ALL SELECT {kl} FROM {b})").fetchone()[0]
        res[label] += n
        res["mismatches"] += n
        if n:
            ex = con.execute(f"SELECT {kl} FROM {a} EXCEPT ALL SELECT {kl} FROM {b} ORDER BY ALL LIMIT {show}").fetchall()
            res["notes"].append(f"{label}: {n} keys, e.g. {ex}")
    diffs, ties = {}, {}
    for c in shared:
        numeric = pub_cols[c].startswith(NUMERIC) and our_cols[c].startswith(NUMERIC)
        if numeric:
            d = (f'NOT ((p."{c}" IS NULL AND o."{c}" IS NULL) OR '
                 f'abs(p."{c}"::DOUBLE - o."{c}"::DOUBLE) <= {tol})')
            diffs[c] = f"coalesce({d}, true)"
            # Published numbers are rounded to 6 decimals: a difference of one unit in the
            # last decimal is a rounding tie decided by float summation order.
            ties[c] = f'({diffs[c]} AND abs(p."{c}"::DOUBLE - o."{c}"::DOUBLE) <= 1.000001e-6)'
        else:
            diffs[c] = f'p."{c}"::VARCHAR IS DISTINCT FROM o."{c}"::VARCHAR'
    if not diffs:
        return
    sums = [f"count(*) FILTER (WHERE {d})" for d in diffs.values()] + \
           [f"count(*) FILTER (WHERE {t})" for t in ties.values()]
    counts = con.execute(f"SELECT {', '.join(sums)} FROM pub p JOIN ours o ON {on}").fetchone()
    n_diff = dict(zip(diffs, counts[:len(diffs)]))
    n_ties = dict(zip(ties, counts[len(diffs):]))
    for c, n in n_diff.items():
        if not n:
            continue
        res["column_mismatches"][c] = res["column_mismatches"].get(c, 0) + n
        res["mismatches"] += n
        t = n_ties.get(c, 0)
        if t:
            res["last_digit_ties"] = res.get("last_digit_ties", 0) + t
            res["notes"].append(f"column {c}: {t} of the {n} differ by one unit in the 6th decimal "
                                "(a rounding tie decided by float summation order)")
        ex = con.execute(f'SELECT {", ".join("p." + chr(34) + k + chr(34) for k in keys)}, p."{c}", o."{c}" '
                         f"FROM pub p JOIN ours o ON {on} WHERE {diffs[c]} LIMIT {show}").fetchall()
        res["notes"].append(f"column {c}: {n} rows differ, e.g. (key..., envgov, duckdb) {ex}")


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
    # Spill beside the outputs (the harness's work dir), never into the repository's root.
    spill = os.path.join(a.out_dir, ".duckdb-spill")
    os.makedirs(spill, exist_ok=True)
    con.execute(f"SET temp_directory = {q(spill)}")
    con.execute("SET preserve_insertion_order = false")
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
