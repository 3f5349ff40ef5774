//! A real server on an ephemeral loopback port, on the bundled registry, with the mock provider
//! in-process, driven over HTTP.
#![allow(dead_code)]

use std::sync::Arc;
use std::time::Duration;

use axum::http::HeaderValue;
use runtime::engine::{Engine, EngineConfig};
use runtime::local_mock::LocalMock;
use runtime::mock::MockOptions;
use runtime::model::ModelInfo;
use runtime::store::SqliteStore;
use serde_json::Value;
use server::{Limits, Options, Running, Server, Services, Tokens};

pub const ALICE: &str = "alice-token";
pub const ALICE_ID: &str = "a11ce000-0000-4000-8000-000000000001";
pub const BOB: &str = "bob-token";
pub const BOB_ID: &str = "b0b00000-0000-4000-8000-000000000002";
/// A user with no credits.
pub const CAROL: &str = "carol-token";
pub const CAROL_ID: &str = "ca401000-0000-4000-8000-000000000003";

/// How a harness differs from the default.
#[derive(Default)]
pub struct Setup {
    /// Browser origins allowed.
    pub cors: Vec<&'static str>,
    /// A secret left out of the keys.
    pub without_secret: Option<&'static str>,
    /// The token `/metrics` requires.
    pub metrics_token: Option<&'static str>,
}

pub struct Harness {
    pub server: Option<Running>,
    pub mock: LocalMock,
    pub store: Arc<SqliteStore>,
    pub client: reqwest::Client,
    pub url: String,
}

/// An answer.
#[derive(Debug)]
pub struct Resp {
    pub status: u16,
    pub headers: reqwest::header::HeaderMap,
    pub text: String,
    pub body: Value,
}

impl Resp {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// `error.code`.
    pub fn code(&self) -> &str {
        self.body["error"]["code"].as_str().unwrap_or("")
    }

    /// `error.field`.
    pub fn field(&self) -> &str {
        self.body["error"]["field"].as_str().unwrap_or("")
    }
}

pub fn models() -> Vec<&'static ModelInfo> {
    generated_models::MODELS.to_vec()
}

impl Harness {
    pub async fn start() -> Harness {
        Harness::with(Setup::default()).await
    }

    pub async fn with(setup: Setup) -> Harness {
        let models = models();
        let opts = MockOptions {
            job_duration: Duration::from_millis(300),
            ..MockOptions::default()
        };
        let mock = LocalMock::start(&models, opts).await.expect("mock");
        let mut config = EngineConfig {
            base_urls_from_env: false,
            ..EngineConfig::default()
        };
        mock.configure(&mut config, Duration::from_millis(50));
        let keys = mock.keys_without(setup.without_secret.as_slice());
        let keys = Arc::new(keys);
        let store = Arc::new(SqliteStore::in_memory().unwrap());
        for user in [ALICE_ID, BOB_ID] {
            store.set_balance(user, "1000".parse().unwrap()).unwrap();
        }
        let engine = Engine::builder()
            .config(config)
            .store(store.clone())
            .keys(keys.clone())
            .models(&models)
            .build()
            .unwrap();
        let mut tokens = Tokens::default();
        tokens.insert_plain(ALICE, ALICE_ID);
        tokens.insert_plain(BOB, BOB_ID);
        tokens.insert_plain(CAROL, CAROL_ID);
        let opts = Options {
            listen: ([127, 0, 0, 1], 0).into(),
            public_url: None,
            cors_origins: setup
                .cors
                .iter()
                .map(|o| HeaderValue::from_static(o))
                .collect(),
            limits: Limits::default(),
            shutdown_grace: Duration::from_secs(2),
            metrics_token: setup.metrics_token.map(str::to_owned),
            ..Options::default()
        };
        let server = Server::bind(
            opts,
            Services {
                engine,
                store: store.clone(),
                idempotency: store.clone(),
                keys,
                tokens,
            },
        )
        .await
        .unwrap()
        .spawn();
        let url = server.url();
        Harness {
            server: Some(server),
            mock,
            store,
            client: reqwest::Client::new(),
            url,
        }
    }

    pub fn running(&self) -> &Running {
        self.server.as_ref().unwrap()
    }

    pub async fn send(&self, rb: reqwest::RequestBuilder) -> Resp {
        let r = rb.send().await.expect("request");
        let status = r.status().as_u16();
        let headers = r.headers().clone();
        let text = r.text().await.unwrap_or_default();
        let body = serde_json::from_str(&text).unwrap_or(Value::Null);
        Resp {
            status,
            headers,
            text,
            body,
        }
    }

    fn authed(&self, rb: reqwest::RequestBuilder, token: Option<&str>) -> reqwest::RequestBuilder {
        match token {
            Some(t) => rb.header("authorization", format!("Bearer {t}")),
            None => rb,
        }
    }

    pub async fn get(&self, path: &str, token: Option<&str>) -> Resp {
        self.send(self.authed(self.client.get(format!("{}{path}", self.url)), token))
            .await
    }

    /// POST a JSON body (as text) with extra headers.
    pub async fn post(
        &self,
        path: &str,
        token: Option<&str>,
        body: &str,
        headers: &[(&str, &str)],
    ) -> Resp {
        let mut rb = self
            .authed(self.client.post(format!("{}{path}", self.url)), token)
            .header("content-type", "application/json")
            .body(body.to_owned());
        for (k, v) in headers {
            rb = rb.header(*k, *v);
        }
        self.send(rb).await
    }

    /// Create a generation of `model` with `params` for `token`.
    pub async fn create(&self, token: &str, model: &str, params: Value) -> Resp {
        let body = serde_json::json!({ "model": model, "params": params }).to_string();
        self.post("/v1/generations", Some(token), &body, &[]).await
    }

    /// Read generation `id` until it has finished (bounded: 10 s).
    pub async fn until_done(&self, token: &str, id: &str) -> Value {
        for _ in 0..200 {
            let r = self
                .get(&format!("/v1/generations/{id}"), Some(token))
                .await;
            assert_eq!(r.status, 200, "{}", r.text);
            let s = r.body["status"].as_str().unwrap_or("");
            if s == "completed" || s == "failed" {
                return r.body;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("generation {id} did not finish within 10 s");
    }

    /// `(balance, available)` of `token`'s user, from `GET /v1/account`.
    pub async fn credits(&self, token: &str) -> (String, String) {
        let r = self.get("/v1/account", Some(token)).await;
        assert_eq!(r.status, 200, "{}", r.text);
        (
            r.body["balance"].as_str().unwrap().to_owned(),
            r.body["available"].as_str().unwrap().to_owned(),
        )
    }

    pub async fn stop(mut self) {
        if let Some(s) = self.server.take() {
            s.stop().await;
        }
    }
}
