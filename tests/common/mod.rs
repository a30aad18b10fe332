//! Helpers for the integration tests that run against the real control plane started
//! by `tests/cluster/up` (or by `tests/run`, which starts and stops it around `cargo test`).
//!
//! Two clusters, each a state dir holding `admin.kubeconfig` and `bin/kubectl`:
//! - [`cluster_dir`]: the full control plane (`$KSCOPE_TEST_CLUSTER`, default
//!   `target/testenv/main`);
//! - [`no_kcm_cluster_dir`]: one without kube-controller-manager, where token Secrets are never
//!   filled (`$KSCOPE_TEST_CLUSTER_NO_KCM`, default `target/testenv/no-kcm`).
//!
//! Tests run in parallel in one process and share a cluster: give every namespace and
//! cluster-scoped object a name from [`unique_name`].
#![allow(dead_code, unused_imports)]

mod cluster;
mod fixtures;
mod kubeconfigs;
mod names;
mod polling;

pub use cluster::*;
pub use fixtures::*;
pub use kubeconfigs::*;
pub use names::*;
pub use polling::*;
