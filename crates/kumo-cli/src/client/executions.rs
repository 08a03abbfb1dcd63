//! The schedule-execution history: Kii's `list-scheduled-execution` table (every page) and
//! `get-scheduled-execution`, and Kumo's `run-job`.

use anyhow::{bail, Context, Result};
use clap::Args;
use reqwest::Method;
use serde_json::{json, Value};

use super::api::{encode, Api, Body};
use super::conn::ConnArgs;
use super::{dates, out};

/// Executions asked for per page.
const PAGE: u32 = 50;
/// Pages followed at most: a server that hands out keys forever cannot keep the tool busy
/// forever (50 000 executions, more than any history keeps).
const MAX_PAGES: usize = 1000;

/// Keys of one execution in the order Kii's documentation prints them.
const EXECUTION_ORDER: [&str; 6] = [
    "scheduledExecutionID",
    "started",
    "finished",
    "status",
    "name",
    "result",
];

#[derive(Args, Debug)]
pub struct ListExecutions {
    /// Start of the range (ISO-8601, YYYY-MM-DD, YYYY-MM-DD HH:mm or YYYY-MM-DD HH:mm:ss).
    #[arg(long)]
    pub from: Option<String>,
    /// End of the range (same forms; default now).
    #[arg(long)]
    pub to: Option<String>,
    /// Read and show times in UTC instead of local time.
    #[arg(long)]
    pub utc_time: bool,
    /// Print the executions as one JSON array.
    #[arg(long)]
    pub json: bool,
    #[command(flatten)]
    pub conn: ConnArgs,
}

#[derive(Args, Debug)]
pub struct GetExecution {
    /// The execution ID (from list-scheduled-execution).
    #[arg(long)]
    pub id: Option<String>,
    #[command(flatten)]
    pub conn: ConnArgs,
}

#[derive(Args, Debug)]
pub struct RunJob {
    /// The job's name in the current version's hook config.
    pub job: String,
    #[command(flatten)]
    pub conn: ConnArgs,
}

fn date_param(name: &str, value: &str, utc: bool) -> Result<i64> {
    dates::parse(value, utc)
        .with_context(|| format!("Invalid date format for param `--{name}': {value}"))
}

pub async fn list(args: ListExecutions) -> Result<()> {
    let from = match args.from.as_deref() {
        None | Some("") => bail!("Missing param --from"),
        Some(f) => date_param("from", f, args.utc_time)?,
    };
    let to = match args.to.as_deref() {
        None | Some("") => chrono::Utc::now().timestamp_millis(),
        Some(t) => date_param("to", t, args.utc_time)?,
    };
    let (from_text, to_text) = (
        dates::with_zone(from, args.utc_time),
        dates::with_zone(to, args.utc_time),
    );
    if from > to {
        bail!("Invalid date range: {from_text} - {to_text}. Lower limit exceeds upper limit");
    }
    let api = Api::new(args.conn.connection()?)?;
    if !args.json {
        out::log(&format!(
            "Listing hook executions from {from_text} to {to_text}..."
        ));
    }
    let mut all = Vec::new();
    let mut key: Option<String> = None;
    for _ in 0..MAX_PAGES {
        let mut body = json!({
            "scheduleExecutionQuery": {
                "clause": {
                    "type": "range", "field": "startedAt",
                    "lowerLimit": from, "lowerIncluded": true,
                    "upperLimit": to, "upperIncluded": true,
                },
                "orderBy": "startedAt",
                "descending": false,
            },
            "bestEffortLimit": PAGE,
        });
        if let Some(k) = &key {
            body["paginationKey"] = json!(k);
        }
        let page = api
            .admin(
                Method::POST,
                "/hooks/executions/query",
                Body::raw(
                    "application/vnd.kii.ScheduleExecutionQueryRequest+json",
                    body.to_string(),
                ),
            )
            .await?
            .json()?;
        if let Some(results) = page.get("results").and_then(Value::as_array) {
            all.extend(results.iter().cloned());
        }
        key = page
            .get("nextPaginationKey")
            .and_then(Value::as_str)
            .filter(|k| !k.is_empty())
            .map(str::to_owned);
        if key.is_none() {
            break;
        }
    }
    if args.json {
        println!("{}", serde_json::to_string_pretty(&all)?);
        return Ok(());
    }
    let zone = out::zone_label(args.utc_time);
    let header = format!(
        "{:<26.26}{:<20.20}{:<20.20}{:<8.8}{}",
        "ID",
        format!("STARTED {zone}"),
        format!("FINISHED {zone}"),
        "STATUS",
        "JOB NAME"
    );
    println!("{header}");
    println!("{}", out::rule(&header));
    for e in &all {
        let text = |k: &str| e.get(k).and_then(Value::as_str).unwrap_or("").to_owned();
        let time = |k: &str| {
            e.get(k)
                .and_then(Value::as_i64)
                .map(|ms| out::date_time(ms, args.utc_time))
                .unwrap_or_default()
        };
        println!(
            "{:<26.26}{:<20.20}{:<20.20}{:<8.8}{}",
            text("scheduleExecutionID"),
            time("startedAt"),
            time("finishedAt"),
            text("status"),
            text("name")
        );
    }
    out::log(&format!("Total of {} hook(s) were found.", all.len()));
    Ok(())
}

pub async fn get(args: GetExecution) -> Result<()> {
    let id = match args.id.as_deref() {
        None | Some("") => bail!("Missing param --id"),
        Some(id) => id.to_owned(),
    };
    let api = Api::new(args.conn.connection()?)?;
    let body = api
        .admin(
            Method::GET,
            &format!("/hooks/executions/{}", encode(&id)),
            Body::None,
        )
        .await?
        .json()?;
    println!("{}", out::ordered_json(&body, &EXECUTION_ORDER));
    Ok(())
}

pub async fn run_job(args: RunJob) -> Result<()> {
    let api = Api::new(args.conn.connection()?)?;
    let body = api
        .admin(
            Method::POST,
            &format!("/hooks/versions/current/jobs/{}/run", encode(&args.job)),
            Body::None,
        )
        .await?
        .json()?;
    println!("{}", out::ordered_json(&body, &EXECUTION_ORDER));
    Ok(())
}
