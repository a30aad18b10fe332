//! One module per subcommand (validate → build → act → render), and the little they share:
//! connecting as the caller, finding "the grant" when none is named, and printing data.

pub mod check;
pub mod grant;
pub mod kubeconfig;
pub mod templates;
pub mod wizard;

use std::io::Write;

use crate::cli::Global;
use crate::cluster::Cluster;
use crate::error::{Error, Result};
use crate::kubeconfig::{Caller, load};
use crate::spec::{NamespaceName, ServiceAccountName};
use crate::state;

/// The caller's kubeconfig and a client that acts as the caller.
pub struct Session {
    pub caller: Caller,
    pub cluster: Cluster,
}

impl Session {
    pub async fn connect(global: &Global) -> Result<Session> {
        let caller = load(global.kubeconfig.as_deref(), global.context.as_deref())?;
        let cluster = Cluster::connect(caller.client_config().await?)?;
        Ok(Session { caller, cluster })
    }
}

/// Writes data to stdout. A closed pipe (`kscope … | head`) is not an error.
pub fn print(text: &str) -> Result<()> {
    let mut out = std::io::stdout().lock();
    match out.write_all(text.as_bytes()).and_then(|()| out.flush()) {
        Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => Err(Error::runtime(
            format!("could not write to stdout: {e}"),
            "check where the output goes",
        )),
        _ => Ok(()),
    }
}

/// Validates optional positional names (both or neither; clap enforces the pairing).
pub fn named_grant(
    namespace: Option<&str>,
    service_account: Option<&str>,
) -> Result<Option<(NamespaceName, ServiceAccountName)>> {
    match (namespace, service_account) {
        (Some(ns), Some(sa)) => Ok(Some((
            NamespaceName::parse(ns)?,
            ServiceAccountName::parse(sa)?,
        ))),
        _ => Ok(None),
    }
}

/// The grant a command without arguments means: the last one made from this machine for the
/// context. Without one, the error lists the kscope grants the caller can see.
pub async fn remembered_grant(
    session: &Session,
    command: &str,
) -> Result<(NamespaceName, ServiceAccountName)> {
    if let Some(last) = state::last(&session.caller.context) {
        return Ok((
            NamespaceName::parse(&last.namespace)?,
            ServiceAccountName::parse(&last.service_account)?,
        ));
    }
    let listed = session.cluster.grants().await.unwrap_or_default();
    let hint = if listed.is_empty() {
        format!(
            "run kscope grant <namespace> <serviceaccount> first, or name one: kscope {command} <namespace> <serviceaccount>"
        )
    } else {
        let names: Vec<String> = listed.iter().map(|(ns, sa)| format!("{ns} {sa}")).collect();
        let separator = format!(" | kscope {command} ");
        format!(
            "name one of the kscope grants: kscope {command} {}",
            names.join(&separator)
        )
    };
    Err(Error::usage(
        format!(
            "no grant named, and none was made from this machine for context {:?}",
            session.caller.context
        ),
        hint,
    ))
}
