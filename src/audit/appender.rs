//! Group commit for events that travel alone (reads of confidential data, denied attempts,
//! sign-ins): one thread takes whatever is queued, appends it to the chain in one transaction,
//! and only then wakes every request that waits for its event.
//!
//! The promise stays as it was with one transaction per event: a request is answered only after
//! its event is durable (the waiter wakes after the commit), and the chain stays one gap-free
//! line (the batch takes the head once, under its lock, and appends in order). What changes is
//! the price: one head lock and one durable commit per *batch*. If the process dies between the
//! commit and the answer, the event exists and the answer was never sent — the safe way round.
//! If the batch fails, every request in it fails (503/500) and none is answered as if audited.
//!
//! Events that belong to a change are not sent here: they are appended inside the change's own
//! transaction (`audit::record`), so a rolled-back change leaves no event.

use std::sync::mpsc;

use chrono::{DateTime, Utc};
use tokio::sync::oneshot;

use super::{record_many, NewEvent};
use crate::db::Db;
use crate::http::{AppError, RequestContext};

/// At most this many events go into one transaction; more wait for the next.
const MAX_BATCH: usize = 512;

struct Pending {
    at: DateTime<Utc>,
    ctx: RequestContext,
    event: NewEvent,
    done: oneshot::Sender<Result<(), Failure>>,
}

/// Why a batch failed, as the waiting requests report it.
#[derive(Debug, Clone)]
enum Failure {
    Unavailable(String),
    Internal(String),
}

impl From<Failure> for AppError {
    fn from(f: Failure) -> AppError {
        match f {
            Failure::Unavailable(m) => AppError::Unavailable(m),
            Failure::Internal(m) => AppError::Internal(m),
        }
    }
}

/// The sending side; the thread stops when the last clone of it is dropped.
#[derive(Clone)]
pub struct Appender {
    queue: mpsc::Sender<Pending>,
}

impl Appender {
    /// Starts the appending thread for `db`.
    pub fn start(db: Db) -> std::io::Result<Appender> {
        let (queue, incoming) = mpsc::channel();
        std::thread::Builder::new()
            .name("audit-appender".into())
            .spawn(move || run(&db, &incoming))?;
        Ok(Appender { queue })
    }

    /// Queues `event` and waits until the batch holding it has committed.
    pub async fn append(
        &self,
        at: DateTime<Utc>,
        ctx: &RequestContext,
        event: NewEvent,
    ) -> Result<(), AppError> {
        self.append_all(at, ctx, vec![event]).await
    }

    /// Queues `events` together (they land in one batch unless it is full) and waits until every
    /// one has committed.
    pub async fn append_all(
        &self,
        at: DateTime<Utc>,
        ctx: &RequestContext,
        events: Vec<NewEvent>,
    ) -> Result<(), AppError> {
        let stopped = || AppError::Internal("the audit appender has stopped".into());
        let mut receipts = Vec::with_capacity(events.len());
        for event in events {
            let (done, committed) = oneshot::channel();
            let pending = Pending {
                at,
                ctx: ctx.clone(),
                event,
                done,
            };
            self.queue.send(pending).map_err(|_| stopped())?;
            receipts.push(committed);
        }
        for committed in receipts {
            committed
                .await
                .map_err(|_| stopped())?
                .map_err(AppError::from)?;
        }
        Ok(())
    }
}

fn run(db: &Db, incoming: &mpsc::Receiver<Pending>) {
    while let Ok(first) = incoming.recv() {
        let mut batch = vec![first];
        while batch.len() < MAX_BATCH {
            match incoming.try_recv() {
                Ok(next) => batch.push(next),
                Err(_) => break,
            }
        }
        let (events, waiters): (Vec<_>, Vec<_>) = batch
            .into_iter()
            .map(|p| ((p.at, p.ctx, p.event), p.done))
            .unzip();
        let outcome = db
            .write_blocking(|conn| record_many(conn, events).map_err(AppError::from))
            .map_err(|e| match e {
                AppError::Unavailable(m) => Failure::Unavailable(m),
                other => {
                    tracing::error!(error = %other, "an audit batch failed");
                    Failure::Internal("the audit log could not be written".into())
                }
            });
        for waiter in waiters {
            // A request that gave up waiting (its client left) needs no answer.
            let _ = waiter.send(outcome.clone().map(|_| ()));
        }
    }
}
