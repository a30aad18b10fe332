//! One watch for the token Secrets of a whole set. `apply` writes a token Secret per tenant,
//! and a watch of each one cost the API server about as much as a write. A [`TokenHub`]
//! watches the set's Secrets (by the set's label) for the whole run and hands each waiter its
//! Secret once the token controller has filled it in. A hub whose watch cannot be kept (the
//! caller may not watch Secrets everywhere, say) leaves each waiter to watch its own Secret.

use std::collections::{BTreeSet, HashMap};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures::TryStreamExt;
use k8s_openapi::api::core::v1::Secret;
use kube::ResourceExt;
use kube::api::{Api, WatchEvent, WatchParams};

use super::{Cluster, has_token};
use crate::error::{Error, Result, TokenError};

/// The set's token Secrets as one watch sees them.
pub(crate) struct TokenHub {
    shared: Arc<Hub>,
    task: tokio::task::JoinHandle<()>,
}

#[derive(Default)]
struct Hub {
    state: Mutex<State>,
    changed: tokio::sync::Notify,
}

#[derive(Default)]
struct State {
    /// What the watch saw of each expected Secret: filled in, or deleted (by its uid).
    seen: HashMap<(String, String), Seen>,
    /// The watch could not be kept: each waiter watches its own Secret.
    broken: bool,
}

enum Seen {
    Filled(Box<Secret>),
    Gone { uid: Option<String> },
}

impl Drop for TokenHub {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// How many times in a row the watch may fail to start before the hub gives up.
const MOST_FAILURES: u32 = 3;

/// How long the hub pauses before it watches again after a failure.
const RESTART_PAUSE: Duration = Duration::from_millis(250);

impl TokenHub {
    /// Starts watching the Secrets labelled `selector`, across namespaces; only the Secrets
    /// named in `expected` (namespace, name) are kept, so that Secrets others label alike
    /// cost nothing.
    pub(crate) fn start(
        cluster: &Cluster,
        selector: String,
        expected: BTreeSet<(String, String)>,
    ) -> TokenHub {
        let shared = Arc::new(Hub::default());
        let api = Api::<Secret>::all(cluster.client.clone());
        let task = tokio::spawn(watch(api, selector, expected, shared.clone()));
        TokenHub { shared, task }
    }

    /// The Secret once its token is filled in, at most `timeout`, as
    /// [`Cluster::wait_for_token`] would answer (`current` is the Secret as its write
    /// answered; a Secret of another uid by the same name does not count).
    pub(crate) async fn wait(
        &self,
        cluster: &Cluster,
        current: Secret,
        timeout: Duration,
    ) -> Result<Secret> {
        if has_token(&current) {
            return Ok(current);
        }
        let (namespace, name) = (current.namespace().unwrap_or_default(), current.name_any());
        let key = (namespace.clone(), name.clone());
        let uid = current.metadata.uid.clone();
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            // Registered before the state is looked at, so that no change between is missed.
            let notified = self.shared.changed.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            let broken = {
                let state = self.shared.state.lock().map_err(|_| poisoned())?;
                match state.seen.get(&key) {
                    Some(Seen::Filled(secret)) if secret.metadata.uid == uid => {
                        return Ok(secret.as_ref().clone());
                    }
                    Some(Seen::Gone { uid: gone }) if *gone == uid => {
                        return Err(TokenError::SecretDeleted {
                            namespace,
                            secret: name,
                        }
                        .into());
                    }
                    _ => state.broken,
                }
            };
            if broken {
                let left = deadline.saturating_duration_since(tokio::time::Instant::now());
                return cluster.wait_for_token(current, left).await;
            }
            if tokio::time::timeout_at(deadline, notified).await.is_err() {
                return Err(TokenError::Timeout {
                    namespace,
                    secret: name,
                    seconds: timeout.as_secs(),
                }
                .into());
            }
        }
    }
}

fn poisoned() -> Error {
    Error::bug("the token hub's state was poisoned")
}

/// The watch behind a hub: from the current state (a watch from no version starts with every
/// Secret as it is), then every change; after an end or an expiry, from the last version seen
/// (or from the current state again). Marks the hub broken when the watch cannot be started.
async fn watch(
    api: Api<Secret>,
    selector: String,
    expected: BTreeSet<(String, String)>,
    hub: Arc<Hub>,
) {
    let params = WatchParams::default().labels(&selector);
    let mut version = String::new();
    let mut failures = 0;
    loop {
        let mut events = match api.watch(&params, &version).await {
            Ok(events) => Box::pin(events),
            // A caller who may not watch Secrets everywhere never will: given up at once.
            Err(kube::Error::Api(status)) if status.code == 403 => break,
            Err(_) => {
                failures += 1;
                if failures >= MOST_FAILURES {
                    break;
                }
                tokio::time::sleep(RESTART_PAUSE).await;
                continue;
            }
        };
        let mut heard = false;
        while let Ok(Some(event)) = events.try_next().await {
            let (secret, deleted) = match event {
                WatchEvent::Added(secret) | WatchEvent::Modified(secret) => (secret, false),
                WatchEvent::Deleted(secret) => (secret, true),
                WatchEvent::Bookmark(mark) => {
                    heard = true;
                    version = mark.metadata.resource_version;
                    continue;
                }
                // Expired (410 Gone) or another error in the stream: from the current state.
                WatchEvent::Error(_) => {
                    version = String::new();
                    break;
                }
            };
            heard = true;
            version = secret.resource_version().unwrap_or_default();
            let key = (secret.namespace().unwrap_or_default(), secret.name_any());
            if !expected.contains(&key) {
                continue;
            }
            let record = match (deleted, has_token(&secret)) {
                (true, _) => Some(Seen::Gone {
                    uid: secret.metadata.uid.clone(),
                }),
                (false, true) => Some(Seen::Filled(Box::new(secret))),
                (false, false) => None,
            };
            if let Some(record) = record {
                if let Ok(mut state) = hub.state.lock() {
                    state.seen.insert(key, record);
                }
                hub.changed.notify_waiters();
            }
        }
        // A watch that ended without a word counts as a failure: a server that keeps ending
        // them at once is not asked forever.
        failures = if heard { 0 } else { failures + 1 };
        if failures >= MOST_FAILURES {
            break;
        }
        if !heard {
            tokio::time::sleep(RESTART_PAUSE).await;
        }
    }
    if let Ok(mut state) = hub.state.lock() {
        state.broken = true;
    }
    hub.changed.notify_waiters();
}
