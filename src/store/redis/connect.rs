//! Where the store's connections go and how one is opened: TCP, TLS
//! (rustls) or a Unix socket, then `AUTH` and `SELECT` as the URL says.
//!
//! The URL is read by the redis crate (`IntoConnectionInfo`), so the store
//! takes every URL it took when the crate made its connections; what this
//! adds is the opening itself, which `mux.rs` calls for each connection
//! it opens.

use std::io;
#[cfg(unix)]
use std::path::PathBuf;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use redis::{ConnectionAddr, ErrorKind, IntoConnectionInfo, ProtocolVersion, RedisError, Value};
use rustls::pki_types::ServerName;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;

use super::resp;
use crate::store::StoreError;

/// One Redis server, as a URL named it (its password kept here only).
pub(super) struct Target {
    addr: Addr,
    /// `AUTH`'s arguments: the user if the URL named one, the password.
    auth: Option<(Option<String>, String)>,
    db: i64,
}

enum Addr {
    Tcp(String, u16),
    Tls {
        host: String,
        port: u16,
        name: ServerName<'static>,
        tls: tokio_rustls::TlsConnector,
    },
    #[cfg(unix)]
    Unix(PathBuf),
}

impl Target {
    /// The server `url` names (`tls`: a `rediss://` URL), its TLS trusting
    /// `ca_pem` (PEM) if given, else the Mozilla roots built in
    /// (webpki-roots: the same in every container, whatever its system
    /// store holds).
    pub(super) fn new(url: &str, tls: bool, ca_pem: Option<&[u8]>) -> Result<Target, StoreError> {
        let fail = |what: &str| StoreError::Backend(format!("redis: {what}"));
        // The crate reads `rediss://` only when built with a TLS of its
        // own, which the store does not use: the rest of the URL is read as
        // `redis://`'s, and TLS is this module's.
        let plain;
        let url = match url.get(9..) {
            Some(rest) if tls => {
                if rest.contains('#') {
                    return Err(fail(
                        "a rediss:// URL takes no #fragment (#insecure, a server certificate not checked, is refused)",
                    ));
                }
                plain = format!("redis://{rest}");
                plain.as_str()
            }
            _ => url,
        };
        // Not the crate's error: a URL that fails to parse could be echoed
        // in part.
        let info = url
            .into_connection_info()
            .map_err(|_| fail("invalid connection URL"))?;
        if info.redis.protocol != ProtocolVersion::RESP2 {
            return Err(fail(
                "this store speaks RESP2: leave protocol=resp3 out of the URL",
            ));
        }
        let addr = match info.addr {
            ConnectionAddr::Tcp(host, port) if tls => {
                let name = ServerName::try_from(host.clone())
                    .map_err(|_| fail("the host is not a name TLS can check"))?;
                Addr::Tls {
                    host,
                    port,
                    name,
                    tls: tls_connector(ca_pem)?,
                }
            }
            ConnectionAddr::Tcp(host, port) => Addr::Tcp(host, port),
            // Not made by a `redis://` URL; named for completeness.
            ConnectionAddr::TcpTls { .. } => return Err(fail("invalid connection URL")),
            // `redis+unix://` and `unix://`: never TLS.
            #[cfg(unix)]
            ConnectionAddr::Unix(path) => Addr::Unix(path),
            #[cfg(not(unix))]
            ConnectionAddr::Unix(_) => return Err(fail("a Unix socket URL needs a Unix system")),
        };
        let auth = info
            .redis
            .password
            .map(|password| (info.redis.username, password));
        Ok(Target {
            addr,
            auth,
            db: info.redis.db,
        })
    }

    /// The database `SELECT`ed on every connection.
    pub(super) fn db(&self) -> i64 {
        self.db
    }

    /// Opens a connection, authenticated and on its database, within
    /// `limit` all told (a name lookup, TCP, TLS, `AUTH`, `SELECT`).
    pub(super) async fn open(&self, limit: Duration) -> Result<Stream, RedisError> {
        match tokio::time::timeout(limit, self.open_unbounded()).await {
            Ok(opened) => opened,
            Err(_) => {
                Err(io::Error::new(io::ErrorKind::TimedOut, "connecting to redis timed out").into())
            }
        }
    }

    async fn open_unbounded(&self) -> Result<Stream, RedisError> {
        let mut stream = match &self.addr {
            Addr::Tcp(host, port) => Stream::Tcp(tcp(host, *port).await?),
            Addr::Tls {
                host,
                port,
                name,
                tls,
            } => {
                let tcp = tcp(host, *port).await?;
                Stream::Tls(Box::new(tls.connect(name.clone(), tcp).await?))
            }
            #[cfg(unix)]
            Addr::Unix(path) => Stream::Unix(tokio::net::UnixStream::connect(path).await?),
        };
        if let Some((user, password)) = &self.auth {
            let auth = |user: Option<&String>| {
                let mut auth = redis::cmd("AUTH");
                if let Some(user) = user {
                    auth.arg(user);
                }
                auth.arg(password);
                auth
            };
            let mut reply = handshake(&mut stream, &auth(user.as_ref())).await?;
            // A server before Redis 6 knows no users: a URL that names one
            // (`redis://h:password@…`, as some hosts gave out) is the
            // password alone there, as the redis crate read it.
            if user.is_some() && refused_with(&reply, "wrong number of arguments") {
                reply = handshake(&mut stream, &auth(None)).await?;
            }
            // Whatever the server says, the error names neither.
            if !matches!(reply, Value::Okay) {
                return Err((ErrorKind::AuthenticationFailed, "authentication refused").into());
            }
        }
        if self.db != 0 {
            let mut select = redis::cmd("SELECT");
            select.arg(self.db);
            if !matches!(handshake(&mut stream, &select).await?, Value::Okay) {
                // A kind with no server code: `connect` fails on it.
                return Err((
                    ErrorKind::InvalidClientConfig,
                    "the URL's database was refused (SELECT)",
                )
                    .into());
            }
        }
        Ok(stream)
    }
}

/// Whether `reply` is an error whose text contains `text`.
fn refused_with(reply: &Value, text: &str) -> bool {
    match reply {
        Value::ServerError(e) => e.details().is_some_and(|d| d.contains(text)),
        _ => false,
    }
}

async fn tcp(host: &str, port: u16) -> io::Result<TcpStream> {
    let stream = TcpStream::connect((host, port)).await?;
    // A round trip is one small write and its reply: never held back to
    // be joined with a next one that is not coming.
    stream.set_nodelay(true)?;
    Ok(stream)
}

fn tls_connector(ca_pem: Option<&[u8]>) -> Result<tokio_rustls::TlsConnector, StoreError> {
    let mut roots = rustls::RootCertStore::empty();
    match ca_pem {
        None => roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned()),
        Some(pem) => {
            use rustls::pki_types::pem::PemObject;
            for cert in rustls::pki_types::CertificateDer::pem_slice_iter(pem) {
                let cert = cert.map_err(|e| {
                    StoreError::Backend(format!("redis: unusable CA certificate: {e}"))
                })?;
                roots.add(cert).map_err(|e| {
                    StoreError::Backend(format!("redis: unusable CA certificate: {e}"))
                })?;
            }
            if roots.is_empty() {
                return Err(StoreError::Backend(
                    "redis: no PEM certificate in the CA file".into(),
                ));
            }
        }
    }
    // ring, as the rest of the crate's TLS (reqwest's, the seals'): one
    // provider built, none chosen at run time.
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| StoreError::Backend(format!("redis: TLS: {e}")))?
        .with_root_certificates(roots)
        .with_no_client_auth();
    Ok(tokio_rustls::TlsConnector::from(Arc::new(config)))
}

/// One command and its reply, on a connection not yet in use.
async fn handshake(stream: &mut Stream, cmd: &redis::Cmd) -> Result<Value, RedisError> {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut bytes = Vec::new();
    resp::write_command(&mut bytes, cmd);
    stream.write_all(&bytes).await?;
    stream.flush().await?;
    let mut input = Vec::with_capacity(256);
    loop {
        match resp::read(&input) {
            Ok(resp::Read::Reply(value, _)) => return Ok(value),
            Ok(resp::Read::Partial { .. }) if input.len() > 64 * 1024 => break,
            Ok(resp::Read::Partial { .. }) => {
                if stream.read_buf(&mut input).await? == 0 {
                    return Err(io::Error::from(io::ErrorKind::UnexpectedEof).into());
                }
            }
            Err(_) => break,
        }
    }
    Err((
        ErrorKind::ParseError,
        "redis: a malformed reply to the handshake",
    )
        .into())
}

/// A connection to Redis, whichever way it goes.
pub(super) enum Stream {
    Tcp(TcpStream),
    Tls(Box<tokio_rustls::client::TlsStream<TcpStream>>),
    #[cfg(unix)]
    Unix(tokio::net::UnixStream),
}

impl AsyncRead for Stream {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Stream::Tcp(s) => Pin::new(s).poll_read(cx, buf),
            Stream::Tls(s) => Pin::new(s.as_mut()).poll_read(cx, buf),
            #[cfg(unix)]
            Stream::Unix(s) => Pin::new(s).poll_read(cx, buf),
        }
    }
}

impl AsyncWrite for Stream {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        match self.get_mut() {
            Stream::Tcp(s) => Pin::new(s).poll_write(cx, buf),
            Stream::Tls(s) => Pin::new(s.as_mut()).poll_write(cx, buf),
            #[cfg(unix)]
            Stream::Unix(s) => Pin::new(s).poll_write(cx, buf),
        }
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Stream::Tcp(s) => Pin::new(s).poll_flush(cx),
            Stream::Tls(s) => Pin::new(s.as_mut()).poll_flush(cx),
            #[cfg(unix)]
            Stream::Unix(s) => Pin::new(s).poll_flush(cx),
        }
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Stream::Tcp(s) => Pin::new(s).poll_shutdown(cx),
            Stream::Tls(s) => Pin::new(s.as_mut()).poll_shutdown(cx),
            #[cfg(unix)]
            Stream::Unix(s) => Pin::new(s).poll_shutdown(cx),
        }
    }
}
