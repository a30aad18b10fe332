//! Waiting for what a controller or the authorizer does: by watching where the API allows
//! it, by retrying (bounded) where it does not.

use std::future::Future;
use std::time::Duration;

use kube::runtime::wait::{Condition, await_condition};
use kube::{Api, Resource};
use serde::de::DeserializeOwned;

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
    match tokio::time::timeout(timeout, await_condition(api.clone(), name, cond)).await {
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
    match tokio::time::timeout(duration, await_condition(api.clone(), name, cond)).await {
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
