//! Who owns the fields of kscope's objects. kscope creates an object it knows to be absent
//! with a plain create (a third less of the API server's work than a server-side apply of
//! the same object, measured in docs/benchmarks.md), which records kscope's field manager as
//! an `Update`; every later change is a server-side apply. Before kscope's first apply of
//! such an object, its `Update` entry is handed to an `Apply` entry of the same manager (as
//! kubectl does when it moves an object from client-side to server-side apply), so that the
//! apply may change the fields kscope set, and removes those it no longer sets, as if the
//! object had been applied from the start.

use k8s_openapi::apimachinery::pkg::apis::meta::v1::{FieldsV1, ManagedFieldsEntry, ObjectMeta};
use serde_json::Value;

use super::FIELD_MANAGER;

const UPDATE: &str = "Update";
const APPLY: &str = "Apply";

/// The object's managed fields with kscope's `Update` entries merged into its `Apply` entry
/// (made when there is none); `None` when kscope holds no field through an `Update` (nothing
/// to hand over). Entries of a subresource are left as they are.
pub fn handed_to_apply(meta: &ObjectMeta) -> Option<Vec<ManagedFieldsEntry>> {
    let entries = meta.managed_fields.as_deref()?;
    let ours = |entry: &ManagedFieldsEntry, operation: &str| {
        entry.manager.as_deref() == Some(FIELD_MANAGER)
            && entry.operation.as_deref() == Some(operation)
            && entry.subresource.as_deref().unwrap_or_default().is_empty()
    };
    if !entries.iter().any(|e| ours(e, UPDATE)) {
        return None;
    }
    let mut kept = Vec::with_capacity(entries.len());
    let mut applied: Option<ManagedFieldsEntry> = None;
    for entry in entries {
        if !ours(entry, UPDATE) && !ours(entry, APPLY) {
            kept.push(entry.clone());
            continue;
        }
        applied = Some(match applied.take() {
            None => ManagedFieldsEntry {
                operation: Some(APPLY.to_string()),
                ..entry.clone()
            },
            Some(mut merged) => {
                let fields = entry.fields_v1.as_ref().map(|f| &f.0);
                let into = merged.fields_v1.get_or_insert(FieldsV1(Value::Null));
                if let Some(fields) = fields {
                    union(&mut into.0, fields);
                }
                // The API version the fields were recorded in: the apply's, if one was made.
                if ours(entry, APPLY) {
                    merged.api_version = entry.api_version.clone();
                }
                merged.time = merged.time.max(entry.time.clone());
                merged
            }
        });
    }
    kept.extend(applied);
    Some(kept)
}

/// The maps whose keys kscope may stop setting: an apply must remove those it dropped (a
/// grant's other namespaces, its openings, its end; a quota's entry).
const KEYED: [[&str; 2]; 3] = [
    ["metadata", "labels"],
    ["metadata", "annotations"],
    ["spec", "hard"],
];

/// Whether `wanted` (an object as kscope would apply it) still sets every label, annotation
/// and quota entry that kscope's field manager holds on `live` (both as JSON): one it no
/// longer sets is removed by applying again, which the subset comparison alone would skip.
pub(super) fn drops_nothing(live: &Value, wanted: &Value) -> bool {
    let entries = live
        .pointer("/metadata/managedFields")
        .and_then(Value::as_array)
        .map(Vec::as_slice)
        .unwrap_or_default();
    let held = entries.iter().filter(|entry| {
        entry.get("manager").and_then(Value::as_str) == Some(FIELD_MANAGER)
            && entry
                .get("subresource")
                .and_then(Value::as_str)
                .unwrap_or_default()
                .is_empty()
    });
    held.filter_map(|entry| entry.get("fieldsV1"))
        .all(|fields| {
            KEYED.iter().all(|[outer, inner]| {
                let keys = fields
                    .get(format!("f:{outer}"))
                    .and_then(|o| o.get(format!("f:{inner}")))
                    .and_then(Value::as_object);
                let set = wanted.get(outer).and_then(|o| o.get(inner));
                keys.into_iter()
                    .flatten()
                    .all(|(key, _)| match key.strip_prefix("f:") {
                        Some(name) => set.and_then(|s| s.get(name)).is_some(),
                        None => true,
                    })
            })
        })
}

/// Adds to a field set (the `FieldsV1` tree) every field of `other`.
fn union(into: &mut Value, other: &Value) {
    match (into, other) {
        (Value::Object(into), Value::Object(other)) => {
            for (key, value) in other {
                match into.get_mut(key) {
                    Some(existing) => union(existing, value),
                    None => {
                        into.insert(key.clone(), value.clone());
                    }
                }
            }
        }
        (into @ Value::Null, other) => *into = other.clone(),
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn meta(entries: Value) -> ObjectMeta {
        serde_json::from_value(json!({"managedFields": entries})).unwrap()
    }

    fn entries(meta: &ObjectMeta) -> Value {
        serde_json::to_value(handed_to_apply(meta)).unwrap()
    }

    #[test]
    fn an_object_kscope_only_applied_or_never_touched_has_nothing_to_hand_over() {
        let applied = meta(json!([
            {"manager": "kscope", "operation": "Apply", "apiVersion": "v1",
             "fieldsType": "FieldsV1", "fieldsV1": {"f:metadata": {"f:labels": {}}}},
            {"manager": "kubectl-edit", "operation": "Update", "apiVersion": "v1",
             "fieldsType": "FieldsV1", "fieldsV1": {"f:data": {}}}
        ]));
        assert_eq!(handed_to_apply(&applied), None);
        assert_eq!(handed_to_apply(&ObjectMeta::default()), None);
    }

    #[test]
    fn kscopes_create_becomes_its_apply_and_others_keep_their_fields() {
        let created = meta(json!([
            {"manager": "kscope", "operation": "Update", "apiVersion": "v1",
             "time": "2026-12-07T10:00:00Z", "fieldsType": "FieldsV1",
             "fieldsV1": {"f:metadata": {"f:labels": {"f:a": {}}}}},
            {"manager": "kube-controller-manager", "operation": "Update", "apiVersion": "v1",
             "time": "2026-12-07T10:00:01Z", "fieldsType": "FieldsV1",
             "fieldsV1": {"f:data": {"f:token": {}}}}
        ]));
        assert_eq!(
            entries(&created),
            json!([
                {"manager": "kube-controller-manager", "operation": "Update", "apiVersion": "v1",
                 "time": "2026-12-07T10:00:01Z", "fieldsType": "FieldsV1",
                 "fieldsV1": {"f:data": {"f:token": {}}}},
                {"manager": "kscope", "operation": "Apply", "apiVersion": "v1",
                 "time": "2026-12-07T10:00:00Z", "fieldsType": "FieldsV1",
                 "fieldsV1": {"f:metadata": {"f:labels": {"f:a": {}}}}}
            ])
        );
    }

    #[test]
    fn an_annotation_or_quota_entry_kscope_set_and_no_longer_sets_is_a_change() {
        let live = json!({
            "metadata": {
                "annotations": {"kscope.dev/also-in": "b", "kubernetes.io/service-account.uid": "u"},
                "managedFields": [
                    {"manager": "kscope", "operation": "Apply", "fieldsV1": {"f:metadata": {
                        "f:annotations": {".": {}, "f:kscope.dev/also-in": {}}}}},
                    {"manager": "kube-controller-manager", "operation": "Update", "fieldsV1": {
                        "f:metadata": {"f:annotations": {"f:kubernetes.io/service-account.uid": {}}}}}
                ]
            },
            "spec": {"hard": {"pods": "10"}}
        });
        // Others' annotations are theirs: kscope not setting them is no change.
        let keeps = json!({"metadata": {"annotations": {"kscope.dev/also-in": "b"}}});
        assert!(drops_nothing(&live, &keeps));
        let drops = json!({"metadata": {"annotations": {}}});
        assert!(!drops_nothing(&live, &drops));
        assert!(!drops_nothing(&live, &json!({})));

        let mut quota = live.clone();
        quota["metadata"]["managedFields"] = json!([{"manager": "kscope", "operation": "Update",
            "fieldsV1": {"f:spec": {"f:hard": {".": {}, "f:pods": {}}}}}]);
        assert!(drops_nothing(
            &quota,
            &json!({"spec": {"hard": {"pods": "10"}}})
        ));
        assert!(!drops_nothing(
            &quota,
            &json!({"spec": {"hard": {"cpu": "1"}}})
        ));
        // A status entry of kscope's is not its spec.
        quota["metadata"]["managedFields"][0]["subresource"] = json!("status");
        assert!(drops_nothing(&quota, &json!({})));
    }

    #[test]
    fn an_update_and_an_apply_of_kscope_merge_into_one_apply_holding_both_field_sets() {
        let both = meta(json!([
            {"manager": "kscope", "operation": "Update", "apiVersion": "v1",
             "time": "2026-12-07T10:00:00Z", "fieldsType": "FieldsV1",
             "fieldsV1": {"f:metadata": {"f:labels": {"f:a": {}, "f:b": {}}}}},
            {"manager": "kscope", "operation": "Apply", "apiVersion": "v1",
             "time": "2026-12-07T11:00:00Z", "fieldsType": "FieldsV1",
             "fieldsV1": {"f:metadata": {"f:labels": {"f:b": {}}, "f:annotations": {"f:x": {}}}}},
            {"manager": "kscope", "operation": "Update", "apiVersion": "v1",
             "subresource": "status", "fieldsType": "FieldsV1", "fieldsV1": {"f:status": {}}}
        ]));
        assert_eq!(
            entries(&both),
            json!([
                {"manager": "kscope", "operation": "Update", "apiVersion": "v1",
                 "subresource": "status", "fieldsType": "FieldsV1", "fieldsV1": {"f:status": {}}},
                {"manager": "kscope", "operation": "Apply", "apiVersion": "v1",
                 "time": "2026-12-07T11:00:00Z", "fieldsType": "FieldsV1",
                 "fieldsV1": {"f:metadata": {"f:labels": {"f:a": {}, "f:b": {}},
                                             "f:annotations": {"f:x": {}}}}}
            ])
        );
    }
}
