//! Africa's Talking's SMS API: a pure codec ([`encode`], [`decode`]) and a
//! [`Notifier`](super::Notifier) that sends through it.
//!
//! `POST {base}/version1/messaging`, form-encoded `username`, `to`,
//! `message` and optionally `from` (a sender id), with the `apiKey` header
//! and `Accept: application/json`. The answer (`201`) lists each recipient
//! with a `statusCode`: 100 (processed), 101 (sent) and 102 (queued) are
//! accepted; anything else (401 risk hold, 403 invalid number, 405
//! insufficient balance, ...) is a refusal.

use super::{NotifyError, Sms};
use crate::form::Secret;
use crate::store::BoxFuture;
use serde::Deserialize;
use std::time::Duration;

/// The live API.
pub const LIVE_URL: &str = "https://api.africastalking.com";
/// The sandbox API.
pub const SANDBOX_URL: &str = "https://api.sandbox.africastalking.com";

/// An Africa's Talking account.
#[derive(Debug, Clone)]
pub struct AtSmsConfig {
    /// The application's username (`sandbox` in the sandbox).
    pub username: String,
    /// The API key.
    pub api_key: Secret,
    /// A registered sender id or short code, if any.
    pub from: Option<String>,
    /// [`LIVE_URL`], [`SANDBOX_URL`], or a stand-in.
    pub base_url: String,
}

/// One request to make.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AtRequest {
    /// Where to `POST`.
    pub url: String,
    /// The `apiKey` header's value.
    pub api_key: String,
    /// The form-encoded body.
    pub body: String,
}

/// The request that sends `sms` from `config`'s account.
pub fn encode(config: &AtSmsConfig, sms: &Sms) -> AtRequest {
    let mut form = vec![
        ("username", config.username.as_str()),
        ("to", sms.to.as_str()),
        ("message", sms.text.as_str()),
    ];
    if let Some(from) = &config.from {
        form.push(("from", from.as_str()));
    }
    AtRequest {
        url: format!(
            "{}/version1/messaging",
            config.base_url.trim_end_matches('/')
        ),
        api_key: config.api_key.expose().to_owned(),
        body: serde_urlencoded::to_string(form).unwrap_or_default(),
    }
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct Answer {
    #[serde(rename = "SMSMessageData")]
    data: Data,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct Data {
    #[serde(default)]
    message: String,
    #[serde(default)]
    recipients: Vec<Recipient>,
}

#[derive(Deserialize)]
struct Recipient {
    #[serde(rename = "statusCode")]
    status_code: u32,
    #[serde(default)]
    status: String,
}

/// What the API's answer means: `Ok` when the message was accepted for its
/// recipient.
pub fn decode(status: u16, body: &[u8]) -> Result<(), NotifyError> {
    if !(200..300).contains(&status) {
        let text = String::from_utf8_lossy(body);
        let text: String = text.chars().take(200).collect();
        return Err(NotifyError::Refused(format!("HTTP {status}: {text}")));
    }
    let answer: Answer = serde_json::from_slice(body)
        .map_err(|e| NotifyError::Refused(format!("unreadable answer: {e}")))?;
    match answer.data.recipients.first() {
        Some(r) if matches!(r.status_code, 100..=102) => Ok(()),
        Some(r) => Err(NotifyError::Refused(format!(
            "{} ({})",
            r.status, r.status_code
        ))),
        None => Err(NotifyError::Refused(answer.data.message)),
    }
}

/// Sends through Africa's Talking.
#[derive(Debug, Clone)]
pub struct AtSmsNotifier {
    config: AtSmsConfig,
    http: reqwest::Client,
}

impl AtSmsNotifier {
    /// A notifier for `config`'s account.
    pub fn new(config: AtSmsConfig) -> AtSmsNotifier {
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(10))
            .build()
            .unwrap_or_default();
        AtSmsNotifier { config, http }
    }
}

impl super::Notifier for AtSmsNotifier {
    fn send<'a>(&'a self, sms: &'a Sms) -> BoxFuture<'a, Result<(), NotifyError>> {
        Box::pin(async move {
            let request = encode(&self.config, sms);
            let response = self
                .http
                .post(&request.url)
                .header("apiKey", request.api_key)
                .header("Accept", "application/json")
                .header("Content-Type", "application/x-www-form-urlencoded")
                .body(request.body)
                .send()
                .await
                .map_err(|e| NotifyError::Transport(e.without_url().to_string()))?;
            let status = response.status().as_u16();
            let body = response
                .bytes()
                .await
                .map_err(|e| NotifyError::Transport(e.without_url().to_string()))?;
            decode(status, &body)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config() -> AtSmsConfig {
        AtSmsConfig {
            username: "sandbox".into(),
            api_key: Secret::new("atsk_test"),
            from: Some("BANKLINK".into()),
            base_url: SANDBOX_URL.into(),
        }
    }

    #[test]
    fn a_message_is_form_encoded_with_the_key_in_a_header() {
        let sms = Sms {
            to: "+254711000001".into(),
            text: "Open http://x/link?token=lt_a_b & go".into(),
        };
        let r = encode(&config(), &sms);
        assert_eq!(
            r.url,
            "https://api.sandbox.africastalking.com/version1/messaging"
        );
        assert_eq!(r.api_key, "atsk_test");
        assert_eq!(
            r.body,
            "username=sandbox&to=%2B254711000001&message=Open+http%3A%2F%2Fx%2Flink%3Ftoken%3Dlt_a_b+%26+go&from=BANKLINK"
        );
        assert!(!r.body.contains("atsk_test"));
    }

    #[test]
    fn accepted_refused_and_garbled_answers() {
        let sent = br#"{"SMSMessageData":{"Message":"Sent to 1/1 Total Cost: KES 0.8000","Recipients":[{"statusCode":101,"number":"+254711000001","status":"Success","cost":"KES 0.8000","messageId":"ATPid_1"}]}}"#;
        assert!(decode(201, sent).is_ok());
        let poor = br#"{"SMSMessageData":{"Message":"Sent to 0/1","Recipients":[{"statusCode":405,"number":"+254711000001","status":"InsufficientBalance","cost":"0","messageId":"None"}]}}"#;
        let e = decode(201, poor).unwrap_err().to_string();
        assert!(e.contains("InsufficientBalance (405)"), "{e}");
        assert!(decode(
            201,
            br#"{"SMSMessageData":{"Message":"InvalidSenderId","Recipients":[]}}"#
        )
        .is_err());
        assert!(decode(401, b"The supplied authentication is invalid").is_err());
        assert!(decode(201, b"<html>").is_err());
    }
}
