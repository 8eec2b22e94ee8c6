//! The `envgov` binary, run as a user would.

use std::path::PathBuf;
use std::process::Command;

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
        &["nightly", "--help"],
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
    assert!(
        dir.0
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
