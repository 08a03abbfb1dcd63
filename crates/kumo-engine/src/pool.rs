//! The threads that run JavaScript, and the bounded queue in front of them.
//!
//! JavaScript never runs on the HTTP reactor. Host calls block the engine thread that makes them
//! (a database write, an outbound request), so there are more engine threads than cores; a run
//! that spins is preempted by the operating system like any other thread and stopped by its
//! deadline.

use std::collections::HashMap;
use std::sync::mpsc::{sync_channel, Receiver, SyncSender, TrySendError};
use std::sync::{Arc, Mutex};

use crate::{sandbox, CompileError, Invocation, Outcome, Program};

#[derive(Debug, Clone)]
pub struct EngineConfig {
    /// Threads running JavaScript at the same time.
    pub workers: usize,
    /// Runs waiting for a thread; beyond this, [`Engine::invoke`] answers [`Busy`].
    pub queue: usize,
}

impl Default for EngineConfig {
    fn default() -> Self {
        let cores = std::thread::available_parallelism().map_or(2, |n| n.get());
        EngineConfig {
            workers: (cores * 8).clamp(8, 64),
            queue: 256,
        }
    }
}

/// The queue is full: the caller should answer 503 with `Retry-After`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Busy;

type Job = Box<dyn FnOnce() + Send>;

/// Compiled programs by source hash, so a version compiled at deploy is never compiled again.
const CACHE_CAPACITY: usize = 512;

pub struct Engine {
    sender: SyncSender<Job>,
    programs: Mutex<HashMap<[u8; 32], Arc<Program>>>,
}

impl Engine {
    pub fn start(config: EngineConfig) -> std::io::Result<Engine> {
        sandbox::warm_up().map_err(std::io::Error::other)?;
        let (sender, receiver) = sync_channel::<Job>(config.queue.max(1));
        let receiver = Arc::new(Mutex::new(receiver));
        for i in 0..config.workers.max(1) {
            let receiver = receiver.clone();
            std::thread::Builder::new()
                .name(format!("kumo-js-{i}"))
                // QuickJS stops at its own stack limit long before this one.
                .stack_size(8 << 20)
                .spawn(move || worker(receiver))?;
        }
        Ok(Engine {
            sender,
            programs: Mutex::new(HashMap::new()),
        })
    }

    /// Queues a run; the future resolves as soon as its outcome is known.
    pub fn invoke(
        &self,
        invocation: Invocation,
    ) -> Result<impl std::future::Future<Output = Outcome> + Send + 'static, Busy> {
        let (tx, rx) = tokio::sync::oneshot::channel();
        let job: Job = Box::new(move || {
            sandbox::run(invocation, move |outcome| {
                let _ = tx.send(outcome);
            })
        });
        match self.sender.try_send(job) {
            Ok(()) => Ok(async move {
                rx.await.unwrap_or_else(|_| Outcome {
                    result: Err(crate::Failure {
                        kind: crate::FailureKind::Exception,
                        message: "engine error: the run ended without an outcome".into(),
                    }),
                    steps: 0,
                })
            }),
            Err(TrySendError::Full(_)) | Err(TrySendError::Disconnected(_)) => Err(Busy),
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

fn worker(receiver: Arc<Mutex<Receiver<Job>>>) {
    loop {
        let job = {
            let receiver = receiver.lock().unwrap_or_else(|e| e.into_inner());
            receiver.recv()
        };
        match job {
            Ok(job) => {
                // A panic in one run must not take the thread (and its queue slot) with it.
                let _ = std::panic::catch_unwind(std::panic::AssertUnwindSafe(job));
            }
            Err(_) => return,
        }
    }
}
