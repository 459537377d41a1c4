//! The terminal channel: shows a flow's view at a terminal and turns what the
//! person types into a `UserAction`. Scriptable: when stdin is not a terminal,
//! it reads one answer per line, in prompt order.

use connectflow::flow::{AuthMethodKind, FormPurpose, UserAction, View};
use connectflow::form::{FieldKind, Values};
use std::io::{self, BufRead, IsTerminal, Write};

/// Where screens go and answers come from.
pub(crate) struct Terminal {
    interactive: bool,
    /// In `--json` mode stdout carries only JSON lines; screens go to stderr.
    screens_to_stderr: bool,
    /// Banks the customer linked before, most recent first: listed first.
    linked_before: Vec<String>,
}

/// Lines starting with `:` are commands, valid at any prompt.
const HELP: &str = "(commands: :back, :switch <method>, :retry, :exit, :help)";

impl Terminal {
    pub(crate) fn new(json: bool) -> Terminal {
        Terminal {
            interactive: io::stdin().is_terminal(),
            screens_to_stderr: json,
            linked_before: Vec::new(),
        }
    }

    /// The same terminal listing the banks in `ids` (institution ids, most
    /// recently linked first) at the top of the bank list, marked.
    pub(crate) fn linked_before(mut self, ids: Vec<String>) -> Terminal {
        self.linked_before = ids;
        self
    }

    pub(crate) fn say(&self, text: &str) {
        // A closed stdout/stderr must not kill a flow mid-login; drop the text.
        if self.screens_to_stderr {
            let _ = writeln!(io::stderr().lock(), "{text}");
        } else {
            let _ = writeln!(io::stdout().lock(), "{text}");
        }
    }

    /// Asks one question. `None` at end of input.
    pub(crate) async fn ask(&self, prompt: &str, secret: bool) -> io::Result<Option<String>> {
        let prompt = format!("{prompt}: ");
        if self.interactive && secret {
            // Hidden input straight from the TTY.
            let answer = tokio::task::spawn_blocking(move || rpassword::prompt_password(prompt))
                .await
                .map_err(io::Error::other)?;
            return match answer {
                Ok(a) => Ok(Some(a)),
                Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => Ok(None),
                Err(e) => Err(e),
            };
        }
        if self.screens_to_stderr {
            let mut err = io::stderr().lock();
            let _ = write!(err, "{prompt}");
            let _ = err.flush();
        } else {
            let mut out = io::stdout().lock();
            let _ = write!(out, "{prompt}");
            let _ = out.flush();
        }
        let line = tokio::task::spawn_blocking(|| {
            let mut line = String::new();
            io::stdin().lock().read_line(&mut line).map(|n| (n, line))
        })
        .await
        .map_err(io::Error::other)??;
        let (read, line) = line;
        if read == 0 {
            return Ok(None);
        }
        let line = line.trim_end_matches(['\r', '\n']).to_owned();
        if !self.interactive {
            // Keep scripted transcripts readable; never echo a secret.
            self.say(if secret { "***" } else { &line });
        }
        if line.trim() == ":help" {
            // Never a username: the list, then the same question again.
            self.say(HELP_LONG);
            return Box::pin(self.ask(prompt.trim_end_matches(": "), secret)).await;
        }
        Ok(Some(line))
    }

    /// Shows `view` and returns what the person wants; `None` at end of input.
    pub(crate) async fn next_action(
        &self,
        view: &View<'_>,
        method: Option<&AuthMethodKind>,
    ) -> io::Result<Option<UserAction>> {
        match view {
            View::ChooseInstitution {
                institutions,
                notice,
            } => {
                if let Some(n) = notice {
                    self.say(&format!("! {}", n.message()));
                }
                self.say("Choose your bank:");
                // A returning customer's banks first, most recent first; the
                // numbers typed refer to this order.
                let rank = |id: &str| self.linked_before.iter().position(|l| l == id);
                let mut listed: Vec<&connectflow::flow::Institution> =
                    institutions.iter().collect();
                listed.sort_by_key(|i| rank(&i.id).unwrap_or(usize::MAX));
                for (i, inst) in listed.iter().enumerate() {
                    let mark = if rank(&inst.id).is_some() {
                        "  (linked before)"
                    } else {
                        ""
                    };
                    self.say(&format!("  {}. {} [{}]{mark}", i + 1, inst.name, inst.id));
                }
                let institutions = listed;
                loop {
                    let Some(answer) = self.ask("Bank (number or id)", false).await? else {
                        return Ok(None);
                    };
                    if let Some(action) = command(&answer) {
                        return Ok(Some(action));
                    }
                    let found = answer
                        .trim()
                        .parse::<usize>()
                        .ok()
                        .and_then(|n| institutions.get(n.wrapping_sub(1)))
                        .or_else(|| institutions.iter().find(|i| i.id == answer.trim()));
                    let Some(inst) = found else {
                        self.say("Not a bank on the list.");
                        continue;
                    };
                    let methods = inst.method_kinds();
                    let chosen = match method {
                        Some(m) if methods.contains(m) => Some(m.clone()),
                        _ if methods.len() == 1 => Some(methods[0].clone()),
                        _ => match self
                            .pick(
                                "Log in with",
                                methods.iter().map(|m| m.label().to_owned()).collect(),
                            )
                            .await?
                        {
                            None => None,
                            Some(Picked::Index(i)) => Some(methods[i].clone()),
                            // `:back` here is the bank list again.
                            Some(Picked::Command(UserAction::Back)) => continue,
                            Some(Picked::Command(action)) => return Ok(Some(action)),
                        },
                    };
                    return Ok(chosen.map(|m| UserAction::ChooseInstitution {
                        id: inst.id.clone(),
                        auth_method: Some(m),
                    }));
                }
            }
            View::Form(f) => {
                self.say(&format!("{} — {}", f.institution.name, f.form.title));
                if let Some(n) = f.notice {
                    self.say(&format!("! {}", n.message()));
                }
                for e in f.errors {
                    self.say(&format!("! {e}"));
                }
                if f.purpose == FormPurpose::Credentials && self.interactive {
                    let others: Vec<&str> = f.other_methods().map(AuthMethodKind::as_str).collect();
                    if !others.is_empty() {
                        self.say(&format!(
                            "  other ways to log in: {}  {HELP}",
                            others.join(", ")
                        ));
                    }
                }
                let mut values = Values::new();
                let fields = &f.form.fields;
                let mut i = 0;
                while i < fields.len() {
                    let field = &fields[i];
                    let mut prompt = field.label().to_owned();
                    if field.kind == FieldKind::Captcha {
                        // A terminal cannot show it: a page that can, by path.
                        let image = field.value.as_deref().unwrap_or("");
                        match write_captcha(image) {
                            Ok(path) => self.say(&format!(
                                "  captcha: open {} to see the code",
                                path.display()
                            )),
                            Err(e) => self.say(&format!("  captcha: could not be saved ({e})")),
                        }
                    }
                    let answer = if field.kind == FieldKind::Choice {
                        let labels = field.options.iter().map(|o| o.label.clone()).collect();
                        match self.pick(&prompt, labels).await? {
                            Some(Picked::Index(n)) => Ok(field.options[n].value.clone()),
                            Some(Picked::Command(action)) => Err(action),
                            None => return Ok(None),
                        }
                    } else {
                        if let Some(max) = field.max_length {
                            prompt.push_str(&format!(" (max {max})"));
                        }
                        // A captcha's value is its image, never an answer.
                        let prefill = f
                            .prefill_for(&field.name)
                            .filter(|_| field.kind != FieldKind::Captcha);
                        if let Some(p) = prefill {
                            prompt.push_str(&format!(" [{p}]"));
                        }
                        let Some(answer) = self.ask(&prompt, field.is_secret()).await? else {
                            return Ok(None);
                        };
                        match command(&answer) {
                            Some(action) => Err(action),
                            None => Ok(match (answer.is_empty(), prefill) {
                                (true, Some(p)) => p.to_owned(),
                                _ => answer,
                            }),
                        }
                    };
                    match answer {
                        Ok(value) => {
                            values.insert(field.name.clone(), value);
                            i += 1;
                        }
                        // Back one step: the field before, within the form.
                        Err(UserAction::Back) if i > 0 => {
                            // Its answer is replaced when it is given again.
                            i -= 1;
                        }
                        // Back from a verification step loses the bank's
                        // progress: ask first.
                        Err(UserAction::Back) if f.purpose != FormPurpose::Credentials => {
                            let leave = self
                                .ask(
                                    "Leave this verification and choose a bank again? (y/n)",
                                    false,
                                )
                                .await?;
                            match leave.as_deref().map(str::trim) {
                                Some("y" | "yes") => return Ok(Some(UserAction::Back)),
                                Some(_) => continue,
                                None => return Ok(None),
                            }
                        }
                        Err(action) => return Ok(Some(action)),
                    }
                }
                Ok(Some(UserAction::Submit(values)))
            }
            View::ChooseAccount {
                accounts, notice, ..
            } => {
                if let Some(n) = notice {
                    self.say(&format!("! {}", n.message()));
                }
                let labels = accounts
                    .iter()
                    .map(|a| {
                        let mut line = format!("{} {}", a.name, a.number);
                        if let Some(kind) = &a.kind {
                            line.push_str(&format!(" {kind}"));
                        }
                        if let Some(balance) = a.balance {
                            let currency = a.currency.as_deref().unwrap_or("");
                            line.push_str(&format!(
                                " {currency} {}.{:02}",
                                balance / 100,
                                (balance % 100).abs()
                            ));
                        }
                        line
                    })
                    .collect();
                Ok(self
                    .pick("Account to link", labels)
                    .await?
                    .map(|p| match p {
                        Picked::Index(i) => UserAction::ChooseAccount(i),
                        Picked::Command(action) => action,
                    }))
            }
            View::Linked { notice } => {
                if let Some(n) = notice {
                    self.say(&format!("! {}", n.message()));
                }
                let Some(answer) = self.ask("Try again? [Y/n]", false).await? else {
                    return Ok(None);
                };
                Ok(Some(match answer.trim() {
                    "n" | "N" | "no" => UserAction::Exit,
                    other => command(other).unwrap_or(UserAction::Retry),
                }))
            }
            // The driver returns only when the person must act or the flow ended.
            _ => Ok(Some(UserAction::Exit)),
        }
    }

    /// A numbered list; returns the zero-based choice. Re-asks on nonsense.
    /// A numbered choice; a command (`:back`, ...) is taken here too.
    async fn pick(&self, prompt: &str, labels: Vec<String>) -> io::Result<Option<Picked>> {
        for (i, label) in labels.iter().enumerate() {
            self.say(&format!("  {}. {label}", i + 1));
        }
        loop {
            let Some(answer) = self.ask(prompt, false).await? else {
                return Ok(None);
            };
            if let Some(action) = command(&answer) {
                return Ok(Some(Picked::Command(action)));
            }
            match answer.trim().parse::<usize>() {
                Ok(n) if (1..=labels.len()).contains(&n) => return Ok(Some(Picked::Index(n - 1))),
                _ => self.say(&format!("Type a number from 1 to {}.", labels.len())),
            }
        }
    }
}

/// Writes a captcha image (a `data:` URL) into a small HTML page in the
/// temporary directory, readable by this user only, and returns its path.
fn write_captcha(image: &str) -> io::Result<std::path::PathBuf> {
    use std::io::Write as _;
    let path =
        std::env::temp_dir().join(format!("connectflow-captcha-{}.html", std::process::id()));
    // Only a data: image URL is embedded: nothing the partner sent runs.
    let src = if image.starts_with("data:image/") && !image.contains('"') {
        image
    } else {
        ""
    };
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut file = options.open(&path)?;
    write!(
        file,
        "<!doctype html><title>captcha</title><img alt=\"captcha\" src=\"{src}\">"
    )?;
    Ok(path)
}

/// A numbered choice's answer.
enum Picked {
    /// The option at this index.
    Index(usize),
    /// A command typed instead.
    Command(UserAction),
}

/// What `:help` prints.
const HELP_LONG: &str = "Commands, at any prompt:
  :back            one step back: the field before, or the bank list (asking first from a verification step)
  :switch METHOD   log in another way at this bank (internet_banking, mobile_banking, ussd, manual)
  :retry           try finishing again, after a failed last step
  :exit            leave
  :help            this list";

/// `:back`, `:exit`, `:retry`, `:switch <method>`.
fn command(answer: &str) -> Option<UserAction> {
    let answer = answer.trim();
    let rest = answer.strip_prefix(':')?;
    let mut words = rest.split_whitespace();
    Some(match (words.next()?, words.next()) {
        ("back", _) => UserAction::Back,
        ("exit" | "quit", _) => UserAction::Exit,
        ("retry", _) => UserAction::Retry,
        ("switch", Some(method)) => UserAction::SwitchAuthMethod(AuthMethodKind::from(method)),
        _ => return None,
    })
}
