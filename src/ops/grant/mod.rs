//! The grant operation: check up front that the caller may make the grant, apply its objects
//! (server-side, field manager `kscope`), wait for the token by watching, and remember the
//! grant for this context. Returns what it did; prints nothing. `grant` and the wizard share it.

mod applier;
mod live;
mod refusals;
mod shared;
mod token;

use applier::{Applier, NamespaceObjects, drop_unlisted, result_of};
use futures::FutureExt;
use futures::channel::oneshot;
use live::{LiveObjects, also_in_namespace, live_objects, read_namespace};
use refusals::{Refusals, preflight};
use shared::unlisted;
pub(crate) use shared::{Neighbourhood, Shared};
use token::token;

use k8s_openapi::api::core::v1::Secret;

use crate::cluster::WriteMode;
use crate::error::GrantError;
use crate::error::{Error, Result};
use crate::ops::judge;
use kscope_core::expiry::{DEFAULT_LIFETIME, Expires, TokenSource};

use crate::plan::GrantPlan;
use crate::session::Session;
use crate::state;
use kscope_core::manifest::{self, Kind, Manifests, ObjectResult, Outcome};
use kscope_core::spec::GrantSpec;

/// What a grant did.
pub(crate) struct Granted {
    pub(crate) objects: Vec<ObjectResult>,
    /// The token Secret, filled in (absent under a server dry run).
    pub(crate) token_secret: Option<Secret>,
    /// Set when the grant could not be remembered locally (a warning, never a failure).
    pub(crate) not_remembered: Option<Error>,
    /// What containment has to say: a privileged namespace, a risk the flags accepted.
    pub(crate) notes: Vec<String>,
    /// A guard installed or changed that the plan left for its caller to prove in force
    /// (`apply` proves a whole set's guards after the set): what the role reaches.
    pub(crate) guard_unproven: Option<kscope_core::containment::Reach>,
    /// The grant's other namespaces (their guards are proven with the home one's).
    pub(crate) also_in: Vec<String>,
}

/// Applies a grant (or, with `WriteMode::ServerDryRun`, has the server validate it), waits for its
/// token and, unless a dry run, remembers it for this context.
pub(crate) async fn execute(
    session: &Session,
    plan: &GrantPlan,
    mode: WriteMode,
) -> Result<Granted> {
    let mut alone = Neighbourhood::default();
    execute_sharing(session, plan, mode, &Shared::default(), &mut alone).await
}

/// [`execute`], with what the grants of a set read once, and what the set's earlier tenants
/// of the same namespace saw of it (`near`, handed on to the next).
pub(crate) async fn execute_sharing(
    session: &Session,
    plan: &GrantPlan,
    mode: WriteMode,
    shared: &Shared,
    near: &mut Neighbourhood,
) -> Result<Granted> {
    let manifests = manifest::build(&plan.spec);
    // Only writes leave the namespace as the next tenant would find it.
    let mut known = match mode {
        WriteMode::Apply => std::mem::take(near),
        WriteMode::ServerDryRun => Neighbourhood::default(),
    };
    let applied = apply(session, plan, &manifests, mode, shared, &mut known).await?;
    if mode == WriteMode::Apply {
        *near = known;
    }
    let (objects, secret, mut notes) = (applied.objects, applied.secret, applied.notes);
    let grant = plan.spec.grant_ref();
    let token = async {
        match (mode, secret) {
            (WriteMode::ServerDryRun, _) => Ok((None, None)),
            (WriteMode::Apply, secret) => token(
                session,
                plan,
                &grant,
                secret,
                applied.rule,
                shared.tokens.as_deref(),
            )
            .await
            .map(|(secret, note)| (Some(secret), note)),
        }
    };
    // A guard just installed or changed, or a namespace just put under it, is proven in force
    // before the grant is reported made (while the token controller fills in the token).
    let proof = async {
        if mode == WriteMode::Apply && applied.pull_changed {
            let mut namespaces = vec![plan.spec.namespace.to_string()];
            namespaces.extend(also_in(&plan.spec));
            judge::prove_always_pull(
                &session.cluster,
                &namespaces,
                plan.spec.service_account.as_str(),
            )
            .await?;
        }
        if mode == WriteMode::Apply && plan.prove_guard && applied.guard_changed {
            judge::prove_guard(
                session,
                &plan.spec.grant_ref(),
                &also_in(&plan.spec),
                applied.reach,
                false,
            )
            .await?;
        }
        Ok::<_, Error>(())
    };
    let ((token_secret, token_note), ()) = futures::try_join!(token, proof)?;
    notes.extend(token_note);
    let guard_unproven = (mode == WriteMode::Apply && !plan.prove_guard && applied.guard_changed)
        .then_some(applied.reach);
    let not_remembered = match mode {
        WriteMode::Apply if plan.remember => {
            state::remember(&session.caller.context, &plan.spec.grant_ref()).err()
        }
        _ => None,
    };
    Ok(Granted {
        objects,
        token_secret,
        not_remembered,
        notes,
        guard_unproven,
        also_in: also_in(&plan.spec),
    })
}

/// The grant's other namespaces, as its spec names them.
pub(crate) fn also_in(spec: &GrantSpec) -> Vec<String> {
    spec.also_in.iter().map(|n| n.to_string()).collect()
}

async fn apply(
    session: &Session,
    plan: &GrantPlan,
    manifests: &Manifests,
    mode: WriteMode,
    shared: &Shared,
    near: &mut Neighbourhood,
) -> Result<Applied> {
    let cluster = &session.cluster;
    let (known_namespace, created_here) = (near.namespace.take(), near.created);
    let known_bounds = near.bounds.take();
    let seen = &mut near.seen;
    let spec = &plan.spec;
    let ns = spec.namespace.as_str();
    // The grant's RoleBindings in namespaces it no longer lists. A cluster-wide list waits
    // until the API server's cache has caught up with etcd (13 to 58 ms on an idle test
    // cluster), so it runs from the start beside everything else and is awaited only where
    // they are dropped, after the writes that do not depend on it. Dropping the handle (a
    // refusal) cancels it.
    let (listing, stale) = {
        let (cluster, spec, known) = (cluster.clone(), spec.clone(), shared.also_in.clone());
        async move { unlisted(&cluster, &spec, known.as_deref().map(Vec::as_slice)).await }
    }
    .remote_handle();
    tokio::spawn(listing);
    // The role's rules, read once (a ClusterRole's from the server) for both checks below.
    let rules = judge::role_rules(cluster, &spec.role).await?;
    // Every refusal of the grant is found before any write and said at once: the caller's
    // permissions, containment in each namespace, objects kscope does not own.
    let mut refusals = Refusals::default();
    // The caller's permissions, the namespace with the guard as it stands, and containment
    // (which needs the namespace) are read at once where they are independent.
    let permitted = async {
        match plan.preflight {
            true => preflight(cluster, spec, rules.as_deref()).await.map(Some),
            false => Ok(None),
        }
    };
    let read_guard = async {
        match (
            judge::reach_of(rules.as_deref()).needs_guard(),
            shared.guard.get(),
        ) {
            (true, Some(known)) => Ok(Some(known.clone())),
            (true, None) => judge::LiveGuard::read(cluster).await.map(Some),
            (false, _) => Ok(None),
        }
    };
    let read_and_judge = async {
        let namespace = async {
            match known_namespace {
                Some(known) => Ok(Some(known)),
                None => read_namespace(cluster, ns, mode).await,
            }
        };
        let (existing, live) = futures::try_join!(namespace, read_guard)?;
        let judged = judge::judge(
            cluster,
            spec,
            rules.as_deref(),
            plan.allow,
            existing.as_ref(),
            judge::Already {
                guard: live,
                cluster_bindings: shared.cluster_bindings.as_deref().map(Vec::as_slice),
                seen,
            },
        )
        .await;
        Ok::<_, Error>((existing, judged))
    };
    let (read, permitted) = futures::join!(read_and_judge, permitted);
    let (existing, judged) = read?;
    let (mut may_bind, mut may_impersonate) = (false, false);
    if let Some(found) = refusals.note(permitted)?.flatten() {
        may_bind = found.may_bind;
        may_impersonate = found.holds_everything;
        let mut missing = found.missing;
        if existing.is_none() && !found.may_create {
            missing.insert(0, "create on namespaces".to_string());
        }
        if !missing.is_empty() {
            refusals.note::<()>(Err(GrantError::MissingPermissions { missing }.into()))?;
        }
    }
    let judgement = refusals.note(judged)?;

    // Read what exists before writing anything, so that a refusal leaves nothing half made.
    // In a namespace that does not exist yet, nothing does.
    let live = match existing {
        // A namespace an earlier tenant of this run created holds none of this grant's objects.
        Some(_) if created_here => LiveObjects::default(),
        Some(_) => refusals
            .note(live_objects(cluster, spec, manifests).await)?
            .unwrap_or_default(),
        None => LiveObjects::default(),
    };
    // A grant whose token is a bound one stays so unless it says otherwise: a run without
    // --expires (auto) keeps the rule its ServiceAccount records, so that no grant silently
    // becomes permanent.
    let mut rule = spec.bound_rule();
    let kept;
    let manifests = match &live.token_secret {
        Some(secret)
            if rule.is_none()
                && spec.token_source == TokenSource::Auto
                && manifest::is_bound(secret) =>
        {
            let recorded = live
                .service_account
                .as_ref()
                .and_then(|sa| Expires::recorded(&sa.metadata))
                .unwrap_or(Expires::After(DEFAULT_LIFETIME));
            let mut bound = manifests.clone();
            manifest::bind_token(&mut bound, &recorded);
            rule = Some(recorded);
            kept = bound;
            &kept
        }
        _ => manifests,
    };
    let unmanaged = live.unmanaged();
    if !unmanaged.is_empty() && !plan.adopt {
        refusals
            .0
            .push(GrantError::NotManaged { objects: unmanaged });
    }
    // The other namespaces, each read, judged and its objects read before anything is
    // written, as the home namespace is.
    let mut others = Vec::new();
    for (extra_ns, extra) in spec.also_in.iter().zip(&manifests.also_in) {
        let other = also_in_namespace(cluster, plan, extra_ns, extra, rules.as_deref(), mode).await;
        others.extend(refusals.note(other)?);
    }
    refusals.finish()?;
    let Some(judgement) = judgement else {
        return Err(Error::bug(
            "a grant judged without refusal has no judgement",
        ));
    };

    let mut applier = Applier {
        cluster,
        adopt: plan.adopt,
        mode,
        objects: Vec::new(),
        guard_checked: false,
        notes: Vec::new(),
    };
    // The namespace and its guard before the access (a tenant is never bound without its
    // guard). In a namespace that exists, the binding goes before the ServiceAccount's record
    // of the access, so that the record never claims access that is not bound. In a namespace
    // this grant made, nothing was bound before: the access, the ServiceAccount and the
    // cleanup of namespaces the grant no longer lists go at once. The Secret always follows
    // its ServiceAccount (the token controller deletes a token Secret of no account).
    let home = NamespaceObjects {
        namespace: ns,
        manifest: &manifests.namespace,
        existing: existing.as_ref(),
        judgement: &judgement,
        role: manifests.role.as_ref(),
        live_role: live.role.as_ref(),
        binding: &manifests.role_binding,
        live_binding: live.role_binding.as_ref(),
        bounds: &manifests.bounds,
        known_bounds: known_bounds.as_ref(),
    };
    // kscope's always-pull policy, installed once per cluster, before the namespace carries
    // the label it reads.
    if spec.always_pull {
        let installed = judge::install_always_pull(cluster, mode).await?;
        applier.objects.extend(installed);
    }
    let namespace_now = applier.namespace(&home).await?;
    // A grant of one namespace proves its guard as soon as its ServiceAccount and binding
    // exist, while its Secret is written and filled; a grant of several, once all are
    // labelled.
    let proven_early = mode == WriteMode::Apply
        && plan.prove_guard
        && judgement.guard
        && spec.also_in.is_empty()
        && brings_under_guard(&applier.objects);
    let live_sa = live.service_account.as_ref();
    let account = async {
        cluster
            .apply(&manifests.service_account, live_sa, plan.adopt, mode)
            .await
            .map(|(_, made)| made)
    };
    // A token Secret of the other kind (a Secret token becoming a bound one, or back) is
    // made anew: its type cannot change, and deleting it ends the token it held.
    let wanted = &manifests.token_secret;
    let secret = async {
        Ok::<_, Error>(match &live.token_secret {
            Some(old) if old.type_ != wanted.type_ => {
                let name = wanted.metadata.name.as_deref().unwrap_or_default();
                if mode == WriteMode::Apply {
                    cluster.delete::<Secret>(ns, name).await?;
                    let (secret, _) = cluster.apply(wanted, None, plan.adopt, mode).await?;
                    (secret, Outcome::Replaced)
                } else {
                    (old.clone(), Outcome::Replaced)
                }
            }
            live_secret => {
                cluster
                    .apply(wanted, live_secret.as_ref(), plan.adopt, mode)
                    .await?
            }
        })
    };
    // Each write starts as soon as what it follows is there: the Secret right after its
    // ServiceAccount, the proof once the ServiceAccount and the binding exist. A signal never
    // sent is a write that failed: its error is the one reported, so a waiter waits on.
    let (access_done, access_ready) = oneshot::channel::<()>();
    let (account_done, account_ready) = oneshot::channel::<()>();
    let access_ready = access_ready.shared();
    let access = async {
        let written = applier.access(&home, may_bind).await?;
        let _ = access_done.send(());
        Ok::<_, Error>(written)
    };
    let account_and_secret = async {
        if existing.is_some() && access_ready.clone().await.is_err() {
            std::future::pending::<()>().await;
        }
        let account = account.await?;
        let _ = account_done.send(());
        Ok::<_, Error>((account, secret.await?))
    };
    let proof = async {
        if !proven_early {
            return Ok(());
        }
        if access_ready.clone().await.is_err() || account_ready.await.is_err() {
            std::future::pending::<()>().await;
        }
        let grant = spec.grant_ref();
        judge::prove_guard(session, &grant, &[], judgement.reach, may_impersonate).await
    };
    let writes = async {
        let ((access, notes, lists), (account, (secret, made)), ()) =
            futures::try_join!(access, account_and_secret, proof)?;
        Ok::<_, Error>((access, notes, lists, account, secret, made))
    };
    let ((access, access_notes, bounds_now, account, secret, made), dropped) =
        futures::try_join!(writes, drop_unlisted(cluster, mode, stale))?;
    applier.objects.extend(access.into_iter().chain([
        result_of(&manifests.service_account, account),
        result_of(&manifests.token_secret, made),
    ]));
    applier.notes.extend(access_notes);
    if let Some(stale) = &live.stale_role {
        applier.remove(stale).await?;
    }
    let mut notes = judgement.notes;
    for (other, extra) in others.iter().zip(&manifests.also_in) {
        applier
            .namespace_access(NamespaceObjects {
                namespace: &other.namespace,
                manifest: &extra.namespace,
                existing: other.existing.as_ref(),
                judgement: &other.judgement,
                role: extra.role.as_ref(),
                live_role: other.role.as_ref(),
                binding: &extra.role_binding,
                live_binding: other.role_binding.as_ref(),
                bounds: &extra.bounds,
                known_bounds: None,
            })
            .await?;
        notes.extend(other.judgement.notes.iter().cloned());
    }
    applier.objects.extend(dropped);
    notes.append(&mut applier.notes);
    let mut objects = applier.objects;
    objects.sort_by_key(|o| o.kind);
    // The guard (its policy or binding) changed, or a namespace of the grant came under it
    // (created or labelled): proven in force before the grant is reported made.
    let guard_changed = judgement.guard && !proven_early && brings_under_guard(&objects);
    // The always-pull policy installed or changed, or a namespace just labelled for it: proven
    // in force before the grant is reported made.
    let pull_changed = spec.always_pull
        && brings_under(&objects, |name| {
            name == kscope_core::pulls::ALWAYS_PULL_NAME
        });
    // The namespace as this grant left it (made by it when it did not exist), for the set's
    // next tenant there.
    near.namespace = Some(namespace_now);
    near.created = created_here || existing.is_none();
    near.bounds = bounds_now;
    if near.created && near.seen.bindings.is_none() {
        near.seen.bindings = Some((Vec::new(), Vec::new()));
    }
    near.seen
        .wrote(manifests.role.as_ref(), &manifests.role_binding);
    // The guard is now there as kscope makes it: the set's other grants need not read it.
    if judgement.guard && mode == WriteMode::Apply {
        shared.guard_holds();
    }
    Ok(Applied {
        objects,
        secret,
        notes,
        guard_changed,
        reach: judgement.reach,
        rule,
        pull_changed,
    })
}

/// Whether these writes changed the guard (any of kscope's policies or bindings) or brought a
/// namespace under it (created or labelled), so that it must be proven in force.
fn brings_under_guard(objects: &[ObjectResult]) -> bool {
    brings_under(objects, |_| true)
}

/// Whether these writes changed a policy or binding that `policy` names, or brought a
/// namespace under kscope's policies (created or labelled).
fn brings_under(objects: &[ObjectResult], policy: impl Fn(&str) -> bool) -> bool {
    objects.iter().any(|o| match o.kind {
        Kind::ValidatingAdmissionPolicy | Kind::ValidatingAdmissionPolicyBinding => {
            policy(&o.name) && o.result != Outcome::Unchanged
        }
        Kind::Namespace => matches!(o.result, Outcome::Created | Outcome::Labelled),
        _ => false,
    })
}

/// What applying a grant's objects did.
struct Applied {
    objects: Vec<ObjectResult>,
    secret: Secret,
    notes: Vec<String>,
    /// The guard was created or changed (so it may not be in force yet).
    guard_changed: bool,
    reach: kscope_core::containment::Reach,
    /// How the grant's bound token ends, when its token is a bound one.
    rule: Option<Expires>,
    /// The always-pull policy changed, or a namespace came under it.
    pull_changed: bool,
}
