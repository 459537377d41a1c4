//! [`RedisServer`]: a throwaway `redis-server` per test.

use std::io::{Read, Write};
use std::net::{Ipv4Addr, SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// The Unix socket's name in the server's directory.
const SOCKET: &str = "redis.sock";

/// How long a fresh server gets to answer PING.
const START_TIMEOUT: Duration = Duration::from_secs(5);

/// A `redis-server` child process on its own loopback port, with its own
/// directory and no persistence, killed (and its directory removed) on drop.
/// Tests never share state and never touch a Redis someone else runs.
///
/// ```
/// use connectflow::testing::RedisServer;
///
/// // In CI (`CI` set) a missing redis-server panics here; locally the
/// // test is skipped with a notice on stderr.
/// let Some(redis) = RedisServer::start_or_skip() else { return };
/// assert!(redis.url().starts_with("redis://127.0.0.1:"));
/// // ... `connectflow::store::RedisStore::connect(redis.url())` ...
/// ```
#[derive(Debug)]
pub struct RedisServer {
    url: String,
    port: u16,
    child: Child,
    dir: PathBuf,
    persistent: bool,
    /// The Unix socket it also listens on, when started with one.
    unix: Option<PathBuf>,
}

impl RedisServer {
    /// Starts a fresh `redis-server`, or returns `None` (after a loud notice
    /// on stderr) when none is installed and this is not CI. A test that
    /// gets `None` returns at once.
    ///
    /// # Panics
    ///
    /// When `redis-server` is not on `PATH` and the environment variable
    /// `CI` is set (to anything but empty, `0` or `false`): in CI a missing
    /// server is a failure, never a silent skip, because the tests it would
    /// hide are the point. Also when the server does not start.
    pub fn start_or_skip() -> Option<RedisServer> {
        RedisServer::available().then(|| RedisServer::start(false, false))
    }

    /// As [`start_or_skip`](Self::start_or_skip), the server listening on a
    /// Unix socket in its directory too ([`unix_url`](Self::unix_url)).
    /// Only on request: a socket's path is limited to about 100 bytes, which
    /// a deep temporary directory (macOS's, some CI's) can pass, and every
    /// other test's server must not fail for it.
    pub fn start_with_unix_socket_or_skip() -> Option<RedisServer> {
        RedisServer::available().then(|| RedisServer::start(false, true))
    }

    /// As [`start_or_skip`](Self::start_or_skip), but every write is kept in
    /// an append-only file (fsynced), so the data survives
    /// [`stop`](Self::stop) and [`restart`](Self::restart), as a production
    /// Redis with persistence does.
    pub fn start_persistent_or_skip() -> Option<RedisServer> {
        RedisServer::available().then(|| RedisServer::start(true, false))
    }

    /// `redis-server` is on PATH; in CI its absence is a failure.
    fn available() -> bool {
        if find_on_path("redis-server").is_none() {
            if in_ci() {
                panic!(
                    "redis-server is required in CI (it was not found on PATH); \
                     install it, e.g. apt-get install redis-server"
                );
            }
            // Written to the real stderr, not with `eprintln!`, which the
            // test harness captures and shows only for failures: a skip must
            // be seen. Once per test binary is enough to be seen.
            static WARNED: std::sync::Once = std::sync::Once::new();
            WARNED.call_once(|| {
                let _ = std::io::stderr().write_all(
                    b"\n\
                      ************************************************************\n\
                      * SKIPPED: redis-server is not on PATH, so the tests that  *\n\
                      * need Redis are skipped locally. Install it (e.g. apt-get *\n\
                      * install redis-server) to run them; CI requires it.       *\n\
                      ************************************************************\n",
                );
            });
            return false;
        }
        true
    }

    /// `redis://127.0.0.1:<port>/`.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// `redis+unix://<its directory>/redis.sock`: the same server on a Unix
    /// socket, when [started with one](Self::start_with_unix_socket_or_skip).
    pub fn unix_url(&self) -> Option<String> {
        let socket = self.unix.as_ref()?;
        Some(format!("redis+unix://{}", socket.display()))
    }

    /// The port it listens on (kept across [`restart`](Self::restart)).
    pub fn port(&self) -> u16 {
        self.port
    }

    fn start(persistent: bool, unix: bool) -> RedisServer {
        let dir = std::env::temp_dir().join(format!(
            "connectflow-redis-{}-{}",
            std::process::id(),
            unique()
        ));
        std::fs::create_dir_all(&dir).expect("create a temp dir for redis-server");
        let unix = unix.then(|| dir.join(SOCKET));
        // The free port found by binding :0 can be taken by someone else
        // before redis binds it; a server that exits at once gets a new port.
        let mut last_error = String::new();
        for _ in 0..5 {
            let port = free_port();
            match spawn_and_wait(port, &dir, persistent, unix.as_deref()) {
                Ok(child) => {
                    return RedisServer {
                        url: format!("redis://127.0.0.1:{port}/"),
                        port,
                        child,
                        dir,
                        persistent,
                        unix,
                    }
                }
                Err(e) => last_error = e,
            }
        }
        let _ = std::fs::remove_dir_all(&dir);
        panic!("redis-server did not start: {last_error}");
    }

    /// Kills the server abruptly (SIGKILL), as a crash would; the port is
    /// kept so [`restart`](Self::restart) can bring a server back on it.
    pub fn stop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// Starts a new server on the same port (empty, unless it was started
    /// [persistent](Self::start_persistent_or_skip)) (stopping the old one
    /// first if it still runs). Blocks until it answers PING.
    ///
    /// # Panics
    ///
    /// When no server answers on the port within five seconds.
    pub fn restart(&mut self) {
        self.stop();
        // The port was just released by the dead server; unlike a fresh
        // port nobody else was told about it, so no retry on another port.
        let deadline = Instant::now() + START_TIMEOUT;
        loop {
            match spawn_and_wait(self.port, &self.dir, self.persistent, self.unix.as_deref()) {
                Ok(child) => {
                    self.child = child;
                    return;
                }
                Err(e) if Instant::now() > deadline => {
                    panic!("redis-server did not restart on port {}: {e}", self.port)
                }
                Err(_) => std::thread::sleep(Duration::from_millis(50)),
            }
        }
    }
}

impl Drop for RedisServer {
    fn drop(&mut self) {
        self.stop();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// `CI` set to anything but empty, `0` or `false` (the convention of GitHub
/// Actions, GitLab and most others, which set `CI=true`).
pub(super) fn in_ci() -> bool {
    std::env::var("CI").is_ok_and(|v| !matches!(v.trim(), "" | "0" | "false"))
}

pub(super) fn find_on_path(program: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|dir| dir.join(program))
        .find(|candidate| candidate.is_file())
}

pub(super) fn unique() -> u128 {
    use std::sync::atomic::{AtomicU32, Ordering};
    static COUNTER: AtomicU32 = AtomicU32::new(0);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    nanos ^ u128::from(COUNTER.fetch_add(1, Ordering::Relaxed))
}

pub(super) fn free_port() -> u16 {
    TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
        .and_then(|l| l.local_addr())
        .expect("bind 127.0.0.1:0 to find a free port")
        .port()
}

/// Spawns redis-server on `port` and waits until it answers PING; on failure
/// the child is reaped and the reason carries the end of its log.
fn spawn_and_wait(
    port: u16,
    dir: &Path,
    persistent: bool,
    unix: Option<&Path>,
) -> Result<Child, String> {
    let log = dir.join(format!("redis-{port}.log"));
    let mut command = Command::new("redis-server");
    if let Some(socket) = unix {
        // Only the owner's: the tests' own process connects.
        command
            .arg("--unixsocket")
            .arg(socket)
            .args(["--unixsocketperm", "700"]);
    }
    let mut child = command
        .args(["--port", &port.to_string()])
        .args(["--bind", "127.0.0.1"])
        // No RDB snapshots, and no AOF unless asked: an empty server after a
        // restart is what most restart tests rely on; a persistent one
        // (every write fsynced to the append-only file) is what production
        // runs, and survives the restart.
        .args(["--save", ""])
        .args(["--appendonly", if persistent { "yes" } else { "no" }])
        .args(["--appendfsync", "always"])
        .arg("--dir")
        .arg(dir)
        .arg("--logfile")
        .arg(&log)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .map_err(|e| format!("spawn redis-server: {e}"))?;
    let addr = SocketAddr::from((Ipv4Addr::LOCALHOST, port));
    let deadline = Instant::now() + START_TIMEOUT;
    loop {
        if let Ok(Some(status)) = child.try_wait() {
            return Err(format!("exited with {status}; log:\n{}", log_tail(&log)));
        }
        if ping(addr) {
            return Ok(child);
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            return Err(format!(
                "no PONG within {START_TIMEOUT:?}; log:\n{}",
                log_tail(&log)
            ));
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Whether a server at `addr` answers an inline `PING` with `+PONG`.
fn ping(addr: SocketAddr) -> bool {
    let Ok(mut stream) = TcpStream::connect_timeout(&addr, Duration::from_millis(200)) else {
        return false;
    };
    let _ = stream.set_read_timeout(Some(Duration::from_millis(500)));
    let _ = stream.set_write_timeout(Some(Duration::from_millis(500)));
    let mut reply = [0u8; 7];
    stream.write_all(b"PING\r\n").is_ok()
        && stream.read_exact(&mut reply).is_ok()
        && &reply == b"+PONG\r\n"
}

fn log_tail(log: &Path) -> String {
    let text = std::fs::read_to_string(log).unwrap_or_default();
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(20)..].join("\n")
}
