//! `connectflow ussd-sim`: a terminal phone. By default it speaks Africa's
//! Talking's wire format exactly to a callback URL (`at.rs`); with
//! `--mtn-ng-listen` it plays MTN Nigeria's USSD gateway instead, which
//! `connectflow serve --mtn-ng` dials (`mtn.rs`). Either way the person's
//! side is this file: screens printed, answers read from the terminal or a
//! script.

mod at;
mod mtn;

use super::BoxError;
use std::io::{BufRead, IsTerminal, Write};
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

/// Arguments of `connectflow ussd-sim`.
#[derive(clap::Args)]
#[command(after_help = "Environment:
  CONNECTFLOW_GATEWAY_TOKEN    sent as ?token= when the URL carries none

Interactive and script inputs: one answer per line; !redial hangs up and dials again;
!wait SECS waits (a person thinking: past a session TTL, through heartbeats).")]
pub(crate) struct UssdSimArgs {
    /// The USSD callback URL, as `connectflow serve` prints it (with its
    /// `?token=`).
    #[arg(long, default_value = "http://127.0.0.1:8080/ussd")]
    url: String,
    /// Where end-of-session notifications go (default: URL + `/events`).
    #[arg(long)]
    events_url: Option<String>,
    /// Play MTN Nigeria's USSD gateway instead of calling a URL: listen on
    /// ADDR (HOST:PORT; port 0 picks one, printed as `listening on
    /// HOST:PORT`) for `connectflow serve --mtn-ng HOST:PORT`, accept its
    /// login, and send the session over that connection.
    #[arg(long, value_name = "ADDR", conflicts_with_all = ["url", "events_url"])]
    mtn_ng_listen: Option<String>,
    /// The phone number dialling (default +254711000001; +2348031234567
    /// with --mtn-ng-listen).
    #[arg(long)]
    phone: Option<String>,
    /// The code dialled.
    #[arg(long, default_value = "*384*123#")]
    service_code: String,
    /// MCC+MNC (99999 is AT's sandbox network; MTN sends none).
    #[arg(long, default_value = "99999", conflicts_with = "mtn_ng_listen")]
    network_code: String,
    /// A file of inputs, one per line (`!redial` hangs up and dials again,
    /// `!wait SECS` waits, `#` starts a comment). Without it, inputs come
    /// from stdin.
    #[arg(long)]
    script: Option<PathBuf>,
}

/// The gateway side of a session, as a phone sees it.
trait Handset {
    /// Starts a new session (the next hop is its dial).
    fn dial(&mut self);
    /// One hop: the dial (`None`) or an answer. Whether the reply ends the
    /// session, and its text.
    async fn hop(&mut self, input: Option<&str>) -> Result<(bool, String), BoxError>;
    /// The session is over: `Success` (its last screen ended it) or
    /// `Incomplete` (the person hung up or walked away).
    async fn notify(&mut self, status: &str);
}

pub(crate) async fn run(mut args: UssdSimArgs) -> Result<ExitCode, BoxError> {
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
    let code = args.service_code.clone();
    match args.mtn_ng_listen.clone() {
        Some(addr) => {
            let phone = args.phone.as_deref().unwrap_or("+2348031234567");
            let gateway = mtn::Gateway::listen(&addr, phone, &code).await?;
            converse(gateway, script, interactive, &code).await
        }
        None => {
            let token = std::env::var("CONNECTFLOW_GATEWAY_TOKEN").ok();
            args.url = at::with_token(&args.url, token.as_deref());
            converse(at::Phone::new(args), script, interactive, &code).await
        }
    }
}

/// The person's side: each screen printed, each answer read, until a
/// screen ends the session (success) or the answers run out (failure).
async fn converse(
    mut phone: impl Handset,
    script: Option<Vec<String>>,
    interactive: bool,
    code: &str,
) -> Result<ExitCode, BoxError> {
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
        let Some(input) = next_answer(&mut next_input).await? else {
            // The person walked away: the gateway times the session out.
            phone.notify("Incomplete").await;
            eprintln!("ussd-sim: the input ended mid-session (the last screen asked for more); the session was reported incomplete");
            break;
        };
        if input.trim() == "!redial" {
            phone.notify("Incomplete").await;
            phone.dial();
            println!("(dialled {code} again)");
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

/// The person's next line, after any `!wait SECS` lines (each waited
/// out); `None` when the input has ended.
async fn next_answer(
    next_input: &mut (impl FnMut() -> Option<String> + Send),
) -> Result<Option<String>, BoxError> {
    loop {
        let Some(input) = tokio::task::block_in_place(&mut *next_input) else {
            return Ok(None);
        };
        let Some(secs) = input.trim().strip_prefix("!wait ") else {
            return Ok(Some(input));
        };
        let wait = secs
            .trim()
            .parse()
            .ok()
            .and_then(|s| Duration::try_from_secs_f64(s).ok())
            .ok_or_else(|| format!("!wait {secs}: not a number of seconds"))?;
        tokio::time::sleep(wait).await;
    }
}
