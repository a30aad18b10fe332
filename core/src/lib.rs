//! The pure core of kscope: names, durations, grant specs, RBAC rule arithmetic, the access
//! matrix, templates, the TenantSet model, manifests and the scoped kubeconfig.
//!
//! Nothing here can reach a cluster: these modules use std, k8s-openapi's types, serde (JSON,
//! YAML), base64 and thiserror, and import only each other. No `kube`, no tokio, no clap; the
//! file system only where a function's job is to read a file the user named (a template, a
//! TenantSet's templates). `tests/layers.rs` fails when that stops being true.
//! Inside, the order is: `names`, `duration` < `invalid` < `rules` < `templates` < `spec` <
//! `access`, `manifest`, `kubeconfig` < `containment` < `tenants`.

pub mod acceptance;
pub mod access;
pub mod audit;
pub mod catalog;
pub mod containment;
pub mod delivery;
pub mod duration;
pub mod files;
pub mod grants;
pub mod invalid;
pub mod kubeconfig;
pub mod manifest;
pub mod names;
pub mod object;
pub mod render;
pub mod report;
pub mod rules;
pub mod spec;
pub mod templates;
pub mod tenants;
#[cfg(test)]
mod test_support;
pub mod text;
