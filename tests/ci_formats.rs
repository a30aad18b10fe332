//! `audit` and `check -f` in CI, against real control planes: a fresh apply of 50 tenants
//! passes `audit --fail-on medium`; a lowered `--unused-for` reports every fresh token with
//! its age; `--accept` with a valid and an expired entry; and the SARIF (checked by
//! Microsoft's SARIF multitool) and JUnit (read with junitparser) outputs of `audit` with
//! findings and of `check -f` with a difference.
//!
//! The audit tests run on a control plane of their own (`$KSCOPE_TEST_CLUSTER_AUDIT`), one
//! test function, so that no other test's objects reach their whole-cluster exit codes. The
//! validators come from `tests/tools/install-validators` (`tests/run` installs them).

mod common;
mod runner;

use std::process::Command;

use k8s_openapi::api::rbac::v1::RoleBinding;
use kube::Api;
use kube::api::DeleteParams;
use runner::Run;
use serde_json::Value;

/// A validator's location from the environment `tests/run` sets; loud when it is missing.
fn tool(var: &str) -> String {
    std::env::var(var).unwrap_or_else(|_| {
        panic!(
            "\n\n*** ${var} is not set: these tests validate kscope's SARIF and JUnit with real \
             validators. Run the suite with tests/run, or: eval \"$(tests/tools/install-validators | sed 's/^/export /')\"\n\n"
        )
    })
}

/// Runs Microsoft's SARIF multitool on `text`; it exits 0 even for an invalid log, so its
/// `error` lines are what fails.
fn assert_valid_sarif(text: &str, name: &str) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join(format!("{name}.sarif"));
    std::fs::write(&path, text).unwrap();
    // The validator ran, and completed.
    let run = Run::of(
        Command::new(tool("SARIF_MULTITOOL"))
            .arg("validate")
            .arg(&path),
    )
    .expect_code(0);
    run.stdout_contains("Analysis completed successfully");
    let errors: Vec<&str> = run
        .stdout
        .lines()
        .filter(|l| l.contains(": error "))
        .collect();
    assert!(
        errors.is_empty(),
        "{name}: SARIF errors:\n{}\n{text}",
        errors.join("\n")
    );
}

/// (suite name, tests, failures, errors, skipped) per suite, as junitparser counts them
/// from the test cases.
fn junit_counts(text: &str) -> Vec<(String, usize, usize, usize, usize)> {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("report.xml");
    std::fs::write(&path, text).unwrap();
    let script = [
        "import json, sys",
        "from junitparser import JUnitXml",
        "out = []",
        "for suite in JUnitXml.fromfile(sys.argv[1]):",
        "    suite.update_statistics()",
        "    out.append([suite.name, suite.tests, suite.failures, suite.errors, suite.skipped])",
        "print(json.dumps(out))",
    ]
    .join("\n");
    let out = Command::new("python3")
        .env("PYTHONPATH", tool("JUNITPARSER_PYTHONPATH"))
        .args(["-c", &script])
        .arg(&path)
        .output()
        .expect("run python3");
    assert!(
        out.status.success(),
        "junitparser could not read it: {}\n{text}",
        String::from_utf8_lossy(&out.stderr)
    );
    let parsed: Vec<(String, usize, usize, usize, usize)> =
        serde_json::from_slice(&out.stdout).unwrap();
    parsed
}

fn findings(run: &Run) -> Vec<Value> {
    let parsed = run.stdout_json();
    assert_eq!(parsed["kind"], "FindingList", "{}", run.describe());
    parsed["items"].as_array().unwrap().clone()
}

#[tokio::test]
async fn a_fresh_fleet_passes_the_audit_and_findings_reach_ci_formats_as_accepted() {
    let dir = common::audit_cluster_dir();
    let mut kscope = common::admin(&dir);
    let set = common::unique_name("ci");
    let lines: Vec<String> = (0..50)
        .map(|i| format!("{{namespace: {set}-{}, serviceAccount: sa{i}}}", i / 5))
        .collect();
    let file = common::set_file(kscope.home(), &set, &lines);
    kscope
        .run(["apply", "-f", file.to_str().unwrap()])
        .expect_code(0);

    // Fresh tokens are no finding: the gate passes.
    let run = kscope
        .run(["audit", "--fail-on", "medium", "-o", "json"])
        .expect_code(0);
    assert!(findings(&run).is_empty(), "{}", run.stdout);

    // With a lower threshold every token is old enough, and none was ever used.
    std::thread::sleep(std::time::Duration::from_secs(2));
    let (a, b) = (format!("{set}-0"), format!("{set}-1"));
    let run = kscope
        .run([
            "audit",
            "-n",
            &a,
            "--unused-for",
            "1s",
            "--fail-on",
            "medium",
            "-o",
            "json",
        ])
        .expect_code(3);
    let all = findings(&run);
    let unused: Vec<&Value> = all
        .iter()
        .filter(|f| f["ruleId"] == "KSCOPE-TOKEN-UNUSED")
        .collect();
    assert_eq!(unused.len(), 5, "{}", run.stdout);
    for f in &unused {
        assert_eq!(f["kind"], "Secret");
        assert_eq!(f["apiVersion"], "v1");
        assert_eq!(f["namespace"], a.as_str());
        assert!(f["name"].is_string());
        assert!(
            f["message"]
                .as_str()
                .unwrap()
                .contains("is 0 days old and was never used"),
            "{f}"
        );
    }

    // Accepted until next year in one namespace; accepted until yesterday in the other.
    let accept = kscope.path("accept.yaml");
    std::fs::write(
        &accept,
        format!(
            "- ruleId: KSCOPE-TOKEN-UNUSED\n  object: {{kind: Secret, namespace: {a}, name: \"*\"}}\n  reason: break-glass tokens kept on purpose\n  expires: 2999-12-31\n\
- ruleId: KSCOPE-TOKEN-UNUSED\n  object: {{kind: Secret, namespace: {b}, name: \"*\"}}\n  reason: was to be revoked\n  expires: 2020-01-01\n"
        ),
    )
    .unwrap();
    let accept = accept.to_str().unwrap();
    let audit = |ns: &str, output: &str| -> Vec<String> {
        [
            "audit",
            "-n",
            ns,
            "--unused-for",
            "1s",
            "--fail-on",
            "medium",
            "--accept",
            accept,
            "-o",
            output,
        ]
        .iter()
        .map(|s| s.to_string())
        .collect()
    };
    let run = kscope.run(audit(&a, "json")).expect_code(0);
    let found = findings(&run);
    assert_eq!(found.len(), 5, "{}", run.stdout);
    assert!(
        found.iter().all(
            |f| f["accepted"]["reason"] == "break-glass tokens kept on purpose"
                && f["accepted"]["expired"] == false
        ),
        "{}",
        run.stdout
    );
    kscope
        .run(audit(&a, "table"))
        .expect_code(0)
        .stdout_contains("accepted until 2999-12-31");
    let run = kscope.run(audit(&b, "json")).expect_code(3);
    run.stderr_contains("expired on 2020-01-01");
    assert!(
        findings(&run)
            .iter()
            .all(|f| f["accepted"]["expired"] == true),
        "{}",
        run.stdout
    );

    // SARIF: valid, one result per finding, the accepted ones suppressed.
    let sarif = kscope.run(audit(&a, "sarif")).expect_code(0).stdout;
    assert_valid_sarif(&sarif, "audit");
    let log: Value = serde_json::from_str(&sarif).unwrap();
    let results = log["runs"][0]["results"].as_array().unwrap();
    assert_eq!(results.len(), 5);
    assert!(
        results
            .iter()
            .all(|r| r["suppressions"][0]["kind"] == "external")
    );
    let again = kscope.run(audit(&a, "sarif")).expect_code(0).stdout_json();
    let prints = |log: &Value| -> Vec<Value> {
        log["runs"][0]["results"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r["partialFingerprints"].clone())
            .collect()
    };
    assert_eq!(prints(&log), prints(&again), "fingerprints are stable");
    let sarif_b = kscope.run(audit(&b, "sarif")).expect_code(3).stdout;
    assert_valid_sarif(&sarif_b, "audit-expired");

    // JUnit: a case per rule without findings, one per finding; accepted ones skipped.
    let xml = kscope.run(audit(&a, "junit")).expect_code(0).stdout;
    let counts = junit_counts(&xml);
    assert_eq!(counts.len(), 1, "{xml}");
    let (_, tests, failures, errors, skipped) = counts[0].clone();
    assert_eq!((failures, errors, skipped), (0, 0, 5), "{xml}");
    assert_eq!(
        tests,
        5 + 18,
        "18 rules without findings, 5 findings: {xml}"
    );
    let xml = kscope.run(audit(&b, "junit")).expect_code(3).stdout;
    let (_, _, failures, _, skipped) = junit_counts(&xml)[0].clone();
    assert_eq!((failures, skipped), (5, 0), "{xml}");

    // check -f with one difference, in both formats.
    let client = common::admin_client(&dir).await;
    Api::<RoleBinding>::namespaced(client, &a)
        .delete("sa0", &DeleteParams::default())
        .await
        .unwrap();
    let f = file.to_str().unwrap();
    let sarif = kscope
        .run(["check", "-f", f, "-o", "sarif"])
        .expect_code(3)
        .stdout;
    assert_valid_sarif(&sarif, "check-f");
    let log: Value = serde_json::from_str(&sarif).unwrap();
    let results = log["runs"][0]["results"].as_array().unwrap();
    assert!(
        results.iter().any(|r| r["ruleId"] == "KSCOPE-CHECK-BINDING"
            && r["locations"][0]["logicalLocations"][0]["name"] == "sa0"),
        "{sarif}"
    );
    assert!(
        results.iter().all(|r| r["message"]["text"]
            .as_str()
            .unwrap()
            .contains(&format!("{a}/sa0"))),
        "{sarif}"
    );
    let xml = kscope
        .run(["check", "-f", f, "-o", "junit"])
        .expect_code(3)
        .stdout;
    let counts = junit_counts(&xml);
    assert_eq!(counts.len(), 1, "{xml}");
    let (_, tests, failures, errors, skipped) = counts[0].clone();
    assert_eq!((tests, failures, errors, skipped), (50, 1, 0, 0), "{xml}");
    // A single check's SARIF too.
    let sarif = kscope
        .run(["check", &a, "sa0", "--template", "read-only", "-o", "sarif"])
        .expect_code(3)
        .stdout;
    assert_valid_sarif(&sarif, "check");
}
