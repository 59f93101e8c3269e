//! Real database engines for the cluster mode's tests, demo and benchmark: PostgreSQL (the
//! shared commit log) and etcd (membership, leases, leader election), each started from its
//! Debian package's binary on loopback with a fresh data directory.
//!
//! No mocks and no containers: [`Postgres::start`] and [`Etcd::start`] run the engines as
//! child processes of the calling program, wait until each answers a real client, and tear
//! them down (process and data directory) when the handle is dropped. Each engine also dies
//! with that program if it is killed, so an aborted run leaves no server behind.
//!
//! The engines come from Debian's packages: `postgresql` (any version under
//! `/usr/lib/postgresql/*/bin`, the newest is used) and `etcd-server` (`/usr/bin/etcd`).
//! `.ci/run` installs both when they are missing.
//!
//! Both `start` functions block (up to a minute each, in the worst case); they can be called
//! from a plain `#[test]`, from `tokio::task::spawn_blocking`, or even directly inside an
//! async test, since the client they poll with runs on a runtime of its own.

mod etcd;
mod postgres;

pub use etcd::Etcd;
pub use postgres::Postgres;

use std::fs::File;
use std::future::Future;
use std::io::{self, Read, Seek, SeekFrom};
use std::net::TcpListener;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::mpsc;
use std::sync::OnceLock;
use std::thread;
use std::time::{Duration, Instant};

/// How long an engine may take to start answering clients, or to shut down. Generous on
/// purpose: a loaded CI machine with a slow disk may take many seconds for what takes a
/// fraction of one here, and waiting is event-driven (polling), so a fast start is not slowed.
pub(crate) const DEADLINE: Duration = Duration::from_secs(60);

/// How often a starting engine is polled.
pub(crate) const POLL: Duration = Duration::from_millis(50);

/// How many times a start is retried on a fresh port when the port it was given turned out
/// to be taken (see [`free_ports`]).
pub(crate) const PORT_ATTEMPTS: usize = 5;

/// Lines of an engine's log quoted in an error.
const LOG_TAIL_LINES: usize = 30;

/// Why an engine could not be started, stopped or restarted.
#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    /// The engine's binary is not installed.
    #[error("{engine} not found ({looked}): install the Debian package {package}")]
    NotFound {
        /// Which engine ("PostgreSQL" or "etcd").
        engine: &'static str,
        /// The Debian package that provides it.
        package: &'static str,
        /// Where it was looked for.
        looked: String,
    },
    /// A file-system or process operation around the engine failed.
    #[error("{engine}: {action}: {source}")]
    Io {
        /// Which engine.
        engine: &'static str,
        /// What was being done.
        action: String,
        /// The underlying error.
        #[source]
        source: io::Error,
    },
    /// The engine (or its set-up step, such as `initdb`) did not come up, or did not shut down.
    #[error("{engine} failed: {reason}\n--- last lines of {log} ---\n{log_tail}")]
    Failed {
        /// Which engine.
        engine: &'static str,
        /// What went wrong (exit status, timeout, ...).
        reason: String,
        /// The log file quoted.
        log: PathBuf,
        /// The last lines of that log.
        log_tail: String,
    },
}

impl EngineError {
    pub(crate) fn io(engine: &'static str, action: impl Into<String>, source: io::Error) -> Self {
        EngineError::Io {
            engine,
            action: action.into(),
            source,
        }
    }

    pub(crate) fn failed(engine: &'static str, reason: impl Into<String>, log: &Path) -> Self {
        EngineError::Failed {
            engine,
            reason: reason.into(),
            log: log.to_path_buf(),
            log_tail: log_tail(log),
        }
    }
}

/// The last [`LOG_TAIL_LINES`] lines of a log file (or a note that it cannot be read).
pub(crate) fn log_tail(path: &Path) -> String {
    // Only the end of a long log is wanted: read at most its last 64 KiB.
    let read = || -> io::Result<String> {
        let mut file = File::open(path)?;
        let len = file.metadata()?.len();
        file.seek(SeekFrom::Start(len.saturating_sub(64 * 1024)))?;
        let mut bytes = Vec::new();
        file.read_to_end(&mut bytes)?;
        Ok(String::from_utf8_lossy(&bytes).into_owned())
    };
    match read() {
        Ok(text) => {
            let lines: Vec<&str> = text.lines().collect();
            lines[lines.len().saturating_sub(LOG_TAIL_LINES)..].join("\n")
        }
        Err(e) => format!("(log unreadable: {e})"),
    }
}

/// Whether a log says the engine could not bind its port because something else holds it.
pub(crate) fn log_says_port_taken(path: &Path) -> bool {
    std::fs::read_to_string(path)
        .map(|text| text.to_ascii_lowercase().contains("address already in use"))
        .unwrap_or(false)
}

/// `N` distinct free TCP ports on 127.0.0.1.
///
/// Each is found by binding port 0 and reading the port the kernel chose; all `N` are bound
/// at once so they differ, then released for the engine to bind. Between the release and the
/// engine's bind, another process may take one (a small race, likelier with many programs
/// starting engines in parallel): the engines detect it ("address already in use" in their
/// log) and start again on fresh ports, up to [`PORT_ATTEMPTS`] times.
pub(crate) fn free_ports<const N: usize>(engine: &'static str) -> Result<[u16; N], EngineError> {
    let mut listeners = Vec::with_capacity(N);
    for _ in 0..N {
        let listener = TcpListener::bind(("127.0.0.1", 0))
            .map_err(|e| EngineError::io(engine, "binding a free port on 127.0.0.1", e))?;
        listeners.push(listener);
    }
    let mut ports = [0u16; N];
    for (port, listener) in ports.iter_mut().zip(&listeners) {
        *port = listener
            .local_addr()
            .map_err(|e| EngineError::io(engine, "reading a free port", e))?
            .port();
    }
    Ok(ports)
}

/// Opens (creating or appending to) a log file for a child's stdout and stderr.
pub(crate) fn log_stdio(engine: &'static str, path: &Path) -> Result<(Stdio, Stdio), EngineError> {
    let open = || {
        std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)
    };
    let out =
        open().map_err(|e| EngineError::io(engine, format!("opening {}", path.display()), e))?;
    let err = out
        .try_clone()
        .map_err(|e| EngineError::io(engine, format!("opening {}", path.display()), e))?;
    Ok((Stdio::from(out), Stdio::from(err)))
}

/// Spawns `cmd` so that the child gets `death_signal` when this process dies.
///
/// `PR_SET_PDEATHSIG` fires when the *thread* that forked the child exits, not the process:
/// a child spawned from a test's thread (or a tokio blocking thread, which exits when idle)
/// would be killed as soon as that thread ends. So every engine is forked by one spawner
/// thread that lives as long as the process, and the signal fires only when the process
/// goes (a panic that skips `Drop`, `SIGKILL` of the test binary, a timeout of the runner).
///
/// The signal is set in the child after `Command::uid`/`gid` took effect (std runs
/// `pre_exec` closures after them), because a change of credentials clears it.
///
/// The child gets a process group of its own: Ctrl-C at a terminal signals the whole
/// foreground group, and an engine (or a node) must not stop before the program that
/// owns it has stopped what depends on it.
pub(crate) fn spawn_tied(mut cmd: Command, death_signal: libc::c_int) -> io::Result<Child> {
    type Job = (Command, mpsc::Sender<io::Result<Child>>);
    static SPAWNER: OnceLock<mpsc::Sender<Job>> = OnceLock::new();

    cmd.process_group(0);

    let parent = std::process::id() as libc::pid_t;
    // SAFETY: the closure runs between fork and exec and calls only async-signal-safe
    // functions (prctl, getppid), allocating nothing.
    unsafe {
        cmd.pre_exec(move || {
            if libc::prctl(
                libc::PR_SET_PDEATHSIG,
                death_signal as libc::c_ulong,
                0,
                0,
                0,
            ) != 0
            {
                return Err(io::Error::last_os_error());
            }
            // The parent may have died before the prctl: then nothing would ever signal us.
            if libc::getppid() != parent {
                return Err(io::Error::from_raw_os_error(libc::ESRCH));
            }
            Ok(())
        });
    }

    let spawner = SPAWNER.get_or_init(|| {
        let (tx, rx) = mpsc::channel::<Job>();
        thread::Builder::new()
            .name("engine-spawner".into())
            .spawn(move || {
                for (mut cmd, reply) in rx {
                    let _ = reply.send(cmd.spawn());
                }
            })
            .expect("starting the engine spawner thread");
        tx
    });
    let (reply_tx, reply_rx) = mpsc::channel();
    spawner
        .send((cmd, reply_tx))
        .map_err(|_| io::Error::other("the engine spawner thread is gone"))?;
    reply_rx
        .recv()
        .map_err(|_| io::Error::other("the engine spawner thread is gone"))?
}

/// Sends `signal` to the process `pid` (ignoring a process that is already gone).
pub(crate) fn signal(pid: u32, signal: libc::c_int) {
    // SAFETY: kill(2) has no memory-safety preconditions.
    unsafe {
        libc::kill(pid as libc::pid_t, signal);
    }
}

/// Waits until `child` exits or `timeout` passes; `None` on timeout.
pub(crate) fn wait_timeout(child: &mut Child, timeout: Duration) -> io::Result<Option<ExitStatus>> {
    let deadline = Instant::now() + timeout;
    loop {
        if let Some(status) = child.try_wait()? {
            return Ok(Some(status));
        }
        if Instant::now() >= deadline {
            return Ok(None);
        }
        thread::sleep(Duration::from_millis(10));
    }
}

/// Sends `first` to `child` and waits up to `grace` for it to exit; kills it if it has not.
/// Returns whether it exited within the grace period.
pub(crate) fn terminate(
    child: &mut Child,
    first: libc::c_int,
    grace: Duration,
) -> io::Result<bool> {
    if child.try_wait()?.is_some() {
        return Ok(true);
    }
    signal(child.id(), first);
    if wait_timeout(child, grace)?.is_some() {
        return Ok(true);
    }
    let _ = child.kill();
    child.wait()?;
    Ok(false)
}

/// Whether a process with this pid exists and is not a zombie.
///
/// A zombie counts as gone: it holds no memory, ports or shared memory, and it may linger
/// when it was reparented to a PID 1 that does not reap (as in some containers).
pub fn process_alive(pid: u32) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        // The state is the first field after the command name, which is in parentheses.
        Ok(stat) => match stat.rfind(')') {
            Some(end) => !matches!(stat[end + 1..].trim_start().chars().next(), Some('Z' | 'X')),
            None => true,
        },
        Err(_) => false,
    }
}

/// The pids of the live children of process `pid`, from `/proc`.
pub(crate) fn children_of(pid: u32) -> Vec<u32> {
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    entries
        .filter_map(|entry| entry.ok()?.file_name().to_str()?.parse::<u32>().ok())
        .filter(|&candidate| {
            std::fs::read_to_string(format!("/proc/{candidate}/stat"))
                .ok()
                .and_then(|stat| {
                    // Fields after the ")" ending the command name: state, ppid, ...
                    let rest = &stat[stat.rfind(')')? + 1..];
                    rest.split_whitespace().nth(1)?.parse::<u32>().ok()
                })
                == Some(pid)
        })
        .filter(|&child| process_alive(child))
        .collect()
}

/// Waits until none of `pids` is alive, or `timeout` passes; returns whether they all went.
pub(crate) fn wait_gone(pids: &[u32], timeout: Duration) -> bool {
    let deadline = Instant::now() + timeout;
    loop {
        if pids.iter().all(|&pid| !process_alive(pid)) {
            return true;
        }
        if Instant::now() >= deadline {
            return false;
        }
        thread::sleep(Duration::from_millis(10));
    }
}

/// Runs `future` to completion on a fresh single-threaded tokio runtime in a thread of its
/// own, so it works whether or not the caller is itself inside a runtime (where `block_on`
/// would panic).
pub(crate) fn block_on<F>(future: F) -> F::Output
where
    F: Future + Send,
    F::Output: Send,
{
    thread::scope(|scope| {
        scope
            .spawn(|| {
                tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                    .expect("building a tokio runtime")
                    .block_on(future)
            })
            .join()
            .unwrap_or_else(|panic| std::panic::resume_unwind(panic))
    })
}

/// The first executable among `candidates`, or `name` found on `PATH`.
pub(crate) fn find_binary(candidates: &[&str], name: &str) -> Option<PathBuf> {
    let executable = |path: &Path| {
        use std::os::unix::fs::PermissionsExt;
        path.metadata()
            .map(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
            .unwrap_or(false)
    };
    candidates
        .iter()
        .map(PathBuf::from)
        .find(|path| executable(path))
        .or_else(|| {
            std::env::split_paths(&std::env::var_os("PATH")?)
                .map(|dir| dir.join(name))
                .find(|path| executable(path))
        })
}
