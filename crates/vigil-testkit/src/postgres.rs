//! A throwaway PostgreSQL server for tests: started once per test process, listening on a Unix
//! socket only (no TCP port at all), in a temporary directory that is removed when the process
//! exits.
//!
//! * `VIGIL_TEST_POSTGRES_URL` — use that server instead (its user must be allowed to create
//!   databases); nothing is started.
//! * otherwise `initdb`/`pg_ctl` are looked up on `PATH` and in `/usr/lib/postgresql/*/bin`; as
//!   root they run as the `postgres` user (PostgreSQL refuses to run as root).
//! * neither: the caller is told to skip, loudly — or panics when `VIGIL_REQUIRE_POSTGRES=1`
//!   (CI sets it, so a broken PostgreSQL set-up fails CI instead of silently skipping).
//!
//! [`database`] creates a fresh, empty database per call, so tests never share state.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;
use std::sync::atomic::{AtomicU32, Ordering};

/// Where the server of this process can be reached: `(base URL without database, how to run
/// `psql` against it)`.
struct Server {
    /// `postgres://USER@localhost` plus `?host=SOCKETDIR` for a Unix socket; the database name
    /// is inserted by [`database`].
    user: String,
    host: String,
    port: Option<u16>,
    password: Option<String>,
    /// `psql` binary, for creating databases.
    psql: PathBuf,
    /// Prefix to run commands as the server's OS user (`runuser -u postgres --`), if any.
    run_as: Vec<String>,
}

static SERVER: OnceLock<Result<Server, String>> = OnceLock::new();
static NEXT_DB: AtomicU32 = AtomicU32::new(0);

/// A URL to a new, empty PostgreSQL database, or `None` (after printing why `test` is skipped).
///
/// # Panics
/// When no server can be had and `VIGIL_REQUIRE_POSTGRES=1`, or when creating the database fails.
pub fn database(test: &str) -> Option<String> {
    let server = match SERVER.get_or_init(start) {
        Ok(s) => s,
        Err(why) => {
            let msg = format!("SKIPPED {test} on PostgreSQL: {why}");
            if std::env::var("VIGIL_REQUIRE_POSTGRES").as_deref() == Ok("1") {
                panic!("{msg}, and VIGIL_REQUIRE_POSTGRES=1");
            }
            eprintln!("{msg}");
            return None;
        }
    };
    let name = format!(
        "vigil_test_{}_{}",
        std::process::id(),
        NEXT_DB.fetch_add(1, Ordering::Relaxed)
    );
    let mut cmd = server.command(&server.psql);
    cmd.args(["-v", "ON_ERROR_STOP=1", "-q", "-d", "postgres", "-c"])
        .arg(format!("CREATE DATABASE {name}"));
    let out = cmd.output().unwrap_or_else(|e| panic!("running psql: {e}"));
    assert!(
        out.status.success(),
        "creating test database {name}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    Some(server.url(&name))
}

impl Server {
    fn url(&self, db: &str) -> String {
        let auth = match &self.password {
            Some(p) => format!("{}:{p}", self.user),
            None => self.user.clone(),
        };
        match self.port {
            Some(port) => format!("postgres://{auth}@{}:{port}/{db}", self.host),
            None => format!("postgres://{auth}@localhost/{db}?host={}", self.host),
        }
    }

    fn command(&self, program: &Path) -> Command {
        let mut cmd = if self.run_as.is_empty() {
            Command::new(program)
        } else {
            let mut c = Command::new(&self.run_as[0]);
            c.args(&self.run_as[1..]).arg(program);
            c
        };
        cmd.env("PGUSER", &self.user);
        match self.port {
            Some(port) => cmd
                .env("PGHOST", &self.host)
                .env("PGPORT", port.to_string()),
            None => cmd.env("PGHOST", &self.host),
        };
        if let Some(p) = &self.password {
            cmd.env("PGPASSWORD", p);
        }
        cmd
    }
}

fn start() -> Result<Server, String> {
    if let Ok(url) = std::env::var("VIGIL_TEST_POSTGRES_URL") {
        return external(&url);
    }
    let bin = find_bin().ok_or(
        "no PostgreSQL server binaries (initdb, pg_ctl) found on PATH or in \
         /usr/lib/postgresql/*/bin; install the `postgresql` package or set \
         VIGIL_TEST_POSTGRES_URL",
    )?;
    let root = is_root();
    let run_as: Vec<String> = if root {
        vec![
            "runuser".into(),
            "-u".into(),
            "postgres".into(),
            "--".into(),
        ]
    } else {
        Vec::new()
    };
    let dir = std::env::temp_dir().join(format!("vigil-pg-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).map_err(|e| format!("creating {}: {e}", dir.display()))?;
    if root {
        let ok = Command::new("chown")
            .args(["postgres:postgres"])
            .arg(&dir)
            .status()
            .map_err(|e| format!("chown: {e}"))?
            .success();
        if !ok {
            return Err(format!(
                "running as root, but cannot hand {} to the `postgres` user",
                dir.display()
            ));
        }
    }
    let data = dir.join("data");
    let user = if root {
        "postgres".to_string()
    } else {
        std::env::var("USER").unwrap_or_else(|_| "postgres".into())
    };
    let server = Server {
        user: user.clone(),
        host: dir.display().to_string(),
        port: None,
        password: None,
        psql: bin.join("psql"),
        run_as,
    };
    let run = |program: &str, args: &[&str]| -> Result<(), String> {
        let out = server
            .command(&bin.join(program))
            .args(args)
            .output()
            .map_err(|e| format!("running {program}: {e}"))?;
        if out.status.success() {
            Ok(())
        } else {
            Err(format!(
                "{program} failed: {}{}",
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            ))
        }
    };
    let data_s = data.display().to_string();
    run(
        "initdb",
        &[
            "-D",
            &data_s,
            "-U",
            &user,
            "-A",
            "trust",
            "-E",
            "UTF8",
            "--no-sync",
        ],
    )?;
    // Unix socket in our directory only: no TCP listener at all. fsync off: test data only.
    let opts = format!(
        "-c listen_addresses='' -k {} -c fsync=off -c full_page_writes=off \
         -c synchronous_commit=off -c max_connections=200",
        dir.display()
    );
    let log = dir.join("server.log").display().to_string();
    run(
        "pg_ctl",
        &["-D", &data_s, "-o", &opts, "-l", &log, "-w", "start"],
    )?;
    // Stop the server and remove its directory once this test process is gone.
    let watcher = format!(
        "while kill -0 {pid} 2>/dev/null; do sleep 1; done; \
         {prefix} {pg_ctl} -D {data} -m immediate stop >/dev/null 2>&1; rm -rf {dir}",
        pid = std::process::id(),
        prefix = server.run_as.join(" "),
        pg_ctl = bin.join("pg_ctl").display(),
        data = data_s,
        dir = dir.display(),
    );
    Command::new("sh")
        .args(["-c", &watcher])
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .map_err(|e| format!("spawning the server watcher: {e}"))?;
    Ok(server)
}

/// An already running server given by URL (`postgres://user[:password]@host[:port]/db`).
fn external(url: &str) -> Result<Server, String> {
    let rest = url
        .strip_prefix("postgres://")
        .or_else(|| url.strip_prefix("postgresql://"))
        .ok_or_else(|| "VIGIL_TEST_POSTGRES_URL must start with postgres://".to_string())?;
    let (auth, hostpart) = rest
        .split_once('@')
        .ok_or_else(|| "VIGIL_TEST_POSTGRES_URL needs user@host".to_string())?;
    let (user, password) = match auth.split_once(':') {
        Some((u, p)) => (u.to_string(), Some(p.to_string())),
        None => (auth.to_string(), None),
    };
    let hostport = hostpart.split('/').next().unwrap_or("");
    let (host, port) = match hostport.rsplit_once(':') {
        Some((h, p)) => (
            h.to_string(),
            p.parse().map_err(|_| format!("bad port in {hostport}"))?,
        ),
        None => (hostport.to_string(), 5432),
    };
    let psql = which("psql")
        .or_else(|| find_bin().map(|b| b.join("psql")))
        .ok_or("VIGIL_TEST_POSTGRES_URL is set but psql is not installed")?;
    Ok(Server {
        user,
        host,
        port: Some(port),
        password,
        psql,
        run_as: Vec::new(),
    })
}

fn which(name: &str) -> Option<PathBuf> {
    std::env::var_os("PATH").and_then(|p| {
        std::env::split_paths(&p)
            .map(|d| d.join(name))
            .find(|f| f.is_file())
    })
}

/// The directory holding `initdb`, `pg_ctl` and `psql` (the newest version under
/// `/usr/lib/postgresql` when several are installed).
fn find_bin() -> Option<PathBuf> {
    if let Some(initdb) = which("initdb") {
        let real = std::fs::canonicalize(&initdb).unwrap_or(initdb);
        let dir = real.parent()?.to_path_buf();
        if dir.join("pg_ctl").is_file() && dir.join("psql").is_file() {
            return Some(dir);
        }
    }
    let mut versions: Vec<(u32, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
        .ok()?
        .filter_map(|e| {
            let e = e.ok()?;
            let v: u32 = e.file_name().to_str()?.parse().ok()?;
            let bin = e.path().join("bin");
            (bin.join("initdb").is_file() && bin.join("psql").is_file()).then_some((v, bin))
        })
        .collect();
    versions.sort();
    versions.pop().map(|(_, b)| b)
}

/// Whether this process runs as root (uid 0), read from `/proc/self/status` to stay free of
/// `unsafe` and of a libc dependency.
fn is_root() -> bool {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("Uid:"))
                .and_then(|l| l.split_whitespace().nth(1).map(|u| u == "0"))
        })
        .unwrap_or(false)
}

/// A database a test runs against, and what keeps it alive.
#[derive(Debug)]
pub struct TestDb {
    /// `sqlite` or `postgres`.
    pub name: &'static str,
    /// Its URL, for `vigil_store::Store::open` (or a child process).
    pub url: String,
    _dir: Option<tempfile::TempDir>,
}

/// An SQLite database file in a fresh temporary directory.
pub fn sqlite_database() -> TestDb {
    let dir = tempfile::tempdir().expect("a temporary directory");
    TestDb {
        name: "sqlite",
        url: format!("sqlite://{}", dir.path().join("vigil.db").display()),
        _dir: Some(dir),
    }
}

/// The databases a store test runs on: a fresh SQLite file and, when a server can be had (see
/// [`database`]), a fresh PostgreSQL database.
pub fn databases(test: &str) -> Vec<TestDb> {
    let mut out = vec![sqlite_database()];
    if let Some(url) = database(test) {
        out.push(TestDb {
            name: "postgres",
            url,
            _dir: None,
        });
    }
    out
}
