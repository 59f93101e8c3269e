//! Attacks on a server, at realistic scale, and the well-behaved players measured beside
//! them: a storm of logins with wrong passwords from many addresses, connection churn,
//! a burst from one address ([`storm`]), and a client flooding a channel ([`flood`]).
//! `tests/tests/attacks.rs` asserts what must hold while they run; the `attack` benchmark
//! prints what they cost.
//!
//! The server under attack ([`AttackApp`]) runs in a child process ([`child`]), so that its
//! memory and CPU can be measured apart from the attackers'. Attackers connect from other
//! loopback addresses (127.0.0.2 and up), as they would from other hosts, and run under
//! the idle scheduling policy ([`attackers`]), standing in for other machines.

pub mod child;
mod flood;
mod memory;
mod players;
mod scenario;
mod storm;
mod target;
mod wire;

pub use flood::{flood, Flood};
pub use memory::{cpu_time, Peak, MIB};
pub use players::{log_in, percentile, play, spread, Played};
pub use scenario::{around, run_flood, run_storm, Attack, FloodReport, Report, StormReport};
pub use storm::{attackers, storm};
pub use target::{account, serve_if_child, AttackApp, Target, LOBBY, PASSWORD, PLAYERS};
