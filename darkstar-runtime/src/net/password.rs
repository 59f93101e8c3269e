//! Password hashes: argon2id in PHC string form, computed in memory of our own.
//!
//! argon2 needs 19 MiB per hash. Allocated through the global allocator, freed blocks of
//! that size tend to stay in the allocator's per-thread arenas, so a storm of logins grows
//! the process by gigabytes that never come back. Here each hash maps its blocks directly
//! from the kernel and unmaps them when it is done: what a hash costs is held only while
//! it runs, and the login threads bound how many run at once.

use argon2::password_hash::{PasswordHash, SaltString};
use argon2::{Algorithm, Argon2, Block, Params, Version};
use memmap2::MmapMut;

/// The largest memory cost a stored hash may ask for, in KiB: a damaged or planted hash
/// must not make one login take gigabytes.
const MAX_MEMORY_KIB: u32 = 256 * 1024;

/// The largest time cost (passes over the memory) a stored hash may ask for.
const MAX_PASSES: u32 = 16;

/// Why a password could not be hashed or checked.
#[derive(Debug, thiserror::Error)]
pub(crate) enum HashError {
    /// The stored hash is not one this server can check.
    #[error("the stored password hash is damaged or uses parameters this server refuses: {0}")]
    Stored(String),
    /// Hashing failed (no memory, no randomness).
    #[error("cannot hash the password: {0}")]
    Failed(String),
}

/// Memory for one hash, mapped from the kernel and given back when dropped.
struct Blocks {
    map: MmapMut,
    count: usize,
}

impl Blocks {
    fn new(count: usize) -> Result<Blocks, HashError> {
        let map = MmapMut::map_anon(count * Block::SIZE)
            .map_err(|e| HashError::Failed(format!("cannot map {count} KiB: {e}")))?;
        Ok(Blocks { map, count })
    }
}

impl AsMut<[Block]> for Blocks {
    fn as_mut(&mut self) -> &mut [Block] {
        const { assert!(std::mem::size_of::<Block>() == Block::SIZE) };
        assert!(self.map.len() >= self.count * Block::SIZE);
        assert_eq!(
            self.map.as_ptr() as usize % std::mem::align_of::<Block>(),
            0
        );
        // SAFETY: the mapping is page aligned (asserted to suit `Block`'s 64-byte alignment)
        // and at least `count` blocks long (asserted), it is borrowed mutably for the
        // slice's lifetime, and a `Block` is plain `u64`s, for which any bytes (here the
        // kernel's zeros, or a previous hash's words) are valid.
        unsafe { std::slice::from_raw_parts_mut(self.map.as_mut_ptr().cast::<Block>(), self.count) }
    }
}

fn hash_with(
    argon: &Argon2<'static>,
    password: &[u8],
    salt: &[u8],
    out: &mut [u8],
) -> Result<(), HashError> {
    let (argon, password, salt, len) = (argon.clone(), password.to_vec(), salt.to_vec(), out.len());
    let computed = on_hasher(move || {
        let blocks = Blocks::new(argon.params().block_count())?;
        let mut out = vec![0u8; len];
        argon
            .hash_password_into_with_memory(&password, &salt, &mut out, blocks)
            .map_err(|e| HashError::Failed(e.to_string()))?;
        Ok(out)
    })?;
    out.copy_from_slice(&computed);
    Ok(())
}

type Job = Box<dyn FnOnce() + Send>;

thread_local! {
    /// This thread's hashing thread, if it has one (the login threads do).
    static HASHER: std::cell::RefCell<Option<std::sync::mpsc::Sender<Job>>> =
        const { std::cell::RefCell::new(None) };
}

/// Gives the calling thread a hashing thread of its own, under the idle scheduling policy,
/// which then runs every argon2 computation this thread asks for, while this thread keeps
/// its normal priority for the rest of a login (reading and writing the store, whose locks
/// an idle thread must never hold: preempted while holding one, it would stall every core).
/// The hashing thread ends with the calling thread.
pub(crate) fn give_this_thread_a_hasher(name: String) -> std::io::Result<()> {
    let (tx, rx) = std::sync::mpsc::channel::<Job>();
    std::thread::Builder::new().name(name).spawn(move || {
        lower_priority();
        while let Ok(job) = rx.recv() {
            job();
        }
    })?;
    HASHER.with(|h| *h.borrow_mut() = Some(tx));
    Ok(())
}

/// Runs `f` on this thread's hashing thread, waiting for it; on this thread if it has none.
fn on_hasher<R: Send + 'static>(f: impl FnOnce() -> R + Send + 'static) -> R {
    let sender = HASHER.with(|h| h.borrow().clone());
    let Some(sender) = sender else {
        return f();
    };
    let (tx, rx) = std::sync::mpsc::sync_channel(1);
    let job: Job = Box::new(move || {
        let _ = tx.send(f());
    });
    if sender.send(job).is_err() {
        panic!("the hashing thread of a login thread is gone");
    }
    rx.recv().expect("the hashing thread answers every job")
}

/// The nice value hashing threads fall back to where the idle policy is not allowed.
const NICENESS: i32 = 19;

fn lower_priority() {
    // SCHED_IDLE, unlike any nice value, makes the kernel preempt the thread as soon as a
    // normal thread wakes up on its CPU: a hash never delays a core's next batch.
    let param = libc::sched_param { sched_priority: 0 };
    // SAFETY: sched_setscheduler reads the parameter passed to it; 0 means this thread.
    if unsafe { libc::sched_setscheduler(0, libc::SCHED_IDLE, &param) } == 0 {
        return;
    }
    let idle = std::io::Error::last_os_error();
    // SAFETY: gettid has no preconditions.
    let tid = unsafe { libc::syscall(libc::SYS_gettid) };
    // On Linux a nice value belongs to a thread, so this lowers this thread alone.
    // SAFETY: setpriority reads its integer arguments only.
    let r = unsafe { libc::setpriority(libc::PRIO_PROCESS, tid as libc::id_t, NICENESS) };
    if r != 0 {
        tracing::warn!(
            error = %idle,
            "cannot lower the priority of a login thread; logins compete with game work"
        );
    }
}

/// A new hash of `password`, with a random salt and the default parameters (argon2id,
/// 19 MiB, 2 passes), in PHC string form.
pub(crate) fn hash(password: &str) -> Result<String, HashError> {
    let mut salt = [0u8; 16];
    getrandom::fill(&mut salt).map_err(|e| HashError::Failed(e.to_string()))?;
    let params = Params::default();
    let argon = Argon2::new(Algorithm::Argon2id, Version::V0x13, params.clone());
    let mut out = [0u8; Params::DEFAULT_OUTPUT_LEN];
    hash_with(&argon, password.as_bytes(), &salt, &mut out)?;
    let salt = SaltString::encode_b64(&salt).map_err(|e| HashError::Failed(e.to_string()))?;
    let output =
        argon2::password_hash::Output::new(&out).map_err(|e| HashError::Failed(e.to_string()))?;
    let phc = PasswordHash {
        algorithm: Algorithm::Argon2id.ident(),
        version: Some(Version::V0x13.into()),
        params: (&params)
            .try_into()
            .map_err(|e: argon2::password_hash::Error| HashError::Failed(e.to_string()))?,
        salt: Some(salt.as_salt()),
        hash: Some(output),
    };
    Ok(phc.to_string())
}

/// Whether `password` matches the stored hash `phc`. The comparison takes the same time
/// wherever the first difference is.
pub(crate) fn verify(password: &str, phc: &str) -> Result<bool, HashError> {
    let stored = |e: &dyn std::fmt::Display| HashError::Stored(e.to_string());
    let parsed = PasswordHash::new(phc).map_err(|e| stored(&e))?;
    let algorithm = Algorithm::try_from(parsed.algorithm).map_err(|e| stored(&e))?;
    let version = match parsed.version {
        Some(v) => Version::try_from(v).map_err(|e| stored(&e))?,
        None => Version::default(),
    };
    let params = Params::try_from(&parsed).map_err(|e| stored(&e))?;
    if params.m_cost() > MAX_MEMORY_KIB || params.t_cost() > MAX_PASSES {
        return Err(HashError::Stored(format!(
            "memory {} KiB and {} passes, above the {MAX_MEMORY_KIB} KiB and {MAX_PASSES} passes allowed",
            params.m_cost(),
            params.t_cost()
        )));
    }
    let (Some(salt), Some(expected)) = (parsed.salt, parsed.hash) else {
        return Err(HashError::Stored("no salt or no hash".to_owned()));
    };
    let mut salt_buf = [0u8; 64];
    let salt = salt.decode_b64(&mut salt_buf).map_err(|e| stored(&e))?;
    let argon = Argon2::new(algorithm, version, params);
    let mut out = [0u8; 64];
    let out = &mut out[..expected.len()];
    hash_with(&argon, password.as_bytes(), salt, out)?;
    let computed = argon2::password_hash::Output::new(out).map_err(|e| stored(&e))?;
    // `Output`'s equality is constant-time.
    Ok(computed == expected)
}

#[cfg(test)]
mod tests {
    use super::*;
    use argon2::password_hash::PasswordVerifier;

    #[test]
    fn hashes_verify_here_and_with_the_reference_implementation() {
        let phc = hash("correct horse").unwrap();
        assert!(phc.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"), "{phc}");
        assert!(verify("correct horse", &phc).unwrap());
        assert!(!verify("wrong horse", &phc).unwrap());
        let parsed = PasswordHash::new(&phc).unwrap();
        assert!(Argon2::default()
            .verify_password(b"correct horse", &parsed)
            .is_ok());
    }

    #[test]
    fn hashes_of_the_reference_implementation_verify() {
        use argon2::password_hash::PasswordHasher;
        let salt = SaltString::encode_b64(b"sixteen byte sal").unwrap();
        let phc = Argon2::default()
            .hash_password(b"pw", &salt)
            .unwrap()
            .to_string();
        assert!(verify("pw", &phc).unwrap());
        assert!(!verify("pW", &phc).unwrap());
    }

    #[test]
    fn hashes_run_on_an_idle_thread_of_their_own() {
        std::thread::spawn(|| {
            give_this_thread_a_hasher("test-hasher".into()).unwrap();
            // SAFETY: sched_getscheduler reads its integer argument only; 0 is this thread.
            let policy = on_hasher(|| unsafe { libc::sched_getscheduler(0) });
            assert_eq!(policy, libc::SCHED_IDLE);
            // SAFETY: as above.
            assert_ne!(unsafe { libc::sched_getscheduler(0) }, libc::SCHED_IDLE);
            let phc = hash("pw").unwrap();
            assert!(verify("pw", &phc).unwrap());
        })
        .join()
        .unwrap();
    }

    #[test]
    fn damaged_or_greedy_hashes_are_refused() {
        assert!(matches!(
            verify("x", "not a hash"),
            Err(HashError::Stored(_))
        ));
        let greedy = "$argon2id$v=19$m=4194304,t=2,p=1$c2l4dGVlbiBieXRlIHNhbA$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA";
        let e = verify("x", greedy).unwrap_err().to_string();
        assert!(e.contains("4194304 KiB"), "{e}");
    }
}
