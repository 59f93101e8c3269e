//! What operators hear about refused, broken and hostile connections: every incident is
//! counted in the metrics, and logged with the peer's address at a bounded rate per kind,
//! so an attack shows in the logs without the logs becoming the attack's amplifier.

use std::net::SocketAddr;
use std::time::Instant;

use parking_lot::Mutex;
use tracing::{info, warn};

use crate::net::admission::Limit;
use crate::net::pace::Pace;

/// A kind of incident.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Incident {
    /// A connection or login refused by a limit.
    Refused(Limit),
    /// A malformed frame, a frame out of place, a stalled frame.
    ProtocolError,
    /// A frame over `max_frame`.
    FrameTooLarge,
    /// No login within the login timeout.
    LoginTimeout,
    /// A session cut off because it did not read.
    TooSlow,
    /// A session held to its message rate (`session_messages_per_sec`, `session_kib_per_sec`).
    Throttled,
    /// A connection that failed its WebSocket handshake.
    Handshake,
    /// A login refused by the authenticator (unknown account, wrong password).
    LoginRefused,
}

impl Incident {
    fn index(self) -> usize {
        match self {
            Incident::Refused(_) => 0,
            Incident::ProtocolError => 1,
            Incident::FrameTooLarge => 2,
            Incident::LoginTimeout => 3,
            Incident::TooSlow => 4,
            Incident::Throttled => 5,
            Incident::Handshake => 6,
            Incident::LoginRefused => 7,
        }
    }
}

const KINDS: usize = 8;

/// Lines logged per second of each kind (in bursts of as many); the rest are counted and
/// mentioned in the next line of their kind.
const LINES_PER_SEC: u32 = 5;

struct Gate {
    pace: Pace,
    suppressed: u64,
}

/// The incident log of one server.
pub(crate) struct Incidents {
    gates: [Mutex<Gate>; KINDS],
}

impl Incidents {
    pub fn new() -> Incidents {
        let now = Instant::now();
        Incidents {
            gates: std::array::from_fn(|_| {
                Mutex::new(Gate {
                    pace: Pace::new(LINES_PER_SEC, now),
                    suppressed: 0,
                })
            }),
        }
    }

    /// Records an incident with `peer`; `detail` says what happened.
    pub fn report(&self, incident: Incident, peer: SocketAddr, detail: &str) {
        if let Incident::Refused(limit) = incident {
            metrics::counter!("darkstar_limits_total", "limit" => limit.key()).increment(1);
        }
        if let Incident::Throttled = incident {
            metrics::counter!("darkstar_limits_total", "limit" => "session_rate").increment(1);
        }
        let suppressed = {
            let mut gate = self.gates[incident.index()].lock();
            if !gate.pace.try_spend(1, Instant::now()) {
                gate.suppressed += 1;
                return;
            }
            std::mem::take(&mut gate.suppressed)
        };
        match incident {
            Incident::Refused(limit) => warn!(
                %peer,
                limit = limit.key(),
                suppressed,
                "refused a connection or login: {detail}"
            ),
            Incident::Throttled => info!(
                %peer,
                suppressed,
                "holding a session to its message rate: {detail}"
            ),
            Incident::TooSlow => {
                warn!(%peer, suppressed, "cut off a client that does not read: {detail}")
            }
            Incident::LoginRefused => info!(%peer, suppressed, "refused a login: {detail}"),
            Incident::ProtocolError
            | Incident::FrameTooLarge
            | Incident::LoginTimeout
            | Incident::Handshake => info!(
                %peer,
                suppressed,
                "closed a connection: {detail}"
            ),
        }
    }
}
