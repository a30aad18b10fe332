//! Waiting for what a controller or the authorizer does: by watching where the API allows
//! it, by retrying (bounded) where it does not.
//!
//! (The watch is the API's own, through `Api::watch`: kscope's kube client is built without
//! kube's `runtime` module, and the tests use the same client.)

use std::future::Future;
use std::time::Duration;

use futures::TryStreamExt;
use kube::api::{ListParams, WatchEvent, WatchParams};
use kube::{Api, Resource};
use serde::de::DeserializeOwned;

/// A condition on an object that may be absent (`None`), as [`wait_for`] checks it.
pub trait Condition<K>: Fn(Option<&K>) -> bool {}
impl<K, F: Fn(Option<&K>) -> bool> Condition<K> for F {}

/// The object exists.
pub fn exists<K>(obj: Option<&K>) -> bool {
    obj.is_some()
}

/// The object with `uid` is gone (absent, or replaced by a new one of the same name).
pub fn is_deleted<K: Resource>(uid: &str) -> impl Fn(Option<&K>) -> bool + use<K> {
    let uid = uid.to_string();
    move |obj: Option<&K>| obj.is_none_or(|o| o.meta().uid.as_deref() != Some(uid.as_str()))
}

/// Reads the named object, and watches it from that read until `cond` holds; a watch that
/// ends or expires (410 Gone) reads again and watches from there, so no change is missed.
async fn until<K>(api: &Api<K>, name: &str, cond: &impl Condition<K>) -> kube::Result<Option<K>>
where
    K: Clone + std::fmt::Debug + DeserializeOwned + Resource + 'static,
{
    let selector = format!("metadata.name={name}");
    loop {
        // A list of the one name: its resourceVersion is there whether the object is or not.
        let listed = api.list(&ListParams::default().fields(&selector)).await?;
        let from = listed.metadata.resource_version.clone().unwrap_or_default();
        let current = listed.items.into_iter().next();
        if cond(current.as_ref()) {
            return Ok(current);
        }
        let mut events = Box::pin(
            api.watch(&WatchParams::default().fields(&selector), &from)
                .await?,
        );
        while let Some(event) = events.try_next().await? {
            match event {
                WatchEvent::Added(obj) | WatchEvent::Modified(obj) if cond(Some(&obj)) => {
                    return Ok(Some(obj));
                }
                WatchEvent::Deleted(_) if cond(None) => return Ok(None),
                WatchEvent::Error(_) => break,
                _ => {}
            }
        }
    }
}

/// Waits (with a watch, bounded by `timeout`) until the named object satisfies `cond`;
/// panics naming `what` when it does not in time. Returns the object (None if the condition
/// holds for an absent object, e.g. "deleted").
pub async fn wait_for<K>(
    api: &Api<K>,
    name: &str,
    what: &str,
    timeout: Duration,
    cond: impl Condition<K>,
) -> Option<K>
where
    K: Clone + std::fmt::Debug + Send + DeserializeOwned + Resource + 'static,
{
    match tokio::time::timeout(timeout, until(api, name, &cond)).await {
        Ok(Ok(obj)) => obj,
        Ok(Err(e)) => panic!("watching {name} for {what}: {e}"),
        Err(_) => panic!("timed out after {timeout:?} waiting for {name}: {what}"),
    }
}

/// Checks `cond` against the named object for `duration` and returns true when it never
/// held (for "nothing happens" assertions, e.g. a token Secret that stays empty).
pub async fn never_within<K>(
    api: &Api<K>,
    name: &str,
    duration: Duration,
    cond: impl Condition<K>,
) -> bool
where
    K: Clone + std::fmt::Debug + Send + DeserializeOwned + Resource + 'static,
{
    match tokio::time::timeout(duration, until(api, name, &cond)).await {
        Err(_elapsed) => true,
        Ok(Ok(_)) => false,
        Ok(Err(e)) => panic!("watching {name}: {e}"),
    }
}

/// Retries `attempt` every 200 ms until it returns Some, for at most `timeout` (for effects
/// that cannot be watched, e.g. RBAC changes reaching the authorizer's cache). Panics naming
/// `what` and the last failure when it runs out.
pub async fn eventually<T, E: std::fmt::Debug, F, Fut>(
    what: &str,
    timeout: Duration,
    mut attempt: F,
) -> T
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, E>>,
{
    let deadline = tokio::time::Instant::now() + timeout;
    loop {
        match attempt().await {
            Ok(v) => return v,
            Err(e) if tokio::time::Instant::now() >= deadline => {
                panic!("{what}: still failing after {timeout:?}; last error: {e:?}")
            }
            Err(_) => tokio::time::sleep(Duration::from_millis(200)).await,
        }
    }
}
