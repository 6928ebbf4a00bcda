//! Everything a request handler may reach: configuration, database, clock, metrics, token keys.

use std::fs;
use std::io::Write;
use std::path::Path;
use std::sync::Arc;

use crate::audit::appender::Appender;
use crate::auth::password::Passwords;
use crate::auth::throttle::{AddressLimiter, RejectionLimiter};
use crate::clock::Clock;
use crate::config::{Config, JwtSecret, SecretSource};
use crate::db::Db;
use crate::metrics::Metrics;

#[derive(Clone)]
pub struct AppState {
    pub config: Arc<Config>,
    pub db: Db,
    pub clock: Arc<dyn Clock>,
    pub metrics: Arc<Metrics>,
    pub jwt_secret: JwtSecret,
    pub passwords: Arc<Passwords>,
    pub login_limiter: Arc<AddressLimiter>,
    pub rejections: Arc<RejectionLimiter>,
    /// Group commit for audit events that travel alone.
    pub audit: Appender,
}

#[derive(Debug, thiserror::Error)]
pub enum StartupError {
    #[error("configuration error: REINTEGRA_JWT_SECRET: {0}")]
    Secret(String),
    #[error("cannot prepare the database location: {0}")]
    Location(std::io::Error),
    #[error("configuration error: REINTEGRA_ARGON2_M_KIB/T/P: {0}")]
    Argon2(String),
    #[error("cannot set up metrics: {0}")]
    Metrics(prometheus::Error),
    #[error("cannot start the audit appender: {0}")]
    Appender(std::io::Error),
}

impl AppState {
    pub fn new(config: Config, clock: Arc<dyn Clock>) -> Result<AppState, StartupError> {
        crate::db::prepare_location(&config.database).map_err(StartupError::Location)?;
        let jwt_secret = load_secret(&config.jwt_secret)?;
        let db = Db::new(&config.database, config.db_pool_size);
        let passwords = Passwords::new(config.argon2).map_err(StartupError::Argon2)?;
        let login_limiter = Arc::new(AddressLimiter::new(config.login_per_address_per_minute));
        let rejections = Arc::new(RejectionLimiter::new(
            config.unauthenticated_per_address_per_minute,
        ));
        let audit = Appender::start(db.clone()).map_err(StartupError::Appender)?;
        Ok(AppState {
            audit,
            passwords,
            login_limiter,
            rejections,
            config: Arc::new(config),
            db,
            clock,
            metrics: Arc::new(Metrics::new().map_err(StartupError::Metrics)?),
            jwt_secret,
        })
    }
}

/// The secret from the environment, or the one generated beside the SQLite database on first start.
fn load_secret(source: &SecretSource) -> Result<JwtSecret, StartupError> {
    match source {
        SecretSource::Given(secret) => Ok(secret.clone()),
        SecretSource::File(path) => {
            if !path.exists() {
                generate_secret_file(path).map_err(|e| {
                    StartupError::Secret(format!("cannot create {}: {e}", path.display()))
                })?;
                tracing::info!(path = %path.display(), "generated a new JWT secret");
            }
            restrict_permissions(path).map_err(|e| {
                StartupError::Secret(format!("cannot secure {}: {e}", path.display()))
            })?;
            let raw = fs::read_to_string(path).map_err(|e| {
                StartupError::Secret(format!("cannot read {}: {e}", path.display()))
            })?;
            JwtSecret::new(raw.trim().as_bytes().to_vec())
                .map_err(|e| StartupError::Secret(format!("{}: {e}", path.display())))
        }
    }
}

fn generate_secret_file(path: &Path) -> std::io::Result<()> {
    let mut bytes = [0u8; 32];
    rand::fill(&mut bytes);
    let mut options = fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut file = options.open(path)?;
    writeln!(file, "{}", hex::encode(bytes))?;
    file.sync_all()
}

/// The secret signs every token: nobody but the service's user may read it.
fn restrict_permissions(path: &Path) -> std::io::Result<()> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = fs::metadata(path)?.permissions().mode() & 0o777;
        if mode != 0o600 {
            tracing::warn!(path = %path.display(), mode = format!("{mode:o}"), "tightening JWT secret permissions to 0600");
            fs::set_permissions(path, fs::Permissions::from_mode(0o600))?;
        }
    }
    Ok(())
}
