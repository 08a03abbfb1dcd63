//! Kii's WebSocket log protocol (spec §8.3) at `/logs` (and `/api/logs`), so that Kii's own
//! `kii-logs.js --site-url ws://HOST:PORT/logs` reads Kumo's log.
//!
//! The client sends one text frame of JSON (`ws_request.rs`): the app, its key, the app's
//! client ID and secret or an app-admin token (checked as `POST /oauth2/token` checks them),
//! `command` `cat` or `tail`, and filters. Every answer is a text frame holding a JSON array
//! of records in their wire shape. `cat`: the latest `limit` matching records, oldest first,
//! then the server closes. `tail`: the same first answer, then an array whenever new records
//! arrive (the live tail of `mod.rs`, so the same caps), until the client closes. Any error
//! is one frame `{"err": "…"}`, then a close.
//!
//! Bounded: the request frame is at most 16 KiB and must come within 10 s; connections still
//! waiting for theirs count against the node's tail cap (refused with 503 before the
//! upgrade beyond it); a tail waits at most 30 s for the client to take a frame, then drops
//! it; an idle tail pings at the keep-alive interval, so a vanished client is noticed.

use std::time::Duration;

use axum::extract::ws::{close_code, CloseFrame, Message, WebSocket, WebSocketUpgrade};
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use futures_util::SinkExt;
use kumo_storage::{DevLogFilter, DevLogRecord};
use serde_json::{json, Value};
use tokio::sync::OwnedSemaphorePermit;

use super::ws_request::{Command, Credentials, LogRequest};
use super::{Step, Tail};
use crate::auth::{principal_for_token, Principal};
use crate::error::Error;
use crate::servercode::devlog;
use crate::service::check_client;
use crate::AppState;

/// The request frame at most.
const REQUEST_MAX: usize = 16 << 10;
/// How long the client has to send its request.
const REQUEST_WAIT: Duration = Duration::from_secs(10);
/// How long a frame may wait for a client that does not read.
const SEND_DEADLINE: Duration = Duration::from_secs(30);
/// How long the answer to a client's close may take.
const CLOSE_DEADLINE: Duration = Duration::from_secs(1);

pub async fn logs(State(state): State<AppState>, upgrade: WebSocketUpgrade) -> Response {
    let Some(waiting) = state.live_log.waiting_for_request() else {
        return Error::new(
            kumo_types::ErrorCode::TemporarilyUnavailable,
            "Too many log connections are open on this server; retry later",
        )
        .into_response();
    };
    upgrade
        .max_message_size(REQUEST_MAX)
        .max_frame_size(REQUEST_MAX)
        .on_upgrade(move |socket| session(state, socket, waiting))
}

async fn session(state: AppState, mut socket: WebSocket, waiting: OwnedSemaphorePermit) {
    let request = match read_request(&mut socket).await {
        Ok(Some(text)) => LogRequest::parse(&text),
        Ok(None) => return,
        Err(message) => Err(message),
    };
    drop(waiting);
    let outcome = match request {
        Ok(request) => answer(&state, &mut socket, request).await,
        Err(message) => Err(message),
    };
    let _ = match outcome {
        // Sends the answer to the client's close frame the socket queued when it read it.
        Ok(Ended::ByClient) => matches!(
            tokio::time::timeout(CLOSE_DEADLINE, SinkExt::close(&mut socket)).await,
            Ok(Ok(()))
        ),
        Ok(Ended::Done) => close(&mut socket, close_code::NORMAL, "").await,
        Ok(Ended::ShuttingDown) => close(&mut socket, close_code::AWAY, "shutting down").await,
        Err(message) => {
            let frame = json!({ "err": message }).to_string();
            if send(&mut socket, Message::Text(frame.into())).await {
                close(&mut socket, close_code::NORMAL, "").await
            } else {
                false
            }
        }
    };
}

/// The request frame's text; `None` if the client left first.
async fn read_request(socket: &mut WebSocket) -> Result<Option<String>, String> {
    let deadline = tokio::time::Instant::now() + REQUEST_WAIT;
    loop {
        let next = tokio::time::timeout_at(deadline, socket.recv()).await;
        match next {
            Err(_) => {
                return Err(format!(
                    "No request arrived within {} seconds",
                    REQUEST_WAIT.as_secs()
                ))
            }
            Ok(None) | Ok(Some(Ok(Message::Close(_)))) => return Ok(None),
            Ok(Some(Ok(Message::Text(text)))) => return Ok(Some(text.to_string())),
            Ok(Some(Ok(Message::Ping(_) | Message::Pong(_)))) => continue,
            Ok(Some(Ok(Message::Binary(_)))) => {
                return Err("The request must be a text frame of JSON".into())
            }
            Ok(Some(Err(e))) => {
                return Err(format!(
                    "The request could not be read (at most {REQUEST_MAX} bytes): {e}"
                ))
            }
        }
    }
}

enum Ended {
    /// The answer is complete (`cat`).
    Done,
    /// The client closed or went away.
    ByClient,
    ShuttingDown,
}

/// Checks the credentials and answers; the error is the message for the client.
async fn answer(
    state: &AppState,
    socket: &mut WebSocket,
    request: LogRequest,
) -> Result<Ended, String> {
    let service = &state.service;
    let app = service
        .app(&request.app_id)
        .await
        .map_err(message)?
        .ok_or_else(|| format!("The app '{}' was not found", request.app_id))?;
    if request.app_key != app.key {
        return Err("The app key is wrong".into());
    }
    match &request.credentials {
        Credentials::Token(token) => match principal_for_token(service, &app, token).await {
            Ok(Principal::Admin) => {}
            Ok(_) => return Err("Reading the developer log needs an app-admin token".into()),
            Err(e) => return Err(message(e)),
        },
        Credentials::Client { id, secret } => check_client(&app, id, secret).map_err(message)?,
    }
    let storage = &service.storage;
    match request.command {
        Command::Cat => {
            let records = storage
                .query_dev_logs(&app.id, &request.filter)
                .await
                .map_err(|e| message(e.into()))?;
            if !send(socket, batch(&app.id, &records)).await {
                return Ok(Ended::ByClient);
            }
            Ok(Ended::Done)
        }
        Command::Tail => {
            let live = DevLogFilter {
                limit: 0,
                ..request.filter.clone()
            };
            let tail = state
                .live_log
                .tail(&app.id, live, None)
                .await
                .map_err(message)?;
            // The first answer stops where the tail starts, so nothing comes twice.
            let mut first = storage
                .query_dev_logs(&app.id, &request.filter)
                .await
                .map_err(|e| message(e.into()))?;
            first.retain(|r| r.seq <= tail.cursor());
            if !send(socket, batch(&app.id, &first)).await {
                return Ok(Ended::ByClient);
            }
            Ok(follow(socket, tail).await)
        }
    }
}

/// Sends what the tail brings until the client leaves or the server shuts down.
async fn follow(socket: &mut WebSocket, mut tail: Tail) -> Ended {
    loop {
        tokio::select! {
            step = tail.next() => {
                let frame = match step {
                    Step::Records(records) => batch(tail.app_id(), &records),
                    Step::Idle => Message::Ping(Default::default()),
                    Step::Closed => return Ended::ShuttingDown,
                };
                if !send(socket, frame).await {
                    return Ended::ByClient;
                }
            }
            received = socket.recv() => match received {
                // Anything after the request means nothing; pings are answered by the socket.
                Some(Ok(Message::Close(_))) | Some(Err(_)) | None => return Ended::ByClient,
                Some(Ok(_)) => {}
            }
        }
    }
}

fn batch(app_id: &str, records: &[DevLogRecord]) -> Message {
    let records: Vec<Value> = records.iter().map(|r| devlog::wire(app_id, r)).collect();
    Message::Text(Value::Array(records).to_string().into())
}

/// Whether the frame went out within the deadline.
async fn send(socket: &mut WebSocket, frame: Message) -> bool {
    matches!(
        tokio::time::timeout(SEND_DEADLINE, socket.send(frame)).await,
        Ok(Ok(()))
    )
}

async fn close(socket: &mut WebSocket, code: u16, reason: &'static str) -> bool {
    let frame = CloseFrame {
        code,
        reason: reason.into(),
    };
    send(socket, Message::Close(Some(frame))).await
}

fn message(e: Error) -> String {
    e.0.message
}
