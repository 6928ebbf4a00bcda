//! `reintegra seed-demo`: a fictional club to try the service with.
//!
//! The club is planned on paper first ([`story`], pure and seeded), then lived through day by
//! day with a clock that walks forward from 18 months ago: every step goes through the same
//! request parsing (`read_body`), policy checks and service functions as the HTTP route that
//! does it, so every rule holds and every audit event is the one real use would write. Only the
//! caller is not a signed-in session: the demo staff act as themselves, without tokens.

pub mod rng;
pub mod story;

use std::collections::HashMap;
use std::fmt;
use std::sync::Arc;
use std::time::Instant;

use chrono::{DateTime, Duration, NaiveDate, NaiveTime, TimeZone, Utc};
use chrono_tz::Europe::Warsaw;
use diesel::prelude::*;
use diesel::sql_types::BigInt;
use serde_json::{json, Value};

use self::rng::Rng;
use self::story::{Club, Fate, Outcome, SessionSpec, Story, Who, SERIES, STAFF, UNIT_NAME};
use crate::auth::CurrentStaff;
use crate::clock::{Clock, SystemClock, TestClock};
use crate::config::Config;
use crate::db::{self, migrations};
use crate::http::query::PageRequest;
use crate::http::rules::{read_body, RequestBody};
use crate::http::{AppError, RequestContext};
use crate::participants::access;
use crate::plans::service::Owned;
use crate::policy::{Action, View};
use crate::state::AppState;
use crate::{consents, diagnoses, gdpr, outcomes, participants, plans, programmes, sessions};
use crate::{settings, staff};

pub struct Options {
    pub seed: u64,
    /// The demo's today (default: today in Warsaw); the club's history ends the day before.
    pub today: Option<NaiveDate>,
}

/// What was made, for the closing lines of `seed-demo`.
pub struct Summary {
    pub unit_name: &'static str,
    pub seed: u64,
    pub logins: Vec<(&'static str, &'static str, String)>,
    pub counts: Vec<(&'static str, i64)>,
    pub seconds: f64,
}

impl fmt::Display for Summary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "Seeded {} (seed {}).", self.unit_name, self.seed)?;
        writeln!(
            f,
            "Demo sign-ins (each must set a new password first: POST /api/v1/auth/password):"
        )?;
        for (email, password, roles) in &self.logins {
            writeln!(f, "  {email:<34} {password:<22} {roles}")?;
        }
        let counts: Vec<String> = self
            .counts
            .iter()
            .map(|(name, n)| format!("{n} {name}"))
            .collect();
        write!(f, "{} in {:.1} s", counts.join(", "), self.seconds)
    }
}

/// Fills an empty database with the demo club; refuses one that holds participants or staff
/// other than admins (the accounts `create-admin` bootstraps).
pub async fn seed(config: Config, options: Options) -> Result<Summary, String> {
    let started = Instant::now();
    let today = options.today.unwrap_or_else(|| SystemClock.today());
    let club = story::plan(options.seed, today);
    let clock = TestClock::at(at(club.first_day, 7, 0));
    let mut state = AppState::new(config, Arc::new(clock.clone())).map_err(|e| e.to_string())?;
    // Thousands of small commits into a database that is thrown away if the load fails: they
    // need not wait for the disk. What the load wrote is flushed at the end.
    state.db = db::Db::for_bulk_load(&state.config.database, state.config.db_pool_size);
    {
        let mut conn = db::establish(&state.config.database)
            .map_err(|e| format!("cannot connect to the database: {e}"))?;
        migrations::run_pending(&mut conn).map_err(|e| format!("migration failed: {e}"))?;
        refuse_non_empty(&mut conn)?;
    }
    let mut run = Run {
        state,
        clock,
        rng: Rng::new(options.seed ^ 0xa77e_0da7_ce00_0000),
        staff: HashMap::new(),
        people: Vec::new(),
        sessions: Vec::new(),
        requests: 0,
        last: at(club.first_day, 7, 0),
    };
    run.people = club.stories.iter().map(|_| Person::default()).collect();
    run.live(&club).await?;
    let counts = {
        let mut conn = db::establish(&run.state.config.database)
            .map_err(|e| format!("cannot connect to the database: {e}"))?;
        flush(&mut conn).map_err(|e| format!("cannot flush the demo to disk: {e}"))?;
        counts(&mut conn).map_err(|e| format!("cannot count what was made: {e}"))?
    };
    Ok(Summary {
        unit_name: UNIT_NAME,
        seed: options.seed,
        logins: STAFF
            .iter()
            .map(|s| (s.email, s.password, s.roles.join(", ")))
            .collect(),
        counts,
        seconds: started.elapsed().as_secs_f64(),
    })
}

#[derive(QueryableByName)]
struct Count {
    #[diesel(sql_type = BigInt)]
    n: i64,
}

fn count(conn: &mut db::AnyConnection, sql: &str) -> QueryResult<i64> {
    Ok(diesel::sql_query(sql).get_result::<Count>(conn)?.n)
}

fn refuse_non_empty(conn: &mut db::AnyConnection) -> Result<(), String> {
    let check = |conn: &mut db::AnyConnection| -> QueryResult<(i64, i64, i64)> {
        Ok((
            count(conn, "SELECT COUNT(*) AS n FROM participants")?,
            count(
                conn,
                "SELECT COUNT(DISTINCT staff_id) AS n FROM staff_roles WHERE role <> 'admin'",
            )?,
            count(conn, "SELECT COUNT(*) AS n FROM sessions")?,
        ))
    };
    let (participants, staff, sessions) =
        check(conn).map_err(|e| format!("cannot inspect the database: {e}"))?;
    if participants + staff + sessions > 0 {
        return Err(format!(
            "the database is not empty ({participants} participants, {staff} staff accounts \
             besides admins, {sessions} sessions): seed-demo fills only a new database; point \
             DATABASE_URL at a new SQLite file or an empty PostgreSQL database"
        ));
    }
    Ok(())
}

/// Makes the bulk load durable: SQLite copies the WAL into the database file and syncs it; on
/// PostgreSQL a synchronous commit (this connection's default) flushes the WAL up to it, so every
/// earlier asynchronous commit too.
fn flush(conn: &mut db::AnyConnection) -> QueryResult<()> {
    use diesel::connection::SimpleConnection;
    match conn.backend() {
        db::Backend::Sqlite => conn.batch_execute("PRAGMA wal_checkpoint(TRUNCATE);"),
        // A transaction id makes the commit a real one, which waits for the WAL flush.
        db::Backend::Postgres => conn.batch_execute("BEGIN; SELECT txid_current(); COMMIT;"),
    }
}

fn counts(conn: &mut db::AnyConnection) -> QueryResult<Vec<(&'static str, i64)>> {
    let mut out = Vec::new();
    for (name, sql) in [
        ("staff", "SELECT COUNT(*) AS n FROM staff"),
        ("participants", "SELECT COUNT(*) AS n FROM participants"),
        ("programmes", "SELECT COUNT(*) AS n FROM programmes"),
        ("diagnoses", "SELECT COUNT(*) AS n FROM diagnoses"),
        ("plans", "SELECT COUNT(*) AS n FROM plans"),
        ("sessions", "SELECT COUNT(*) AS n FROM sessions"),
        ("attendance rows", "SELECT COUNT(*) AS n FROM attendance"),
        ("outcomes", "SELECT COUNT(*) AS n FROM outcomes"),
        (
            "follow-ups recorded",
            "SELECT COUNT(*) AS n FROM follow_ups WHERE status <> 'due'",
        ),
        ("audit events", "SELECT COUNT(*) AS n FROM audit_events"),
    ] {
        out.push((name, count(conn, sql)?));
    }
    Ok(out)
}

/// `day` at `h:m` in Warsaw, as an instant.
fn at(day: NaiveDate, h: u32, m: u32) -> DateTime<Utc> {
    let local = day.and_time(NaiveTime::from_hms_opt(h, m, 0).unwrap_or(NaiveTime::MIN));
    Warsaw
        .from_local_datetime(&local)
        .earliest()
        .map(|t| t.with_timezone(&Utc))
        .unwrap_or_else(|| Utc.from_utc_datetime(&local))
}

/// One step of the club's life, at its time of day.
enum Task {
    Setup,
    Register(usize),
    Decide(usize),
    Start(usize),
    WithdrawImage(usize),
    Diagnose(usize, usize),
    DraftPlan(usize),
    ActivatePlan(usize),
    Review(usize, NaiveDate),
    Revise(usize),
    AchieveGoal(usize, usize),
    ActionDone(usize),
    RecordOutcome(usize, usize),
    Verify(usize, usize),
    Exit(usize),
    FollowUp(usize, usize),
    ReRefer(usize),
    Anonymise(usize),
    PlanSession(usize, bool),
    CloseSession(usize),
}

/// What the run learnt about a participant (ids the services gave back).
#[derive(Default)]
struct Person {
    id: String,
    programme_id: String,
    image_consent_id: Option<String>,
    plan: Value,
    /// Outcome ids by the story's outcome index.
    outcomes: HashMap<usize, String>,
}

struct Run {
    state: AppState,
    clock: TestClock,
    /// Draws made while living the plan (attendance statuses), in a fixed order.
    rng: Rng,
    staff: HashMap<Who, CurrentStaff>,
    people: Vec<Person>,
    /// (id, version) of each session, by index in `club.sessions` then `club.upcoming`.
    sessions: Vec<(String, i64)>,
    requests: u64,
    last: DateTime<Utc>,
}

/// A failed step names the participant or session and the day, then the service's answer.
fn describe(e: AppError) -> String {
    match e {
        AppError::Validation(errors) => {
            let fields: Vec<String> = errors
                .iter()
                .map(|f| format!("{} {} ({})", f.field, f.code, f.message))
                .collect();
            format!("validation failed: {}", fields.join("; "))
        }
        other => other.to_string(),
    }
}

impl Run {
    async fn live(&mut self, club: &Club) -> Result<(), String> {
        let mut tasks = schedule(club);
        // A stable sort: steps at the same minute keep the order the plan gave them.
        tasks.sort_by_key(|(when, _)| *when);
        for (when, task) in tasks {
            // Strictly increasing instants: the audit log reads as a history.
            let now = when.max(self.last + Duration::seconds(1));
            self.clock.set(now);
            self.last = now;
            let label = self.label(club, &task);
            self.step(club, task)
                .await
                .map_err(|e| format!("demo step {label} on {}: {}", now, describe(e)))?;
        }
        Ok(())
    }

    fn label(&self, club: &Club, task: &Task) -> String {
        let person = |i: usize| {
            let p = &club.stories[i].person;
            format!("participant #{i} ({} {})", p.first_name, p.last_name)
        };
        match task {
            Task::Setup => "setup".into(),
            Task::PlanSession(n, _) | Task::CloseSession(n) => format!("session #{n}"),
            Task::Register(i)
            | Task::Decide(i)
            | Task::Start(i)
            | Task::WithdrawImage(i)
            | Task::Diagnose(i, _)
            | Task::DraftPlan(i)
            | Task::ActivatePlan(i)
            | Task::Review(i, _)
            | Task::Revise(i)
            | Task::AchieveGoal(i, _)
            | Task::ActionDone(i)
            | Task::RecordOutcome(i, _)
            | Task::Verify(i, _)
            | Task::Exit(i)
            | Task::FollowUp(i, _)
            | Task::ReRefer(i)
            | Task::Anonymise(i) => person(*i),
        }
    }

    /// A request id of its own for each step, named so that the audit log shows which events
    /// the demo wrote.
    fn ctx(&mut self) -> RequestContext {
        self.requests += 1;
        RequestContext {
            request_id: format!("seed-demo-{:06}", self.requests),
            ip: None,
        }
    }

    fn who(&self, who: Who) -> Result<CurrentStaff, AppError> {
        self.staff
            .get(&who)
            .cloned()
            .ok_or_else(|| AppError::Internal(format!("demo staff {who:?} missing")))
    }

    /// The body as the route would read it: the same shape and rule checks, today from the clock.
    fn body<T: RequestBody>(&self, v: Value) -> Result<T, AppError> {
        read_body(&v, self.clock.today())
    }

    async fn step(&mut self, club: &Club, task: Task) -> Result<(), AppError> {
        let today = self.clock.today();
        match task {
            Task::Setup => self.setup(club).await,
            Task::Register(i) => self.register(&club.stories[i], i).await,
            Task::Decide(i) => self.decide(&club.stories[i], i, today).await,
            Task::Start(i) => self.start(&club.stories[i], i, today).await,
            Task::WithdrawImage(i) => {
                let st = &club.stories[i];
                let caller = self.who(st.lead)?;
                let ctx = self.ctx();
                let pid = self.people[i].id.clone();
                access::authorize(&self.state, &ctx, &caller, Action::ConsentWrite, &pid).await?;
                let consent = self.people[i]
                    .image_consent_id
                    .clone()
                    .ok_or_else(|| AppError::Internal("no image consent to withdraw".into()))?;
                let body = self.body(json!({
                    "withdrawn_on": today,
                    "note": "Uczestnik nie zgadza się już na publikację zdjęć z zajęć."
                }))?;
                consents::service::withdraw(&self.state, &ctx, &caller, consent, None, body)
                    .await?;
                Ok(())
            }
            Task::Diagnose(i, d) => self.diagnose(&club.stories[i], i, d, today).await,
            Task::DraftPlan(i) => self.draft_plan(&club.stories[i], i, today).await,
            Task::ActivatePlan(i) => {
                let caller = self.who(club.stories[i].lead)?;
                let plan_id = str_of(&self.people[i].plan, "id")?;
                self.activate(i, &caller, plan_id, today).await
            }
            Task::Review(i, on) => {
                let caller = self.who(club.stories[i].lead)?;
                let plan_id = str_of(&self.people[i].plan, "id")?;
                let ctx = self
                    .plan_access(&caller, Action::PlanWrite, Owned::Plan, &plan_id)
                    .await?;
                let body = self.body(json!({
                    "reviewed_on": on,
                    "summary": "Przegląd kwartalny: uczestnik realizuje plan, cele aktualne."
                }))?;
                let plan =
                    plans::service::review(&self.state, &ctx, &caller, plan_id, body).await?;
                self.people[i].plan = to_value(&plan)?;
                Ok(())
            }
            Task::Revise(i) => {
                let caller = self.who(club.stories[i].lead)?;
                let plan_id = str_of(&self.people[i].plan, "id")?;
                let ctx = self
                    .plan_access(&caller, Action::PlanWrite, Owned::Plan, &plan_id)
                    .await?;
                let draft = plans::service::revise(&self.state, &ctx, &caller, plan_id).await?;
                let draft = to_value(&draft)?;
                // The revision takes over at once: the old version stays, superseded.
                self.activate(i, &caller, str_of(&draft, "id")?, today)
                    .await
            }
            Task::AchieveGoal(i, g) => {
                let caller = self.who(club.stories[i].lead)?;
                let goal = &self.people[i].plan["goals"][g];
                let (id, version) = (str_of(goal, "id")?, goal["version"].as_i64().unwrap_or(0));
                let ctx = self
                    .plan_access(&caller, Action::PlanWrite, Owned::Goal, &id)
                    .await?;
                let patch = self.body(json!({
                    "status": "achieved",
                    "achieved_on": today,
                    "progress_note": "Cel osiągnięty, potwierdzony na spotkaniu zespołu."
                }))?;
                let goal =
                    plans::service::update_goal(&self.state, &ctx, &caller, id, version, patch)
                        .await?;
                self.people[i].plan["goals"][g] = to_value(&goal)?;
                Ok(())
            }
            Task::ActionDone(i) => {
                let caller = self.who(club.stories[i].lead)?;
                let action = &self.people[i].plan["actions"][0];
                let (id, version) = (
                    str_of(action, "id")?,
                    action["version"].as_i64().unwrap_or(0),
                );
                let ctx = self
                    .plan_access(&caller, Action::PlanWrite, Owned::Action, &id)
                    .await?;
                let patch = self.body(json!({"status": "done", "done_on": today}))?;
                let action =
                    plans::service::update_action(&self.state, &ctx, &caller, id, version, patch)
                        .await?;
                self.people[i].plan["actions"][0] = to_value(&action)?;
                Ok(())
            }
            Task::RecordOutcome(i, o) => self.record_outcome(&club.stories[i], i, o, today).await,
            Task::Verify(i, o) => {
                let caller = self.who(Who::Manager)?;
                let id = self.people[i]
                    .outcomes
                    .get(&o)
                    .cloned()
                    .ok_or_else(|| AppError::Internal("no outcome to verify".into()))?;
                let ctx = self.ctx();
                outcomes::service::authorize_owned(
                    &self.state,
                    &ctx,
                    &caller,
                    Action::OutcomeVerify,
                    &id,
                )
                .await?;
                outcomes::service::verify(&self.state, &ctx, &caller, id, None).await?;
                Ok(())
            }
            Task::Exit(i) => self.exit(&club.stories[i], i, today).await,
            Task::FollowUp(i, f) => self.follow_up(&club.stories[i], i, f, today).await,
            Task::ReRefer(i) => {
                let st = &club.stories[i];
                let caller = self.who(st.lead)?;
                let ctx = self.ctx();
                let pid = self.people[i].id.clone();
                let access =
                    access::authorize(&self.state, &ctx, &caller, Action::ParticipantUpdate, &pid)
                        .await?;
                let body = self.body(json!({
                    "source": "ops",
                    "reference": format!("OPS/{}/{}/2", today.format("%Y"), i + 1),
                    "referred_on": today
                }))?;
                participants::lifecycle::refer_again(&self.state, &ctx, &caller, access, body)
                    .await?;
                Ok(())
            }
            Task::Anonymise(i) => {
                let caller = self.who(Who::Manager)?;
                let ctx = self.ctx();
                let pid = self.people[i].id.clone();
                let access = access::authorize(
                    &self.state,
                    &ctx,
                    &caller,
                    Action::ParticipantAnonymise,
                    &pid,
                )
                .await?;
                let body = self.body(json!({
                    "reason": "Wniosek uczestnika o usunięcie danych (art. 17 RODO), zaakceptowany przez IOD.",
                    "override": true
                }))?;
                gdpr::service::anonymise(
                    &self.state,
                    &ctx,
                    &caller,
                    access.participant_id,
                    None,
                    body,
                )
                .await?;
                Ok(())
            }
            Task::PlanSession(n, upcoming) => {
                let spec = if upcoming {
                    &club.upcoming[n - club.sessions.len()]
                } else {
                    &club.sessions[n]
                };
                self.plan_session(spec).await
            }
            Task::CloseSession(n) => self.close_session(&club.sessions[n], n).await,
        }
    }

    /// The plan route's check (plan, goal or action of a participant the caller may act on),
    /// answering the context of the request that goes on.
    async fn plan_access(
        &mut self,
        caller: &CurrentStaff,
        action: Action,
        owned: Owned,
        id: &str,
    ) -> Result<RequestContext, AppError> {
        let ctx = self.ctx();
        plans::service::authorize_owned(&self.state, &ctx, caller, action, owned, id).await?;
        Ok(ctx)
    }

    async fn setup(&mut self, club: &Club) -> Result<(), AppError> {
        let admin_spec = STAFF
            .iter()
            .find(|s| s.who == Who::Admin)
            .ok_or_else(|| AppError::Internal("no demo admin".into()))?;
        // The demo's admin is created as `create-admin` would (nobody signed in yet), the others
        // by that admin, each with an initial password to change at first sign-in.
        let mut admin: Option<crate::audit::Actor> = None;
        for spec in std::iter::once(admin_spec).chain(STAFF.iter().filter(|s| s.who != Who::Admin))
        {
            let mut body = json!({
                "email": spec.email,
                "full_name": spec.full_name,
                "roles": spec.roles,
                "initial_password": spec.password,
            });
            if spec.who == Who::Auditor {
                // An inspection is time-boxed: the auditor's account ends on its own.
                body["active_until"] = json!(club.today + Duration::days(90));
            }
            let new = self.body(body)?;
            let ctx = self.ctx();
            let member = staff::service::create(&self.state, &ctx, admin.clone(), new).await?;
            let current = CurrentStaff::from(&member);
            if spec.who == Who::Admin {
                admin = Some(current.actor());
            }
            self.staff.insert(spec.who, current);
        }
        let admin = self.who(Who::Admin)?;
        let current = settings::service::read(&self.state).await?;
        let new = self.body(json!({
            "unit_name": UNIT_NAME,
            "unit_kind": "kis",
            "programme_months": 12,
            "follow_up_months": [3, 6, 12],
            "retention_years": 5,
            "project_retention_until": null,
            "review_interval_days": 90
        }))?;
        let ctx = self.ctx();
        settings::service::replace(&self.state, &ctx, admin.actor(), current.version, new).await?;
        Ok(())
    }

    async fn register(&mut self, st: &Story, i: usize) -> Result<(), AppError> {
        let caller = self.who(st.lead)?;
        let psychologist = self.who(Who::Psychologist)?;
        let counsellor = self.who(st.counsellor)?;
        let p = &st.person;
        let evidence_date = st.referred_on - Duration::days(7);
        let groups: Vec<Value> = p
            .risk_groups
            .iter()
            .map(|code| {
                json!({
                    "code": code,
                    "evidence": evidence(code, i, evidence_date),
                    "evidence_date": evidence_date,
                })
            })
            .collect();
        let mut body = json!({
            "first_name": p.first_name,
            "last_name": p.last_name,
            "phone": p.phone,
            "address": {"street": p.street, "postal_code": "99-999", "city": "Przykładowo"},
            "education_level": p.education,
            "labour_status_at_entry": p.labour_status,
            "disability": p.disability,
            "referral": {
                "source": st.referral_source,
                "reference": format!("{}/{}/{}", st.referral_source.to_uppercase(), st.referred_on.format("%Y"), i + 1),
                "referred_on": st.referred_on,
            },
            "risk_groups": groups,
            // The registering social worker joins as lead; psychologist and counsellor complete
            // the team so each can write their diagnoses.
            "care_team": [
                {"staff_id": psychologist.id, "lead": false},
                {"staff_id": counsellor.id, "lead": false},
            ],
        });
        match (&p.pesel, &p.id_document) {
            (Some(pesel), _) => body["pesel"] = json!(pesel),
            (None, Some((kind, number, country))) => {
                body["id_document"] =
                    json!({"kind": kind, "number": number, "issuing_country": country});
                body["birth_date"] = json!(p.birth_date);
                body["sex"] = json!(p.sex.as_str());
            }
            (None, None) => {
                body["birth_date"] = json!(p.birth_date);
                body["sex"] = json!(p.sex.as_str());
            }
        }
        if p.under_guardianship {
            body["legal_representative"] = json!({
                "full_name": format!("Opiekun prawny (demo) {}", p.last_name),
                "relation": "matka",
                "phone": "+48 500 999 001",
            });
        }
        let ctx = self.ctx();
        caller
            .require(&self.state, &ctx, Action::ParticipantCreate)
            .await?;
        let new = self.body(body)?;
        let created = participants::service::register(&self.state, &ctx, &caller, new).await?;
        self.people[i].id = created.id;
        Ok(())
    }

    async fn decide(&mut self, st: &Story, i: usize, today: NaiveDate) -> Result<(), AppError> {
        // Admission is the manager's decision (kierownik).
        let caller = self.who(Who::Manager)?;
        let ctx = self.ctx();
        let pid = self.people[i].id.clone();
        let access =
            access::authorize(&self.state, &ctx, &caller, Action::ParticipantQualify, &pid).await?;
        let body = if st.fate == Fate::Rejected {
            let reason = [
                "Pobiera zasiłek dla bezrobotnych: ustawa wyłącza taką osobę.",
                "Nie należy do żadnej grupy z art. 1 ust. 2 ustawy; skierowano do OPS.",
                "Nabył prawo do emerytury w trakcie postępowania.",
            ][i % 3];
            json!({"decision": "rejected", "decided_on": today, "reason": reason})
        } else {
            json!({"decision": "qualified", "decided_on": today})
        };
        let body = self.body(body)?;
        participants::lifecycle::qualify(&self.state, &ctx, &caller, access, None, body).await?;
        Ok(())
    }

    async fn start(&mut self, st: &Story, i: usize, today: NaiveDate) -> Result<(), AppError> {
        let caller = self.who(st.lead)?;
        let ctx = self.ctx();
        let pid = self.people[i].id.clone();
        let access =
            access::authorize(&self.state, &ctx, &caller, Action::ProgrammeManage, &pid).await?;
        let mut body = json!({
            "start_date": today,
            "basis": "kontrakt_socjalny",
            "basis_reference": format!("KS/{}/{}", today.format("%Y"), i + 1),
        });
        if let Some(m) = st.planned_months {
            body["planned_months"] = json!(m);
        }
        let body = self.body(body)?;
        let programme =
            programmes::service::start(&self.state, &ctx, &caller, access, body).await?;
        self.people[i].programme_id = programme.id;

        // Consents signed with the social contract (optional purposes only).
        let mut purposes = Vec::new();
        if st.contact_consent {
            purposes.push(json!({
                "purpose": "contact_after_exit",
                "granted_on": today,
                "expires_on": today + Duration::days(3 * 365),
                "document_reference": format!("ZG/{}/{}/1", today.format("%Y"), i + 1),
            }));
        }
        if st.image_consent {
            purposes.push(json!({
                "purpose": "image",
                "description": "Zdjęcia z zajęć grupowych na stronie klubu",
                "granted_on": today,
                "document_reference": format!("ZG/{}/{}/2", today.format("%Y"), i + 1),
            }));
        }
        for consent in purposes {
            let ctx = self.ctx();
            access::authorize(&self.state, &ctx, &caller, Action::ConsentWrite, &pid).await?;
            let image = consent["purpose"] == "image";
            let new = self.body(consent)?;
            let made =
                consents::service::create(&self.state, &ctx, &caller, pid.clone(), new).await?;
            if image {
                self.people[i].image_consent_id = Some(made.id);
            }
        }
        Ok(())
    }

    async fn diagnose(
        &mut self,
        st: &Story,
        i: usize,
        d: usize,
        today: NaiveDate,
    ) -> Result<(), AppError> {
        let spec = &st.diagnoses[d];
        let caller = self.who(spec.author)?;
        let ctx = self.ctx();
        let pid = self.people[i].id.clone();
        access::authorize(&self.state, &ctx, &caller, Action::DiagnosisWrite, &pid).await?;
        let (instrument, summary, findings, recommendations) = diagnosis_text(spec.kind);
        let mut body = json!({
            "kind": spec.kind,
            "performed_on": today,
            "summary": summary,
            "findings": findings,
            "recommendations": recommendations,
        });
        if let Some(instrument) = instrument {
            body["instrument"] = json!(instrument);
        }
        if let Some([r, ii, a, s, e, c]) = spec.holland {
            body["scores"] = json!({"R": r, "I": ii, "A": a, "S": s, "E": e, "C": c});
        }
        let new: diagnoses::model::NewDiagnosis = self.body(body)?;
        diagnoses::service::require_writer(
            &self.state,
            &ctx,
            &caller,
            new.kind,
            ("participant", pid.clone()),
        )
        .await?;
        let made = diagnoses::service::create(&self.state, &ctx, &caller, pid, new).await?;
        let ctx = self.ctx();
        diagnoses::service::finalize(&self.state, &ctx, &caller, made.id, None).await?;
        Ok(())
    }

    async fn draft_plan(&mut self, st: &Story, i: usize, today: NaiveDate) -> Result<(), AppError> {
        let caller = self.who(st.lead)?;
        let psychologist = self.who(Who::Psychologist)?;
        let counsellor = self.who(st.counsellor)?;
        let ctx = self.ctx();
        let pid = self.people[i].id.clone();
        access::authorize(&self.state, &ctx, &caller, Action::PlanWrite, &pid).await?;
        let start = st.start.unwrap_or(today);
        let month = |m: u32| story::plus_months(start, m);
        let mut goals = vec![
            json!({"area": "social", "title": "Regularny udział w grupie wsparcia",
                   "description": "Budowanie relacji i wsparcia w grupie.",
                   "indicator": "Obecność na co najmniej 80% spotkań", "target_date": month(5)}),
            json!({"area": "vocational", "title": "Podjęcie zatrudnienia lub kursu zawodowego",
                   "indicator": "Umowa o pracę albo zaświadczenie o ukończeniu kursu",
                   "target_date": month(11)}),
        ];
        let mut actions = vec![
            json!({"goal_index": 0, "title": "Cotygodniowa grupa wsparcia",
                   "responsible_staff_id": psychologist.id, "due_date": month(3),
                   "activity_type_code": "support_group"}),
            json!({"goal_index": 1, "title": "Spotkania z doradcą zawodowym",
                   "responsible_staff_id": counsellor.id, "due_date": month(4),
                   "activity_type_code": "vocational_counselling"}),
        ];
        if st.computer {
            actions.push(
                json!({"goal_index": 1, "title": "Kurs komputerowy w klubie",
                   "responsible_staff_id": counsellor.id, "due_date": month(6),
                   "activity_type_code": "computer_course"}),
            );
        }
        if st.job_search {
            goals.push(
                json!({"area": "vocational", "title": "Gotowe CV i list motywacyjny",
                   "indicator": "CV złożone u co najmniej trzech pracodawców",
                   "target_date": month(2)}),
            );
            actions.push(
                json!({"goal_index": 2, "title": "Warsztat aktywnego poszukiwania pracy",
                   "responsible_staff_id": counsellor.id, "due_date": month(2),
                   "activity_type_code": "job_search_workshop"}),
            );
        }
        let body = self.body(json!({
            "programme_id": self.people[i].programme_id,
            "goals": goals,
            "actions": actions,
        }))?;
        let plan = plans::service::create(&self.state, &ctx, &caller, pid, body).await?;
        self.people[i].plan = to_value(&plan)?;
        Ok(())
    }

    async fn activate(
        &mut self,
        i: usize,
        caller: &CurrentStaff,
        plan_id: String,
        today: NaiveDate,
    ) -> Result<(), AppError> {
        let ctx = self
            .plan_access(caller, Action::PlanActivate, Owned::Plan, &plan_id)
            .await?;
        let body = self.body(json!({"accepted_on": today, "accepted_by_participant": true}))?;
        let plan = plans::service::activate(&self.state, &ctx, caller, plan_id, None, body).await?;
        self.people[i].plan = to_value(&plan)?;
        Ok(())
    }

    async fn record_outcome(
        &mut self,
        st: &Story,
        i: usize,
        o: usize,
        today: NaiveDate,
    ) -> Result<(), AppError> {
        let spec: &Outcome = &st.outcomes[o];
        let social = story::OUTCOME_KINDS[8..].contains(&spec.kind);
        let caller = self.who(if social { st.lead } else { st.counsellor })?;
        let pid = self.people[i].id.clone();
        if spec.retract_first {
            // Entered for the wrong kind, retracted (never deleted), entered again.
            let wrong = if spec.kind == "debt_settled" {
                "other_social"
            } else {
                "debt_settled"
            };
            let id = self.outcome(&caller, &pid, wrong, i, today).await?;
            let ctx = self.ctx();
            outcomes::service::authorize_owned(
                &self.state,
                &ctx,
                &caller,
                Action::OutcomeWrite,
                &id,
            )
            .await?;
            let body = self.body(json!({"reason": "Omyłkowo wybrany rodzaj rezultatu."}))?;
            outcomes::service::retract(&self.state, &ctx, &caller, id, None, body).await?;
        }
        let id = self.outcome(&caller, &pid, spec.kind, i, today).await?;
        self.people[i].outcomes.insert(o, id);
        Ok(())
    }

    async fn outcome(
        &mut self,
        caller: &CurrentStaff,
        pid: &str,
        kind: &str,
        i: usize,
        today: NaiveDate,
    ) -> Result<String, AppError> {
        let ctx = self.ctx();
        access::authorize(&self.state, &ctx, caller, Action::OutcomeWrite, pid).await?;
        let (details, document) = outcome_details(kind, i);
        let body = self.body(json!({
            "kind": kind,
            "achieved_on": today,
            "details": details,
            "evidence": {"document_type": document, "reference": format!("REZ/{}/{}", today.format("%Y"), i + 1)},
        }))?;
        let made =
            outcomes::service::create(&self.state, &ctx, caller, pid.to_owned(), body).await?;
        Ok(made.id)
    }

    async fn exit(&mut self, st: &Story, i: usize, today: NaiveDate) -> Result<(), AppError> {
        let Fate::Exited(reason) = st.fate else {
            return Ok(());
        };
        let caller = self.who(st.lead)?;
        let ctx = self.ctx();
        let id = self.people[i].programme_id.clone();
        programmes::service::authorize_owned(
            &self.state,
            &ctx,
            &caller,
            Action::ProgrammeManage,
            programmes::service::Owned::Programme,
            &id,
        )
        .await?;
        let note = match reason {
            "other" => Some("Uczestnik podjął opiekę nad chorym członkiem rodziny."),
            "expelled" => Some("Rażące naruszenie regulaminu klubu mimo dwóch upomnień."),
            "moved" => Some("Przeprowadzka do innej gminy."),
            _ => None,
        };
        let mut body = json!({"exit_date": today, "exit_reason": reason});
        if let Some(note) = note {
            body["exit_note"] = json!(note);
        }
        let body = self.body(body)?;
        programmes::service::exit(&self.state, &ctx, &caller, id, None, body).await?;
        Ok(())
    }

    async fn follow_up(
        &mut self,
        st: &Story,
        i: usize,
        f: usize,
        today: NaiveDate,
    ) -> Result<(), AppError> {
        let spec = &st.follow_ups[f];
        let caller = self.who(st.lead)?;
        let pid = self.people[i].id.clone();
        let programme = self.people[i].programme_id.clone();
        let months = spec.months as i32;
        let due = self
            .state
            .db
            .read(move |conn| {
                let (items, _) = programmes::service::list_follow_ups(
                    conn,
                    &pid,
                    PageRequest {
                        page: 1,
                        per_page: 50,
                    },
                    View::Full,
                )?;
                Ok(items
                    .into_iter()
                    .find(|f| f.programme_id == programme && f.months_after_exit == months))
            })
            .await?
            .ok_or_else(|| AppError::Internal(format!("no {months}-month follow-up")))?;
        let ctx = self.ctx();
        programmes::service::authorize_owned(
            &self.state,
            &ctx,
            &caller,
            Action::FollowUpWrite,
            programmes::service::Owned::FollowUp,
            &due.id,
        )
        .await?;
        let note = match spec.result {
            "employed" => "Pracuje, umowa przedłużona.",
            "education" => "Kontynuuje naukę w szkole policealnej.",
            "not_employed" => "Nadal szuka pracy, zarejestrowany w PUP.",
            "declined" => "Nie chce rozmawiać o swojej sytuacji.",
            _ => "Trzy próby kontaktu telefonicznego bez odpowiedzi.",
        };
        let body =
            self.body(json!({"contacted_on": today, "result": spec.result, "note": note}))?;
        programmes::service::record_contact(&self.state, &ctx, &caller, due.id, due.version, body)
            .await?;
        Ok(())
    }

    async fn plan_session(&mut self, spec: &SessionSpec) -> Result<(), AppError> {
        let series = &SERIES[spec.series];
        let caller = self.who(series.recorder)?;
        let facilitators = series
            .facilitators
            .iter()
            .map(|w| self.who(*w).map(|s| s.id))
            .collect::<Result<Vec<_>, _>>()?;
        let invited: Vec<&str> = spec
            .attendees
            .iter()
            .map(|n| self.people[*n].id.as_str())
            .collect();
        let starts_at = at(spec.day, series.hour, 0);
        let body = self.body(json!({
            "activity_type_code": series.activity,
            "title": spec.title,
            "starts_at": starts_at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
            "duration_minutes": series.minutes,
            "location": series.location,
            "facilitator_ids": facilitators,
            "participant_ids": invited,
        }))?;
        let ctx = self.ctx();
        sessions::service::require(&self.state, &ctx, &caller, Action::SessionCreate).await?;
        let made = sessions::service::create(&self.state, &ctx, &caller, body).await?;
        self.sessions.push((made.id, made.version));
        Ok(())
    }

    async fn close_session(&mut self, spec: &SessionSpec, n: usize) -> Result<(), AppError> {
        let series = &SERIES[spec.series];
        let caller = self.who(series.recorder)?;
        let (id, version) = self
            .sessions
            .get(n)
            .cloned()
            .ok_or_else(|| AppError::Internal("session not planned".into()))?;
        let ctx = self.ctx();
        if spec.cancelled {
            sessions::service::authorize(&self.state, &ctx, &caller, Action::SessionEdit, &id)
                .await?;
            let body = self.body(json!({"reason": "Prowadzący na zwolnieniu lekarskim."}))?;
            sessions::service::cancel(&self.state, &ctx, &caller, id, Some(version), body).await?;
            return Ok(());
        }
        sessions::service::authorize(&self.state, &ctx, &caller, Action::AttendanceRecord, &id)
            .await?;
        let mut rows = Vec::new();
        for person in &spec.attendees {
            let draw = self.rng.range(0, 99);
            let pid = &self.people[*person].id;
            rows.push(match draw {
                0..=71 => json!({"participant_id": pid, "status": "present"}),
                72..=79 => json!({"participant_id": pid, "status": "late",
                                  "minutes": series.minutes - 15 * (1 + draw % 3),
                                  "note": "Spóźnienie (autobus)."}),
                80..=89 => json!({"participant_id": pid, "status": "excused",
                                  "note": "Zwolnienie lekarskie."}),
                _ => json!({"participant_id": pid, "status": "absent"}),
            });
        }
        let body = self.body(Value::Array(rows))?;
        sessions::service::record_attendance(&self.state, &ctx, &caller, id, version, body).await?;
        Ok(())
    }
}

fn to_value<T: serde::Serialize>(v: &T) -> Result<Value, AppError> {
    serde_json::to_value(v).map_err(|e| AppError::Internal(e.to_string()))
}

fn str_of(v: &Value, key: &str) -> Result<String, AppError> {
    v[key]
        .as_str()
        .map(str::to_owned)
        .ok_or_else(|| AppError::Internal(format!("no `{key}` in {v}")))
}

/// Every step of the plan at its day and time of day (Warsaw).
fn schedule(club: &Club) -> Vec<(DateTime<Utc>, Task)> {
    let mut tasks = vec![(at(club.first_day, 7, 0), Task::Setup)];
    for (i, st) in club.stories.iter().enumerate() {
        tasks.push((at(st.referred_on, 9, 0), Task::Register(i)));
        if let Some(d) = st.decided_on {
            tasks.push((at(d, 9, 30), Task::Decide(i)));
        }
        if let Some(s) = st.start {
            tasks.push((at(s, 9, 45), Task::Start(i)));
        }
        if let Some(w) = st.image_withdrawn_on {
            tasks.push((at(w, 13, 0), Task::WithdrawImage(i)));
        }
        for (d, diagnosis) in st.diagnoses.iter().enumerate() {
            tasks.push((at(diagnosis.on, 13, 0), Task::Diagnose(i, d)));
        }
        if let Some(p) = st.plan_on {
            tasks.push((at(p, 13, 30), Task::DraftPlan(i)));
            tasks.push((at(p + Duration::days(1), 14, 0), Task::ActivatePlan(i)));
        }
        for r in &st.reviews {
            tasks.push((at(*r, 14, 30), Task::Review(i, *r)));
        }
        if let Some(r) = st.revise_on {
            tasks.push((at(r, 14, 45), Task::Revise(i)));
        }
        for (g, on) in &st.goals_achieved {
            tasks.push((at(*on, 15, 0), Task::AchieveGoal(i, *g)));
        }
        if let Some(d) = st.action_done_on {
            tasks.push((at(d, 15, 10), Task::ActionDone(i)));
        }
        for (o, outcome) in st.outcomes.iter().enumerate() {
            tasks.push((at(outcome.on, 15, 30), Task::RecordOutcome(i, o)));
            if let Some(v) = outcome.verify_on {
                tasks.push((at(v, 16, 0), Task::Verify(i, o)));
            }
        }
        if let Some(x) = st.exit {
            tasks.push((at(x, 16, 30), Task::Exit(i)));
        }
        for (f, follow_up) in st.follow_ups.iter().enumerate() {
            tasks.push((at(follow_up.contact_on, 17, 0), Task::FollowUp(i, f)));
        }
        if let Some(r) = st.re_referred_on {
            tasks.push((at(r, 17, 30), Task::ReRefer(i)));
        }
        if let Some(a) = st.anonymised_on {
            tasks.push((at(a, 17, 45), Task::Anonymise(i)));
        }
    }
    for (n, spec) in club.sessions.iter().enumerate() {
        let series = &SERIES[spec.series];
        tasks.push((at(spec.day, 8, 0), Task::PlanSession(n, false)));
        let end = at(spec.day, series.hour, 0) + Duration::minutes(series.minutes);
        tasks.push((end, Task::CloseSession(n)));
    }
    // The coming week's groups are planned on the last evening.
    let last = club.today - Duration::days(1);
    for n in 0..club.upcoming.len() {
        tasks.push((
            at(last, 19, 0),
            Task::PlanSession(club.sessions.len() + n, true),
        ));
    }
    tasks
}

fn evidence(code: &str, i: usize, on: NaiveDate) -> String {
    let n = i + 1;
    match code {
        "homeless_exit_programme" => {
            format!("Indywidualny program wychodzenia z bezdomności IPWB/{n} (OPS) z dnia {on}")
        }
        "alcohol_after_therapy" => format!(
            "Zaświadczenie o ukończeniu terapii odwykowej, poradnia leczenia uzależnień, nr {n}/T"
        ),
        "drug_after_therapy" => format!(
            "Zaświadczenie ośrodka terapii uzależnień od substancji psychoaktywnych nr {n}/N"
        ),
        "mental_illness" => format!("Zaświadczenie lekarza psychiatry nr {n}/P"),
        "long_term_unemployed" => {
            format!("Zaświadczenie PUP nr {n}/PUP: 14 z ostatnich 24 miesięcy w rejestrze")
        }
        // Only the release certificate and its date, never the offence (domain brief §6).
        "released_prisoner" => format!("Zaświadczenie o zwolnieniu z zakładu karnego z dnia {on}"),
        "refugee_integration" => {
            format!("Indywidualny program integracji nr {n}/PCPR i decyzja o udzieleniu ochrony")
        }
        "disability" => format!("Orzeczenie o umiarkowanym stopniu niepełnosprawności nr {n}/ON"),
        _ => format!("Dokument nr {n}"),
    }
}

/// (instrument, summary, findings, recommendations) by diagnosis kind.
fn diagnosis_text(
    kind: &str,
) -> (
    Option<&'static str>,
    &'static str,
    &'static str,
    &'static str,
) {
    match kind {
        "social" => (
            None,
            "Samotnie mieszka, zadłużenie czynszowe, ograniczone kontakty z rodziną.",
            "Od kilku lat bez stałej pracy; korzysta z zasiłku okresowego OPS.",
            "Grupa wsparcia, poradnictwo socjalne, warsztat aktywnego poszukiwania pracy.",
        ),
        "general_survey" => (
            None,
            "Wywiad środowiskowy: sytuacja mieszkaniowa stabilna, wykształcenie zasadnicze.",
            "Doświadczenie w pracach magazynowych i porządkowych.",
            "Uzupełnienie kwalifikacji, kurs komputerowy.",
        ),
        "interests_questionnaire" => (
            Some("Kwestionariusz zainteresowań zawodowych (klubowy)"),
            "Zainteresowania praktyczne: prace techniczne i usługowe.",
            "Preferuje pracę w zespole, z jasno określonymi zadaniami.",
            "Warsztat CV, rozmowa z doradcą o kursie zawodowym.",
        ),
        "psychometric" => (
            Some("Skala samooceny (SES), wersja polska"),
            "Obniżona samoocena, umiarkowany poziom stresu.",
            "Wyniki surowe i steny w protokole badania (tylko psycholog).",
            "Psychoedukacja: poczucie własnej wartości, radzenie sobie ze stresem.",
        ),
        "psychological" => (
            None,
            "Konsultacja psychologiczna.",
            "Ustalenia objęte tajemnicą psychologa.",
            "Konsultacje indywidualne raz w miesiącu.",
        ),
        "vocational" => (
            None,
            "Realne szanse na zatrudnienie w usługach i logistyce.",
            "Brak aktualnego CV; prawo jazdy kat. B.",
            "Kurs zawodowy i praktyka u pracodawcy.",
        ),
        _ => (
            Some("Holland SDS (PL)"),
            "Kod Hollanda wyznaczony na podstawie testu SDS.",
            "Profil zainteresowań opisany w protokole.",
            "Dobór ścieżki zawodowej zgodnie z kodem.",
        ),
    }
}

/// (details, evidence document type) by outcome kind.
fn outcome_details(kind: &str, i: usize) -> (Value, &'static str) {
    let employers = [
        "Hurtownia Przykładowa sp. z o.o. (demo)",
        "Przedsiębiorstwo Usług Komunalnych Przykładowo (demo)",
        "Sklep Spożywczy »Na Rogu« (demo)",
    ];
    let employer = employers[i % employers.len()];
    match kind {
        "employment_contract" => (
            json!({"employer": employer, "hours_per_week": if i % 2 == 0 { 40 } else { 20 }}),
            "employment_contract_copy",
        ),
        "civil_law_contract" => (json!({"employer": employer}), "contract_copy"),
        "supported_employment" => (
            json!({"employer": "Zakład Aktywności Zawodowej w Przykładowie (demo)"}),
            "contract_copy",
        ),
        "self_employment" => (
            json!({"name": "Drobne naprawy domowe — jednoosobowa działalność (demo)"}),
            "ceidg_entry",
        ),
        "social_cooperative" => (
            json!({"name": "Spółdzielnia Socjalna »Razem« (demo)"}),
            "membership_declaration",
        ),
        "education" => (
            json!({"institution": "Szkoła Policealna w Przykładowie (demo)", "name": "Technik administracji"}),
            "school_certificate",
        ),
        "training_completed" => (
            json!({"institution": "Klub Integracji Społecznej (demo)", "name": "Kurs komputerowy"}),
            "course_certificate",
        ),
        "qualification" => (
            json!({"institution": "Urząd Dozoru Technicznego", "name": "Operator wózka widłowego"}),
            "qualification_certificate",
        ),
        _ => (
            json!({"description": "Potwierdzone w rozmowie z pracownikiem socjalnym."}),
            "staff_statement",
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::policy::Role;

    #[test]
    fn the_demo_passwords_pass_the_password_rules() {
        for s in STAFF {
            assert!(
                crate::auth::password::check_new_password(s.password, s.email, None).is_ok(),
                "{}",
                s.email
            );
            for role in s.roles {
                assert!(Role::parse(role).is_some(), "{role}");
            }
        }
    }

    #[test]
    fn a_day_at_a_time_is_warsaw_time() {
        let d = NaiveDate::from_ymd_opt(2026, 7, 1).unwrap_or_default();
        assert_eq!(at(d, 10, 0).to_rfc3339(), "2026-07-01T08:00:00+00:00");
    }
}
