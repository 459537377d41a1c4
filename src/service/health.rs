//! Institution health from what this process sees: per partner,
//! institution and auth method, the outcomes of the last few calls that
//! reach the bank: a login or re-authorisation, and a session that could
//! not be opened (one that opened is not an attempt of its own: the login
//! that follows is).
//!
//! A bank that timed out, answered 5xx or garbage, or said "try later"
//! ([`CallOutcome`]'s `Timeout`, `Unreachable`, `ServerError`,
//! `RateLimited`, `TryLater`, `Malformed`) failed that attempt; a usable
//! answer or a refusal of the person's credentials is a bank that works.
//! Our own misconfiguration (`Unauthorized`, other 4xx) says nothing about
//! the bank and is not counted.
//!
//! From the last [`HealthConfig::window`] attempts (none older than
//! [`HealthConfig::max_age`]): at least [`HealthConfig::degraded_at`]
//! failures and the institution is **degraded** — a note on every channel;
//! a whole window of failures and it is **down** for
//! [`HealthConfig::down_for`] — marked unavailable, then degraded again so
//! a recovered bank is found (its next attempts decide). Successes push
//! failures out of the window, so a bank recovers as people link again.
//!
//! The institution list every session is shown is the partner's catalogue
//! with this applied ([`Health::apply`]): every bank stays in its place,
//! the degraded and the down marked (see [`marked`]). Nothing is left out
//! or moved: a USSD answer is a number read against the list on another
//! hop (perhaps on another instance, with its own view of health), and a
//! host's preselected bank must stay known. The adjusted list is cached
//! per health state; its fingerprint leaves the marks out (they are keys
//! starting `connectflow_`), so it is the partner list's own and a status
//! change strands no parked flow.

use crate::driver::CallOutcome;
use crate::flow::{AuthMethodKind, Call, CallError, Catalogue, Institution, Reply, Timestamp};
use std::collections::{BTreeMap, HashMap, VecDeque};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

/// The key in an institution's `extra` that marks it degraded.
pub const HEALTH_KEY: &str = "connectflow_health";

/// The status the service marked `institution` with, if not healthy:
/// channels add a note next to its name.
pub fn marked(institution: &Institution) -> Option<Status> {
    match institution.extra.get(HEALTH_KEY)?.as_str()? {
        "degraded" => Some(Status::Degraded),
        "down" => Some(Status::Down),
        _ => None,
    }
}

/// How health is judged.
#[derive(Debug, Clone)]
pub struct HealthConfig {
    /// The most recent attempts looked at, per institution and method.
    pub window: usize,
    /// Failures among them that make an institution degraded.
    pub degraded_at: usize,
    /// How long a down institution is left out of the list.
    pub down_for: Duration,
    /// Attempts older than this are forgotten.
    pub max_age: Duration,
}

impl Default for HealthConfig {
    fn default() -> Self {
        HealthConfig {
            window: 10,
            degraded_at: 5,
            down_for: Duration::from_secs(120),
            max_age: Duration::from_secs(15 * 60),
        }
    }
}

/// An institution's health.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Status {
    /// Most recent attempts worked (or there were too few to judge).
    Healthy,
    /// Many recent attempts failed: offered, with a note.
    Degraded,
    /// Every recent attempt failed: not offered for a while.
    Down,
}

impl Status {
    /// `healthy`, `degraded`, `down`.
    pub fn name(self) -> &'static str {
        match self {
            Status::Healthy => "healthy",
            Status::Degraded => "degraded",
            Status::Down => "down",
        }
    }
}

#[derive(Debug, Default)]
struct Window {
    /// (when, failed), oldest first.
    attempts: VecDeque<(Timestamp, bool)>,
    /// Left out of the list until then.
    down_until: Option<Timestamp>,
}

impl Window {
    fn has_failure(&self) -> bool {
        self.attempts.iter().any(|(_, failed)| *failed)
    }
}

type Key = (String, String, String);

/// An adjusted list: its source list's fingerprint, the statuses applied.
type Applied = (u64, BTreeMap<String, Status>, Arc<Catalogue>);

type Gauges = prometheus_client::metrics::family::Family<
    HealthLabels,
    prometheus_client::metrics::gauge::Gauge,
>;

/// The health of every institution this process has called. Cheap to
/// share; one per [`SessionService`](super::SessionService).
#[derive(Debug)]
pub struct Health {
    config: HealthConfig,
    windows: Mutex<HashMap<Key, Window>>,
    /// How many of `windows` hold a failed attempt, changed only under its
    /// lock: every first hop and restore asks whether any window holds one,
    /// and a zero read here answers it without taking the lock both worker
    /// threads would otherwise pass back and forth on every hop. Windows
    /// are trimmed by count, not age: a failure stays counted until later
    /// attempts on its key push it out (`judge` ignores it once old), and
    /// while it does, hops take the lock as they all did before.
    failing: AtomicUsize,
    /// The adjusted list last built, by its source list and statuses.
    applied: Mutex<Option<Applied>>,
    /// `connectflow_institution_health`, when shown in `/metrics`.
    gauge: Option<Gauges>,
}

/// The labels of `connectflow_institution_health`.
#[derive(Debug, Clone, Hash, PartialEq, Eq, prometheus_client::encoding::EncodeLabelSet)]
pub(crate) struct HealthLabels {
    partner: String,
    institution: String,
    auth_method: String,
}

impl Health {
    /// No attempts seen yet.
    pub fn new(config: HealthConfig) -> Health {
        Health {
            config,
            windows: Mutex::new(HashMap::new()),
            failing: AtomicUsize::new(0),
            applied: Mutex::new(None),
            gauge: None,
        }
    }

    /// Also shown in `/metrics` as `connectflow_institution_health` (0
    /// healthy, 1 degraded, 2 down) per partner, institution and method.
    pub fn with_metrics(mut self, metrics: &crate::metrics::Metrics) -> Health {
        let family = prometheus_client::metrics::family::Family::default();
        metrics.register(
            "institution_health",
            "Institution health from recent partner outcomes: 0 healthy, 1 degraded, 2 down",
            family.clone(),
        );
        self.gauge = Some(family);
        self
    }

    /// Counts a call's outcome, when it is one that reached a bank.
    pub fn record(
        &self,
        partner: &str,
        call: &Call,
        result: &Result<Reply, CallError>,
        now: Timestamp,
    ) {
        let (institution, method) = match call {
            Call::CreateSession {
                institution,
                auth_method,
                ..
            }
            | Call::Reauthorise {
                institution,
                auth_method,
                ..
            }
            | Call::Login {
                institution,
                auth_method,
                ..
            } => (institution, auth_method),
            _ => return,
        };
        let outcome = CallOutcome::of(result);
        let failed = match outcome {
            // A session opened says little (the login is the attempt); one
            // that cannot be opened is a failed attempt.
            CallOutcome::Ok if matches!(call, Call::CreateSession { .. }) => return,
            CallOutcome::Ok | CallOutcome::Rejected => false,
            o if o.is_failure() => true,
            _ => return,
        };
        self.record_outcome(partner, institution, method, failed, now);
    }

    /// Counts one attempt at `institution` through `method`.
    pub fn record_outcome(
        &self,
        partner: &str,
        institution: &str,
        method: &AuthMethodKind,
        failed: bool,
        now: Timestamp,
    ) {
        let key = (
            partner.to_owned(),
            institution.to_owned(),
            method.as_str().to_owned(),
        );
        let mut windows = self.windows.lock().unwrap_or_else(PoisonError::into_inner);
        let window = windows.entry(key.clone()).or_default();
        let failed_before = window.has_failure();
        window.attempts.push_back((now, failed));
        while window.attempts.len() > self.config.window {
            window.attempts.pop_front();
        }
        // Relaxed: the count is only changed under the lock, and a reader
        // that finds it non-zero takes the lock, which orders the rest.
        match (failed_before, window.has_failure()) {
            (false, true) => {
                self.failing.fetch_add(1, Ordering::Relaxed);
            }
            (true, false) => {
                self.failing.fetch_sub(1, Ordering::Relaxed);
            }
            _ => {}
        }
        let status = self.judge(window, now);
        if status == Status::Down && window.down_until.is_none_or(|t| t <= now) {
            window.down_until = Some(now.plus_ms(ms(self.config.down_for)));
        }
        if status != Status::Down {
            window.down_until = None;
        }
        if let Some(gauge) = &self.gauge {
            let labels = HealthLabels {
                partner: key.0,
                institution: key.1,
                auth_method: key.2,
            };
            let value = match status {
                Status::Healthy => 0,
                Status::Degraded => 1,
                Status::Down => 2,
            };
            gauge.get_or_create(&labels).set(value);
        }
    }

    fn judge(&self, window: &Window, now: Timestamp) -> Status {
        let horizon = now.0.saturating_sub(ms(self.config.max_age));
        let recent: Vec<bool> = window
            .attempts
            .iter()
            .filter(|(at, _)| at.0 >= horizon)
            .map(|(_, failed)| *failed)
            .collect();
        let failures = recent.iter().filter(|f| **f).count();
        if recent.len() >= self.config.window && failures == recent.len() {
            Status::Down
        } else if failures >= self.config.degraded_at {
            Status::Degraded
        } else {
            Status::Healthy
        }
    }

    /// `institution`'s status at `partner`: the best of its methods (one
    /// way in that works keeps it offered); down only while its time out
    /// lasts.
    pub fn status(&self, partner: &str, institution: &str, now: Timestamp) -> Status {
        let windows = self.windows.lock().unwrap_or_else(PoisonError::into_inner);
        let mut best: Option<Status> = None;
        for ((p, i, _), window) in windows.iter() {
            if p != partner || i != institution {
                continue;
            }
            let status = match self.judge(window, now) {
                Status::Down if window.down_until.is_some_and(|t| t > now) => Status::Down,
                // Its time out is over: offered again, and its next
                // attempts decide.
                Status::Down => Status::Degraded,
                other => other,
            };
            best = Some(best.map_or(status, |b| b.min(status)));
        }
        best.unwrap_or(Status::Healthy)
    }

    /// Whether any window of `partner` holds a failure at all.
    fn any_failure(&self, partner: &str) -> bool {
        if self.failing.load(Ordering::Relaxed) == 0 {
            return false;
        }
        let windows = self.windows.lock().unwrap_or_else(PoisonError::into_inner);
        windows
            .iter()
            .any(|((p, _, _), w)| p == partner && w.has_failure())
    }

    /// `catalogue` as `partner`'s sessions are shown it at `now`: the same
    /// institutions in the same order, the degraded and the down marked with
    /// [`HEALTH_KEY`].
    pub fn apply(
        &self,
        partner: &str,
        catalogue: Arc<Catalogue>,
        now: Timestamp,
    ) -> Arc<Catalogue> {
        // The common case, on every first hop and restore: nothing failed
        // lately at this partner, so the list is the partner's, untouched.
        if !self.any_failure(partner) {
            return catalogue;
        }
        let statuses: BTreeMap<String, Status> = catalogue
            .institutions()
            .iter()
            .map(|i| (i.id.clone(), self.status(partner, &i.id, now)))
            .filter(|(_, s)| *s != Status::Healthy)
            .collect();
        if statuses.is_empty() {
            return catalogue;
        }
        let source = catalogue.fingerprint();
        let mut applied = self.applied.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some((fp, known, list)) = applied.as_ref() {
            if *fp == source && *known == statuses {
                return Arc::clone(list);
            }
        }
        let institutions = catalogue
            .institutions()
            .iter()
            .map(|i| {
                let mut i = i.clone();
                if let Some(status) = statuses.get(&i.id) {
                    i.extra
                        .insert(HEALTH_KEY.into(), serde_json::Value::from(status.name()));
                }
                i
            })
            .collect();
        let list = Arc::new(Catalogue::new(institutions));
        *applied = Some((source, statuses, Arc::clone(&list)));
        list
    }
}

fn ms(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn login(health: &Health, failed: bool, at: u64) {
        health.record_outcome(
            "mono",
            "gtbank",
            &AuthMethodKind::InternetBanking,
            failed,
            Timestamp(at),
        );
    }

    #[test]
    fn eight_failures_of_ten_degrade_ten_take_it_down_and_successes_recover() {
        let health = Health::new(HealthConfig::default());
        for i in 0..10 {
            login(&health, i < 8, 1_000 + i);
        }
        assert_eq!(
            health.status("mono", "gtbank", Timestamp(2_000)),
            Status::Degraded
        );
        assert_eq!(
            health.status("mono", "access", Timestamp(2_000)),
            Status::Healthy
        );
        for i in 0..10 {
            login(&health, true, 3_000 + i);
        }
        assert_eq!(
            health.status("mono", "gtbank", Timestamp(4_000)),
            Status::Down
        );
        // After its time out it is offered again, marked.
        let later = 4_000 + 121_000;
        assert_eq!(
            health.status("mono", "gtbank", Timestamp(later)),
            Status::Degraded
        );
        for i in 0..6 {
            login(&health, false, later + i);
        }
        assert_eq!(
            health.status("mono", "gtbank", Timestamp(later + 10)),
            Status::Healthy
        );
    }

    #[test]
    fn the_status_is_in_metrics() {
        let metrics = crate::metrics::Metrics::new();
        let health = Health::new(HealthConfig::default()).with_metrics(&metrics);
        for i in 0..10 {
            login(&health, i < 8, i);
        }
        let text = metrics.render();
        assert!(
            text.contains(
                r#"connectflow_institution_health{partner="mono",institution="gtbank",auth_method="internet_banking"} 1"#
            ),
            "{text}"
        );
    }

    /// Every bank stays in its place: a USSD answer is a number read
    /// against the list on another hop.
    #[test]
    fn apply_marks_in_place_and_never_drops_or_reorders() {
        let health = Health::new(HealthConfig::default());
        let catalogue = Arc::new(crate::flow::explore::demo_catalogue());
        let ids: Vec<String> = catalogue
            .institutions()
            .iter()
            .map(|i| i.id.clone())
            .collect();
        let down = ids[0].clone();
        for i in 0..10 {
            health.record_outcome(
                "mono",
                &down,
                &AuthMethodKind::InternetBanking,
                true,
                Timestamp(i),
            );
        }
        let shown = health.apply("mono", Arc::clone(&catalogue), Timestamp(100));
        let shown_ids: Vec<String> = shown.institutions().iter().map(|i| i.id.clone()).collect();
        assert_eq!(shown_ids, ids);
        assert_eq!(marked(&shown.institutions()[0]), Some(Status::Down));
        assert!(shown.institutions()[1..]
            .iter()
            .all(|i| marked(i).is_none()));
        // Unchanged health: the same list, not rebuilt.
        assert!(Arc::ptr_eq(
            &shown,
            &health.apply("mono", catalogue, Timestamp(101))
        ));
    }

    /// The count that lets a hop skip the lock follows the windows both
    /// ways: a failure makes lists be looked at, and once successes have
    /// pushed every failure out of its window the partner's own list is
    /// shown again, untouched (the same `Arc`).
    #[test]
    fn apply_looks_again_only_while_a_window_holds_a_failure() {
        let health = Health::new(HealthConfig::default());
        let catalogue = Arc::new(crate::flow::explore::demo_catalogue());
        let id = catalogue.institutions()[0].id.clone();
        let untouched = |health: &Health| {
            Arc::ptr_eq(
                &health.apply("mono", Arc::clone(&catalogue), Timestamp(50)),
                &catalogue,
            )
        };
        assert!(untouched(&health));
        let attempt = |failed, at| {
            health.record_outcome(
                "mono",
                &id,
                &AuthMethodKind::InternetBanking,
                failed,
                Timestamp(at),
            )
        };
        let counted = |health: &Health| health.failing.load(Ordering::Relaxed);
        for i in 0..5 {
            attempt(true, i);
        }
        assert_eq!(counted(&health), 1, "one window holds failures");
        assert!(health.any_failure("mono"));
        assert!(!health.any_failure("okra"));
        assert!(
            !untouched(&health),
            "five failures of five degrade the bank"
        );
        for i in 5..15 {
            attempt(false, i);
        }
        assert_eq!(counted(&health), 0, "the failures are pushed out");
        assert!(!health.any_failure("mono"));
        assert!(untouched(&health));
        attempt(true, 20);
        assert_eq!(counted(&health), 1);
        assert!(health.any_failure("mono"));
    }

    #[test]
    fn old_attempts_are_forgotten() {
        let health = Health::new(HealthConfig::default());
        for i in 0..10 {
            login(&health, true, i);
        }
        let much_later = 16 * 60 * 1000;
        assert_eq!(
            health.status("mono", "gtbank", Timestamp(much_later)),
            Status::Healthy
        );
    }
}
