//! Always pull: kscope's second admission policy, installed once per cluster by the first grant
//! made with `--always-pull`. In a Namespace labelled [`ALWAYS_PULL_LABEL`] it refuses every
//! pod (whoever creates it: a tenant, or a controller for a tenant's Deployment) with a
//! container, init container or ephemeral container whose `imagePullPolicy` is not `Always`,
//! so that a node's cached image is never run without the registry's say: one tenant cannot
//! run another's private image that a node pulled before.
//!
//! The label is read from the request's Namespace (`namespaceObject`), so a grant made later
//! writes no policy: labelling its Namespace is enough. The tenant cannot remove the label:
//! kscope's guard refuses a tenant's change of its Namespace.

use k8s_openapi::api::admissionregistration::v1::{
    ValidatingAdmissionPolicy, ValidatingAdmissionPolicyBinding, ValidatingAdmissionPolicySpec,
    Validation, Variable,
};
use k8s_openapi::api::core::v1::Pod;

use crate::containment::{kscope_policy, policy_binding, policy_binding_holds, rule};
pub use crate::manifest::ALWAYS_PULL_LABEL;
use crate::manifest::covers;

pub use crate::containment::ALWAYS_PULL_NAME;

/// The policy: pods created, and ephemeral containers added, in a Namespace that carries
/// [`ALWAYS_PULL_LABEL`] must pull every image.
pub fn always_pull_policy() -> ValidatingAdmissionPolicy {
    let every = |list: &str| {
        format!("{list}.all(c, has(c.imagePullPolicy) && c.imagePullPolicy == 'Always')")
    };
    let optional = |field: &str| {
        format!(
            "(!has(object.spec.{field}) || {})",
            every(&format!("object.spec.{field}"))
        )
    };
    kscope_policy(
        ALWAYS_PULL_NAME,
        vec![
            rule(&[""], &["pods"], &["CREATE"]),
            rule(&[""], &["pods/ephemeralcontainers"], &["UPDATE"]),
        ],
        ValidatingAdmissionPolicySpec {
            variables: Some(vec![Variable {
                name: "pulls".into(),
                expression: format!(
                    "namespaceObject != null && has(namespaceObject.metadata.labels) && '{ALWAYS_PULL_LABEL}' in namespaceObject.metadata.labels"
                ),
            }]),
            validations: Some(vec![Validation {
                expression: format!(
                    "!variables.pulls || ({} && {} && {})",
                    every("object.spec.containers"),
                    optional("initContainers"),
                    optional("ephemeralContainers")
                ),
                message: Some(
                    "kscope's always-pull policy: every container of a pod here pulls its image (imagePullPolicy: Always), so that no tenant runs an image from a node's cache".into(),
                ),
                reason: Some("Forbidden".into()),
                ..Default::default()
            }]),
            ..Default::default()
        },
    )
}

/// Its one binding, for the whole cluster (the policy itself reads the Namespace's label).
pub fn always_pull_binding() -> ValidatingAdmissionPolicyBinding {
    policy_binding(ALWAYS_PULL_NAME)
}

/// Whether the live policy and binding are as kscope makes them (the binding whole: a
/// selector added to it would take namespaces out).
pub fn always_pull_holds(
    policy: Option<&ValidatingAdmissionPolicy>,
    binding: Option<&ValidatingAdmissionPolicyBinding>,
) -> bool {
    policy.is_some_and(|p| covers(p, &always_pull_policy()))
        && binding.is_some_and(|b| policy_binding_holds(b, ALWAYS_PULL_NAME))
}

/// The pod that proves the policy in force: one container whose image may come from a node's
/// cache (`IfNotPresent`), sent as a dry run. It runs as `service_account` (one that exists, so
/// that admission gets as far as the policy) and passes Pod Security `restricted`, so that only
/// the policy has a reason to refuse it.
pub fn cached_image_pod(namespace: &str, service_account: &str) -> Pod {
    let mut pod =
        crate::access::restricted_pod(namespace, "kscope-cached-image-probe", service_account);
    if let Some(container) = pod.spec.as_mut().and_then(|s| s.containers.first_mut()) {
        container.image_pull_policy = Some("IfNotPresent".into());
    }
    pod
}

/// Whether a refusal's reason is the always-pull policy's own.
pub fn refused_by_policy(reason: &str) -> bool {
    crate::containment::refusal_proves(
        &crate::access::PathOut::CachedImage {
            namespace: String::new(),
        },
        403,
        reason,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_policy_reads_the_label_and_every_kind_of_container() {
        let policy = always_pull_policy();
        let spec = policy.spec.as_ref().unwrap();
        let validation = &spec.validations.as_ref().unwrap()[0].expression;
        for part in [
            "object.spec.containers.all(",
            "!has(object.spec.initContainers) || object.spec.initContainers.all(",
            "!has(object.spec.ephemeralContainers) || object.spec.ephemeralContainers.all(",
            "c.imagePullPolicy == 'Always'",
        ] {
            assert!(validation.contains(part), "{validation}");
        }
        assert!(
            spec.variables.as_ref().unwrap()[0]
                .expression
                .contains("'kscope.dev/always-pull' in namespaceObject.metadata.labels")
        );
        // No requester condition: pods are made by controllers.
        assert!(spec.match_conditions.is_none());
        assert!(always_pull_holds(
            Some(&policy),
            Some(&always_pull_binding())
        ));
        let mut narrowed = always_pull_binding();
        narrowed.spec.as_mut().unwrap().match_resources = Some(
            k8s_openapi::api::admissionregistration::v1::MatchResources {
                namespace_selector: Some(
                    k8s_openapi::apimachinery::pkg::apis::meta::v1::LabelSelector {
                        match_labels: Some([("team".to_string(), "a".to_string())].into()),
                        ..Default::default()
                    },
                ),
                ..Default::default()
            },
        );
        assert!(!always_pull_holds(Some(&policy), Some(&narrowed)));
        assert!(!always_pull_holds(None, Some(&always_pull_binding())));
    }
}
