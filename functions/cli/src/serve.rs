//! `envgov serve`: a preview server for the live site release on 127.0.0.1.
//!
//! Serves `site/releases/{current}/` at `/` (the stable dataset URLs `/datasets/{id}/...`
//! included: they are the live release's `datasets/` folder) and the dated archives
//! `/datasets/{id}/archive/...` from the store's `datasets/{id}/archive/`, exactly as the CDN
//! will. Paths are checked segment by segment; nothing outside those folders can be reached.
//!
//! Files are streamed with their `Content-Length`, and a single byte range (`Range:
//! bytes=a-b`, `a-`, `-n`) answers `206 Partial Content` with `Content-Range`, as the CDN
//! does: the in-browser query page (DuckDB-WASM) reads Parquet files a range at a time.
//!
//! Every answer carries the CDN's security headers for its path ([`headers`]: the site's
//! Content-Security-Policy and the rest), so the browser tests meet what visitors meet.

use crate::headers;
use anyhow::{Context, Result};
use envgov_dataset::layout;
use std::io::{Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};

fn media_type(path: &Path) -> &'static str {
    match path.extension().and_then(|e| e.to_str()).unwrap_or("") {
        "html" => "text/html; charset=utf-8",
        "css" => "text/css; charset=utf-8",
        "js" | "mjs" => "text/javascript; charset=utf-8",
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

/// What a `Range` request header asks of a file of `len` bytes (RFC 9110 §14).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ByteRange {
    /// No range, or one this server does not narrow (several ranges, another unit, a
    /// malformed header, which RFC 9110 lets a server ignore): the whole file, `200`.
    Whole,
    /// Bytes `first..=last` of the file: `206` with `Content-Range: bytes first-last/len`.
    Part { first: u64, last: u64 },
    /// A well-formed range that starts at or after the end of the file: `416` with
    /// `Content-Range: bytes */len`.
    Unsatisfiable,
}

/// Parses a `Range` header against a file of `len` bytes.
pub fn byte_range(header: Option<&str>, len: u64) -> ByteRange {
    let Some(spec) = header.and_then(|h| h.trim().strip_prefix("bytes=")) else {
        return ByteRange::Whole;
    };
    if spec.contains(',') {
        return ByteRange::Whole;
    }
    let Some((first, last)) = spec.trim().split_once('-') else {
        return ByteRange::Whole;
    };
    let number = |s: &str| -> Option<u64> {
        (!s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()))
            .then(|| s.parse().ok())
            .flatten()
    };
    match (number(first.trim()), number(last.trim())) {
        // `-n`: the last n bytes.
        (None, Some(n)) if first.trim().is_empty() => match n {
            0 => ByteRange::Unsatisfiable,
            _ if len == 0 => ByteRange::Unsatisfiable,
            _ => ByteRange::Part {
                first: len.saturating_sub(n),
                last: len - 1,
            },
        },
        (Some(a), None) if last.trim().is_empty() => match a < len {
            true => ByteRange::Part {
                first: a,
                last: len - 1,
            },
            false => ByteRange::Unsatisfiable,
        },
        (Some(a), Some(b)) if a <= b => match a < len {
            true => ByteRange::Part {
                first: a,
                last: b.min(len - 1),
            },
            false => ByteRange::Unsatisfiable,
        },
        _ => ByteRange::Whole,
    }
}

fn header(name: &str, value: &str) -> tiny_http::Header {
    tiny_http::Header::from_bytes(name.as_bytes(), value.as_bytes()).expect("valid header")
}

/// The answer for `file` (status 200 or 404 as resolved) to a request with `range`: streamed
/// from the file, never chunked (a client reading ranges needs the `Content-Length`).
fn file_response(
    file: &Path,
    status: u16,
    range: Option<&str>,
    security: &[(&str, &str)],
) -> std::io::Result<tiny_http::Response<Box<dyn Read + Send>>> {
    let mut f = std::fs::File::open(file)?;
    let len = f.metadata()?.len();
    let (status, body, length, content_range): (u16, Box<dyn Read + Send>, u64, Option<String>) =
        match (status, byte_range(range, len)) {
            (200, ByteRange::Part { first, last }) => {
                f.seek(SeekFrom::Start(first))?;
                let n = last - first + 1;
                let range = format!("bytes {first}-{last}/{len}");
                (206, Box::new(f.take(n)), n, Some(range))
            }
            (200, ByteRange::Unsatisfiable) => (
                416,
                Box::new(std::io::empty()),
                0,
                Some(format!("bytes */{len}")),
            ),
            _ => (status, Box::new(f), len, None),
        };
    let length = usize::try_from(length).unwrap_or(usize::MAX);
    let mut response =
        tiny_http::Response::new(status.into(), Vec::new(), body, Some(length), None)
            .with_chunked_threshold(usize::MAX)
            .with_header(header("Content-Type", media_type(file)))
            .with_header(header("Accept-Ranges", "bytes"));
    if let Some(range) = content_range {
        response = response.with_header(header("Content-Range", &range));
    }
    for (name, value) in security {
        response = response.with_header(header(name, value));
    }
    Ok(response)
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
        let range = request
            .headers()
            .iter()
            .find(|h| h.field.equiv("Range"))
            .map(|h| h.value.as_str().to_string());
        let security = headers::for_path(request.url());
        let result = match file_response(&file, status, range.as_deref(), security) {
            Ok(response) => request.respond(response),
            Err(e) => {
                tracing::warn!(error = %e, file = %file.display(), "cannot read the file to serve");
                request.respond(tiny_http::Response::from_string("not found").with_status_code(404))
            }
        };
        if let Err(e) = result {
            tracing::warn!(error = %e, "response failed");
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_single_byte_ranges_of_rfc_9110() {
        use ByteRange::*;
        // A file of 10 bytes: offsets 0..=9.
        assert_eq!(byte_range(None, 10), Whole);
        assert_eq!(
            byte_range(Some("bytes=0-0"), 10),
            Part { first: 0, last: 0 }
        );
        assert_eq!(
            byte_range(Some("bytes=2-5"), 10),
            Part { first: 2, last: 5 }
        );
        // An end past the file is cut to the last byte; an open end runs to it.
        assert_eq!(
            byte_range(Some("bytes=4-100"), 10),
            Part { first: 4, last: 9 }
        );
        assert_eq!(byte_range(Some("bytes=7-"), 10), Part { first: 7, last: 9 });
        // The last n bytes, all of them when n is larger than the file.
        assert_eq!(byte_range(Some("bytes=-3"), 10), Part { first: 7, last: 9 });
        assert_eq!(
            byte_range(Some("bytes=-30"), 10),
            Part { first: 0, last: 9 }
        );
        // Starting at or past the end: 416.
        assert_eq!(byte_range(Some("bytes=10-"), 10), Unsatisfiable);
        assert_eq!(byte_range(Some("bytes=10-12"), 10), Unsatisfiable);
        assert_eq!(byte_range(Some("bytes=-0"), 10), Unsatisfiable);
        assert_eq!(byte_range(Some("bytes=0-"), 0), Unsatisfiable);
        // What the server may ignore: several ranges, other units, nonsense, a reversed range.
        assert_eq!(byte_range(Some("bytes=0-1,4-5"), 10), Whole);
        assert_eq!(byte_range(Some("items=0-1"), 10), Whole);
        assert_eq!(byte_range(Some("bytes=a-b"), 10), Whole);
        assert_eq!(byte_range(Some("bytes=5-2"), 10), Whole);
        assert_eq!(byte_range(Some("bytes=+1-2"), 10), Whole);
    }

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
