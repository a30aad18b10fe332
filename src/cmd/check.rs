//! `kscope check [<namespace> <serviceaccount>] [--kubeconfig-file F]`: proves a grant *as the
//! ServiceAccount* through a real credential (the given kubeconfig, or a short TokenRequest
//! token), never impersonation. SelfSubjectReview says who the credential is; then
//! SelfSubjectAccessReviews compare the access matrix with what the grant implies.
//! Exit 0 when every answer matches, 3 when access differs.

use std::path::Path;

use k8s_openapi::api::rbac::v1::PolicyRule;
use kube::config::{KubeConfigOptions, Kubeconfig};

use crate::access::{self, Answer, Report};
use crate::cli::{CheckArgs, Global, Output};
use crate::cluster::Cluster;
use crate::cmd::grant::role_source;
use crate::cmd::{Session, named_grant, print, remembered_grant};
use crate::error::{Error, Exit, Result};
use crate::kubeconfig::{self, Token};
use crate::manifest::ACCESS_ANNOTATION;
use crate::progress::note;
use crate::render;
use crate::spec::{NamespaceName, RoleSource, ServiceAccountName};
use crate::templates;

/// Lifetime of the token minted for a check: the shortest the API accepts.
const CHECK_TOKEN_SECONDS: u64 = 600;

pub async fn run(global: &Global, args: &CheckArgs) -> Result<Exit> {
    let named = named_grant(args.namespace.as_deref(), args.serviceaccount.as_deref())?;
    let explicit_access = args.access.template.is_some() || args.access.cluster_role.is_some();
    let override_role = if explicit_access {
        Some(role_source(&args.access)?)
    } else {
        None
    };
    let file_client = match &args.kubeconfig_file {
        Some(path) => Some(connect_file(path).await?),
        None => None,
    };
    let session = Session::connect(global).await?;
    let (namespace, service_account) = match (named, &file_client) {
        (Some(pair), _) => pair,
        (None, Some((client, Some(ns)))) => {
            let identity = client.whoami().await?.username.unwrap_or_default();
            let sa = identity
                .strip_prefix(&format!("system:serviceaccount:{ns}:"))
                .ok_or_else(|| {
                    Error::usage(
                        format!("the --kubeconfig-file credential is {identity}, not a ServiceAccount of namespace {ns}"),
                        "name the grant: kscope check <namespace> <serviceaccount> --kubeconfig-file FILE",
                    )
                })?
                .to_string();
            (NamespaceName::parse(ns)?, ServiceAccountName::parse(&sa)?)
        }
        (None, _) => remembered_grant(&session, "check").await?,
    };
    let report = check(
        &session,
        &namespace,
        &service_account,
        override_role,
        args.access.template_dir.as_deref(),
        file_client.map(|(c, _)| c),
    )
    .await?;
    print(&match args.output {
        Output::Table => render::check_matrix(&report),
        Output::Json => render::json(&report)?,
        Output::Yaml => render::yaml(&report)?,
    })?;
    Ok(verdict(&report))
}

/// Exit 0 when every answer matches the grant; otherwise says how it differs, exit 3.
pub fn verdict(report: &Report) -> Exit {
    if report.all_match() {
        return Exit::Ok;
    }
    note(&format!(
        "access of {} differs from the grant: {} answer(s) differ{}",
        report.expected_identity(),
        report.mismatches().len(),
        if report.identity_matches() {
            ""
        } else {
            ", and the credential is someone else"
        }
    ));
    Exit::AccessDiffers
}

/// The check itself, shared with the wizard. `as_sa` is a client that already holds the SA's
/// credential; without one, a short TokenRequest token is minted.
pub async fn check(
    session: &Session,
    namespace: &NamespaceName,
    service_account: &ServiceAccountName,
    role: Option<RoleSource>,
    template_dir: Option<&Path>,
    as_sa: Option<Cluster>,
) -> Result<Report> {
    let rules = expected_rules(
        &session.cluster,
        namespace,
        service_account,
        role,
        template_dir,
    )
    .await?;
    let as_sa = match as_sa {
        Some(client) => client,
        None => mint_client(session, namespace, service_account).await?,
    };
    let identity = as_sa.whoami().await?.username.unwrap_or_default();
    let probes = access::probes(namespace.as_str(), &rules);
    let questions: Vec<_> = probes
        .iter()
        .map(|p| (p.namespace.clone(), p.permission.clone()))
        .collect();
    let allowed = as_sa.can_i(&questions).await?;
    let answers = probes
        .into_iter()
        .zip(allowed)
        .map(|(probe, allowed)| Answer { probe, allowed })
        .collect();
    Ok(Report {
        namespace: namespace.to_string(),
        service_account: service_account.to_string(),
        identity,
        answers,
    })
}

/// The rules the grant gave: from `--template`/`--cluster-role`, or from the
/// `kscope.dev/access` annotation that `grant` put on the ServiceAccount.
async fn expected_rules(
    cluster: &Cluster,
    namespace: &NamespaceName,
    service_account: &ServiceAccountName,
    role: Option<RoleSource>,
    template_dir: Option<&Path>,
) -> Result<Vec<PolicyRule>> {
    let role = match role {
        Some(role) => role,
        None => {
            let sa = cluster
                .service_account(namespace.as_str(), service_account.as_str())
                .await?
                .ok_or_else(|| {
                    Error::runtime(
                        format!("ServiceAccount {namespace}/{service_account} does not exist"),
                        format!("run kscope grant {namespace} {service_account} first"),
                    )
                })?;
            let access = sa
                .metadata
                .annotations
                .as_ref()
                .and_then(|a| a.get(ACCESS_ANNOTATION))
                .cloned()
                .ok_or_else(|| {
                    Error::usage(
                        format!("ServiceAccount {namespace}/{service_account} was not made by kscope grant"),
                        "say what it should have: --template NAME or --cluster-role NAME",
                    )
                })?;
            match access.split_once('/') {
                Some(("clusterrole", name)) => RoleSource::ClusterRole(name.to_string()),
                Some(("template", name)) => RoleSource::Template(
                    templates::resolve(name, &templates::user_dirs(template_dir)).map_err(|_| {
                        Error::usage(
                            format!(
                                "the grant used template {name:?}, which this machine does not have"
                            ),
                            "pass --template FILE or --template-dir DIR",
                        )
                    })?,
                ),
                _ => {
                    return Err(Error::usage(
                        format!(
                            "ServiceAccount {namespace}/{service_account} has an unknown {ACCESS_ANNOTATION}: {access:?}"
                        ),
                        "pass --template NAME or --cluster-role NAME",
                    ));
                }
            }
        }
    };
    match role {
        RoleSource::Template(t) => Ok(t.rules),
        RoleSource::ClusterRole(name) => cluster
            .cluster_role(&name)
            .await?
            .map(|r| r.rules.unwrap_or_default())
            .ok_or_else(|| {
                Error::runtime(
                    format!("ClusterRole {name} of the grant does not exist"),
                    "re-run the grant with an existing --cluster-role",
                )
            }),
    }
}

/// A client holding a fresh, short-lived token of the ServiceAccount, built through the same
/// kubeconfig that `kscope kubeconfig` would write.
async fn mint_client(
    session: &Session,
    namespace: &NamespaceName,
    service_account: &ServiceAccountName,
) -> Result<Cluster> {
    let answer = session
        .cluster
        .request_token(
            namespace.as_str(),
            service_account.as_str(),
            CHECK_TOKEN_SECONDS,
            None,
        )
        .await?;
    let token = Token::new(answer.status.map(|s| s.token).unwrap_or_default());
    let endpoint = session.caller.endpoint(None, None)?;
    let text = kubeconfig::scoped_kubeconfig(&endpoint, namespace, service_account, &token)?;
    let parsed = Kubeconfig::from_yaml(&text).map_err(|e| {
        Error::runtime(
            format!("kscope built a kubeconfig it cannot read: {e}"),
            "this is a bug in kscope",
        )
    })?;
    client_from(parsed, "the minted token").await
}

async fn client_from(kubeconfig: Kubeconfig, what: &str) -> Result<Cluster> {
    let config = kube::Config::from_custom_kubeconfig(kubeconfig, &KubeConfigOptions::default())
        .await
        .map_err(|e| {
            Error::kubeconfig(
                format!("{what} cannot be used: {e}"),
                "check the kubeconfig file",
            )
        })?;
    Cluster::connect(config)
}

/// A client for `--kubeconfig-file`, and the namespace of its current context.
pub async fn connect_file(path: &Path) -> Result<(Cluster, Option<String>)> {
    let file = Kubeconfig::read_from(path).map_err(|e| {
        Error::kubeconfig(
            format!("could not use --kubeconfig-file {}: {e}", path.display()),
            "point it at a kubeconfig written by kscope kubeconfig",
        )
    })?;
    let namespace = file
        .current_context
        .as_ref()
        .and_then(|name| file.contexts.iter().find(|c| &c.name == name))
        .and_then(|c| c.context.as_ref())
        .and_then(|c| c.namespace.clone());
    let client = client_from(file, &format!("--kubeconfig-file {}", path.display())).await?;
    Ok((client, namespace))
}
