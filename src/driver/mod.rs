//! The async driver: runs a [`ConnectFlow`] against a partner over HTTP.
//!
//! One loop per flow, after quinn's `ConnectionDriver`: drain
//! [`ConnectFlow::poll_effect`], encode each call with a [`Dialect`], send it
//! with reqwest under a per-call timeout, decode the reply and feed it back;
//! sleep until [`ConnectFlow::poll_timeout`] when only a timer can move the
//! flow; forward events; return as soon as the flow needs the person.
//!
//! The driver never retries on its own: the flow decides (only the institution
//! list is ever retried, by [`crate::flow::retry_delay`], through a timer the
//! driver sleeps on). A transport failure, a timeout, a 5xx or an unreadable
//! body reaches the flow as a [`CallError`], which shows the person "the bank
//! is not responding" — the flow is never lost.
//!
//! ```no_run
//! # async fn demo() -> Result<(), connectflow::driver::DriverError> {
//! use connectflow::dialect::{Mono, MonoConfig, mono::Customer};
//! use connectflow::driver::{Driver, DriverConfig};
//! use connectflow::flow::{ConnectFlow, FlowConfig};
//!
//! let mono = Mono::new(MonoConfig::new("test_sk_...", Customer::new_customer("Ada Obi", "ada@example.com")));
//! let driver = Driver::new("http://127.0.0.1:8080", mono, DriverConfig::default())?;
//! let mut flow = ConnectFlow::new(FlowConfig::default(), connectflow::driver::now());
//! driver.run(&mut flow, &mut |event| println!("{}", event.kind.name())).await?;
//! // `flow.view()` is now a screen for the person (or the end).
//! # Ok(()) }
//! ```

use crate::dialect::{Dialect, Encoded, HttpRequest, HttpResponse, Method};
use crate::flow::{
    Call, CallError, CallKind, ConnectFlow, Effect, Event, FlowError, Input, Reply, Timestamp,
};
use std::sync::Arc;
use std::time::Duration;

mod observer;
pub mod record;
mod record_dir;
pub mod scrub;
mod time;

pub use observer::{CallObserver, CallOutcome};
pub use record::{Entry, Exchange, Recorder, Transcript, TranscriptError};
pub use record_dir::{safe_name, RecordDir};
pub use time::{now, Timeline, WallClock};

/// How the driver talks to the partner.
#[derive(Debug, Clone)]
pub struct DriverConfig {
    /// Timeout of every call (connect + reply).
    pub call_timeout: Duration,
    /// Login and commit wait at least the institution's own `timeout`
    /// (Mono quirk 16), but never longer than this, and this long when the
    /// list gives no `timeout` (Mono's v3 list). Mono's institutions
    /// say 35 or 50 s (`reference/mono.md`), so the default is 60 s: a
    /// shorter cap told the person "not responding" while the bank went on
    /// (and sent the OTP they would then type into a new login).
    pub max_step_timeout: Duration,
    /// Replies larger than this are refused as malformed rather than buffered.
    pub max_body_bytes: usize,
}

impl Default for DriverConfig {
    fn default() -> Self {
        DriverConfig {
            call_timeout: Duration::from_secs(20),
            max_step_timeout: Duration::from_secs(60),
            max_body_bytes: 2 * 1024 * 1024,
        }
    }
}

/// The host asked the driver for something impossible. Partner trouble is
/// never a `DriverError`: it reaches the flow and the person as a view.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum DriverError {
    /// The flow refused an input (a bug in the host, or a stale reply).
    #[error(transparent)]
    Flow(#[from] FlowError),
    /// The base URL is not an `https://` URL (or `http://` on loopback).
    #[error(
        "invalid base URL {0:?}: use https://, or http:// only to 127.0.0.1, [::1] or localhost"
    )]
    BaseUrl(String),
    /// The HTTP client could not be built.
    #[error("could not build the HTTP client: {0}")]
    Client(String),
    /// The flow waits for nothing: no call, no timer, no person. A bug.
    #[error("the flow is stalled in {0:?}")]
    Stalled(crate::flow::StateKind),
}

/// Where an exchange is recorded.
enum Sink {
    /// A flow's call: its recorder, if any.
    Flow(Option<Arc<Recorder>>),
    /// A call outside any flow (a catalogue cache filling itself).
    Outside,
}

/// Runs flows against one partner. Cheap to clone; share one per process
/// (it holds the connection pool).
#[derive(Clone)]
pub struct Driver {
    client: reqwest::Client,
    base_url: Arc<str>,
    dialect: Arc<dyn Dialect>,
    config: DriverConfig,
    observers: Vec<Arc<dyn CallObserver>>,
    recorder: Option<Arc<Recorder>>,
    record_dir: Option<Arc<RecordDir>>,
    timeline: Arc<dyn Timeline>,
}

impl std::fmt::Debug for Driver {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Driver")
            .field("base_url", &self.base_url)
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

impl Driver {
    /// A driver for the partner at `base_url` (scheme and host, no trailing path).
    pub fn new(
        base_url: &str,
        dialect: impl Dialect + 'static,
        config: DriverConfig,
    ) -> Result<Driver, DriverError> {
        let base = base_url.trim_end_matches('/');
        if !base_url_allowed(base) {
            return Err(DriverError::BaseUrl(base_url.to_owned()));
        }
        let client = reqwest::Client::builder()
            // A 307/308 would re-POST a login body, and keep the secret key
            // header on a hop to another host: a partner API never redirects
            // a call, so any redirect is answered as the error it is.
            .redirect(reqwest::redirect::Policy::none())
            .connect_timeout(config.call_timeout)
            .user_agent(concat!("connectflow/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| DriverError::Client(e.to_string()))?;
        Ok(Driver {
            client,
            base_url: base.into(),
            dialect: Arc::new(dialect),
            config,
            observers: Vec::new(),
            recorder: None,
            record_dir: None,
            timeline: Arc::new(WallClock),
        })
    }

    /// The same driver also telling `observer` about every call.
    pub fn with_observer(mut self, observer: Arc<dyn CallObserver>) -> Driver {
        self.observers.push(observer);
        self
    }

    /// The same driver also writing every exchange, state and event to
    /// `recorder` (a transcript, secrets scrubbed). One recorder holds one
    /// flow's conversation: give each flow a driver of its own.
    pub fn with_recorder(mut self, recorder: Arc<Recorder>) -> Driver {
        self.recorder = Some(recorder);
        self
    }

    /// The same driver writing each flow's exchanges to a transcript of its
    /// own in `dir` (a server's `--record-dir`; see [`RecordDir`]).
    pub fn with_record_dir(mut self, dir: Arc<RecordDir>) -> Driver {
        self.record_dir = Some(dir);
        self
    }

    /// The same driver reading the time from `timeline` (a replay's
    /// recorded clock, say) instead of the wall clock.
    pub fn with_timeline(mut self, timeline: Arc<dyn Timeline>) -> Driver {
        self.timeline = timeline;
        self
    }

    /// Now, by this driver's timeline: what a host hands the flow with the
    /// person's input, so the flow and its calls agree on the time.
    pub fn now(&self) -> Timestamp {
        self.timeline.now()
    }

    /// The time to hand the flow one of the person's actions with (and to
    /// fire its deadlines at, first): [`now`](Self::now), written to the
    /// transcript of a driver [recording](Self::with_recorder)
    /// ([`Entry::Input`]); on a replay's timeline, the time the recording's
    /// person acted ([`Timeline::input_at`]), so a session they let expire
    /// on a form expires in the replay too. Call it once per action,
    /// refused ones included: a replay hands the recorded times over in
    /// order. (A [record directory](Self::with_record_dir) keeps no action
    /// times: the servers that use one run on the session service's clock.)
    pub fn input_time(&self) -> Timestamp {
        let at = self.timeline.input_at();
        if let Some(r) = &self.recorder {
            r.input(at);
        }
        at
    }

    /// Drives `flow` until it needs the person or ends: makes every call it
    /// asks for, sleeps through timers (read retries, status polls), forwards
    /// every event to `on_event`. Returns with `flow.view()` ready to show.
    pub async fn run(
        &self,
        flow: &mut ConnectFlow,
        on_event: &mut (dyn FnMut(&Event) + Send),
    ) -> Result<(), DriverError> {
        loop {
            self.run_calls(flow, on_event).await?;
            if flow.is_finished() || flow.view().needs_person() {
                return Ok(());
            }
            match flow.poll_timeout() {
                Some(at) => {
                    let wait = self.timeline.until(at);
                    if !wait.is_zero() {
                        tokio::time::sleep(wait).await;
                    }
                    flow.handle_timeout(self.now().max(at));
                    self.record_state(flow);
                }
                None => return Err(DriverError::Stalled(flow.state())),
            }
        }
    }

    /// Makes every call the flow asks for, feeding each reply back, until it
    /// asks for none; forwards events. Never sleeps on a timer: a host that
    /// answers a person within a budget (a USSD hop) uses this and lets the
    /// next turn fire the timers.
    pub async fn run_calls(
        &self,
        flow: &mut ConnectFlow,
        on_event: &mut (dyn FnMut(&Event) + Send),
    ) -> Result<(), DriverError> {
        // The person may have moved the flow since the last run.
        self.record_state(flow);
        while let Some(Effect::Call { id, call }) = flow.poll_effect() {
            self.forward(flow, on_event);
            let result = self.call(flow, &call).await;
            flow.handle(self.now(), Input::Api { id, result })?;
            self.record_state(flow);
        }
        self.forward(flow, on_event);
        Ok(())
    }

    fn record_state(&self, flow: &ConnectFlow) {
        if let Some(r) = &self.recorder {
            r.state(flow.state());
        }
    }

    fn forward(&self, flow: &mut ConnectFlow, on_event: &mut (dyn FnMut(&Event) + Send)) {
        while let Some(event) = flow.poll_event() {
            if let Some(r) = &self.recorder {
                r.event(&event);
            }
            on_event(&event);
        }
    }

    /// Makes one call and decodes the reply. Never panics and never retries.
    pub async fn call(&self, flow: &ConnectFlow, call: &Call) -> Result<Reply, CallError> {
        let institution = flow.institution().map(|i| i.id.as_str());
        let recorder = match &self.record_dir {
            Some(dir) => dir.recorder(flow),
            None => self.recorder.clone(),
        };
        if self.record_dir.is_some() {
            if let Some(r) = &recorder {
                r.state(flow.state());
            }
        }
        // Boxed (here and in `call_within`): a partner call is a future of
        // kilobytes (the HTTP client's), and an unboxed one makes every
        // future that might call a partner that large, on every request,
        // even the many that never do. One allocation beside a network
        // round trip is nothing.
        Box::pin(self.observed_call(
            call,
            self.timeout_for(flow, call.kind()),
            institution,
            Sink::Flow(recorder),
        ))
        .await
    }

    /// The partner's short name (`mono`, `flinks`).
    pub fn partner(&self) -> &'static str {
        self.dialect.partner()
    }

    /// Makes one call with an explicit timeout, outside any flow (a channel
    /// warming its institution cache, say).
    pub async fn call_within(&self, call: &Call, timeout: Duration) -> Result<Reply, CallError> {
        Box::pin(self.observed_call(call, timeout, None, Sink::Outside)).await
    }

    /// Sends a request a dialect built outside any flow (Flinks'
    /// `DeleteCard`, say) within the call timeout, and returns the raw
    /// response for that dialect to read. The same client, limits and
    /// logging as every flow call.
    pub async fn request(&self, request: &HttpRequest) -> Result<HttpResponse, CallError> {
        let started = std::time::Instant::now();
        let at = self.now();
        let response =
            match tokio::time::timeout(self.config.call_timeout, self.send(request)).await {
                Err(_) => Err(CallError::Timeout),
                Ok(r) => r,
            };
        if let Some(r) = &self.recorder {
            r.exchange(None, request, &response, at, started.elapsed());
        }
        match &response {
            Ok(r) => tracing::debug!(method = %request.method, path = %request.path,
                status = r.status, ms = started.elapsed().as_millis() as u64, "partner request"),
            Err(e) => tracing::warn!(method = %request.method, path = %request.path, error = %e,
                ms = started.elapsed().as_millis() as u64, "partner request failed"),
        }
        response
    }

    async fn observed_call(
        &self,
        call: &Call,
        timeout: Duration,
        institution: Option<&str>,
        sink: Sink,
    ) -> Result<Reply, CallError> {
        let request = match self.dialect.encode(call, self.now()) {
            Encoded::Http(request) => request,
            // Answered by the dialect: no partner call to observe.
            Encoded::Local(reply) => return reply,
        };
        for o in &self.observers {
            o.started();
        }
        let started = std::time::Instant::now();
        let at = self.now();
        let response = self.http_call(&request, timeout).await;
        match sink {
            Sink::Flow(Some(r)) => {
                r.exchange(Some(call), &request, &response, at, started.elapsed())
            }
            Sink::Flow(None) => {}
            Sink::Outside => {
                if let Some(r) = &self.recorder {
                    r.exchange(Some(call), &request, &response, at, started.elapsed());
                }
                if let (Some(dir), Call::ListInstitutions) = (&self.record_dir, call) {
                    dir.list(&request, &response, at, started.elapsed());
                }
            }
        }
        let result = response.and_then(|r| self.dialect.decode(call, &r, self.now()));
        let outcome = CallOutcome::of(&result);
        for o in &self.observers {
            o.finished(
                self.dialect.partner(),
                call.kind(),
                outcome,
                started.elapsed(),
                institution,
            );
        }
        result
    }

    async fn http_call(
        &self,
        request: &HttpRequest,
        timeout: Duration,
    ) -> Result<HttpResponse, CallError> {
        let started = std::time::Instant::now();
        let outcome = tokio::time::timeout(timeout, self.send(request)).await;
        let response = match outcome {
            Err(_) => Err(CallError::Timeout),
            Ok(r) => r,
        };
        // Only method, path, status and timing are logged: bodies carry
        // passwords and PINs, headers carry the secret key.
        match &response {
            Ok(r) => {
                tracing::debug!(method = %request.method, path = %request.path, status = r.status,
                ms = started.elapsed().as_millis() as u64, "partner call")
            }
            Err(e) => tracing::warn!(method = %request.method, path = %request.path, error = %e,
                ms = started.elapsed().as_millis() as u64, "partner call failed"),
        }
        response
    }

    async fn send(&self, request: &HttpRequest) -> Result<HttpResponse, CallError> {
        let url = format!("{}{}", self.base_url, request.path);
        let method = match request.method {
            Method::Get => reqwest::Method::GET,
            Method::Post => reqwest::Method::POST,
            Method::Delete => reqwest::Method::DELETE,
            Method::Patch => reqwest::Method::PATCH,
        };
        let mut builder = self.client.request(method, url);
        for (name, value) in &request.headers {
            builder = builder.header(*name, value.expose());
        }
        if let Some(body) = &request.body {
            builder = builder.body(body.clone());
        }
        let mut response = builder.send().await.map_err(transport)?;
        let status = response.status().as_u16();
        let headers = response
            .headers()
            .iter()
            .filter_map(|(k, v)| Some((k.as_str().to_owned(), v.to_str().ok()?.to_owned())))
            .collect();
        let mut body = Vec::new();
        while let Some(chunk) = response.chunk().await.map_err(transport)? {
            if body.len() + chunk.len() > self.config.max_body_bytes {
                return Err(CallError::Malformed(format!(
                    "reply larger than {} bytes",
                    self.config.max_body_bytes
                )));
            }
            body.extend_from_slice(&chunk);
        }
        Ok(HttpResponse {
            status,
            headers,
            body,
        })
    }

    /// The timeout of calls made outside a flow.
    pub fn call_timeout(&self) -> Duration {
        self.config.call_timeout
    }

    /// The longest any one call can take (a login or commit at a slow
    /// institution).
    pub fn longest_call(&self) -> Duration {
        self.config.call_timeout.max(self.config.max_step_timeout)
    }

    /// Login and commit may wait as long as the institution says it needs
    /// (within `max_step_timeout`), and the whole cap when it does not say:
    /// Mono's v3 list gives no `timeout` (only v1's did), and its banks take
    /// 35 or 50 s, so `call_timeout` alone gave up on a slow bank that was
    /// still logging the person in. Everything else gets `call_timeout`.
    fn timeout_for(&self, flow: &ConnectFlow, kind: CallKind) -> Duration {
        let base = self.config.call_timeout;
        if !matches!(kind, CallKind::Login | CallKind::Commit) {
            return base;
        }
        let cap = self.config.max_step_timeout.max(base);
        match flow.step_timeout_ms() {
            Some(ms) => Duration::from_millis(ms).clamp(base, cap),
            None => cap,
        }
    }
}

/// `https://` anywhere; `http://` only to this machine (the sandbox, a test
/// partner): a secret key and passwords never cross a network in the clear.
pub(crate) fn base_url_allowed(base: &str) -> bool {
    if let Some(rest) = base.strip_prefix("https://") {
        return !rest.is_empty();
    }
    let Some(rest) = base.strip_prefix("http://") else {
        return false;
    };
    let authority = rest.split('/').next().unwrap_or("");
    // Strip credentials, then the port (IPv6 literals keep their brackets).
    let host_port = authority.rsplit('@').next().unwrap_or("");
    let host = if let Some(v6) = host_port.strip_prefix('[') {
        v6.split(']').next().unwrap_or("")
    } else {
        host_port.split(':').next().unwrap_or("")
    };
    match host.parse::<std::net::IpAddr>() {
        Ok(ip) => ip.is_loopback(),
        Err(_) => host.eq_ignore_ascii_case("localhost"),
    }
}

/// A reqwest failure as the flow sees it. The message never includes the
/// request (reqwest's Display can include the URL, never the body or headers).
fn transport(e: reqwest::Error) -> CallError {
    if e.is_timeout() {
        CallError::Timeout
    } else if e.is_connect() {
        CallError::Connect("connection refused or unreachable".into())
    } else if e.is_body() || e.is_decode() {
        CallError::Connect("the connection dropped while reading the reply".into())
    } else {
        CallError::Connect("the connection failed".into())
    }
}

#[cfg(test)]
mod tests {
    use super::{base_url_allowed, DriverConfig};

    /// Finding (review, 2026-12-04): the default cap on one login or commit
    /// was 25 s, under the 35 and 50 s that Mono's institutions give as
    /// their `timeout` (`reference/mono.md`, quirk 16): the person was told
    /// the bank was not responding while the bank went on. The default
    /// waits out the longest documented one, and the service's default
    /// lease still outlasts a whole chain of such calls.
    #[test]
    fn the_default_waits_out_every_documented_institution_timeout() {
        let config = DriverConfig::default();
        assert!(config.max_step_timeout >= std::time::Duration::from_millis(50_000));
    }

    #[test]
    fn plain_http_only_to_loopback() {
        for ok in [
            "https://api.withmono.com",
            "http://127.0.0.1:8080",
            "http://localhost:9",
            "http://[::1]:80",
            "http://127.8.9.1",
        ] {
            assert!(base_url_allowed(ok), "{ok}");
        }
        for bad in [
            "http://api.withmono.com",
            "http://10.0.0.1:8080",
            "http://127.0.0.1.evil.com",
            "http://localhost.evil.com",
            "http://user@evil.com",
            "ftp://127.0.0.1",
            "https://",
            "127.0.0.1:8080",
        ] {
            assert!(!base_url_allowed(bad), "{bad}");
        }
    }
}
