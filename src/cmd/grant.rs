//! `kscope grant <namespace> <serviceaccount>`: validate, build the manifests, check up front
//! that the caller may make the grant, apply them (server-side, field manager `kscope`), wait
//! for the token by watching, remember the grant, and report per object.

use std::time::Duration;

use k8s_openapi::api::core::v1::{Namespace, Secret, ServiceAccount};
use k8s_openapi::api::rbac::v1::{PolicyRule, Role, RoleBinding};

use crate::cli::{AccessArgs, DryRun, Global, GrantArgs, Output};
use crate::cluster::{Cluster, Mode, Outcome, is_forbidden, is_managed};
use crate::cmd::{Session, print};
use crate::error::{Error, Exit, Result};
use crate::manifest::{self, Manifests};
use crate::progress::{Spinner, note};
use crate::render::{self, ObjectResult};
use crate::rules::{self, Permission};
use crate::spec::{self, GrantSpec, NamespaceName, RoleSource, ServiceAccountName};
use crate::state::{self, LastGrant};
use crate::templates;

const RBAC: &str = "rbac.authorization.k8s.io";

/// `--template` / `--cluster-role` → the role a grant binds. Reads template files, sends nothing.
pub fn role_source(access: &AccessArgs) -> Result<RoleSource> {
    let dirs = templates::user_dirs(access.template_dir.as_deref());
    match (&access.cluster_role, &access.template) {
        (Some(name), _) => Ok(RoleSource::ClusterRole(spec::cluster_role(name)?)),
        (None, template) => Ok(RoleSource::Template(templates::resolve(
            template.as_deref().unwrap_or(templates::DEFAULT),
            &dirs,
        )?)),
    }
}

/// Everything a grant run needs, validated before any request.
pub struct Plan {
    pub spec: GrantSpec,
    pub adopt: bool,
    pub dry_run: Option<DryRun>,
    pub timeout: Duration,
}

pub fn plan(args: &GrantArgs) -> Result<Plan> {
    Ok(Plan {
        spec: GrantSpec {
            namespace: NamespaceName::parse(&args.namespace)?,
            service_account: ServiceAccountName::parse(&args.serviceaccount)?,
            role: role_source(&args.access)?,
        },
        adopt: args.adopt,
        dry_run: args.dry_run,
        timeout: spec::timeout(&args.timeout)?,
    })
}

pub async fn run(global: &Global, args: &GrantArgs) -> Result<Exit> {
    let plan = plan(args)?;
    let manifests = manifest::build(&plan.spec);
    if plan.dry_run == Some(DryRun::Client) {
        print(&manifest::to_yaml(&manifests)?)?;
        return Ok(Exit::Ok);
    }
    let session = Session::connect(global).await?;
    let mode = if plan.dry_run == Some(DryRun::Server) {
        Mode::ServerDryRun
    } else {
        Mode::Apply
    };
    let report = execute(&session, &plan, &manifests, mode).await?;
    print(&match args.output {
        Output::Table => render::grant_results(&report.objects),
        Output::Yaml => render::yaml(&report.objects)?,
        Output::Json => render::json(&report.objects)?,
    })?;
    if mode == Mode::Apply {
        note(&format!(
            "next: kscope kubeconfig {} {} > {}.kubeconfig",
            plan.spec.namespace, plan.spec.service_account, plan.spec.namespace
        ));
    } else {
        note("server dry run: the API server accepted every object; nothing was persisted");
    }
    Ok(Exit::Ok)
}

/// What a grant did.
pub struct Report {
    pub objects: Vec<ObjectResult>,
    /// The token Secret, filled in (absent under a server dry run).
    pub token_secret: Option<Secret>,
}

/// Applies a grant, waits for its token and (unless a dry run) remembers it for this context:
/// the shared core of `grant` and the wizard.
pub async fn execute(
    session: &Session,
    plan: &Plan,
    manifests: &Manifests,
    mode: Mode,
) -> Result<Report> {
    let report = apply_grant(&session.cluster, plan, manifests, mode).await?;
    if mode == Mode::Apply {
        state::remember(
            &session.caller.context,
            LastGrant {
                namespace: plan.spec.namespace.to_string(),
                service_account: plan.spec.service_account.to_string(),
            },
        )?;
    }
    Ok(report)
}

async fn apply_grant(
    cluster: &Cluster,
    plan: &Plan,
    manifests: &Manifests,
    mode: Mode,
) -> Result<Report> {
    let spec = &plan.spec;
    let ns = spec.namespace.as_str();
    // A caller who may not read the namespace (a tenant lead with only a RoleBinding) may
    // still grant inside it: kscope then takes it as existing and leaves it alone.
    let existing = match cluster.namespace(ns).await {
        Err(e) if is_forbidden(&e) => Some(Namespace::default()),
        other => other?,
    };
    if let Some(found) = &existing
        && found.metadata.deletion_timestamp.is_some()
    {
        return Err(Error::runtime(
            format!("namespace {ns} is being deleted (terminating) and accepts no new objects"),
            "wait until it is gone, then run the grant again",
        ));
    }
    if existing.is_none() && mode == Mode::ServerDryRun {
        return Err(Error::usage(
            format!(
                "namespace {ns} does not exist yet, so the server cannot validate objects inside it"
            ),
            "use --dry-run (client) to see the manifests, or run the grant",
        ));
    }
    preflight(cluster, spec, existing.is_none()).await?;

    // Read what exists before writing anything, so that a refusal leaves nothing half made.
    // In a namespace that does not exist yet, nothing does.
    let live = if existing.is_some() {
        Some(live_objects(cluster, manifests).await?)
    } else {
        None
    };
    let live = live.unwrap_or_default();
    let unmanaged: Vec<String> = live.unmanaged();
    if !unmanaged.is_empty() && !plan.adopt {
        return Err(Error::NotManaged { objects: unmanaged });
    }

    let mut objects = Vec::new();
    let mut record = |kind: &str, name: String, result: Outcome| {
        objects.push(ObjectResult {
            kind: kind.to_string(),
            name,
            result,
        })
    };
    let outcome = cluster
        .ensure_namespace(&manifests.namespace, existing.as_ref(), mode)
        .await?;
    record("Namespace", ns.to_string(), outcome);
    let qualified = |name: &str| format!("{ns}/{name}");
    let sa_name = spec.service_account.as_str();
    let adopt = plan.adopt;
    let (_, outcome) = cluster
        .apply(
            &manifests.service_account,
            live.service_account.as_ref(),
            "ServiceAccount",
            adopt,
            mode,
        )
        .await?;
    record("ServiceAccount", qualified(sa_name), outcome);
    let (secret, outcome) = cluster
        .apply(
            &manifests.token_secret,
            live.token_secret.as_ref(),
            "Secret",
            adopt,
            mode,
        )
        .await?;
    record(
        "Secret",
        qualified(&spec.service_account.token_secret()),
        outcome,
    );
    if let Some(role) = &manifests.role {
        let (_, outcome) = cluster
            .apply(role, live.role.as_ref(), "Role", adopt, mode)
            .await?;
        record("Role", qualified(sa_name), outcome);
    }
    let (_, outcome) = cluster
        .apply(
            &manifests.role_binding,
            live.role_binding.as_ref(),
            "RoleBinding",
            adopt,
            mode,
        )
        .await?;
    record("RoleBinding", qualified(sa_name), outcome);

    let token_secret = match mode {
        Mode::ServerDryRun => None,
        Mode::Apply if crate::cluster::has_token(&secret) => Some(secret),
        Mode::Apply => {
            let spinner = Spinner::start(&format!(
                "waiting for the token controller to fill in Secret {ns}/{}",
                secret_name(&secret)
            ));
            let filled = cluster.wait_for_token(secret, plan.timeout).await?;
            spinner
                .finish(&format!(
                    "token ready in Secret {ns}/{}",
                    secret_name(&filled)
                ))
                .await;
            Some(filled)
        }
    };
    Ok(Report {
        objects,
        token_secret,
    })
}

/// The live versions of a grant's namespaced objects.
#[derive(Default)]
struct LiveObjects {
    service_account: Option<ServiceAccount>,
    token_secret: Option<Secret>,
    role: Option<Role>,
    role_binding: Option<RoleBinding>,
}

impl LiveObjects {
    /// "Kind namespace/name" of every live object that kscope does not manage.
    fn unmanaged(&self) -> Vec<String> {
        let metas = [
            (
                "ServiceAccount",
                self.service_account.as_ref().map(|o| &o.metadata),
            ),
            ("Secret", self.token_secret.as_ref().map(|o| &o.metadata)),
            ("Role", self.role.as_ref().map(|o| &o.metadata)),
            (
                "RoleBinding",
                self.role_binding.as_ref().map(|o| &o.metadata),
            ),
        ];
        metas
            .into_iter()
            .filter_map(|(kind, meta)| meta.filter(|m| !is_managed(m)).map(|m| (kind, m)))
            .map(|(kind, m)| {
                let (ns, name) = (
                    m.namespace.as_deref().unwrap_or_default(),
                    m.name.as_deref().unwrap_or_default(),
                );
                format!("{kind} {ns}/{name}")
            })
            .collect()
    }
}

async fn live_objects(cluster: &Cluster, manifests: &Manifests) -> Result<LiveObjects> {
    let role = match &manifests.role {
        Some(role) => cluster.current(role, "Role").await?,
        None => None,
    };
    Ok(LiveObjects {
        service_account: cluster
            .current(&manifests.service_account, "ServiceAccount")
            .await?,
        token_secret: cluster.current(&manifests.token_secret, "Secret").await?,
        role,
        role_binding: cluster
            .current(&manifests.role_binding, "RoleBinding")
            .await?,
    })
}

fn secret_name(secret: &Secret) -> String {
    secret.metadata.name.clone().unwrap_or_default()
}

/// Finds, before anything is created, what the caller lacks: the writes a grant makes, and
/// (RBAC escalation prevention) every permission the role would hand out. One
/// SelfSubjectRulesReview answers both; where its answer is incomplete (webhook authorizers),
/// the API server's own refusal is left to speak.
async fn preflight(cluster: &Cluster, spec: &GrantSpec, create_namespace: bool) -> Result<()> {
    let ns = spec.namespace.as_str();
    let caller = cluster.caller_rules(ns).await?;
    let mut missing = Vec::new();
    if create_namespace {
        let question = (None, Permission::new("", "namespaces", "create"));
        if !cluster
            .can_i(&[question])
            .await?
            .first()
            .copied()
            .unwrap_or(false)
        {
            missing.push("create on namespaces".to_string());
        }
    }
    if caller.incomplete {
        return finish_preflight(missing);
    }
    let own = |v: &[&str]| Some(v.iter().map(|s| s.to_string()).collect::<Vec<_>>());
    let write = |group: &str, resources: &[&str]| PolicyRule {
        api_groups: own(&[group]),
        resources: own(resources),
        verbs: ["get", "create", "patch"].map(String::from).to_vec(),
        ..Default::default()
    };
    let mut writes = vec![write("", &["serviceaccounts", "secrets"])];
    let granted: Vec<PolicyRule> = match &spec.role {
        RoleSource::Template(template) => {
            writes.push(write(RBAC, &["roles", "rolebindings"]));
            let may_escalate =
                rules::allows(&caller.rules, &Permission::new(RBAC, "roles", "escalate"));
            if may_escalate {
                Vec::new()
            } else {
                template.rules.clone()
            }
        }
        RoleSource::ClusterRole(name) => {
            writes.push(write(RBAC, &["rolebindings"]));
            let may_bind = rules::allows(
                &caller.rules,
                &Permission::new(RBAC, "clusterroles", "bind"),
            );
            match cluster.cluster_role(name).await {
                Ok(Some(role)) if !may_bind => role
                    .rules
                    .unwrap_or_default()
                    .into_iter()
                    .filter(|r| r.resources.as_ref().is_some_and(|r| !r.is_empty()))
                    .collect(),
                Ok(Some(_)) => Vec::new(),
                Ok(None) => {
                    return Err(Error::runtime(
                        format!("ClusterRole {name} does not exist"),
                        "name an existing ClusterRole (kubectl get clusterroles), e.g. edit or view",
                    ));
                }
                // Not allowed to read ClusterRoles: the server's own check will decide.
                Err(_) => Vec::new(),
            }
        }
    };
    missing.extend(rules::missing(&caller.rules, &writes));
    missing.extend(rules::missing(&caller.rules, &granted));
    finish_preflight(missing)
}

fn finish_preflight(missing: Vec<String>) -> Result<()> {
    if missing.is_empty() {
        Ok(())
    } else {
        Err(Error::MissingPermissions { missing })
    }
}
