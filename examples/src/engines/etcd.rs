//! An etcd server of its own for one program: a single-member cluster on 127.0.0.1 with a fresh
//! data directory.

use super::{
    block_on, find_binary, free_ports, log_says_port_taken, log_stdio, spawn_tied, terminate,
    EngineError, DEADLINE, POLL, PORT_ATTEMPTS,
};
use std::path::PathBuf;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};
use tempfile::TempDir;

const ENGINE: &str = "etcd";
const PACKAGE: &str = "etcd-server";

/// A running (or stopped) single-member etcd cluster owned by this program.
///
/// Clients reach it at [`endpoint`](Self::endpoint) (plain HTTP/gRPC on 127.0.0.1, no
/// authentication); its peer port is on 127.0.0.1 too and used by nothing else. Dropping the
/// handle kills the server and removes its data directory.
#[derive(Debug)]
pub struct Etcd {
    dir: TempDir,
    bin: PathBuf,
    /// The member's name, unique per process and instance, so that a server of someone
    /// else's answering on our port is told apart from ours.
    name: String,
    client_port: u16,
    peer_port: u16,
    child: Option<Child>,
}

/// How one attempt to bring the server up ended.
enum Outcome {
    Ready,
    /// The ports were taken by someone else.
    PortTaken,
}

/// What one poll of a starting server saw.
enum Probe {
    Ready,
    Exited(ExitStatus),
    WrongServer,
    TimedOut,
    Io(std::io::Error),
}

impl Etcd {
    /// Starts a fresh single-member etcd cluster on free loopback ports and waits until it
    /// serves reads (an etcd-client `get` succeeds).
    ///
    /// Uses `/usr/bin/etcd` (Debian's `etcd-server`), else `etcd` on `PATH`. Blocks for up to
    /// a minute.
    pub fn start() -> Result<Etcd, EngineError> {
        static INSTANCES: AtomicU32 = AtomicU32::new(0);
        let bin = find_binary(&["/usr/bin/etcd"], "etcd").ok_or_else(|| EngineError::NotFound {
            engine: ENGINE,
            package: PACKAGE,
            looked: "/usr/bin/etcd and PATH".into(),
        })?;
        let dir = tempfile::Builder::new()
            .prefix("darkstar-etcd-")
            .tempdir()
            .map_err(|e| EngineError::io(ENGINE, "creating a temporary directory", e))?;
        let name = format!(
            "darkstar-{}-{}",
            std::process::id(),
            INSTANCES.fetch_add(1, Ordering::Relaxed)
        );
        let mut etcd = Etcd {
            dir,
            bin,
            name,
            client_port: 0,
            peer_port: 0,
            child: None,
        };
        for _ in 0..PORT_ATTEMPTS {
            [etcd.client_port, etcd.peer_port] = free_ports::<2>(ENGINE)?;
            if let Outcome::Ready = etcd.launch_and_wait()? {
                return Ok(etcd);
            }
        }
        Err(EngineError::failed(
            ENGINE,
            format!("every one of {PORT_ATTEMPTS} pairs of free ports was taken before it could bind them"),
            &etcd.log_path(),
        ))
    }

    /// The client URL, `http://127.0.0.1:N`, as etcd-client's `Client::connect` takes it.
    pub fn endpoint(&self) -> String {
        format!("http://127.0.0.1:{}", self.client_port)
    }

    /// The client port on 127.0.0.1. Stays the same across restarts.
    pub fn client_port(&self) -> u16 {
        self.client_port
    }

    /// The member's name (`--name`).
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The member's data directory.
    pub fn data_dir(&self) -> PathBuf {
        self.dir.path().join("data")
    }

    /// The server's log (its stdout and stderr, across restarts).
    pub fn log_path(&self) -> PathBuf {
        self.dir.path().join("etcd.log")
    }

    /// The server's pid, while it runs.
    pub fn pid(&mut self) -> Option<u32> {
        if self.is_running() {
            self.child.as_ref().map(Child::id)
        } else {
            None
        }
    }

    /// Whether the server process is running.
    pub fn is_running(&mut self) -> bool {
        match self.child.as_mut() {
            Some(child) => matches!(child.try_wait(), Ok(None)),
            None => false,
        }
    }

    /// Stops the server gracefully (`SIGTERM`), waiting for it to exit, keeping its data and
    /// ports for [`restart`](Self::restart). Does nothing if it is not running.
    pub fn stop(&mut self) -> Result<(), EngineError> {
        let Some(mut child) = self.child.take() else {
            return Ok(());
        };
        let clean = terminate(&mut child, libc::SIGTERM, DEADLINE)
            .map_err(|e| EngineError::io(ENGINE, "waiting for the server to stop", e))?;
        if clean {
            Ok(())
        } else {
            Err(EngineError::failed(
                ENGINE,
                format!("it took longer than {DEADLINE:?} to stop; killed it"),
                &self.log_path(),
            ))
        }
    }

    /// Kills the server (`SIGKILL`), as a crash would, keeping its data. Does nothing if it
    /// is not running.
    pub fn kill(&mut self) -> Result<(), EngineError> {
        let Some(mut child) = self.child.take() else {
            return Ok(());
        };
        let _ = child.kill();
        child
            .wait()
            .map(drop)
            .map_err(|e| EngineError::io(ENGINE, "waiting for the killed server", e))
    }

    /// Starts the server again with the same data and ports, and waits until it serves
    /// reads. If it is running, it is stopped first ([`stop`](Self::stop)). Keys, leases
    /// (with their remaining time) and revisions survive, as across a real restart.
    pub fn restart(&mut self) -> Result<(), EngineError> {
        self.stop()?;
        // The ports were ours a moment ago; someone probing for free ports may hold one
        // briefly, so a clash is retried on the same ports rather than failing at once.
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
            format!(
                "ports {} and {} were taken while the server was down",
                self.client_port, self.peer_port
            ),
            &self.log_path(),
        ))
    }

    /// Starts `etcd` on the current ports and waits until it serves reads.
    fn launch_and_wait(&mut self) -> Result<Outcome, EngineError> {
        let log = self.log_path();
        let (out, err) = log_stdio(ENGINE, &log)?;
        let client_url = self.endpoint();
        let peer_url = format!("http://127.0.0.1:{}", self.peer_port);
        let mut cmd = Command::new(&self.bin);
        cmd.arg("--name")
            .arg(&self.name)
            .arg("--data-dir")
            .arg(self.data_dir())
            .args(["--listen-client-urls", &client_url])
            .args(["--advertise-client-urls", &client_url])
            .args(["--listen-peer-urls", &peer_url])
            .args(["--initial-advertise-peer-urls", &peer_url])
            .args(["--initial-cluster", &format!("{}={peer_url}", self.name)])
            // Ignored on a restart, where the data directory already names the cluster.
            .args(["--initial-cluster-state", "new"])
            .args(["--initial-cluster-token", &self.name])
            .args(["--logger", "zap", "--log-outputs", "stderr"])
            .current_dir(self.dir.path())
            .stdin(Stdio::null())
            .stdout(out)
            .stderr(err);
        // etcd reads every flag from an ETCD_* variable too; one in this program's environment
        // must not reconfigure (or conflict with) the harness's server.
        for (key, _) in std::env::vars_os() {
            if key.to_string_lossy().starts_with("ETCD_") {
                cmd.env_remove(key);
            }
        }
        let child = spawn_tied(cmd, libc::SIGKILL)
            .map_err(|e| EngineError::io(ENGINE, "starting etcd", e))?;
        self.child = Some(child);

        let endpoint = self.endpoint();
        let name = self.name.clone();
        let child = self.child.as_mut().expect("just started");
        let probe = block_on(async move {
            let deadline = Instant::now() + DEADLINE;
            loop {
                match child.try_wait() {
                    Ok(Some(status)) => return Probe::Exited(status),
                    Ok(None) => {}
                    Err(e) => return Probe::Io(e),
                }
                if let Some(members) = get_and_list_members(&endpoint).await {
                    return if members.contains(&name) {
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
                        format!("etcd exited with {status}"),
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
                    format!("no read served on {} within {DEADLINE:?}", self.endpoint()),
                    &log,
                ))
            }
            Probe::Io(e) => {
                self.kill()?;
                Err(EngineError::io(ENGINE, "watching the starting server", e))
            }
        }
    }
}

/// Connects, reads a key (which needs a leader, so the member is really serving) and lists
/// the members' names; `None` if the server does not answer yet.
async fn get_and_list_members(endpoint: &str) -> Option<Vec<String>> {
    let options = etcd_client::ConnectOptions::new()
        .with_connect_timeout(Duration::from_secs(2))
        .with_timeout(Duration::from_secs(5));
    let attempt = async {
        let mut client = etcd_client::Client::connect([endpoint], Some(options))
            .await
            .ok()?;
        client.get("darkstar-harness-probe", None).await.ok()?;
        let members = client.member_list().await.ok()?;
        Some(
            members
                .members()
                .iter()
                .map(|m| m.name().to_string())
                .collect(),
        )
    };
    tokio::time::timeout(Duration::from_secs(10), attempt)
        .await
        .ok()?
}

impl Drop for Etcd {
    fn drop(&mut self) {
        // No clean shutdown is needed: the data directory goes with the handle.
        let _ = self.kill();
        // The TempDir field removes the directory after this.
    }
}
