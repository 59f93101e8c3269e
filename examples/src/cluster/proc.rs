//! CPU time of processes, from `/proc/<pid>/stat`.

use std::time::Duration;

/// Clock ticks per second, the unit of `/proc/<pid>/stat`'s times.
fn ticks_per_sec() -> u64 {
    // SAFETY: sysconf has no preconditions.
    let t = unsafe { libc::sysconf(libc::_SC_CLK_TCK) };
    if t > 0 {
        t as u64
    } else {
        100
    }
}

/// The user, system, reaped children's user and reaped children's system times of `pid`,
/// in ticks; `None` once it is gone.
fn times(pid: u32) -> Option<[u64; 4]> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name is in parentheses and may hold spaces: count fields after it.
    // After ")": state (3), ppid (4), ..., utime (14), stime (15), cutime (16), cstime (17).
    let rest = &stat[stat.rfind(')')? + 1..];
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let get = |field: usize| fields.get(field - 3)?.parse::<u64>().ok();
    Some([get(14)?, get(15)?, get(16)?, get(17)?])
}

fn duration(ticks: u64) -> Duration {
    let per_sec = ticks_per_sec();
    Duration::from_secs(ticks / per_sec)
        + Duration::from_nanos((ticks % per_sec) * 1_000_000_000 / per_sec)
}

/// The CPU time (user and system) process `pid` has used so far; `None` once it is gone.
pub fn cpu_time(pid: u32) -> Option<Duration> {
    let [user, system, ..] = times(pid)?;
    Some(duration(user + system))
}

/// The CPU time of process `pid` together with that of its children it has reaped (the
/// way a PostgreSQL postmaster accounts for backends that came and went); `None` once it
/// is gone.
pub fn cpu_time_with_reaped(pid: u32) -> Option<Duration> {
    let [user, system, child_user, child_system] = times(pid)?;
    Some(duration(user + system + child_user + child_system))
}

/// The CPU time of this process so far (all its threads, not its children).
pub fn own_cpu_time() -> Duration {
    cpu_time(std::process::id()).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn this_process_uses_cpu() {
        let before = own_cpu_time();
        let mut x = 0u64;
        let start = std::time::Instant::now();
        while start.elapsed() < Duration::from_millis(50) {
            x = x.wrapping_add(std::hint::black_box(1));
        }
        assert!(x > 0);
        assert!(own_cpu_time() > before);
        assert!(cpu_time(u32::MAX).is_none());
    }
}
