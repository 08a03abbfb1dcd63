//! A real Kumo server on 127.0.0.1:0 over a scratch database, and a small HTTP client.
#![allow(dead_code)]

use std::sync::Arc;

use kumo_server::{create_app, AppCredentials, Config, Running};
use kumo_storage::testing::TestDb;
use kumo_storage::{Dialect, SqlStore, Storage};
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

pub struct TestServer {
    pub app: AppCredentials,
    pub store: Arc<SqlStore>,
    pub client: reqwest::Client,
    running: Option<Running>,
    /// Shared by the nodes of one database; dropped with the last.
    db: Arc<TestDb>,
}

pub struct Reply {
    pub status: StatusCode,
    pub headers: reqwest::header::HeaderMap,
    pub body: Value,
}

impl Reply {
    /// Asserts a Kii error body with the given status and code.
    pub fn expect_error(&self, status: u16, code: &str) -> &Self {
        assert_eq!(self.status.as_u16(), status, "body: {}", self.body);
        assert_eq!(self.body["errorCode"], code, "body: {}", self.body);
        assert!(self.body["message"].is_string(), "body: {}", self.body);
        self
    }

    pub fn expect_status(&self, status: u16) -> &Self {
        assert_eq!(self.status.as_u16(), status, "body: {}", self.body);
        if self.status.is_success() {
            assert!(
                self.body.get("errorCode").is_none(),
                "2xx with errorCode: {}",
                self.body
            );
        }
        self
    }
}

impl TestServer {
    pub async fn start(dialect: Dialect) -> Self {
        Self::start_with(dialect, Config::default()).await
    }

    pub async fn start_with(dialect: Dialect, config: Config) -> Self {
        let db = TestDb::new(dialect).await;
        let store = Arc::new(kumo_storage::open(&db.url, 4).await.expect("open store"));
        let running = Running::start("127.0.0.1:0".parse().unwrap(), store.clone(), config)
            .await
            .expect("start server");
        let app = create_app(store.as_ref(), "test", &running.site_url())
            .await
            .expect("create app");
        TestServer {
            app,
            store,
            client: reqwest::Client::new(),
            running: Some(running),
            db: Arc::new(db),
        }
    }

    /// A second Kumo node on this server's database, as another process would be: its own
    /// store (pool, invalidation listener), caches and engine, serving the same app.
    pub async fn another_node(&self, config: Config) -> TestServer {
        let store = Arc::new(
            kumo_storage::open(&self.db.url, 4)
                .await
                .expect("open store"),
        );
        let running = Running::start("127.0.0.1:0".parse().unwrap(), store.clone(), config)
            .await
            .expect("start server");
        TestServer {
            app: self.app.clone(),
            store,
            client: reqwest::Client::new(),
            running: Some(running),
            db: self.db.clone(),
        }
    }

    /// The URL of the scratch database.
    pub fn database_url(&self) -> &str {
        &self.db.url
    }

    /// Stops the server but leaves the store open, to look at what the server left behind.
    pub async fn stop_server(&mut self) {
        if let Some(r) = self.running.take() {
            r.stop().await.expect("clean shutdown");
        }
    }

    /// Starts a server again over the same store (after [`Self::stop_server`]): a restart.
    pub async fn restart_server(&mut self, config: Config) {
        assert!(self.running.is_none(), "stop the server first");
        let running = Running::start("127.0.0.1:0".parse().unwrap(), self.store.clone(), config)
            .await
            .expect("restart server");
        self.running = Some(running);
    }

    pub async fn stop(mut self) {
        if let Some(r) = self.running.take() {
            r.stop().await.expect("clean shutdown");
        }
        self.store.close().await;
    }

    pub fn site(&self) -> String {
        self.running.as_ref().unwrap().site_url()
    }

    /// `path` is relative to `/api`; `{app}` is replaced by the app ID.
    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.site(), path.replace("{app}", &self.app.app_id))
    }

    pub async fn raw(
        &self,
        method: Method,
        path: &str,
        token: Option<&str>,
        content_type: Option<&str>,
        body: Vec<u8>,
    ) -> Reply {
        let mut req = self
            .client
            .request(method, self.url(path))
            .header("x-kii-appid", &self.app.app_id)
            .header("x-kii-appkey", &self.app.app_key);
        if let Some(t) = token {
            req = req.header("authorization", format!("Bearer {t}"));
        }
        if let Some(ct) = content_type {
            req = req.header("content-type", ct);
        }
        let res = req.body(body).send().await.expect("request");
        let status = res.status();
        let headers = res.headers().clone();
        let bytes = res.bytes().await.expect("body");
        let body = if bytes.is_empty() {
            Value::Null
        } else {
            serde_json::from_slice(&bytes).unwrap_or_else(|_| {
                panic!(
                    "non-JSON body for {status}: {}",
                    String::from_utf8_lossy(&bytes)
                )
            })
        };
        Reply {
            status,
            headers,
            body,
        }
    }

    pub async fn call(
        &self,
        method: Method,
        path: &str,
        token: Option<&str>,
        body: Option<Value>,
    ) -> Reply {
        let bytes = body.map(|b| b.to_string().into_bytes()).unwrap_or_default();
        self.raw(method, path, token, Some("application/json"), bytes)
            .await
    }

    pub async fn get(&self, path: &str, token: Option<&str>) -> Reply {
        self.call(Method::GET, path, token, None).await
    }

    pub async fn delete(&self, path: &str, token: Option<&str>) -> Reply {
        self.call(Method::DELETE, path, token, None).await
    }

    pub async fn post(&self, path: &str, token: Option<&str>, body: Value) -> Reply {
        self.call(Method::POST, path, token, Some(body)).await
    }

    /// Registers `login` with `password` and logs in; returns (user ID, token).
    pub async fn user(&self, login: &str, password: &str) -> (String, String) {
        let r = self
            .post(
                "/apps/{app}/users",
                None,
                json!({"loginName": login, "password": password}),
            )
            .await;
        r.expect_status(201);
        let id = r.body["userID"].as_str().unwrap().to_owned();
        let token = self.login(login, password).await;
        (id, token)
    }

    pub async fn login(&self, username: &str, password: &str) -> String {
        let r = self
            .post(
                "/oauth2/token",
                None,
                json!({"username": username, "password": password}),
            )
            .await;
        r.expect_status(200);
        r.body["access_token"].as_str().unwrap().to_owned()
    }

    pub async fn admin(&self) -> String {
        let r = self
            .post(
                "/oauth2/token",
                None,
                json!({"client_id": self.app.client_id, "client_secret": self.app.client_secret}),
            )
            .await;
        r.expect_status(200);
        r.body["access_token"].as_str().unwrap().to_owned()
    }

    /// Deploys `source` with the `admin` token, makes it current, and returns its version ID.
    pub async fn deploy_current(&self, admin: &str, source: &str) -> String {
        let r = self
            .raw(
                reqwest::Method::POST,
                "/apps/{app}/server-code",
                Some(admin),
                Some("application/javascript"),
                source.as_bytes().to_vec(),
            )
            .await;
        r.expect_status(201);
        let version = r.body["versionID"].as_str().unwrap().to_owned();
        self.raw(
            reqwest::Method::PUT,
            "/apps/{app}/server-code/versions/current",
            Some(admin),
            Some("text/plain"),
            version.clone().into_bytes(),
        )
        .await
        .expect_status(204);
        version
    }
}

/// Generates `mod sqlite` and `mod postgres`, each with one `#[tokio::test]` per function,
/// which receives a started [`TestServer`] and must not stop it.
#[macro_export]
macro_rules! on_both_backends {
    ($($name:ident),* $(,)?) => {
        mod sqlite {
            $(#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $name() {
                let s = $crate::common::TestServer::start(kumo_storage::Dialect::Sqlite).await;
                super::$name(&s).await;
                s.stop().await;
            })*
        }
        mod postgres {
            $(#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $name() {
                let s = $crate::common::TestServer::start(kumo_storage::Dialect::Postgres).await;
                super::$name(&s).await;
                s.stop().await;
            })*
        }
    };
}
