//! Start-up refuses what would not work, with an error that says why.

mod common;

use common::*;
use darkstar_runtime::{Server, StartError};
use darkstar_sdk::prelude::*;

mod other {
    use darkstar_sdk::prelude::*;

    /// Claims the counter's stable name.
    #[managed(name = "test.Counter")]
    pub struct Impostor {
        pub text: String,
    }
}

struct Clashing;

impl App for Clashing {
    fn register(&self, types: &mut Types) {
        types.object::<Counter>().object::<other::Impostor>();
    }
}

#[test]
fn two_types_with_one_stable_name_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let e = Server::builder(Clashing)
        .config(config(dir.path()))
        .start()
        .unwrap_err();
    assert!(
        matches!(e, StartError::DuplicateTypeName("test.Counter")),
        "{e}"
    );
}

#[test]
fn executors_that_cannot_start_fail_the_start() {
    // The executors need locked memory for io_uring; with a tiny limit they cannot start.
    // Run in a child process, since the limit is per process.
    let exe = std::env::current_exe().unwrap();
    let out = std::process::Command::new("bash")
        .arg("-c")
        .arg("ulimit -l 16 && exec \"$0\" --ignored --exact memlock_child --nocapture")
        .arg(exe)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.contains("START FAILED: cannot start the executors"),
        "the child did not report a failed start:\n{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
#[ignore = "run by executors_that_cannot_start_fail_the_start"]
fn memlock_child() {
    let dir = tempfile::tempdir().unwrap();
    match Server::builder(TestGame).config(config(dir.path())).start() {
        Ok(server) => {
            println!("STARTED");
            drop(server);
        }
        Err(e) => println!("START FAILED: {e}"),
    }
}

/// Registers the counter and also declares it removed.
struct RemovesWhatItRegisters;

impl App for RemovesWhatItRegisters {
    fn register(&self, types: &mut Types) {
        types.object::<Counter>().removed("test.Counter");
    }
}

#[test]
fn a_type_both_registered_and_removed_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let e = Server::builder(RemovesWhatItRegisters)
        .config(config(dir.path()))
        .start()
        .unwrap_err();
    assert!(
        matches!(e, StartError::RemovedTypeRegistered("test.Counter")),
        "{e}"
    );
}
