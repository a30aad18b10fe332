//! kscope-core: everything kscope knows that needs no cluster. Names and durations; a grant
//! as data (`spec`) and when its access ends (`expiry`); RBAC rule arithmetic (`rules`) and the Role templates; the check's access
//! matrix and report (`access`); the manifests of a grant and the scoped kubeconfig; the paths
//! out of a namespace and the guard (`containment`); TenantSets (`tenants`) and GitOps
//! delivery; `list`'s rows (`grants`); the audit's rules, its accept file and the rule catalog;
//! the objects kscope names (`object`); the reports of the operations (`report`) and every
//! renderer (`render`: tables, YAML, JSON, SARIF, JUnit).
//!
//! It holds no client: its dependencies are k8s-openapi's types, serde (JSON, YAML), base64,
//! thiserror, comfy-table and the CI-format crates. The compiler keeps it that way (the client
//! stack is not a dependency here) and `tests/layers.rs` checks `cargo tree` and the order of
//! its modules (`tests/layers-core.txt`), each using only those after it: `render`; `report`;
//! `acceptance`, `audit`; `tenants`, `grants`; `containment`, `delivery`; `access`,
//! `manifest`, `kubeconfig`; `spec`; `templates`; `rules`, `expiry`; `invalid`; `catalog`; `names`,
//! `duration`, `text`, `files`, `object`. The file system only where a function's job is to
//! read a file the user named (`templates`, `files`).

pub mod acceptance;
pub mod access;
pub mod audit;
pub mod catalog;
pub mod containment;
pub mod delivery;
pub mod duration;
pub mod expiry;
pub mod files;
pub mod grants;
pub mod invalid;
pub mod kubeconfig;
pub mod leftovers;
pub mod manifest;
pub mod names;
pub mod object;
pub mod pulls;
pub mod render;
pub mod report;
pub mod rules;
pub mod spec;
pub mod templates;
pub mod tenants;
#[cfg(test)]
mod test_support;
pub mod text;
