//! The query pages (issue 11): SQL in the browser over each dataset's Parquet files. The
//! expected paths and names are written from the fixture's `datapackage.json` files.

use super::*;

/// The fixture's datasets with a Parquet file (each `datasets/{id}/datapackage.json`).
fn with_parquet() -> Vec<String> {
    let mut ids = Vec::new();
    for e in std::fs::read_dir(fixtures().join("datasets")).unwrap() {
        let dir = e.unwrap().path();
        let Ok(text) = std::fs::read_to_string(dir.join("datapackage.json")) else {
            continue;
        };
        if text.contains(".parquet\"") {
            ids.push(dir.file_name().unwrap().to_str().unwrap().to_string());
        }
    }
    ids.sort();
    ids
}

#[test]
fn every_dataset_with_parquet_has_a_query_page_in_both_languages_linked_from_its_page() {
    let ids = with_parquet();
    assert!(ids.contains(&"cems-daily".to_string()), "{ids:?}");
    for id in &ids {
        for lang in ["zh", "en"] {
            let page = text(&format!("{lang}/datasets/{id}/query/index.html"));
            // The table is the id with `_` for `-`, and every example names it.
            let table = id.replace('-', "_");
            assert!(page.contains("<code id=\"example-1\" lang=\"en\">"), "{id}");
            assert!(page.matches(&table).count() >= 3, "{id} {lang}");
            // The Parquet files it reads are the dataset's, listed as links.
            assert!(page.contains(&format!("href=\"/datasets/{id}/")), "{id}");
            assert!(page.contains("data-parquet=\""), "{id}");
            let dataset = text(&format!("{lang}/datasets/{id}.html"));
            assert!(
                dataset.contains(&format!(
                    "<p class=\"query-link\"><a href=\"/{lang}/datasets/{id}/query/index.html\">"
                )),
                "{lang}/datasets/{id}.html links its query page"
            );
        }
    }
}

#[test]
fn without_the_engine_the_query_page_says_so_and_loads_no_script() {
    let en = text("en/datasets/cems-daily/query/index.html");
    assert!(en.contains("In-browser query is not available in this build"));
    assert!(!en.contains("<script"), "no script without the engine");
    assert!(!en.contains("id=\"query-form\""));
    let zh = text("zh/datasets/cems-daily/query/index.html");
    assert!(zh.contains("本站此次构建未提供浏览器内查询"));
    // The examples are still there to copy (a textarea-free page).
    assert!(zh.contains("<h2 id=\"examples-heading\">示例查询</h2>"));
}

#[test]
fn with_the_engine_the_query_page_names_its_files_and_the_script() {
    let options = envgov_site::SiteOptions {
        query_engine: true,
        ..Default::default()
    };
    let files: BTreeMap<String, Vec<u8>> = envgov_site::build_with(&inputs(), curated(), &options)
        .unwrap()
        .into_iter()
        .collect();
    let page = std::str::from_utf8(&files["en/datasets/cems-daily/query/index.html"]).unwrap();
    for attr in [
        "data-module=\"/assets/duckdb-wasm-1.28.0/duckdb-browser.mjs\"",
        "data-worker=\"/assets/duckdb-wasm-1.28.0/duckdb-browser-eh.worker.js\"",
        "data-wasm=\"/assets/duckdb-wasm-1.28.0/duckdb-eh.wasm\"",
        "data-table=\"cems_daily\"",
        "data-row-limit=\"1000\"",
        "<label for=\"query-sql\">",
        "<script type=\"module\" src=\"/assets/query.js\"></script>",
    ] {
        assert!(page.contains(attr), "{attr}");
    }
    assert!(!page.contains("not available in this build"));
    assert!(files.contains_key("assets/query.js"));
    // The site itself never holds the engine: the release copies it from the store.
    assert!(!files.keys().any(|p| p.starts_with("assets/duckdb-wasm")));
}
