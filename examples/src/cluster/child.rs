//! The parent's handle on a node child.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::mpsc::{Receiver, RecvTimeoutError};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use super::node::{NodeSettings, CHILD_FLAG};
use super::proc;
use super::report::{AuditLine, NodeReport};
use crate::engines;

/// A node running as a child process of this program.
///
/// The child is in a process group of its own, so Ctrl-C at a terminal reaches only this
/// program, which then stops its nodes in order; and it gets SIGKILL if this program dies
/// first, so no node outlives it.
pub struct NodeChild {
    name: String,
    child: Child,
    pid: u32,
    addr: Option<String>,
    lines: Receiver<String>,
    latest: Arc<Mutex<Option<NodeReport>>>,
    log: PathBuf,
    status: Option<ExitStatus>,
}

/// How a stopped node ended.
#[derive(Debug)]
pub struct NodeEnd {
    /// Its audit of the bank, if it printed one.
    pub audit: Option<AuditLine>,
    /// Its last applied log position, for a cluster node that said.
    pub position: Option<u64>,
    /// Its exit status.
    pub status: ExitStatus,
}

impl NodeChild {
    /// Starts this program again as the node `settings` describes, its standard error
    /// going to `log`. Returns at once; [`wait_ready`](Self::wait_ready) waits until it
    /// serves.
    pub fn spawn(settings: &NodeSettings, log: &Path) -> Result<NodeChild, String> {
        let exe = std::env::current_exe().map_err(|e| format!("this program's path: {e}"))?;
        let err =
            std::fs::File::create(log).map_err(|e| format!("creating {}: {e}", log.display()))?;
        let mut cmd = Command::new(exe);
        cmd.arg(CHILD_FLAG)
            .args(settings.to_args())
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::from(err));
        let mut child = engines::spawn_tied(cmd, libc::SIGKILL)
            .map_err(|e| format!("starting {}: {e}", settings.node_name))?;
        let pid = child.id();
        let out = child.stdout.take().expect("piped");
        let latest = Arc::new(Mutex::new(None));
        let (tx, lines) = std::sync::mpsc::channel();
        let sink = latest.clone();
        std::thread::Builder::new()
            .name(format!("{}-lines", settings.node_name))
            .spawn(move || {
                for line in BufReader::new(out).lines().map_while(Result::ok) {
                    if let Some(report) = NodeReport::parse(&line) {
                        *sink.lock().expect("not poisoned") = Some(report);
                    } else if line.starts_with("status ") {
                        // For people watching a node by hand; the parent has the stats.
                    } else if tx.send(line).is_err() {
                        break;
                    }
                }
            })
            .map_err(|e| format!("starting a reader thread: {e}"))?;
        Ok(NodeChild {
            name: settings.node_name.clone(),
            child,
            pid,
            addr: None,
            lines,
            latest,
            log: log.to_owned(),
            status: None,
        })
    }

    /// Waits until the node serves clients and returns its address. Fails if it exits
    /// first, says it failed, or takes longer than `patience`; the error quotes its log.
    pub fn wait_ready(&mut self, patience: Duration) -> Result<String, String> {
        let line = self.wait_for(&["ready ", "failed "], patience)?;
        match line.strip_prefix("ready ") {
            Some(addr) => {
                self.addr = Some(addr.to_owned());
                Ok(addr.to_owned())
            }
            None => Err(format!("{} {line}\n{}", self.name, self.log_tail())),
        }
    }

    /// The next line starting with one of `prefixes`; other lines are skipped.
    fn wait_for(&mut self, prefixes: &[&str], patience: Duration) -> Result<String, String> {
        let deadline = Instant::now() + patience;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.lines.recv_timeout(left) {
                Ok(line) if prefixes.iter().any(|p| line.starts_with(p)) => return Ok(line),
                Ok(_) => {}
                Err(RecvTimeoutError::Timeout) => {
                    return Err(format!(
                        "{} printed none of {prefixes:?} within {patience:?}\n{}",
                        self.name,
                        self.log_tail()
                    ))
                }
                Err(RecvTimeoutError::Disconnected) => {
                    // Its output closed: it is exiting, if it has not yet.
                    if self.status.is_none() {
                        self.status =
                            engines::wait_timeout(&mut self.child, Duration::from_secs(2))
                                .ok()
                                .flatten();
                    }
                    let status = self
                        .status
                        .map_or("still running".to_owned(), |s| s.to_string());
                    return Err(format!(
                        "{} ended before it printed any of {prefixes:?} ({status})\n{}",
                        self.name,
                        self.log_tail()
                    ));
                }
            }
        }
    }

    fn log_tail(&self) -> String {
        format!(
            "--- last lines of {} ---\n{}",
            self.log.display(),
            engines::log_tail(&self.log)
        )
    }

    /// The node's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Its process id.
    pub fn pid(&self) -> u32 {
        self.pid
    }

    /// Where clients reach it, once [`wait_ready`](Self::wait_ready) returned.
    pub fn addr(&self) -> Option<&str> {
        self.addr.as_deref()
    }

    /// Its log (standard error).
    pub fn log(&self) -> &Path {
        &self.log
    }

    /// Its latest `stats` line.
    pub fn latest(&self) -> Option<NodeReport> {
        self.latest.lock().expect("not poisoned").clone()
    }

    /// How it exited, once it has (reaped here, so it is asked without blocking).
    pub fn exit_status(&mut self) -> Option<ExitStatus> {
        if self.status.is_none() {
            self.status = self.child.try_wait().ok().flatten();
        }
        self.status
    }

    /// Whether it is still running.
    pub fn is_running(&mut self) -> bool {
        self.exit_status().is_none()
    }

    /// The CPU time it has used; `None` once it has exited.
    pub fn cpu_time(&mut self) -> Option<Duration> {
        if self.is_running() {
            proc::cpu_time(self.pid)
        } else {
            None
        }
    }

    /// Kills it as a crash would (SIGKILL) and reaps it.
    pub fn kill(&mut self) {
        if self.is_running() {
            let _ = self.child.kill();
            self.status = self.child.wait().ok();
        }
    }

    /// Stops it (SIGTERM): it audits the bank, shuts down cleanly and exits. Killed if it
    /// takes longer than `patience`.
    pub fn stop(&mut self, patience: Duration) -> Result<NodeEnd, String> {
        if let Some(status) = self.exit_status() {
            return Err(format!("{} is not running ({status})", self.name));
        }
        engines::signal(self.pid, libc::SIGTERM);
        let deadline = Instant::now() + patience;
        let mut audit = None;
        let mut position = None;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            let line = match self.wait_for(&["audit ", "stopped", "failed "], left) {
                Ok(line) => line,
                Err(e) => {
                    self.kill();
                    return Err(e);
                }
            };
            if let Some(a) = AuditLine::parse(&line) {
                audit = Some(a);
            } else if let Some(p) = line.strip_prefix("stopped at ") {
                position = p.trim().parse().ok();
                break;
            } else if line.starts_with("stopped") {
                break;
            } else {
                eprintln!("{}: {line}", self.name);
            }
        }
        let left = deadline.saturating_duration_since(Instant::now());
        let status = match engines::wait_timeout(&mut self.child, left) {
            Ok(Some(status)) => status,
            _ => {
                self.kill();
                return Err(format!("{} did not exit within {patience:?}", self.name));
            }
        };
        self.status = Some(status);
        Ok(NodeEnd {
            audit,
            position,
            status,
        })
    }
}

impl Drop for NodeChild {
    fn drop(&mut self) {
        // A node left running would hold its port and its store.
        self.kill();
    }
}
