//! Server hooks: a version's hook config, trigger-based runs fed by the change events, and
//! schedule-based runs with their execution history.
//!
//! Every node runs the same loops over the same database; the database decides who runs
//! what. A trigger cursor (one per app) is leased by one node at a time and moves only after
//! the runs of the events it passes ended (a failed one is kept for another attempt first), so
//! every event is delivered at least once whatever node dies when. A schedule firing is
//! inserted once per (version, job, cron time), so exactly one node runs it, under a lease its
//! node renews; a firing whose node died is recorded FAILED when the lease runs out.

pub mod config;
mod events;
pub(crate) mod history;
mod live;
mod outcome;
mod retention;
mod runner;
mod scheduler;
mod triggers;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::Semaphore;
use tokio::task::JoinHandle;

use crate::servercode::ServerCode;
use crate::service::Service;

pub use scheduler::run_job_now;

/// How hooks run; the CLI fills it from `--hook-*` flags.
#[derive(Debug, Clone)]
pub struct HooksConfig {
    /// Trigger runs (and, separately, schedule runs) one node has on the engine at once: hook
    /// work never fills the engine's queue, so manual calls keep their room.
    pub concurrency: usize,
    /// Attempts of a trigger run before it is given up (the first included).
    pub max_attempts: i64,
    /// Wait before the second attempt; doubled for each further one.
    pub retry_backoff: Duration,
    /// A node that starts runs a job's latest firing if it fell due this recently and no node
    /// recorded it (older missed firings are skipped, never run in a burst).
    pub misfire_grace: Duration,
    /// How often a node looks for new change events when it is not woken.
    pub poll: Duration,
    /// How long a claimed firing or trigger cursor stays with a node that stops renewing it.
    pub lease: Duration,
    /// Finished executions older than this leave the history.
    pub history_max_age: Duration,
    /// Most executions an app's history keeps (the newest by start); running ones always stay.
    pub history_max_per_app: i64,
    /// How often the history is trimmed (and once when a node starts).
    pub history_trim_every: Duration,
    /// Change events older than this are deleted once delivered (or when no trigger cursor
    /// will ever read them); undelivered ones stay whatever their age.
    pub events_max_age: Duration,
}

impl Default for HooksConfig {
    fn default() -> Self {
        HooksConfig {
            concurrency: 8,
            max_attempts: 5,
            retry_backoff: Duration::from_secs(1),
            misfire_grace: Duration::from_secs(60),
            poll: Duration::from_millis(100),
            lease: Duration::from_secs(10),
            history_max_age: Duration::from_secs(30 * 24 * 3600),
            history_max_per_app: 10_000,
            history_trim_every: Duration::from_secs(60),
            events_max_age: Duration::from_secs(24 * 3600),
        }
    }
}

/// What the hook loops share.
pub(crate) struct Shared {
    pub service: Service,
    pub server_code: Arc<ServerCode>,
    pub config: HooksConfig,
    /// This node's name in leases (random per process).
    pub node: String,
    pub live: live::Live,
    pub trigger_slots: Arc<Semaphore>,
    pub schedule_slots: Arc<Semaphore>,
    pub stopping: AtomicBool,
}

/// The running hook loops of this node.
pub struct Hooks {
    shared: Arc<Shared>,
    tasks: Vec<JoinHandle<()>>,
}

impl Hooks {
    pub fn start(service: Service, server_code: Arc<ServerCode>) -> Hooks {
        let config = server_code.hooks_config().clone();
        let concurrency = config.concurrency.max(1);
        let shared = Arc::new(Shared {
            service,
            node: server_code.node().to_owned(),
            server_code,
            live: live::Live::default(),
            trigger_slots: Arc::new(Semaphore::new(concurrency)),
            schedule_slots: Arc::new(Semaphore::new(concurrency)),
            stopping: AtomicBool::new(false),
            config,
        });
        let tasks = vec![
            tokio::spawn(triggers::dispatch_loop(shared.clone())),
            tokio::spawn(triggers::retry_loop(shared.clone())),
            tokio::spawn(scheduler::schedule_loop(shared.clone())),
            tokio::spawn(scheduler::lease_loop(shared.clone())),
            tokio::spawn(retention::retention_loop(shared.clone())),
        ];
        Hooks { shared, tasks }
    }

    /// Stops the loops and gives up this node's trigger cursors at once (so another node takes
    /// over without waiting for the lease). Runs in flight are cut off with the tasks: their
    /// events are delivered again by whoever takes the cursor, and their firings are recorded
    /// FAILED when their lease runs out.
    pub async fn stop(self) {
        self.shared.stopping.store(true, Ordering::SeqCst);
        for task in &self.tasks {
            task.abort();
        }
        let storage = &self.shared.service.storage;
        if let Err(e) = storage.release_hook_cursors(&self.shared.node).await {
            tracing::warn!(error = %e, "could not release the trigger cursors");
        }
    }
}
