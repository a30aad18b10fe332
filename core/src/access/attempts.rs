//! The objects `check` and `grant` send as server-side dry runs to try a path out of the
//! namespace: never stored, each made to be refused. Pure.

use k8s_openapi::api::core::v1::{
    Capabilities, Container, HostPathVolumeSource, PersistentVolumeClaim,
    PersistentVolumeClaimSpec, Pod, PodSecurityContext, PodSpec, SeccompProfile, SecurityContext,
    Service, ServicePort, ServiceSpec, Volume, VolumeMount, VolumeResourceRequirements,
};
use k8s_openapi::api::rbac::v1::{RoleBinding, RoleRef, Subject};
use k8s_openapi::apimachinery::pkg::api::resource::Quantity;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;

use crate::object::BoundRole;
use crate::rules::RBAC_GROUP;
use crate::spec::Opening;

/// The RoleBinding `check` tries to create as the tenant (a dry run): the grant's own role
/// (which the tenant holds, so that RBAC's escalation check lets it by) bound to every
/// authenticated user, a subject from outside the namespace that the guard refuses.
pub fn outside_binding(namespace: &str, role: &BoundRole) -> RoleBinding {
    let (kind, name) = match role {
        BoundRole::Role(name) => ("Role", name.as_str()),
        BoundRole::ClusterRole(name) => ("ClusterRole", name.as_str()),
        BoundRole::Other { kind, name } => (kind.as_str(), name.as_str()),
    };
    RoleBinding {
        metadata: ObjectMeta {
            name: Some("kscope-probe-outside".into()),
            namespace: Some(namespace.to_string()),
            ..Default::default()
        },
        role_ref: RoleRef {
            api_group: RBAC_GROUP.into(),
            kind: kind.into(),
            name: name.into(),
        },
        subjects: Some(vec![Subject {
            api_group: Some(RBAC_GROUP.into()),
            kind: "Group".into(),
            name: "system:authenticated".into(),
            namespace: None,
        }]),
    }
}

/// The name of the probe pod: never stored, it is only sent as a server-side dry run.
pub const PROBE_POD: &str = "kscope-node-escape-probe";

/// A Service that reaches outside its namespace in the way `opening` names, for a dry run as
/// the tenant: a NodePort or LoadBalancer (a port on every node), an ExternalName, or a
/// ClusterIP Service with an external IP (a documentation address, never routed).
pub fn reaching_service(namespace: &str, opening: Opening) -> Service {
    let port = || {
        Some(vec![ServicePort {
            port: 80,
            ..Default::default()
        }])
    };
    let spec = match opening {
        Opening::NodePort => ServiceSpec {
            type_: Some("NodePort".into()),
            ports: port(),
            ..Default::default()
        },
        Opening::LoadBalancer => ServiceSpec {
            type_: Some("LoadBalancer".into()),
            ports: port(),
            ..Default::default()
        },
        Opening::ExternalName => ServiceSpec {
            type_: Some("ExternalName".into()),
            external_name: Some("kscope-probe.example.com".into()),
            ..Default::default()
        },
        Opening::ExternalIps => ServiceSpec {
            ports: port(),
            external_ips: Some(vec!["192.0.2.1".into()]),
            ..Default::default()
        },
    };
    Service {
        metadata: ObjectMeta {
            name: Some(format!("kscope-probe-{}", opening.id())),
            namespace: Some(namespace.to_string()),
            ..Default::default()
        },
        spec: Some(spec),
        status: None,
    }
}

/// A pod that would own its node: privileged, the host's PID and network namespaces, and the
/// host's root file system mounted. Sent only as a dry run, to ask admission whether the
/// namespace would take it (Pod Security labels, cluster defaults and policy engines alike).
pub fn node_escaping_pod(namespace: &str, service_account: Option<&str>) -> Pod {
    Pod {
        metadata: ObjectMeta {
            name: Some(PROBE_POD.to_string()),
            namespace: Some(namespace.to_string()),
            ..Default::default()
        },
        spec: Some(PodSpec {
            host_pid: Some(true),
            host_network: Some(true),
            automount_service_account_token: Some(false),
            service_account_name: service_account.map(String::from),
            containers: vec![Container {
                name: "probe".into(),
                image: Some("kscope-node-escape-probe".into()),
                security_context: Some(SecurityContext {
                    privileged: Some(true),
                    ..Default::default()
                }),
                volume_mounts: Some(vec![VolumeMount {
                    name: "host".into(),
                    mount_path: "/host".into(),
                    ..Default::default()
                }]),
                ..Default::default()
            }],
            volumes: Some(vec![Volume {
                name: "host".into(),
                host_path: Some(HostPathVolumeSource {
                    path: "/".into(),
                    type_: None,
                }),
                ..Default::default()
            }]),
            ..Default::default()
        }),
        ..Default::default()
    }
}

/// The PriorityClasses of Kubernetes' own, in every cluster: values in the range reserved for
/// the system (a billion and more), above every workload's, never preempted by one.
pub const SYSTEM_PRIORITY_CLASSES: [&str; 2] = ["system-cluster-critical", "system-node-critical"];

/// The lowest priority value of the range reserved for the system's PriorityClasses.
pub const SYSTEM_PRIORITY: i64 = 1_000_000_000;

/// A pod that nothing but what it is sent to prove refuses: it runs as `service_account` (one
/// that exists, so that admission gets as far as the policies), passes Pod Security
/// `restricted` and always pulls its image (which never exists: it is only sent as a dry run).
pub fn restricted_pod(namespace: &str, name: &str, service_account: &str) -> Pod {
    Pod {
        metadata: ObjectMeta {
            name: Some(name.into()),
            namespace: Some(namespace.to_string()),
            ..Default::default()
        },
        spec: Some(PodSpec {
            service_account_name: Some(service_account.to_string()),
            automount_service_account_token: Some(false),
            security_context: Some(PodSecurityContext {
                run_as_non_root: Some(true),
                run_as_user: Some(65534),
                seccomp_profile: Some(SeccompProfile {
                    type_: "RuntimeDefault".into(),
                    ..Default::default()
                }),
                ..Default::default()
            }),
            containers: vec![Container {
                name: "probe".into(),
                image: Some("registry.invalid/kscope/probe:1".into()),
                image_pull_policy: Some("Always".into()),
                security_context: Some(SecurityContext {
                    allow_privilege_escalation: Some(false),
                    capabilities: Some(Capabilities {
                        drop: Some(vec!["ALL".into()]),
                        ..Default::default()
                    }),
                    ..Default::default()
                }),
                ..Default::default()
            }],
            ..Default::default()
        }),
        ..Default::default()
    }
}

/// A pod of the system's own priority (`system-cluster-critical`), for a dry run as the tenant:
/// it would preempt every other namespace's pods and never be preempted by them.
pub fn system_priority_pod(namespace: &str, service_account: &str) -> Pod {
    let mut pod = restricted_pod(namespace, "kscope-priority-probe", service_account);
    if let Some(spec) = pod.spec.as_mut() {
        spec.priority_class_name = Some(SYSTEM_PRIORITY_CLASSES[0].into());
    }
    pod
}

/// A claim that names a PersistentVolume of the cluster (one that does not exist: binding
/// happens later, so admission decides on the name alone), for a dry run as the tenant.
pub fn named_volume_claim(namespace: &str) -> PersistentVolumeClaim {
    PersistentVolumeClaim {
        metadata: ObjectMeta {
            name: Some("kscope-volume-probe".into()),
            namespace: Some(namespace.to_string()),
            ..Default::default()
        },
        spec: Some(PersistentVolumeClaimSpec {
            access_modes: Some(vec!["ReadWriteOnce".into()]),
            volume_name: Some("kscope-probe-volume".into()),
            resources: Some(VolumeResourceRequirements {
                requests: Some([("storage".to_string(), Quantity("1Mi".into()))].into()),
                ..Default::default()
            }),
            ..Default::default()
        }),
        status: None,
    }
}
