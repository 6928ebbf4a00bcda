//! The audit log's hash chain (api.md §13.7): transactional, gapless under concurrency, and
//! tamper-evident.

use diesel::connection::SimpleConnection;
use diesel::prelude::*;
use serde_json::json;

use reintegra::audit::{self, Actor, AuditAction, AuditOutcome, NewEvent};
use reintegra::db::schema::audit_events;
use reintegra::db::{Backend, Db};
use reintegra::http::{AppError, RequestContext};

use crate::common::{count, TestApp};

fn ctx(n: usize) -> RequestContext {
    RequestContext {
        request_id: format!("req-{n}"),
        ip: Some("127.0.0.1".parse().unwrap()),
    }
}

fn read_event(n: usize) -> NewEvent {
    NewEvent::new(
        AuditAction::ParticipantRead,
        AuditOutcome::Allowed,
        Some(Actor {
            id: format!("staff-{}", n % 3),
            roles: vec!["psychologist".into()],
        }),
    )
    .entity("participant", format!("p-{n}"))
    .participant(format!("p-{n}"))
    .details(json!({"route": "/api/v1/participants/{id}", "n": n}))
}

fn append(db: &Db, app: &TestApp, n: usize) {
    let now = app.state.clock.now();
    db.write_blocking(|conn| {
        audit::record(conn, now, &ctx(n), read_event(n)).map_err(AppError::from)
    })
    .expect("append");
}

#[actix_web::test]
async fn events_chain_from_the_genesis_hash_and_verify() {
    let app = TestApp::spawn().await;
    for n in 0..5 {
        append(&app.state.db, &app, n);
    }
    let mut conn = app.conn();
    let rows: Vec<(i64, String, String)> = audit_events::table
        .select((
            audit_events::seq,
            audit_events::prev_hash,
            audit_events::hash,
        ))
        .order(audit_events::seq.asc())
        .load(&mut conn)
        .unwrap();
    assert_eq!(
        rows.iter().map(|r| r.0).collect::<Vec<_>>(),
        vec![1, 2, 3, 4, 5]
    );
    assert_eq!(rows[0].1, audit::GENESIS_HASH);
    for pair in rows.windows(2) {
        assert_eq!(pair[1].1, pair[0].2, "prev_hash links to the previous hash");
    }
    let v = audit::verify(&mut conn, None).unwrap();
    assert!(v.ok, "{v:?}");
    assert_eq!(v.checked, 5);
    assert_eq!(v.first_broken_seq, None);
}

#[actix_web::test]
async fn an_event_written_in_a_transaction_that_rolls_back_leaves_no_row() {
    let app = TestApp::spawn().await;
    append(&app.state.db, &app, 0);
    let now = app.state.clock.now();
    let result: Result<(), AppError> = app.state.db.write_blocking(|conn| {
        audit::record(conn, now, &ctx(1), read_event(1))?;
        Err(AppError::conflict(
            "participant_not_qualified",
            "the change failed after auditing",
        ))
    });
    assert!(result.is_err());
    let mut conn = app.conn();
    assert_eq!(
        count(&mut conn, "SELECT COUNT(*) AS n FROM audit_events"),
        1
    );
    // The rolled-back seq is not lost: the next event takes it, so seq stays gapless.
    append(&app.state.db, &app, 2);
    let seqs: Vec<i64> = audit_events::table
        .select(audit_events::seq)
        .order(audit_events::seq)
        .load(&mut conn)
        .unwrap();
    assert_eq!(seqs, vec![1, 2]);
    assert!(audit::verify(&mut conn, None).unwrap().ok);
}

#[actix_web::test]
async fn concurrent_appends_keep_the_chain_gapless_and_valid() {
    let app = TestApp::spawn().await;
    const THREADS: usize = 8;
    const EACH: usize = 25;
    let now = app.state.clock.now();
    std::thread::scope(|s| {
        for t in 0..THREADS {
            let db = app.state.db.clone();
            s.spawn(move || {
                for i in 0..EACH {
                    let n = t * EACH + i;
                    db.write_blocking(|conn| {
                        audit::record(conn, now, &ctx(n), read_event(n)).map_err(AppError::from)
                    })
                    .unwrap_or_else(|e| panic!("append {n} failed: {e:?}"));
                }
            });
        }
    });
    let mut conn = app.conn();
    let seqs: Vec<i64> = audit_events::table
        .select(audit_events::seq)
        .order(audit_events::seq)
        .load(&mut conn)
        .unwrap();
    assert_eq!(seqs, (1..=(THREADS * EACH) as i64).collect::<Vec<_>>());
    let v = audit::verify(&mut conn, None).unwrap();
    assert!(v.ok, "{v:?}");
    assert_eq!(v.checked, (THREADS * EACH) as i64);
}

/// Direct SQL, as an intruder with database access would do it: first the append-only triggers
/// have to go, then a stored event is changed.
fn tamper(app: &TestApp, sql: &str) {
    let mut conn = app.conn();
    let disable = match conn.backend() {
        Backend::Postgres => "ALTER TABLE audit_events DISABLE TRIGGER audit_events_no_update;",
        Backend::Sqlite => {
            "DROP TRIGGER audit_events_no_update; DROP TRIGGER audit_events_no_delete;"
        }
    };
    conn.batch_execute(disable).unwrap();
    conn.batch_execute(sql).unwrap();
}

#[actix_web::test]
async fn the_log_refuses_updates_and_deletes() {
    let app = TestApp::spawn().await;
    append(&app.state.db, &app, 0);
    let mut conn = app.conn();
    assert!(conn
        .batch_execute("UPDATE audit_events SET action = 'auth.login' WHERE seq = 1")
        .is_err());
    assert!(conn
        .batch_execute("DELETE FROM audit_events WHERE seq = 1")
        .is_err());
    assert_eq!(
        count(&mut conn, "SELECT COUNT(*) AS n FROM audit_events"),
        1
    );
}

#[actix_web::test]
async fn tampering_with_a_stored_event_names_the_first_broken_seq() {
    let app = TestApp::spawn().await;
    for n in 0..6 {
        append(&app.state.db, &app, n);
    }
    tamper(
        &app,
        "UPDATE audit_events SET actor_id = 'someone-else' WHERE seq = 4",
    );
    let v = audit::verify(&mut app.conn(), None).unwrap();
    assert!(!v.ok);
    assert_eq!(v.first_broken_seq, Some(4));
    assert_eq!(v.checked, 3);
}

#[actix_web::test]
async fn deleting_an_event_from_the_middle_or_the_end_is_detected() {
    let app = TestApp::spawn().await;
    for n in 0..5 {
        append(&app.state.db, &app, n);
    }
    tamper(&app, "DELETE FROM audit_events WHERE seq = 2");
    assert_eq!(
        audit::verify(&mut app.conn(), None)
            .unwrap()
            .first_broken_seq,
        Some(2)
    );

    let app = TestApp::spawn().await;
    for n in 0..5 {
        append(&app.state.db, &app, n);
    }
    tamper(&app, "DELETE FROM audit_events WHERE seq = 5");
    assert_eq!(
        audit::verify(&mut app.conn(), None)
            .unwrap()
            .first_broken_seq,
        Some(5)
    );
}

#[actix_web::test]
async fn a_recomputed_hash_does_not_hide_tampering() {
    // Rewriting one event and its own hash still breaks the link to the next event.
    let app = TestApp::spawn().await;
    for n in 0..4 {
        append(&app.state.db, &app, n);
    }
    let mut conn = app.conn();
    let row: audit::model::EventRow = audit_events::table.find(2_i64).first(&mut conn).unwrap();
    let mut event = audit::StoredEvent::from_row(row).unwrap();
    event.actor_id = Some("forged".into());
    let forged_hash = audit::chain_hash(&event.prev_hash, &audit::canonical_json(&event));
    tamper(
        &app,
        &format!(
            "UPDATE audit_events SET actor_id = 'forged', hash = '{forged_hash}' WHERE seq = 2"
        ),
    );
    let v = audit::verify(&mut conn, None).unwrap();
    assert_eq!(v.first_broken_seq, Some(3));
}

#[actix_web::test]
async fn nested_transactions_inside_a_write_keep_one_commit() {
    // Feature services open savepoints inside `Db::write`; the audit row must commit with them.
    let app = TestApp::spawn().await;
    let now = app.state.clock.now();
    app.state
        .db
        .write_blocking(|conn| {
            write_transaction_inner(conn)?;
            audit::record(conn, now, &ctx(9), read_event(9)).map_err(AppError::from)
        })
        .unwrap();
    assert_eq!(
        count(&mut app.conn(), "SELECT COUNT(*) AS n FROM audit_events"),
        1
    );
}

fn write_transaction_inner(conn: &mut reintegra::db::AnyConnection) -> Result<(), AppError> {
    conn.transaction::<_, diesel::result::Error, _>(|c| {
        c.batch_execute("SELECT 1")?;
        Ok(())
    })?;
    Ok(())
}

/// Reads of case data are audited through the group-commit appender: 200 concurrent audited
/// reads leave exactly 200 read events, each answered request's event stored, in one unbroken
/// chain.
#[actix_web::test]
async fn two_hundred_concurrent_audited_reads_leave_two_hundred_events_in_one_chain() {
    let app = TestApp::spawn().await;
    let worker = app.user(&[reintegra::policy::Role::SocialWorker]).await;
    let id = app
        .register_participant(&worker, crate::common::participant_body(91))
        .await;
    let path = format!("/api/v1/participants/{id}");
    let answers = futures::future::join_all((0..200).map(|_| app.get_as(&worker, &path))).await;
    assert!(answers.iter().all(|r| r.status == 200));
    let mut conn = app.conn();
    assert_eq!(
        count(
            &mut conn,
            "SELECT COUNT(*) AS n FROM audit_events WHERE action = 'participant.read'"
        ),
        200
    );
    // Every answered request's event is there, by its request id.
    let ids: Vec<Option<String>> = audit_events::table
        .filter(audit_events::action.eq("participant.read"))
        .select(audit_events::request_id)
        .load(&mut conn)
        .unwrap();
    for answer in &answers {
        let rid = answer.header("x-request-id").map(str::to_owned);
        assert!(ids.contains(&rid), "{rid:?}");
    }
    let v = audit::verify(&mut conn, None).unwrap();
    assert!(v.ok, "{v:?}");
    assert_eq!(
        v.checked,
        count(&mut conn, "SELECT COUNT(*) AS n FROM audit_events")
    );
}
