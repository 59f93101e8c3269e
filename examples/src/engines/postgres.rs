//! A PostgreSQL server of its own for one program: `initdb` into a fresh directory, `postgres`
//! as a child process on 127.0.0.1.

use super::{
    block_on, children_of, find_binary, free_ports, log_says_port_taken, log_stdio, signal,
    spawn_tied, terminate, wait_gone, wait_timeout, EngineError, DEADLINE, POLL, PORT_ATTEMPTS,
};
use std::ffi::CString;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};
use tempfile::TempDir;

const ENGINE: &str = "PostgreSQL";
const PACKAGE: &str = "postgresql";

/// The superuser `initdb` creates, and the name of the database [`Postgres::start`] creates.
const USER: &str = "darkstar";
const DBNAME: &str = "darkstar";

/// A running (or stopped) PostgreSQL server owned by this program.
///
/// The server listens on 127.0.0.1 only, on a port of its own, with `trust` authentication
/// (nothing else can reach it), `fsync=on` and `synchronous_commit=on` so that what a commit
/// acknowledged is on disk as in production, and its unix socket in its temporary directory.
/// Dropping the handle shuts the server down and removes the directory.
#[derive(Debug)]
pub struct Postgres {
    dir: TempDir,
    bin: PathBuf,
    port: u16,
    /// The uid and gid of the `postgres` user when the test runs as root (PostgreSQL refuses
    /// to run as root); `None` runs it as the test's own user.
    run_as: Option<(u32, u32)>,
    child: Option<Child>,
}

/// How one attempt to bring the server up ended.
enum Outcome {
    Ready,
    /// The port was taken by someone else (our server could not bind it, or another server
    /// answered on it).
    PortTaken,
}

impl Postgres {
    /// Initializes a fresh cluster in a temporary directory, starts the server on a free
    /// loopback port, waits until it accepts connections, and creates the database
    /// [`dbname`](Self::dbname).
    ///
    /// Uses the newest `/usr/lib/postgresql/*/bin` (Debian's layout), else `initdb` and
    /// `postgres` on `PATH`. When the test runs as root, the server runs as the `postgres`
    /// user, which owns the directory. Blocks for up to a minute.
    pub fn start() -> Result<Postgres, EngineError> {
        let bin = pg_bin()?;
        let run_as = if is_root() {
            Some(
                lookup_user("postgres").ok_or_else(|| EngineError::NotFound {
                    engine: ENGINE,
                    package: PACKAGE,
                    looked: "the system user `postgres`, needed to run it as root".into(),
                })?,
            )
        } else {
            None
        };
        let dir = tempfile::Builder::new()
            .prefix("darkstar-postgres-")
            .tempdir()
            .map_err(|e| EngineError::io(ENGINE, "creating a temporary directory", e))?;
        if let Some((uid, gid)) = run_as {
            std::os::unix::fs::chown(dir.path(), Some(uid), Some(gid)).map_err(|e| {
                EngineError::io(
                    ENGINE,
                    format!("giving {} to postgres", dir.path().display()),
                    e,
                )
            })?;
        }
        let mut pg = Postgres {
            dir,
            bin,
            port: 0,
            run_as,
            child: None,
        };
        pg.initdb()?;
        for _ in 0..PORT_ATTEMPTS {
            pg.port = free_ports::<1>(ENGINE)?[0];
            if let Outcome::Ready = pg.launch_and_wait()? {
                pg.create_database()?;
                return Ok(pg);
            }
        }
        Err(EngineError::failed(
            ENGINE,
            format!("every one of {PORT_ATTEMPTS} free ports was taken before it could bind it"),
            &pg.log_path(),
        ))
    }

    /// The tokio-postgres connection string for the test database:
    /// `host=127.0.0.1 port=N user=darkstar dbname=darkstar`.
    pub fn url(&self) -> String {
        self.url_for(DBNAME)
    }

    /// The port the server listens on (127.0.0.1). Stays the same across restarts.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// The user the tests connect as (the cluster's superuser).
    pub fn user(&self) -> &str {
        USER
    }

    /// The database [`start`](Self::start) created.
    pub fn dbname(&self) -> &str {
        DBNAME
    }

    /// The cluster's data directory.
    pub fn data_dir(&self) -> PathBuf {
        self.dir.path().join("data")
    }

    /// The server's log (its stdout and stderr, across restarts).
    pub fn log_path(&self) -> PathBuf {
        self.dir.path().join("postgres.log")
    }

    /// The postmaster's pid, while it runs.
    pub fn pid(&mut self) -> Option<u32> {
        if self.is_running() {
            self.child.as_ref().map(Child::id)
        } else {
            None
        }
    }

    /// The pids of the postmaster and of its children (backends, checkpointer, WAL writer,
    /// ...), while it runs: for tests that check nothing is left behind.
    pub fn pids(&mut self) -> Vec<u32> {
        match self.pid() {
            Some(pid) => std::iter::once(pid).chain(children_of(pid)).collect(),
            None => Vec::new(),
        }
    }

    /// Whether the server process is running.
    pub fn is_running(&mut self) -> bool {
        match self.child.as_mut() {
            Some(child) => matches!(child.try_wait(), Ok(None)),
            None => false,
        }
    }

    /// Shuts the server down with a "fast" shutdown (`SIGINT`: open sessions are cut, the
    /// last checkpoint is written), waiting for it to exit. Keeps the data directory and the
    /// port for [`restart`](Self::restart). Does nothing if it is not running.
    pub fn stop(&mut self) -> Result<(), EngineError> {
        let Some(mut child) = self.child.take() else {
            return Ok(());
        };
        let pid = child.id();
        let children = children_of(pid);
        let clean = terminate(&mut child, libc::SIGINT, DEADLINE)
            .map_err(|e| EngineError::io(ENGINE, "waiting for the server to stop", e))?;
        if !clean {
            self.kill_children(&children)?;
            return Err(EngineError::failed(
                ENGINE,
                format!("fast shutdown took longer than {DEADLINE:?}; killed it"),
                &self.log_path(),
            ));
        }
        Ok(())
    }

    /// Kills the server as a crash would (`SIGKILL` to the postmaster and all its children,
    /// no checkpoint, no clean-up), waiting until every one of them is gone so that a
    /// [`restart`](Self::restart) runs crash recovery on the same data directory. Does
    /// nothing if it is not running.
    pub fn kill(&mut self) -> Result<(), EngineError> {
        let Some(mut child) = self.child.take() else {
            return Ok(());
        };
        let pid = child.id();
        if matches!(child.try_wait(), Ok(None)) {
            // Stopped, the postmaster cannot fork a child we would miss.
            signal(pid, libc::SIGSTOP);
        }
        let children = children_of(pid);
        for &c in &children {
            signal(c, libc::SIGKILL);
        }
        let _ = child.kill();
        child
            .wait()
            .map_err(|e| EngineError::io(ENGINE, "waiting for the killed server", e))?;
        self.kill_children(&children)
    }

    /// Starts the server again on the same data directory and the same port, and waits until
    /// it accepts connections. If it is running, it is stopped first ([`stop`](Self::stop));
    /// after [`kill`](Self::kill), this runs PostgreSQL's crash recovery. For tests of
    /// "PostgreSQL unreachable for a while": `stop()`, do things, `restart()`.
    pub fn restart(&mut self) -> Result<(), EngineError> {
        self.stop()?;
        // The port was ours a moment ago; someone probing for free ports may hold it briefly,
        // so a clash is retried on the same port rather than failing at once.
        for attempt in 1..=PORT_ATTEMPTS {
            match self.launch_and_wait()? {
                Outcome::Ready => return Ok(()),
                Outcome::PortTaken if attempt < PORT_ATTEMPTS => {
                    std::thread::sleep(Duration::from_millis(200))
                }
                Outcome::PortTaken => {}
            }
        }
        Err(EngineError::failed(
            ENGINE,
            format!("port {} was taken while the server was down", self.port),
            &self.log_path(),
        ))
    }

    fn url_for(&self, dbname: &str) -> String {
        format!(
            "host=127.0.0.1 port={} user={USER} dbname={dbname}",
            self.port
        )
    }

    /// A command for one of the cluster's binaries, as the user it must run as.
    fn command(&self, name: &str) -> Command {
        let mut cmd = Command::new(self.bin.join(name));
        // The postgres user may not be able to enter the test's working directory.
        cmd.current_dir(self.dir.path()).stdin(Stdio::null());
        if let Some((uid, gid)) = self.run_as {
            use std::os::unix::process::CommandExt;
            cmd.uid(uid).gid(gid);
        }
        cmd
    }

    fn initdb(&self) -> Result<(), EngineError> {
        let log = self.dir.path().join("initdb.log");
        let (out, err) = log_stdio(ENGINE, &log)?;
        let mut cmd = self.command("initdb");
        cmd.arg("-D")
            .arg(self.data_dir())
            .args(["-U", USER, "--auth=trust", "--locale=C", "--encoding=UTF8"])
            // Syncing the fresh cluster to disk costs seconds on a slow CI disk and protects
            // nothing a test relies on; the server itself runs with fsync on.
            .arg("--no-sync")
            .stdout(out)
            .stderr(err);
        let mut child = spawn_tied(cmd, libc::SIGKILL)
            .map_err(|e| EngineError::io(ENGINE, "running initdb", e))?;
        match wait_timeout(&mut child, DEADLINE) {
            Ok(Some(status)) if status.success() => Ok(()),
            Ok(Some(status)) => Err(EngineError::failed(
                ENGINE,
                format!("initdb exited with {status}"),
                &log,
            )),
            Ok(None) => {
                let _ = child.kill();
                let _ = child.wait();
                Err(EngineError::failed(
                    ENGINE,
                    format!("initdb took longer than {DEADLINE:?}"),
                    &log,
                ))
            }
            Err(e) => Err(EngineError::io(ENGINE, "waiting for initdb", e)),
        }
    }

    /// Starts `postgres` on `self.port` and waits until it accepts connections.
    fn launch_and_wait(&mut self) -> Result<Outcome, EngineError> {
        let log = self.log_path();
        let (out, err) = log_stdio(ENGINE, &log)?;
        let mut cmd = self.command("postgres");
        cmd.arg("-D").arg(self.data_dir());
        for (name, value) in [
            ("listen_addresses", "127.0.0.1".to_string()),
            ("port", self.port.to_string()),
            (
                "unix_socket_directories",
                self.dir.path().display().to_string(),
            ),
            ("fsync", "on".to_string()),
            ("synchronous_commit", "on".to_string()),
            ("full_page_writes", "on".to_string()),
        ] {
            cmd.arg("-c").arg(format!("{name}={value}"));
        }
        cmd.stdout(out).stderr(err);
        // The postmaster itself gets SIGQUIT if the test process dies: an immediate shutdown,
        // which also ends its children and frees its shared memory.
        let child = spawn_tied(cmd, libc::SIGQUIT)
            .map_err(|e| EngineError::io(ENGINE, "starting postgres", e))?;
        self.child = Some(child);

        let url = self.url_for("postgres");
        let data_dir = self.data_dir().display().to_string();
        let child = self.child.as_mut().expect("just started");
        let probe = block_on(async move {
            let deadline = Instant::now() + DEADLINE;
            loop {
                match child.try_wait() {
                    Ok(Some(status)) => return Probe::Exited(status),
                    Ok(None) => {}
                    Err(e) => return Probe::Io(e),
                }
                if let Some(answered) = connect_and_ask_data_dir(&url).await {
                    // Our own server answers with our data directory; anything else is a
                    // server of someone else's that holds the port.
                    return if answered == data_dir {
                        Probe::Ready
                    } else {
                        Probe::WrongServer
                    };
                }
                if Instant::now() >= deadline {
                    return Probe::TimedOut;
                }
                tokio::time::sleep(POLL).await;
            }
        });
        match probe {
            Probe::Ready => Ok(Outcome::Ready),
            Probe::Exited(status) => {
                self.child = None;
                if log_says_port_taken(&log) {
                    Ok(Outcome::PortTaken)
                } else {
                    Err(EngineError::failed(
                        ENGINE,
                        format!("postgres exited with {status}"),
                        &log,
                    ))
                }
            }
            Probe::WrongServer => {
                self.kill()?;
                Ok(Outcome::PortTaken)
            }
            Probe::TimedOut => {
                self.kill()?;
                Err(EngineError::failed(
                    ENGINE,
                    format!(
                        "no connection accepted on port {} within {DEADLINE:?}",
                        self.port
                    ),
                    &log,
                ))
            }
            Probe::Io(e) => {
                self.kill()?;
                Err(EngineError::io(ENGINE, "watching the starting server", e))
            }
        }
    }

    fn create_database(&self) -> Result<(), EngineError> {
        let url = self.url_for("postgres");
        let created = block_on(async move {
            let (client, connection) = tokio_postgres::connect(&url, tokio_postgres::NoTls).await?;
            tokio::spawn(connection);
            client
                .batch_execute(&format!("CREATE DATABASE {DBNAME}"))
                .await
        });
        created.map_err(|e| {
            EngineError::failed(
                ENGINE,
                format!("creating database {DBNAME}: {e}"),
                &self.log_path(),
            )
        })
    }

    /// Kills (again) and waits for the given former children of the postmaster.
    fn kill_children(&self, children: &[u32]) -> Result<(), EngineError> {
        for &c in children {
            signal(c, libc::SIGKILL);
        }
        if wait_gone(children, DEADLINE) {
            Ok(())
        } else {
            Err(EngineError::failed(
                ENGINE,
                format!("children {children:?} of the killed postmaster are still alive"),
                &self.log_path(),
            ))
        }
    }

    /// Removes the System V shared memory segment a killed postmaster left behind (its id is
    /// in `postmaster.pid`, which only a clean shutdown removes). Each leaked segment would
    /// count against the machine's limit of segments until reboot.
    fn remove_leftover_shared_memory(&self) {
        let Ok(pidfile) = std::fs::read_to_string(self.data_dir().join("postmaster.pid")) else {
            return;
        };
        // Line 7: "<key> <shmid>".
        let shmid = pidfile
            .lines()
            .nth(6)
            .and_then(|line| line.split_whitespace().nth(1)?.parse::<libc::c_int>().ok());
        if let Some(shmid) = shmid {
            // SAFETY: IPC_RMID takes no buffer; it marks the segment for removal once
            // nothing is attached (nothing is: the server and its children are gone).
            unsafe {
                libc::shmctl(shmid, libc::IPC_RMID, std::ptr::null_mut());
            }
        }
    }
}

/// What one poll of a starting server saw.
enum Probe {
    Ready,
    Exited(ExitStatus),
    WrongServer,
    TimedOut,
    Io(std::io::Error),
}

/// Connects and asks the server for its data directory; `None` if it does not answer yet.
async fn connect_and_ask_data_dir(url: &str) -> Option<String> {
    let attempt = async {
        let (client, connection) = tokio_postgres::connect(url, tokio_postgres::NoTls)
            .await
            .ok()?;
        tokio::spawn(connection);
        let row = client.query_one("SHOW data_directory", &[]).await.ok()?;
        row.try_get::<_, String>(0).ok()
    };
    tokio::time::timeout(Duration::from_secs(5), attempt)
        .await
        .ok()?
}

impl Drop for Postgres {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let children = children_of(child.id());
            // Immediate shutdown (SIGQUIT) ends the children and frees the shared memory;
            // a server that does not go within the grace period is killed outright.
            if !matches!(
                terminate(&mut child, libc::SIGQUIT, Duration::from_secs(10)),
                Ok(true)
            ) {
                let _ = self.kill_children(&children);
            }
        }
        self.remove_leftover_shared_memory();
        // The TempDir field removes the directory after this.
    }
}

/// The directory of the newest installed PostgreSQL's binaries.
fn pg_bin() -> Result<PathBuf, EngineError> {
    let has_both = |dir: &Path| dir.join("postgres").is_file() && dir.join("initdb").is_file();
    let newest = std::fs::read_dir("/usr/lib/postgresql")
        .into_iter()
        .flatten()
        .filter_map(|entry| {
            let entry = entry.ok()?;
            // Major versions are numbers ("15", "16"); sort them as numbers, not text.
            let version: u32 = entry.file_name().to_str()?.parse().ok()?;
            let bin = entry.path().join("bin");
            has_both(&bin).then_some((version, bin))
        })
        .max_by_key(|(version, _)| *version)
        .map(|(_, bin)| bin);
    newest
        .or_else(|| {
            let initdb = find_binary(&[], "initdb")?;
            let dir = initdb.parent()?.to_path_buf();
            has_both(&dir).then_some(dir)
        })
        .ok_or_else(|| EngineError::NotFound {
            engine: ENGINE,
            package: PACKAGE,
            looked: "/usr/lib/postgresql/*/bin and PATH".into(),
        })
}

fn is_root() -> bool {
    // SAFETY: geteuid has no preconditions.
    unsafe { libc::geteuid() == 0 }
}

/// The uid and gid of a system user.
fn lookup_user(name: &str) -> Option<(u32, u32)> {
    let name = CString::new(name).ok()?;
    let mut buf = vec![0 as libc::c_char; 16 * 1024];
    // SAFETY: passwd is plain data; getpwnam_r fills it with pointers into `buf`, which
    // outlives every use of it here.
    unsafe {
        let mut pwd: libc::passwd = std::mem::zeroed();
        let mut result = std::ptr::null_mut();
        let rc = libc::getpwnam_r(
            name.as_ptr(),
            &mut pwd,
            buf.as_mut_ptr(),
            buf.len(),
            &mut result,
        );
        (rc == 0 && !result.is_null()).then_some((pwd.pw_uid, pwd.pw_gid))
    }
}
