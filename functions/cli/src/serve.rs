//! `envgov serve`: a preview server for the live site release on 127.0.0.1.
//!
//! Serves `site/releases/{current}/` at `/` (the stable dataset URLs `/datasets/{id}/...`
//! included: they are the live release's `datasets/` folder) and the dated archives
//! `/datasets/{id}/archive/...` from the store's `datasets/{id}/archive/`, exactly as the CDN
//! will. Paths are checked segment by segment; nothing outside those folders can be reached.

use anyhow::{Context, Result};
use envgov_dataset::layout;
use std::path::{Path, PathBuf};

fn media_type(path: &Path) -> &'static str {
    match path.extension().and_then(|e| e.to_str()).unwrap_or("") {
        "html" => "text/html; charset=utf-8",
        "css" => "text/css; charset=utf-8",
        "js" => "text/javascript; charset=utf-8",
        "svg" => "image/svg+xml",
        "png" => "image/png",
        "json" => "application/json",
        "csv" => "text/csv; charset=utf-8",
        "parquet" => "application/vnd.apache.parquet",
        "ics" => "text/calendar; charset=utf-8",
        "xml" => "application/xml",
        "txt" => "text/plain; charset=utf-8",
        "wasm" => "application/wasm",
        _ => "application/octet-stream",
    }
}

/// Maps a request path to a file, or None when the path is not servable.
pub fn resolve(store: &Path, release: &str, url_path: &str) -> Option<PathBuf> {
    let path = url_path.split(['?', '#']).next().unwrap_or("");
    let segments: Vec<&str> = path.split('/').filter(|s| !s.is_empty()).collect();
    if segments.iter().any(|s| layout::check_segment(s).is_err()) {
        return None;
    }
    // Archives are immutable and kept outside releases; every other path, the latest
    // datasets included, is the live release's.
    let archive = segments.first() == Some(&"datasets") && segments.get(2) == Some(&"archive");
    let mut file = if archive {
        store.to_path_buf()
    } else {
        store.join("site/releases").join(release)
    };
    for s in &segments {
        file.push(s);
    }
    if file.is_dir() {
        file.push("index.html");
    }
    file.is_file().then_some(file)
}

pub fn serve(store: &Path, port: u16) -> Result<()> {
    let release =
        std::fs::read_to_string(store.join(layout::SITE_CURRENT_KEY)).with_context(|| {
            format!(
                "no live release in {} (run `envgov nightly` first)",
                store.display()
            )
        })?;
    let release = release.trim().to_string();
    layout::check_segment(&release).context("site/current does not name a release")?;
    let server = tiny_http::Server::http(("127.0.0.1", port))
        .map_err(|e| anyhow::anyhow!("cannot listen on 127.0.0.1:{port}: {e}"))?;
    let addr = server
        .server_addr()
        .to_ip()
        .map(|a| a.to_string())
        .unwrap_or_default();
    println!("serving release {release} at http://{addr}/ (Ctrl-C to stop)");
    for request in server.incoming_requests() {
        let (status, file) = match resolve(store, &release, request.url()) {
            Some(f) => (200, f),
            None => (
                404,
                store.join("site/releases").join(&release).join("404.html"),
            ),
        };
        let body = std::fs::read(&file).unwrap_or_else(|_| b"not found".to_vec());
        let header =
            tiny_http::Header::from_bytes(&b"Content-Type"[..], media_type(&file).as_bytes())
                .expect("valid header");
        let response = tiny_http::Response::from_data(body)
            .with_status_code(status)
            .with_header(header);
        if let Err(e) = request.respond(response) {
            tracing::warn!(error = %e, "response failed");
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn never_serves_outside_the_release_and_datasets() {
        let dir = std::env::temp_dir().join(format!("envgov-serve-{}", std::process::id()));
        std::fs::create_dir_all(dir.join("site/releases/r1/en")).unwrap();
        std::fs::create_dir_all(dir.join("site/releases/r1/datasets/x")).unwrap();
        std::fs::create_dir_all(dir.join("datasets/x/archive/2026-01-31")).unwrap();
        std::fs::create_dir_all(dir.join("datasets/publications/p1/x")).unwrap();
        std::fs::create_dir_all(dir.join("raw/msw")).unwrap();
        std::fs::write(dir.join("site/releases/r1/en/index.html"), "en").unwrap();
        std::fs::write(dir.join("site/releases/r1/datasets/x/x.csv"), "a").unwrap();
        std::fs::write(dir.join("datasets/x/archive/2026-01-31/x.csv"), "b").unwrap();
        std::fs::write(dir.join("datasets/publications/p1/x/datapackage.json"), "c").unwrap();
        std::fs::write(dir.join("raw/msw/secret.csv"), "s").unwrap();
        assert_eq!(
            resolve(&dir, "r1", "/en/"),
            Some(dir.join("site/releases/r1/en/index.html"))
        );
        // The stable URL is the live release's copy; archives are the store's.
        assert_eq!(
            resolve(&dir, "r1", "/datasets/x/x.csv?v=1"),
            Some(dir.join("site/releases/r1/datasets/x/x.csv"))
        );
        assert_eq!(
            resolve(&dir, "r1", "/datasets/x/archive/2026-01-31/x.csv"),
            Some(dir.join("datasets/x/archive/2026-01-31/x.csv"))
        );
        // Publications are reachable only through a release.
        assert_eq!(
            resolve(&dir, "r1", "/datasets/publications/p1/x/datapackage.json"),
            None
        );
        assert_eq!(resolve(&dir, "r1", "/../../raw/msw/secret.csv"), None);
        assert_eq!(resolve(&dir, "r1", "/%2e%2e/raw/msw/secret.csv"), None);
        assert_eq!(resolve(&dir, "r1", "/raw/msw/secret.csv"), None);
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
