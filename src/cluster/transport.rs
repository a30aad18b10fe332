//! The HTTP client under every API client: HTTP/2 where the server speaks it, as kubectl's own
//! client does, so that the requests a command sends at once share one TLS connection instead
//! of opening one each (the handshakes were a tenth of the API server's work for a grant);
//! HTTP/1.1 where it does not, or where `DISABLE_HTTP2` is set (client-go's switch).
//!
//! Whether a server speaks HTTP/2 is learnt from its first connection: TLS must agree on
//! `h2` (ALPN). Until an answer has come over HTTP/2, a request whose connection could not be
//! made that way (so it was never sent) is sent again over HTTP/1.1, and HTTP/1.1 is used from
//! then on. A request the server ended unprocessed (a GOAWAY, as kube-apiserver sends after a
//! request it could not authenticate) is sent again over HTTP/1.1 too.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicU8, Ordering};
use std::task::{Context, Poll};

use hyper_util::client::legacy::connect::{Connection, HttpConnector};
use hyper_util::rt::TokioExecutor;

type Legacy = hyper_util::client::legacy::Client<Verified, kube::client::Body>;

/// Not known yet whether the server speaks HTTP/2.
const UNKNOWN: u8 = 0;
/// An answer came over HTTP/2.
const WORKS: u8 = 1;
/// The server could not be reached over HTTP/2: HTTP/1.1 from now on.
const REFUSED: u8 = 2;

/// The HTTP client of one server (its pools of kept-alive TLS connections), TCP_NODELAY set.
#[derive(Clone)]
pub(crate) struct Https {
    h2: Option<Legacy>,
    h1: Legacy,
    h2_state: Arc<AtomicU8>,
}

/// The client for `config`'s server and TLS settings.
pub(crate) fn https(config: &kube::Config) -> Result<Https, kube::Error> {
    let plain = config.cluster_url.scheme_str() != Some("https");
    let disabled = std::env::var_os("DISABLE_HTTP2").is_some_and(|v| !v.is_empty());
    let h2 = match plain || disabled {
        true => None,
        false => Some(client(config, true)?),
    };
    Ok(Https {
        h2,
        h1: client(config, false)?,
        h2_state: Arc::new(AtomicU8::new(UNKNOWN)),
    })
}

/// One hyper client: HTTP/2 only (offering only `h2` in TLS), or HTTP/1.1 only.
fn client(config: &kube::Config, h2: bool) -> Result<Legacy, kube::Error> {
    use kube::client::ConfigExt;
    let mut http = HttpConnector::new();
    http.enforce_http(false);
    // kube's own builder leaves Nagle's algorithm on, so a request whose headers and body leave
    // in two TLS records waits for the server's delayed ACK: 40 ms per POST on a kept-alive
    // connection (measured with bench/check).
    http.set_nodelay(true);
    let builder = hyper_rustls::HttpsConnectorBuilder::new()
        .with_tls_config(config.rustls_client_config()?)
        .https_or_http();
    let builder = match &config.tls_server_name {
        Some(name) => {
            let name = rustls::pki_types::ServerName::try_from(name.clone()).map_err(|e| {
                kube::Error::Service(format!("invalid tls-server-name {name:?}: {e}").into())
            })?;
            builder.with_server_name_resolver(hyper_rustls::FixedServerNameResolver::new(name))
        }
        None => builder,
    };
    let connector = match h2 {
        true => builder.enable_http2().wrap_connector(http),
        false => builder.enable_http1().wrap_connector(http),
    };
    let verified = Verified {
        inner: connector,
        h2,
    };
    let mut client = hyper_util::client::legacy::Builder::new(TokioExecutor::new());
    client.http2_only(h2);
    Ok(client.build(verified))
}

impl tower::Service<http::Request<kube::client::Body>> for Https {
    type Response = http::Response<hyper::body::Incoming>;
    type Error = tower::BoxError;
    type Future = Pin<Box<dyn Future<Output = Result<Self::Response, Self::Error>> + Send>>;

    fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        // hyper's pooled client is always ready: it waits for a connection per request.
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, request: http::Request<kube::client::Body>) -> Self::Future {
        let (h1, state) = (self.h1.clone(), self.h2_state.clone());
        let h2 = self
            .h2
            .clone()
            .filter(|_| state.load(Ordering::Relaxed) != REFUSED);
        Box::pin(async move {
            let Some(h2) = h2 else {
                return Ok(h1.request(request).await?);
            };
            // The request is kept, to be sent again over HTTP/1.1 if HTTP/2 never took it.
            let (parts, body) = request.into_parts();
            let body = http_body_util::BodyExt::collect(body).await?.to_bytes();
            let again = |body: bytes::Bytes| {
                let mut request = http::Request::new(kube::client::Body::from(body));
                *request.method_mut() = parts.method.clone();
                *request.uri_mut() = parts.uri.clone();
                *request.version_mut() = parts.version;
                *request.headers_mut() = parts.headers.clone();
                request
            };
            match h2.request(again(body.clone())).await {
                Ok(response) => {
                    state.store(WORKS, Ordering::Relaxed);
                    Ok(response)
                }
                // The connection was never made over HTTP/2, so the request was never sent
                // (the requests waiting for the same connection are canceled with it).
                Err(e) if e.is_connect() && state.load(Ordering::Relaxed) != WORKS => {
                    state.store(REFUSED, Ordering::Relaxed);
                    Ok(h1.request(again(body)).await?)
                }
                // The server closed the connection before it processed this request (a GOAWAY
                // below its stream: kube-apiserver closes an HTTP/2 connection after a request
                // it could not authenticate, ending the requests beside it). Sent again over
                // a connection of its own.
                Err(e) if unprocessed(&e) => Ok(h1.request(again(body)).await?),
                Err(e) => Err(e.into()),
            }
        })
    }
}

/// Whether the server ended the request's HTTP/2 stream without processing it: a GOAWAY
/// whose last stream is below it (reason NO_ERROR), or a stream refused (REFUSED_STREAM), both
/// of which RFC 9113 makes safe to send again.
fn unprocessed(error: &hyper_util::client::legacy::Error) -> bool {
    let mut source = std::error::Error::source(error);
    while let Some(cause) = source {
        if let Some(h2) = cause.downcast_ref::<h2::Error>() {
            return match h2.reason() {
                Some(h2::Reason::REFUSED_STREAM) => true,
                Some(h2::Reason::NO_ERROR) => h2.is_go_away() && h2.is_remote(),
                _ => false,
            };
        }
        source = cause.source();
    }
    false
}

/// The TLS connector of one client, which refuses a connection that did not agree on the
/// client's protocol (an HTTP/2 client on a server that answered TLS without `h2`).
#[derive(Clone)]
pub(crate) struct Verified {
    inner: hyper_rustls::HttpsConnector<HttpConnector>,
    h2: bool,
}

/// The server did not agree on HTTP/2.
#[derive(Debug, thiserror::Error)]
#[error("the server did not agree on HTTP/2")]
struct NoHttp2;

impl tower::Service<http::Uri> for Verified {
    type Response =
        <hyper_rustls::HttpsConnector<HttpConnector> as tower::Service<http::Uri>>::Response;
    type Error = tower::BoxError;
    type Future = Pin<Box<dyn Future<Output = Result<Self::Response, Self::Error>> + Send>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, uri: http::Uri) -> Self::Future {
        let connecting = self.inner.call(uri);
        let h2 = self.h2;
        Box::pin(async move {
            let io = connecting.await?;
            if h2 && !io.connected().is_negotiated_h2() {
                return Err(NoHttp2.into());
            }
            Ok(io)
        })
    }
}
