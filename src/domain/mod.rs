//! The pure core of kscope: names, durations, grant specs, RBAC rule arithmetic, the access
//! matrix, templates, the TenantSet model, manifests and the scoped kubeconfig.
//!
//! Nothing here can reach a cluster: these modules use std, k8s-openapi's types, serde (JSON,
//! YAML), base64 and thiserror, and import only each other. No `kube`, no tokio, no clap; the
//! file system only where a function's job is to read a file the user named (a template, a
//! TenantSet's templates). `tests/layers.rs` fails when that stops being true.
//! Inside, the order is: `names`, `duration` < `invalid` < `rules` < `templates` < `spec` <
//! `access`, `manifest`, `kubeconfig` < `containment` < `tenants`.

pub(crate) mod acceptance;
pub(crate) mod access;
pub(crate) mod catalog;
pub(crate) mod containment;
pub(crate) mod delivery;
pub(crate) mod duration;
pub(crate) mod files;
pub(crate) mod invalid;
pub(crate) mod kubeconfig;
pub(crate) mod manifest;
pub(crate) mod names;
pub(crate) mod rules;
pub(crate) mod spec;
pub(crate) mod templates;
pub(crate) mod tenants;
pub(crate) mod text;
