#!/usr/bin/env python3
"""Writes a bilingual (zh/en) Hugo site of table pages, the peer of envgov's site.

Usage: make_site.py OUT_DIR --pages N --rows R --cols C

N is the number of HTML pages to produce in total (both languages): N/2 per language,
of which one is the language's home page and one its section list, the rest single pages.
Each single page renders, through a Go template (as envgov renders through minijinja), a
table of R rows x C columns held in the page's front matter, plus a heading, a short
paragraph, a language switch link (hreflang) and a footer; the home and section pages list
their pages. Deterministic: the same arguments give the same files.
"""
import argparse
import json
import os
import random
import shutil

BASEOF = """<!doctype html>
<html lang="{{ .Site.Language.Lang }}">
<head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>{{ .Title }} | {{ .Site.Title }}</title>
{{ range .Translations }}<link rel="alternate" hreflang="{{ .Language.Lang }}" href="{{ .RelPermalink }}">{{ end }}
</head>
<body>
<header><nav><a href="{{ "" | relLangURL }}">{{ .Site.Title }}</a>
{{ range .Translations }} <a href="{{ .RelPermalink }}" hreflang="{{ .Language.Lang }}">{{ .Language.LanguageName }}</a>{{ end }}</nav></header>
<main>{{ block "main" . }}{{ end }}</main>
<footer><p>{{ .Site.Params.licence }} · {{ .Lastmod.Format "2006-01-02" }}</p></footer>
</body></html>
"""
PAGE = """{{ define "main" }}
<h1>{{ .Title }}</h1>
<p>{{ .Params.summary }}</p>
<table>
<caption>{{ .Title }}</caption>
<thead><tr>{{ range .Params.columns }}<th scope="col">{{ . }}</th>{{ end }}</tr></thead>
<tbody>
{{ range .Params.rows }}<tr>{{ range $i, $c := . }}{{ if eq $i 0 }}<th scope="row">{{ $c }}</th>{{ else }}<td>{{ $c }}</td>{{ end }}{{ end }}</tr>
{{ end }}</tbody>
</table>
{{ .Content }}
{{ end }}
"""
LIST = """{{ define "main" }}
<h1>{{ .Title }}</h1>
<ul>{{ range .Pages }}<li><a href="{{ .RelPermalink }}">{{ .Title }}</a></li>{{ end }}</ul>
{{ end }}
"""
CONFIG = """baseURL = "https://hugo-peer.example.org/"
title = "Peer"
defaultContentLanguage = "zh"
defaultContentLanguageInSubdir = true
disableKinds = ["taxonomy", "term", "RSS", "sitemap", "robotsTXT", "404"]
enableGitInfo = false
[params]
licence = "CC BY 4.0"
[languages.zh]
languageName = "中文"
contentDir = "content/zh"
weight = 1
[languages.en]
languageName = "English"
contentDir = "content/en"
weight = 2
"""


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("out")
    ap.add_argument("--pages", type=int, required=True)
    ap.add_argument("--rows", type=int, required=True)
    ap.add_argument("--cols", type=int, required=True)
    a = ap.parse_args()
    per_lang = max(3, a.pages // 2)
    singles = per_lang - 2  # minus the home page and the section list
    if os.path.exists(a.out):
        shutil.rmtree(a.out)
    os.makedirs(os.path.join(a.out, "layouts"))
    for name, text in (("baseof.html", BASEOF), ("page.html", PAGE), ("list.html", LIST),
                       ("home.html", LIST), ("section.html", LIST)):
        with open(os.path.join(a.out, "layouts", name), "w") as f:
            f.write(text)
    with open(os.path.join(a.out, "hugo.toml"), "w") as f:
        f.write(CONFIG)
    rnd = random.Random(2021)
    for lang in ("zh", "en"):
        section = os.path.join(a.out, "content", lang, "units")
        os.makedirs(section)
        with open(os.path.join(a.out, "content", lang, "_index.md"), "w") as f:
            f.write(json.dumps({"title": "首页" if lang == "zh" else "Home"}) + "\n")
        with open(os.path.join(section, "_index.md"), "w") as f:
            f.write(json.dumps({"title": "重点排污单位" if lang == "zh" else "Key polluting units"}) + "\n")
        for i in range(singles):
            rnd.seed(i)  # the same table in both languages
            cols = ["date" if lang == "en" else "日期"] + [f"c{j}" for j in range(1, a.cols)]
            rows = [[f"2026-01-{(r % 28) + 1:02d}"] + [f"{rnd.uniform(0, 500):.3f}" for _ in range(1, a.cols)]
                    for r in range(a.rows)]
            front = {
                "title": (f"单位 {i:05d}" if lang == "zh" else f"Unit {i:05d}"),
                "date": "2026-01-31",
                "translationKey": f"unit-{i}",
                "summary": ("最近 7 日的日均值与限值。" if lang == "zh" else "Daily means against limits, last 7 days."),
                "columns": cols,
                "rows": rows,
            }
            with open(os.path.join(section, f"u{i:05d}.md"), "w") as f:
                f.write(json.dumps(front, ensure_ascii=False) + "\n\nSource: the published datasets.\n")
    print(json.dumps({"pages_requested": a.pages, "singles_per_language": singles}))


if __name__ == "__main__":
    main()
