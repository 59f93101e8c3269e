//! Load generation: the reference transfer workload, submitted from outside the server as
//! client requests would be.

mod driver;
mod latency;
mod rng;
mod zipf;

pub use driver::{drive, LoadStats, Workload};
pub use latency::Latency;
pub use rng::Rng;
pub use zipf::Zipf;
