//! The operations, one module each, as cargo keeps its `ops`: each takes the `Session` (the
//! caller's client and memory) and a validated plan, talks to the cluster through
//! the `cluster` module, and returns a report from `kscope_core` (data only; the commands
//! render and print it).
//! - `grant` (with `judge`: containment judged before any write, the guard installed and
//!   proven), `credential` (the kubeconfig of a grant), `deliver` (into Argo CD or Flux);
//! - `check` (one grant, proven as its ServiceAccount) and `check::set` (`check -f`);
//! - `list`, `revoke`, `rotate`: the credential's life;
//! - `apply` (a TenantSet) and `audit` (the cluster's inventory for the audit's rules).

pub(crate) mod apply;
pub(crate) mod audit;
pub(crate) mod bound;
pub(crate) mod check;
pub(crate) mod credential;
pub(crate) mod deliver;
pub(crate) mod grant;
pub(crate) mod judge;
pub(crate) mod list;
pub(crate) mod revoke;
pub(crate) mod rotate;
