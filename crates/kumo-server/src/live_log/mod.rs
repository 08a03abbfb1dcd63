//! The developer log, live: tails that follow an app's log as it is written, on every node
//! that shares the database. `sse.rs` serves them as Server-Sent Events
//! (`GET /apps/{app}/developer-log/stream`), `ws.rs` as Kii's WebSocket log protocol (`/logs`).
//!
//! A tail is a cursor over the log's `seq` (a record's `_id`) and nothing else: each step
//! reads the records after the cursor from the database (`Storage::dev_logs_after`, a few
//! chunks at a time) and moves it past them. Order and completeness come from the store,
//! which makes an app's appends visible in `seq` order (on PostgreSQL an append holds a
//! per-app advisory lock to its commit, so a chunk with a smaller id can never commit after a
//! tail has read a larger one); a tail therefore never sends a record twice or passes one by,
//! whichever node wrote it. Notifications only say *when* to read: every append announces its
//! app (`pg_notify` in its transaction, relayed by the store's one LISTEN connection, which
//! the cache invalidations share; in-process on SQLite), [`LiveLog`] wakes that app's tails,
//! and a lost or coalesced wake-up costs nothing but latency (a tail also reads again at
//! every keep-alive tick, and the store says `MaybeMissed` whenever its listener reconnects).
//!
//! Bounded: a tail holds one step's records at a time and reads the next only once the
//! client took the last (HTTP back-pressure, or a send deadline on the WebSocket), so a slow
//! reader costs a cursor, not a buffer. Tails are counted per app and in all; beyond either
//! cap a new one is refused with 503. A tail's count and wake-up channel are dropped with it,
//! the moment its client goes away. At shutdown every tail ends, so connections can drain.

pub mod sse;
pub mod ws;
mod ws_request;

use std::collections::HashMap;
use std::sync::{Arc, Mutex, Weak};
use std::time::Duration;

use kumo_storage::{DevLogFilter, DevLogNews, DevLogRecord, Storage};
use kumo_types::ErrorCode;
use tokio::sync::broadcast::error::RecvError;
use tokio::sync::{watch, OnceCell, OwnedSemaphorePermit, Semaphore};
use tokio::task::AbortHandle;

use crate::error::{Error, Result};

/// Limits of live tails (SSE streams and WebSocket tails together).
#[derive(Debug, Clone)]
pub struct LiveLogConfig {
    /// Open tails per app at most.
    pub per_app: usize,
    /// Open tails on this node at most.
    pub total: usize,
    /// How long a tail stays silent at most: then it sends a keep-alive (and reads again).
    pub keep_alive: Duration,
}

impl Default for LiveLogConfig {
    fn default() -> Self {
        LiveLogConfig {
            per_app: 8,
            total: 256,
            keep_alive: Duration::from_secs(15),
        }
    }
}

/// How long a tail waits before reading again after the database failed.
const RETRY_AFTER_FAILURE: Duration = Duration::from_secs(1);

/// This node's live tails: their counts, their wake-ups, and the end of all of them.
#[derive(Clone)]
pub struct LiveLog {
    inner: Arc<Inner>,
}

struct Inner {
    storage: Arc<dyn Storage>,
    config: LiveLogConfig,
    tails: Mutex<Tails>,
    /// `true` once the server shuts down.
    closing: watch::Sender<bool>,
    /// The task that turns the store's news into wake-ups, started by the first tail.
    relay: OnceCell<AbortHandle>,
    /// WebSocket connections still waiting for their request frame (at most `total`).
    waiting: Arc<Semaphore>,
}

#[derive(Default)]
struct Tails {
    by_app: HashMap<String, AppTails>,
    total: usize,
}

struct AppTails {
    /// Changed whenever the app's log may have grown.
    wake: watch::Sender<()>,
    open: usize,
}

impl LiveLog {
    pub fn new(storage: Arc<dyn Storage>, config: LiveLogConfig) -> Self {
        LiveLog {
            inner: Arc::new(Inner {
                storage,
                tails: Mutex::default(),
                closing: watch::channel(false).0,
                relay: OnceCell::new(),
                waiting: Arc::new(Semaphore::new(config.total)),
                config,
            }),
        }
    }

    /// Ends every tail (now and to come): the server is shutting down.
    pub fn close(&self) {
        self.inner.closing.send_replace(true);
        if let Some(relay) = self.inner.relay.get() {
            relay.abort();
        }
    }

    /// Open tails: `(of this app, in all)`.
    pub fn open_tails(&self, app_id: &str) -> (usize, usize) {
        let tails = self.inner.lock();
        let of_app = tails.by_app.get(app_id).map_or(0, |t| t.open);
        (of_app, tails.total)
    }

    /// A place for a WebSocket connection until its request arrived; `None` when the node
    /// has as many waiting as it may have tails.
    pub fn waiting_for_request(&self) -> Option<OwnedSemaphorePermit> {
        self.inner.waiting.clone().try_acquire_owned().ok()
    }

    pub fn config(&self) -> &LiveLogConfig {
        &self.inner.config
    }

    /// A tail of `app_id`'s records that pass `filter`, after `after` (a record's `seq`), or
    /// from now on. 503 beyond the caps or once the server shuts down.
    pub async fn tail(
        &self,
        app_id: &str,
        filter: DevLogFilter,
        after: Option<i64>,
    ) -> Result<Tail> {
        self.start_relay().await;
        // Counted and subscribed before the end is read, so nothing written meanwhile is lost.
        let slot = self.take_slot(app_id)?;
        let cursor = match after {
            Some(after) => after,
            None => self.inner.storage.dev_log_end(app_id).await?,
        };
        Ok(Tail {
            storage: self.inner.storage.clone(),
            keep_alive: self.inner.config.keep_alive,
            closing: self.inner.closing.subscribe(),
            slot,
            filter,
            cursor,
        })
    }

    fn take_slot(&self, app_id: &str) -> Result<Slot> {
        if *self.inner.closing.borrow() {
            return Err(unavailable("The server is shutting down"));
        }
        let mut tails = self.inner.lock();
        let config = &self.inner.config;
        if tails.total >= config.total {
            return Err(unavailable(
                "Too many developer-log streams are open on this server; retry later",
            ));
        }
        let open = tails.by_app.get(app_id).map_or(0, |t| t.open);
        if open >= config.per_app {
            return Err(unavailable(
                "Too many developer-log streams are open for this app; retry later",
            ));
        }
        tails.total += 1;
        let entry = tails
            .by_app
            .entry(app_id.to_owned())
            .or_insert_with(|| AppTails {
                wake: watch::channel(()).0,
                open: 0,
            });
        entry.open += 1;
        let wake = entry.wake.subscribe();
        Ok(Slot {
            inner: Arc::downgrade(&self.inner),
            app_id: app_id.to_owned(),
            wake,
        })
    }

    async fn start_relay(&self) {
        let inner = &self.inner;
        inner
            .relay
            .get_or_init(|| async {
                let news = inner.storage.subscribe_dev_log().await;
                tokio::spawn(relay(news, Arc::downgrade(inner))).abort_handle()
            })
            .await;
    }
}

impl Inner {
    fn lock(&self) -> std::sync::MutexGuard<'_, Tails> {
        self.tails.lock().unwrap_or_else(|e| e.into_inner())
    }
}

fn unavailable(message: &str) -> Error {
    Error::new(ErrorCode::TemporarilyUnavailable, message)
}

/// Wakes the tails of every app whose log grew, until the store's news end or the log goes.
async fn relay(mut news: tokio::sync::broadcast::Receiver<DevLogNews>, inner: Weak<Inner>) {
    loop {
        let app = match news.recv().await {
            Ok(DevLogNews::Appended { app_id, .. }) => Some(app_id),
            Ok(DevLogNews::MaybeMissed) | Err(RecvError::Lagged(_)) => None,
            Err(RecvError::Closed) => return,
        };
        let Some(inner) = inner.upgrade() else {
            return;
        };
        let tails = inner.lock();
        match app {
            Some(app) => {
                if let Some(t) = tails.by_app.get(&app) {
                    t.wake.send_replace(());
                }
            }
            None => tails.by_app.values().for_each(|t| {
                t.wake.send_replace(());
            }),
        }
    }
}

/// A tail's place in the counts, given back when the tail is dropped.
struct Slot {
    inner: Weak<Inner>,
    app_id: String,
    wake: watch::Receiver<()>,
}

impl Drop for Slot {
    fn drop(&mut self) {
        let Some(inner) = self.inner.upgrade() else {
            return;
        };
        let mut tails = inner.lock();
        tails.total -= 1;
        if let Some(t) = tails.by_app.get_mut(&self.app_id) {
            t.open -= 1;
            if t.open == 0 {
                tails.by_app.remove(&self.app_id);
            }
        }
    }
}

/// What a tail's next step brought.
pub enum Step {
    /// New records, oldest first (never empty).
    Records(Vec<DevLogRecord>),
    /// Nothing new for a keep-alive interval.
    Idle,
    /// The server is shutting down: the tail is over.
    Closed,
}

/// One client's follower of an app's log.
pub struct Tail {
    storage: Arc<dyn Storage>,
    keep_alive: Duration,
    closing: watch::Receiver<bool>,
    slot: Slot,
    filter: DevLogFilter,
    cursor: i64,
}

impl Tail {
    /// The `seq` after which this tail's next records come.
    pub fn cursor(&self) -> i64 {
        self.cursor
    }

    pub fn app_id(&self) -> &str {
        &self.slot.app_id
    }

    /// Waits for the next records, at most a keep-alive interval.
    pub async fn next(&mut self) -> Step {
        let idle = tokio::time::sleep(self.keep_alive);
        tokio::pin!(idle);
        loop {
            if *self.closing.borrow() {
                return Step::Closed;
            }
            // Marked seen before reading: a wake-up during the read means read again.
            self.slot.wake.borrow_and_update();
            let read = self
                .storage
                .dev_logs_after(&self.slot.app_id, self.cursor, &self.filter)
                .await;
            let failed = match read {
                Ok(page) => {
                    self.cursor = page.cursor;
                    if !page.records.is_empty() {
                        return Step::Records(page.records);
                    }
                    if page.more {
                        continue;
                    }
                    false
                }
                Err(e) => {
                    tracing::warn!(app = %self.slot.app_id, error = %e, "developer-log tail read failed; retrying");
                    true
                }
            };
            tokio::select! {
                woke = self.slot.wake.changed() => {
                    if woke.is_err() {
                        // The live log itself is gone.
                        return Step::Closed;
                    }
                }
                _ = &mut idle => return Step::Idle,
                _ = self.closing.wait_for(|closing| *closing) => return Step::Closed,
                _ = tokio::time::sleep(RETRY_AFTER_FAILURE), if failed => {}
            }
        }
    }
}
