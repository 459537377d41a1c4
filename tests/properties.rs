//! Property tests of the rules the core keeps (DESIGN.md, "Rules the core
//! keeps"; `src/flow/mod.rs`).
//!
//! A generated run is a list of [`Op`]s interpreted against the live flow by a
//! [`Harness`] that plays the host: it makes up partner replies that fit the
//! call in flight (or deliberately do not), replays stale, duplicated and
//! never-issued request ids, fires timers, moves the clock, and round-trips
//! the flow through `Snapshot` JSON, mid-step or between steps. After every
//! step it drains effects and events and hands a [`Record`] of what happened
//! to the rule under test.
//!
//! Case counts come from `ProptestConfig::default()`, so `PROPTEST_CASES`
//! is honoured.

use connectflow::flow::explore::{demo_catalogue, sample_values};
use connectflow::flow::*;
use connectflow::form::{Field, FieldKind, Form, Values};
use proptest::prelude::*;
use std::collections::HashSet;
use std::sync::{Arc, OnceLock};

const T0: Timestamp = Timestamp(1_700_000_000_000);
const FIVE_MIN: u64 = 5 * 60 * 1000;
/// Runs are at most this many steps, to keep 2,000 cases fast in debug.
const MAX_STEPS: usize = 40;
/// Clock jumps for `Op::Advance`: around a session's five minutes and a
/// code's ten.
const ADVANCE_MS: [u64; 5] = [1_000, 60_000, 299_000, 301_000, 700_000];

fn proptest_config() -> ProptestConfig {
    // `default()` reads PROPTEST_CASES (and the other PROPTEST_* variables).
    ProptestConfig::default()
}

// ---- the partner's data ------------------------------------------------------

/// The demo catalogue plus a USSD bank whose second method (manual) has no
/// login form anywhere in the catalogue, so a session without a form fails.
fn catalogue() -> Arc<Catalogue> {
    static CATALOGUE: OnceLock<Arc<Catalogue>> = OnceLock::new();
    Arc::clone(CATALOGUE.get_or_init(|| {
        let mut institutions = demo_catalogue().institutions().to_vec();
        let ussd = Form::new(
            "Dial in",
            vec![
                Field::input("accountNo", "Account number").max_length(10),
                Field::password("ussdPin", "USSD PIN").max_length(4),
            ],
        );
        institutions.push(Institution::new(
            "ussd-bank",
            "USSD Bank",
            vec![
                AuthMethod::new(AuthMethodKind::Ussd, Some(ussd)),
                AuthMethod::new(AuthMethodKind::Manual, None),
            ],
        ));
        Arc::new(Catalogue::new(institutions))
    }))
}

/// `Op::Choose` institution selector: mostly real ids, sometimes unknown.
fn institution_id(k: u8) -> &'static str {
    match k % 8 {
        0..=4 => "demo-bank",
        5 | 6 => "ussd-bank",
        _ => "no-such-bank",
    }
}

/// Every method kind, offered or not (index 0..=4).
fn method_kind(k: u8) -> AuthMethodKind {
    match k % 5 {
        0 => AuthMethodKind::InternetBanking,
        1 => AuthMethodKind::MobileBanking,
        2 => AuthMethodKind::Manual,
        3 => AuthMethodKind::Ussd,
        _ => AuthMethodKind::Unknown("voice".into()),
    }
}

fn method_index(kind: &AuthMethodKind) -> u8 {
    (0..5).find(|k| method_kind(*k) == *kind).unwrap_or(4)
}

/// The MFA forms the partner asks: OTP, a security question, and a mixed
/// form (captcha, choice, an unknown field type and a memorable word).
fn mfa_form(k: usize) -> Form {
    match k % 3 {
        0 => Form::new(
            "Enter OTP",
            vec![Field::input("otp", "OTP sent to 080...").max_length(6)],
        ),
        1 => Form::new(
            "Security question",
            vec![Field::input("answer", "Your first school")],
        ),
        _ => Form::new(
            "Verify it's you",
            vec![
                Field {
                    kind: FieldKind::Captcha,
                    length: Some(5),
                    value: Some("data:image/png;base64,iVBORw0KGgo".into()),
                    ..Field::input("captcha", "Enter the code")
                },
                Field::choice(
                    "channel",
                    "Send code by",
                    [("sms", "SMS"), ("email", "Email")],
                ),
                Field {
                    kind: FieldKind::Unknown("elements.slider".into()),
                    ..Field::input("slider", "Slide")
                },
                Field::password("memorable", "Memorable word").max_length(20),
            ],
        ),
    }
}

/// A per-session login form, as some partners send with the session.
fn session_form() -> Form {
    Form::new(
        "Log in",
        vec![
            Field::input("username", "Username"),
            Field::password("password", "Password"),
            Field {
                kind: FieldKind::Captcha,
                length: Some(5),
                ..Field::input("captcha", "Enter the code")
            },
        ],
    )
}

fn accounts(n: usize) -> Vec<Account> {
    (0..n)
        .map(|i| Account::new(format!("01318834{i:02}"), "ADA OBI"))
        .collect()
}

fn call_error(k: usize) -> CallError {
    match k % 7 {
        0 => CallError::Timeout,
        1 => CallError::Connect("connection reset".into()),
        2 => CallError::Http {
            status: 500,
            message: "Internal error".into(),
        },
        3 => CallError::Http {
            status: 400,
            message: "Bad request".into(),
        },
        4 => CallError::Unauthorized("invalid secret key".into()),
        5 => CallError::Malformed("expected value at line 1".into()),
        _ => CallError::RateLimited {
            retry_after_ms: Some(2_000),
        },
    }
}

fn rejected(kind: RejectionKind) -> Result<Reply, CallError> {
    let message = match kind {
        RejectionKind::Retry => "Invalid credentials",
        RejectionKind::SessionExpired => "Session expired",
        RejectionKind::RestartLogin => "Wrong answer",
        RejectionKind::TryLater => "Institution unreachable",
        _ => "Account locked",
    };
    Ok(Reply::Step(Step::Rejected(Rejection {
        message: message.into(),
        kind,
        code: None,
    })))
}

/// Is this a value the person would consider secret? The crate's own notion,
/// so a gap in it (a kind of secret it does not recognise) fails rule 6.
fn is_secretish(field: &Field) -> bool {
    field.is_secret()
}

/// Markers typed into secret fields start with one of these; nothing else in
/// the crate or the scripted partner produces either string.
const MARKER_PREFIXES: [&str; 2] = ["SECRET-", "\u{a4}"];

fn find_marker(s: &str) -> Option<String> {
    MARKER_PREFIXES.iter().find_map(|p| {
        s.find(p)
            .map(|at| s[at..].chars().take(24).collect::<String>())
    })
}

// ---- what a run is made of -----------------------------------------------------

#[derive(Debug, Clone)]
enum Op {
    /// What a host and a person moving forward would do now (the rule-5
    /// progress driver): answer the call in flight, else act on the screen.
    Act(u8),
    /// Choose an institution (maybe unknown) with a method (maybe not offered).
    Choose {
        inst: u8,
        method: Option<u8>,
    },
    /// Submit values built from the form on screen.
    SubmitValid,
    /// Submit values the form on screen refuses (five kinds).
    SubmitInvalid(u8),
    /// Pick the account at `index % 5` (lists have 1 or 3).
    ChooseAccount(u8),
    /// Switch to method `k % 5`.
    Switch(u8),
    Back,
    Retry,
    Exit,
    /// The partner answers the call in flight with a fitting reply.
    Answer(u8),
    /// The partner answers the call in flight with a reply for another call.
    WrongShape(u8),
    /// A reply with an old id (fitting the current call, or its own).
    Stale {
        pick: u8,
        fitting: bool,
    },
    /// The last applied reply, delivered again.
    Duplicate,
    /// A reply with an id the flow never issued.
    NeverIssued(u8),
    /// Let the next deadline pass and fire it.
    Timeout,
    /// Move the clock; maybe fire due timers.
    Advance {
        ms: u64,
        fire: bool,
    },
    /// Snapshot -> JSON -> restore, between steps.
    Restore,
}

#[derive(Debug, Clone)]
struct StepSpec {
    op: Op,
    /// Also snapshot -> JSON -> restore right after the input, before the
    /// effects and events it produced are polled.
    restore_mid: bool,
}

fn op_strategy(with_restore: bool) -> BoxedStrategy<Op> {
    let ops = prop_oneof![
        45 => any::<u8>().prop_map(Op::Act),
        8 => (any::<u8>(), proptest::option::of(any::<u8>()))
            .prop_map(|(inst, method)| Op::Choose { inst, method }),
        12 => Just(Op::SubmitValid),
        3 => any::<u8>().prop_map(Op::SubmitInvalid),
        5 => any::<u8>().prop_map(Op::ChooseAccount),
        3 => any::<u8>().prop_map(Op::Switch),
        3 => Just(Op::Back),
        3 => Just(Op::Retry),
        1 => Just(Op::Exit),
        10 => any::<u8>().prop_map(Op::Answer),
        1 => any::<u8>().prop_map(Op::WrongShape),
        3 => (any::<u8>(), any::<bool>()).prop_map(|(pick, fitting)| Op::Stale { pick, fitting }),
        2 => Just(Op::Duplicate),
        1 => any::<u8>().prop_map(Op::NeverIssued),
        4 => Just(Op::Timeout),
        2 => (prop::sample::select(ADVANCE_MS.to_vec()), any::<bool>())
            .prop_map(|(ms, fire)| Op::Advance { ms, fire }),
    ];
    if with_restore {
        prop_oneof![40 => ops, 1 => Just(Op::Restore)].boxed()
    } else {
        ops.boxed()
    }
}

fn steps_strategy() -> impl Strategy<Value = Vec<StepSpec>> {
    prop::collection::vec(
        (op_strategy(true), prop::bool::weighted(0.08))
            .prop_map(|(op, restore_mid)| StepSpec { op, restore_mid }),
        0..=MAX_STEPS,
    )
}

/// Default config a quarter of the time; otherwise every limit in 1..=4,
/// with or without the exchange, a reference, or a preselected institution
/// (known, known with a method, unknown).
fn config_strategy() -> impl Strategy<Value = FlowConfig> {
    (
        prop::bool::weighted(0.25),
        (
            1u8..=4,
            1u8..=4,
            1u8..=4,
            1u8..=4,
            1u8..=4,
            1u8..=4,
            1u8..=4,
        ),
        prop::bool::weighted(0.8),
        0u8..6,
        any::<bool>(),
        prop::sample::select(vec![100u64, 500]),
        prop::sample::select(vec![60_000u64, 600_000]),
    )
        .prop_map(
            |(default, limits, exchange, preselect, reference, backoff, lifetime)| {
                let mut c = FlowConfig::default();
                if !default {
                    let (login, mfa, rounds, sessions, renewals, transport, reads) = limits;
                    c.max_login_attempts = login;
                    c.max_mfa_attempts = mfa;
                    c.max_rounds = rounds;
                    c.max_sessions = sessions;
                    c.max_renewals = renewals;
                    c.max_transport_failures = transport;
                    c.max_read_retries = reads;
                    c.read_backoff_ms = backoff;
                    c.code_lifetime_ms = lifetime;
                    c.exchange_code = exchange;
                }
                if reference {
                    c = c.with_reference("ref-42");
                }
                match preselect {
                    0 => c.with_institution("demo-bank", None),
                    1 => c.with_institution("ussd-bank", Some(AuthMethodKind::Ussd)),
                    2 => c.with_institution("gone-bank", None),
                    _ => c,
                }
            },
        )
}

// ---- the host ---------------------------------------------------------------------

/// What one step did.
#[derive(Debug)]
enum Did {
    User {
        action: ActionKind,
        result: Result<(), FlowError>,
    },
    Reply {
        id: RequestId,
        /// The flow was waiting for exactly this id.
        awaited: bool,
        duplicate: bool,
        reply: Result<Reply, CallError>,
        result: Result<(), FlowError>,
    },
    Timer {
        /// A deadline was due when `handle_timeout` was called.
        fired: bool,
    },
    Restore,
    Nothing,
}

impl Did {
    fn error(&self) -> Option<&FlowError> {
        match self {
            Did::User { result: Err(e), .. } | Did::Reply { result: Err(e), .. } => Some(e),
            _ => None,
        }
    }

    fn accepted_reply(&self) -> Option<&Result<Reply, CallError>> {
        match self {
            Did::Reply {
                awaited: true,
                result: Ok(()),
                reply,
                ..
            } => Some(reply),
            _ => None,
        }
    }
}

#[derive(Debug)]
struct Record {
    kind_before: StateKind,
    waiting_before: Option<RequestId>,
    did: Did,
    /// Snapshot JSON before and right after the input, taken when the input
    /// must change nothing (the flow had ended, or a reply nobody awaits).
    unchanged: Option<(String, String)>,
    /// Snapshot JSON after the input, before its effects were polled (only
    /// when the harness is asked to keep it).
    pre_drain: Option<String>,
    effects: Vec<Effect>,
    events: Vec<Event>,
}

struct Harness {
    flow: ConnectFlow,
    catalogue: Arc<Catalogue>,
    now: Timestamp,
    /// Every effect polled so far, in order.
    issued: Vec<(RequestId, Call)>,
    last_applied: Option<(RequestId, Result<Reply, CallError>)>,
    sessions: u32,
    marker_n: u32,
    /// Every secret marker the person typed.
    typed: Vec<String>,
    /// Effects polled so far.
    calls: u64,
    keep_pre_drain: bool,
    /// The partner only gives outcomes that keep the flow going round
    /// (transient errors, retryable rejections, more MFA), and the person
    /// never exits: only the config's limits can end the flow.
    hostile: bool,
}

fn effect_parts(effect: &Effect) -> (RequestId, &Call) {
    let Effect::Call { id, call } = effect else {
        panic!("unknown effect {effect:?}")
    };
    (*id, call)
}

fn json(flow: &ConnectFlow) -> String {
    String::from_utf8(flow.snapshot().to_json()).expect("snapshot JSON is UTF-8")
}

impl Harness {
    fn new(config: FlowConfig) -> Harness {
        let mut h = Harness {
            flow: ConnectFlow::new(config, T0),
            catalogue: catalogue(),
            now: T0,
            issued: Vec::new(),
            last_applied: None,
            sessions: 0,
            marker_n: 100,
            typed: Vec::new(),
            calls: 0,
            keep_pre_drain: false,
            hostile: false,
        };
        h.drain();
        h
    }

    fn drain(&mut self) -> (Vec<Effect>, Vec<Event>) {
        let mut effects = Vec::new();
        while let Some(effect) = self.flow.poll_effect() {
            let (id, call) = effect_parts(&effect);
            self.issued.push((id, call.clone()));
            self.calls += 1;
            effects.push(effect);
        }
        let mut events = Vec::new();
        while let Some(event) = self.flow.poll_event() {
            events.push(event);
        }
        (effects, events)
    }

    /// Snapshot -> JSON -> `from_json` -> restore with the catalogue; checks
    /// the JSON round trip is exact and the restored flow is the same value.
    fn restore(&mut self) {
        let snapshot = self.flow.snapshot();
        let bytes = snapshot.to_json();
        let back = Snapshot::from_json(&bytes).expect("from_json(to_json(s))");
        assert_eq!(back, snapshot, "from_json(to_json(s)) != s");
        let restored =
            ConnectFlow::restore(back, Some(Arc::clone(&self.catalogue))).expect("restore");
        assert_eq!(
            format!("{restored:?}"),
            format!("{:?}", self.flow),
            "restore gave a different flow"
        );
        self.flow = restored;
    }

    /// The call in flight, from the effects polled so far.
    fn pending(&self) -> Option<(RequestId, Call)> {
        let id = self.flow.waiting_for()?;
        let call = self
            .issued
            .iter()
            .rev()
            .find(|(i, _)| *i == id)
            .map(|(_, c)| c.clone())
            .unwrap_or_else(|| panic!("the flow waits for {id}, which it never emitted"));
        Some((id, call))
    }

    fn max_issued(&self) -> u64 {
        self.issued.iter().map(|(id, _)| id.0).max().unwrap_or(0)
    }

    // ---- the scripted partner

    fn session_reply(&mut self, variant: usize) -> Result<Reply, CallError> {
        self.sessions += 1;
        let (expires_at, form) = match variant {
            2 => (None, Some(session_form())),
            3 => (Some(self.now.plus_ms(30_000)), None),
            _ => (Some(self.now.plus_ms(FIVE_MIN)), None),
        };
        Ok(Reply::SessionCreated(SessionInfo {
            id: format!("sess-{}", self.sessions),
            expires_at,
            form,
            institution: None,
        }))
    }

    /// A step outcome. 0–10 are Mono's vocabulary; 11–14 the rest of the
    /// flow's (Flinks'): a durable id at once, "pending" (with a
    /// continuation), a restarted login, "try later".
    fn step_reply(&self, variant: usize) -> Result<Reply, CallError> {
        let step = match variant {
            0 | 1 => Step::code(format!("code_{}", self.max_issued())),
            2..=4 => Step::needs_input(mfa_form(variant - 2)),
            5 => Step::choose_account(accounts(1)),
            6 => Step::choose_account(accounts(3)),
            7 => Step::choose_account(accounts(0)),
            8 => return rejected(RejectionKind::Retry),
            9 => return rejected(RejectionKind::Final),
            11 => Step::account(format!("login_{}", self.max_issued())),
            12 => Step::Pending {
                poll_after_ms: 10_000,
                give_up_after_ms: 60_000,
                continuation: Some(Continuation::new(format!("req-{}", self.max_issued()))),
            },
            13 => return rejected(RejectionKind::RestartLogin),
            14 => return rejected(RejectionKind::TryLater),
            _ => return rejected(RejectionKind::SessionExpired),
        };
        Ok(Reply::Step(step))
    }

    /// A reply that fits `call`: a success or a transport error. Selectors
    /// below 176 pick only outcomes that move the flow forward, so runs get
    /// deep; the others pick from every outcome.
    fn fitting(&mut self, call: &Call, sel: u8) -> Result<Reply, CallError> {
        if self.hostile {
            return self.looping(call, sel);
        }
        let forward = sel < 176;
        let sel = usize::from(sel);
        match call {
            Call::ListInstitutions if forward => {
                Ok(Reply::Institutions(Arc::clone(&self.catalogue)))
            }
            Call::CreateSession { .. } if forward => self.session_reply(sel % 4),
            Call::Login { .. } | Call::Commit { .. } | Call::Poll { .. } if forward => {
                self.step_reply([0, 1, 2, 3, 4, 5, 6, 8, 11, 12][sel % 10])
            }
            Call::ExchangeCode { .. } if forward => Ok(Reply::Exchanged {
                account_id: format!("acc_{}", self.max_issued()),
            }),
            Call::ListInstitutions => match sel % 10 {
                0..=2 => Ok(Reply::Institutions(Arc::clone(&self.catalogue))),
                k => Err(call_error(k - 3)),
            },
            Call::CreateSession { .. } => match sel % 11 {
                k @ 0..=3 => self.session_reply(k),
                k => Err(call_error(k - 4)),
            },
            Call::Login { .. } | Call::Commit { .. } | Call::Poll { .. } => match sel % 22 {
                k @ 0..=14 => self.step_reply(k),
                k => Err(call_error(k - 15)),
            },
            Call::ExchangeCode { .. } => match sel % 10 {
                0..=2 => Ok(Reply::Exchanged {
                    account_id: format!("acc_{}", self.max_issued()),
                }),
                k => Err(call_error(k - 3)),
            },
            other => panic!("unknown call {other:?}"),
        }
    }

    /// A hostile partner's reply to `call`: never a code or a final "no".
    fn looping(&mut self, call: &Call, sel: u8) -> Result<Reply, CallError> {
        let sel = usize::from(sel);
        let transient = [0, 1, 2, 6].map(call_error);
        match call {
            Call::ListInstitutions if sel % 4 == 0 => {
                Ok(Reply::Institutions(Arc::clone(&self.catalogue)))
            }
            Call::CreateSession { .. } if sel % 2 == 0 => self.session_reply(3),
            Call::Login { .. } | Call::Commit { .. } | Call::Poll { .. } if sel % 3 != 0 => {
                self.step_reply([2, 3, 4, 5, 6, 8, 10, 12, 13, 14][sel % 10])
            }
            _ => Err(transient[sel % 4].clone()),
        }
    }

    /// A successful reply meant for another kind of call than `call`.
    fn wrong_shape(&mut self, call: &Call, sel: u8) -> Result<Reply, CallError> {
        let k = sel % 3;
        let institutions = Ok(Reply::Institutions(Arc::clone(&self.catalogue)));
        let exchanged = Ok(Reply::Exchanged {
            account_id: "acc_wrong".into(),
        });
        match (call, k) {
            (Call::ListInstitutions, 0) => self.session_reply(0),
            (Call::ListInstitutions, 1) => self.step_reply(0),
            (Call::CreateSession { .. }, 0)
            | (Call::Login { .. } | Call::Commit { .. } | Call::Poll { .. }, 0) => institutions,
            (Call::CreateSession { .. }, 1) => self.step_reply(2),
            (Call::Login { .. } | Call::Commit { .. } | Call::Poll { .. }, 1) => {
                self.session_reply(0)
            }
            (Call::ExchangeCode { .. }, 0) => institutions,
            (Call::ExchangeCode { .. }, 1) => self.session_reply(0),
            (Call::ExchangeCode { .. }, _) => self.step_reply(0),
            _ => exchanged,
        }
    }

    // ---- the person

    fn marker(&mut self, field: &Field) -> String {
        self.marker_n += 1;
        let n = self.marker_n;
        let name = field.name.to_ascii_lowercase();
        let tag = if name.contains("pin") {
            "PIN"
        } else if name.contains("otp") {
            "OTP"
        } else if name.contains("answer") {
            "ANS"
        } else {
            "PW"
        };
        let long = format!("SECRET-{tag}-{n}");
        let marker = match field.max_length {
            Some(max) if (max as usize) < long.len() => format!("\u{a4}{n}"),
            _ => long,
        };
        self.typed.push(marker.clone());
        marker
    }

    /// Values `form` accepts, with a marker in every secret field.
    fn fill(&mut self, form: &Form) -> Values {
        let sample = sample_values(form);
        let mut values = Values::new();
        for field in &form.fields {
            let value = if is_secretish(field) {
                self.marker(field)
            } else {
                sample
                    .get(&field.name)
                    .map(|s| s.expose().to_owned())
                    .unwrap_or_default()
            };
            values.insert(field.name.clone(), value);
        }
        values
    }

    fn form_on_screen(&self) -> Option<Form> {
        match self.flow.view() {
            View::Form(f) => Some(f.form.clone()),
            _ => None,
        }
    }

    fn valid_values(&mut self) -> Values {
        match self.form_on_screen() {
            Some(form) => self.fill(&form),
            // Nothing to submit: the flow must refuse, and still not leak.
            None => {
                let field = Field::password("password", "Password");
                Values::new().with("password", self.marker(&field))
            }
        }
    }

    fn invalid_values(&mut self, k: u8) -> Values {
        let form = self
            .form_on_screen()
            .unwrap_or_else(|| Form::new("Log in", vec![Field::password("password", "P")]));
        let valid = self.fill(&form);
        let first = form.fields[0].clone();
        match k % 5 {
            0 => Values::new(),
            1 => valid
                .iter()
                .skip(1)
                .map(|(n, v)| (n.clone(), v.expose().to_owned()))
                .collect(),
            2 => {
                let typo = Field::password("pasword", "Password");
                let marker = self.marker(&typo);
                valid.with("pasword", marker)
            }
            3 => match form.fields.iter().find(|f| f.max_length.is_some()) {
                Some(f) => {
                    let marker = format!("SECRET-LONG-{}", self.marker_n).repeat(4);
                    self.typed.push(marker.clone());
                    valid.with(f.name.clone(), marker)
                }
                None => valid.with(first.name, "   "),
            },
            _ => match form.fields.iter().find(|f| f.kind == FieldKind::Choice) {
                Some(f) => valid.with(f.name.clone(), "not-an-option"),
                None => valid.with(first.name, ""),
            },
        }
    }

    fn user_action(&mut self, op: &Op) -> UserAction {
        match op {
            Op::Choose { inst, method } => UserAction::ChooseInstitution {
                id: institution_id(*inst).into(),
                auth_method: method.map(method_kind),
            },
            Op::SubmitValid => UserAction::Submit(self.valid_values()),
            Op::SubmitInvalid(k) => UserAction::Submit(self.invalid_values(*k)),
            Op::ChooseAccount(i) => UserAction::ChooseAccount(usize::from(*i % 5)),
            Op::Switch(k) => UserAction::SwitchAuthMethod(method_kind(*k)),
            Op::Back => UserAction::Back,
            Op::Retry => UserAction::Retry,
            _ => UserAction::Exit,
        }
    }

    // ---- one step

    fn send(
        &mut self,
        id: RequestId,
        reply: Result<Reply, CallError>,
        duplicate: bool,
        before: &mut Option<String>,
    ) -> Did {
        let awaited = self.flow.waiting_for() == Some(id);
        if !awaited && before.is_none() {
            *before = Some(json(&self.flow));
        }
        let result = self.flow.handle(
            self.now,
            Input::Api {
                id,
                result: reply.clone(),
            },
        );
        if awaited && result.is_ok() {
            self.last_applied = Some((id, reply.clone()));
        }
        Did::Reply {
            id,
            awaited,
            duplicate,
            reply,
            result,
        }
    }

    fn fire(&mut self) -> Did {
        let fired = self.flow.poll_timeout().is_some_and(|t| t <= self.now);
        self.flow.handle_timeout(self.now);
        Did::Timer { fired }
    }

    fn step(&mut self, spec: &StepSpec) -> Record {
        let kind_before = self.flow.state();
        let waiting_before = self.flow.waiting_for();
        // The snapshot before the input, when the input must be a no-op: the
        // flow has ended, or (decided in `send`) a reply nobody awaits.
        let mut before = kind_before.is_terminal().then(|| json(&self.flow));
        let op = match &spec.op {
            Op::Act(c) => progress_op(self, *c).unwrap_or(Op::Act(0)),
            op => op.clone(),
        };
        let did = match &op {
            Op::Act(_) => Did::Nothing,
            op @ (Op::Choose { .. }
            | Op::SubmitValid
            | Op::SubmitInvalid(_)
            | Op::ChooseAccount(_)
            | Op::Switch(_)
            | Op::Back
            | Op::Retry
            | Op::Exit) => {
                let action = self.user_action(op);
                let kind = action.kind();
                let result = self.flow.handle(self.now, Input::User(action));
                Did::User {
                    action: kind,
                    result,
                }
            }
            Op::Answer(sel) => match self.pending() {
                Some((id, call)) => {
                    let reply = self.fitting(&call, *sel);
                    self.send(id, reply, false, &mut before)
                }
                None => Did::Nothing,
            },
            Op::WrongShape(sel) => match self.pending() {
                Some((id, call)) => {
                    let reply = self.wrong_shape(&call, *sel);
                    self.send(id, reply, false, &mut before)
                }
                None => Did::Nothing,
            },
            Op::Stale { pick, fitting } => {
                let old: Vec<(RequestId, Call)> = self
                    .issued
                    .iter()
                    .filter(|(id, _)| Some(*id) != waiting_before)
                    .cloned()
                    .collect();
                if old.is_empty() {
                    Did::Nothing
                } else {
                    let (id, old_call) = old[usize::from(*pick) % old.len()].clone();
                    let call = match self.pending() {
                        Some((_, current)) if *fitting => current,
                        _ => old_call,
                    };
                    let reply = self.fitting(&call, pick.wrapping_mul(7));
                    self.send(id, reply, false, &mut before)
                }
            }
            Op::Duplicate => match self.last_applied.clone() {
                Some((id, reply)) => self.send(id, reply, true, &mut before),
                None => Did::Nothing,
            },
            Op::NeverIssued(k) => {
                let id = match k % 3 {
                    0 => RequestId(0),
                    1 => RequestId(self.max_issued().max(self.flow_next_id()) + 1 + u64::from(*k)),
                    _ => RequestId(u64::MAX),
                };
                let reply = match self.pending() {
                    Some((_, call)) => self.fitting(&call, *k),
                    None => Ok(Reply::Institutions(Arc::clone(&self.catalogue))),
                };
                self.send(id, reply, false, &mut before)
            }
            Op::Timeout => {
                if let Some(deadline) = self.flow.poll_timeout() {
                    self.now = self.now.max(deadline);
                }
                self.fire()
            }
            Op::Advance { ms, fire } => {
                self.now = self.now.plus_ms(*ms);
                if *fire {
                    self.fire()
                } else {
                    Did::Nothing
                }
            }
            Op::Restore => {
                self.restore();
                Did::Restore
            }
        };
        let unchanged = before.map(|before| (before, json(&self.flow)));
        if spec.restore_mid {
            self.restore();
        }
        let pre_drain = self.keep_pre_drain.then(|| json(&self.flow));
        let (effects, events) = self.drain();
        Record {
            kind_before,
            waiting_before,
            did,
            unchanged,
            pre_drain,
            effects,
            events,
        }
    }

    /// An id the flow has not handed out yet: past every id in the snapshot.
    fn flow_next_id(&self) -> u64 {
        let v: serde_json::Value =
            serde_json::from_slice(&self.flow.snapshot().to_json()).expect("snapshot JSON");
        v["next_id"].as_u64().unwrap_or(0)
    }
}

fn is_person_state(kind: StateKind) -> bool {
    matches!(
        kind,
        StateKind::AwaitingCredentials | StateKind::AwaitingInput | StateKind::AwaitingAccount
    )
}

/// Every state's view is the one its kind calls for.
fn view_fits(kind: StateKind, view: &View<'_>) -> bool {
    match kind {
        StateKind::LoadingInstitutions
        | StateKind::CreatingSession
        | StateKind::LoggingIn
        | StateKind::Committing
        | StateKind::Pending
        | StateKind::Exchanging => matches!(view, View::Working(_)),
        StateKind::ChoosingInstitution => matches!(view, View::ChooseInstitution { .. }),
        StateKind::AwaitingCredentials => {
            matches!(view, View::Form(f) if f.purpose == FormPurpose::Credentials)
        }
        StateKind::AwaitingInput => matches!(view, View::Form(f) if f.purpose == FormPurpose::Mfa),
        StateKind::AwaitingAccount => matches!(view, View::ChooseAccount { .. }),
        StateKind::Linked => matches!(view, View::Linked { .. }),
        StateKind::Done => matches!(view, View::Done { .. }),
        StateKind::Failed => matches!(view, View::Failed { .. }),
        StateKind::Exited => matches!(view, View::Exited { .. }),
        _ => false,
    }
}

/// The progress driver of rule 5: answer the call in flight with a random
/// fitting outcome (rarely a wrong shape); otherwise do something the person
/// can do on the screen shown (rarely exit), or let the scheduled deadline
/// pass. `None` when the flow has ended or nothing applies.
fn progress_op(h: &mut Harness, c: u8) -> Option<Op> {
    if h.flow.is_finished() {
        return None;
    }
    if h.pending().is_some() {
        return Some(if c % 40 == 0 && !h.hostile {
            Op::WrongShape(c / 40)
        } else {
            Op::Answer(c.wrapping_mul(37))
        });
    }
    if c % 32 == 0 && !h.hostile {
        return Some(Op::Exit);
    }
    let deadline = h.flow.poll_timeout().is_some();
    let person_state = is_person_state(h.flow.state());
    // Timers, Back and Switch as alternatives to the screen's main action.
    match c % 8 {
        0 if deadline => return Some(Op::Timeout),
        1 if person_state => return Some(Op::Back),
        2 if person_state => {
            if let View::Form(f) = h.flow.view() {
                if let Some(m) = f.other_methods().nth(usize::from(c / 8) % 2) {
                    return Some(Op::Switch(method_index(m)));
                }
            }
        }
        _ => {}
    }
    Some(match h.flow.view() {
        View::ChooseInstitution { .. } => {
            // demo-bank: internet, mobile, manual; ussd-bank: ussd, manual.
            // ussd-bank's manual method has no form in the catalogue: a
            // session that brings none fails, so pick it rarely.
            if c % 3 == 0 {
                Op::Choose {
                    inst: 5,
                    method: Some(if c % 24 == 3 { 2 } else { 3 }),
                }
            } else {
                Op::Choose {
                    inst: 0,
                    method: Some(c % 3),
                }
            }
        }
        View::Form(_) => Op::SubmitValid,
        View::ChooseAccount { accounts, .. } => Op::ChooseAccount(c % accounts.len() as u8),
        View::Linked { .. } => Op::Retry,
        _ if deadline => Op::Timeout,
        _ => return None,
    })
}

// ---- the rules ---------------------------------------------------------------------

proptest! {
    #![proptest_config(proptest_config())]

    /// Rule 1: a reply whose id is not the one `state().waiting_for()` returns
    /// (stale, duplicated, never issued, or after the flow ended) is refused
    /// with `FlowError::UnexpectedReply` and leaves the flow exactly as it was
    /// (snapshot JSON before and after are equal); the awaited reply is always
    /// accepted, and a reply is never awaited twice.
    #[test]
    fn rule1_unexpected_replies_are_refused_and_change_nothing(
        config in config_strategy(),
        steps in steps_strategy(),
    ) {
        let mut h = Harness::new(config);
        for spec in &steps {
            let rec = h.step(spec);
            if let Did::Reply { id, awaited, duplicate, result, .. } = &rec.did {
                prop_assert_eq!(*awaited, rec.waiting_before == Some(*id));
                if *duplicate {
                    prop_assert!(!awaited, "reply {} was awaited a second time", id);
                }
                if *awaited {
                    prop_assert!(result.is_ok(), "awaited reply {} refused: {:?}", id, result);
                } else {
                    prop_assert_eq!(
                        result,
                        &Err(FlowError::UnexpectedReply { id: *id, waiting: rec.waiting_before })
                    );
                    let (before, after) = rec.unchanged.as_ref().expect("watched");
                    prop_assert_eq!(before, after, "refused reply {} changed the flow", id);
                    prop_assert!(rec.effects.is_empty() && rec.events.is_empty());
                }
            }
        }
    }

    /// Rule 2: request ids are never reused, Login and Commit go out only as
    /// the direct result of the person's accepted `Submit` / `ChooseAccount`
    /// (one per action), and nothing but the institution list is ever sent
    /// again on the flow's own after a failure: after a reply, a timer or a
    /// restore, the only calls are a list (retry), the exchange of a code just
    /// received, or a new session (preselection, a session-expired rejection,
    /// a session timer in an Awaiting* state).
    #[test]
    fn rule2_writes_are_never_resent_on_their_own(
        config in config_strategy(),
        steps in steps_strategy(),
    ) {
        let preselect = config.institution.is_some();
        let mut h = Harness::new(config);
        let mut ids: HashSet<RequestId> = h.issued.iter().map(|(id, _)| *id).collect();
        for spec in &steps {
            let rec = h.step(spec);
            let kinds: Vec<CallKind> =
                rec.effects.iter().map(|e| effect_parts(e).1.kind()).collect();
            for effect in &rec.effects {
                let (id, _) = effect_parts(effect);
                prop_assert!(ids.insert(id), "request id {} emitted twice", id);
            }
            prop_assert!(kinds.len() <= 1, "one input, several calls: {:?}", kinds);
            let Some(kind) = kinds.first().copied() else { continue };
            match &rec.did {
                Did::User { action, result } => {
                    prop_assert!(result.is_ok(), "a refused {:?} emitted {:?}", action, kind);
                    let allowed: &[CallKind] = match action {
                        ActionKind::ChooseInstitution | ActionKind::SwitchAuthMethod => {
                            &[CallKind::CreateSession]
                        }
                        ActionKind::Submit => &[CallKind::Login, CallKind::Commit],
                        ActionKind::ChooseAccount => &[CallKind::Commit],
                        ActionKind::Back => &[CallKind::ListInstitutions],
                        ActionKind::Retry => &[CallKind::ExchangeCode],
                        _ => &[],
                    };
                    prop_assert!(allowed.contains(&kind), "{:?} emitted {:?}", action, kind);
                }
                did => {
                    let reply = did.accepted_reply();
                    let ok = match kind {
                        // Reads: the list (on restore, Back, a retry timer)
                        // and a status poll (on its timer only).
                        CallKind::ListInstitutions => true,
                        CallKind::Poll => matches!(did, Did::Timer { fired: true })
                            && rec.kind_before == StateKind::Pending,
                        CallKind::ExchangeCode => {
                            matches!(reply, Some(Ok(Reply::Step(Step::Done(Linked::Code(_))))))
                        }
                        CallKind::CreateSession => match (did, reply) {
                            (_, Some(Ok(Reply::Institutions(_)))) => preselect,
                            (_, Some(Ok(Reply::Step(Step::Rejected(r))))) => matches!(
                                r.kind,
                                RejectionKind::SessionExpired | RejectionKind::RestartLogin
                            ),
                            (Did::Timer { fired: true }, _) => is_person_state(rec.kind_before),
                            _ => false,
                        },
                        _ => false,
                    };
                    prop_assert!(ok, "{:?} was emitted after {:?} in {:?}", kind, did, rec.kind_before);
                }
            }
        }
    }

    /// Rule 3: at most one `Success` per flow, only as the direct result of a
    /// `99`/code reply and carrying that code; from then on the only call the
    /// flow ever makes is `ExchangeCode` of that same code, and it never again
    /// waits for a login or commit.
    #[test]
    fn rule3_one_code_then_only_the_exchange(
        config in config_strategy(),
        steps in steps_strategy(),
    ) {
        let mut h = Harness::new(config);
        let mut code: Option<String> = None;
        for spec in &steps {
            let rec = h.step(spec);
            for event in &rec.events {
                if let EventKind::Success { code: Some(c) } = &event.kind {
                    prop_assert!(code.is_none(), "a second Success: {} after {:?}", c, code);
                    let replied = match rec.did.accepted_reply() {
                        Some(Ok(Reply::Step(Step::Done(Linked::Code(code))))) => Some(code),
                        _ => None,
                    };
                    prop_assert_eq!(replied, Some(c), "Success after {:?}", rec.did);
                    code = Some(c.clone());
                }
            }
            if let Some(code) = &code {
                for effect in &rec.effects {
                    match effect_parts(effect).1 {
                        Call::ExchangeCode { code: c } => prop_assert_eq!(c, code),
                        other => prop_assert!(false, "{:?} after the code", other),
                    }
                }
                prop_assert!(matches!(
                    h.flow.state(),
                    StateKind::Exchanging | StateKind::Linked | StateKind::Done
                        | StateKind::Failed | StateKind::Exited
                ), "{:?} after the code", h.flow.state());
            }
        }
    }

    /// Rule 4: every state has a view that fits it, and `view()` never
    /// panics; terminal kinds are exactly terminal views; once Done, Failed or
    /// Exited, every input is refused (user: `Finished`, reply:
    /// `UnexpectedReply`), timers and restores change nothing, and the state
    /// stays identical.
    #[test]
    fn rule4_views_fit_and_terminal_states_stay(
        config in config_strategy(),
        steps in steps_strategy(),
    ) {
        let mut h = Harness::new(config);
        for spec in &steps {
            let rec = h.step(spec);
            let kind = h.flow.state();
            let view = h.flow.view();
            let _ = format!("{view:?}");
            prop_assert_eq!(kind.is_terminal(), view.is_terminal(), "{:?} vs {:?}", kind, view);
            prop_assert_eq!(kind.is_terminal(), h.flow.is_finished());
            prop_assert!(view_fits(kind, &view), "{:?} shown as {:?}", kind, view);
            if view.needs_person() {
                prop_assert!(h.flow.waiting_for().is_none(), "{:?} waits for a call", kind);
            }
            if matches!(view, View::Working(_)) {
                prop_assert!(
                    h.flow.waiting_for().is_some() || h.flow.poll_timeout().is_some(),
                    "{:?} works on nothing", kind
                );
            }
            if kind.is_terminal() {
                prop_assert!(h.flow.waiting_for().is_none());
                prop_assert_eq!(h.flow.poll_timeout(), None);
            }
            if rec.kind_before.is_terminal() {
                match &rec.did {
                    Did::User { result, .. } => {
                        prop_assert_eq!(result, &Err(FlowError::Finished(rec.kind_before)));
                    }
                    Did::Reply { result, .. } => prop_assert!(
                        matches!(result, Err(FlowError::UnexpectedReply { waiting: None, .. })),
                        "{:?}", result
                    ),
                    _ => {}
                }
                let (before, after) = rec.unchanged.as_ref().expect("watched");
                prop_assert_eq!(before, after, "{:?} changed a finished flow", spec.op);
                prop_assert_eq!(kind, rec.kind_before);
                prop_assert!(rec.effects.is_empty() && rec.events.is_empty());
            }
        }
    }

    /// Rule 5 (calls): whatever the person, the partner and the clock do, the
    /// number of effects a flow emits never exceeds `config.max_calls()`.
    #[test]
    fn rule5_calls_never_exceed_max_calls(
        config in config_strategy(),
        steps in steps_strategy(),
    ) {
        let max = config.max_calls();
        let mut h = Harness::new(config);
        prop_assert!(h.calls <= max);
        for spec in &steps {
            h.step(spec);
            prop_assert!(h.calls <= max, "{} calls, max_calls() = {}", h.calls, max);
        }
    }

    /// Rule 5 (ending): a host that always answers the call in flight (with
    /// random outcomes, or a hostile partner's that never link nor refuse
    /// for good) and a person who always does something the screen offers
    /// reach Done, Failed or Exited within `3 * max_calls() + 2` accepted
    /// inputs (each input either answers a call, makes one, is a Back that
    /// the next call follows, or ends the flow), never exceeding
    /// `max_calls()` calls.
    #[test]
    fn rule5_every_flow_ends(
        config in config_strategy(),
        choices in prop::collection::vec(any::<u8>(), 1..64),
        hostile in any::<bool>(),
    ) {
        let max = config.max_calls();
        let bound = 3 * max + 2;
        let mut h = Harness::new(config);
        h.hostile = hostile;
        let mut steps = 0u64;
        while let Some(op) = progress_op(&mut h, choices[steps as usize % choices.len()]) {
            prop_assert!(steps < bound, "still {:?} after {} inputs (bound {})",
                h.flow.state(), steps, bound);
            let rec = h.step(&StepSpec { op: op.clone(), restore_mid: false });
            steps += 1;
            match &rec.did {
                Did::User { result, .. } => prop_assert!(result.is_ok(), "{:?}: {:?}", op, result),
                Did::Reply { awaited, result, .. } => prop_assert!(*awaited && result.is_ok()),
                Did::Timer { fired } => prop_assert!(*fired, "{:?} fired nothing", op),
                other => prop_assert!(false, "{:?}", other),
            }
            prop_assert!(h.calls <= max, "{} calls, max_calls() = {}", h.calls, max);
        }
        prop_assert!(h.flow.is_finished(), "stuck in {:?} (view {:?})",
            h.flow.state(), h.flow.view());
    }

    /// Rule 6: no secret the person typed (markers in password, PIN, OTP and
    /// answer fields, valid or not) ever appears in an event's JSON, a
    /// `FlowError`'s Display or Debug, the flow's or an effect's or a view's
    /// Debug, or a snapshot taken once the effects are polled. (A snapshot
    /// taken before the Login/Commit effect is polled must carry the unsent
    /// values, so that a restored flow can still send them.)
    #[test]
    fn rule6_typed_secrets_never_leak(
        config in config_strategy(),
        steps in steps_strategy(),
    ) {
        let mut h = Harness::new(config);
        h.keep_pre_drain = true;
        for spec in &steps {
            let rec = h.step(spec);
            let mut outputs: Vec<(&str, String)> = Vec::new();
            for event in &rec.events {
                outputs.push(("event", serde_json::to_string(event).expect("event JSON")));
            }
            if let Some(e) = rec.did.error() {
                outputs.push(("error Display", e.to_string()));
                outputs.push(("error Debug", format!("{e:?}")));
            }
            for effect in &rec.effects {
                outputs.push(("effect Debug", format!("{effect:?}")));
            }
            outputs.push(("flow Debug", format!("{:?}", h.flow)));
            outputs.push(("view Debug", format!("{:?}", h.flow.view())));
            outputs.push(("snapshot", json(&h.flow)));
            for (what, text) in &outputs {
                prop_assert!(find_marker(text).is_none(),
                    "secret {:?} in {}: {}", find_marker(text), what, text);
            }
            // The markers do go out, in the call itself, and sit in the
            // snapshot until the call is polled: the detector above works.
            for effect in &rec.effects {
                if let Call::Login { values, .. } | Call::Commit { values, .. } = effect_parts(effect).1 {
                    for (name, value) in values.iter() {
                        if name == "password" || name == "otp" || name == "answer" {
                            prop_assert!(find_marker(value.expose()).is_some(), "{}", name);
                            let pre = rec.pre_drain.as_deref().unwrap_or("");
                            prop_assert!(pre.contains(value.expose()),
                                "unsent {} missing from the snapshot", name);
                        }
                    }
                }
            }
        }
    }

    /// Rule 7: snapshot -> JSON -> restore, at any points (between steps or
    /// right after an input, before its effects are polled), gives a flow
    /// that behaves identically: step by step the same state kind, effects,
    /// events, view, result and deadline as the flow never restored, and the
    /// same final snapshot; and `from_json(to_json(s)) == s` every time.
    #[test]
    fn rule7_restore_behaves_identically(
        config in config_strategy(),
        steps in prop::collection::vec(
            (op_strategy(false), prop::bool::weighted(0.15), prop::bool::weighted(0.1)),
            0..=MAX_STEPS,
        ),
    ) {
        let mut plain = Harness::new(config.clone());
        let mut restored = Harness::new(config);
        for (i, (op, restore_before, restore_mid)) in steps.iter().enumerate() {
            if *restore_before {
                restored.restore();
            }
            let a = plain.step(&StepSpec { op: op.clone(), restore_mid: false });
            let b = restored.step(&StepSpec { op: op.clone(), restore_mid: *restore_mid });
            let observe = |h: &Harness, r: &Record| {
                format!(
                    "{:?}\n{:?}\n{:?}\n{:?}\n{:?}\n{:?}",
                    h.flow.state(),
                    r.did,
                    r.effects,
                    r.events,
                    h.flow.view(),
                    h.flow.poll_timeout()
                )
            };
            prop_assert_eq!(observe(&plain, &a), observe(&restored, &b), "step {}: {:?}", i, op);
        }
        prop_assert_eq!(json(&plain.flow), json(&restored.flow));
        prop_assert_eq!(format!("{:?}", plain.flow), format!("{:?}", restored.flow));
    }
}

/// The generators are worth their cases: over 400 deterministic runs every
/// state kind is reached, and each situation a rule is about occurs many
/// times (stale, duplicated and never-issued replies, inputs after the end,
/// codes, secrets sent, restores mid-step); the progress driver of rule 5
/// ends in each terminal state.
#[test]
fn generated_runs_cover_every_state_and_situation() {
    use proptest::strategy::ValueTree;
    use proptest::test_runner::TestRunner;
    use std::collections::{BTreeMap, BTreeSet};

    let mut runner = TestRunner::deterministic();
    let strategy = (config_strategy(), steps_strategy());
    let mut seen = BTreeSet::new();
    let mut count: BTreeMap<&str, u32> = BTreeMap::new();
    for _ in 0..400 {
        let (config, steps) = strategy.new_tree(&mut runner).unwrap().current();
        let mut h = Harness::new(config);
        for spec in &steps {
            let rec = h.step(spec);
            seen.insert(h.flow.state());
            let mut bump = |k| *count.entry(k).or_default() += 1;
            match &rec.did {
                Did::Reply {
                    awaited: false,
                    duplicate: true,
                    ..
                } => bump("duplicate refused"),
                Did::Reply { awaited: false, .. } if rec.kind_before.is_terminal() => {
                    bump("reply after the end")
                }
                Did::Reply { awaited: false, .. } => bump("misdirected reply"),
                Did::User { .. } if rec.kind_before.is_terminal() => bump("user after the end"),
                Did::User { result: Err(_), .. } => bump("user refused"),
                Did::Timer { fired: true } => bump("timer fired"),
                _ => {}
            }
            if spec.restore_mid && !rec.effects.is_empty() {
                bump("restore before polling");
            }
            for event in &rec.events {
                if matches!(event.kind, EventKind::Success { .. }) {
                    bump("success");
                }
            }
            for effect in &rec.effects {
                match effect_parts(effect).1 {
                    Call::Login { .. } => bump("login sent"),
                    Call::Commit { .. } => bump("commit sent"),
                    Call::ExchangeCode { .. } => bump("exchange sent"),
                    _ => {}
                }
            }
        }
    }
    println!("{seen:?}\n{count:#?}");
    assert_eq!(seen.len(), StateKind::ALL.len(), "reached only {seen:?}");
    for what in [
        "duplicate refused",
        "reply after the end",
        "misdirected reply",
        "user after the end",
        "user refused",
        "timer fired",
        "restore before polling",
        "success",
        "login sent",
        "commit sent",
        "exchange sent",
    ] {
        let n = count.get(what).copied().unwrap_or(0);
        assert!(n >= 20, "only {n} runs with {what}: {count:#?}");
    }

    let mut ends = BTreeMap::new();
    for _ in 0..400 {
        let (config, choices) = (config_strategy(), prop::collection::vec(any::<u8>(), 1..64))
            .new_tree(&mut runner)
            .unwrap()
            .current();
        let mut h = Harness::new(config);
        let mut i = 0;
        while let Some(op) = progress_op(&mut h, choices[i % choices.len()]) {
            h.step(&StepSpec {
                op,
                restore_mid: false,
            });
            i += 1;
            if i > 2_000 {
                break;
            }
        }
        *ends.entry(h.flow.state()).or_insert(0u32) += 1;
    }
    println!("progress driver ends: {ends:?}");
    for kind in [StateKind::Done, StateKind::Failed, StateKind::Exited] {
        assert!(ends.get(&kind).copied().unwrap_or(0) >= 20, "{ends:?}");
    }
}
