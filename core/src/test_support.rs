//! Test-only helpers shared by the core's unit tests.

/// Asserts an insta snapshot kept in the workspace's top-level `snapshots/` directory.
pub(crate) fn snapshot(name: &str, text: &str) {
    insta::with_settings!({
        snapshot_path => concat!(env!("CARGO_MANIFEST_DIR"), "/../snapshots"),
        prepend_module_to_snapshot => false,
    }, {
        insta::assert_snapshot!(name, text);
    });
}

/// A PolicyRule for tests: API groups, resources and verbs.
pub(crate) fn rule(
    groups: &[&str],
    resources: &[&str],
    verbs: &[&str],
) -> k8s_openapi::api::rbac::v1::PolicyRule {
    let own = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
    k8s_openapi::api::rbac::v1::PolicyRule {
        api_groups: Some(own(groups)),
        resources: Some(own(resources)),
        verbs: own(verbs),
        ..Default::default()
    }
}

/// A Kubernetes object for tests, from its JSON.
pub(crate) fn object<T: serde::de::DeserializeOwned>(value: serde_json::Value) -> T {
    serde_json::from_value(value).unwrap()
}
