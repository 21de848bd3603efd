//! The HTTP server of `/metrics`, `/healthz`, `/readyz` and the job's
//! [`super::Pages`].
//!
//! [`app`] is the router: every path goes to [`Telemetry::respond`], which
//! owns what each endpoint answers. It needs no socket, so a test calls it
//! as a tower service:
//!
//! ```
//! use std::sync::Arc;
//! use axum::body::Body;
//! use axum::http::{Request, StatusCode};
//! use slipstream::telemetry::{app, Telemetry};
//! use tower::ServiceExt;
//!
//! let request = Request::get("/healthz").body(Body::empty()).unwrap();
//! let response = futures_executor::block_on(app(Arc::new(Telemetry::default())).oneshot(request));
//! assert_eq!(response.unwrap().status(), StatusCode::OK);
//! ```
//!
//! [`serve`] binds the address at start-up, so that a bad `[http] listen`
//! stops the job before it consumes anything, and hands the socket to a
//! thread of its own that runs a current-thread tokio runtime. The job's
//! loop stays synchronous: it never waits on that thread, and the thread
//! does not keep the process alive when the job ends.
//!
//! Probes must answer while other clients misbehave, so each connection is
//! served on its own task, within limits:
//!
//! - at most [`MAX_CONNECTIONS`] (256) connections at once; further ones
//!   wait in the listen backlog until one ends (within the timeouts below);
//! - the request head must arrive within [`HEADER_READ_TIMEOUT`] (5 s) of
//!   the connection opening, and be at most [`MAX_HEAD_BYTES`] (16 KiB);
//! - a whole connection lasts at most [`CONNECTION_TIMEOUT`] (10 s), which
//!   also ends a client that does not read its answer;
//! - one request per connection (the answer says `Connection: close`);
//! - a body over [`MAX_BODY_BYTES`] (1 KiB) is refused with 413: the
//!   endpoints take none;
//! - GET and HEAD only, 405 otherwise.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, Result};
use axum::extract::State;
use axum::http::{header, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use hyper::server::conn::http1;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::service::TowerToHyperService;
use tokio::net::TcpListener;
use tokio::sync::Semaphore;
use tower_http::limit::RequestBodyLimitLayer;
use tracing::warn;

use super::Telemetry;

/// Connections served at once.
pub const MAX_CONNECTIONS: usize = 256;
/// From a connection's opening to the end of its request head.
pub const HEADER_READ_TIMEOUT: Duration = Duration::from_secs(5);
/// From a connection's opening to its end, answer written.
pub const CONNECTION_TIMEOUT: Duration = Duration::from_secs(10);
/// The largest request head (hyper's read buffer; at least 8 KiB).
pub const MAX_HEAD_BYTES: usize = 16 * 1024;
/// The largest request body.
pub const MAX_BODY_BYTES: usize = 1024;
/// The pause after a failed `accept` (e.g. out of file descriptors).
const ACCEPT_BACKOFF: Duration = Duration::from_millis(100);

/// The router of the endpoints: [`Telemetry::respond`] answers GET and HEAD
/// on every path; other methods get 405.
pub fn app(telemetry: Arc<Telemetry>) -> Router {
    Router::new()
        .fallback(get(answer).fallback(only_get))
        .layer(RequestBodyLimitLayer::new(MAX_BODY_BYTES))
        .with_state(telemetry)
}

async fn answer(State(telemetry): State<Arc<Telemetry>>, uri: Uri) -> Response {
    let target = uri
        .path_and_query()
        .map_or_else(|| uri.path().to_string(), |p| p.as_str().to_string());
    let (status, kind, body) = if super::FIXED_PATHS.contains(&uri.path()) || !telemetry.has_pages()
    {
        telemetry.respond(&target)
    } else {
        // A page is built on the blocking pool: the probes keep answering.
        tokio::task::spawn_blocking(move || telemetry.respond(&target))
            .await
            .unwrap_or_else(|_| (500, "text/plain", "the page could not be built\n".into()))
    };
    let status = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    (status, [(header::CONTENT_TYPE, kind)], body).into_response()
}

async fn only_get() -> Response {
    (
        StatusCode::METHOD_NOT_ALLOWED,
        [(header::CONTENT_TYPE, "text/plain")],
        "only GET and HEAD\n",
    )
        .into_response()
}

/// Serves the endpoints on `listen` from a background thread; returns the
/// bound address (useful with port 0).
pub fn serve(listen: &str, telemetry: Arc<Telemetry>) -> Result<SocketAddr> {
    let listener = std::net::TcpListener::bind(listen).with_context(|| {
        format!("cannot listen on {listen} for /metrics (set [http] listen to a free address)")
    })?;
    let addr = listener.local_addr()?;
    listener.set_nonblocking(true)?;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_io()
        .enable_time()
        .build()
        .context("cannot start the runtime of the HTTP endpoints")?;
    let listener = {
        let _in_runtime = runtime.enter();
        TcpListener::from_std(listener)?
    };
    let app = app(telemetry);
    std::thread::Builder::new()
        .name("http".into())
        .spawn(move || runtime.block_on(accept(listener, app)))?;
    Ok(addr)
}

/// Accepts connections for ever, each served on a task of its own while it
/// holds one of [`MAX_CONNECTIONS`] slots.
async fn accept(listener: TcpListener, app: Router) {
    let slots = Arc::new(Semaphore::new(MAX_CONNECTIONS));
    loop {
        // The semaphore is never closed.
        let Ok(slot) = slots.clone().acquire_owned().await else {
            return;
        };
        let stream = match listener.accept().await {
            Ok((stream, _)) => stream,
            Err(error) => {
                warn!(%error, "Cannot accept an HTTP connection.");
                tokio::time::sleep(ACCEPT_BACKOFF).await;
                continue;
            }
        };
        let service = TowerToHyperService::new(app.clone());
        tokio::spawn(async move {
            let connection = http1::Builder::new()
                .timer(TokioTimer::new())
                .header_read_timeout(HEADER_READ_TIMEOUT)
                .max_buf_size(MAX_HEAD_BYTES)
                .keep_alive(false)
                .serve_connection(TokioIo::new(stream), service);
            // A failed connection is the client's doing (a timeout, a reset,
            // a malformed request): hyper has answered or closed it.
            let _ = tokio::time::timeout(CONNECTION_TIMEOUT, connection).await;
            drop(slot);
        });
    }
}

#[cfg(test)]
mod tests {
    use std::io::{ErrorKind, Read, Write};
    use std::net::TcpStream;
    use std::time::Instant;

    use axum::body::Body;
    use axum::http::{Method, Request};
    use tower::ServiceExt;

    use super::*;

    /// Status, content type and body of one request to the router.
    fn call(t: &Arc<Telemetry>, request: Request<Body>) -> (StatusCode, String, String) {
        let response = futures_executor::block_on(app(t.clone()).oneshot(request))
            .expect("the router never fails");
        let status = response.status();
        let kind = response
            .headers()
            .get(header::CONTENT_TYPE)
            .map(|v| v.to_str().expect("ASCII").to_string())
            .unwrap_or_default();
        let body = futures_executor::block_on(axum::body::to_bytes(response.into_body(), 1 << 20))
            .expect("body");
        (
            status,
            kind,
            String::from_utf8(body.to_vec()).expect("UTF-8"),
        )
    }

    fn get(path: &str) -> Request<Body> {
        Request::get(path).body(Body::empty()).expect("request")
    }

    fn telemetry() -> Arc<Telemetry> {
        let t = Arc::new(Telemetry::default());
        t.publish("slipstream_windows_open 3\n".into());
        t.set_ready(true, "");
        t
    }

    #[test]
    fn the_three_endpoints_answer() {
        let t = telemetry();
        assert_eq!(
            call(&t, get("/metrics")),
            (
                StatusCode::OK,
                "text/plain; version=0.0.4".into(),
                "slipstream_windows_open 3\n".into()
            )
        );
        assert_eq!(
            call(&t, get("/healthz")),
            (StatusCode::OK, "text/plain".into(), "ok\n".into())
        );
        assert_eq!(
            call(&t, get("/readyz?verbose=1")),
            (StatusCode::OK, "text/plain".into(), "ready\n".into())
        );
        t.set_ready(false, "sink file:x is failing");
        assert_eq!(
            call(&t, get("/readyz")),
            (
                StatusCode::SERVICE_UNAVAILABLE,
                "text/plain".into(),
                "not ready: sink file:x is failing\n".into()
            )
        );
    }

    #[test]
    fn head_answers_without_a_body() {
        let request = Request::head("/healthz")
            .body(Body::empty())
            .expect("request");
        let (status, _, body) = call(&telemetry(), request);
        assert_eq!((status, body.as_str()), (StatusCode::OK, ""));
    }

    #[test]
    fn an_unknown_path_is_404_with_the_endpoints_named() {
        assert_eq!(
            call(&telemetry(), get("/metrics/")),
            (
                StatusCode::NOT_FOUND,
                "text/plain".into(),
                "not found; try /metrics, /healthz or /readyz\n".into()
            )
        );
    }

    #[test]
    fn methods_other_than_get_and_head_are_405() {
        for (method, path) in [
            (Method::POST, "/metrics"),
            (Method::PUT, "/readyz"),
            (Method::DELETE, "/nope"),
        ] {
            let request = Request::builder()
                .method(method.clone())
                .uri(path)
                .body(Body::empty())
                .expect("request");
            let response =
                futures_executor::block_on(app(telemetry()).oneshot(request)).expect("response");
            assert_eq!(
                response.status(),
                StatusCode::METHOD_NOT_ALLOWED,
                "{method} {path}"
            );
            let allow = response.headers().get(header::ALLOW).map(|v| v.as_bytes());
            assert_eq!(allow, Some(&b"GET,HEAD"[..]), "{method} {path}");
        }
    }

    #[test]
    fn a_body_over_the_limit_is_413_and_a_small_one_is_ignored() {
        let with_body = |n: usize| {
            Request::get("/healthz")
                .header(header::CONTENT_LENGTH, n)
                .body(Body::from(vec![b'x'; n]))
                .expect("request")
        };
        let t = telemetry();
        assert_eq!(call(&t, with_body(1025)).0, StatusCode::PAYLOAD_TOO_LARGE);
        assert_eq!(
            call(&t, with_body(1 << 20)).0,
            StatusCode::PAYLOAD_TOO_LARGE
        );
        assert_eq!(call(&t, with_body(1024)).2, "ok\n");
    }

    /// Reads until the server closes the connection, sending the next byte
    /// of `trickle` (if any) every second meanwhile; returns when that was,
    /// counted from `opened`.
    fn closed_after(mut s: TcpStream, opened: Instant, trickle: &[u8]) -> Duration {
        let deadline = HEADER_READ_TIMEOUT + Duration::from_secs(3);
        s.set_read_timeout(Some(Duration::from_secs(1)))
            .expect("read timeout");
        let mut buf = [0u8; 1024];
        for sent in 0.. {
            assert!(
                opened.elapsed() < deadline,
                "the server kept a slow client {deadline:?}"
            );
            if !trickle.is_empty() && s.write_all(&[trickle[sent % trickle.len()]]).is_err() {
                break;
            }
            match s.read(&mut buf) {
                Ok(0) => break,
                Ok(n) => panic!("an answer to an unfinished request: {:?}", &buf[..n]),
                Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {}
                Err(_) => break,
            }
        }
        opened.elapsed()
    }

    #[test]
    fn a_client_slow_to_send_its_head_is_disconnected() {
        let addr = serve("127.0.0.1:0", telemetry()).expect("serve");
        let silent = TcpStream::connect(addr).expect("connect");
        let opened = Instant::now();
        let trickling = TcpStream::connect(addr).expect("connect");
        let slow = std::thread::spawn(move || {
            closed_after(trickling, opened, b"GET /healthz HTTP/1.1\r\n")
        });
        // Meanwhile a prompt client is answered.
        let mut prompt = TcpStream::connect(addr).expect("connect");
        prompt
            .write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
            .expect("write");
        let mut answer = String::new();
        prompt
            .read_to_string(&mut answer)
            .expect("read to the close");
        assert!(answer.starts_with("HTTP/1.1 200 OK\r\n"), "{answer}");
        assert!(answer.ends_with("\r\n\r\nok\n"), "{answer}");

        for took in [
            closed_after(silent, opened, b""),
            slow.join().expect("slow client"),
        ] {
            assert!(
                took >= HEADER_READ_TIMEOUT - Duration::from_millis(100),
                "closed after {took:?}, before the header timeout"
            );
        }
    }

    #[test]
    fn a_listen_address_in_use_is_an_error_naming_the_setting() {
        let addr = serve("127.0.0.1:0", telemetry()).expect("serve");
        let err = serve(&addr.to_string(), telemetry()).expect_err("in use");
        assert!(format!("{err:#}").contains("[http] listen"), "{err:#}");
    }
}
