//! A `connectflow` command under test that serves (`sandbox`, `serve`,
//! `ussd`): spawned, its address read from the `listening on URL` line it
//! prints first, killed on drop. Shared by every test that runs the real
//! binary as a server, so each waits the same way: with a deadline, and
//! with the process's stderr in the failure rather than a hang or a bare
//! `unwrap` on an empty line.
//!
//! Included with `#[path]` by several test binaries; each uses a part.
#![allow(dead_code)]

use std::io::{BufRead, BufReader, Read, Write};
use std::process::{Child, Command, ExitStatus, Output, Stdio};
use std::sync::mpsc;
use std::thread::JoinHandle;
use std::time::Duration;

/// How long a server may take to print its address (a cold debug binary on
/// a busy machine is slow; a healthy one takes milliseconds).
const STARTUP: Duration = Duration::from_secs(60);

/// `connectflow ARGS`, to be given more arguments or environment.
pub(crate) fn connectflow(args: &[&str]) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_connectflow"));
    command.args(args);
    command
}

/// Runs `command` to its end with `stdin` as its whole input (then closed,
/// as a script's end would be); its exit status, stdout and stderr.
pub(crate) fn output(command: &mut Command, stdin: &str) -> Output {
    let mut child = command
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot run {command:?}: {e}"));
    let mut input = child.stdin.take().expect("stdin is piped");
    // A command that exits before reading everything closes the pipe: what
    // it did with the input is what the test checks, not this write.
    let _ = input.write_all(stdin.as_bytes());
    drop(input);
    child
        .wait_with_output()
        .expect("the child can be waited on")
}

/// A running `connectflow` server; killed (SIGKILL) when dropped.
pub(crate) struct Process {
    /// The process, for a test that signals or waits on it itself.
    pub(crate) child: Child,
    /// The URL of its `listening on URL` line.
    pub(crate) url: String,
    /// The first lines it printed (the address line first), as asked for.
    pub(crate) lines: Vec<String>,
    /// Collects stderr until the process ends.
    stderr: Option<JoinHandle<String>>,
    /// Stdout's lines after the first ones, as they come.
    more: mpsc::Receiver<String>,
}

impl Process {
    /// Spawns `command` and waits for its address line.
    pub(crate) fn start(command: &mut Command) -> Process {
        Process::start_reading(command, 1)
    }

    /// [`Process::start`], keeping the first `lines` lines of stdout (the
    /// sandbox prints its keys after its address). The rest of stdout is
    /// read and dropped, so the process never blocks on a full pipe.
    pub(crate) fn start_reading(command: &mut Command, lines: usize) -> Process {
        let mut child = command
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot run {command:?}: {e}"));
        let stderr = child.stderr.take().map(|mut err| {
            std::thread::spawn(move || {
                let mut text = String::new();
                let _ = err.read_to_string(&mut text);
                text
            })
        });
        let out = BufReader::new(child.stdout.take().expect("stdout is piped"));
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            for line in out.lines() {
                let Ok(line) = line else { break };
                // Kept for `lines_until`; once the process is dropped,
                // nobody listens and the lines are only drained.
                let _ = tx.send(line.trim().to_owned());
            }
        });
        let mut process = Process {
            child,
            url: String::new(),
            lines: Vec::new(),
            stderr,
            more: rx,
        };
        for _ in 0..lines.max(1) {
            match process.more.recv_timeout(STARTUP) {
                Ok(line) => process.lines.push(line),
                Err(e) => {
                    let logs = process.stop();
                    panic!(
                        "{command:?} printed {:?}, then {e:?} (no address within {STARTUP:?}); stderr:\n{logs}",
                        process.lines
                    );
                }
            }
        }
        match process.lines[0].strip_prefix("listening on ") {
            Some(url) => process.url = url.to_owned(),
            None => {
                let first = process.lines[0].clone();
                let logs = process.stop();
                panic!("{command:?} printed {first:?}, not its address; stderr:\n{logs}");
            }
        }
        process
    }

    /// Stdout's next lines, up to the first containing `needle` (all of
    /// them, if it ends first or `wait` passes).
    pub(crate) fn lines_until(&self, needle: &str, wait: Duration) -> Vec<String> {
        let by = std::time::Instant::now() + wait;
        let mut lines = Vec::new();
        while let Ok(line) = self
            .more
            .recv_timeout(by.saturating_duration_since(std::time::Instant::now()))
        {
            let found = line.contains(needle);
            lines.push(line);
            if found {
                break;
            }
        }
        lines
    }

    /// Waits for the process to end by itself.
    pub(crate) fn wait(&mut self) -> ExitStatus {
        self.child.wait().expect("the child can be waited on")
    }

    /// Kills the process and returns everything it wrote to stderr.
    pub(crate) fn stop(&mut self) -> String {
        let _ = self.child.kill();
        let _ = self.child.wait();
        self.stderr
            .take()
            .and_then(|h| h.join().ok())
            .unwrap_or_default()
    }
}

impl Drop for Process {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
