//! A server in a child process: this program started again with a variable set, serving
//! until its standard input closes. Tests and benchmarks that measure the server's memory,
//! read its logs, or need both ends of thousands of connections use it, so the server and
//! the clients do not share one process.

use std::io::{BufRead, BufReader, Read, Write};
use std::process::{Child, ChildStdout, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;

/// The parent's handle on a server child.
pub struct ChildServer {
    child: Child,
    stdout: std::io::Lines<BufReader<ChildStdout>>,
    stderr: Arc<Mutex<String>>,
    stderr_reader: Option<JoinHandle<()>>,
}

impl ChildServer {
    /// Starts this test binary again running only test `test`, with `var` set to `value`
    /// (the child test does nothing unless it sees `var`). Its standard error is collected.
    pub fn test(test: &str, var: &str, value: &str) -> ChildServer {
        ChildServer::start(
            &["--exact", test, "--nocapture", "--test-threads", "1"],
            var,
            value,
        )
    }

    /// Starts this program again with `args` and `var` set to `value` (the program acts as
    /// the server when it sees `var`). Its standard error is collected.
    pub fn start(args: &[&str], var: &str, value: &str) -> ChildServer {
        let mut child = Command::new(std::env::current_exe().expect("this program"))
            .args(args)
            .env(var, value)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("the server child starts");
        let stdout = BufReader::new(child.stdout.take().expect("piped")).lines();
        let stderr = Arc::new(Mutex::new(String::new()));
        let mut pipe = child.stderr.take().expect("piped");
        let sink = stderr.clone();
        let stderr_reader = std::thread::spawn(move || {
            let mut chunk = [0u8; 8192];
            while let Ok(n) = pipe.read(&mut chunk) {
                if n == 0 {
                    break;
                }
                sink.lock()
                    .unwrap()
                    .push_str(&String::from_utf8_lossy(&chunk[..n]));
            }
        });
        ChildServer {
            child,
            stdout,
            stderr,
            stderr_reader: Some(stderr_reader),
        }
    }

    /// The next value the child announced with [`announce`] under `key`.
    pub fn value(&mut self, key: &str) -> String {
        let tag = format!("{key} ");
        loop {
            let line = self
                .stdout
                .next()
                .unwrap_or_else(|| panic!("the child ended before announcing {key}"))
                .expect("the child's output");
            // The test harness may print the test's name on the same line first.
            if let Some((_, v)) = line.split_once(&tag) {
                return v.trim().to_owned();
            }
        }
    }

    /// The child's process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// The child's resident memory now, in bytes.
    pub fn rss(&self) -> u64 {
        rss_of(self.pid())
    }

    /// Everything the child wrote to standard error so far.
    pub fn stderr(&self) -> String {
        self.stderr.lock().unwrap().clone()
    }

    /// Closes the child's standard input, which stops the server, and waits for it; panics
    /// unless it shut down cleanly. Returns its standard error.
    pub fn stop(mut self) -> String {
        drop(self.child.stdin.take());
        let status = self.child.wait().expect("the child ends");
        if let Some(r) = self.stderr_reader.take() {
            let _ = r.join();
        }
        let stderr = self.stderr();
        assert!(status.success(), "the server shut down cleanly:\n{stderr}");
        stderr
    }
}

/// The resident memory of process `pid`, in bytes (0 if it is gone).
pub fn rss_of(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
        .map_or(0, |kib| kib * 1024)
}

/// In the child: prints `key value` for the parent to read with [`ChildServer::value`].
pub fn announce(key: &str, value: impl std::fmt::Display) {
    println!("{key} {value}");
    std::io::stdout().flush().expect("stdout");
}

/// In the child: blocks until the parent closes standard input.
pub fn wait_for_parent() {
    let mut rest = Vec::new();
    let _ = std::io::stdin().read_to_end(&mut rest);
}
