//! Load generation: the reference transfer workload, submitted from outside the server as
//! client requests would be.

mod driver;
mod lane;
mod latency;
mod rng;
mod session_lane;
mod zipf;

pub use driver::{drive, LoadStats, Workload};
pub use lane::{carry_lanes, Lane, Pipeline};
pub use latency::Latency;
pub use rng::Rng;
pub use session_lane::SessionLane;
pub use zipf::Zipf;
