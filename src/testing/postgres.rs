//! [`PostgresServer`]: a throwaway PostgreSQL cluster per test run.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

/// How long a fresh cluster gets to accept connections.
const START_TIMEOUT: Duration = Duration::from_secs(30);

/// A PostgreSQL cluster of its own — `initdb` into a temp directory, a
/// server on its own loopback port, trust authentication for `postgres` —
/// stopped and removed when the handle drops, or when the test process
/// exits in any way (the server is watched by a shell that stops it when
/// the process's pipe to it closes, so a panicking or killed test leaves
/// nothing running). Tests create their own database on it.
///
/// As root (CI containers), the cluster runs as the `postgres` user
/// (PostgreSQL refuses to run as root), which the Debian package creates.
///
/// ```no_run
/// use connectflow::testing::PostgresServer;
///
/// // In CI (`CI` set) missing PostgreSQL binaries panic here; locally the
/// // test is skipped with a notice on stderr.
/// let Some(pg) = PostgresServer::shared_or_skip() else { return };
/// let url = pg.create_database();
/// assert!(url.starts_with("postgres://postgres@127.0.0.1:"));
/// ```
#[derive(Debug)]
pub struct PostgresServer {
    port: u16,
    bin: PathBuf,
    /// The watcher's stdin: closing it stops the server.
    watch: Option<ChildStdin>,
    watcher: Child,
}

impl PostgresServer {
    /// One cluster for the whole test binary, started on first use; `None`
    /// (after a loud notice) when PostgreSQL is not installed and this is
    /// not CI. Stopped when the process exits.
    ///
    /// # Panics
    ///
    /// When PostgreSQL is missing and `CI` is set (in CI a missing server is
    /// a failure, never a silent skip), or when it does not start.
    pub fn shared_or_skip() -> Option<&'static PostgresServer> {
        static SHARED: OnceLock<PostgresServer> = OnceLock::new();
        find_bin().as_ref()?;
        Some(SHARED.get_or_init(PostgresServer::start))
    }

    /// A cluster of the caller's own, stopped on drop; `None` as
    /// [`shared_or_skip`](Self::shared_or_skip).
    ///
    /// # Panics
    ///
    /// As [`shared_or_skip`](Self::shared_or_skip).
    pub fn start_or_skip() -> Option<PostgresServer> {
        find_bin().as_ref()?;
        Some(PostgresServer::start())
    }

    /// The port it listens on (127.0.0.1).
    pub fn port(&self) -> u16 {
        self.port
    }

    /// A new, empty database with a unique name; its URL.
    ///
    /// # Panics
    ///
    /// When `CREATE DATABASE` fails.
    pub fn create_database(&self) -> String {
        let name = format!("t{}", super::redis::unique() % 1_000_000_000_000);
        if let Err(e) = self.psql(&format!("CREATE DATABASE {name}")) {
            panic!("CREATE DATABASE {name}: {e}");
        }
        format!("postgres://postgres@127.0.0.1:{}/{name}", self.port)
    }

    fn psql(&self, sql: &str) -> Result<String, String> {
        let out = Command::new(self.bin.join("psql"))
            .args([
                "-h",
                "127.0.0.1",
                "-p",
                &self.port.to_string(),
                "-U",
                "postgres",
            ])
            .args(["-d", "postgres", "-Atqc", sql])
            .env("PGCONNECT_TIMEOUT", "2")
            .stdin(Stdio::null())
            .output()
            .map_err(|e| format!("run psql: {e}"))?;
        if out.status.success() {
            Ok(String::from_utf8_lossy(&out.stdout).into_owned())
        } else {
            Err(String::from_utf8_lossy(&out.stderr).into_owned())
        }
    }

    fn start() -> PostgresServer {
        let Some(bin) = find_bin().clone() else {
            panic!("PostgreSQL binaries vanished");
        };
        let dir = std::env::temp_dir().join(format!(
            "connectflow-pg-{}-{}",
            std::process::id(),
            super::redis::unique()
        ));
        if let Err(e) = std::fs::create_dir_all(&dir) {
            panic!("create {}: {e}", dir.display());
        }
        let as_postgres = is_root();
        if as_postgres {
            // The server refuses to run as root: the directory is the
            // postgres user's, and so is every process below.
            run(Command::new("chown").args(["postgres:postgres"]).arg(&dir));
        }
        let data = dir.join("data");
        let mut initdb = user_command(as_postgres, &bin.join("initdb"));
        initdb.arg("-D").arg(&data).args([
            "-U",
            "postgres",
            "--auth=trust",
            "--no-sync",
            "-E",
            "UTF8",
            "--locale=C",
        ]);
        run(&mut initdb);
        let mut last_error = String::new();
        for _ in 0..5 {
            let port = super::redis::free_port();
            match spawn_watched(as_postgres, &bin, &dir, port) {
                Ok((watcher, watch)) => {
                    let server = PostgresServer {
                        port,
                        bin: bin.clone(),
                        watch: Some(watch),
                        watcher,
                    };
                    match server.wait_ready(&dir) {
                        Ok(()) => return server,
                        Err(e) => last_error = e,
                    }
                }
                Err(e) => last_error = e,
            }
        }
        panic!("PostgreSQL did not start: {last_error}");
    }

    fn wait_ready(&self, dir: &Path) -> Result<(), String> {
        let deadline = Instant::now() + START_TIMEOUT;
        loop {
            if self.psql("SELECT 1").is_ok_and(|out| out.trim() == "1") {
                return Ok(());
            }
            if Instant::now() > deadline {
                let log = std::fs::read_to_string(dir.join("server.log")).unwrap_or_default();
                return Err(format!("no answer within {START_TIMEOUT:?}; log:\n{log}"));
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }
}

impl Drop for PostgresServer {
    fn drop(&mut self) {
        // EOF on the watcher's stdin: it stops the server (fast shutdown,
        // which aborts open sessions) and removes the directory.
        drop(self.watch.take());
        let _ = self.watcher.wait();
    }
}

/// The server under a shell that waits for EOF on its stdin, then stops
/// the server and removes `dir`.
fn spawn_watched(
    as_postgres: bool,
    bin: &Path,
    dir: &Path,
    port: u16,
) -> Result<(Child, ChildStdin), String> {
    const SCRIPT: &str = r#"
"$PG_BIN/postgres" -D "$PG_DIR/data" -p "$PG_PORT" -c listen_addresses=127.0.0.1 \
  -c unix_socket_directories= -c fsync=off -c synchronous_commit=off \
  -c full_page_writes=off -c max_connections=200 >"$PG_DIR/server.log" 2>&1 &
pid=$!
cat >/dev/null
kill -INT "$pid" 2>/dev/null
wait "$pid"
rm -rf "$PG_DIR"
"#;
    let mut shell = user_command(as_postgres, Path::new("sh"));
    let mut child = shell
        .args(["-c", SCRIPT])
        .env("PG_BIN", bin)
        .env("PG_DIR", dir)
        .env("PG_PORT", port.to_string())
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .map_err(|e| format!("spawn the server: {e}"))?;
    let stdin = child
        .stdin
        .take()
        .ok_or("no stdin to the server's watcher")?;
    Ok((child, stdin))
}

/// `program`, run as the postgres user when `as_postgres`.
fn user_command(as_postgres: bool, program: &Path) -> Command {
    if as_postgres {
        let mut c = Command::new("setpriv");
        c.args([
            "--reuid=postgres",
            "--regid=postgres",
            "--init-groups",
            "--",
        ]);
        c.arg(program);
        c
    } else {
        Command::new(program)
    }
}

fn run(command: &mut Command) {
    match command.stdin(Stdio::null()).output() {
        Ok(out) if out.status.success() => {}
        Ok(out) => panic!(
            "{command:?} failed: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ),
        Err(e) => panic!("{command:?}: {e}"),
    }
}

fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
}

/// The directory with `initdb`, `postgres` and `psql`: the newest under
/// `/usr/lib/postgresql/*/bin` (Debian keeps them off `PATH`), else the
/// one `initdb` on `PATH` lives in. `None` (after a notice) when there is
/// none and this is not CI.
fn find_bin() -> &'static Option<PathBuf> {
    static BIN: OnceLock<Option<PathBuf>> = OnceLock::new();
    BIN.get_or_init(|| {
        let complete = |d: &Path| ["initdb", "postgres", "psql"].iter().all(|b| d.join(b).is_file());
        let mut debian: Vec<(u32, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
            .into_iter()
            .flatten()
            .flatten()
            .filter_map(|e| {
                let version = e.file_name().to_str()?.parse::<u32>().ok()?;
                Some((version, e.path().join("bin")))
            })
            .filter(|(_, d)| complete(d))
            .collect();
        debian.sort();
        let on_path = super::redis::find_on_path("initdb")
            .and_then(|p| std::fs::canonicalize(p).ok())
            .and_then(|p| p.parent().map(Path::to_path_buf))
            .filter(|d| complete(d));
        let found = debian.pop().map(|(_, d)| d).or(on_path);
        if found.is_none() {
            if super::redis::in_ci() {
                panic!(
                    "PostgreSQL is required in CI (no initdb/postgres/psql found under \
                     /usr/lib/postgresql/*/bin or on PATH); install it, e.g. apt-get install postgresql"
                );
            }
            let _ = std::io::stderr().write_all(
                b"\n\
                  ************************************************************\n\
                  * SKIPPED: PostgreSQL is not installed, so the tests that  *\n\
                  * need it are skipped locally. Install it (e.g. apt-get    *\n\
                  * install postgresql) to run them; CI requires it.         *\n\
                  ************************************************************\n",
            );
        }
        found
    })
}
