//! kscope's writes of whole objects: an object absent when read is created, one that exists is
//! server-side applied (once kscope holds its fields through its apply), one that already
//! holds what kscope wants is not written at all.

use std::fmt::Debug;

use k8s_openapi::apimachinery::pkg::apis::meta::v1::{ManagedFieldsEntry, ObjectMeta};
use kube::api::{Api, Patch, PatchParams, PostParams};
use kube::{Resource, ResourceExt};
use serde::Serialize;
use serde::de::DeserializeOwned;

use super::{WriteMode, kind};
use crate::error::{Error, Result, is_status};
use crate::wire::idempotent;
use kscope_core::manifest::{FIELD_MANAGER, Outcome, covers, handed_to_apply};

/// Server-side apply of `object` through `api` (any scope), unless `existing`, the live
/// version just read, already holds it (a repeated grant sends reads only); the outcome says
/// whether it was created, changed or left as it was.
///
/// An object absent when read is created instead (a third less of the API server's work);
/// one that appeared since is applied. An object kscope created so holds kscope's fields
/// through an `Update`: they are handed to kscope's apply first
/// ([`kscope_core::manifest::handed_to_apply`]), so that the apply may change or drop them.
pub(super) async fn apply_through<K>(
    api: Api<K>,
    shown: &str,
    object: &K,
    existing: Option<&K>,
    mut params: PatchParams,
) -> Result<(K, Outcome)>
where
    K: Resource<DynamicType = ()> + Clone + Debug + Serialize + DeserializeOwned,
{
    if let Some(live) = existing
        && covers(live, object)
    {
        return Ok((live.clone(), Outcome::Unchanged));
    }
    let name = object.name_any();
    match existing {
        None if !params.dry_run => {
            let post = PostParams {
                dry_run: false,
                field_manager: Some(FIELD_MANAGER.to_string()),
            };
            match idempotent(|| api.create(&post, object)).await {
                Ok(made) => return Ok((made, Outcome::Created)),
                Err(e) if is_status(&e, 409) => {}
                Err(e) => return Err(Error::api(format!("create {} {shown}", kind::<K>()), e)),
            }
        }
        None => {}
        Some(live) => {
            if let Some(entries) = handed_to_apply(live.meta()) {
                match params.dry_run {
                    false => hand_over(&api, shown, live, entries).await?,
                    // A dry run cannot hand them over: where no one else holds a field, forcing
                    // is what the apply after the hand-over does.
                    true => params.force |= only_kscope_holds(live.meta()),
                }
            }
        }
    }
    let patch = Patch::Apply(object);
    let applied = idempotent(|| api.patch(&name, &params, &patch))
        .await
        .map_err(|e| Error::api(format!("apply {} {shown}", kind::<K>()), e))?;
    let outcome = match existing {
        None => Outcome::Created,
        Some(before) if same_state(before, &applied) => Outcome::Unchanged,
        Some(_) => Outcome::Configured,
    };
    Ok((applied, outcome))
}

/// Replaces the managed fields of `live` by `entries`, unless the object changed since it
/// was read (then the apply that follows meets the server's own view).
async fn hand_over<K>(
    api: &Api<K>,
    shown: &str,
    live: &K,
    entries: Vec<ManagedFieldsEntry>,
) -> Result<()>
where
    K: Resource<DynamicType = ()> + Clone + Debug + DeserializeOwned,
{
    // The resourceVersion makes the patch conditional: it fails (409) if the object changed.
    let body = serde_json::json!({"metadata": {
        "resourceVersion": live.meta().resource_version,
        "managedFields": entries,
    }});
    let params = PatchParams {
        field_manager: Some(FIELD_MANAGER.to_string()),
        ..Default::default()
    };
    let (name, patch) = (live.name_any(), Patch::Merge(&body));
    // Sent again on a transient failure, as every write is: a repeat after a lost answer finds
    // the version changed (409), and the apply that follows sees the fields handed over.
    match idempotent(|| api.patch(&name, &params, &patch)).await {
        Ok(_) => Ok(()),
        Err(e) if is_status(&e, 409) => Ok(()),
        Err(e) => Err(Error::api(
            format!("take over kscope's fields of {} {shown}", kind::<K>()),
            e,
        )),
    }
}

/// Whether every field of the object that anyone holds, kscope holds.
fn only_kscope_holds(meta: &ObjectMeta) -> bool {
    meta.managed_fields
        .iter()
        .flatten()
        .all(|entry| entry.manager.as_deref() == Some(FIELD_MANAGER))
}

/// Server-side apply as kscope; `adopt` forces ownership of fields other managers hold.
pub(super) fn apply_params(adopt: bool, mode: WriteMode) -> PatchParams {
    let mut params = PatchParams::apply(FIELD_MANAGER);
    if adopt {
        params = params.force();
    }
    params.dry_run = mode == WriteMode::ServerDryRun;
    params
}

/// Whether an apply changed anything: kscope compares resourceVersions, except under a server
/// dry run (which never bumps it), where the objects are compared without server bookkeeping.
fn same_state<K: Resource + Serialize>(before: &K, after: &K) -> bool {
    let strip = |object: &K| {
        let mut value = serde_json::to_value(object).unwrap_or_default();
        if let Some(meta) = value.get_mut("metadata").and_then(|m| m.as_object_mut()) {
            for key in ["managedFields", "resourceVersion", "generation"] {
                meta.remove(key);
            }
        }
        value
    };
    let versions = (
        before.meta().resource_version.as_ref(),
        after.meta().resource_version.as_ref(),
    );
    match versions {
        (Some(a), Some(b)) if a != b => false,
        _ => strip(before) == strip(after),
    }
}
