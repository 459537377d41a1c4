//! Prometheus metrics for every server: turns per channel, partner calls by
//! kind and outcome, their latencies, links. `GET /metrics` renders them in
//! the Prometheus text format.
//!
//! One [`Metrics`] per process, shared by the session service, the driver
//! (as its [`CallObserver`]) and the channels.
//! Families are created on first use of a label set, so a dashboard sees
//! only what happened.

use crate::driver::{CallObserver, CallOutcome};
use crate::flow::CallKind;
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{exponential_buckets, Histogram};
use prometheus_client::registry::{Metric, Registry};
use std::borrow::Cow;
use std::fmt;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

// Borrowed where the names are the crate's own (`turn_named`): a lookup
// then allocates nothing, where three `String`s a request were a tenth
// of a cached `GET /link/v1/session` beyond the bare handler's work.
#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct TurnLabels {
    channel: Cow<'static, str>,
    outcome: Cow<'static, str>,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ChannelLabels {
    channel: Cow<'static, str>,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct CallLabels {
    partner: String,
    call: String,
    outcome: String,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct CallTimeLabels {
    partner: String,
    call: String,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct LinkLabels {
    partner: String,
    channel: String,
}

fn seconds_histogram() -> Histogram {
    // 1 ms .. ~33 s: a USSD hop on a memory store up to a slow bank's login.
    Histogram::new(exponential_buckets(0.001, 2.0, 16))
}

/// The process's metrics.
pub struct Metrics {
    registry: Mutex<Registry>,
    turns: Family<TurnLabels, Counter>,
    turn_seconds: Family<ChannelLabels, Histogram, fn() -> Histogram>,
    calls: Family<CallLabels, Counter>,
    call_seconds: Family<CallTimeLabels, Histogram, fn() -> Histogram>,
    links: Family<LinkLabels, Counter>,
    in_flight: Gauge,
}

impl fmt::Debug for Metrics {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Metrics").finish_non_exhaustive()
    }
}

impl Metrics {
    /// Every family registered, nothing counted yet.
    pub fn new() -> Arc<Metrics> {
        let mut registry = Registry::with_prefix("connectflow");
        let turns = Family::<TurnLabels, Counter>::default();
        let turn_seconds =
            Family::<ChannelLabels, Histogram, fn() -> Histogram>::new_with_constructor(
                seconds_histogram,
            );
        let calls = Family::<CallLabels, Counter>::default();
        let call_seconds =
            Family::<CallTimeLabels, Histogram, fn() -> Histogram>::new_with_constructor(
                seconds_histogram,
            );
        let links = Family::<LinkLabels, Counter>::default();
        let in_flight = Gauge::default();
        registry.register(
            "turns",
            "Turns served (USSD hops, link API requests) by channel and outcome",
            turns.clone(),
        );
        registry.register(
            "turn_seconds",
            "Time to answer a turn, by channel",
            turn_seconds.clone(),
        );
        registry.register(
            "partner_calls",
            "Partner calls by partner, kind and outcome",
            calls.clone(),
        );
        registry.register(
            "partner_call_seconds",
            "Partner call latency by partner and kind",
            call_seconds.clone(),
        );
        registry.register(
            "links",
            "Accounts linked, by partner and channel",
            links.clone(),
        );
        registry.register(
            "partner_calls_in_flight",
            "Partner calls running now",
            in_flight.clone(),
        );
        Arc::new(Metrics {
            registry: Mutex::new(registry),
            turns,
            turn_seconds,
            calls,
            call_seconds,
            links,
            in_flight,
        })
    }

    /// Registers another metric (a channel's or the records' own).
    pub fn register(&self, name: &str, help: &str, metric: impl Metric) {
        self.registry
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .register(name, help, metric);
    }

    /// Counts one turn of `channel` that ended in `outcome` after `elapsed`.
    pub fn turn(&self, channel: &str, outcome: &str, elapsed: Duration) {
        let channel = Cow::Owned(channel.to_owned());
        self.count_turn(channel, Cow::Owned(outcome.to_owned()), elapsed);
    }

    /// [`turn`](Self::turn) for names known when the crate is built.
    #[cfg(feature = "link")]
    pub(crate) fn turn_named(
        &self,
        channel: &'static str,
        outcome: &'static str,
        elapsed: Duration,
    ) {
        self.count_turn(Cow::Borrowed(channel), Cow::Borrowed(outcome), elapsed);
    }

    fn count_turn(
        &self,
        channel: Cow<'static, str>,
        outcome: Cow<'static, str>,
        elapsed: Duration,
    ) {
        let labels = TurnLabels { channel, outcome };
        self.turns.get_or_create(&labels).inc();
        self.turn_seconds
            .get_or_create(&ChannelLabels {
                channel: labels.channel,
            })
            .observe(elapsed.as_secs_f64());
    }

    /// Counts one linked account.
    pub fn linked(&self, partner: &str, channel: &str) {
        self.links
            .get_or_create(&LinkLabels {
                partner: partner.to_owned(),
                channel: channel.to_owned(),
            })
            .inc();
    }

    /// The text format for `GET /metrics`.
    pub fn render(&self) -> String {
        let mut out = String::new();
        let registry = self.registry.lock().unwrap_or_else(PoisonError::into_inner);
        // Writing into a String cannot fail.
        let _ = prometheus_client::encoding::text::encode(&mut out, &registry);
        out
    }
}

impl CallObserver for Metrics {
    fn started(&self) {
        self.in_flight.inc();
    }

    fn finished(
        &self,
        partner: &str,
        call: CallKind,
        outcome: CallOutcome,
        elapsed: Duration,
        _institution: Option<&str>,
    ) {
        self.in_flight.dec();
        self.calls
            .get_or_create(&CallLabels {
                partner: partner.to_owned(),
                call: call.name().to_owned(),
                outcome: outcome.name().to_owned(),
            })
            .inc();
        self.call_seconds
            .get_or_create(&CallTimeLabels {
                partner: partner.to_owned(),
                call: call.name().to_owned(),
            })
            .observe(elapsed.as_secs_f64());
    }
}
