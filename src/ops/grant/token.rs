//! The grant's token once its Secret is applied: a bound one kept or minted, a Secret token
//! waited for, or (with `--token-source auto` on a cluster that fills in no token Secret) a
//! bound one instead.

use k8s_openapi::api::core::v1::Secret;

use crate::cluster::{TokenHub, WriteMode, has_token};
use crate::error::{Error, Result, TokenError};
use crate::ops::bound;
use crate::plan::GrantPlan;
use crate::session::Session;
use kscope_core::expiry::{AUTO_WAIT, DEFAULT_LIFETIME, Expires, TokenSource};
use kscope_core::manifest;
use kscope_core::spec::GrantRef;

/// The grant's token, once its Secret is applied: a bound one kept while it serves its rule,
/// else minted and stored; a Secret token waited for (with `--token-source auto`, for
/// [`AUTO_WAIT`], then a bound token instead, said in the note).
pub(super) async fn token(
    session: &Session,
    plan: &GrantPlan,
    grant: &GrantRef,
    secret: Secret,
    rule: Option<Expires>,
    tokens: Option<&TokenHub>,
) -> Result<(Secret, Option<String>)> {
    let cluster = &session.cluster;
    let now = crate::plan::now();
    if let Some(rule) = rule {
        if bound::holds(&secret, &rule, plan.renew_before, now) {
            return Ok((secret, None));
        }
        let minted = bound::mint(cluster, grant, &secret, &rule, now).await?;
        let note = bound::shortened_note(grant, &minted, now);
        return Ok((minted.secret, note));
    }
    if has_token(&secret) {
        return Ok((secret, None));
    }
    let (ns, name) = (
        grant.namespace.as_str(),
        grant.service_account.token_secret(),
    );
    let auto = plan.spec.token_source == TokenSource::Auto;
    let wait = match auto {
        true => AUTO_WAIT.min(plan.timeout),
        false => plan.timeout,
    };
    let spinner = session.progress.start(&format!(
        "waiting for the token controller to fill in Secret {ns}/{name}"
    ));
    let waited = match tokens {
        Some(hub) => hub.wait(cluster, secret, wait).await,
        None => cluster.wait_for_token(secret, wait).await,
    };
    match waited {
        Ok(filled) => {
            spinner.finish(&format!("token ready in Secret {ns}/{name}"));
            Ok((filled, None))
        }
        // The cluster fills in no token Secret (its tokens are signed outside
        // kube-controller-manager, or the controller is off): a bound token instead.
        Err(Error::Token(TokenError::Timeout { .. })) if auto => {
            spinner.finish(&format!(
                "no token in Secret {ns}/{name} after {}s",
                wait.as_secs()
            ));
            let now = crate::plan::now();
            let rule = Expires::After(DEFAULT_LIFETIME);
            let mut manifests = manifest::build(&plan.spec);
            manifest::bind_token(&mut manifests, &rule);
            cluster.delete::<Secret>(ns, &name).await?;
            let ((_, _), (anchor, _)) = futures::try_join!(
                cluster.apply(&manifests.service_account, None, true, WriteMode::Apply),
                cluster.apply(&manifests.token_secret, None, false, WriteMode::Apply),
            )?;
            let minted = bound::mint(cluster, grant, &anchor, &rule, now).await?;
            let note = format!(
                "the cluster filled in no token Secret within {}s (its tokens are signed outside kube-controller-manager, or the token controller is off): the grant holds a token bound to Secret {ns}/{name} instead, which expires {} ({} from now); a rotation or another apply renews it, and to wait for a Secret token instead, use --token-source secret",
                wait.as_secs(),
                kscope_core::expiry::rfc3339(minted.expires),
                kscope_core::duration::format(u64::try_from(minted.expires - now).unwrap_or(0)),
            );
            Ok((minted.secret, Some(note)))
        }
        Err(e) => Err(e),
    }
}
