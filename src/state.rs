//! What kscope remembers between runs on this machine: the last grant made per context, so
//! that `kscope kubeconfig` and `kscope check` without arguments mean it. Stored as JSON in
//! `$XDG_STATE_HOME/kscope/grants.json` (default `~/.local/state/kscope/grants.json`).

use std::collections::BTreeMap;
use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LastGrant {
    pub namespace: String,
    pub service_account: String,
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
pub fn last(context: &str) -> Option<LastGrant> {
    read_all().remove(context)
}

/// Records a grant for `context`; written to a temporary file and renamed into place.
pub fn remember(context: &str, grant: LastGrant) -> Result<()> {
    let Some(path) = path() else { return Ok(()) };
    let mut all = read_all();
    all.insert(context.to_string(), grant);
    let io = |source| Error::File {
        action: "record the grant in",
        path: path.clone(),
        source,
    };
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).map_err(io)?;
    }
    let text = serde_json::to_string_pretty(&all).unwrap_or_default();
    let temp = path.with_extension("json.tmp");
    std::fs::write(&temp, text).map_err(io)?;
    std::fs::rename(&temp, &path).map_err(io)
}
