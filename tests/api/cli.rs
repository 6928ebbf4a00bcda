//! The `reintegra` binary as an operator meets it: a fresh folder with no configuration, bad
//! configuration, SIGTERM, and the `openapi` command.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

const BIN: &str = env!("CARGO_BIN_EXE_reintegra");

fn command(dir: &Path) -> Command {
    let mut cmd = Command::new(BIN);
    cmd.current_dir(dir)
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .stdin(Stdio::null());
    cmd
}

/// Starts `serve` on a free port and answers the child and the address it reported.
fn start(dir: &Path) -> (Child, String) {
    let mut child = command(dir)
        .env("REINTEGRA_BIND", "127.0.0.1:0")
        .env("RUST_LOG", "info")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start reintegra");
    let stderr = child.stderr.take().unwrap();
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            if let Some(rest) = line.split("address=").nth(1) {
                if line.contains("listening") {
                    let addr = rest
                        .split_whitespace()
                        .next()
                        .unwrap_or_default()
                        .to_owned();
                    let _ = tx.send(addr);
                }
            }
        }
    });
    let addr = rx
        .recv_timeout(Duration::from_secs(30))
        .expect("the service reports its address");
    (child, addr)
}

/// A plain HTTP/1.1 request over TCP: answers the status and the body.
fn http_get(addr: &str, path: &str) -> (u16, String) {
    let mut stream = TcpStream::connect(addr).expect("connect");
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    write!(
        stream,
        "GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).unwrap();
    let status = response
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .expect("a status line");
    let body = response
        .split_once("\r\n\r\n")
        .map(|(_, b)| b.to_owned())
        .unwrap_or_default();
    (status, body)
}

fn terminate(mut child: Child) -> std::process::ExitStatus {
    let status = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .expect("send SIGTERM");
    assert!(status.success());
    for _ in 0..300 {
        if let Some(status) = child.try_wait().unwrap() {
            return status;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let _ = child.kill();
    panic!("the service did not stop within 15 s of SIGTERM");
}

#[test]
fn a_fresh_folder_serves_on_sqlite_with_no_configuration_and_stops_on_sigterm() {
    let dir = tempfile::tempdir().unwrap();
    let (child, addr) = start(dir.path());

    let (status, body) = http_get(&addr, "/health/ready");
    assert_eq!(status, 200, "{body}");
    assert!(body.contains(r#""database":"sqlite""#), "{body}");
    let (status, body) = http_get(&addr, "/api/v1/openapi.json");
    assert_eq!(status, 200);
    assert!(body.contains(r#""openapi""#));
    let (status, body) = http_get(&addr, "/no/such/route");
    assert_eq!(status, 404);
    assert!(
        body.contains("https://reintegra.example/problems/not-found"),
        "{body}"
    );

    assert!(dir.path().join("data/reintegra.db").exists());
    let secret_path = dir.path().join("data/jwt-secret");
    let secret = std::fs::read_to_string(&secret_path).unwrap();
    assert_eq!(secret.trim().len(), 64, "32 random bytes, hex");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&secret_path)
            .unwrap()
            .permissions()
            .mode()
            & 0o777;
        assert_eq!(mode, 0o600);
    }

    let exit = terminate(child);
    assert!(exit.success(), "graceful stop exits 0, got {exit:?}");

    // A restart keeps the generated secret (tokens stay valid across restarts).
    let (child, addr) = start(dir.path());
    assert_eq!(http_get(&addr, "/health/live").0, 200);
    assert_eq!(std::fs::read_to_string(&secret_path).unwrap(), secret);
    assert!(terminate(child).success());
}

#[test]
fn bad_configuration_stops_with_one_line_naming_the_variable_and_exit_code_2() {
    let dir = tempfile::tempdir().unwrap();
    for (vars, named) in [
        (
            vec![("DATABASE_URL", "postgres://db.invalid/reintegra")],
            "REINTEGRA_JWT_SECRET",
        ),
        (
            vec![
                ("DATABASE_URL", "postgres://db.invalid/reintegra"),
                ("REINTEGRA_JWT_SECRET", "too-short"),
            ],
            "REINTEGRA_JWT_SECRET",
        ),
        (
            vec![("DATABASE_URL", "mysql://db/reintegra")],
            "DATABASE_URL",
        ),
        (vec![("REINTEGRA_BIND", "everywhere")], "REINTEGRA_BIND"),
        (
            vec![("REINTEGRA_DB_POOL_SIZE", "0")],
            "REINTEGRA_DB_POOL_SIZE",
        ),
    ] {
        let out = command(dir.path()).envs(vars.clone()).output().unwrap();
        assert_eq!(out.status.code(), Some(2), "{vars:?}");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(stderr.lines().count(), 1, "one line: {stderr}");
        assert!(
            stderr.starts_with(&format!("configuration error: {named}:")),
            "{vars:?}: {stderr}"
        );
    }
    assert!(
        !dir.path().join("data").exists(),
        "nothing is created before the configuration is valid"
    );
}

#[test]
fn the_openapi_command_prints_the_committed_document() {
    let dir = tempfile::tempdir().unwrap();
    let out = command(dir.path()).arg("openapi").output().unwrap();
    assert!(out.status.success());
    let committed =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/openapi/openapi.json"))
            .unwrap();
    assert!(
        String::from_utf8(out.stdout).unwrap() == committed,
        "`reintegra openapi` differs from openapi/openapi.json"
    );
}

#[test]
fn help_documents_every_environment_variable() {
    let dir = tempfile::tempdir().unwrap();
    let out = command(dir.path()).arg("--help").output().unwrap();
    assert!(out.status.success());
    let help = String::from_utf8(out.stdout).unwrap();
    for v in reintegra::config::VARIABLES {
        assert!(help.contains(v.name), "{} in --help", v.name);
    }
    for sub in ["serve", "migrate", "openapi"] {
        assert!(help.contains(sub));
    }
}

fn create_admin(dir: &Path, email: &str, password: &str) -> std::process::Output {
    let mut child = command(dir)
        .args([
            "create-admin",
            "--email",
            email,
            "--full-name",
            "Ada Admin",
            "--password-stdin",
        ])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(format!("{password}\n").as_bytes())
        .unwrap();
    child.wait_with_output().unwrap()
}

#[test]
fn create_admin_bootstraps_an_installation_and_resets_an_existing_account() {
    let dir = tempfile::tempdir().unwrap();
    let out = create_admin(dir.path(), "Ada@Club.test", "a long admin password");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).starts_with("created admin ada@club.test"));

    let out = create_admin(dir.path(), "ada@club.test", "another admin password");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).starts_with("reset the password of ada@club.test"));

    let url = reintegra::config::DatabaseUrl::Sqlite(dir.path().join("data/reintegra.db"));
    let mut conn = reintegra::db::establish(&url).unwrap();
    let member = reintegra::staff::repo::find_by_email(&mut conn, "ada@club.test")
        .unwrap()
        .unwrap();
    assert_eq!(member.roles, vec![reintegra::policy::Role::Admin]);
    assert!(!member.row.must_change_password);
    let params = reintegra::config::Argon2Params::default();
    assert!(
        reintegra::auth::password::verify_with(
            &params,
            "another admin password",
            &member.row.password_hash
        )
        .matches
    );

    for (email, password, complaint) in [
        ("ada@club.test", "short", "password"),
        ("not-an-email", "a long admin password", "--email"),
        ("ada@club.test", "ada-is-the-admin-here", "password"),
    ] {
        let out = create_admin(dir.path(), email, password);
        assert!(!out.status.success(), "{email} / {password}");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(stderr.contains(complaint), "{stderr}");
    }
}

/// `audit-head` prints the chain's head for an operator to keep outside the database.
#[test]
fn audit_head_prints_the_chains_head_as_json() {
    let dir = tempfile::tempdir().unwrap();
    let out = command(dir.path()).arg("migrate").output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let out = command(dir.path()).arg("audit-head").output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let head: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(head["seq"], 0);
    assert_eq!(head["hash"], reintegra::audit::GENESIS_HASH);
}

/// An argon2 memory cost below OWASP's 19 MiB still starts (small machines, tests) but warns.
#[test]
fn a_weak_argon2_memory_cost_warns_at_start() {
    let dir = tempfile::tempdir().unwrap();
    let out = command(dir.path())
        .env("REINTEGRA_ARGON2_M_KIB", "4096")
        .arg("migrate")
        .output()
        .unwrap();
    assert!(out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("REINTEGRA_ARGON2_M_KIB is below 19456"),
        "{stderr}"
    );
    let out = command(dir.path()).arg("migrate").output().unwrap();
    assert!(!String::from_utf8_lossy(&out.stderr).contains("below 19456"));
}
