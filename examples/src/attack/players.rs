//! Well-behaved players: each sends a message at a steady pace and waits for its echo,
//! reading everything else that comes meanwhile. Each round trip is a latency sample.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use darkstar_client::{Client, Endpoint, Event, Options};

use crate::attack::target::PASSWORD;

/// Logs in as `name` (with [`PASSWORD`]), without reconnecting by itself.
pub async fn log_in(addr: SocketAddr, name: String) -> Client {
    let options = Options {
        reconnect: false,
        ..Options::default()
    };
    Client::connect_with(Endpoint::tcp(addr.to_string()), &name, PASSWORD, options)
        .await
        .unwrap_or_else(|e| panic!("{name} logs in: {e}"))
}

/// What one player saw.
#[derive(Default)]
struct Seen {
    latencies: Vec<Duration>,
    channel_messages: u64,
    disconnected: Option<String>,
}

impl Seen {
    /// Takes one event that is not the awaited echo; `false` once the session is over.
    fn other(&mut self, event: Option<Event>) -> bool {
        match event {
            Some(Event::ChannelMessage { .. }) => self.channel_messages += 1,
            Some(Event::Disconnected { reason, text }) => {
                self.disconnected = Some(format!("{reason}: {text}"));
                return false;
            }
            None => {
                self.disconnected = Some("the event stream ended".into());
                return false;
            }
            Some(_) => {}
        }
        true
    }
}

/// Plays: a message every `every`, each answered by its echo, `rounds` times or until
/// `stop`, reading every event meanwhile (between messages too).
async fn ping(
    client: &mut Client,
    every: Duration,
    rounds: usize,
    stop: &AtomicBool,
    seen: &mut Seen,
) {
    let mut due = tokio::time::Instant::now();
    let mut i = 0;
    while i < rounds && !stop.load(Ordering::Relaxed) {
        while let Ok(event) = tokio::time::timeout_at(due, client.next_event()).await {
            if !seen.other(event) {
                return;
            }
        }
        due += every;
        let body = format!("ping {i}").into_bytes();
        let sent = Instant::now();
        if client.send(body.clone()).await.is_err() {
            seen.disconnected = Some("the session closed".into());
            return;
        }
        loop {
            let Ok(event) =
                tokio::time::timeout(Duration::from_secs(60), client.next_event()).await
            else {
                seen.disconnected = Some("no echo within 60 s".into());
                return;
            };
            if event.as_ref() == Some(&Event::Message(body.clone())) {
                seen.latencies.push(sent.elapsed());
                break;
            }
            if !seen.other(event) {
                return;
            }
        }
        i += 1;
    }
}

/// What the players of a [`play`] saw together.
pub struct Played {
    /// The players, still logged in (unless disconnected).
    pub clients: Vec<Client>,
    /// Every round trip's time.
    pub latencies: Vec<Duration>,
    /// The most channel messages one player received.
    pub channel_messages: u64,
    /// Why players were disconnected, one entry each.
    pub disconnected: Vec<String>,
}

/// Every client plays at once, `rounds` times each or until `stop`.
pub async fn play(
    clients: Vec<Client>,
    every: Duration,
    rounds: usize,
    stop: Arc<AtomicBool>,
) -> Played {
    let players: Vec<_> = clients
        .into_iter()
        .map(|mut c| {
            let stop = stop.clone();
            tokio::spawn(async move {
                let mut seen = Seen::default();
                ping(&mut c, every, rounds, &stop, &mut seen).await;
                (c, seen)
            })
        })
        .collect();
    let mut played = Played {
        clients: Vec::new(),
        latencies: Vec::new(),
        channel_messages: 0,
        disconnected: Vec::new(),
    };
    for p in players {
        let (c, seen) = p.await.expect("a player's task");
        played.latencies.extend(seen.latencies);
        played.channel_messages = played.channel_messages.max(seen.channel_messages);
        played.disconnected.extend(seen.disconnected);
        played.clients.push(c);
    }
    played
}

/// The `p`th percentile of `samples` (which it sorts).
pub fn percentile(samples: &mut [Duration], p: usize) -> Duration {
    assert!(!samples.is_empty(), "no samples");
    samples.sort();
    samples[(samples.len() * p / 100).min(samples.len() - 1)]
}

/// The 50th, 90th, 99th percentiles, for people.
pub fn spread(samples: &mut [Duration]) -> String {
    [50, 90, 99]
        .map(|p| format!("p{p} {:.2} ms", percentile(samples, p).as_secs_f64() * 1e3))
        .join(", ")
}
