//! An embedded Mono partner server for loopback: every example, test and demo
//! runs with no account and no network.
//!
//! [`Sandbox`] is a real axum HTTP server answering the Mono v2 Partners API
//! (`reference/mono.md`) with scripted institutions and [test users](test_users).
//! Inside is a sans-IO *bank* (institutions, users and their scripts,
//! sessions, codes, links, lockouts and a session cap, all per API key; time
//! passed in, ids from an injected source); outside, a thin Mono wire front
//! whose replies are built with [`crate::dialect::mono::wire`], the inverse of
//! the dialect's decoder, so the sandbox and the client cannot drift apart.
//!
//! ```no_run
//! # async fn demo() -> std::io::Result<()> {
//! use connectflow::sandbox::{Sandbox, SECRET_KEY};
//!
//! let sandbox = Sandbox::start_local().await?;
//! println!("Mono sandbox at {} (key {SECRET_KEY})", sandbox.url());
//! // ... point a driver or plain HTTP client at sandbox.url() ...
//! sandbox.shutdown().await;
//! # Ok(()) }
//! ```
//!
//! # Routes
//!
//! Every Mono connect route needs the header `mono-sec-key` with a key starting `test_sk_`
//! (else `401`). Errors use Mono's envelope `{status: "failed", message,
//! data: null}`; login and commit refusals add `responseCode: 400`.
//!
//! | route | answers |
//! |---|---|
//! | `GET /v3/institutions` | the catalogue; filters `scope`, `auth_method`, `bank_code` |
//! | `POST /v2/connect/session` | `data.session.{id, expiresAt, institution}` and `data.ui`; `429` (with `Retry-After`) when the key already has `max_sessions_per_key` live sessions |
//! | `POST /v2/connect/login` | `99` / `101` / `102`, or a `400` refusal; `503` while the institution is down (`user_down`) |
//! | `POST /v2/connect/commit` | the same; the keys must match the last `102` form |
//! | `POST /v2/connect/reauth/session` | `{account}` linked by this key: `data: {responseCode: 99, code}` when the bank needs nothing (every user but `user_reauth`), else a session like create-session's; `404` for another key's or an unlinked account |
//! | `POST /v2/connect/reauth/login` | the login of a re-authorisation session: only the account's own user; then the same `99` / `102` loop |
//! | `POST /v2/accounts/auth` | `data.id`; codes are single use and expire after `code_ttl` |
//! | `GET /v2/connect/sandbox` | `data.credentials`: every test user's values for the session's form (its captcha included); `data.inputs`: the MFA answers |
//! | `GET /v2/accounts/{id}` | the linked account, or `404` |
//! | `POST /v2/accounts/{id}/unlink` | unlinks (then `GET` is `404`) |
//!
//! Partner admin (connectflow's **unconfirmed** paths, see
//! [`crate::dialect::mono::admin`]; no `mono-sec-key`, a bearer token
//! instead):
//!
//! | route | answers |
//! |---|---|
//! | `POST /v1/partners/login` | `{email, password}` of [`PARTNER_EMAIL`] or [`OTHER_PARTNER_EMAIL`] → `data.access_token` lasting [`partner_token_ttl`](SandboxConfig::partner_token_ttl); `401` for a wrong password |
//! | `GET /v1/partners/apps` | the token's partner's apps only |
//! | `POST /v1/partners/apps` | `{name, display_name?, icon_url?}` → `201` and the app, in sandbox mode; `400` naming the field for a blank name or a non-`http(s)` icon URL |
//! | `PATCH /v1/partners/apps?id=ID` | changes the fields sent; `{live: true}` switches to live (and there is no way back) |
//! | `DELETE /v1/partners/apps?id=ID` | deletes it |
//!
//! A missing or unknown token is `401` with `data.code: "unauthenticated"`,
//! an expired one `401` with `data.code: "token_expired"`; another
//! partner's app is `403`, an unknown id `404`.
//!
//! Any other path is `404` and another method `405`; a body over 64 KiB is
//! `413` and malformed JSON `400`, all in the same envelope.
//!
//! Session errors on login, commit and `/v2/connect/sandbox`: no
//! `x-session-id` is `400`; an unknown session, or one created with another
//! secret key, is `404` "Session not found" (existence never leaks across
//! keys); an expired one is `400` "Session expired". Both messages are read
//! by the dialect as a session to renew.
//!
//! Each secret key is a separate app: its sessions, codes, linked accounts,
//! wrong-password counts and lockouts are its own. A key may hold at most
//! [`max_sessions_per_key`](SandboxConfig::max_sessions_per_key) live
//! (unexpired, unfinished) sessions; one frees up when its code is issued or
//! it expires.
//!
//! # Institutions
//!
//! * `sandbox-bank`: `internet_banking` (`username`, `password`),
//!   `mobile_banking` (`phone`, 6-digit `pin`), `manual` (`accountNo`, a
//!   choice `identifier` = `bvn`/`dob`/`phone`/`email`, and its `value`) and
//!   `ussd` (`accountNo`, 4-digit `pin`).
//! * `sandbox-captcha-bank`: `internet_banking` with `username`, `password`
//!   and a per-session `captcha`. **Captcha convention:** the answer is the
//!   five characters at the end of the captcha field's hint, `"… (sandbox:
//!   ABCDE)"` ([`captcha_answer`] reads it); the field's `value` is a real PNG
//!   data URL drawing the same characters, and `/v2/connect/sandbox` lists it
//!   under `captcha`. The comparison ignores case.
//! * 17 Nigerian banks (Access Bank, GTBank, First Bank, ...) with internet
//!   and/or mobile banking; mobile banking there asks for the account number
//!   and the 6-digit mobile PIN.
//!
//! Every institution accepts the same [test users](test_users) with the same
//! behaviour, through every auth method.

mod bank;
mod captcha;
mod catalogue;
mod flinks;
mod front;
mod mono;
mod partners;
mod users;

pub use captcha::captcha_answer;
pub use catalogue::{institutions, SANDBOX_BANK, SANDBOX_CAPTCHA_BANK};
pub use users::{test_users, TestUser, OTP, PASSWORD, SECURITY_ANSWER};

use std::fmt;
use std::net::{Ipv4Addr, Ipv6Addr, SocketAddr};
use std::time::Duration;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

/// A valid secret key for demos: any key starting `test_sk_` works, and each
/// key sees only its own sessions, codes and linked accounts.
pub const SECRET_KEY: &str = "test_sk_connectflow_sandbox";

/// The secret key of the sandbox's Flinks instance: send it as
/// `flinks-auth-key` to `GenerateAuthorizeToken` (flinks.md §1).
pub const FLINKS_SECRET: &str = "flinks_sandbox_secret";

/// The API key of the sandbox's Flinks instance: send it as `x-api-key` to
/// its data endpoints, the status poll and the accounts summary (flinks.md
/// §1); without it they answer `401 ACCESS_DENIED`, as Flinks does.
pub const FLINKS_API_KEY: &str = "flinks_sandbox_api_key";

/// The sandbox's Flinks customer id: Flinks' documented toolbox instance.
pub const FLINKS_CUSTOMER_ID: &str = crate::dialect::flinks::TOOLBOX_CUSTOMER_ID;

/// The sandbox partner account's email, for the partner admin calls
/// (`connectflow apps login`; see [`crate::dialect::mono::admin`]).
pub const PARTNER_EMAIL: &str = "partner@sandbox.connectflow.dev";

/// The sandbox partner account's password.
pub const PARTNER_PASSWORD: &str = "sandbox-partner-pass";

/// A second partner account, so that a test can show one partner never
/// sees, changes or deletes another's apps.
pub const OTHER_PARTNER_EMAIL: &str = "other-partner@sandbox.connectflow.dev";

/// The second partner account's password.
pub const OTHER_PARTNER_PASSWORD: &str = "sandbox-other-pass";

/// Timings and limits of a [`Sandbox`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SandboxConfig {
    /// How long a session lives after creation (`expiresAt`). Default 30 min.
    pub session_ttl: Duration,
    /// How long a link code may wait for its exchange. Default 10 min, as at
    /// Mono (mono.md §5).
    pub code_ttl: Duration,
    /// How long `user_slow`'s login takes. Default 65 s: longer than any
    /// login waits (the driver's 60 s cap: the sandbox's list, like Mono's
    /// v3 list, gives no bank `timeout`), so the default sandbox shows what
    /// a bank that does not answer in time looks like. Tests shorten it.
    pub slow_delay: Duration,
    /// Most live (unexpired, unfinished) sessions one secret key may hold;
    /// creating one more is refused with HTTP 429. Default 100.
    pub max_sessions_per_key: usize,
    /// How long a partner admin access token works after its login.
    /// Default 1 hour; tests shorten it to see it expire.
    pub partner_token_ttl: Duration,
}

impl Default for SandboxConfig {
    fn default() -> Self {
        SandboxConfig {
            session_ttl: Duration::from_secs(30 * 60),
            code_ttl: Duration::from_secs(10 * 60),
            slow_delay: Duration::from_secs(65),
            max_sessions_per_key: 100,
            partner_token_ttl: Duration::from_secs(60 * 60),
        }
    }
}

/// A running sandbox server. Dropping it stops the server too (gracefully,
/// in the background); [`shutdown`](Sandbox::shutdown) also waits for it.
pub struct Sandbox {
    addr: SocketAddr,
    stop: oneshot::Sender<()>,
    task: JoinHandle<()>,
}

impl fmt::Debug for Sandbox {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Sandbox").field("addr", &self.addr).finish()
    }
}

impl Sandbox {
    /// Binds `addr` (port 0 picks a free port) and serves the sandbox on the
    /// current tokio runtime until shut down or dropped.
    pub async fn start(addr: SocketAddr, config: SandboxConfig) -> std::io::Result<Sandbox> {
        let listener = tokio::net::TcpListener::bind(addr).await?;
        let addr = listener.local_addr()?;
        let (stop, stopped) = oneshot::channel::<()>();
        // The same limits as every server here, but a request may take as
        // long as the slow test user is told to, and a stopping sandbox does
        // not wait long for requests it is holding open.
        let limits = crate::server::Limits {
            request_timeout: config.slow_delay + std::time::Duration::from_secs(10),
            drain: std::time::Duration::from_secs(1),
            ..crate::server::Limits::default()
        };
        let router = Self::router(config);
        let task = tokio::spawn(async move {
            // `stopped` also resolves when the sender is dropped, which is
            // how dropping the handle stops the server.
            let served = crate::server::serve(listener, router, limits, async move {
                let _ = stopped.await;
            })
            .await;
            if let Err(e) = served {
                tracing::warn!(error = %e, "sandbox: server stopped with an error");
            }
        });
        tracing::info!(%addr, "sandbox: listening");
        Ok(Sandbox { addr, stop, task })
    }

    /// [`start`](Sandbox::start) on `127.0.0.1`, a free port, default config.
    pub async fn start_local() -> std::io::Result<Sandbox> {
        Self::start(
            SocketAddr::from((Ipv4Addr::LOCALHOST, 0)),
            SandboxConfig::default(),
        )
        .await
    }

    /// The base URL, e.g. `http://127.0.0.1:49152`. A server bound to the
    /// unspecified address is reached through loopback.
    pub fn url(&self) -> String {
        let mut addr = self.addr;
        if addr.ip().is_unspecified() {
            addr.set_ip(match addr {
                SocketAddr::V4(_) => Ipv4Addr::LOCALHOST.into(),
                SocketAddr::V6(_) => Ipv6Addr::LOCALHOST.into(),
            });
        }
        format!("http://{addr}")
    }

    /// The address actually bound (with the real port).
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Stops accepting connections, lets requests in flight finish, and waits
    /// for the server task to end.
    pub async fn shutdown(self) {
        let _ = self.stop.send(());
        if let Err(e) = self.task.await {
            tracing::warn!(error = %e, "sandbox: server task failed");
        }
    }

    /// The sandbox as an axum [`Router`](axum::Router) with its own fresh
    /// in-memory state, for a host that serves it itself (or mounts it under
    /// another router).
    pub fn router(config: SandboxConfig) -> axum::Router {
        let both = mono::router(config.clone())
            .merge(partners::router(&config))
            .merge(flinks::router(config));
        mono::not_found(both)
    }
}
