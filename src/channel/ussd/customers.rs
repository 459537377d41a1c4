//! Which partner customer a phone's sessions are opened for.
//!
//! A USSD person gives a phone number and nothing else, but Mono opens a
//! session for a customer: its id, or a new one's name and email (mono.md
//! §3). Without a directory every USSD session is opened for the one
//! customer the dialect is configured with (`serve --ussd-customer-id`);
//! with one, the host says who each phone is, once per new session, at the
//! person's first answer that starts one (a bank, or the list's next page;
//! an invalid answer or a rate-limited phone costs the host nothing), and
//! before the partner hears of it. The session keeps the customer through
//! a resume and "Start again". With Flinks, whose sessions name no
//! customer, only "not known here" has an effect: it ends the dial.
//!
//! [`HttpDirectory`] asks the host's own service over HTTP, signed as the
//! webhooks are (`POST {"phone","partner"}` with `x-connectflow-signature`);
//! a host running the server in its own program implements
//! [`CustomerDirectory`] over its user table instead.

use super::session::screen;
use super::{gateway::Screen, UssdService};
use crate::flow::PartnerCustomer;
use crate::form::Secret;
use crate::metrics::Metrics;
use crate::service::signature::{sign, SIGNATURE_HEADER};
use crate::service::Customer;
use crate::store::BoxFuture;
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::histogram::{exponential_buckets, Histogram};
use serde::Deserialize;
use std::time::Duration;

/// What a directory knows of a phone.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Lookup {
    /// Open the phone's sessions for this customer.
    Found(PartnerCustomer),
    /// The host does not link accounts for this phone (not a customer, not
    /// yet registered, barred): the person gets an ending screen saying so,
    /// the host's `message` when it gave one (cut to the screen's budget),
    /// and no session is opened.
    Unknown {
        /// What the person is told.
        message: Option<String>,
    },
}

/// The host could not say: the person is asked to try again later, and no
/// session is opened. Its text never carries the phone number or the
/// directory's URL (a log line quotes it).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("customer directory: {0}")]
pub struct DirectoryError(pub String);

/// Why an [`HttpDirectory`] cannot be made.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum DirectorySetupError {
    /// Not an http(s) URL.
    #[error("the customer directory URL must be an http(s) URL")]
    Url,
    /// A blank signing secret: anyone could sign with it.
    #[error("the customer directory's signing secret is blank")]
    BlankSecret,
    /// The HTTP client could not be built (its TLS setup).
    #[error("the customer directory's HTTP client: {0}")]
    Client(String),
}

/// The host's map from a phone number to the partner customer its sessions
/// are opened for.
pub trait CustomerDirectory: Send + Sync + std::fmt::Debug + 'static {
    /// Who `phone` (as the gateway sent it, never empty) is at `partner`
    /// (`mono`, `flinks`). Asked once per new session (a hop the gateway
    /// sends twice at once may ask twice; [`CachedDirectory`] in front
    /// asks once per phone a while, twins sharing one question); the USSD
    /// channel bounds the wait by the hop's reply budget.
    ///
    /// [`CachedDirectory`]: super::CachedDirectory
    fn lookup<'a>(
        &'a self,
        phone: &'a str,
        partner: &'a str,
    ) -> BoxFuture<'a, Result<Lookup, DirectoryError>>;
}

/// Text of a host's answer at most this long (a customer's id, name,
/// email, or the message for an unknown phone).
const MAX_TEXT: usize = 256;
/// A host answer past this is not read: a directory answers one small
/// JSON object.
const MAX_ANSWER: usize = 16 * 1024;

/// Asks the host's service: `POST url` with `{"type": "customer.lookup",
/// "phone": "+2547…", "partner": "mono"}`, signed with the webhook secret (`x-connectflow-signature:
/// t=…,v1=…`, HMAC-SHA256 over `"<t>.<body>"`, as every webhook is).
///
/// | the host answers | means |
/// |---|---|
/// | 200 `{"id": "cus_…"}` | the partner's customer of that id |
/// | 200 `{"name": "Ada Obi", "email": "ada@…"}` | a new customer (an `id` beside them is not sent: it would be the host's own) |
/// | 404, optionally `{"message": "Dial *123# to register."}` | [`Lookup::Unknown`] |
/// | anything else, or nothing within the timeout | [`DirectoryError`] |
#[derive(Clone)]
pub struct HttpDirectory {
    url: String,
    secret: Secret,
    http: reqwest::Client,
    metrics: Option<LookupMetrics>,
}

/// `connectflow_customer_lookups_total{outcome}` and
/// `connectflow_customer_lookup_seconds`: an operator sees a directory
/// that fails or slows before the people it turns away say so.
#[derive(Clone)]
struct LookupMetrics {
    lookups: Family<OutcomeLabels, Counter>,
    seconds: Histogram,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct OutcomeLabels {
    /// `found`, `unknown`, `error`, or `abandoned` (the hop's reply budget
    /// ran out first).
    outcome: &'static str,
}

impl std::fmt::Debug for HttpDirectory {
    // The URL may carry a token in its query; the secret is a secret.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("HttpDirectory(..)")
    }
}

impl HttpDirectory {
    /// A directory at `url` (http or https), its requests signed with
    /// `secret`, each given up after `timeout`.
    pub fn new(
        url: &str,
        secret: Secret,
        timeout: Duration,
    ) -> Result<HttpDirectory, DirectorySetupError> {
        match reqwest::Url::parse(url) {
            Ok(u) if matches!(u.scheme(), "http" | "https") => {}
            _ => return Err(DirectorySetupError::Url),
        }
        if secret.expose().trim().is_empty() {
            // Anyone could sign with a blank one.
            return Err(DirectorySetupError::BlankSecret);
        }
        let http = reqwest::Client::builder()
            .timeout(timeout)
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(|e| DirectorySetupError::Client(e.to_string()))?;
        Ok(HttpDirectory {
            url: url.to_owned(),
            secret,
            http,
            metrics: None,
        })
    }

    /// Also counted in `/metrics`: lookups by outcome (`found`, `unknown`,
    /// `error`, `abandoned`) and their latency.
    pub fn with_metrics(mut self, metrics: &Metrics) -> HttpDirectory {
        let lookups = Family::<OutcomeLabels, Counter>::default();
        // 1 ms .. ~16 s: a directory on the same network, up to one past
        // any hop's reply budget.
        let seconds = Histogram::new(exponential_buckets(0.001, 2.0, 15));
        metrics.register(
            "customer_lookups",
            "USSD customer directory lookups, by outcome",
            lookups.clone(),
        );
        metrics.register(
            "customer_lookup_seconds",
            "USSD customer directory lookup latency",
            seconds.clone(),
        );
        self.metrics = Some(LookupMetrics { lookups, seconds });
        self
    }

    /// One lookup, as the host answered it.
    async fn ask(&self, phone: &str, partner: &str) -> Result<Lookup, DirectoryError> {
        let body = request_body(phone, partner);
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs());
        let signature = sign(self.secret.expose().as_bytes(), now, &body);
        // Without the URL in any error: it may carry a token.
        let failed = |e: reqwest::Error| DirectoryError(e.without_url().to_string());
        let mut response = self
            .http
            .post(&self.url)
            .header("content-type", "application/json")
            .header(SIGNATURE_HEADER, signature)
            .body(body)
            .send()
            .await
            .map_err(failed)?;
        let status = response.status().as_u16();
        let mut answer = Vec::new();
        while let Some(chunk) = response.chunk().await.map_err(failed)? {
            if answer.len() + chunk.len() > MAX_ANSWER {
                return Err(DirectoryError(format!(
                    "HTTP {status}: an answer past {MAX_ANSWER} bytes"
                )));
            }
            answer.extend_from_slice(&chunk);
        }
        decode(status, &answer)
    }
}

impl CustomerDirectory for HttpDirectory {
    fn lookup<'a>(
        &'a self,
        phone: &'a str,
        partner: &'a str,
    ) -> BoxFuture<'a, Result<Lookup, DirectoryError>> {
        Box::pin(async move {
            // Counted when dropped: a lookup the hop's reply budget cut
            // short (its future dropped mid-way) counts as `abandoned`.
            let mut counted = Counted {
                metrics: self.metrics.as_ref(),
                started: std::time::Instant::now(),
                outcome: "abandoned",
            };
            let result = self.ask(phone, partner).await;
            counted.outcome = match &result {
                Ok(Lookup::Found(_)) => "found",
                Ok(Lookup::Unknown { .. }) => "unknown",
                Err(_) => "error",
            };
            result
        })
    }
}

/// One lookup's count and time, recorded when it is dropped.
struct Counted<'a> {
    metrics: Option<&'a LookupMetrics>,
    started: std::time::Instant,
    outcome: &'static str,
}

impl Drop for Counted<'_> {
    fn drop(&mut self) {
        if let Some(m) = self.metrics {
            let outcome = self.outcome;
            m.lookups.get_or_create(&OutcomeLabels { outcome }).inc();
            m.seconds.observe(self.started.elapsed().as_secs_f64());
        }
    }
}

/// The request's JSON.
fn request_body(phone: &str, partner: &str) -> Vec<u8> {
    // `type` tells it from a webhook, signed with the same secret: a
    // captured lookup is no delivery to the host's webhook receiver.
    serde_json::json!({ "type": "customer.lookup", "phone": phone, "partner": partner })
        .to_string()
        .into_bytes()
}

/// What a host's answer says of the phone.
fn decode(status: u16, body: &[u8]) -> Result<Lookup, DirectoryError> {
    #[derive(Deserialize)]
    struct Answer {
        id: Option<String>,
        name: Option<String>,
        email: Option<String>,
        message: Option<String>,
    }
    let parsed = || -> Result<Answer, DirectoryError> {
        // serde_json's message quotes what it refused (a phone, an email):
        // only its kind and place are kept, as the error is logged.
        let answer: Answer = serde_json::from_slice(body).map_err(|e| {
            DirectoryError(format!(
                "HTTP {status}: not the JSON object expected ({:?} at line {} column {})",
                e.classify(),
                e.line(),
                e.column()
            ))
        })?;
        let fields = [&answer.id, &answer.name, &answer.email, &answer.message];
        if fields
            .into_iter()
            .flatten()
            .any(|v| v.len() > MAX_TEXT || v.chars().any(char::is_control))
        {
            return Err(DirectoryError(format!(
                "HTTP {status}: a value past {MAX_TEXT} characters or with control characters"
            )));
        }
        Ok(answer)
    };
    match status {
        200 => {
            let a = parsed()?;
            PartnerCustomer::from_parts(a.id.as_deref(), a.name.as_deref(), a.email.as_deref())
                .map(Lookup::Found)
                .ok_or_else(|| {
                    DirectoryError(
                        "HTTP 200 with neither an id alone nor a name and an email".into(),
                    )
                })
        }
        // A body is optional here: a bare 404 is the commonest "no".
        404 => Ok(Lookup::Unknown {
            message: parsed()
                .ok()
                .and_then(|a| a.message)
                .map(|m| m.trim().to_owned())
                .filter(|m| !m.is_empty()),
        }),
        other => Err(DirectoryError(format!("HTTP {other}"))),
    }
}

impl UssdService {
    /// The partner customer `phone`'s new session is for, as the host's
    /// directory says (a new customer's name and email go into `records`,
    /// the customer the auth records keep); else the screen that ends the
    /// dial: the phone is not one the host links accounts for (or the
    /// gateway sent none, and there is nothing to ask about), or the
    /// directory could not say in time (the person tries again; nothing was
    /// stored).
    pub(super) async fn customer_of(
        &self,
        directory: &dyn CustomerDirectory,
        phone: &str,
        records: Option<&mut Customer>,
        reply_by: tokio::time::Instant,
    ) -> Result<PartnerCustomer, Screen> {
        if phone.is_empty() {
            return Err(screen(NOT_REGISTERED, true));
        }
        let asked = tokio::time::timeout_at(reply_by, directory.lookup(phone, self.partner()));
        let error = match asked.await {
            Ok(Ok(Lookup::Found(customer))) => {
                if let (Some(c), PartnerCustomer::New { name, email }) = (records, &customer) {
                    c.name = Some(name.clone());
                    c.email = Some(email.clone());
                }
                return Ok(customer);
            }
            Ok(Ok(Lookup::Unknown { message })) => {
                let text = message.as_deref().unwrap_or(NOT_REGISTERED);
                return Err(self.presenter.fit(&[text], &[], true));
            }
            Ok(Err(e)) => e.to_string(),
            Err(_) => "no answer within the reply budget".to_owned(),
        };
        // Without the phone: a log line is not the place for it.
        tracing::warn!(
            error,
            "session start refused: the customer directory did not answer"
        );
        Err(screen(DIRECTORY_DOWN, true))
    }
}

/// The ending screen for a phone the host's directory does not know, when
/// it gave no message of its own.
const NOT_REGISTERED: &str =
    "This number is not registered for bank linking. Please register first.";
/// The ending screen when the host's directory could not say.
const DIRECTORY_DOWN: &str = "Sorry, we could not check your number. Please try again later.";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_id_or_a_name_and_email_is_a_customer() {
        assert_eq!(
            decode(200, br#"{"id":"cus_7"}"#),
            Ok(Lookup::Found(PartnerCustomer::Known { id: "cus_7".into() }))
        );
        // The host's own id beside a name and an email is not the partner's.
        assert_eq!(
            decode(
                200,
                br#"{"id":"user-12","name":" Ada Obi ","email":"ada@example.com"}"#
            ),
            Ok(Lookup::Found(PartnerCustomer::New {
                name: "Ada Obi".into(),
                email: "ada@example.com".into()
            }))
        );
    }

    #[test]
    fn a_404_is_an_unknown_phone_with_the_hosts_message_if_any() {
        assert_eq!(decode(404, b""), Ok(Lookup::Unknown { message: None }));
        assert_eq!(
            decode(404, b"<html>Not Found</html>"),
            Ok(Lookup::Unknown { message: None })
        );
        assert_eq!(
            decode(404, br#"{"message":"Dial *123# to register."}"#),
            Ok(Lookup::Unknown {
                message: Some("Dial *123# to register.".into())
            })
        );
    }

    #[test]
    fn anything_else_is_an_error_that_names_no_customer() {
        for (status, body) in [
            (200, &br#"{}"#[..]),
            (200, br#"{"id":"  "}"#),
            (200, br#"{"name":"Ada","email":"not-an-email"}"#),
            (200, b"<html>"),
            (200, br#"["cus_7"]"#),
            (500, br#"{"id":"cus_7"}"#),
            (302, b""),
            (401, b"unauthorised"),
        ] {
            assert!(decode(status, body).is_err(), "{status} {body:?}");
        }
        let long = format!(r#"{{"id":"{}"}}"#, "x".repeat(MAX_TEXT + 1));
        assert!(decode(200, long.as_bytes()).is_err());
        assert!(decode(200, br#"{"id":"cus\n7"}"#).is_err());
        // What is logged quotes nothing the host sent.
        for body in [
            &br#"{"name":"Ada","email":"ada"}"#[..],
            br#""ada@example.com""#,
            br#"{"id":254711000001}"#,
            br#"{"id":"user-12","name":"Ada","email":"ada"}"#,
        ] {
            let e = decode(200, body).unwrap_err().to_string();
            for quoted in ["Ada", "ada", "254711000001", "user-12"] {
                assert!(!e.contains(quoted), "{e}");
            }
        }
    }

    #[test]
    fn the_request_names_the_phone_and_the_partner() {
        let body: serde_json::Value =
            serde_json::from_slice(&request_body("+254711000001", "mono")).unwrap();
        assert_eq!(
            body,
            serde_json::json!({"type": "customer.lookup", "phone": "+254711000001", "partner": "mono"})
        );
    }

    #[test]
    fn a_directory_needs_an_http_url_and_a_secret() {
        let t = Duration::from_secs(1);
        let refused =
            |url: &str, secret: &str| HttpDirectory::new(url, Secret::new(secret), t).unwrap_err();
        assert_eq!(refused("ftp://host/x", "s"), DirectorySetupError::Url);
        assert_eq!(refused("not a url", "s"), DirectorySetupError::Url);
        assert_eq!(
            refused("https://host/x", " "),
            DirectorySetupError::BlankSecret
        );
        let ok = HttpDirectory::new("https://host/x?token=abc", Secret::new("s"), t).unwrap();
        assert!(!format!("{ok:?}").contains("abc"));
    }
}
