//! `kscope check -f` against the real control plane: a set of 100 tenants applied and proven
//! (one item each), then two tenants changed behind kscope's back (a RoleBinding deleted by
//! hand, a ServiceAccount bound to `view` cluster-wide) and exactly those two found, each
//! with its reason; a tenant of the file that was never applied; one set on two clusters; and
//! `--all-resources` answered from the rules reviews and by one access review per question,
//! with the same answers.

mod common;
mod runner;

use std::collections::BTreeMap;

use common::admin;
use k8s_openapi::api::rbac::v1::RoleBinding;
use kube::Api;
use kube::api::DeleteParams;
use runner::{Kscope, Run};
use serde_json::Value;

/// The items of an AccessCheckList.
fn items(run: &Run) -> Vec<Value> {
    let parsed = run.stdout_json();
    assert_eq!(parsed["kind"], "AccessCheckList", "{}", run.stdout);
    parsed["items"].as_array().unwrap().clone()
}

fn key(item: &Value) -> String {
    format!(
        "{}/{}",
        item["namespace"].as_str().unwrap(),
        item["serviceAccount"].as_str().unwrap()
    )
}

/// A ClusterRoleBinding of `view` to one ServiceAccount: access from outside the grant.
async fn bind_view_cluster_wide(client: &kube::Client, name: &str, ns: &str, sa: &str) {
    let subject = common::service_account_subject(ns, sa);
    common::bind_cluster_role_cluster_wide(client, name, "view", subject).await;
}

#[tokio::test]
async fn a_fleet_of_100_is_proven_and_exactly_the_two_changed_tenants_differ() {
    let dir = common::cluster_dir();
    let client = common::admin_client(&dir).await;
    let set = common::unique_name("proof");
    let tenants: Vec<(String, String)> = (0..50)
        .flat_map(|i| {
            let ns = format!("{set}-{i}");
            [(ns.clone(), "ci".to_string()), (ns, "deploy".to_string())]
        })
        .collect();
    let lines: Vec<String> = tenants
        .iter()
        .map(|(ns, sa)| match sa.as_str() {
            "deploy" => format!("{{namespace: {ns}, serviceAccount: {sa}, clusterRole: edit}}"),
            _ => format!("{{namespace: {ns}, serviceAccount: {sa}}}"),
        })
        .collect();
    assert_eq!(lines.len(), 100);
    let mut kscope = admin(&dir);
    let file = common::set_file(kscope.home(), &set, &lines);
    let f = file.to_str().unwrap();
    kscope.run(["apply", "-f", f]).expect_code(0);

    // Right after apply, every tenant holds: one item each, in the file's order.
    let run = kscope
        .run(["check", "-f", f, "-o", "json", "--concurrency", "16"])
        .expect_code(0);
    let found = items(&run);
    assert_eq!(found.len(), 100, "{}", run.stderr);
    for (item, (ns, sa)) in found.iter().zip(&tenants) {
        assert_eq!(key(item), format!("{ns}/{sa}"));
        assert_eq!(item["result"], "ok", "{item}");
        assert_eq!(item["kind"], "AccessCheck");
        assert!(item["context"].is_string(), "{item}");
        assert!(item["answers"].as_array().is_some_and(|a| !a.is_empty()));
        assert!(
            item["containment"]
                .as_array()
                .unwrap()
                .iter()
                .all(|p| p["refused"] == true),
            "{item}"
        );
    }
    run.stderr_contains("100 ok, 0 differ");

    // Behind kscope's back: one tenant loses its RoleBinding, another gains `view` everywhere.
    let (lost_ns, lost_sa) = &tenants[10];
    let (extra_ns, extra_sa) = &tenants[57];
    Api::<RoleBinding>::namespaced(client.clone(), lost_ns)
        .delete(lost_sa, &DeleteParams::default())
        .await
        .unwrap();
    let crb = common::unique_name("proof-view");
    bind_view_cluster_wide(&client, &crb, extra_ns, extra_sa).await;

    let run = kscope.run(["check", "-f", f, "-o", "json"]);
    common::unbind_cluster_wide(&client, &crb).await;
    let run = run.expect_code(3);
    let found = items(&run);
    assert_eq!(found.len(), 100);
    let differing: BTreeMap<String, &Value> = found
        .iter()
        .filter(|i| i["result"] != "ok")
        .map(|i| (key(i), i))
        .collect();
    let lost = format!("{lost_ns}/{lost_sa}");
    let extra = format!("{extra_ns}/{extra_sa}");
    assert_eq!(
        differing.keys().cloned().collect::<Vec<_>>(),
        {
            let mut both = vec![lost.clone(), extra.clone()];
            both.sort();
            both
        },
        "{}",
        run.stderr
    );
    let reasons = |k: &str| differing[k]["reasons"].to_string();
    assert_eq!(differing[&lost]["result"], "differs");
    assert!(
        reasons(&lost).contains(&format!("RoleBinding {lost} is missing")),
        "{}",
        reasons(&lost)
    );
    assert_eq!(differing[&extra]["result"], "differs");
    assert!(
        reasons(&extra).contains("allowed:") && reasons(&extra).contains(&crb),
        "the reason names the ClusterRoleBinding: {}",
        reasons(&extra)
    );
    run.stderr_contains("98 ok, 2 differ");

    // The table says the same, a line per tenant.
    let mut table = kscope.run(["check", "-f", f]).expect_code(3).stdout;
    table = table
        .lines()
        .filter(|l| l.contains(" differs "))
        .collect::<Vec<_>>()
        .join("\n");
    assert_eq!(table.lines().count(), 1, "{table}");
    assert!(
        table.contains(&format!("RoleBinding {lost} is missing")),
        "{table}"
    );

    // A tenant of the file that was never applied is missing.
    let never = format!("{{namespace: {set}-never, serviceAccount: ci}}");
    let other = common::set_file(
        kscope.home(),
        &format!("{set}-b"),
        &[lines[0].clone(), never],
    );
    let run = kscope
        .run(["check", "-f", other.to_str().unwrap(), "-o", "json"])
        .expect_code(3);
    let results: Vec<String> = items(&run)
        .iter()
        .map(|i| i["result"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(results, ["ok", "missing"], "{}", run.stdout);
}

#[tokio::test]
async fn one_set_is_proven_on_two_clusters_and_each_item_names_its_own() {
    let (first, second) = (common::cluster_dir(), common::faults_cluster_dir());
    let kscope = Kscope::new();
    let kubeconfig = common::two_clusters(&first, &second, kscope.home());
    let mut kscope = kscope.kubeconfig(&kubeconfig);
    let ns = common::unique_name("proof-two");
    let file = common::set_file(
        kscope.home(),
        &common::unique_name("proof-two"),
        &[
            format!("{{namespace: {ns}, serviceAccount: ci}}"),
            format!("{{namespace: {ns}, serviceAccount: app, clusterRole: view}}"),
        ],
    );
    let f = file.to_str().unwrap();
    let contexts = ["--context", "one", "--context", "two"];
    let mut apply = vec!["apply", "-f", f];
    apply.extend(contexts);
    kscope.run(&apply).expect_code(0);
    let mut check = vec!["check", "-f", f, "-o", "json"];
    check.extend(contexts);
    let run = kscope.run(&check).expect_code(0);
    let seen: Vec<(String, String)> = items(&run)
        .iter()
        .map(|i| (i["context"].as_str().unwrap().to_string(), key(i)))
        .collect();
    assert_eq!(
        seen,
        [
            ("one".to_string(), format!("{ns}/ci")),
            ("one".to_string(), format!("{ns}/app")),
            ("two".to_string(), format!("{ns}/ci")),
            ("two".to_string(), format!("{ns}/app")),
        ]
    );
    let mut table = vec!["check", "-f", f];
    table.extend(contexts);
    let run = kscope.run(&table).expect_code(0);
    run.stdout_starts_with("CONTEXT");
    assert_eq!(run.stdout.matches(" ok").count(), 4, "{}", run.stdout);

    // The same tenant made to differ on one cluster only: only that cluster's item says so.
    let client = common::admin_client(&second).await;
    Api::<RoleBinding>::namespaced(client, &ns)
        .delete("ci", &DeleteParams::default())
        .await
        .unwrap();
    let run = kscope.run(&check).expect_code(3);
    let differing: Vec<(String, String)> = items(&run)
        .iter()
        .filter(|i| i["result"] != "ok")
        .map(|i| (i["context"].as_str().unwrap().to_string(), key(i)))
        .collect();
    assert_eq!(differing, [("two".to_string(), format!("{ns}/ci"))]);
}

/// (namespace or cluster, group, resource, verb) → (allowed, reason of a difference).
type Answers = BTreeMap<(String, String, String, String), (bool, Option<String>)>;

fn answers(run: &Run) -> (Answers, Value) {
    let report = run.stdout_json();
    let mut found = Answers::new();
    for a in report["answers"].as_array().unwrap() {
        let differs = a["allowed"] != a["expected"];
        found.insert(
            (
                a["namespace"].as_str().unwrap_or("(cluster)").to_string(),
                a["group"].as_str().unwrap_or_default().to_string(),
                match a["subresource"].as_str() {
                    Some(sub) => format!("{}/{sub}", a["resource"].as_str().unwrap()),
                    None => a["resource"].as_str().unwrap().to_string(),
                },
                a["verb"].as_str().unwrap().to_string(),
            ),
            (
                a["allowed"].as_bool().unwrap(),
                differs.then(|| a["reason"].as_str().unwrap_or_default().to_string()),
            ),
        );
    }
    (found, report)
}

#[tokio::test]
async fn all_resources_from_rules_reviews_agrees_with_one_access_review_per_question() {
    let dir = common::cluster_dir();
    let client = common::admin_client(&dir).await;
    let ns = common::unique_name("proof-modes");
    let mut kscope = admin(&dir);
    kscope
        .run(["grant", &ns, "app", "--template", "developer"])
        .expect_code(0);
    let crb = common::unique_name("proof-modes-view");
    bind_view_cluster_wide(&client, &crb, &ns, "app").await;
    let listed = kscope.run(["check", &ns, "app", "--all-resources", "-o", "json", "-v"]);
    let each = kscope.run([
        "check",
        &ns,
        "app",
        "--all-resources",
        "--access-reviews",
        "-o",
        "json",
        "-v",
    ]);
    common::unbind_cluster_wide(&client, &crb).await;
    let (listed, each) = (listed.expect_code(3), each.expect_code(3));
    let ((from_rules, listed_report), (from_each, each_report)) =
        (answers(&listed), answers(&each));
    assert_eq!(listed_report["mode"], "rulesReviewFirst");
    assert_eq!(each_report["mode"], "accessReviewEach");
    assert!(from_rules.len() > 500, "{} questions", from_rules.len());
    assert_eq!(from_rules, from_each, "the two modes answer alike");
    // The extra binding shows: allowed in default, with the authorizer's reason naming it.
    let differences: Vec<&Option<String>> = from_rules
        .values()
        .filter(|(_, r)| r.is_some())
        .map(|(_, r)| r)
        .collect();
    assert!(!differences.is_empty());
    assert!(
        differences
            .iter()
            .any(|r| r.as_deref().unwrap().contains(&crb)),
        "{differences:?}"
    );
    // The rules reviews answered most questions, so far fewer requests went out.
    let by = |report: &Value, how: &str| {
        report["answers"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|a| a["answeredBy"] == how)
            .count()
    };
    assert_eq!(by(&each_report, "SelfSubjectRulesReview"), 0);
    assert!(by(&listed_report, "SelfSubjectRulesReview") > from_rules.len() / 2);
    let requests = |run: &Run| -> usize {
        run.stderr
            .lines()
            .find_map(|l| {
                l.strip_prefix("kscope: ")?
                    .strip_suffix(" API requests")?
                    .parse()
                    .ok()
            })
            .unwrap()
    };
    assert!(
        requests(&listed) * 5 < requests(&each),
        "{} vs {}",
        requests(&listed),
        requests(&each)
    );
}
