//! The engine's scheduler: a bounded queue of runs, a few more running JavaScript threads
//! than there are cores, a per-app share of the engine's threads, and threads lent while runs
//! are parked.
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
//! A run that stops counting still holds its thread. So that parked and spinning runs cannot
//! take the threads other runs need, one app holds at most `app_share` threads (its further
//! runs wait in the queue, which other apps' runs pass, and fill at most three quarters of
//! it), and when a run is waiting with no idle
//! thread the scheduler lends a new one, up to `max_threads`; a lent thread retires once it
//! has found nothing to do for a while.
//!
//! Engine threads are batch threads to the system (Linux): waking one never preempts the
//! thread that reads requests and writes responses. Under load that keeps responses flowing
//! while JavaScript takes the rest of the CPU; without it a run woken at the wrong moment
//! delayed the responses queued behind it by a scheduling slice (p99 of a trivial endpoint
//! 6-7 ms instead of 3.5-4).

use std::cell::Cell;
use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::time::Duration;

/// How long a run may use the CPU before it yields its place to the runs queued behind it.
pub(crate) const SLICE: Duration = Duration::from_millis(20);

/// A queued run.
pub(crate) trait Task: Send {
    /// The app whose share of the threads the run takes.
    fn app(&self) -> &str;
    fn run(self: Box<Self>);
}

pub(crate) type Job = Box<dyn Task>;

/// How long a lent thread waits for another run before it retires.
const LENT_IDLE: Duration = Duration::from_secs(2);

/// The queue is full: the caller should answer 503 with `Retry-After`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Busy;

/// A snapshot of the engine's threads, for `/health`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Load {
    /// Engine threads alive, lent ones included.
    pub threads: usize,
    /// Threads waiting for a run.
    pub idle: usize,
    /// Most threads the engine may have.
    pub max_threads: usize,
    /// Runs waiting for a thread.
    pub queued: usize,
}

impl Load {
    /// Every thread holds a run: a new run needs a lent thread or waits.
    pub fn saturated(&self) -> bool {
        self.idle == 0
    }

    /// No thread can take a new run, and none may be lent: runs wait until one ends.
    pub fn stalled(&self) -> bool {
        self.idle == 0 && self.threads >= self.max_threads
    }
}

pub(crate) struct Scheduler {
    state: Mutex<State>,
    work: Condvar,
    capacity: usize,
    /// Runs that may execute JavaScript at once.
    slots: usize,
    /// Threads kept while idle.
    base_threads: usize,
    /// Threads alive at most, lent ones included.
    max_threads: usize,
    /// Threads one app's runs may hold at once.
    app_share: usize,
    /// Runs of one app that may wait in the queue: the rest of it stays for other apps.
    app_queue: usize,
}

struct Queued {
    app: usize,
    job: Job,
}

struct State {
    jobs: VecDeque<Queued>,
    /// Runs that count against the slots: executing JavaScript, not waiting, not demoted.
    running: usize,
    threads: usize,
    /// Threads free to take a run: waiting in `next`, or spawned and not started yet.
    idle: usize,
    closed: bool,
    apps: Apps,
}

/// Threads held per app. Apps are numbered on first sight and never forgotten, so a run costs
/// no allocation once its app has been seen.
#[derive(Default)]
struct Apps {
    numbers: HashMap<String, usize>,
    holding: Vec<usize>,
    queued: Vec<usize>,
}

impl Apps {
    fn number(&mut self, app: &str) -> usize {
        if let Some(&n) = self.numbers.get(app) {
            return n;
        }
        let n = self.holding.len();
        self.holding.push(0);
        self.queued.push(0);
        self.numbers.insert(app.to_owned(), n);
        n
    }
}

thread_local! {
    /// Whether this thread's run was demoted (it then retires after the run).
    static DEMOTED: Cell<bool> = const { Cell::new(false) };
}

/// Where a worker comes from when it asks for its next run.
#[derive(Clone, Copy)]
enum Arrival {
    /// A new thread, already counted as idle.
    Start,
    /// It just finished a run of this app (and still holds a slot).
    Finished(usize),
}

/// Takes one from a count that must not be zero; a zero means a bookkeeping bug, which is logged
/// rather than wrapped around (a wrapped count would stop every run for good).
fn take_one(count: &mut usize, what: &str) {
    match count.checked_sub(1) {
        Some(n) => *count = n,
        None => tracing::error!("engine scheduler: {what} count would go below zero"),
    }
}

impl Scheduler {
    pub(crate) fn new(
        capacity: usize,
        slots: usize,
        threads: usize,
        max_threads: usize,
        app_share: usize,
    ) -> Self {
        let base_threads = threads.max(1);
        Scheduler {
            state: Mutex::new(State {
                jobs: VecDeque::new(),
                running: 0,
                threads: 0,
                idle: 0,
                closed: false,
                apps: Apps::default(),
            }),
            work: Condvar::new(),
            capacity: capacity.max(1),
            slots: slots.max(1),
            base_threads,
            max_threads: max_threads.max(base_threads),
            app_share: app_share.max(1),
            app_queue: (capacity - capacity / 4).max(1),
        }
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Starts the threads kept while idle.
    pub(crate) fn start_threads(self: &Arc<Self>) -> std::io::Result<()> {
        for _ in 0..self.base_threads {
            self.lock().count_new_thread();
            if let Err(e) = spawn_worker(self.clone()) {
                self.lock().uncount_new_thread();
                return Err(e);
            }
        }
        Ok(())
    }

    pub(crate) fn load(&self) -> Load {
        let state = self.lock();
        Load {
            threads: state.threads,
            idle: state.idle,
            max_threads: self.max_threads,
            queued: state.jobs.len(),
        }
    }

    pub(crate) fn try_push(self: &Arc<Self>, job: Job) -> Result<(), Busy> {
        let mut state = self.lock();
        if state.closed || state.jobs.len() >= self.capacity {
            return Err(Busy);
        }
        let app = state.apps.number(job.app());
        if state.apps.queued[app] >= self.app_queue {
            return Err(Busy);
        }
        state.apps.queued[app] += 1;
        let startable = state.running < self.slots && state.apps.holding[app] < self.app_share;
        state.jobs.push_back(Queued { app, job });
        self.wake_or_lend(state, startable);
        Ok(())
    }

    /// Wakes an idle thread for a startable run, or lends a new thread when none is idle.
    fn wake_or_lend(self: &Arc<Self>, mut state: MutexGuard<'_, State>, startable: bool) {
        if !startable {
            return;
        }
        if state.idle > 0 {
            drop(state);
            self.work.notify_one();
            return;
        }
        if state.closed || state.threads >= self.max_threads {
            return;
        }
        state.count_new_thread();
        drop(state);
        self.spawn_lent();
    }

    fn spawn_lent(self: &Arc<Self>) {
        if let Err(e) = spawn_worker(self.clone()) {
            tracing::error!(error = %e, "engine scheduler: could not start an engine thread");
            self.lock().uncount_new_thread();
        }
    }

    /// The next run for this thread, once a slot is free; `None` when the engine is gone or
    /// this lent thread is no longer needed. A thread that just finished a run keeps its slot
    /// for the next queued one, so a busy engine wakes no other thread.
    fn next(&self, from: Arrival) -> Option<(usize, Job)> {
        let mut state = self.lock();
        match from {
            Arrival::Finished(app) => {
                take_one(&mut state.apps.holding[app], "app thread");
                if let Some(found) = self.pop_next(&mut state) {
                    return Some(found);
                }
                take_one(&mut state.running, "running");
            }
            Arrival::Start => take_one(&mut state.idle, "idle"),
        }
        let mut idle_expired = false;
        loop {
            if state.closed {
                take_one(&mut state.threads, "thread");
                return None;
            }
            if state.running < self.slots {
                if let Some(found) = self.pop_next(&mut state) {
                    state.running += 1;
                    return Some(found);
                }
            }
            let lent = state.threads > self.base_threads;
            if lent && idle_expired && state.jobs.is_empty() {
                take_one(&mut state.threads, "thread");
                return None;
            }
            state.idle += 1;
            if lent {
                // A lent thread stays a while, so a burst does not build a realm per run.
                let (guard, waited) = self
                    .work
                    .wait_timeout(state, LENT_IDLE)
                    .unwrap_or_else(|e| e.into_inner());
                state = guard;
                idle_expired = waited.timed_out();
            } else {
                state = self.work.wait(state).unwrap_or_else(|e| e.into_inner());
            }
            take_one(&mut state.idle, "idle");
        }
    }

    fn pop_next(&self, state: &mut State) -> Option<(usize, Job)> {
        let share = self.app_share;
        let apps = &state.apps;
        let at = state
            .jobs
            .iter()
            .position(|queued| apps.holding[queued.app] < share)?;
        let queued = state.jobs.remove(at)?;
        state.apps.holding[queued.app] += 1;
        take_one(&mut state.apps.queued[queued.app], "app queued");
        Some((queued.app, queued.job))
    }

    /// This thread's run no longer counts against the slots (it waits, or was demoted).
    fn release(self: &Arc<Self>) {
        let mut state = self.lock();
        take_one(&mut state.running, "running");
        let share = self.app_share;
        let apps = &state.apps;
        let startable = state.jobs.iter().any(|q| apps.holding[q.app] < share);
        self.wake_or_lend(state, startable);
    }

    fn reacquire(&self) {
        self.lock().running += 1;
    }

    /// Runs `f` (a blocking host call) without holding a core.
    pub(crate) fn outside<T>(self: &Arc<Self>, f: impl FnOnce() -> T) -> T {
        if DEMOTED.with(Cell::get) {
            return f();
        }
        self.release();
        // Takes the slot back even when `f` panics, so the count stays true.
        let _back = Reacquire(self);
        f()
    }

    /// Called from the interrupt handler once a run has used up its slice.
    pub(crate) fn demote(self: &Arc<Self>) {
        if DEMOTED.with(Cell::get) || self.lock().jobs.is_empty() {
            return;
        }
        DEMOTED.with(|d| d.set(true));
        lower_thread_priority();
        self.release();
    }

    /// A demoted thread ends with its run: it gives back its app's share and, when the engine
    /// needs a thread in its place, leaves a fresh one behind.
    fn retire(self: &Arc<Self>, app: usize) {
        let mut state = self.lock();
        take_one(&mut state.apps.holding[app], "app thread");
        take_one(&mut state.threads, "thread");
        let needed = state.threads < self.base_threads || !state.jobs.is_empty();
        if state.closed || !needed || state.threads >= self.max_threads {
            return;
        }
        state.count_new_thread();
        drop(state);
        self.spawn_lent();
    }

    pub(crate) fn close(&self) {
        self.lock().closed = true;
        self.work.notify_all();
    }
}

impl State {
    fn count_new_thread(&mut self) {
        self.threads += 1;
        self.idle += 1;
    }

    fn uncount_new_thread(&mut self) {
        take_one(&mut self.threads, "thread");
        take_one(&mut self.idle, "idle");
    }
}

struct Reacquire<'a>(&'a Scheduler);

impl Drop for Reacquire<'_> {
    fn drop(&mut self) {
        self.0.reacquire();
    }
}

/// An engine thread: runs jobs until the engine closes, until it is a lent thread with nothing
/// to do, or until a demoted run retires it (a thread's priority cannot be raised again
/// without privileges).
pub(crate) fn worker(scheduler: Arc<Scheduler>) {
    let mut from = Arrival::Start;
    while let Some((app, job)) = scheduler.next(from) {
        // A panic in one run must not take the thread with it.
        let _ = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| job.run()));
        if DEMOTED.with(Cell::get) {
            scheduler.retire(app);
            return;
        }
        from = Arrival::Finished(app);
    }
}

fn spawn_worker(scheduler: Arc<Scheduler>) -> std::io::Result<()> {
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
        let scheduler = Arc::new(Scheduler::new(4, 2, 1, 1, 1));
        scheduler.start_threads().unwrap();
        let (tx, rx) = std::sync::mpsc::channel();
        struct Policy(std::sync::mpsc::Sender<i32>);
        impl Task for Policy {
            fn app(&self) -> &str {
                "app"
            }
            fn run(self: Box<Self>) {
                // SAFETY: reads the calling thread's policy.
                let _ = self.0.send(unsafe { libc::sched_getscheduler(0) });
            }
        }
        scheduler.try_push(Box::new(Policy(tx))).unwrap();
        let policy = rx.recv_timeout(Duration::from_secs(10)).unwrap();
        scheduler.close();
        assert_eq!(policy, libc::SCHED_BATCH);
    }
}
