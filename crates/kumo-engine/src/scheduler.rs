//! The engine's scheduler: a bounded queue of runs, and a few more running JavaScript threads
//! than there are cores.
//!
//! Engine threads are many, because runs block in host calls (a database write, an outbound
//! request), but only a few take a run from the queue at once: more would just make the
//! operating system switch between them. That limit is one more than the cores, because the
//! cores are shared with the threads serving HTTP: a run whose thread the system set aside
//! for them would otherwise hold up the whole queue. A run stops counting while it waits in a
//! host call, so another thread can start the next run. A run that keeps the CPU longer than a
//! slice (a loop, a heavy computation) stops counting too and drops its thread to the lowest
//! priority, so the runs behind it start at once and get the CPU first; that thread retires
//! when its run ends and a fresh one takes its place.
//!
//! Engine threads are batch threads to the system (Linux): waking one never preempts the
//! thread that reads requests and writes responses. Under load that keeps responses flowing
//! while JavaScript takes the rest of the CPU; without it a run woken at the wrong moment
//! delayed the responses queued behind it by a scheduling slice (p99 of a trivial endpoint
//! 6-7 ms instead of 3.5-4).

use std::cell::Cell;
use std::collections::VecDeque;
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::time::Duration;

/// How long a run may use the CPU before it yields its place to the runs queued behind it.
pub(crate) const SLICE: Duration = Duration::from_millis(20);

pub(crate) type Job = Box<dyn FnOnce() + Send>;

/// The queue is full: the caller should answer 503 with `Retry-After`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Busy;

pub(crate) struct Scheduler {
    state: Mutex<State>,
    work: Condvar,
    capacity: usize,
    /// Runs that may execute JavaScript at once.
    slots: usize,
}

struct State {
    jobs: VecDeque<Job>,
    /// Runs that count against the slots: executing JavaScript, not waiting, not demoted.
    running: usize,
    closed: bool,
}

thread_local! {
    /// Whether this thread's run was demoted (it then retires after the run).
    static DEMOTED: Cell<bool> = const { Cell::new(false) };
}

impl Scheduler {
    pub(crate) fn new(capacity: usize, slots: usize) -> Self {
        Scheduler {
            state: Mutex::new(State {
                jobs: VecDeque::new(),
                running: 0,
                closed: false,
            }),
            work: Condvar::new(),
            capacity: capacity.max(1),
            slots: slots.max(1),
        }
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    pub(crate) fn try_push(&self, job: Job) -> Result<(), Busy> {
        let mut state = self.lock();
        if state.closed || state.jobs.len() >= self.capacity {
            return Err(Busy);
        }
        state.jobs.push_back(job);
        let startable = state.running < self.slots;
        drop(state);
        if startable {
            self.work.notify_one();
        }
        Ok(())
    }

    /// The next run for this thread, once a slot is free; `None` when the engine is gone.
    /// A thread that just finished a run keeps its slot for the next queued one, so a busy
    /// engine wakes no other thread.
    fn next(&self, finished_one: bool) -> Option<Job> {
        let mut state = self.lock();
        if finished_one {
            if let Some(job) = state.jobs.pop_front() {
                return Some(job);
            }
            state.running -= 1;
        }
        loop {
            if state.closed {
                return None;
            }
            if state.running < self.slots {
                if let Some(job) = state.jobs.pop_front() {
                    state.running += 1;
                    return Some(job);
                }
            }
            state = self.work.wait(state).unwrap_or_else(|e| e.into_inner());
        }
    }

    /// This thread's run no longer counts against the slots (it ended, waits, or was demoted).
    fn release(&self) {
        let mut state = self.lock();
        state.running -= 1;
        let waiting = !state.jobs.is_empty();
        drop(state);
        if waiting {
            self.work.notify_one();
        }
    }

    fn reacquire(&self) {
        self.lock().running += 1;
    }

    /// Runs `f` (a blocking host call) without holding a core.
    pub(crate) fn outside<T>(&self, f: impl FnOnce() -> T) -> T {
        if DEMOTED.with(Cell::get) {
            return f();
        }
        self.release();
        let result = f();
        self.reacquire();
        result
    }

    /// Called from the interrupt handler once a run has used up its slice.
    pub(crate) fn demote(&self) {
        if DEMOTED.with(Cell::get) || self.lock().jobs.is_empty() {
            return;
        }
        DEMOTED.with(|d| d.set(true));
        lower_thread_priority();
        self.release();
    }

    pub(crate) fn close(&self) {
        self.lock().closed = true;
        self.work.notify_all();
    }
}

/// An engine thread: runs jobs until the engine closes, or until a demoted run retires it (a
/// thread's priority cannot be raised again without privileges), leaving a fresh thread behind.
pub(crate) fn worker(scheduler: Arc<Scheduler>) {
    let mut finished_one = false;
    while let Some(job) = scheduler.next(finished_one) {
        // A panic in one run must not take the thread with it.
        let _ = std::panic::catch_unwind(std::panic::AssertUnwindSafe(job));
        if DEMOTED.with(Cell::get) {
            let _ = spawn_worker(scheduler);
            return;
        }
        finished_one = true;
    }
}

pub(crate) fn spawn_worker(scheduler: Arc<Scheduler>) -> std::io::Result<()> {
    static NEXT: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
    let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    std::thread::Builder::new()
        .name(format!("kumo-js-{n}"))
        // QuickJS stops at its own stack limit long before this one.
        .stack_size(8 << 20)
        .spawn(move || {
            run_as_batch_thread();
            worker(scheduler)
        })
        .map(|_| ())
}

#[cfg(target_os = "linux")]
fn lower_thread_priority() {
    // SAFETY: plain syscalls on the calling thread; failure only leaves the priority as it was.
    unsafe {
        let tid = libc::syscall(libc::SYS_gettid) as libc::id_t;
        libc::setpriority(libc::PRIO_PROCESS, tid, 19);
    }
}

#[cfg(not(target_os = "linux"))]
fn lower_thread_priority() {}

#[cfg(target_os = "linux")]
fn run_as_batch_thread() {
    let param = libc::sched_param { sched_priority: 0 };
    // SAFETY: a plain syscall on the calling thread (pid 0); failure leaves the policy as it was.
    unsafe {
        libc::sched_setscheduler(0, libc::SCHED_BATCH, &param);
    }
}

#[cfg(not(target_os = "linux"))]
fn run_as_batch_thread() {}

#[cfg(all(test, target_os = "linux"))]
mod tests {
    use super::*;

    #[test]
    fn runs_execute_on_batch_threads() {
        let scheduler = Arc::new(Scheduler::new(4, 2));
        spawn_worker(scheduler.clone()).unwrap();
        let (tx, rx) = std::sync::mpsc::channel();
        let job: Job = Box::new(move || {
            // SAFETY: reads the calling thread's policy.
            let _ = tx.send(unsafe { libc::sched_getscheduler(0) });
        });
        scheduler.try_push(job).unwrap();
        let policy = rx.recv_timeout(Duration::from_secs(10)).unwrap();
        scheduler.close();
        assert_eq!(policy, libc::SCHED_BATCH);
    }
}
