//! One module per subcommand, each thin: plan → execute → render → exit code. Here is the
//! little they share: connecting as the caller, printing data, and the exit of a check.

pub(crate) mod apply;
pub(crate) mod audit;
pub(crate) mod check;
pub(crate) mod grant;
pub(crate) mod kubeconfig;
pub(crate) mod list;
pub(crate) mod man;
pub(crate) mod revoke;
pub(crate) mod rotate;
pub(crate) mod templates;
mod terminal;
pub(crate) mod wizard;

use std::io::{IsTerminal, Write};

use crate::cli::Global;
use crate::cluster::Wire;
use crate::error::{Error, Exit, Result};
use crate::error::{Input, TokenError};
use crate::kubeconfig::{Caller, load, write_private};
use crate::ops::check::verdict;
use crate::ops::credential::Credential;
use crate::plan::Destination;
use crate::progress::note;
use crate::session::Session;
use kscope_core::access::AccessCheck;
use kscope_core::kubeconfig::Endpoint;
use kscope_core::render;

/// The caller's kubeconfig and context, as `--kubeconfig`, `KUBECONFIG` and `--context` say.
pub(crate) fn caller(global: &Global) -> Result<Caller> {
    load(global.kubeconfig.as_deref(), single_context(global)?)
}

/// The one `--context` of a command that works on one cluster.
pub(crate) fn single_context(global: &Global) -> Result<Option<&str>> {
    match global.contexts.as_slice() {
        [] => Ok(None),
        [one] => Ok(Some(one)),
        many => Err(Error::from(Input::SeveralContexts { count: many.len() })),
    }
}

/// A session per `--context` (or for the current context), each connected before any work
/// starts, so that an unusable context fails once, up front.
pub(crate) async fn sessions(global: &Global, wire: &Wire) -> Result<Vec<Session>> {
    let base = load(global.kubeconfig.as_deref(), None)?;
    let contexts = if global.contexts.is_empty() {
        vec![base.context.clone()]
    } else {
        global.contexts.clone()
    };
    let mut sessions = Vec::new();
    for context in &contexts {
        sessions.push(Session::connect(base.with_context(context)?, wire).await?);
    }
    Ok(sessions)
}

/// A session acting as the caller.
pub(crate) async fn connect(global: &Global, wire: &Wire) -> Result<Session> {
    Session::connect(caller(global)?, wire).await
}

/// Where the kubeconfigs kscope writes for `session` point (`server`/`ca_file` override the
/// context), saying on stderr when they skip TLS verification as the caller's context does.
pub(crate) fn endpoint(
    session: &Session,
    server: Option<&str>,
    ca_file: Option<&std::path::Path>,
) -> Result<Endpoint> {
    let endpoint = session.caller.endpoint(server, ca_file)?;
    if let Some(warning) = render::endpoint_warning(&endpoint) {
        note(&warning);
    }
    Ok(endpoint)
}

/// Writes data to stdout. A closed pipe (`kscope … | head`) is not an error.
pub(crate) fn print(text: &str) -> Result<()> {
    let mut out = std::io::stdout().lock();
    match out.write_all(text.as_bytes()).and_then(|()| out.flush()) {
        Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => Err(Error::Stdout(e)),
        _ => Ok(()),
    }
}

/// A plan read from a file (a TenantSet, an accept file), saying every problem of an invalid
/// file on stderr with its line.
pub(crate) fn file_problems<T>(plan: Result<T>) -> Result<T> {
    if let Err(Error::Input(Input::InvalidFile { path, problems })) = &plan {
        for p in problems {
            note(&format!(
                "{}:{}:{}: {}",
                path.display(),
                p.line,
                p.column,
                p.message
            ));
        }
    }
    plan
}

/// The exit code of a finished check, saying on stderr why when access differs.
pub(crate) fn check_exit(report: &AccessCheck) -> Exit {
    let exit = verdict(report);
    match exit {
        Exit::Ok => {}
        Exit::AccessDiffers => note(&render::access_differs(report)),
        _ => note(&render::access_unproven(report)),
    }
    exit
}

/// Emits an issued kubeconfig: to `--output` (atomically, mode 0600) or to stdout with a
/// warning that it holds a credential; with the real expiry of an expiring token.
/// With `strict`, a token shorter than asked for is an error and nothing is written.
pub(crate) fn emit_kubeconfig(
    issued: &Credential,
    destination: &Destination,
    strict: bool,
) -> Result<()> {
    if let Some(expiry) = &issued.expiry {
        if strict && expiry.shortened() {
            return Err(Error::from(TokenError::Shortened {
                requested: kscope_core::duration::flag(expiry.requested),
                granted: expiry
                    .granted()
                    .map_or_else(|| "an unknown time".into(), kscope_core::duration::flag),
            }));
        }
        let now = k8s_openapi::jiff::Timestamp::now().as_second();
        render::expiry_notes(expiry, now)
            .iter()
            .for_each(|n| note(n));
    }
    match destination {
        Destination::File { path, force } => {
            write_private(path, &issued.kubeconfig, *force, "--output")?;
            note(&format!("wrote {} (mode 0600)", path.display()));
        }
        Destination::Stdout => {
            print(&issued.kubeconfig)?;
            note(if std::io::stdout().is_terminal() {
                "this output holds a credential: do not paste it anywhere public"
            } else {
                "the kubeconfig holds a credential: keep the file private (chmod 600), or use --output FILE"
            });
        }
    }
    Ok(())
}

/// A warning on stderr; never changes the exit code.
pub(crate) fn warn(error: &Error) {
    note(&format!("warning: {error}"));
}
