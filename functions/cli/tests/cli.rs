//! The `envgov` binary, run as a user would.

use std::path::PathBuf;
use std::process::Command;

#[path = "cli/evidence.rs"]
mod evidence;
#[path = "cli/serve.rs"]
mod serve;
#[path = "cli/verify.rs"]
mod verify;

fn envgov() -> Command {
    Command::new(env!("CARGO_BIN_EXE_envgov"))
}

struct Dir(PathBuf);

impl Dir {
    fn new(name: &str) -> Self {
        let d = std::env::temp_dir().join(format!("envgov-cli-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&d);
        std::fs::create_dir_all(&d).unwrap();
        Dir(d)
    }
}

impl Drop for Dir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

#[test]
fn every_command_has_help() {
    for cmd in [
        &["--help"][..],
        &["generate", "--help"],
        &["validate", "--help"],
        &["ingest", "--help"],
        &["nightly", "--help"],
        &["rollback", "--help"],
        &["releases", "--help"],
    ] {
        let out = envgov().args(cmd).output().unwrap();
        assert!(out.status.success(), "{cmd:?}");
        assert!(
            String::from_utf8_lossy(&out.stdout).contains("Usage"),
            "{cmd:?}"
        );
    }
}

#[test]
fn generate_then_nightly_publishes_datasets_and_a_report() {
    let dir = Dir::new("nightly");
    let store = dir.0.to_str().unwrap();
    let out = envgov()
        .args(["generate", "--store", store, "--units", "20", "--days", "2"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let out = envgov()
        .args([
            "nightly",
            "--store",
            store,
            "--log-format",
            "json",
            "--max-reject-rate",
            "0.25",
        ])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("run 2026-01-31"), "{stdout}");
    // Structured logs: every stderr line is a JSON object.
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.lines().count() >= 2);
    for line in stderr.lines() {
        let v: serde_json::Value =
            serde_json::from_str(line).unwrap_or_else(|e| panic!("{e}: {line}"));
        assert!(v.get("level").is_some(), "{line}");
    }
    assert!(dir.0.join("runs/2026-01-31/report.json").is_file());
    // The stable dataset URLs serve the live release's copy of the night's datasets.
    let live = std::fs::read_to_string(dir.0.join("site/current")).unwrap();
    assert!(
        dir.0
            .join("site/releases")
            .join(live.trim())
            .join("datasets/exceedances/datapackage.json")
            .is_file()
    );
    assert!(
        dir.0
            .join("datasets/exceedances/archive/2026-01-31/exceedances.csv")
            .is_file()
    );
}

#[test]
fn validate_reports_line_field_value_and_reason_and_fails() {
    let dir = Dir::new("validate");
    let path = dir.0.join("raw/msw/2026-01-05");
    std::fs::create_dir_all(&path).unwrap();
    let file = path.join("msw.csv");
    std::fs::write(
        &file,
        "统一社会信用代码,设施名称,日期,处理方式,进场量(t),无害化处理量(t),资源化产品量(t)\n\
         91110105MA01ABCD5F,示例焚烧厂,2026-01-05,焚烧,1200,1200,0\n\
         91110105MA01ABCD5F,示例焚烧厂,2026-01-05,卫生填埋,100,120,0\n",
    )
    .unwrap();
    let out = envgov()
        .args(["validate", "--store"])
        .arg(dir.0.join("store"))
        .arg(&file)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.contains("2 read, 1 accepted, 1 rejected"),
        "{stdout}"
    );
    assert!(
        stdout.contains("line 3: [record] treated_exceeds_received 无害化处理量(t) = \"120\""),
        "{stdout}"
    );

    std::fs::write(&file, "统一社会信用代码,设施名称,日期,处理方式,进场量(t),无害化处理量(t),资源化产品量(t)\n91110105MA01ABCD5F,示例焚烧厂,2026-01-05,焚烧,1200,1200,0\n").unwrap();
    let out = envgov()
        .args(["validate", "--store"])
        .arg(dir.0.join("store"))
        .arg(&file)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
}

#[test]
fn ingest_validates_a_delivered_partition_as_the_function_does() {
    let dir = Dir::new("ingest");
    let store = dir.0.join("store");
    let day = store.join("raw/msw/2026-01-05");
    std::fs::create_dir_all(&day).unwrap();
    // Line 3 treats 120 t of 100 t received: rejected (data/raw-formats.md, msw).
    std::fs::write(
        day.join("msw.csv"),
        "统一社会信用代码,设施名称,日期,处理方式,进场量(t),无害化处理量(t),资源化产品量(t)\n\
         91110105MA01ABCD5F,示例焚烧厂,2026-01-05,焚烧,1200,1200,0\n\
         91110105MA01ABCD5F,示例焚烧厂,2026-01-05,卫生填埋,100,120,0\n",
    )
    .unwrap();
    let ingest = |keys: &[&str]| {
        envgov()
            .args(["ingest", "--arrived-at", "2026-01-05T20:00:00Z", "--store"])
            .arg(&store)
            .args(keys)
            .output()
            .unwrap()
    };
    let out = ingest(&["raw/msw/2026-01-05/msw.csv"]);
    assert_eq!(out.status.code(), Some(1), "one record rejected");
    let line: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(line["outcome"], "partially-rejected");
    assert_eq!(
        (line["read"].as_u64(), line["accepted"].as_u64()),
        (Some(2), Some(1))
    );
    let report: serde_json::Value = serde_json::from_slice(
        &std::fs::read(store.join("runs/ingest/msw/2026-01-05/msw.csv.json")).unwrap(),
    )
    .unwrap();
    let rejection = &report["rejections"][0];
    assert_eq!(rejection["line"], 3);
    assert_eq!(rejection["field"], "无害化处理量(t)");
    assert_eq!(rejection["value"], "120");
    assert_eq!(rejection["reason_code"], "treated_exceeds_received");
    let manifest = store.join("validated/msw/date=2026-01-05/manifest.json");
    let validated = std::fs::read(&manifest).unwrap();

    // The same delivery again changes nothing; a key dated two days after its arrival and a
    // key outside the layout are refused without writing.
    let out = ingest(&[
        "raw/msw/2026-01-05/msw.csv",
        "raw/msw/2026-01-08/msw.csv",
        "raw/msw.csv",
    ]);
    assert_eq!(out.status.code(), Some(1));
    let outcomes: Vec<serde_json::Value> = out
        .stdout
        .split(|b| *b == b'\n')
        .filter(|l| !l.is_empty())
        .map(|l| serde_json::from_slice(l).unwrap())
        .collect();
    let names: Vec<&str> = outcomes
        .iter()
        .map(|o| o["outcome"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["partially-rejected", "future-date", "invalid-key"]);
    assert_eq!(outcomes[0]["partition_validated"], false);
    assert_eq!(std::fs::read(&manifest).unwrap(), validated);
    assert!(!store.join("validated/msw/date=2026-01-08").exists());
}

/// Runs `envgov` with `args`, asserting success; returns stdout.
fn ok(args: &[&str]) -> String {
    let out = envgov()
        .args(args)
        .env_remove("ENVGOV_KVS_ARN")
        .env_remove("ENVGOV_RELEASES_TO_KEEP")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

#[test]
fn releases_lists_and_rollback_switches_back() {
    let dir = Dir::new("rollback");
    let store = dir.0.to_str().unwrap();
    ok(&["generate", "--store", store, "--units", "12", "--days", "2"]);
    let night = |date: &str| {
        ok(&[
            "nightly",
            "--store",
            store,
            "--date",
            date,
            "--max-reject-rate",
            "1",
            "--releases-to-keep",
            "3",
        ])
    };
    night("2026-01-30");
    night("2026-01-31");
    let live = |dir: &Dir| {
        std::fs::read_to_string(dir.0.join("site/current"))
            .unwrap()
            .trim()
            .to_string()
    };
    let newer = live(&dir);
    assert!(newer.starts_with("2026-01-31-"), "{newer}");

    // Two releases, the newer one live (the marker in the first column).
    let listing = ok(&["releases", "--store", store]);
    let lines: Vec<&str> = listing.lines().collect();
    assert_eq!(lines.len(), 2, "{listing}");
    assert!(
        lines[0].starts_with("  2026-01-30-") && lines[0].contains("complete"),
        "{listing}"
    );
    assert!(lines[1].starts_with(&format!("* {newer}")), "{listing}");

    // Rollback to the release live before: the older one.
    let out = ok(&["rollback", "--store", store]);
    let older = live(&dir);
    assert!(older.starts_with("2026-01-30-"), "{older}");
    assert!(
        out.contains(&format!("site release {older} is live (was {newer})")),
        "{out}"
    );
    let json: serde_json::Value =
        serde_json::from_str(&ok(&["releases", "--store", store, "--json"])).unwrap();
    let live_ids: Vec<&str> = json
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["live"] == true)
        .map(|r| r["id"].as_str().unwrap())
        .collect();
    assert_eq!(live_ids, vec![older.as_str()]);
    // The error page is the live release's.
    assert_eq!(
        std::fs::read(dir.0.join("site/errors/404.html")).unwrap(),
        std::fs::read(dir.0.join(format!("site/releases/{older}/404.html"))).unwrap()
    );

    // An unknown release is refused and nothing changes.
    let out = envgov()
        .args([
            "rollback",
            "--store",
            store,
            "--to",
            "2026-01-29-000000000000",
        ])
        .env_remove("ENVGOV_KVS_ARN")
        .output()
        .unwrap();
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("is not complete"), "{stderr}");
    assert_eq!(live(&dir), older);

    // --releases-to-keep must be at least 1.
    let out = envgov()
        .args(["site", "--store", store, "--releases-to-keep", "0"])
        .output()
        .unwrap();
    assert!(!out.status.success());
}

#[test]
fn default_store_is_store_in_the_working_directory_and_logs_are_plain() {
    // An installed binary, run from any folder: the default store is `./store` there, never
    // a path compiled in from the build machine.
    let dir = Dir::new("default-store");
    let out = envgov()
        .current_dir(&dir.0)
        .args(["generate", "--units", "4", "--days", "1"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        dir.0.join("store/raw/enterprises").is_dir(),
        "generate without --store writes ./store/raw/ in the working directory"
    );
    // stderr is a pipe here, not a terminal: no ANSI escape (ESC, 0x1b) in the logs.
    let out = envgov()
        .current_dir(&dir.0)
        .args(["nightly", "--no-site", "--max-reject-rate", "1"])
        .env("RUST_LOG", "info")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(!out.stderr.is_empty(), "the run logs something at info");
    assert!(
        !out.stderr.contains(&0x1b),
        "colour codes in logs written to a pipe: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(dir.0.join("store/runs/raw-ledger.json").is_file());
}

#[test]
fn a_2_gib_delivery_is_rejected_unread_under_a_1_gib_address_space_limit() {
    let dir = Dir::new("huge");
    let store = dir.0.join("store");
    let s = store.to_str().unwrap();
    ok(&["generate", "--store", s, "--units", "4", "--days", "1"]);
    // A 2 GiB delivery (sparse: no disk needed, but every byte is read when hashed).
    let huge = store.join("raw/msw/2026-01-31/huge.csv");
    std::fs::File::create(&huge)
        .unwrap()
        .set_len(2 << 30)
        .unwrap();
    // Address space capped at 1 GiB: reading the file into memory would fail.
    let out = Command::new("prlimit")
        .arg("--as=1073741824")
        .arg("--")
        .arg(env!("CARGO_BIN_EXE_envgov"))
        .args([
            "nightly",
            "--store",
            s,
            "--no-site",
            "--max-reject-rate",
            "1",
        ])
        .output()
        .expect("prlimit (util-linux) runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let report: serde_json::Value =
        serde_json::from_slice(&std::fs::read(store.join("runs/2026-01-31/report.json")).unwrap())
            .unwrap();
    let file = report["sources"]["msw"]["files"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["key"] == "raw/msw/2026-01-31/huge.csv")
        .expect("the huge file is in the report");
    assert_eq!(file["bytes"], 2u64 << 30);
    // No newline in 2 GiB of zero bytes: one line, rejected.
    assert_eq!(
        (file["read"].as_u64(), file["rejected"].as_u64()),
        (Some(1), Some(1))
    );
    assert!(
        file["file_error"]
            .as_str()
            .unwrap()
            .contains("over the limit of 268435456 bytes"),
        "{file}"
    );
}

#[test]
fn registry_accept_confirms_a_validated_delivery_only() {
    let dir = Dir::new("registry-accept");
    let store = dir.0.join("store");
    let s = store.to_str().unwrap();
    ok(&["generate", "--store", s, "--units", "6", "--days", "2"]);
    ok(&[
        "nightly",
        "--store",
        s,
        "--no-site",
        "--max-reject-rate",
        "1",
    ]);
    // The sample delivers its registry on its first day, 2026-01-30, not on the 31st.
    let out = envgov()
        .args(["registry", "accept", "2026-01-31", "--store", s])
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("no validated registry delivery"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let said = ok(&[
        "registry",
        "accept",
        "2026-01-30",
        "--store",
        s,
        "--note",
        "checked by the duty officer",
    ]);
    assert!(said.contains("registry of 2026-01-30 accepted"), "{said}");
    let record: serde_json::Value = serde_json::from_slice(
        &std::fs::read(store.join("runs/registry-accepted/2026-01-30.json")).unwrap(),
    )
    .unwrap();
    assert_eq!(record["date"], "2026-01-30");
    assert_eq!(record["note"], "checked by the duty officer");
}
