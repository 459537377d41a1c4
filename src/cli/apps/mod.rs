//! `connectflow apps`: the partner admin calls from a terminal — log in to
//! the partner API with the account's email and password, then create,
//! list, update, delete and switch to live the partner's apps.
//!
//! The paths are connectflow's **unconfirmed** choice
//! (`connectflow::dialect::mono::admin`). Without `--base-url` each command
//! runs against a fresh embedded sandbox, logged in as its partner account:
//! a demo whose apps end with the command. Run `connectflow sandbox` and
//! pass its URL to keep them between commands.

mod token_file;

use super::BoxError;
use connectflow::admin::{AccessToken, AdminClient, AdminError, App, AppPatch, NewApp};
use connectflow::form::Secret;
use connectflow::sandbox::{Sandbox, PARTNER_EMAIL, PARTNER_PASSWORD};
use std::io::{BufRead, IsTerminal, Write};
use std::process::ExitCode;

/// Arguments of `connectflow apps`.
#[derive(clap::Args)]
#[command(after_help = "\
Exit codes: 0 done; 1 the partner refused (wrong password, expired token,
another partner's app, unknown id, invalid field) or could not be reached;
2 usage (bad flags, not logged in); 5 could not start.

Environment:
  MONO_PARTNER_PASSWORD     the password for `apps login` (else read from stdin)
  MONO_PARTNER_TOKEN        the access token, when no --token (else the stored one)
  CONNECTFLOW_CONFIG_DIR    where `apps login` stores the token
                            [default: the user's config dir, e.g. ~/.config/connectflow]

The partner admin paths are unconfirmed (POST /v1/partners/login,
GET/POST /v1/partners/apps, PATCH/DELETE /v1/partners/apps?id=ID); see the README.")]
pub(crate) struct AppsArgs {
    /// The partner API's base URL (e.g. https://api.withmono.com). Without
    /// it, a fresh embedded sandbox serves this one command.
    #[arg(long, global = true)]
    base_url: Option<String>,
    /// The access token from `apps login --print` (else MONO_PARTNER_TOKEN,
    /// else the one `apps login` stored).
    #[arg(
        long,
        global = true,
        env = "MONO_PARTNER_TOKEN",
        hide_env_values = true
    )]
    token: Option<String>,
    /// Print apps as JSON (one object, or an array for `list`).
    #[arg(long, global = true)]
    json: bool,
    #[command(subcommand)]
    command: AppsCommand,
}

#[derive(clap::Subcommand)]
enum AppsCommand {
    /// Log in with the partner account's email and password; store the token.
    Login {
        /// The partner account's email (the sandbox's own without --base-url).
        #[arg(long)]
        email: Option<String>,
        /// Print the token to stdout instead of storing it.
        #[arg(long)]
        print: bool,
    },
    /// Create an app, in sandbox mode.
    Create {
        /// The app's name.
        #[arg(long)]
        name: String,
        /// The name shown to people linking.
        #[arg(long)]
        display_name: Option<String>,
        /// An http(s) URL of the app's icon.
        #[arg(long)]
        icon_url: Option<String>,
    },
    /// List the partner's apps.
    List,
    /// Change an app's name, display name or icon URL.
    Update {
        /// The app id.
        id: String,
        /// A new name.
        #[arg(long)]
        name: Option<String>,
        /// A new display name ("" clears it).
        #[arg(long)]
        display_name: Option<String>,
        /// A new icon URL ("" clears it).
        #[arg(long)]
        icon_url: Option<String>,
    },
    /// Delete an app.
    Delete {
        /// The app id.
        id: String,
    },
    /// Switch an app to live.
    Live {
        /// The app id.
        id: String,
    },
}

/// Where the calls go and with which token.
struct Session {
    client: AdminClient,
    sandbox: Option<Sandbox>,
}

pub(crate) async fn run(args: AppsArgs) -> Result<ExitCode, BoxError> {
    let (client, sandbox) = match &args.base_url {
        Some(url) => (AdminClient::new(url.as_str())?, None),
        None => {
            let sandbox = Sandbox::start_local().await?;
            (AdminClient::new(sandbox.url())?, Some(sandbox))
        }
    };
    let session = Session { client, sandbox };
    let code = match run_with(&args, &session).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(Failure::Refused(e)) => {
            eprintln!("connectflow apps: {}", explain(&e));
            ExitCode::from(1)
        }
        Err(Failure::Usage(message)) => {
            eprintln!("connectflow apps: {message}");
            ExitCode::from(2)
        }
        Err(Failure::Other(e)) => {
            if let Some(sandbox) = session.sandbox {
                sandbox.shutdown().await;
            }
            return Err(e);
        }
    };
    if let Some(sandbox) = session.sandbox {
        sandbox.shutdown().await;
    }
    Ok(code)
}

/// How a command ends badly, by exit code.
enum Failure {
    /// The partner said no (or could not be reached): exit 1.
    Refused(AdminError),
    /// The command was used wrongly: exit 2.
    Usage(String),
    /// Anything else (a file, the runtime): exit 5 (as every command).
    Other(BoxError),
}

impl From<AdminError> for Failure {
    fn from(e: AdminError) -> Self {
        Failure::Refused(e)
    }
}

impl From<BoxError> for Failure {
    fn from(e: BoxError) -> Self {
        Failure::Other(e)
    }
}

/// The error with what to do about it.
fn explain(e: &AdminError) -> String {
    match e {
        AdminError::TokenExpired | AdminError::NotAuthenticated(_) => {
            format!("{e}: log in again with `connectflow apps login`")
        }
        other => other.to_string(),
    }
}

async fn run_with(args: &AppsArgs, session: &Session) -> Result<(), Failure> {
    let client = &session.client;
    if let AppsCommand::Login { email, print } = &args.command {
        return login(args, session, email.as_deref(), *print).await;
    }
    let token = token(args, session).await?;
    match &args.command {
        AppsCommand::Login { .. } => Ok(()),
        AppsCommand::Create {
            name,
            display_name,
            icon_url,
        } => {
            let new = NewApp {
                name: name.clone(),
                display_name: display_name.clone(),
                icon_url: icon_url.clone(),
            };
            show(args.json, &client.create_app(&token, &new).await?)
        }
        AppsCommand::List => {
            let apps = client.list_apps(&token).await?;
            let mut out = std::io::stdout().lock();
            if args.json {
                writeln!(out, "{}", serde_json::to_string(&apps).map_err(boxed)?).map_err(boxed)?;
            } else if apps.is_empty() {
                writeln!(out, "no apps").map_err(boxed)?;
            } else {
                for app in &apps {
                    writeln!(out, "{}", line(app)).map_err(boxed)?;
                }
            }
            Ok(())
        }
        AppsCommand::Update {
            id,
            name,
            display_name,
            icon_url,
        } => {
            let patch = AppPatch {
                name: name.clone(),
                display_name: display_name.clone(),
                icon_url: icon_url.clone(),
                live: None,
            };
            if patch.is_empty() {
                return Err(Failure::Usage(
                    "nothing to change: pass --name, --display-name or --icon-url (`apps live ID` switches to live)".into(),
                ));
            }
            show(args.json, &client.update_app(&token, id, &patch).await?)
        }
        AppsCommand::Delete { id } => {
            client.delete_app(&token, id).await?;
            println!("deleted {id}");
            Ok(())
        }
        AppsCommand::Live { id } => show(args.json, &client.go_live(&token, id).await?),
    }
}

fn boxed(e: impl std::error::Error + Send + Sync + 'static) -> Failure {
    Failure::Other(Box::new(e))
}

/// `apps login`: the password from MONO_PARTNER_PASSWORD, else stdin (a
/// hidden prompt at a terminal); never a flag, which `ps` would show.
async fn login(
    args: &AppsArgs,
    session: &Session,
    email: Option<&str>,
    print: bool,
) -> Result<(), Failure> {
    let embedded = session.sandbox.is_some();
    let email = match (email, embedded) {
        (Some(e), _) => e.to_owned(),
        (None, true) => PARTNER_EMAIL.to_owned(),
        (None, false) => return Err(Failure::Usage("--base-url needs --email".into())),
    };
    let password = match std::env::var("MONO_PARTNER_PASSWORD") {
        Ok(p) if !p.is_empty() => Secret::new(p),
        // The embedded sandbox's own account needs nobody to type its
        // published password.
        _ if embedded && email == PARTNER_EMAIL => Secret::new(PARTNER_PASSWORD),
        _ => read_password(&email).await?,
    };
    let token = session.client.login(&email, &password).await?;
    if print {
        println!("{}", token.token.expose());
        return Ok(());
    }
    let expiry = token
        .expires_at
        .map(|t| format!(", expires {}", connectflow::records::time::iso(t.0)))
        .unwrap_or_default();
    if embedded {
        // A token from a sandbox that ends with this command would only
        // confuse the next one.
        println!("logged in as {email}{expiry} (embedded sandbox: nothing stored)");
        return Ok(());
    }
    let base_url = args.base_url.clone().unwrap_or_default();
    let path = token_file::save(&base_url, &token)?;
    println!(
        "logged in as {email}{expiry}; token stored in {}",
        path.display()
    );
    Ok(())
}

async fn read_password(email: &str) -> Result<Secret, Failure> {
    let prompt = format!("password for {email}: ");
    let read = tokio::task::spawn_blocking(move || -> std::io::Result<String> {
        if std::io::stdin().is_terminal() {
            rpassword::prompt_password(prompt)
        } else {
            let mut line = String::new();
            std::io::stdin().lock().read_line(&mut line)?;
            Ok(line.trim_end_matches(['\r', '\n']).to_owned())
        }
    })
    .await
    .map_err(boxed)?
    .map_err(boxed)?;
    if read.is_empty() {
        return Err(Failure::Usage(
            "no password: set MONO_PARTNER_PASSWORD or type it on stdin".into(),
        ));
    }
    Ok(Secret::new(read))
}

/// The token to call with: --token / MONO_PARTNER_TOKEN, else the stored
/// one for this base URL; the embedded sandbox logs its own partner in.
async fn token(args: &AppsArgs, session: &Session) -> Result<AccessToken, Failure> {
    if session.sandbox.is_some() {
        eprintln!(
            "connectflow apps: embedded sandbox, logged in as {PARTNER_EMAIL}; its apps end with this command (run `connectflow sandbox` and pass --base-url to keep them)"
        );
        let password = Secret::new(PARTNER_PASSWORD);
        return Ok(session.client.login(PARTNER_EMAIL, &password).await?);
    }
    if let Some(token) = args.token.as_deref().filter(|t| !t.is_empty()) {
        return Ok(AccessToken::new(token, None));
    }
    let base_url = session.client.base_url();
    match token_file::load()? {
        Some(saved) if saved.base_url.trim_end_matches('/') == base_url => Ok(saved.token),
        Some(saved) => Err(Failure::Usage(format!(
            "the stored token is for {}, not {base_url}: log in with `connectflow apps login --base-url {base_url} --email ...`",
            saved.base_url
        ))),
        None => Err(Failure::Usage(format!(
            "not logged in: run `connectflow apps login --base-url {base_url} --email ...` (or pass --token / MONO_PARTNER_TOKEN)"
        ))),
    }
}

/// One app: JSON, or a line for people.
fn show(json: bool, app: &App) -> Result<(), Failure> {
    let text = if json {
        serde_json::to_string(app).map_err(boxed)?
    } else {
        line(app)
    };
    println!("{text}");
    Ok(())
}

fn line(app: &App) -> String {
    let mode = if app.live { "live" } else { "sandbox" };
    let mut s = format!("{}  {}  [{mode}]", app.id, app.name);
    if let Some(d) = &app.display_name {
        s.push_str(&format!("  display: {d}"));
    }
    if let Some(u) = &app.icon_url {
        s.push_str(&format!("  icon: {u}"));
    }
    s
}
