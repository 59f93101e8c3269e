//! Node.js packages of the repository (`web/`), prepared for the tests that run them: their
//! npm dependencies installed from the lockfile and their TypeScript built, once per test
//! process and under a file lock, since test binaries run at the same time.

use std::fs::File;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Mutex;

/// The repository's `web/<name>` package directory.
pub fn package_dir(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../web")
        .join(name)
}

/// Installs `web/<name>`'s dependencies with `npm ci` unless `node_modules` already holds
/// what its lockfile names, then runs its `build` script. Returns the package directory.
///
/// Panics with what to install when `npm` is missing, and with npm's output when a step
/// fails.
pub fn prepare(name: &str) -> PathBuf {
    static DONE: Mutex<Vec<String>> = Mutex::new(Vec::new());
    let mut done = DONE.lock().unwrap_or_else(|e| e.into_inner());
    let dir = package_dir(name);
    if done.iter().any(|d| d == name) {
        return dir;
    }
    // npm ci deletes node_modules first: two processes doing it at once would break each
    // other, so the whole preparation holds an exclusive lock on the package's lockfile.
    let lock = File::open(dir.join("package-lock.json"))
        .unwrap_or_else(|e| panic!("{}: {e}", dir.join("package-lock.json").display()));
    // SAFETY: flock on a file descriptor this function owns; released when `lock` drops.
    let rc = unsafe { libc::flock(std::os::fd::AsRawFd::as_raw_fd(&lock), libc::LOCK_EX) };
    assert_eq!(rc, 0, "cannot lock {}", dir.display());
    if !installed(&dir) {
        npm(&dir, &["ci", "--no-audit", "--no-fund"]);
    }
    npm(&dir, &["run", "build"]);
    done.push(name.to_owned());
    dir
}

/// A package prepared with [`prepare`], and what its committed build output held before
/// that build could rewrite it.
pub struct Prepared {
    /// The package directory.
    pub dir: PathBuf,
    /// Each of the files asked for, by name, with the bytes it held.
    pub committed: Vec<(&'static str, Vec<u8>)>,
}

/// [`prepare`]s `web/<name>`, first reading `files` in `built` (the committed output of
/// its build, which the build rewrites when the sources changed): a test then compares
/// them with a fresh build.
pub fn prepare_keeping(name: &str, built: &Path, files: &[&'static str]) -> Prepared {
    let committed = files
        .iter()
        .map(|&file| {
            let path = built.join(file);
            let bytes = std::fs::read(&path)
                .unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
            (file, bytes)
        })
        .collect();
    Prepared {
        dir: prepare(name),
        committed,
    }
}

/// Whether `node_modules` was installed from the lockfile as it is now (npm writes its own
/// copy, `node_modules/.package-lock.json`, when it installs).
fn installed(dir: &Path) -> bool {
    let hidden = dir.join("node_modules/.package-lock.json");
    let (Ok(installed), Ok(lock)) = (
        std::fs::metadata(&hidden).and_then(|m| m.modified()),
        std::fs::metadata(dir.join("package-lock.json")).and_then(|m| m.modified()),
    ) else {
        return false;
    };
    installed >= lock
}

/// Runs `npm args` in `dir`, panicking with its output if it fails.
pub fn npm(dir: &Path, args: &[&str]) {
    run(Command::new("npm").args(args).current_dir(dir), "npm");
}

/// Runs `command`, panicking with its output if it cannot start or fails.
pub fn run(command: &mut Command, what: &str) -> String {
    let output = command.output().unwrap_or_else(|e| {
        panic!("cannot run {what} ({e}): install Node.js 20 or newer and npm (Debian: nodejs, npm)")
    });
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success(),
        "{what} failed ({}):\n{stdout}\n{stderr}",
        output.status
    );
    stdout
}

/// Debian's Chromium, which the browser tests drive (nothing downloads a browser).
pub fn chromium() -> PathBuf {
    let on_path: Vec<PathBuf> = std::env::var_os("PATH")
        .map(|path| {
            std::env::split_paths(&path)
                .map(|dir| dir.join("chromium"))
                .collect()
        })
        .unwrap_or_default();
    std::iter::once(PathBuf::from("/usr/bin/chromium"))
        .chain(on_path)
        .find(|path| path.is_file())
        .unwrap_or_else(|| {
            panic!("chromium not found (/usr/bin/chromium or on PATH): install the Debian package chromium")
        })
}
