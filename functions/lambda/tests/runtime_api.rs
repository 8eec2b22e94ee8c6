//! The two Lambda binaries driven through the Lambda Runtime API, as AWS runs them: a small
//! Runtime API endpoint on 127.0.0.1 (below) hands them fixture events
//! (`tests/fixtures/*.json`) and records what they answer; the work goes to the real
//! S3-compatible server that `scripts/s3-server start` runs (Garage), found through the
//! variables it writes (`AWS_ENDPOINT_URL`, `AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY`,
//! `AWS_REGION`, `ENVGOV_TEST_BUCKET`). Without them the tests say so loudly and pass,
//! except under `CI=true`, where they fail.
//!
//! Each test uses a fresh evidence bucket and a fresh store prefix, so runs never collide.

use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use std::collections::{BTreeMap, VecDeque};
use std::io::Read;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

use envgov_pipeline::store::Store;
use envgov_pipeline::store::s3::S3Store;

// ---------------------------------------------------------------------------------------
// The S3 test server
// ---------------------------------------------------------------------------------------

struct Server {
    endpoint: String,
    access_key_id: String,
    secret_access_key: String,
    region: String,
    bucket: String,
}

fn server() -> Option<Server> {
    envgov_e2e::S3TestServer::from_env("the Lambda Runtime API tests").map(|s| Server {
        endpoint: s.endpoint,
        access_key_id: s.access_key_id,
        secret_access_key: s.secret_access_key,
        region: s.region,
        bucket: s.bucket,
    })
}

macro_rules! server_or_skip {
    () => {
        match server() {
            Some(s) => s,
            None => return,
        }
    };
}

fn unique(test: &str) -> String {
    envgov_e2e::unique(test)
}

/// A fresh place for one test: a new evidence bucket and a new prefix in the test bucket.
struct Place {
    evidence_bucket: String,
    store_url: String,
}

impl Server {
    fn place(&self, test: &str) -> Place {
        let evidence_bucket = format!("ev-{}", unique(test)).to_ascii_lowercase();
        self.create_bucket(&evidence_bucket);
        Place {
            evidence_bucket,
            store_url: format!("s3://{}/lambda/{}", self.bucket, unique(test)),
        }
    }

    fn create_bucket(&self, name: &str) {
        use aws_smithy_http_client::tls::{Provider, rustls_provider::CryptoMode};
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        runtime.block_on(async {
            let http = aws_smithy_http_client::Builder::new()
                .tls_provider(Provider::Rustls(CryptoMode::Ring))
                .build_https();
            let config = aws_config::defaults(aws_config::BehaviorVersion::latest())
                .http_client(http)
                .load()
                .await;
            let s3 = aws_sdk_s3::config::Builder::from(&config)
                .force_path_style(true)
                .build();
            aws_sdk_s3::Client::from_conf(s3)
                .create_bucket()
                .bucket(name)
                .send()
                .await
                .unwrap_or_else(|e| panic!("creating bucket {name}: {e:?}"));
        });
    }

    /// The environment of a function, as the template sets it, for this place.
    fn function_env(&self, place: &Place) -> Vec<(String, String)> {
        vec![
            ("ENVGOV_STORE".into(), place.store_url.clone()),
            (
                "ENVGOV_EVIDENCE_BUCKET".into(),
                place.evidence_bucket.clone(),
            ),
            ("ENVGOV_MAX_REJECT_RATE".into(), "0.05".into()),
            ("ENVGOV_RELEASES_TO_KEEP".into(), "7".into()),
            // EnableCdn=false: no KeyValueStore to update.
            ("ENVGOV_KVS_ARN".into(), String::new()),
            (
                "ENVGOV_SITE_ORIGIN".into(),
                "https://envgov.example.org".into(),
            ),
            ("RUST_LOG".into(), "info".into()),
            // One test key for every place: each store would otherwise generate its own
            // development key, and two stores' signed bundles (part of the release id) would
            // differ.
            ("ENVGOV_SIGNING_KEY".into(), test_signing_key()),
            ("AWS_ENDPOINT_URL".into(), self.endpoint.clone()),
            ("AWS_ACCESS_KEY_ID".into(), self.access_key_id.clone()),
            (
                "AWS_SECRET_ACCESS_KEY".into(),
                self.secret_access_key.clone(),
            ),
            ("AWS_REGION".into(), self.region.clone()),
        ]
    }
}

fn open(url: &str) -> S3Store {
    S3Store::open(url).unwrap_or_else(|e| panic!("open {url}: {e}"))
}

/// Every object of a store, for byte-for-byte comparisons.
fn snapshot(store: &dyn Store) -> BTreeMap<String, Vec<u8>> {
    store
        .list("")
        .unwrap()
        .into_iter()
        .map(|k| {
            let bytes = store.get(&k).unwrap().expect("listed");
            (k, bytes)
        })
        .collect()
}

// ---------------------------------------------------------------------------------------
// A Lambda Runtime API endpoint on loopback
// ---------------------------------------------------------------------------------------

/// What a function posted back.
#[derive(Debug, Clone)]
enum Posted {
    Response {
        request_id: String,
        body: Value,
    },
    Error {
        request_id: String,
        error_type_header: Option<String>,
        body: Value,
    },
    InitError {
        error_type_header: Option<String>,
        body: Value,
    },
}

#[derive(Default)]
struct ApiState {
    queue: VecDeque<(String, Value)>,
    posted: Vec<Posted>,
    /// Request ids handed out by `next`, in order.
    delivered: Vec<String>,
    shutdown: bool,
}

struct RuntimeApi {
    addr: String,
    state: Arc<(Mutex<ApiState>, Condvar)>,
    server: Arc<tiny_http::Server>,
    thread: Option<std::thread::JoinHandle<()>>,
}

const FUNCTION_ARN: &str = "arn:aws-cn:lambda:cn-north-1:123456789012:function:test-envgov";

impl RuntimeApi {
    /// Starts the endpoint with the events to hand out, in order.
    fn start(events: Vec<Value>) -> Self {
        let server = Arc::new(tiny_http::Server::http("127.0.0.1:0").expect("bind loopback"));
        let addr = server
            .server_addr()
            .to_ip()
            .expect("an IP address")
            .to_string();
        let state = Arc::new((Mutex::new(ApiState::default()), Condvar::new()));
        {
            let mut s = state.0.lock().unwrap();
            for (i, e) in events.into_iter().enumerate() {
                s.queue
                    .push_back((format!("req-{}-{i}", std::process::id()), e));
            }
        }
        let thread = {
            let server = server.clone();
            let state = state.clone();
            std::thread::spawn(move || {
                for request in server.incoming_requests() {
                    let state = state.clone();
                    // `next` blocks until there is an event: one thread per request.
                    std::thread::spawn(move || serve(request, &state));
                }
            })
        };
        RuntimeApi {
            addr,
            state,
            server,
            thread: Some(thread),
        }
    }

    /// Waits until `n` invocation results (responses or errors) have been posted.
    fn wait_for_results(&self, n: usize, timeout: Duration, child: &mut Child) -> Vec<Posted> {
        let deadline = Instant::now() + timeout;
        let (lock, cvar) = &*self.state;
        let mut s = lock.lock().unwrap();
        loop {
            let results: Vec<Posted> = s
                .posted
                .iter()
                .filter(|p| !matches!(p, Posted::InitError { .. }))
                .cloned()
                .collect();
            if results.len() >= n {
                return results;
            }
            if let Ok(Some(status)) = child.try_wait() {
                panic!(
                    "the function exited ({status}) after {} of {n} results: {:?}",
                    results.len(),
                    s.posted
                );
            }
            let now = Instant::now();
            assert!(
                now < deadline,
                "timed out waiting for {n} results; posted so far: {:?}",
                s.posted
            );
            s = cvar
                .wait_timeout(s, (deadline - now).min(Duration::from_millis(200)))
                .unwrap()
                .0;
        }
    }

    fn posted(&self) -> Vec<Posted> {
        self.state.0.lock().unwrap().posted.clone()
    }

    /// Queues more events (a state machine's next states, once the previous answered).
    fn push(&self, events: Vec<Value>) {
        let mut s = self.state.0.lock().unwrap();
        let first = s.queue.len() + s.delivered.len();
        for (i, e) in events.into_iter().enumerate() {
            s.queue
                .push_back((format!("req-{}-{}", std::process::id(), first + i), e));
        }
        self.state.1.notify_all();
    }

    fn delivered(&self) -> Vec<String> {
        self.state.0.lock().unwrap().delivered.clone()
    }
}

impl Drop for RuntimeApi {
    fn drop(&mut self) {
        self.state.0.lock().unwrap().shutdown = true;
        self.state.1.notify_all();
        self.server.unblock();
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

fn header(request: &tiny_http::Request, name: &str) -> Option<String> {
    request
        .headers()
        .iter()
        .find(|h| h.field.as_str().as_str().eq_ignore_ascii_case(name))
        .map(|h| h.value.as_str().to_string())
}

fn serve(mut request: tiny_http::Request, state: &Arc<(Mutex<ApiState>, Condvar)>) {
    let (lock, cvar) = &**state;
    let url = request.url().to_string();
    let method = request.method().clone();
    let mut body = String::new();
    let _ = request.as_reader().read_to_string(&mut body);
    let json_body = || serde_json::from_str::<Value>(&body).unwrap_or(Value::String(body.clone()));
    let accepted = || tiny_http::Response::from_string("{\"status\":\"OK\"}").with_status_code(202);
    const BASE: &str = "/2018-06-01/runtime";
    let Some(path) = url.strip_prefix(BASE) else {
        let _ =
            request.respond(tiny_http::Response::from_string("not found").with_status_code(404));
        return;
    };
    match (method, path) {
        (tiny_http::Method::Get, "/invocation/next") => {
            let mut s = lock.lock().unwrap();
            let (id, event) = loop {
                if s.shutdown {
                    return;
                }
                if let Some(e) = s.queue.pop_front() {
                    break e;
                }
                s = cvar.wait_timeout(s, Duration::from_millis(200)).unwrap().0;
            };
            s.delivered.push(id.clone());
            drop(s);
            let deadline_ms = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap()
                .as_millis()
                + 900_000;
            let h = |name: &str, value: &str| {
                tiny_http::Header::from_bytes(name.as_bytes(), value.as_bytes()).unwrap()
            };
            let response = tiny_http::Response::from_string(event.to_string())
                .with_header(h("Content-Type", "application/json"))
                .with_header(h("Lambda-Runtime-Aws-Request-Id", &id))
                .with_header(h("Lambda-Runtime-Deadline-Ms", &deadline_ms.to_string()))
                .with_header(h("Lambda-Runtime-Invoked-Function-Arn", FUNCTION_ARN))
                .with_header(h(
                    "Lambda-Runtime-Trace-Id",
                    "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1",
                ));
            let _ = request.respond(response);
        }
        (tiny_http::Method::Post, "/init/error") => {
            let posted = Posted::InitError {
                error_type_header: header(&request, "Lambda-Runtime-Function-Error-Type"),
                body: json_body(),
            };
            lock.lock().unwrap().posted.push(posted);
            cvar.notify_all();
            let _ = request.respond(accepted());
        }
        (tiny_http::Method::Post, p) if p.starts_with("/invocation/") => {
            let rest = &p["/invocation/".len()..];
            let posted = if let Some(id) = rest.strip_suffix("/response") {
                Posted::Response {
                    request_id: id.to_string(),
                    body: json_body(),
                }
            } else if let Some(id) = rest.strip_suffix("/error") {
                Posted::Error {
                    request_id: id.to_string(),
                    error_type_header: header(&request, "Lambda-Runtime-Function-Error-Type"),
                    body: json_body(),
                }
            } else {
                let _ =
                    request.respond(tiny_http::Response::from_string("?").with_status_code(404));
                return;
            };
            lock.lock().unwrap().posted.push(posted);
            cvar.notify_all();
            let _ = request.respond(accepted());
        }
        _ => {
            let _ = request
                .respond(tiny_http::Response::from_string("not found").with_status_code(404));
        }
    }
}

// ---------------------------------------------------------------------------------------
// Running a function binary
// ---------------------------------------------------------------------------------------

struct Function {
    child: Child,
    stdout: Arc<Mutex<String>>,
}

impl Function {
    /// Spawns a function binary against the endpoint, with exactly `env` besides the
    /// variables Lambda itself sets.
    fn spawn(bin: &str, api: &RuntimeApi, env: &[(String, String)]) -> Self {
        let mut cmd = Command::new(bin);
        cmd.env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .env("AWS_LAMBDA_RUNTIME_API", &api.addr)
            .env("AWS_LAMBDA_FUNCTION_NAME", "test-envgov")
            .env("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "1024")
            .env("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST")
            .env("AWS_LAMBDA_LOG_GROUP_NAME", "/aws/lambda/test-envgov")
            .env(
                "AWS_LAMBDA_LOG_STREAM_NAME",
                "2026/01/31/[$LATEST]0123456789abcdef",
            )
            .env("AWS_EC2_METADATA_DISABLED", "true")
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit());
        for (k, v) in env {
            cmd.env(k, v);
        }
        let mut child = cmd.spawn().unwrap_or_else(|e| panic!("spawn {bin}: {e}"));
        let stdout = Arc::new(Mutex::new(String::new()));
        let mut pipe = child.stdout.take().unwrap();
        let sink = stdout.clone();
        std::thread::spawn(move || {
            let mut buf = [0u8; 8192];
            while let Ok(n) = pipe.read(&mut buf) {
                if n == 0 {
                    break;
                }
                let text = String::from_utf8_lossy(&buf[..n]).into_owned();
                eprint!("{text}");
                sink.lock().unwrap().push_str(&text);
            }
        });
        Function { child, stdout }
    }

    /// The JSON log lines written so far.
    fn logs(&self) -> Vec<Value> {
        self.stdout
            .lock()
            .unwrap()
            .lines()
            .filter_map(|l| serde_json::from_str(l).ok())
            .collect()
    }

    /// Waits for the process to end by itself.
    fn wait_exit(&mut self, timeout: Duration) -> std::process::ExitStatus {
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                return status;
            }
            assert!(Instant::now() < deadline, "the function did not exit");
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

impl Drop for Function {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

const INGEST: &str = env!("CARGO_BIN_EXE_envgov-ingest");
const NIGHTLY: &str = env!("CARGO_BIN_EXE_envgov-nightly");
const FANOUT: &str = env!("CARGO_BIN_EXE_envgov-fanout");

fn fixture(name: &str) -> Value {
    let path: PathBuf = [env!("CARGO_MANIFEST_DIR"), "tests", "fixtures", name]
        .iter()
        .collect();
    serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap()
}

/// The EventBridge "Object Created" fixture, pointed at a bucket and key.
fn object_created(bucket: &str, key: &str) -> Value {
    let mut e = fixture("s3-object-created-eventbridge.json");
    e["detail"]["bucket"]["name"] = json!(bucket);
    e["resources"] = json!([format!("arn:aws-cn:s3:::{bucket}")]);
    e["detail"]["object"]["key"] = json!(key);
    e
}

fn response_body(p: &Posted) -> &Value {
    match p {
        Posted::Response { body, .. } => body,
        other => panic!("expected a response, got {other:?}"),
    }
}

fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

// ---------------------------------------------------------------------------------------
// Sample deliveries
// ---------------------------------------------------------------------------------------

fn sample_config(units: usize, days: u32) -> envgov_sample_data::SampleConfig {
    envgov_sample_data::SampleConfig {
        units,
        days,
        defects: envgov_sample_data::DefectRates::none(),
        xss_probes: false,
        ..Default::default()
    }
}

fn sample_files(units: usize, days: u32) -> BTreeMap<String, Vec<u8>> {
    let mut files = BTreeMap::new();
    envgov_sample_data::generate(&sample_config(units, days), &mut |k, b| {
        files.insert(k, b);
    });
    files
}

const MSW_KEY: &str = "raw/msw/2026-01-31/msw.csv";

/// A clean generated `msw.csv` with one defect made by hand: on file line 3 (the second
/// record) the harmlessly treated tonnage is set above the tonnage received. Returns the
/// bytes and the number of records (lines after the header).
fn msw_with_one_defect() -> (Vec<u8>, u64) {
    let files = sample_files(4, 1);
    let clean = files
        .get(MSW_KEY)
        .expect("the sample delivers msw.csv daily");
    let mut lines: Vec<Vec<u8>> = clean
        .split(|b| *b == b'\n')
        .map(|l| l.strip_suffix(b"\r").unwrap_or(l).to_vec())
        .collect();
    if lines.last().is_some_and(|l| l.is_empty()) {
        lines.pop();
    }
    assert!(lines.len() >= 4, "need a header and at least 3 records");
    let mut fields: Vec<Vec<u8>> = lines[2].split(|b| *b == b',').map(<[u8]>::to_vec).collect();
    assert_eq!(
        fields.len(),
        7,
        "msw.csv has 7 columns (data/raw-formats.md)"
    );
    let received: f64 = std::str::from_utf8(&fields[4]).unwrap().parse().unwrap();
    fields[5] = format!("{}", received + 100.0).into_bytes();
    lines[2] = fields.join(&b","[..]);
    let records = lines.len() as u64 - 1;
    let mut bytes = lines.join(&b"\n"[..]);
    bytes.push(b'\n');
    (bytes, records)
}

// ---------------------------------------------------------------------------------------
// Tests
// ---------------------------------------------------------------------------------------

#[test]
fn ingest_validates_a_delivery_and_leaves_a_report_for_the_provider() {
    let server = server_or_skip!();
    let place = server.place("ingest");
    let (bytes, records) = msw_with_one_defect();
    open(&format!("s3://{}", place.evidence_bucket))
        .put(MSW_KEY, &bytes)
        .unwrap();

    let api = RuntimeApi::start(vec![object_created(&place.evidence_bucket, MSW_KEY)]);
    let mut f = Function::spawn(INGEST, &api, &server.function_env(&place));
    let results = api.wait_for_results(1, Duration::from_secs(120), &mut f.child);
    let request_id = &api.delivered()[0];
    let body = response_body(&results[0]);
    assert!(
        matches!(&results[0], Posted::Response { request_id: r, .. } if r == request_id),
        "{results:?}"
    );
    let result = &body["results"][0];
    assert_eq!(result["key"], MSW_KEY);
    assert_eq!(result["outcome"], "partially-rejected");
    assert_eq!(result["read"], records);
    assert_eq!(result["accepted"], records - 1);
    assert_eq!(result["rejected"], 1);

    // The store: partition, rejects and the report, nothing under raw/ (that is evidence).
    let store = open(&place.store_url);
    let parquet = store
        .get("validated/msw/date=2026-01-31/part.parquet")
        .unwrap()
        .expect("validated partition written");
    assert!(parquet.starts_with(b"PAR1") && parquet.ends_with(b"PAR1"));
    let rejects = String::from_utf8(
        store
            .get("rejects/msw/date=2026-01-31/rejects.csv")
            .unwrap()
            .expect("rejects written"),
    )
    .unwrap();
    assert_eq!(
        rejects.lines().count(),
        2,
        "header and one rejection: {rejects}"
    );
    assert!(rejects.contains("treated_exceeds_received"), "{rejects}");
    assert!(store.list("raw/").unwrap().is_empty());

    let report: Value = serde_json::from_slice(
        &store
            .get("runs/ingest/msw/2026-01-31/msw.csv.json")
            .unwrap()
            .expect("per-file report written"),
    )
    .unwrap();
    assert_eq!(report["key"], MSW_KEY);
    assert_eq!(report["sha256"], sha256_hex(&bytes));
    assert_eq!(report["bytes"], bytes.len() as u64);
    assert_eq!(
        report["arrived_at"], "2026-01-31T16:05:09Z",
        "the event's time"
    );
    assert_eq!(report["status"], "partially-rejected");
    assert_eq!(report["read"], records);
    assert_eq!(report["accepted"], records - 1);
    assert_eq!(report["rejected"], 1);
    assert_eq!(
        report["rejected_by_reason"],
        json!({"treated_exceeds_received": 1})
    );
    assert_eq!(report["rejections"][0]["line"], 3);
    assert_eq!(
        report["rejections"][0]["reason_code"],
        "treated_exceeds_received"
    );
    assert_eq!(
        report["rejects_key"],
        "rejects/msw/date=2026-01-31/rejects.csv"
    );

    // Logs: JSON lines carrying the request id and the run date.
    let logs = f.logs();
    let done = logs
        .iter()
        .find(|l| l["message"] == "file ingested")
        .unwrap_or_else(|| panic!("no 'file ingested' line in {logs:?}"));
    assert_eq!(done["span"]["request_id"], request_id.as_str(), "{done}");
    assert_eq!(done["span"]["run_date"], "2026-01-31", "{done}");
}

#[test]
fn ingest_of_a_key_outside_raw_is_a_readable_invalid_outcome() {
    let server = server_or_skip!();
    let place = server.place("outside");
    // The provider's upload tool named the file "uploads/msw 2026-01-31(1).csv".
    let decoded = "uploads/msw 2026-01-31(1).csv";
    open(&format!("s3://{}", place.evidence_bucket))
        .put(decoded, b"whatever")
        .unwrap();
    let mut event = fixture("s3-notification-records.json");
    event["Records"][0]["s3"]["bucket"]["name"] = json!(place.evidence_bucket);

    let api = RuntimeApi::start(vec![event]);
    let mut f = Function::spawn(INGEST, &api, &server.function_env(&place));
    let results = api.wait_for_results(1, Duration::from_secs(60), &mut f.child);
    let result = &response_body(&results[0])["results"][0];
    assert_eq!(result["key"], decoded, "the notification key, URL-decoded");
    assert_eq!(result["outcome"], "invalid-key");
    let message = result["message"].as_str().unwrap();
    assert!(message.contains("not under raw/"), "{message}");
    assert!(
        message.contains("raw/{source}/{YYYY-MM-DD}/{file}"),
        "{message}"
    );
    assert!(
        open(&place.store_url).list("").unwrap().is_empty(),
        "nothing written for a key that is not a delivery"
    );
}

#[test]
fn the_same_ingest_event_delivered_twice_leaves_identical_store_contents() {
    let server = server_or_skip!();
    let place = server.place("twice");
    let (bytes, _) = msw_with_one_defect();
    open(&format!("s3://{}", place.evidence_bucket))
        .put(MSW_KEY, &bytes)
        .unwrap();
    let event = object_created(&place.evidence_bucket, MSW_KEY);
    let store = open(&place.store_url);

    let api = RuntimeApi::start(vec![event.clone()]);
    let mut f = Function::spawn(INGEST, &api, &server.function_env(&place));
    let first = api.wait_for_results(1, Duration::from_secs(120), &mut f.child);
    drop(f);
    drop(api);
    let after_first = snapshot(&store);
    assert!(after_first.contains_key("runs/ingest/msw/2026-01-31/msw.csv.json"));
    assert!(after_first.contains_key("validated/msw/date=2026-01-31/manifest.json"));

    // Redelivered to a fresh execution environment, and once more to the same one.
    let api = RuntimeApi::start(vec![event.clone(), event]);
    let mut f = Function::spawn(INGEST, &api, &server.function_env(&place));
    let again = api.wait_for_results(2, Duration::from_secs(120), &mut f.child);
    let after_again = snapshot(&store);
    assert_eq!(
        after_first.keys().collect::<Vec<_>>(),
        after_again.keys().collect::<Vec<_>>()
    );
    for (key, bytes) in &after_first {
        assert!(after_again[key] == *bytes, "{key} changed on redelivery");
    }
    let r0 = &response_body(&first[0])["results"][0];
    assert_eq!(r0["partition_validated"], true);
    for p in &again {
        let r = &response_body(p)["results"][0];
        assert_eq!(r["partition_validated"], false, "reused, not rewritten");
        assert_eq!(r["sha256"], r0["sha256"]);
        assert_eq!(r["outcome"], r0["outcome"]);
    }
}

#[test]
fn nightly_scheduled_event_publishes_datasets_and_makes_a_release_live() {
    let server = server_or_skip!();
    let place = server.place("nightly");
    let config = sample_config(4, 3);
    let evidence = open(&format!("s3://{}", place.evidence_bucket));
    let mut delivered = 0;
    envgov_sample_data::generate(&config, &mut |k, b| {
        evidence.put(&k, &b).unwrap();
        delivered += 1;
    });
    assert!(delivered > 0);

    let api = RuntimeApi::start(vec![fixture("scheduler-scheduled-event.json")]);
    let mut f = Function::spawn(NIGHTLY, &api, &server.function_env(&place));
    let results = api.wait_for_results(1, Duration::from_secs(600), &mut f.child);
    let summary = response_body(&results[0]);
    // No date in the event: the night its `time` names, 2026-01-31T18:00Z = 1 February
    // 02:00 in Beijing, so the night of 31 January (the sample's last day).
    assert_eq!(summary["run_date"], config.end_date.to_string());
    assert_eq!(summary["rejected"], 0, "clean sample: {summary}");
    let release = summary["site_release"].as_str().expect("a release id");
    assert!(release.starts_with("2026-01-31-"), "{release}");

    let store = open(&place.store_url);
    assert_eq!(
        store.get("site/current").unwrap().as_deref(),
        Some(format!("{release}\n").as_bytes()),
        "the release is live"
    );
    let prefix = format!("site/releases/{release}/");
    let index = store
        .get(&format!("{prefix}index.html"))
        .unwrap()
        .expect("the release's home page");
    assert!(String::from_utf8_lossy(&index).contains("<html"));
    // The stable dataset files are served from the live release (they switch with it).
    let datasets = format!("{prefix}datasets/");
    let catalogue: Value = serde_json::from_slice(
        &store
            .get(&format!("{datasets}catalogue.json"))
            .unwrap()
            .unwrap(),
    )
    .unwrap();
    assert_eq!(catalogue["data_date"], "2026-01-31");
    let ids: Vec<&str> = catalogue["datasets"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["id"].as_str().unwrap())
        .collect();
    assert_eq!(summary["datasets"], ids.len());
    for id in &ids {
        // Every file the dataset's datapackage lists (one CSV for most datasets, a CSV and a
        // Parquet file per month for cems-hourly) is in the live release.
        let package: Value = serde_json::from_slice(
            &store
                .get(&format!("{datasets}{id}/datapackage.json"))
                .unwrap()
                .unwrap_or_else(|| panic!("{id}/datapackage.json in the live release")),
        )
        .unwrap();
        let paths: Vec<&str> = package["resources"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r["path"].as_str().unwrap())
            .collect();
        assert!(
            paths
                .iter()
                .any(|p| p.ends_with(".csv") || p.ends_with(".csv.gz")),
            "{id}: a CSV resource in {paths:?}"
        );
        for path in paths {
            assert!(
                store
                    .get(&format!("{datasets}{id}/{path}"))
                    .unwrap()
                    .is_some(),
                "{id}/{path} published in the live release"
            );
        }
    }
    let report: Value =
        serde_json::from_slice(&store.get("runs/2026-01-31/report.json").unwrap().unwrap())
            .unwrap();
    assert_eq!(report["site_release"], release);
    assert_eq!(summary["read"], summary["accepted"]);
    // Evidence stayed where it was; the store holds only derived data.
    assert!(store.list("raw/").unwrap().is_empty());
    assert_eq!(evidence.list("raw/").unwrap().len(), delivered);

    let logs = f.logs();
    let done = logs
        .iter()
        .find(|l| l["message"] == "invocation succeeded")
        .unwrap_or_else(|| panic!("no success line in {logs:?}"));
    assert_eq!(done["span"]["run_date"], "2026-01-31");
    assert_eq!(done["span"]["request_id"], api.delivered()[0].as_str());
}

#[test]
fn bad_configuration_is_an_init_error_naming_the_variable() {
    let server = server_or_skip!();
    let place = Place {
        evidence_bucket: "unused-bucket".into(),
        store_url: format!("s3://{}/lambda/unused", server.bucket),
    };
    let cases: [(&str, &str, &str); 2] = [
        ("ENVGOV_STORE", "", "ENVGOV_STORE is not set"),
        (
            "ENVGOV_MAX_REJECT_RATE",
            "abc",
            "ENVGOV_MAX_REJECT_RATE=\"abc\"",
        ),
    ];
    for (bin, (var, value, expected)) in [INGEST, NIGHTLY].into_iter().zip(cases) {
        let env: Vec<(String, String)> = server
            .function_env(&place)
            .into_iter()
            .map(|(k, v)| {
                if k == var {
                    (k, value.to_string())
                } else {
                    (k, v)
                }
            })
            .collect();
        let api = RuntimeApi::start(vec![json!({})]);
        let mut f = Function::spawn(bin, &api, &env);
        let status = f.wait_exit(Duration::from_secs(30));
        assert!(!status.success(), "{bin} exits non-zero on bad config");
        let posted = api.posted();
        assert_eq!(posted.len(), 1, "exactly one init error: {posted:?}");
        let Posted::InitError {
            error_type_header,
            body,
        } = &posted[0]
        else {
            panic!("expected an init error, got {posted:?}")
        };
        assert_eq!(error_type_header.as_deref(), Some("Config"));
        assert_eq!(body["errorType"], "Config");
        let message = body["errorMessage"].as_str().unwrap();
        assert!(message.contains(expected), "{message}");
        assert!(
            api.delivered().is_empty(),
            "no event taken before a valid start"
        );
    }
}

#[test]
fn a_storage_failure_is_a_retryable_error() {
    let server = server_or_skip!();
    let place = server.place("denied");
    open(&format!("s3://{}", place.evidence_bucket))
        .put(MSW_KEY, &msw_with_one_defect().0)
        .unwrap();
    let env: Vec<(String, String)> = server
        .function_env(&place)
        .into_iter()
        .map(|(k, v)| {
            if k == "AWS_SECRET_ACCESS_KEY" {
                (k, "0".repeat(64))
            } else {
                (k, v)
            }
        })
        .collect();
    let api = RuntimeApi::start(vec![object_created(&place.evidence_bucket, MSW_KEY)]);
    let mut f = Function::spawn(INGEST, &api, &env);
    let results = api.wait_for_results(1, Duration::from_secs(120), &mut f.child);
    let Posted::Error {
        request_id,
        error_type_header,
        body,
    } = &results[0]
    else {
        panic!("expected an invocation error, got {results:?}")
    };
    assert_eq!(request_id, &api.delivered()[0]);
    // lambda_runtime sends "unhandled" in the header; the type is in the body.
    assert!(error_type_header.is_some());
    assert_eq!(body["errorType"], "Retryable.Storage");
    let message = body["errorMessage"].as_str().unwrap();
    assert!(
        message.contains("raw/msw/2026-01-31/"),
        "names the key: {message}"
    );
    // Nothing was written with the wrong key (checked with the right one).
    assert!(open(&place.store_url).list("").unwrap().is_empty());
}

#[test]
fn nightly_over_the_reject_rate_limit_is_an_invalid_data_error() {
    let server = server_or_skip!();
    let place = server.place("rate");
    // The sample with its default defects, and a limit of zero rejected records.
    let config = envgov_sample_data::SampleConfig {
        units: 4,
        days: 2,
        ..Default::default()
    };
    let evidence = open(&format!("s3://{}", place.evidence_bucket));
    envgov_sample_data::generate(&config, &mut |k, b| evidence.put(&k, &b).unwrap());
    let env: Vec<(String, String)> = server
        .function_env(&place)
        .into_iter()
        .map(|(k, v)| {
            if k == "ENVGOV_MAX_REJECT_RATE" {
                (k, "0".into())
            } else {
                (k, v)
            }
        })
        .collect();
    let mut event = fixture("scheduler-scheduled-event.json");
    event["detail"]["date"] = json!("2026-01-31");
    let api = RuntimeApi::start(vec![event]);
    let mut f = Function::spawn(NIGHTLY, &api, &env);
    let results = api.wait_for_results(1, Duration::from_secs(600), &mut f.child);
    let Posted::Error { body, .. } = &results[0] else {
        panic!("expected an invocation error, got {results:?}")
    };
    assert_eq!(body["errorType"], "InvalidData.RejectRate");
    let message = body["errorMessage"].as_str().unwrap();
    assert!(message.contains("reject rate too high for"), "{message}");
    assert!(message.contains("limit 0.00%"), "{message}");
    // The report and rejects are written for the provider; no release went live.
    let store = open(&place.store_url);
    assert!(store.get("runs/2026-01-31/report.json").unwrap().is_some());
    assert!(!store.list("rejects/").unwrap().is_empty());
    assert_eq!(store.get("site/current").unwrap(), None);
}

#[test]
fn the_nightly_run_keeps_what_ingest_validated_byte_for_byte() {
    let server = server_or_skip!();
    let place = server.place("handover");
    let evidence = open(&format!("s3://{}", place.evidence_bucket));
    for (k, b) in sample_files(4, 2) {
        evidence.put(&k, &b).unwrap();
    }
    let store = open(&place.store_url);
    let env = server.function_env(&place);

    // The registry first (the sample delivers it on its first day), then the msw file: the
    // partition is validated against the registry in force, as the nightly run does.
    let api = RuntimeApi::start(vec![
        object_created(
            &place.evidence_bucket,
            "raw/enterprises/2026-01-30/registry.jsonl",
        ),
        object_created(&place.evidence_bucket, MSW_KEY),
    ]);
    let mut f = Function::spawn(INGEST, &api, &env);
    let ingested = api.wait_for_results(2, Duration::from_secs(120), &mut f.child);
    for result in &ingested {
        assert_eq!(response_body(result)["results"][0]["outcome"], "accepted");
    }
    drop(f);
    drop(api);
    let partition = [
        "validated/msw/date=2026-01-31/part.parquet",
        "validated/msw/date=2026-01-31/manifest.json",
        "rejects/msw/date=2026-01-31/rejects.csv",
    ]
    .map(|k| store.get(k).unwrap().expect(k));

    let api = RuntimeApi::start(vec![fixture("scheduler-scheduled-event.json")]);
    let mut f = Function::spawn(NIGHTLY, &api, &env);
    let results = api.wait_for_results(1, Duration::from_secs(600), &mut f.child);
    assert_eq!(response_body(&results[0])["run_date"], "2026-01-31");
    let after = [
        "validated/msw/date=2026-01-31/part.parquet",
        "validated/msw/date=2026-01-31/manifest.json",
        "rejects/msw/date=2026-01-31/rejects.csv",
    ]
    .map(|k| store.get(k).unwrap().expect(k));
    assert!(
        partition == after,
        "the nightly run changed the ingested partition"
    );
    // The nightly ledger now records the file with the sha256 the ingest report gave.
    let ledger: Value =
        serde_json::from_slice(&store.get("runs/raw-ledger.json").unwrap().unwrap()).unwrap();
    let report: Value = serde_json::from_slice(
        &store
            .get("runs/ingest/msw/2026-01-31/msw.csv.json")
            .unwrap()
            .unwrap(),
    )
    .unwrap();
    assert_eq!(ledger["files"][MSW_KEY]["sha256"], report["sha256"]);
}

/// The fanned-out night as the state machine runs it, through the Runtime API: the plan
/// step answers where its items are, each item is one task invocation, then the reduce.
/// It publishes what the nightly function publishes from the same deliveries.
#[test]
fn the_fanout_steps_publish_what_the_nightly_function_publishes() {
    let server = server_or_skip!();
    let config = sample_config(4, 3);
    let (single, fanned) = (server.place("fan-single"), server.place("fan-out"));
    for place in [&single, &fanned] {
        let evidence = open(&format!("s3://{}", place.evidence_bucket));
        envgov_sample_data::generate(&config, &mut |k, b| evidence.put(&k, &b).unwrap());
    }
    let api = RuntimeApi::start(vec![fixture("scheduler-scheduled-event.json")]);
    let mut f = Function::spawn(NIGHTLY, &api, &server.function_env(&single));
    let nightly =
        response_body(&api.wait_for_results(1, Duration::from_secs(600), &mut f.child)[0]).clone();

    let mut plan = fixture("fanout-plan.json");
    plan["execution"] = json!("exec-1");
    let api = RuntimeApi::start(vec![plan]);
    let mut f = Function::spawn(FANOUT, &api, &server.function_env(&fanned));
    let planned =
        response_body(&api.wait_for_results(1, Duration::from_secs(600), &mut f.child)[0]).clone();
    assert_eq!(planned["run_date"], "2026-01-31");
    // The ItemReader's object: in the store bucket, under the store's prefix.
    assert_eq!(planned["items_bucket"], server.bucket.as_str());
    let key = planned["items_key"].as_str().unwrap();
    let items: Vec<Value> = serde_json::from_slice(
        &open(&format!("s3://{}", server.bucket))
            .get(key)
            .unwrap()
            .expect("the items"),
    )
    .unwrap();
    assert_eq!(planned["items"], items.len());
    assert!(items.len() >= 3, "{items:?}");
    api.push(
        items
            .iter()
            .map(|item| json!({"step": "task", "item": item}))
            .collect(),
    );
    let tasks = api.wait_for_results(1 + items.len(), Duration::from_secs(600), &mut f.child);
    for t in &tasks[1..] {
        assert_eq!(response_body(t)["validated"], true, "{t:?}");
    }
    api.push(vec![
        json!({"step": "reduce", "run_date": "2026-01-31", "execution": "exec-1"}),
    ]);
    let all = api.wait_for_results(2 + items.len(), Duration::from_secs(600), &mut f.child);
    let reduced = response_body(&all[1 + items.len()]);
    assert_eq!(reduced["step"], "reduce");
    for field in ["read", "accepted", "rejected", "datasets", "site_release"] {
        assert_eq!(reduced[field], nightly[field], "{field}");
    }
    let snapshot_of = |place: &Place| {
        let store = open(&place.store_url);
        let mut files = snapshot(&store);
        files.retain(|k, _| k.starts_with("datasets/") || k.starts_with("validated/"));
        files
    };
    let (a, b) = (snapshot_of(&single), snapshot_of(&fanned));
    assert!(a.len() > 20, "{}", a.len());
    assert_eq!(a.keys().collect::<Vec<_>>(), b.keys().collect::<Vec<_>>());
    for (k, v) in &a {
        assert!(v == &b[k], "{k} differs");
    }
}

/// The secret key every function of these tests signs with (a fixed seed, never a real key).
fn test_signing_key() -> String {
    use envgov_pipeline::signing::{KeyId, SecretKey};
    SecretKey::from_seed(KeyId(*b"lambda-t"), [0x3c; 32]).file_text()
}
