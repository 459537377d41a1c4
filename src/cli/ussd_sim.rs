//! `connectflow ussd-sim`: a terminal phone that speaks Africa's Talking's
//! wire format exactly: form-encoded POSTs with `sessionId=ATUid_…`,
//! `phoneNumber=+…`, `serviceCode`, `networkCode` and the cumulative `text`,
//! `CON`/`END` replies, and an end-of-session notification.

use super::BoxError;
use std::io::{BufRead, IsTerminal, Write};
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Instant;

/// Arguments of `connectflow ussd-sim`.
#[derive(clap::Args)]
#[command(after_help = "Environment:
  CONNECTFLOW_GATEWAY_TOKEN    sent as ?token= when the URL carries none

Interactive and script inputs: one answer per line; !redial hangs up and dials again.")]
pub(crate) struct UssdSimArgs {
    /// The USSD callback URL, as `connectflow serve` prints it (with its
    /// `?token=`).
    #[arg(long, default_value = "http://127.0.0.1:8080/ussd")]
    url: String,
    /// Where end-of-session notifications go (default: URL + `/events`).
    #[arg(long)]
    events_url: Option<String>,
    /// The phone number dialling.
    #[arg(long, default_value = "+254711000001")]
    phone: String,
    /// The code dialled.
    #[arg(long, default_value = "*384*123#")]
    service_code: String,
    /// MCC+MNC (99999 is AT's sandbox network).
    #[arg(long, default_value = "99999")]
    network_code: String,
    /// A file of inputs, one per line (`!redial` hangs up and dials again,
    /// `#` starts a comment). Without it, inputs come from stdin.
    #[arg(long)]
    script: Option<PathBuf>,
}

struct Phone {
    client: reqwest::Client,
    args: UssdSimArgs,
    session: String,
    text: Option<String>,
    hops: u32,
    started: Instant,
    last: String,
}

impl Phone {
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
            ("phoneNumber", self.args.phone.as_str()),
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
    async fn notify(&self, status: &str) {
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
            ("phoneNumber", self.args.phone.as_str()),
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
fn with_token(url: &str, token: Option<&str>) -> String {
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

pub(crate) async fn run(mut args: UssdSimArgs) -> Result<ExitCode, BoxError> {
    let token = std::env::var("CONNECTFLOW_GATEWAY_TOKEN").ok();
    args.url = with_token(&args.url, token.as_deref());
    let script: Option<Vec<String>> = match &args.script {
        Some(path) => Some(
            std::fs::read_to_string(path)?
                .lines()
                .map(str::to_owned)
                .filter(|l| !l.trim_start().starts_with('#'))
                .collect(),
        ),
        None => None,
    };
    let interactive = script.is_none() && std::io::stdin().is_terminal();
    let mut phone = Phone {
        client: reqwest::Client::new(),
        args,
        session: String::new(),
        text: None,
        hops: 0,
        started: Instant::now(),
        last: String::new(),
    };
    let mut inputs = script.map(|s| s.into_iter());
    let mut next_input = move || -> Option<String> {
        if let Some(lines) = inputs.as_mut() {
            return lines.next();
        }
        if interactive {
            print!("> ");
            let _ = std::io::stdout().flush();
        }
        let mut line = String::new();
        match std::io::stdin().lock().read_line(&mut line) {
            Ok(0) | Err(_) => None,
            Ok(_) => Some(line.trim_end_matches(['\r', '\n']).to_owned()),
        }
    };
    phone.dial();
    let mut ended_ok = false;
    let (mut end, mut screen) = phone.hop(None).await?;
    loop {
        println!("{}\n{}", if end { "END" } else { "CON" }, screen);
        println!("---");
        if end {
            phone.notify("Success").await;
            ended_ok = true;
            break;
        }
        let Some(input) = tokio::task::block_in_place(&mut next_input) else {
            // The person walked away: the gateway times the session out.
            phone.notify("Incomplete").await;
            eprintln!("ussd-sim: the input ended mid-session (the last screen asked for more); the session was reported incomplete");
            break;
        };
        if input.trim() == "!redial" {
            phone.notify("Incomplete").await;
            phone.dial();
            println!("(dialled {} again)", phone.args.service_code);
            (end, screen) = phone.hop(None).await?;
            continue;
        }
        if !interactive && !input.is_empty() {
            println!("> {input}");
        }
        (end, screen) = phone.hop(Some(&input)).await?;
    }
    Ok(if ended_ok {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
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
