//! What kscope remembers between runs on this machine: the last grant made per context, so
//! that `kscope kubeconfig` and `kscope check` without arguments mean it. Stored as JSON in
//! `$XDG_STATE_HOME/kscope/grants.json` (default `~/.local/state/kscope/grants.json`).
//!
//! Several kscope processes may write at once: each writes its own uniquely named temporary
//! file (`kubeconfig::write_private`) and renames it into place, so the file is always whole; the last writer's view wins,
//! which for "the last grant made" is the truth either way.

use std::collections::BTreeMap;
use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::kubeconfig;
use kscope_core::names::{NamespaceName, ServiceAccountName};
use kscope_core::spec::GrantRef;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct LastGrant {
    namespace: String,
    #[serde(alias = "service_account")]
    service_account: String,
}

fn path() -> Option<PathBuf> {
    std::env::var_os("XDG_STATE_HOME")
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".local").join("state")))
        .map(|base| base.join("kscope").join("grants.json"))
}

fn read_all() -> BTreeMap<String, LastGrant> {
    // A missing or unreadable state file only means that nothing is remembered.
    path()
        .and_then(|p| std::fs::read(p).ok())
        .and_then(|bytes| serde_json::from_slice(&bytes).ok())
        .unwrap_or_default()
}

/// The last grant made from this machine for `context`.
pub(crate) fn last(context: &str) -> Option<GrantRef> {
    let last = read_all().remove(context)?;
    Some(GrantRef {
        namespace: NamespaceName::parse(&last.namespace).ok()?,
        service_account: ServiceAccountName::parse(&last.service_account).ok()?,
    })
}

/// Records a grant for `context`.
pub(crate) fn remember(context: &str, grant: &GrantRef) -> Result<()> {
    let mut all = read_all();
    all.insert(
        context.to_string(),
        LastGrant {
            namespace: grant.namespace.to_string(),
            service_account: grant.service_account.to_string(),
        },
    );
    write_all(&all)
}

/// Forgets `grant` if it is the one remembered for `context` (it was revoked).
pub(crate) fn forget(context: &str, grant: &GrantRef) -> Result<()> {
    let mut all = read_all();
    if last(context).as_ref() != Some(grant) {
        return Ok(());
    }
    all.remove(context);
    write_all(&all)
}

fn write_all(all: &BTreeMap<String, LastGrant>) -> Result<()> {
    let Some(path) = path() else { return Ok(()) };
    let dir = path.parent().map(PathBuf::from).unwrap_or_default();
    std::fs::create_dir_all(&dir).map_err(|source| Error::File {
        action: "record the grant in",
        path: path.clone(),
        source,
    })?;
    let text = serde_json::to_string_pretty(all).map_err(|e| Error::bug(e.to_string()))?;
    // A private temporary file of its own, renamed over the old one.
    kubeconfig::write_record(&path, &text)
}
