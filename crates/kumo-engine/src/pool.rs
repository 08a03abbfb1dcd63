//! The threads that run JavaScript, and the bounded queue in front of them.
//!
//! JavaScript never runs on the HTTP reactor. Host calls block the engine thread that makes them
//! (a database write, an outbound request), so there are more engine threads than cores; a run
//! that spins is preempted by the operating system like any other thread and stopped by its
//! deadline.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Instant;

pub use crate::scheduler::Busy;
use crate::scheduler::{Job, Load, Scheduler, Task};
use crate::{
    sandbox, CompileError, Host, HostRequest, HostResponse, Invocation, LogLine, Outcome, Program,
};

#[derive(Debug, Clone)]
pub struct EngineConfig {
    /// Engine threads kept while idle. While runs wait in host calls or spin, the engine
    /// lends more, up to four times as many.
    pub workers: usize,
    /// Runs waiting for a thread; beyond this, [`Engine::invoke`] answers [`Busy`].
    pub queue: usize,
    /// Threads one app's runs may hold at once (0: as many as `workers`); its further runs
    /// wait in the queue while other apps' runs go ahead of them.
    pub app_share: usize,
}

impl Default for EngineConfig {
    fn default() -> Self {
        let cores = std::thread::available_parallelism().map_or(2, |n| n.get());
        EngineConfig {
            workers: (cores * 8).clamp(8, 64),
            queue: 256,
            app_share: 0,
        }
    }
}

/// Threads the engine may have, lent ones included, as a multiple of `workers`.
const LENT_THREADS_FACTOR: usize = 4;

/// Compiled programs by source hash, so a version compiled at deploy is never compiled again.
const CACHE_CAPACITY: usize = 512;

pub struct Engine {
    scheduler: Arc<Scheduler>,
    /// Runs queued or running, until their host has been told they finished.
    active: Arc<std::sync::atomic::AtomicUsize>,
    programs: Mutex<HashMap<[u8; 32], Arc<Program>>>,
}

impl Drop for Engine {
    fn drop(&mut self) {
        // Idle threads exit; a thread in a run finishes it first.
        self.scheduler.close();
    }
}

impl Engine {
    pub fn start(config: EngineConfig) -> std::io::Result<Engine> {
        // The SDK is compiled now rather than in the first run that needs it.
        crate::sdk::warm_up().map_err(std::io::Error::other)?;
        crate::node::warm_up().map_err(std::io::Error::other)?;
        let cores = std::thread::available_parallelism().map_or(2, |n| n.get());
        let workers = config.workers.max(1);
        let app_share = match config.app_share {
            0 => workers,
            share => share,
        };
        let scheduler = Arc::new(Scheduler::new(
            config.queue,
            cores + 1,
            workers,
            workers.saturating_mul(LENT_THREADS_FACTOR),
            app_share,
        ));
        scheduler.start_threads()?;
        Ok(Engine {
            scheduler,
            active: Arc::new(std::sync::atomic::AtomicUsize::new(0)),
            programs: Mutex::new(HashMap::new()),
        })
    }

    /// Queues a run; the future resolves as soon as its outcome is known.
    pub fn invoke(
        &self,
        invocation: Invocation,
    ) -> Result<impl std::future::Future<Output = Outcome> + Send + 'static, Busy> {
        use std::sync::atomic::Ordering;
        let (tx, rx) = tokio::sync::oneshot::channel();
        let scheduler = self.scheduler.clone();
        // The time limit counts from now: a run that waited in the queue has less left.
        let deadline = Instant::now() + invocation.limits.timeout;
        self.active.fetch_add(1, Ordering::SeqCst);
        let job: Job = Box::new(Run {
            invocation,
            deadline,
            scheduler,
            respond: tx,
            _on_end: Active(self.active.clone()),
        });
        match self.scheduler.try_push(job) {
            Ok(()) => Ok(async move {
                rx.await.unwrap_or_else(|_| Outcome {
                    result: Err(crate::Failure::new(
                        crate::FailureKind::Exception,
                        "engine error: the run ended without an outcome",
                    )),
                    steps: 0,
                })
            }),
            Err(Busy) => Err(Busy),
        }
    }

    /// The compiled program for `source`, compiling it on first sight.
    pub fn program(&self, source: &str) -> Result<Arc<Program>, CompileError> {
        use sha2::{Digest, Sha256};
        let hash: [u8; 32] = Sha256::digest(source.as_bytes()).into();
        if let Some(program) = self.lock_programs().get(&hash) {
            return Ok(program.clone());
        }
        let program = Arc::new(crate::compile(source)?);
        let mut programs = self.lock_programs();
        if programs.len() >= CACHE_CAPACITY {
            programs.clear();
        }
        programs.insert(hash, program.clone());
        Ok(program)
    }

    fn lock_programs(&self) -> std::sync::MutexGuard<'_, HashMap<[u8; 32], Arc<Program>>> {
        self.programs.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// Runs that have not finished yet (queued, running, or still running callbacks after their
/// answer went out). A server waits for this to reach zero before it closes its database.
impl Engine {
    pub fn active_runs(&self) -> usize {
        self.active.load(std::sync::atomic::Ordering::SeqCst)
    }

    /// How busy the engine's threads are, for `/health`.
    pub fn load(&self) -> Load {
        self.scheduler.load()
    }
}

/// A queued run. Its `Active` is dropped with it: after the run, or at once if the queue
/// refuses it.
struct Run {
    invocation: Invocation,
    deadline: Instant,
    scheduler: Arc<Scheduler>,
    respond: tokio::sync::oneshot::Sender<Outcome>,
    _on_end: Active,
}

impl Task for Run {
    fn app(&self) -> &str {
        &self.invocation.env.app_id
    }

    fn run(self: Box<Self>) {
        let Run {
            mut invocation,
            deadline,
            scheduler,
            respond,
            _on_end,
        } = *self;
        if Instant::now() >= deadline {
            let _ = respond.send(timed_out_in_queue(&invocation));
            invocation.host.finished(Vec::new());
            return;
        }
        invocation.host = Arc::new(Scheduled {
            inner: invocation.host,
            scheduler: scheduler.clone(),
        });
        sandbox::run(invocation, &scheduler, deadline, move |outcome| {
            let _ = respond.send(outcome);
        })
    }
}

/// The outcome of a run whose whole time limit went by while it waited for a thread.
fn timed_out_in_queue(invocation: &Invocation) -> Outcome {
    Outcome {
        result: Err(crate::Failure::new(
            crate::FailureKind::Timeout,
            format!(
                "execution timeout. limit={}ms",
                invocation.limits.timeout.as_millis()
            ),
        )),
        steps: 0,
    }
}

/// Counts a run as ended when dropped (after the run, or with a job that was never queued).
struct Active(Arc<std::sync::atomic::AtomicUsize>);

impl Drop for Active {
    fn drop(&mut self) {
        self.0.fetch_sub(1, std::sync::atomic::Ordering::SeqCst);
    }
}

/// A host whose calls do not hold a core while they wait.
struct Scheduled {
    inner: Arc<dyn Host>,
    scheduler: Arc<Scheduler>,
}

impl Host for Scheduled {
    fn kii(&self, request: HostRequest, deadline: Instant) -> HostResponse {
        self.scheduler.outside(|| self.inner.kii(request, deadline))
    }
    fn fetch(
        &self,
        url: &str,
        request: HostRequest,
        deadline: Instant,
    ) -> Result<HostResponse, String> {
        self.scheduler
            .outside(|| self.inner.fetch(url, request, deadline))
    }
    fn admin_token(&self, deadline: Instant) -> Result<String, String> {
        self.scheduler.outside(|| self.inner.admin_token(deadline))
    }
    fn answering(&self, logs: Vec<LogLine>) {
        self.inner.answering(logs)
    }
    fn finished(&self, logs: Vec<LogLine>) {
        self.inner.finished(logs)
    }
}
