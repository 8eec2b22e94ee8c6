//! `envgov serve` over real HTTP: byte ranges (what DuckDB-WASM's Parquet reader asks for),
//! `HEAD`, lengths and media types. Expected bytes are written out by hand.

use super::{Dir, envgov};
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::process::{Child, Stdio};

struct Server {
    child: Child,
    addr: String,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn start(store: &std::path::Path) -> Server {
    let mut child = envgov()
        .args(["serve", "--port", "0", "--store"])
        .arg(store)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    // "serving release r1 at http://127.0.0.1:PORT/ (Ctrl-C to stop)"
    let addr = line
        .split("http://")
        .nth(1)
        .and_then(|s| s.split('/').next())
        .unwrap_or_else(|| panic!("no address in {line:?}"))
        .to_string();
    Server { child, addr }
}

struct Answer {
    status: u16,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

impl Answer {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// One HTTP/1.1 request on its own connection (`Connection: close`), read to the end.
fn request(server: &Server, method: &str, path: &str, range: Option<&str>) -> Answer {
    let mut s = TcpStream::connect(&server.addr).unwrap();
    let range = range.map(|r| format!("Range: {r}\r\n")).unwrap_or_default();
    write!(
        s,
        "{method} {path} HTTP/1.1\r\nHost: {}\r\n{range}Connection: close\r\n\r\n",
        server.addr
    )
    .unwrap();
    let mut raw = Vec::new();
    s.read_to_end(&mut raw).unwrap();
    let split = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .expect("end of headers");
    let head = String::from_utf8(raw[..split].to_vec()).unwrap();
    let mut lines = head.split("\r\n");
    let status = lines
        .next()
        .unwrap()
        .split(' ')
        .nth(1)
        .unwrap()
        .parse()
        .unwrap();
    let headers = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(n, v)| (n.trim().to_string(), v.trim().to_string()))
        .collect();
    Answer {
        status,
        headers,
        body: raw[split + 4..].to_vec(),
    }
}

/// A store with a live release `r1` (each test its own: they run at the same time).
fn site(name: &str) -> Dir {
    let dir = Dir::new(name);
    let release = dir.0.join("site/releases/r1");
    std::fs::create_dir_all(release.join("datasets/x")).unwrap();
    std::fs::create_dir_all(release.join("assets")).unwrap();
    std::fs::write(dir.0.join("site/current"), "r1\n").unwrap();
    std::fs::write(release.join("404.html"), "missing").unwrap();
    std::fs::write(release.join("datasets/x/x.parquet"), "0123456789").unwrap();
    std::fs::write(release.join("assets/m.wasm"), b"\0asm\x01\0\0\0").unwrap();
    std::fs::write(release.join("assets/m.mjs"), "export {};").unwrap();
    // 100,000 bytes: byte i is b'a' + i % 26.
    let big: Vec<u8> = (0..100_000u32).map(|i| b'a' + (i % 26) as u8).collect();
    std::fs::write(release.join("datasets/x/big.parquet"), big).unwrap();
    dir
}

#[test]
fn serve_answers_byte_ranges_with_206_and_content_range() {
    let dir = site("serve-range");
    let server = start(&dir.0);

    let whole = request(&server, "GET", "/datasets/x/x.parquet", None);
    assert_eq!(whole.status, 200);
    assert_eq!(whole.body, b"0123456789");
    assert_eq!(whole.header("Content-Length"), Some("10"));
    assert_eq!(whole.header("Accept-Ranges"), Some("bytes"));
    assert_eq!(
        whole.header("Content-Type"),
        Some("application/vnd.apache.parquet")
    );

    let part = request(&server, "GET", "/datasets/x/x.parquet", Some("bytes=2-5"));
    assert_eq!(part.status, 206);
    assert_eq!(part.body, b"2345");
    assert_eq!(part.header("Content-Range"), Some("bytes 2-5/10"));
    assert_eq!(part.header("Content-Length"), Some("4"));

    // The Parquet footer: the last 8 bytes.
    let tail = request(&server, "GET", "/datasets/x/x.parquet", Some("bytes=-8"));
    assert_eq!(tail.status, 206);
    assert_eq!(tail.body, b"23456789");
    assert_eq!(tail.header("Content-Range"), Some("bytes 2-9/10"));

    let open = request(&server, "GET", "/datasets/x/x.parquet", Some("bytes=7-"));
    assert_eq!((open.status, open.body.as_slice()), (206, &b"789"[..]));
    assert_eq!(open.header("Content-Range"), Some("bytes 7-9/10"));

    let past = request(&server, "GET", "/datasets/x/x.parquet", Some("bytes=10-"));
    assert_eq!(past.status, 416);
    assert_eq!(past.header("Content-Range"), Some("bytes */10"));
    assert!(past.body.is_empty());

    // Several ranges are answered whole (RFC 9110 lets a server ignore Range).
    let multi = request(
        &server,
        "GET",
        "/datasets/x/x.parquet",
        Some("bytes=0-1,4-5"),
    );
    assert_eq!((multi.status, multi.body.len()), (200, 10));
}

#[test]
fn serve_gives_lengths_to_head_and_large_files_and_wasm_its_type() {
    let dir = site("serve-head");
    let server = start(&dir.0);

    let head = request(&server, "HEAD", "/datasets/x/big.parquet", None);
    assert_eq!(head.status, 200);
    assert_eq!(head.header("Content-Length"), Some("100000"));
    assert_eq!(head.header("Accept-Ranges"), Some("bytes"));
    assert!(head.body.is_empty());

    // Over tiny_http's chunking threshold (32 KiB): still a Content-Length, never chunked.
    let big = request(&server, "GET", "/datasets/x/big.parquet", None);
    assert_eq!(big.header("Content-Length"), Some("100000"));
    assert_eq!(big.header("Transfer-Encoding"), None);
    assert_eq!(big.body.len(), 100_000);
    // Bytes 99,990..=99,999: 99,990 % 26 = 20 ('u'), so "uvwxyzabcd".
    let end = request(
        &server,
        "GET",
        "/datasets/x/big.parquet",
        Some("bytes=99990-99999"),
    );
    assert_eq!(end.status, 206);
    assert_eq!(end.body, b"uvwxyzabcd");
    assert_eq!(
        end.header("Content-Range"),
        Some("bytes 99990-99999/100000")
    );

    let wasm = request(&server, "GET", "/assets/m.wasm", None);
    assert_eq!(wasm.status, 200);
    assert_eq!(wasm.header("Content-Type"), Some("application/wasm"));
    assert_eq!(wasm.body, b"\0asm\x01\0\0\0");
    // A module script must have a JavaScript type, or the browser refuses to run it.
    let module = request(&server, "GET", "/assets/m.mjs", None);
    assert_eq!(
        module.header("Content-Type"),
        Some("text/javascript; charset=utf-8")
    );

    // A missing file is the 404 page, never a range of it.
    let missing = request(&server, "GET", "/nope.parquet", Some("bytes=0-1"));
    assert_eq!(missing.status, 404);
    assert_eq!(missing.body, b"missing");
}

#[test]
fn serve_sends_the_cdn_security_headers_by_path() {
    let dir = site("serve-headers");
    let server = start(&dir.0);
    // The site's policy (infra/template.yaml, SiteHeadersPolicy) on assets and error pages.
    for path in ["/assets/m.mjs", "/nope.html"] {
        let answer = request(&server, "GET", path, None);
        let csp = answer.header("Content-Security-Policy").unwrap_or("");
        assert!(
            csp.starts_with("default-src 'none'; script-src 'self' 'wasm-unsafe-eval';"),
            "{path}: {csp}"
        );
        assert!(csp.contains("form-action 'self'"), "{path}: {csp}");
        assert_eq!(
            answer.header("X-Content-Type-Options"),
            Some("nosniff"),
            "{path}"
        );
        assert_eq!(answer.header("X-Frame-Options"), Some("DENY"), "{path}");
        assert_eq!(
            answer.header("Cross-Origin-Opener-Policy"),
            Some("same-origin"),
            "{path}"
        );
    }
    // The datasets' policy (DatasetHeadersPolicy) on a dataset file, ranges included.
    let part = request(&server, "GET", "/datasets/x/x.parquet", Some("bytes=0-1"));
    assert_eq!(part.status, 206);
    assert_eq!(
        part.header("Content-Security-Policy"),
        Some("default-src 'none'; frame-ancestors 'none'; sandbox")
    );
    assert_eq!(part.header("Cross-Origin-Opener-Policy"), None);
}
