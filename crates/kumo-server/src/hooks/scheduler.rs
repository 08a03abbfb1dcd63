//! Schedule-based hooks: every node plans the live jobs' firings and tries to claim each when
//! it falls due; the database lets exactly one claim of a firing through. The claiming node
//! runs it under a lease it renews; any node records FAILED the firings whose lease ran out.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use kumo_storage::{Claim, DevLogLevel, ExecutionStatus, NewFiring, ScheduleExecution};
use kumo_types::{ids, now_ms, ApiError, ErrorCode};
use serde_json::json;

use super::config::{self, Job, Overlap};
use super::outcome::ended;
use super::runner::{self, NotStarted};
use super::Shared;
use crate::error::{Error, Result};
use crate::servercode::ServerCode;
use crate::service::Service;

/// How often the live jobs are read again (a version switch on another node is seen within it).
const REFRESH_MS: i64 = 1_000;
/// What a firing whose node died is recorded with.
const NODE_LOST: &str = "FAILED: the node running this firing stopped before it finished \
    (its lease ran out); whether the code completed is unknown";

/// A job's place in this node's plan.
struct Planned {
    app_id: String,
    version_id: String,
    job: Job,
    /// Its next firing (epoch ms).
    next: i64,
}

pub(crate) async fn schedule_loop(shared: Arc<Shared>) {
    let mut plan: HashMap<String, Planned> = HashMap::new();
    let mut refreshed_at: Option<i64> = None;
    let mut switched = false;
    loop {
        let now = now_ms();
        if switched || refreshed_at.is_none_or(|at| now - at >= REFRESH_MS) {
            switched = false;
            match shared.live.refresh(&shared.service).await {
                Ok(changed) => {
                    for app_id in changed {
                        // An app whose hooks just went live starts delivering from now.
                        let storage = &shared.service.storage;
                        if let Err(e) = storage.ensure_hook_cursor(&app_id).await {
                            tracing::warn!(app = app_id, error = %e, "could not start trigger delivery");
                        }
                    }
                    reconcile(&shared, &mut plan, refreshed_at, now);
                    refreshed_at = Some(now);
                }
                Err(e) => tracing::warn!(error = %e, "could not read the live hook configs"),
            }
        }
        fire_due(&shared, &mut plan, now).await;
        let next_refresh = refreshed_at.unwrap_or(now) + REFRESH_MS;
        let wake = plan.values().map(|p| p.next).fold(next_refresh, i64::min);
        let wait = (wake - now_ms()).clamp(1, REFRESH_MS);
        // A version switch is taken in at once: the new version's first firing is on time.
        tokio::select! {
            _ = tokio::time::sleep(Duration::from_millis(wait as u64)) => {}
            _ = shared.server_code.versions_changed() => switched = true,
        }
    }
}

/// Brings the plan in line with the live jobs. A job new to the plan starts from the previous
/// refresh (nothing between two refreshes is lost); at this node's first refresh, from its
/// latest firing within the misfire grace (a restart does not lose the firing it raced, and
/// never runs a backlog).
fn reconcile(
    shared: &Shared,
    plan: &mut HashMap<String, Planned>,
    previous: Option<i64>,
    now: i64,
) {
    let mut seen = std::collections::HashSet::new();
    for (app_id, live) in shared.live.all() {
        for job in &live.config.jobs {
            let key = plan_key(&app_id, &live.version_id, job);
            seen.insert(key.clone());
            if plan.contains_key(&key) {
                continue;
            }
            let next = match previous {
                Some(at) => job.schedule.next_after(at),
                None => {
                    let grace = shared.config.misfire_grace.as_millis() as i64;
                    latest_between(job, now - grace, now).or_else(|| job.schedule.next_after(now))
                }
            };
            if let Some(next) = next {
                plan.insert(
                    key,
                    Planned {
                        app_id: app_id.clone(),
                        version_id: live.version_id.clone(),
                        job: job.clone(),
                        next,
                    },
                );
            }
        }
    }
    plan.retain(|key, _| seen.contains(key));
}

/// A job is the same job while its version, name, schedule and what it runs are.
fn plan_key(app_id: &str, version_id: &str, job: &Job) -> String {
    format!(
        "{app_id}\n{version_id}\n{}\n{}\n{:?}\n{}\n{}\n{:?}",
        job.name,
        job.schedule.text(),
        job.schedule.timezone(),
        job.endpoint,
        job.parameters,
        job.overlap
    )
}

/// The job's last firing in `(from, to]`.
fn latest_between(job: &Job, from: i64, to: i64) -> Option<i64> {
    let mut at = job.schedule.next_after(from)?;
    if at > to {
        return None;
    }
    // Bounded: a job firing every second has at most `grace` seconds of firings here.
    while let Some(next) = job.schedule.next_after(at) {
        if next > to {
            break;
        }
        at = next;
    }
    Some(at)
}

/// Claims and starts every firing that is due. Several missed firings of one job (a stalled
/// node) collapse into its latest.
async fn fire_due(shared: &Arc<Shared>, plan: &mut HashMap<String, Planned>, now: i64) {
    let mut firings = Vec::new();
    let mut jobs = Vec::new();
    for p in plan.values_mut() {
        if p.next > now {
            continue;
        }
        let scheduled_at = latest_between(&p.job, p.next - 1, now).unwrap_or(p.next);
        firings.push(new_firing(p, scheduled_at, false));
        jobs.push(p.job.clone());
        match p.job.schedule.next_after(now) {
            Some(next) => p.next = next,
            None => p.next = i64::MAX,
        }
    }
    if firings.is_empty() {
        return;
    }
    let lease_until = now_ms() + shared.config.lease.as_millis() as i64;
    let claims = match shared
        .service
        .storage
        .claim_firings(&firings, &shared.node, lease_until)
        .await
    {
        Ok(claims) => claims,
        Err(e) => {
            tracing::warn!(error = %e, "could not claim due schedule firings");
            return;
        }
    };
    for ((firing, job), claim) in firings.into_iter().zip(jobs).zip(claims) {
        match claim {
            Claim::Run => {
                let shared = shared.clone();
                tokio::spawn(async move { run_firing(&shared, firing, job).await });
            }
            Claim::Skipped => runner::log(
                shared,
                &firing.app_id,
                DevLogLevel::Warn,
                "servercode.schedule.skipped",
                None,
                vec![
                    (
                        "description",
                        json!("Scheduled job skipped: its previous firing is still running"),
                    ),
                    ("jobName", json!(firing.job)),
                    ("scheduleExecutionID", json!(firing.id)),
                    ("versionID", json!(firing.version_id)),
                ],
            ),
            Claim::Lost => {}
        }
    }
}

fn new_firing(p: &Planned, scheduled_at: i64, by_hand: bool) -> NewFiring {
    NewFiring {
        id: ids::version_id(),
        app_id: p.app_id.clone(),
        version_id: p.version_id.clone(),
        job: p.job.name.clone(),
        scheduled_at,
        by_hand,
        started_at: now_ms(),
        skip_if_running: p.job.overlap == Overlap::Skip,
        fence: rand::random::<i64>() & i64::MAX,
    }
}

/// Runs a claimed firing and records how it ended (if its claim still stands).
async fn run_firing(shared: &Shared, firing: NewFiring, job: Job) {
    let Some(app) = runner::app(shared, &firing.app_id).await else {
        return;
    };
    let ran = runner::run(
        shared,
        &shared.schedule_slots,
        &app,
        &firing.version_id,
        &job.endpoint,
        &job.parameters.to_string(),
        None,
    )
    .await;
    let (ok, text) = match &ran {
        Ok(ran) => {
            let end = ended(&ran.outcome);
            (end.ok, end.text)
        }
        Err(NotStarted(why)) => (false, format!("NOT_STARTED: {why}")),
    };
    finish(
        &shared.service,
        &shared.server_code,
        &firing,
        &job,
        ok,
        &text,
    )
    .await;
}

/// Records a firing's end in the history and the developer log.
async fn finish(
    service: &Service,
    server_code: &ServerCode,
    firing: &NewFiring,
    job: &Job,
    ok: bool,
    text: &str,
) -> bool {
    let status = if ok {
        ExecutionStatus::Success
    } else {
        ExecutionStatus::Failed
    };
    let recorded = match service
        .storage
        .finish_firing(
            &firing.app_id,
            &firing.id,
            firing.fence,
            status,
            now_ms(),
            text,
        )
        .await
    {
        Ok(recorded) => recorded,
        Err(e) => {
            tracing::warn!(error = %e, "could not record a schedule firing's end");
            false
        }
    };
    let level = if ok {
        DevLogLevel::Info
    } else {
        DevLogLevel::Error
    };
    let mut fields = serde_json::Map::new();
    fields.insert("description".into(), json!("Scheduled job finished"));
    fields.insert("jobName".into(), json!(firing.job));
    fields.insert("scheduleExecutionID".into(), json!(firing.id));
    fields.insert("versionID".into(), json!(firing.version_id));
    fields.insert("endpoint".into(), json!(job.endpoint));
    fields.insert("status".into(), json!(status.as_str()));
    fields.insert("result".into(), json!(text));
    if !recorded {
        fields.insert(
            "note".into(),
            json!("the history already holds this firing as FAILED (its lease ran out)"),
        );
    }
    server_code.devlog().push(
        &firing.app_id,
        crate::servercode::devlog::record(level, "servercode.schedule", None, fields),
    );
    recorded
}

/// Renews this node's firing leases and fails the firings of nodes that died.
pub(crate) async fn lease_loop(shared: Arc<Shared>) {
    let lease = shared.config.lease;
    let mut ticks = tokio::time::interval((lease / 4).max(Duration::from_millis(50)));
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        ticks.tick().await;
        let storage = &shared.service.storage;
        let now = now_ms();
        if let Err(e) = storage
            .renew_firing_leases(&shared.node, now + lease.as_millis() as i64)
            .await
        {
            tracing::warn!(error = %e, "could not renew the schedule firings' leases");
        }
        match storage.fail_expired_firings(now, NODE_LOST).await {
            Ok(lost) => {
                for e in lost {
                    log_lost(&shared, &e);
                }
            }
            Err(e) => tracing::warn!(error = %e, "could not look for firings of stopped nodes"),
        }
    }
}

fn log_lost(shared: &Shared, e: &ScheduleExecution) {
    runner::log(
        shared,
        &e.app_id,
        DevLogLevel::Error,
        "servercode.schedule",
        None,
        vec![
            ("description", json!("Scheduled job lost with its node")),
            ("jobName", json!(e.job)),
            ("scheduleExecutionID", json!(e.id)),
            ("versionID", json!(e.version_id)),
            ("status", json!("FAILED")),
            ("result", json!(NODE_LOST)),
        ],
    );
}

/// Runs a job of the current version once, now, by hand (admin): recorded in the history like
/// any firing, marked as run by hand. Waits for the run and returns its record.
pub async fn run_job_now(
    service: &Service,
    server_code: &ServerCode,
    app: &kumo_storage::App,
    job_name: &str,
) -> Result<ScheduleExecution> {
    let storage = &service.storage;
    let no_job = || {
        Error(
            ApiError::new(
                ErrorCode::NotFound,
                format!("The current version's hook config has no job '{job_name}'"),
            )
            .with("jobName", job_name),
        )
    };
    let version_id = storage.get_current_version(&app.id).await?.ok_or_else(|| {
        Error::new(
            ErrorCode::ServerCodeVersionNotFound,
            "No server code version is current",
        )
    })?;
    let text = storage
        .get_hook_config(&app.id, Some(&version_id))
        .await?
        .ok_or_else(no_job)?;
    let parsed = config::parse_stored(text).await.map_err(Error)?;
    let job = parsed
        .jobs
        .into_iter()
        .rev() // the last of duplicate names wins, as in the JSON
        .find(|j| j.name == job_name)
        .ok_or_else(no_job)?;
    let planned = Planned {
        app_id: app.id.clone(),
        version_id,
        job,
        next: 0,
    };
    let firing = new_firing(&planned, now_ms(), true);
    let lease_until = now_ms() + server_code.hooks_config().lease.as_millis() as i64;
    let claim = storage
        .claim_firings(
            std::slice::from_ref(&firing),
            server_code.node(),
            lease_until,
        )
        .await?;
    if claim.first() == Some(&Claim::Run) {
        let outcome = server_code
            .run_for_hook(
                service,
                app,
                &firing.version_id,
                &planned.job.endpoint,
                planned.job.parameters.to_string(),
                None,
            )
            .await;
        let end = match &outcome {
            Ok(outcome) => ended(outcome),
            Err(e) => super::outcome::Ended {
                ok: false,
                text: format!("NOT_STARTED: {}", e.0.message),
            },
        };
        finish(
            service,
            server_code,
            &firing,
            &planned.job,
            end.ok,
            &end.text,
        )
        .await;
    }
    // Skipped (overlap) is in the history too; lost means the version stopped being current.
    storage
        .get_schedule_execution(&app.id, &firing.id)
        .await?
        .ok_or_else(|| {
            Error::new(
                ErrorCode::ServerCodeVersionNotFound,
                "The version stopped being current before the job could run",
            )
        })
}
