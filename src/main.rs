//! The `reintegra` command line: serve (the default), migrate, openapi, create-admin, audit-head,
//! seed-demo, and the operations commands (transfer, backup, restore; their logic is in
//! `reintegra::transfer`).

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use actix_web::HttpServer;
use clap::{CommandFactory, FromArgMatches, Parser, Subcommand};

use reintegra::clock::SystemClock;
use reintegra::config::{Config, DatabaseUrl, DEFAULT_SQLITE_PATH, VARIABLES};
use reintegra::db::{self, migrations};
use reintegra::staff::service::Bootstrap;
use reintegra::state::AppState;

#[derive(Parser)]
#[command(
    name = "reintegra",
    version,
    about = "Participant case management for social integration clubs (KIS) and centres (CIS)"
)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand)]
enum Command {
    /// Apply pending migrations, then serve HTTP on REINTEGRA_BIND (the default command).
    Serve,
    /// Apply pending migrations and exit.
    Migrate,
    /// Print the OpenAPI document (what openapi/openapi.json holds).
    Openapi,
    /// Create an admin account, or reset an existing account's password and make it an active
    /// admin; the password is read from standard input. For bootstrapping an installation.
    CreateAdmin {
        #[arg(long)]
        email: String,
        #[arg(long)]
        full_name: String,
        /// Read the password from standard input (its first line).
        #[arg(long, required = true)]
        password_stdin: bool,
    },
    /// Print the audit chain's head (`seq` and hash) as JSON. Keep it outside the database (a
    /// ticket, a printout, another system): `GET /api/v1/audit-events/verify?expected_seq=…&
    /// expected_hash=…` later proves the chain still contains it unchanged.
    AuditHead,
    /// Copy every table from one database into another, either backend, and verify the copy:
    /// the target is migrated, must hold no data, and receives everything in one transaction
    /// that commits only when every table's row count and checksum match the source and the
    /// audit chain verifies there. Stop the service first (the copy is of one snapshot; writes
    /// after it would be left behind).
    Transfer {
        /// The source, as DATABASE_URL takes it (a SQLite file path or sqlite://PATH, or
        /// postgres://…). Opened read-only.
        #[arg(long)]
        from: String,
        /// The target, likewise: a new SQLite file, or an empty PostgreSQL database.
        #[arg(long)]
        to: String,
    },
    /// Write a consistent snapshot of the SQLite database (DATABASE_URL) to a new file, while
    /// the service runs, and check it. On PostgreSQL this says how to use pg_dump and fails.
    Backup {
        /// The backup file; never overwritten.
        #[arg(long)]
        to: PathBuf,
    },
    /// Restore a SQLite backup into the database DATABASE_URL names (SQLite or PostgreSQL): the
    /// backup's integrity and audit chain are checked, then it is transferred and verified in
    /// one transaction. Stop the service first.
    Restore {
        /// The backup file (made by `reintegra backup`).
        #[arg(long)]
        from: PathBuf,
        /// Replace the data the database holds (by default a database with data is refused).
        /// Everything written since the backup is lost, the audit events included.
        #[arg(long)]
        replace: bool,
    },
    /// Fill an empty database (migrated first) with a fictional club to try the service: staff
    /// of every role with printed demo passwords, 60 participants, 18 months of programmes,
    /// sessions, attendance, outcomes and follow-ups. Refuses a database that already holds
    /// participants, sessions or staff other than admins.
    SeedDemo {
        /// The same seed gives the same club (names, dates, attendance) on the same day.
        #[arg(long, default_value_t = 1)]
        seed: u64,
    },
}

/// Exit code for invalid configuration (one line on stderr names the variable).
const EXIT_CONFIG: u8 = 2;

/// OWASP's least memory cost for argon2id (with t = 2, p = 1).
const RECOMMENDED_ARGON2_M_KIB: u32 = 19_456;

fn main() -> ExitCode {
    let matches = Cli::command()
        .after_long_help(environment_help())
        .get_matches();
    let cli = match Cli::from_arg_matches(&matches) {
        Ok(cli) => cli,
        Err(e) => e.exit(),
    };
    match cli.command.unwrap_or(Command::Serve) {
        Command::Openapi => {
            print!("{}", reintegra::openapi::document_json());
            ExitCode::SUCCESS
        }
        Command::Migrate => with_state(|state| migrate(&state).map(|_| ())),
        Command::AuditHead => with_state(|state| audit_head(&state)),
        Command::Serve => with_state(serve),
        Command::CreateAdmin {
            email, full_name, ..
        } => with_state(|state| create_admin(&state, &email, &full_name)),
        Command::Transfer { from, to } => transfer(&from, &to),
        Command::Backup { to } => backup(&to),
        Command::Restore { from, replace } => restore(&from, replace),
        Command::SeedDemo { seed } => seed_demo(seed),
    }
}

/// A URL given on the command line; a bad one is one line and exit code 2, like a bad variable.
fn database_url(name: &str, raw: &str) -> Result<DatabaseUrl, ExitCode> {
    DatabaseUrl::parse(raw).map_err(|e| {
        eprintln!("configuration error: {name}: {e}");
        ExitCode::from(EXIT_CONFIG)
    })
}

/// DATABASE_URL alone: backup and restore need no other configuration (on PostgreSQL the
/// service would also insist on a JWT secret, which has nothing to do with them).
fn configured_database() -> Result<DatabaseUrl, ExitCode> {
    let raw = std::env::var("DATABASE_URL").unwrap_or_else(|_| DEFAULT_SQLITE_PATH.to_owned());
    database_url("DATABASE_URL", &raw)
}

fn finish(result: Result<(), String>) -> ExitCode {
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}

fn transfer(from: &str, to: &str) -> ExitCode {
    let (from, to) = match (database_url("--from", from), database_url("--to", to)) {
        (Ok(from), Ok(to)) => (from, to),
        (Err(code), _) | (_, Err(code)) => return code,
    };
    init_logging();
    let mut progress = reintegra::transfer::stderr_progress();
    finish(
        reintegra::transfer::transfer(&from, &to, Default::default(), progress.as_mut())
            .map(|report| println!("{report}"))
            .map_err(|e| e.to_string()),
    )
}

fn backup(to: &std::path::Path) -> ExitCode {
    let database = match configured_database() {
        Ok(d) => d,
        Err(code) => return code,
    };
    init_logging();
    finish(
        reintegra::transfer::backup(&database, to)
            .map(|b| {
                println!(
                    "backup written to {} ({} bytes, {} rows, {:.1} s); integrity ok; audit chain verified: {} events, head seq {}, hash {}",
                    b.file.display(),
                    b.bytes,
                    b.rows,
                    b.seconds,
                    b.audit.checked,
                    b.audit.head_seq,
                    b.audit.head_hash
                )
            })
            .map_err(|e| e.to_string()),
    )
}

fn restore(from: &std::path::Path, replace: bool) -> ExitCode {
    let database = match configured_database() {
        Ok(d) => d,
        Err(code) => return code,
    };
    init_logging();
    let mut progress = reintegra::transfer::stderr_progress();
    finish(
        reintegra::transfer::restore(from, &database, replace, progress.as_mut())
            .map(|report| println!("{report}"))
            .map_err(|e| e.to_string()),
    )
}

fn environment_help() -> String {
    let mut text = String::from("Environment (all optional on the SQLite default):\n");
    for v in VARIABLES {
        text.push_str(&format!(
            "  {:<40} {} [default: {}]\n",
            v.name, v.meaning, v.default
        ));
    }
    text
}

fn init_logging() {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .init();
}

/// Reads and checks the configuration (one line on stderr and exit code 2 when it is bad) and
/// starts logging.
fn configure() -> Result<Config, ExitCode> {
    let config = Config::from_env().map_err(|e| {
        eprintln!("{e}");
        ExitCode::from(EXIT_CONFIG)
    })?;
    init_logging();
    if config.argon2.m_kib < RECOMMENDED_ARGON2_M_KIB {
        tracing::warn!(
            m_kib = config.argon2.m_kib,
            "REINTEGRA_ARGON2_M_KIB is below 19456 (19 MiB), the least OWASP recommends for \
             argon2id: stolen password hashes are cheaper to crack"
        );
    }
    Ok(config)
}

/// Reads and checks the configuration, builds the state and runs `f`; a bad configuration is one
/// line on stderr and exit code 2.
fn with_state(f: impl FnOnce(AppState) -> Result<(), String>) -> ExitCode {
    let config = match configure() {
        Ok(c) => c,
        Err(code) => return code,
    };
    let state = match AppState::new(config, Arc::new(SystemClock)) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("{e}");
            return ExitCode::from(EXIT_CONFIG);
        }
    };
    let result = f(state);
    if let Err(e) = &result {
        tracing::error!("{e}");
    }
    finish(result)
}

/// The demo builds its own state: its clock walks through the club's history.
fn seed_demo(seed: u64) -> ExitCode {
    let config = match configure() {
        Ok(c) => c,
        Err(code) => return code,
    };
    let options = reintegra::demo::Options { seed, today: None };
    finish(
        actix_web::rt::System::new()
            .block_on(reintegra::demo::seed(config, options))
            .map(|summary| println!("{summary}")),
    )
}

fn migrate(state: &AppState) -> Result<Vec<String>, String> {
    let mut conn = db::establish(&state.config.database)
        .map_err(|e| format!("cannot connect to the database: {e}"))?;
    let applied =
        migrations::run_pending(&mut conn).map_err(|e| format!("migration failed: {e}"))?;
    for name in &applied {
        tracing::info!(migration = %name, "applied");
    }
    tracing::info!(
        applied = applied.len(),
        backend = state.db.backend().name(),
        "database is up to date"
    );
    Ok(applied)
}

fn audit_head(state: &AppState) -> Result<(), String> {
    let mut conn = db::establish(&state.config.database)
        .map_err(|e| format!("cannot connect to the database: {e}"))?;
    let head = reintegra::audit::head(&mut conn).map_err(|e| {
        format!("cannot read the audit chain's head (is the database migrated?): {e}")
    })?;
    println!(
        "{}",
        serde_json::json!({"seq": head.seq, "hash": head.hash})
    );
    Ok(())
}

fn create_admin(state: &AppState, email: &str, full_name: &str) -> Result<(), String> {
    let mut line = String::new();
    std::io::stdin()
        .read_line(&mut line)
        .map_err(|e| format!("cannot read the password from standard input: {e}"))?;
    let password = line.trim_end_matches(['\r', '\n']);
    migrate(state)?;
    let result = reintegra::staff::service::create_admin(state, email, full_name, password)?;
    let email = email.trim().to_lowercase();
    match result {
        Bootstrap::Created(id) => println!("created admin {email} ({id})"),
        Bootstrap::Reset(id) => {
            println!("reset the password of {email} ({id}); it is an active admin")
        }
    }
    Ok(())
}

fn serve(state: AppState) -> Result<(), String> {
    reintegra::memory::return_large_blocks_on_free();
    migrate(&state)?;
    // The route table (methods, media types) comes from the OpenAPI document: built before the
    // first request rather than by it, so cold start counts it and no request waits for it.
    reintegra::http::routes::RouteTable::global();
    let config = state.config.clone();
    actix_web::rt::System::new().block_on(async move {
        let factory_state = state.clone();
        let factory = move || {
            let app = reintegra::app(factory_state.clone());
            reintegra::memory::release_free_memory();
            app
        };
        // SIGTERM/SIGINT stop accepting and let running requests finish for up to 30 s.
        let mut server = HttpServer::new(factory).shutdown_timeout(30);
        if let Some(workers) = config.workers {
            server = server.workers(workers);
        }
        let server = server
            .bind(config.bind)
            .map_err(|e| format!("cannot listen on {}: {e}", config.bind))?;
        for addr in server.addrs() {
            tracing::info!(address = %addr, backend = state.db.backend().name(), "listening");
        }
        server
            .run()
            .await
            .map_err(|e| format!("server error: {e}"))?;
        tracing::info!("stopped");
        Ok(())
    })
}
