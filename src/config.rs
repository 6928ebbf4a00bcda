//! Typed configuration, read once from environment variables and validated before anything starts.
//!
//! A bad value stops the process with one line naming the variable (exit code 2); see `main.rs`.

use std::fmt;
use std::net::{IpAddr, SocketAddr};
use std::path::{Path, PathBuf};

/// Where a SQLite database lives when `DATABASE_URL` is not set: a fresh clone runs with no set-up.
pub const DEFAULT_SQLITE_PATH: &str = "data/reintegra.db";
/// File beside the SQLite database holding the generated JWT secret.
pub const SECRET_FILE_NAME: &str = "jwt-secret";
/// HS256 keys shorter than this are guessable; the contract requires at least 32 bytes.
pub const MIN_SECRET_BYTES: usize = 32;

/// The database the service talks to, decided from the URL scheme — never by trial, because SQLite
/// accepts almost any string as a file name and a mistyped PostgreSQL URL would silently become a file.
#[derive(Clone, PartialEq, Eq)]
pub enum DatabaseUrl {
    Sqlite(PathBuf),
    Postgres(String),
}

impl DatabaseUrl {
    pub fn parse(raw: &str) -> Result<Self, String> {
        let raw = raw.trim();
        if raw.is_empty() {
            return Err("must not be empty".into());
        }
        if raw.starts_with("postgres://") || raw.starts_with("postgresql://") {
            return Ok(DatabaseUrl::Postgres(raw.to_owned()));
        }
        if let Some(path) = raw.strip_prefix("sqlite://") {
            if path.is_empty() {
                return Err("sqlite:// needs a file path".into());
            }
            return Ok(DatabaseUrl::Sqlite(PathBuf::from(path)));
        }
        if let Some((scheme, _)) = raw.split_once("://") {
            return Err(format!(
                "unsupported scheme `{scheme}://` (use postgres://, postgresql://, sqlite:// or a file path)"
            ));
        }
        if raw == ":memory:" {
            // Every pooled connection would get its own empty database.
            return Err("in-memory SQLite is not supported; give a file path".into());
        }
        Ok(DatabaseUrl::Sqlite(PathBuf::from(raw)))
    }

    pub fn is_sqlite(&self) -> bool {
        matches!(self, DatabaseUrl::Sqlite(_))
    }
}

impl fmt::Debug for DatabaseUrl {
    // PostgreSQL URLs may carry a password: never print it.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DatabaseUrl::Sqlite(p) => write!(f, "Sqlite({})", p.display()),
            DatabaseUrl::Postgres(url) => write!(f, "Postgres({})", redact_url(url)),
        }
    }
}

fn redact_url(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(s), Some(at)) if at > s => format!("{}://***@{}", &url[..s], &url[at + 1..]),
        _ => url.to_owned(),
    }
}

/// The JWT signing secret. Its `Debug` never shows the bytes.
#[derive(Clone)]
pub struct JwtSecret(Vec<u8>);

impl JwtSecret {
    pub fn new(bytes: Vec<u8>) -> Result<Self, String> {
        if bytes.len() < MIN_SECRET_BYTES {
            return Err(format!("must be at least {MIN_SECRET_BYTES} bytes long"));
        }
        Ok(JwtSecret(bytes))
    }
    pub fn expose(&self) -> &[u8] {
        &self.0
    }
}

impl fmt::Debug for JwtSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("JwtSecret(***)")
    }
}

/// Where the JWT secret comes from before it is loaded: the environment, or a generated file
/// beside the SQLite database (created on first start with mode 0600).
#[derive(Debug, Clone)]
pub enum SecretSource {
    Given(JwtSecret),
    File(PathBuf),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Argon2Params {
    pub m_kib: u32,
    pub t: u32,
    pub p: u32,
}

impl Default for Argon2Params {
    /// OWASP's recommended argon2id parameters.
    fn default() -> Self {
        Argon2Params {
            m_kib: 19 * 1024,
            t: 2,
            p: 1,
        }
    }
}

#[derive(Debug, Clone)]
pub struct Config {
    pub database: DatabaseUrl,
    pub bind: SocketAddr,
    pub jwt_secret: SecretSource,
    pub access_token_ttl_secs: u32,
    pub db_pool_size: u32,
    pub workers: Option<usize>,
    pub cors_origins: Vec<String>,
    pub metrics: bool,
    pub argon2: Argon2Params,
    pub trusted_proxies: Vec<IpAddr>,
    pub login_per_address_per_minute: u32,
    pub unauthenticated_per_address_per_minute: u32,
}

/// A configuration error: the variable at fault and what is wrong with its value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigError {
    pub var: &'static str,
    pub message: String,
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "configuration error: {}: {}", self.var, self.message)
    }
}

impl std::error::Error for ConfigError {}

/// One documented variable; `reintegra --help` and the README list the same table.
pub struct Variable {
    pub name: &'static str,
    pub default: &'static str,
    pub meaning: &'static str,
}

pub const VARIABLES: &[Variable] = &[
    Variable {
        name: "DATABASE_URL",
        default: DEFAULT_SQLITE_PATH,
        meaning:
            "postgres://… or postgresql://… for PostgreSQL; sqlite://PATH or a file path for SQLite",
    },
    Variable {
        name: "REINTEGRA_BIND",
        default: "127.0.0.1:8080",
        meaning: "address and port to listen on",
    },
    Variable {
        name: "REINTEGRA_JWT_SECRET",
        default: "generated into data/jwt-secret (SQLite only)",
        meaning: "HS256 signing secret, at least 32 bytes; required on PostgreSQL",
    },
    Variable {
        name: "REINTEGRA_ACCESS_TOKEN_TTL",
        default: "900",
        meaning: "access-token lifetime in seconds (60–86400)",
    },
    Variable {
        name: "REINTEGRA_DB_POOL_SIZE",
        default: "10",
        meaning: "database connections in the pool (1–100)",
    },
    Variable {
        name: "REINTEGRA_WORKERS",
        default: "number of cores",
        meaning: "HTTP worker threads (1–256)",
    },
    Variable {
        name: "REINTEGRA_CORS_ORIGINS",
        default: "(none)",
        meaning: "comma-separated exact origins allowed to call the API from a browser",
    },
    Variable {
        name: "REINTEGRA_METRICS",
        default: "on",
        meaning: "`off` disables /metrics",
    },
    Variable {
        name: "REINTEGRA_ARGON2_M_KIB",
        default: "19456",
        meaning: "argon2id memory cost in KiB (8–4194304)",
    },
    Variable {
        name: "REINTEGRA_ARGON2_T",
        default: "2",
        meaning: "argon2id iterations (1–100)",
    },
    Variable {
        name: "REINTEGRA_ARGON2_P",
        default: "1",
        meaning: "argon2id parallelism (1–64)",
    },
    Variable {
        name: "REINTEGRA_TRUSTED_PROXIES",
        default: "(none)",
        meaning: "comma-separated proxy IPs whose X-Forwarded-For is believed",
    },
    Variable {
        name: "REINTEGRA_LOGIN_PER_ADDRESS_PER_MINUTE",
        default: "30",
        meaning: "login attempts one client address may make per minute (1–10000)",
    },
    Variable {
        name: "REINTEGRA_UNAUTHENTICATED_PER_ADDRESS_PER_MINUTE",
        default: "120",
        meaning: "requests without a valid token one client address may make per minute before 429 (10–100000); the first 10 each minute are audited one by one, the rest counted",
    },
    Variable {
        name: "RUST_LOG",
        default: "info",
        meaning: "log filter (tracing EnvFilter syntax)",
    },
];

impl Config {
    /// Reads the process environment.
    pub fn from_env() -> Result<Config, ConfigError> {
        Config::from_lookup(|name| std::env::var(name).ok())
    }

    /// Reads configuration through `lookup`, so tests can supply a map instead of the environment.
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Config, ConfigError> {
        let get = |name: &str| lookup(name).filter(|v| !v.trim().is_empty());
        let err = |var: &'static str, message: String| ConfigError { var, message };

        let database = match get("DATABASE_URL") {
            Some(raw) => DatabaseUrl::parse(&raw).map_err(|m| err("DATABASE_URL", m))?,
            None => DatabaseUrl::Sqlite(PathBuf::from(DEFAULT_SQLITE_PATH)),
        };

        let bind = match get("REINTEGRA_BIND") {
            Some(raw) => raw.trim().parse::<SocketAddr>().map_err(|_| {
                err(
                    "REINTEGRA_BIND",
                    format!("`{raw}` is not an address:port such as 127.0.0.1:8080"),
                )
            })?,
            None => SocketAddr::from(([127, 0, 0, 1], 8080)),
        };

        let jwt_secret = match (lookup("REINTEGRA_JWT_SECRET"), &database) {
            (Some(raw), _) => SecretSource::Given(
                JwtSecret::new(raw.into_bytes()).map_err(|m| err("REINTEGRA_JWT_SECRET", m))?,
            ),
            (None, DatabaseUrl::Sqlite(path)) => SecretSource::File(secret_file_beside(path)),
            (None, DatabaseUrl::Postgres(_)) => {
                return Err(err(
                    "REINTEGRA_JWT_SECRET",
                    format!("required with PostgreSQL (at least {MIN_SECRET_BYTES} bytes)"),
                ))
            }
        };

        let number =
            |var: &'static str, default: u32, min: u32, max: u32| -> Result<u32, ConfigError> {
                match get(var) {
                    None => Ok(default),
                    Some(raw) => match raw.trim().parse::<u32>() {
                        Ok(v) if (min..=max).contains(&v) => Ok(v),
                        _ => Err(err(
                            var,
                            format!("`{raw}` is not a whole number from {min} to {max}"),
                        )),
                    },
                }
            };

        let access_token_ttl_secs = number("REINTEGRA_ACCESS_TOKEN_TTL", 900, 60, 86_400)?;
        let db_pool_size = number("REINTEGRA_DB_POOL_SIZE", 10, 1, 100)?;
        let workers = match get("REINTEGRA_WORKERS") {
            None => None,
            Some(_) => Some(number("REINTEGRA_WORKERS", 0, 1, 256)? as usize),
        };
        let defaults = Argon2Params::default();
        let argon2 = Argon2Params {
            m_kib: number("REINTEGRA_ARGON2_M_KIB", defaults.m_kib, 8, 4 * 1024 * 1024)?,
            t: number("REINTEGRA_ARGON2_T", defaults.t, 1, 100)?,
            p: number("REINTEGRA_ARGON2_P", defaults.p, 1, 64)?,
        };
        let login_per_address_per_minute =
            number("REINTEGRA_LOGIN_PER_ADDRESS_PER_MINUTE", 30, 1, 10_000)?;
        let unauthenticated_per_address_per_minute = number(
            "REINTEGRA_UNAUTHENTICATED_PER_ADDRESS_PER_MINUTE",
            120,
            10,
            100_000,
        )?;

        let cors_origins = match get("REINTEGRA_CORS_ORIGINS") {
            None => Vec::new(),
            Some(raw) => parse_origins(&raw).map_err(|m| err("REINTEGRA_CORS_ORIGINS", m))?,
        };

        let metrics = match get("REINTEGRA_METRICS").as_deref().map(str::trim) {
            None | Some("on") | Some("true") | Some("1") => true,
            Some("off") | Some("false") | Some("0") => false,
            Some(other) => {
                return Err(err(
                    "REINTEGRA_METRICS",
                    format!("`{other}` is neither `on` nor `off`"),
                ))
            }
        };

        let trusted_proxies = match get("REINTEGRA_TRUSTED_PROXIES") {
            None => Vec::new(),
            Some(raw) => raw
                .split(',')
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(|s| {
                    s.parse::<IpAddr>().map_err(|_| {
                        err(
                            "REINTEGRA_TRUSTED_PROXIES",
                            format!("`{s}` is not an IP address"),
                        )
                    })
                })
                .collect::<Result<Vec<_>, _>>()?,
        };

        Ok(Config {
            database,
            bind,
            jwt_secret,
            access_token_ttl_secs,
            db_pool_size,
            workers,
            cors_origins,
            metrics,
            argon2,
            trusted_proxies,
            login_per_address_per_minute,
            unauthenticated_per_address_per_minute,
        })
    }
}

/// The secret file sits in the same folder as the database file.
pub fn secret_file_beside(db_path: &Path) -> PathBuf {
    match db_path.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => dir.join(SECRET_FILE_NAME),
        _ => PathBuf::from(SECRET_FILE_NAME),
    }
}

/// Origins are compared exactly by browsers, so each must be `scheme://host[:port]` with nothing after.
fn parse_origins(raw: &str) -> Result<Vec<String>, String> {
    raw.split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(|origin| {
            let rest = origin
                .strip_prefix("https://")
                .or_else(|| origin.strip_prefix("http://"))
                .ok_or_else(|| format!("`{origin}` must start with http:// or https://"))?;
            if rest.is_empty() || rest.contains('/') || rest.contains('*') {
                return Err(format!(
                    "`{origin}` must be an exact origin such as https://app.example.org"
                ));
            }
            Ok(origin.to_owned())
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    /// Operators read the README's table, not the code: a variable added here must be there.
    #[test]
    fn the_readme_documents_every_variable() {
        let readme = include_str!("../README.md");
        for v in VARIABLES {
            assert!(
                readme.contains(&format!("| `{}` |", v.name)),
                "README.md's configuration table lacks {}",
                v.name
            );
        }
    }

    fn config(vars: &[(&str, &str)]) -> Result<Config, ConfigError> {
        let map: HashMap<String, String> = vars
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        Config::from_lookup(|k| map.get(k).cloned())
    }

    #[test]
    fn no_configuration_means_sqlite_under_data_with_a_generated_secret() {
        let c = config(&[]).unwrap();
        assert_eq!(
            c.database,
            DatabaseUrl::Sqlite(PathBuf::from("data/reintegra.db"))
        );
        assert!(
            matches!(c.jwt_secret, SecretSource::File(ref p) if p == Path::new("data/jwt-secret"))
        );
        assert_eq!(c.bind.to_string(), "127.0.0.1:8080");
        assert_eq!(c.access_token_ttl_secs, 900);
        assert!(c.metrics);
        assert_eq!(
            c.argon2,
            Argon2Params {
                m_kib: 19456,
                t: 2,
                p: 1
            }
        );
    }

    #[test]
    fn backend_is_chosen_by_scheme() {
        for url in ["postgres://u@h/db", "postgresql://h/db"] {
            let c = config(&[
                ("DATABASE_URL", url),
                ("REINTEGRA_JWT_SECRET", &"k".repeat(32)),
            ])
            .unwrap();
            assert!(matches!(c.database, DatabaseUrl::Postgres(_)), "{url}");
        }
        let c = config(&[("DATABASE_URL", "sqlite:///tmp/x.db")]).unwrap();
        assert_eq!(c.database, DatabaseUrl::Sqlite(PathBuf::from("/tmp/x.db")));
        let e = config(&[("DATABASE_URL", "postgress://h/db")]).unwrap_err();
        assert_eq!(e.var, "DATABASE_URL");
        assert!(e.message.contains("postgress://"));
    }

    #[test]
    fn postgres_requires_a_long_secret() {
        let e = config(&[("DATABASE_URL", "postgres://h/db")]).unwrap_err();
        assert_eq!(e.var, "REINTEGRA_JWT_SECRET");
        let e = config(&[
            ("DATABASE_URL", "postgres://h/db"),
            ("REINTEGRA_JWT_SECRET", "short"),
        ])
        .unwrap_err();
        assert_eq!(e.var, "REINTEGRA_JWT_SECRET");
        assert!(e
            .to_string()
            .starts_with("configuration error: REINTEGRA_JWT_SECRET:"));
    }

    #[test]
    fn out_of_range_numbers_name_their_variable() {
        for (var, value) in [
            ("REINTEGRA_ACCESS_TOKEN_TTL", "5"),
            ("REINTEGRA_DB_POOL_SIZE", "0"),
            ("REINTEGRA_WORKERS", "many"),
            ("REINTEGRA_ARGON2_T", "0"),
            ("REINTEGRA_BIND", "localhost"),
            ("REINTEGRA_METRICS", "maybe"),
            ("REINTEGRA_CORS_ORIGINS", "https://a.example/path"),
            ("REINTEGRA_TRUSTED_PROXIES", "10.0.0.x"),
        ] {
            let e = config(&[(var, value)]).unwrap_err();
            assert_eq!(e.var, var, "{var}={value}");
        }
    }

    #[test]
    fn postgres_password_never_appears_in_debug_output() {
        let c = config(&[
            ("DATABASE_URL", "postgres://app:s3cret@db:5432/reintegra"),
            ("REINTEGRA_JWT_SECRET", &"k".repeat(40)),
        ])
        .unwrap();
        let dbg = format!("{c:?}");
        assert!(!dbg.contains("s3cret"), "{dbg}");
        assert!(!dbg.contains(&"k".repeat(40)), "{dbg}");
    }
}
