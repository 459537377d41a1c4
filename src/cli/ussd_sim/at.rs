//! Africa's Talking's side of a USSD session: form-encoded POSTs with
//! `sessionId=ATUid_…`, `phoneNumber=+…`, `serviceCode`, `networkCode` and
//! the cumulative `text`, `CON`/`END` replies, and an end-of-session
//! notification.

use super::{Handset, UssdSimArgs};
use crate::cli::BoxError;
use std::time::Instant;

pub(super) struct Phone {
    client: reqwest::Client,
    args: UssdSimArgs,
    session: String,
    text: Option<String>,
    hops: u32,
    started: Instant,
    last: String,
}

impl Phone {
    pub(super) fn new(args: UssdSimArgs) -> Phone {
        Phone {
            client: reqwest::Client::new(),
            args,
            session: String::new(),
            text: None,
            hops: 0,
            started: Instant::now(),
            last: String::new(),
        }
    }

    /// The number dialling (the `--phone` default is per gateway).
    fn phone(&self) -> &str {
        self.args.phone.as_deref().unwrap_or("+254711000001")
    }
}

impl Handset for Phone {
    fn dial(&mut self) {
        self.session = format!("ATUid_{}", uuid::Uuid::new_v4().simple());
        self.text = None;
        self.hops = 0;
        self.started = Instant::now();
    }

    /// Sends one hop: `input` is appended to the cumulative text.
    async fn hop(&mut self, input: Option<&str>) -> Result<(bool, String), BoxError> {
        let text = match (&self.text, input) {
            (None, _) => String::new(),
            (Some(prev), Some(i)) if prev.is_empty() => i.to_owned(),
            (Some(prev), Some(i)) => format!("{prev}*{i}"),
            (Some(prev), None) => prev.clone(),
        };
        let form = [
            ("sessionId", self.session.as_str()),
            ("serviceCode", self.args.service_code.as_str()),
            ("phoneNumber", self.phone()),
            ("networkCode", self.args.network_code.as_str()),
            ("text", text.as_str()),
        ];
        let body = serde_urlencoded::to_string(form)?;
        let reply = self
            .client
            .post(&self.args.url)
            .header("content-type", "application/x-www-form-urlencoded")
            .body(body)
            .send()
            .await?;
        let status = reply.status();
        let body = reply.text().await?;
        self.text = Some(text);
        self.hops += 1;
        self.last = body.clone();
        if !status.is_success() {
            return Ok((
                true,
                format!("(HTTP {status}: the gateway would end the session)"),
            ));
        }
        match (body.strip_prefix("CON "), body.strip_prefix("END ")) {
            (Some(screen), _) => Ok((false, screen.to_owned())),
            (_, Some(screen)) => Ok((true, screen.to_owned())),
            _ => Ok((
                true,
                format!("(no CON/END prefix: the gateway would end the session)\n{body}"),
            )),
        }
    }

    /// AT's end-of-session callback. `input` is masked, as AT's own logs should be.
    async fn notify(&mut self, status: &str) {
        let url = self
            .args
            .events_url
            .clone()
            .unwrap_or_else(|| events_url(&self.args.url));
        let duration = self.started.elapsed().as_millis().to_string();
        let hops = self.hops.to_string();
        let text = self.text.clone().unwrap_or_default();
        let form = [
            ("sessionId", self.session.as_str()),
            ("serviceCode", self.args.service_code.as_str()),
            ("phoneNumber", self.phone()),
            ("networkCode", self.args.network_code.as_str()),
            ("status", status),
            ("durationInMillis", duration.as_str()),
            ("hopsCount", hops.as_str()),
            ("input", text.as_str()),
            ("lastAppResponse", self.last.as_str()),
            ("cost", "KES 0.00"),
        ];
        if let Ok(body) = serde_urlencoded::to_string(form) {
            let _ = self
                .client
                .post(url)
                .header("content-type", "application/x-www-form-urlencoded")
                .body(body)
                .send()
                .await;
        }
    }
}

/// The notification URL beside a callback URL: `/events` after its path,
/// its query (the token) kept.
fn events_url(url: &str) -> String {
    match url.split_once('?') {
        Some((path, query)) => format!("{}/events?{query}", path.trim_end_matches('/')),
        None => format!("{}/events", url.trim_end_matches('/')),
    }
}

/// `url` with `token` added when it carries none.
pub(super) fn with_token(url: &str, token: Option<&str>) -> String {
    let Some(token) = token.filter(|t| !t.is_empty()) else {
        return url.to_owned();
    };
    if url.contains("token=") {
        return url.to_owned();
    }
    let sep = if url.contains('?') { '&' } else { '?' };
    let encoded: String = serde_urlencoded::to_string([("token", token)]).unwrap_or_default();
    format!("{url}{sep}{encoded}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_token_rides_along_to_the_events_url() {
        let url = with_token("http://h/ussd", Some("t0k"));
        assert_eq!(url, "http://h/ussd?token=t0k");
        assert_eq!(events_url(&url), "http://h/ussd/events?token=t0k");
        assert_eq!(
            with_token("http://h/ussd?token=a", Some("b")),
            "http://h/ussd?token=a"
        );
        assert_eq!(with_token("http://h/ussd", None), "http://h/ussd");
    }
}
