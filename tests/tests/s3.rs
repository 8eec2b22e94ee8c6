//! The S3 store against a real S3-compatible server: Garage on 127.0.0.1, started by
//! `scripts/s3-server start` (which `scripts/test` runs), found through the variables it
//! writes (`AWS_ENDPOINT_URL`, `AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY`, `AWS_REGION`,
//! `ENVGOV_TEST_BUCKET`). Without them the tests say so loudly and pass, except under
//! `CI=true`, where they fail.
//!
//! Retries are tested through a fault-injecting HTTP proxy on loopback (below) that answers
//! `503 SlowDown`, or stalls past the attempt timeout, before forwarding to Garage.

use envgov_curated::Curated;
use envgov_e2e::TempDir;
use envgov_pipeline::jobs::{self, NightlyOptions};
use envgov_pipeline::ledger::sha256_hex;
use envgov_pipeline::store::s3::{S3Options, S3Store, StaticCredentials};
use envgov_pipeline::store::{LocalStore, Store, StoreError, open_store};
use envgov_sample_data::{SampleConfig, generate};
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

/// The test server, from the variables `scripts/s3-server` writes.
struct Server {
    endpoint: String,
    access_key_id: String,
    location: envgov_e2e::S3TestServer,
}

fn server() -> Option<Server> {
    envgov_e2e::S3TestServer::from_env("the S3 tests").map(|s| Server {
        endpoint: s.endpoint.clone(),
        access_key_id: s.access_key_id.clone(),
        location: s,
    })
}

impl Server {
    /// A location no other test (or earlier run) uses.
    fn location(&self, test: &str) -> String {
        self.location.location(test)
    }

    fn store(&self, test: &str) -> S3Store {
        S3Store::open(&self.location(test)).expect("open the S3 store")
    }

    fn upstream(&self) -> SocketAddr {
        let host = self
            .endpoint
            .strip_prefix("http://")
            .expect("a plain-http loopback endpoint")
            .trim_end_matches('/');
        host.parse().expect("AWS_ENDPOINT_URL is http://IP:PORT")
    }
}

macro_rules! server_or_skip {
    () => {
        match server() {
            Some(s) => s,
            None => return,
        }
    };
}

#[test]
fn s3_store_behaves_like_a_bucket() {
    let server = server_or_skip!();
    let store = server.store("bucket");
    assert!(store.describe().starts_with("s3://"));

    // The same behaviour as the local and memory stores.
    envgov_pipeline::store::conformance::basic(&store);
    envgov_pipeline::store::conformance::copy(&server.store("bucket-copy"));

    // And, on a fresh prefix: typed key errors, keys relative to the store's prefix.
    let store = server.store("bucket-prefix");
    store.put("raw/a/2026-01-02/y.csv", b"2").unwrap();
    store.put("rejects/a/z.csv", b"3").unwrap();
    store.delete("never/written.csv").unwrap();
    assert_eq!(store.list("raw/").unwrap(), vec!["raw/a/2026-01-02/y.csv"]);
    assert!(matches!(
        store.put("../escape", b"x"),
        Err(StoreError::BadKey { .. })
    ));
    assert!(matches!(
        store.get("raw//x"),
        Err(StoreError::BadKey { .. })
    ));
    assert!(store.get("/raw/x").is_err());
    assert!(store.delete("raw/./x").is_err());
    assert_eq!(
        store.list("").unwrap(),
        vec!["raw/a/2026-01-02/y.csv", "rejects/a/z.csv"],
        "keys are relative to the store's prefix"
    );
    assert!(store.list("nothing/").unwrap().is_empty());
}

#[test]
fn s3_list_paginates_past_a_thousand_keys() {
    let server = server_or_skip!();
    let store = server.store("paginate");
    let n = 1100;
    let started = Instant::now();
    let threads = 4;
    std::thread::scope(|scope| {
        for t in 0..threads {
            let store = &store;
            scope.spawn(move || {
                for i in (t..n).step_by(threads) {
                    store
                        .put(&format!("many/{i:05}.txt"), i.to_string().as_bytes())
                        .unwrap();
                }
            });
        }
    });
    eprintln!("{n} puts in {:?}", started.elapsed());
    store.put("many.txt", b"outside the folder").unwrap();
    let keys = store.list("many/").unwrap();
    let expected: Vec<String> = (0..n).map(|i| format!("many/{i:05}.txt")).collect();
    assert_eq!(keys, expected);
    assert_eq!(store.list("").unwrap().len(), n + 1);
    assert_eq!(store.list("many/001").unwrap().len(), 100);
    assert_eq!(
        store.get("many/01099.txt").unwrap().as_deref(),
        Some(&b"1099"[..])
    );
}

#[test]
fn s3_round_trips_unicode_keys_and_binary_content() {
    let server = server_or_skip!();
    let store = server.store("bytes");
    let all_bytes: Vec<u8> = (0..=255u8).cycle().take(256 * 9).collect();
    // GB18030 as a provider delivers it, a CSV with a BOM, an empty object, a large one.
    let (gb, _, _) = encoding_rs::GB18030.encode("单位名称,化学需氧量\n北京市某污水处理厂,12.5\n");
    let big: Vec<u8> = (0..3 * 1024 * 1024u32)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
        .collect();
    let objects: Vec<(&str, Vec<u8>)> = vec![
        (
            "raw/self-monitoring/2026-01-31/自行监测 结果.csv",
            gb.into_owned(),
        ),
        (
            "datasets/a/a.csv",
            "\u{feff}名称,值\n海淀区,1\n".as_bytes().to_vec(),
        ),
        ("raw/bin/2026-01-31/all-bytes.bin", all_bytes),
        ("raw/bin/2026-01-31/empty", Vec::new()),
        ("raw/bin/2026-01-31/big+plus&amp=eq?.bin", big),
    ];
    for (key, bytes) in &objects {
        store.put(key, bytes).unwrap();
    }
    for (key, bytes) in &objects {
        assert_eq!(store.get(key).unwrap().as_ref(), Some(bytes), "{key}");
    }
    let mut keys: Vec<String> = objects.iter().map(|(k, _)| k.to_string()).collect();
    keys.sort();
    assert_eq!(store.list("").unwrap(), keys);
    assert_eq!(
        store.list("raw/self-monitoring/2026-01-31/自行").unwrap(),
        vec!["raw/self-monitoring/2026-01-31/自行监测 结果.csv"]
    );
}

#[test]
fn s3_keeps_content_hashes_in_object_metadata() {
    let server = server_or_skip!();
    let store = server.store("hash");
    let page = "<!doctype html><title>北京</title>".as_bytes();
    let hash = sha256_hex(page);
    assert_eq!(store.stored_hash("site/r1/index.html").unwrap(), None);
    store
        .put_with_hash("site/r1/index.html", page, &hash)
        .unwrap();
    assert_eq!(
        store.stored_hash("site/r1/index.html").unwrap(),
        Some(hash.clone())
    );
    assert_eq!(
        store.get("site/r1/index.html").unwrap().as_deref(),
        Some(page)
    );
    // A plain put records the hash too, so publishing can compare against anything written.
    store.put("site/current", b"r1").unwrap();
    assert_eq!(
        store.stored_hash("site/current").unwrap(),
        Some(sha256_hex(b"r1"))
    );
    let err = store
        .put_with_hash("site/r1/x.css", b"x", "not-a-hash")
        .unwrap_err();
    assert!(err.to_string().contains("site/r1/x.css"), "{err}");
    assert_eq!(store.get("site/r1/x.css").unwrap(), None);
}

#[test]
fn s3_wrong_secret_is_a_permanent_error_naming_the_key() {
    let server = server_or_skip!();
    let store = S3Store::open_with(
        &server.location("secret"),
        S3Options {
            credentials: Some(StaticCredentials {
                access_key_id: server.access_key_id.clone(),
                secret_access_key: "0".repeat(64),
            }),
            ..S3Options::default()
        },
    )
    .unwrap();
    let started = Instant::now();
    for result in [
        store
            .put("raw/cems/2026-01-31/denied.hj212", b"x")
            .map(|_| ()),
        store.get("raw/cems/2026-01-31/denied.hj212").map(|_| ()),
    ] {
        let err = result.unwrap_err();
        eprintln!("{err}");
        assert!(
            matches!(&err, StoreError::S3 { key, retryable: false, .. } if key == "raw/cems/2026-01-31/denied.hj212"),
            "{err:?}"
        );
        assert!(!err.is_retryable());
        assert!(
            err.to_string().contains("raw/cems/2026-01-31/denied.hj212"),
            "{err}"
        );
    }
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "a 403 is not retried"
    );
}

#[test]
fn open_store_picks_the_backend_from_the_location() {
    let server = server_or_skip!();
    let location = server.location("open");
    let store = open_store(&location).unwrap();
    assert_eq!(store.describe(), location);
    store.put("a/b.txt", b"b").unwrap();
    assert_eq!(store.list("a/").unwrap(), vec!["a/b.txt"]);
    let dir = TempDir::new("open-store");
    let local = open_store(dir.0.to_str().unwrap()).unwrap();
    local.put("a/b.txt", b"b").unwrap();
    assert!(dir.0.join("a/b.txt").is_file());
    assert!(matches!(
        open_store("s3://Not_A_Bucket/x"),
        Err(StoreError::Config { .. })
    ));
}

/// The pattern of the Lambda functions: async handler, pipeline in `spawn_blocking`.
#[test]
fn s3_store_works_from_spawn_blocking_in_an_async_program() {
    let server = server_or_skip!();
    let location = server.location("async");
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let listed = rt.block_on(async move {
        tokio::task::spawn_blocking(move || {
            let store = S3Store::open(&location).unwrap();
            store.put("runs/2026-01-31/report.json", b"{}").unwrap();
            store.list("runs/").unwrap()
        })
        .await
        .unwrap()
    });
    assert_eq!(listed, vec!["runs/2026-01-31/report.json"]);
}

#[test]
fn s3_nightly_run_publishes_the_same_bytes_as_a_local_run() {
    let server = server_or_skip!();
    let s3 = server.store("nightly");
    let dir = TempDir::new("s3-nightly-local");
    let local = LocalStore::new(&dir.0);
    let config = SampleConfig {
        units: 20,
        days: 2,
        ..SampleConfig::default()
    };
    let started = Instant::now();
    generate(&config, &mut |key, bytes| s3.put(&key, &bytes).unwrap());
    eprintln!("sample generated into S3 in {:?}", started.elapsed());
    generate(&config, &mut |key, bytes| local.put(&key, &bytes).unwrap());

    let curated = Curated::load().unwrap();
    // One signing key for both stores: without one, each store generates its own
    // development key and the signed manifests differ by their signatures.
    let opts = NightlyOptions {
        max_reject_rate: 0.25,
        release: envgov_e2e::same_signing_key(),
        ..NightlyOptions::default()
    };
    let started = Instant::now();
    let report = jobs::nightly(&s3, &curated, &opts).expect("nightly over S3");
    eprintln!("nightly over S3 in {:?}", started.elapsed());
    jobs::nightly(&local, &curated, &opts).expect("nightly on a folder");

    let s3_keys = s3.list("datasets/").unwrap();
    let local_keys = local.list("datasets/").unwrap();
    assert!(
        s3_keys.iter().any(|k| k.ends_with(".parquet")),
        "{s3_keys:?}"
    );
    assert_eq!(s3_keys, local_keys);
    for key in &s3_keys {
        assert!(
            s3.get(key).unwrap() == local.get(key).unwrap(),
            "{key} differs between S3 and the local folder"
        );
    }
    assert!(
        s3.get(&format!("runs/{}/report.json", report.run_date))
            .unwrap()
            .is_some()
    );
}

// ---------------------------------------------------------------------------------------
// Retries, through a fault-injecting proxy.

/// What the proxy does with the `n`-th request (0-based).
#[derive(Debug, Clone, Copy)]
enum Action {
    Forward,
    /// `503 Slow Down` with S3's `SlowDown` error body.
    SlowDown,
    /// Read the request, answer nothing for this long, then close.
    Stall(Duration),
}

/// An HTTP/1.1 proxy on 127.0.0.1 in front of the test server. One request per connection:
/// every response it sends says `Connection: close`.
struct FaultProxy {
    url: String,
    requests: Arc<AtomicUsize>,
}

impl FaultProxy {
    fn start(upstream: SocketAddr, plan: fn(usize) -> Action) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let requests = Arc::new(AtomicUsize::new(0));
        let counter = requests.clone();
        std::thread::spawn(move || {
            for conn in listener.incoming() {
                let Ok(conn) = conn else { continue };
                let counter = counter.clone();
                std::thread::spawn(move || {
                    let _ = serve(conn, upstream, &counter, plan);
                });
            }
        });
        FaultProxy { url, requests }
    }

    fn requests(&self) -> usize {
        self.requests.load(Ordering::SeqCst)
    }

    fn options(&self) -> S3Options {
        S3Options {
            endpoint_url: Some(self.url.clone()),
            initial_backoff: Duration::from_millis(50),
            max_backoff: Duration::from_millis(200),
            attempt_timeout: Duration::from_secs(1),
            ..S3Options::default()
        }
    }
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

/// Reads one HTTP message head and its `Content-Length` body (enough for the SDK's
/// buffered requests).
fn read_request(conn: &mut TcpStream) -> std::io::Result<Option<(String, Vec<u8>)>> {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 16 * 1024];
    let head_end = loop {
        if let Some(i) = find(&buf, b"\r\n\r\n") {
            break i + 4;
        }
        let n = conn.read(&mut chunk)?;
        if n == 0 {
            return Ok(None);
        }
        buf.extend_from_slice(&chunk[..n]);
    };
    let head = String::from_utf8_lossy(&buf[..head_end]).into_owned();
    let length: usize = head
        .lines()
        .filter_map(|l| l.split_once(':'))
        .find(|(name, _)| name.trim().eq_ignore_ascii_case("content-length"))
        .map(|(_, v)| v.trim().parse().unwrap())
        .unwrap_or(0);
    let mut body = buf[head_end..].to_vec();
    while body.len() < length {
        let n = conn.read(&mut chunk)?;
        if n == 0 {
            break;
        }
        body.extend_from_slice(&chunk[..n]);
    }
    Ok(Some((head, body)))
}

/// The head with any `Connection` header replaced by `Connection: close`.
fn with_close(head: &str) -> String {
    let mut out = String::new();
    for line in head.split("\r\n").filter(|l| !l.is_empty()) {
        let is_connection = line
            .split_once(':')
            .is_some_and(|(n, _)| n.trim().eq_ignore_ascii_case("connection"));
        if !is_connection {
            out.push_str(line);
            out.push_str("\r\n");
        }
    }
    out.push_str("Connection: close\r\n\r\n");
    out
}

fn serve(
    mut conn: TcpStream,
    upstream: SocketAddr,
    counter: &AtomicUsize,
    plan: fn(usize) -> Action,
) -> std::io::Result<()> {
    let Some((head, body)) = read_request(&mut conn)? else {
        return Ok(());
    };
    let n = counter.fetch_add(1, Ordering::SeqCst);
    match plan(n) {
        Action::SlowDown => {
            let body = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error><Code>SlowDown</Code>\
                        <Message>Please reduce your request rate.</Message></Error>";
            write!(
                conn,
                "HTTP/1.1 503 Slow Down\r\nContent-Type: application/xml\r\n\
                 Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
                body.len()
            )?;
        }
        Action::Stall(d) => std::thread::sleep(d),
        Action::Forward => {
            let mut up = TcpStream::connect(upstream)?;
            up.write_all(with_close(&head).as_bytes())?;
            up.write_all(&body)?;
            let mut response = Vec::new();
            up.read_to_end(&mut response)?;
            let split = find(&response, b"\r\n\r\n").map_or(response.len(), |i| i + 4);
            let response_head = String::from_utf8_lossy(&response[..split]);
            conn.write_all(with_close(&response_head).as_bytes())?;
            conn.write_all(&response[split..])?;
        }
    }
    conn.flush()?;
    let _ = conn.shutdown(std::net::Shutdown::Both);
    Ok(())
}

#[test]
fn s3_retries_slow_down_and_stalls_then_succeeds() {
    let server = server_or_skip!();
    let location = server.location("retry");
    let direct = S3Store::open(&location).unwrap();

    // Two 503 SlowDown answers, then Garage.
    let proxy = FaultProxy::start(server.upstream(), |n| {
        if n < 2 {
            Action::SlowDown
        } else {
            Action::Forward
        }
    });
    let store = S3Store::open_with(&location, proxy.options()).unwrap();
    store.put("datasets/a/a.csv", b"after two 503s").unwrap();
    assert_eq!(proxy.requests(), 3);
    assert_eq!(
        direct.get("datasets/a/a.csv").unwrap().as_deref(),
        Some(&b"after two 503s"[..])
    );
    assert_eq!(
        store.get("datasets/a/a.csv").unwrap().as_deref(),
        Some(&b"after two 503s"[..])
    );

    // The first attempt stalls past the 1 s attempt timeout, the second goes through.
    let proxy = FaultProxy::start(server.upstream(), |n| {
        if n == 0 {
            Action::Stall(Duration::from_secs(4))
        } else {
            Action::Forward
        }
    });
    let store = S3Store::open_with(&location, proxy.options()).unwrap();
    let started = Instant::now();
    store.put("datasets/b/b.csv", b"after a stall").unwrap();
    assert!(started.elapsed() < Duration::from_secs(4));
    assert_eq!(proxy.requests(), 2);
    assert_eq!(
        direct.get("datasets/b/b.csv").unwrap().as_deref(),
        Some(&b"after a stall"[..])
    );

    // A list whose first page is throttled.
    let proxy = FaultProxy::start(server.upstream(), |n| {
        if n == 0 {
            Action::SlowDown
        } else {
            Action::Forward
        }
    });
    let store = S3Store::open_with(&location, proxy.options()).unwrap();
    assert_eq!(
        store.list("datasets/").unwrap(),
        vec!["datasets/a/a.csv", "datasets/b/b.csv"]
    );
}

#[test]
fn s3_gives_up_with_a_retryable_error_naming_the_key() {
    let server = server_or_skip!();
    let location = server.location("give-up");

    let proxy = FaultProxy::start(server.upstream(), |_| Action::SlowDown);
    let store = S3Store::open_with(&location, proxy.options()).unwrap();
    let err = store.put("datasets/a/a.parquet", b"x").unwrap_err();
    eprintln!("{err}");
    assert!(err.is_retryable(), "{err}");
    assert!(err.to_string().contains("datasets/a/a.parquet"), "{err}");
    assert!(
        matches!(
            &err,
            StoreError::S3 {
                op: "PutObject",
                ..
            }
        ),
        "{err:?}"
    );
    assert_eq!(proxy.requests(), S3Options::default().max_attempts as usize);
    let err = store.get("datasets/a/a.parquet").unwrap_err();
    assert!(err.is_retryable() && err.to_string().contains("datasets/a/a.parquet"));

    // Every attempt stalls: a timeout, retryable.
    let proxy = FaultProxy::start(server.upstream(), |_| Action::Stall(Duration::from_secs(3)));
    let store = S3Store::open_with(
        &location,
        S3Options {
            max_attempts: 2,
            ..proxy.options()
        },
    )
    .unwrap();
    let err = store.get("runs/2026-01-31/report.json").unwrap_err();
    eprintln!("{err}");
    assert!(err.is_retryable(), "{err}");
    assert!(err.to_string().contains("runs/2026-01-31/report.json"));
    assert_eq!(proxy.requests(), 2);

    // Nothing listening: a connection error, retryable.
    let port = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let store = S3Store::open_with(
        &location,
        S3Options {
            endpoint_url: Some(format!("http://127.0.0.1:{port}")),
            max_attempts: 2,
            initial_backoff: Duration::from_millis(10),
            ..S3Options::default()
        },
    )
    .unwrap();
    let err = store.delete("raw/x/2026-01-31/y.csv").unwrap_err();
    eprintln!("{err}");
    assert!(err.is_retryable(), "{err}");
    assert!(err.to_string().contains("raw/x/2026-01-31/y.csv"));
}
