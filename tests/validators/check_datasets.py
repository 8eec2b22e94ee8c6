#!/usr/bin/env python3
"""Checks every published dataset of a store with independent tools.

- the CSV resource of each datapackage.json is validated by the Frictionless Framework
  against its declared schema (types, required structure, encoding);
- the Parquet resource is read with pyarrow, the JSON resource with Python's json: both must
  have the declared columns, in order, and the declared row count;
- every resource's byte count and sha256 must match the file.

Usage: check_datasets.py STORE_DIR. Exits non-zero on the first report of failures.
"""
import hashlib
import json
import pathlib
import sys

import frictionless
import pyarrow.parquet as pq


def main(store: pathlib.Path) -> int:
    failures = []
    # The published datasets are those of the live release (the stable URLs serve them).
    release = (store / "site" / "current").read_text("utf-8").strip()
    datasets = store / "site" / "releases" / release / "datasets"
    catalogue = json.loads((datasets / "catalogue.json").read_text("utf-8"))
    checked = 0
    for entry in catalogue["datasets"]:
        folder = datasets / entry["id"]
        package = json.loads((folder / "datapackage.json").read_text("utf-8"))
        for lang in ("zh", "en"):
            if not package["envgov:title"][lang] or not package["envgov:description"][lang]:
                failures.append(f"{entry['id']}: missing {lang} title or description")
        for res in package["resources"]:
            where = f"{entry['id']}/{res['path']}"
            data = (folder / res["path"]).read_bytes()
            if len(data) != res["bytes"]:
                failures.append(f"{where}: {len(data)} bytes, package says {res['bytes']}")
            if "sha256:" + hashlib.sha256(data).hexdigest() != res["hash"]:
                failures.append(f"{where}: sha256 differs from the package")
            names = [f["name"] for f in res["schema"]["fields"]]
            for field in res["schema"]["fields"]:
                for lang in ("zh", "en"):
                    if not field["envgov:title"][lang]:
                        failures.append(f"{where}: field {field['name']} lacks a {lang} title")
            if res["format"] == "csv":
                descriptor = {k: v for k, v in res.items() if not k.startswith("envgov:")}
                report = frictionless.Resource(descriptor, basepath=str(folder)).validate()
                if not report.valid:
                    errors = report.flatten(["rowNumber", "fieldName", "message"])[:5]
                    failures.append(f"{where}: Frictionless: {errors}")
                elif report.tasks[0].stats["rows"] != res["envgov:rows"]:
                    failures.append(f"{where}: {report.tasks[0].stats['rows']} rows, package says {res['envgov:rows']}")
            elif res["format"] == "json":
                rows = json.loads(data)
                if len(rows) != res["envgov:rows"]:
                    failures.append(f"{where}: {len(rows)} rows, package says {res['envgov:rows']}")
                if rows and list(rows[0].keys()) != names:
                    failures.append(f"{where}: keys {list(rows[0].keys())} differ from the schema")
            elif res["format"] == "parquet":
                table = pq.read_table(folder / res["path"])
                if table.num_rows != res["envgov:rows"]:
                    failures.append(f"{where}: {table.num_rows} rows, package says {res['envgov:rows']}")
                if table.column_names != names:
                    failures.append(f"{where}: columns {table.column_names} differ from the schema")
            checked += 1
    for f in failures:
        print("FAIL", f)
    print(f"check_datasets: {checked} resources of {len(catalogue['datasets'])} datasets checked, {len(failures)} failures")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main(pathlib.Path(sys.argv[1])))
