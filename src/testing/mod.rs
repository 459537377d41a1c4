// The links below are written in full: rustdoc joins this page to the
// module's one-line summary in the crate root and resolves them there, where
// the kit's names are not in scope.

//! Everything a test of code built on connectflow needs besides the code
//! itself; the crate's own tests and benches use it too.
//!
//! | need | use |
//! |---|---|
//! | time that moves only when the test says so | [`FakeClock`](crate::testing::FakeClock), a [`Clock`](crate::service::Clock) for [`SessionService::with_clock`](crate::service::SessionService::with_clock) |
//! | a known institution list | [`catalogues`](crate::testing::catalogues) |
//! | a partner that behaves: scripted users, lockouts, MFA | [`Sandbox`](crate::testing::Sandbox) with [`test_users`](crate::testing::test_users) |
//! | a partner that misbehaves exactly as told, and records what it was sent | [`StubPartner`](crate::testing::StubPartner) with [`Answer`](crate::testing::Answer)s |
//! | a driver pointed at either | [`mono_driver`](crate::testing::mono_driver), [`flinks_driver`](crate::testing::flinks_driver) for the sandbox's Flinks Capital |
//! | a real Redis, thrown away afterwards | [`RedisServer`](crate::testing::RedisServer) |
//! | a real PostgreSQL (one cluster per test binary), thrown away afterwards | [`PostgresServer`](crate::testing::PostgresServer) |
//! | a recorded conversation with a real bank served back, request by request, no network | [`ReplayPartner`](crate::testing::ReplayPartner) with a [`Transcript`](crate::driver::Transcript) (`connectflow link --record FILE`) |
//! | a directory (an SQLite records file), removed afterwards | [`TempDir`](crate::testing::TempDir) |
//!
//! ```
//! use connectflow::driver::{now, DriverConfig};
//! use connectflow::flow::{ConnectFlow, FlowConfig, Notice, View};
//! use connectflow::testing::{catalogues, mono_driver, Answer, StubPartner};
//! use std::time::Duration;
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> std::io::Result<()> {
//! // A partner whose first institution list fails with a 503.
//! let partner = StubPartner::start_with(catalogues::demo()).await?;
//! partner.answer_once(StubPartner::INSTITUTIONS, Answer::status(503, "down"));
//!
//! let driver = mono_driver(&partner.url(), DriverConfig::default());
//! let config = FlowConfig { read_backoff_ms: 10, ..FlowConfig::default() };
//! let mut flow = ConnectFlow::new(config, now());
//! driver.run(&mut flow, &mut |_| {}).await.unwrap();
//!
//! // The list is a read and a 503 is transient, so the flow asked again
//! // and the person never saw the failure.
//! assert!(matches!(flow.view(), View::ChooseInstitution { .. }));
//! assert_eq!(partner.count(StubPartner::INSTITUTIONS), 2);
//! # Ok(()) }
//! ```

mod answer;
pub mod catalogues;
mod clock;
pub mod fuzz;
mod postgres;
mod redis;
mod replay;
mod secrets;
mod stub;
mod tempdir;

pub use answer::Answer;
pub use clock::FakeClock;
pub use postgres::PostgresServer;
pub use redis::RedisServer;
pub use replay::{Divergence, ReplayClock, ReplayPartner, ReplayStatus};
pub use secrets::find_secret;
pub use stub::{RecordedRequest, StubPartner};
pub use tempdir::TempDir;

pub use crate::sandbox::{
    captcha_answer, test_users, Sandbox, SandboxConfig, TestUser, FLINKS_API_KEY,
    FLINKS_CUSTOMER_ID, FLINKS_SECRET, OTP, PASSWORD, SANDBOX_BANK, SANDBOX_CAPTCHA_BANK,
    SECRET_KEY, SECURITY_ANSWER,
};

use crate::dialect::mono::Customer;
use crate::dialect::{Mono, MonoConfig};
use crate::driver::{Driver, DriverConfig};

/// A Mono v2 driver for a partner on loopback — a [`Sandbox`] or a
/// [`StubPartner`] — with the sandbox's [`SECRET_KEY`] and a new customer
/// (Ada Obi, `ada@example.com`), the same for every test.
///
/// # Panics
///
/// When `base_url` is not an `http(s)://` URL (a bug in the test).
pub fn mono_driver(base_url: &str, config: DriverConfig) -> Driver {
    let mono = Mono::new(MonoConfig::new(
        SECRET_KEY,
        Customer::new_customer("Ada Obi", "ada@example.com"),
    ));
    match Driver::new(base_url, mono, config) {
        Ok(driver) => driver,
        Err(e) => panic!("no driver for {base_url:?}: {e}"),
    }
}

/// A Flinks driver for the sandbox's toolbox instance (or a stub) on
/// loopback, with `config`'s dialect settings; [`flinks_config`] is the
/// sandbox's.
///
/// # Panics
///
/// When `base_url` is not an `http(s)://` URL (a bug in the test).
pub fn flinks_driver(
    base_url: &str,
    flinks: crate::dialect::FlinksConfig,
    config: DriverConfig,
) -> Driver {
    match Driver::new(base_url, crate::dialect::Flinks::new(flinks), config) {
        Ok(driver) => driver,
        Err(e) => panic!("no driver for {base_url:?}: {e}"),
    }
}

/// The sandbox's Flinks instance: the toolbox customer id, the sandbox's
/// [`FLINKS_SECRET`] (so tokens are used) and its API key, offering Flinks
/// Capital, with status polls every 50 ms instead of Flinks' 10 s so a
/// test of a background link takes milliseconds.
pub fn flinks_config() -> crate::dialect::FlinksConfig {
    crate::dialect::FlinksConfig {
        poll_interval_ms: 50,
        ..crate::dialect::FlinksConfig::new(FLINKS_CUSTOMER_ID, Some(FLINKS_SECRET.into()))
            .api_key(FLINKS_API_KEY)
    }
}
