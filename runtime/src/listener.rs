//! The webhook listener: a small HTTP/1 server (hyper) that feeds deliveries to
//! [`Engine::handle_webhook`].
//!
//! Route: `POST /webhooks/{provider}/{generation_id}?token=...`. Answers `200` when the delivery
//! was taken (also for duplicates, so providers stop retrying), `4xx` when it was refused.

use std::convert::Infallible;
use std::net::SocketAddr;

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::service::service_fn;
use hyper::{Request, Response};
use hyper_util::rt::TokioIo;
use tokio::net::TcpListener;
use tokio::task::JoinHandle;

use crate::engine::Engine;
use crate::webhook::WebhookRequest;

/// A running listener; stops when dropped.
#[derive(Debug)]
pub struct CallbackServer {
    addr: SocketAddr,
    task: JoinHandle<()>,
}

impl CallbackServer {
    /// Listen on `addr` (use `127.0.0.1:0` for a free port) and point `engine`'s callback URLs
    /// at it (`public_base` when the listener sits behind a public URL).
    pub async fn start(
        engine: Engine,
        addr: SocketAddr,
        public_base: Option<String>,
    ) -> std::io::Result<CallbackServer> {
        let listener = TcpListener::bind(addr).await?;
        let addr = listener.local_addr()?;
        engine.set_callback_base(Some(
            public_base.unwrap_or_else(|| format!("http://{addr}")),
        ));
        let task = tokio::spawn(async move {
            loop {
                let Ok((stream, _)) = listener.accept().await else {
                    continue;
                };
                let engine = engine.clone();
                tokio::spawn(async move {
                    let svc = service_fn(move |req| {
                        let engine = engine.clone();
                        async move { Ok::<_, Infallible>(handle(engine, req).await) }
                    });
                    let _ = hyper::server::conn::http1::Builder::new()
                        .serve_connection(TokioIo::new(stream), svc)
                        .await;
                });
            }
        });
        tracing::info!(event = "listener_started", addr = %addr, "webhook listener started");
        Ok(CallbackServer { addr, task })
    }

    /// The bound address.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }
}

impl Drop for CallbackServer {
    fn drop(&mut self) {
        self.task.abort();
    }
}

fn reply(status: u16, body: &str) -> Response<Full<Bytes>> {
    let mut r = Response::new(Full::new(Bytes::from(format!("{{\"status\":\"{body}\"}}"))));
    *r.status_mut() =
        hyper::StatusCode::from_u16(status).unwrap_or(hyper::StatusCode::INTERNAL_SERVER_ERROR);
    r.headers_mut().insert(
        "content-type",
        http::HeaderValue::from_static("application/json"),
    );
    r
}

/// The `token` query parameter.
pub fn query_param(query: Option<&str>, name: &str) -> Option<String> {
    query?.split('&').find_map(|kv| {
        let (k, v) = kv.split_once('=')?;
        (k == name).then(|| v.to_owned())
    })
}

async fn handle(engine: Engine, req: Request<Incoming>) -> Response<Full<Bytes>> {
    let segments: Vec<String> = req
        .uri()
        .path()
        .trim_matches('/')
        .split('/')
        .map(str::to_owned)
        .collect();
    let query_token = query_param(req.uri().query(), "token");
    if req.method() != hyper::Method::POST || segments.len() != 3 || segments[0] != "webhooks" {
        return reply(404, "not_found");
    }
    let (parts, body) = req.into_parts();
    let Ok(body) = body.collect().await.map(|b| b.to_bytes()) else {
        return reply(400, "bad_body");
    };
    let wr = WebhookRequest {
        headers: parts.headers,
        body,
        query_token,
    };
    match engine.handle_webhook(&segments[1], &segments[2], &wr).await {
        Ok(ack) => reply(200, &format!("{ack:?}").to_lowercase()),
        Err(e) => reply(e.status(), "rejected"),
    }
}
