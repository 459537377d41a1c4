//! A real `redis-server` listening only on a TLS port, with a throwaway CA
//! (rcgen), for the `rediss://` tests. Shared by test binaries via
//! `#[path]`, so not every item is used by each.
#![allow(dead_code)]

use connectflow::testing::TempDir;
use std::net::{Ipv4Addr, SocketAddr, TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// A throwaway CA and a server certificate it signed, for 127.0.0.1 and
/// localhost, as PEM: (CA certificate, server certificate, server key).
pub(crate) fn throwaway_pki() -> (String, String, String) {
    use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, KeyPair};
    let ca_key = KeyPair::generate().unwrap();
    let mut ca = CertificateParams::new(Vec::<String>::new()).unwrap();
    ca.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca.distinguished_name
        .push(DnType::CommonName, "connectflow test CA");
    let ca = ca.self_signed(&ca_key).unwrap();
    let key = KeyPair::generate().unwrap();
    let mut server =
        CertificateParams::new(vec!["127.0.0.1".to_owned(), "localhost".to_owned()]).unwrap();
    server
        .distinguished_name
        .push(DnType::CommonName, "connectflow test redis");
    let server = server.signed_by(&key, &ca, &ca_key).unwrap();
    (ca.pem(), server.pem(), key.serialize_pem())
}

/// A `redis-server` on a TLS-only port, killed on drop.
pub(crate) struct TlsRedis {
    child: Child,
    pub(crate) port: u16,
    ca: PathBuf,
    _dir: TempDir,
}

impl Drop for TlsRedis {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl TlsRedis {
    /// `None` (with a notice) when redis-server is not installed and this
    /// is not CI, like every Redis test here. A redis-server built without
    /// TLS fails the test, saying so: it must not pass by skipping.
    pub(crate) fn start(ca: &str, cert: &str, key: &str) -> Option<TlsRedis> {
        if Command::new("redis-server")
            .arg("--version")
            .output()
            .is_err()
        {
            let ci = std::env::var("CI").is_ok_and(|v| !matches!(v.trim(), "" | "0" | "false"));
            assert!(!ci, "redis-server is required in CI for the rediss:// test");
            eprintln!("SKIPPED: redis-server is not on PATH");
            return None;
        }
        let dir = TempDir::new("redis-tls");
        let file = |name: &str, pem: &str| {
            let path = dir.path().join(name);
            std::fs::write(&path, pem).unwrap();
            path
        };
        let (ca, cert, key) = (
            file("ca.pem", ca),
            file("redis.pem", cert),
            file("redis.key", key),
        );
        let port = TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
            .and_then(|l| l.local_addr())
            .unwrap()
            .port();
        let log = dir.path().join("redis.log");
        let mut child = Command::new("redis-server")
            .args(["--port", "0", "--bind", "127.0.0.1", "--save", ""])
            .args(["--tls-port", &port.to_string()])
            .arg("--tls-cert-file")
            .arg(&cert)
            .arg("--tls-key-file")
            .arg(&key)
            .arg("--tls-ca-cert-file")
            .arg(&ca)
            // The store authenticates with a password if any, not a client certificate.
            .args(["--tls-auth-clients", "no"])
            .arg("--dir")
            .arg(dir.path())
            .arg("--logfile")
            .arg(&log)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let deadline = Instant::now() + Duration::from_secs(5);
        loop {
            if let Ok(Some(status)) = child.try_wait() {
                let mut stderr = String::new();
                if let Some(mut e) = child.stderr.take() {
                    let _ = std::io::Read::read_to_string(&mut e, &mut stderr);
                }
                let log = std::fs::read_to_string(&log).unwrap_or_default();
                panic!(
                    "redis-server with --tls-port exited ({status}): it may be built without \
                     TLS (BUILD_TLS=yes; Debian's redis-server 6+ has it). The rediss:// test \
                     needs one.\n{stderr}\n{log}"
                );
            }
            // Listening is enough: the store's connect does the handshake.
            if TcpStream::connect(SocketAddr::from((Ipv4Addr::LOCALHOST, port))).is_ok() {
                return Some(TlsRedis {
                    child,
                    port,
                    ca,
                    _dir: dir,
                });
            }
            assert!(
                Instant::now() < deadline,
                "redis-server did not listen on its TLS port"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// `rediss://127.0.0.1:<port>/`.
    pub(crate) fn url(&self) -> String {
        format!("rediss://127.0.0.1:{}/", self.port)
    }

    /// The CA certificate's PEM file.
    pub(crate) fn ca_path(&self) -> &std::path::Path {
        &self.ca
    }
}
