//! What every request of one kscope run shares, below the API calls themselves: the request
//! counter and `-v` logging (travelling with each client, never in a static), the bound on
//! each request (`--request-timeout`) and the retry of idempotent requests that failed
//! transiently.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use crate::error::{Transport, api_status, transport_failure};

/// What travels with every client of one kscope run: whether `-v` logs requests, and the
/// count of requests sent (shared by the caller's client and any client holding a
/// ServiceAccount's credential).
#[derive(Debug, Clone)]
pub(crate) struct Wire {
    pub(crate) verbose: bool,
    pub(crate) sent: Arc<AtomicUsize>,
    /// `--request-timeout`: how long one request may wait for the server's answer.
    pub(crate) request_timeout: Option<Duration>,
    /// When the run began: `-v` says when each answer came, counted from here.
    started: Instant,
}

impl Wire {
    pub(crate) fn new(verbose: bool, request_timeout: Option<Duration>) -> Wire {
        Wire {
            verbose,
            sent: Arc::default(),
            request_timeout,
            started: Instant::now(),
        }
    }

    pub(crate) fn verbose(&self) -> bool {
        self.verbose
    }

    /// How many HTTP requests the clients of this run have sent.
    pub(crate) fn requests_sent(&self) -> usize {
        self.sent.load(Ordering::Relaxed)
    }
}

/// How many times an idempotent request is sent at most, when it fails transiently.
const ATTEMPTS: u32 = 4;

/// Sends an idempotent request (a get, a list, a review, a server-side apply, a delete) again
/// when it fails transiently: 429 (after its Retry-After), 500/502/503/504, or a connection
/// the server reset. Backs off 200 ms, 400 ms, 800 ms; never retries a timeout, which would
/// stretch `--request-timeout`.
pub(crate) async fn idempotent<T, F, Fut>(mut send: F) -> std::result::Result<T, kube::Error>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = std::result::Result<T, kube::Error>>,
{
    let mut delay = Duration::from_millis(200);
    let mut attempt = 1;
    loop {
        match send().await {
            Err(error) if attempt < ATTEMPTS && transient(&error) => {
                let retry_after = api_status(&error)
                    .and_then(|s| s.details.as_ref())
                    .map(|d| Duration::from_secs(u64::from(d.retry_after_seconds)))
                    .filter(|d| !d.is_zero());
                tokio::time::sleep(retry_after.unwrap_or(delay).min(Duration::from_secs(10))).await;
                delay *= 2;
                attempt += 1;
            }
            other => return other,
        }
    }
}

fn transient(error: &kube::Error) -> bool {
    if let Some(status) = api_status(error) {
        return matches!(status.code, 429 | 500 | 502 | 503 | 504);
    }
    transport_failure(error) == Some(Transport::Reset)
}

/// The layer every client's requests go through: it counts each request and, with `-v`, logs
/// its method and path when it leaves and its status and time when the answer's headers come
/// (as kubectl's `-v=6` does), never a header or a body, so never a token.
#[derive(Clone)]
pub(crate) struct Logged {
    pub(crate) wire: Wire,
}

impl<S> tower::Layer<S> for Logged {
    type Service = LoggedService<S>;

    fn layer(&self, inner: S) -> Self::Service {
        LoggedService {
            inner,
            wire: self.wire.clone(),
        }
    }
}

pub(crate) struct LoggedService<S> {
    inner: S,
    wire: Wire,
}

type Answer<R, E> = Pin<Box<dyn Future<Output = std::result::Result<R, E>> + Send>>;

impl<S, B, R> tower::Service<http::Request<B>> for LoggedService<S>
where
    S: tower::Service<http::Request<B>, Response = http::Response<R>>,
    S::Future: Send + 'static,
{
    type Response = S::Response;
    type Error = S::Error;
    type Future = Answer<S::Response, S::Error>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<std::result::Result<(), S::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: http::Request<B>) -> Self::Future {
        self.wire.sent.fetch_add(1, Ordering::Relaxed);
        if !self.wire.verbose {
            return Box::pin(self.inner.call(request));
        }
        let line = format!(
            "{} {}",
            request.method(),
            request.uri().path_and_query().map_or("/", |p| p.as_str())
        );
        crate::progress::note(&format!("kscope: {line}"));
        let sent = Instant::now();
        let started = self.wire.started;
        let answer = self.inner.call(request);
        Box::pin(async move {
            let result = answer.await;
            let status = match &result {
                Ok(response) => response.status().as_u16().to_string(),
                Err(_) => "no answer".into(),
            };
            crate::progress::note(&format!(
                "kscope: {status} in {} ms (at {} ms): {line}",
                sent.elapsed().as_millis(),
                started.elapsed().as_millis()
            ));
            result
        })
    }
}
