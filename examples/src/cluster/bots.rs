//! Bots that follow the cluster: each pipelines transfers into one node and, when that node
//! goes away, resumes its session on a live one (or, if that fails, logs in again).

use std::collections::VecDeque;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use darkstar_client::{Client, Endpoint, Event, Options};
use tokio::sync::mpsc::UnboundedSender;

use crate::bank::request::TransferReply;
use crate::load::{Lane, Pipeline};

/// No node.
const NOWHERE: usize = usize::MAX;

/// Where the bots find the nodes, which of them are up, and which node each bot is on.
/// The program that runs the nodes marks them down when they exit; a bot that cannot
/// reach a node tries the next one anyway.
pub struct Directory {
    nodes: Vec<NodeEntry>,
    bots: Vec<AtomicUsize>,
}

struct NodeEntry {
    addr: Mutex<String>,
    up: AtomicBool,
}

impl Directory {
    /// The nodes at `addrs`, all up, and `bots` bots on none of them yet.
    pub fn new(addrs: Vec<String>, bots: usize) -> Arc<Directory> {
        Arc::new(Directory {
            nodes: addrs
                .into_iter()
                .map(|a| NodeEntry {
                    addr: Mutex::new(a),
                    up: AtomicBool::new(true),
                })
                .collect(),
            bots: (0..bots).map(|_| AtomicUsize::new(NOWHERE)).collect(),
        })
    }

    /// Node `node` is down: no bot logs in there.
    pub fn set_down(&self, node: usize) {
        self.nodes[node].up.store(false, Ordering::Release);
    }

    /// Node `node` is up at `addr`.
    pub fn set_up(&self, node: usize, addr: String) {
        *self.nodes[node].addr.lock().expect("not poisoned") = addr;
        self.nodes[node].up.store(true, Ordering::Release);
    }

    /// Whether node `node` is up.
    pub fn is_up(&self, node: usize) -> bool {
        self.nodes[node].up.load(Ordering::Acquire)
    }

    /// The node listening at `addr`.
    fn index_of(&self, addr: &str) -> Option<usize> {
        (0..self.nodes.len()).find(|&i| self.addr(i) == addr)
    }

    /// The node a client's endpoint names.
    fn node_at(&self, endpoint: &Endpoint) -> Option<usize> {
        match endpoint {
            Endpoint::Tcp(addr) => self.index_of(addr),
            Endpoint::WebSocket(_) => None,
        }
    }

    /// Every node's endpoint.
    fn endpoints(&self) -> Vec<Endpoint> {
        (0..self.nodes.len())
            .map(|i| Endpoint::tcp(self.addr(i)))
            .collect()
    }

    fn addr(&self, node: usize) -> String {
        self.nodes[node].addr.lock().expect("not poisoned").clone()
    }

    /// The node bot `bot` is logged in on, if any.
    pub fn node_of(&self, bot: usize) -> Option<usize> {
        match self.bots[bot].load(Ordering::Acquire) {
            NOWHERE => None,
            n => Some(n),
        }
    }

    /// How many bots are logged in on node `node`.
    pub fn bots_on(&self, node: usize) -> usize {
        self.bots
            .iter()
            .filter(|b| b.load(Ordering::Acquire) == node)
            .count()
    }

    /// The first node that is up, from `from` on, round the ring.
    fn next_up(&self, from: usize) -> Option<usize> {
        let n = self.nodes.len();
        (0..n).map(|i| (from + i) % n).find(|&i| self.is_up(i))
    }
}

/// What happened to a bot, for whoever watches the load.
#[derive(Clone, Debug)]
pub enum BotEvent {
    /// It lost its node (the connection broke, the session ended, or no reply came in
    /// time); its requests in flight are lost, whether or not they committed.
    Lost {
        /// The bot.
        bot: usize,
        /// The node it was on.
        node: usize,
        /// When it noticed.
        at: Instant,
        /// What it saw.
        why: String,
    },
    /// It carries on at another node after losing one: its session resumed there (nothing
    /// in flight lost), or, failing that, a new login.
    Moved {
        /// The bot.
        bot: usize,
        /// The node it lost.
        from: usize,
        /// The node it is on now.
        to: usize,
        /// When the login was accepted.
        at: Instant,
    },
    /// Its first transfer after moving was acknowledged.
    Acked {
        /// The bot.
        bot: usize,
        /// The node that acknowledged it.
        node: usize,
        /// When.
        at: Instant,
    },
}

/// A bot: a [`Pipeline`] over sessions that outlives its node. It logs in at node `home`
/// (or the next one up; a cluster may redirect the login to the node that owns the
/// player), and when its node goes away its client resumes the session through the other
/// nodes (`Options::fallbacks`), which takes it over at the new owner of the player's
/// slot, with every request in flight answered once. Only if that fails (the window
/// passed) does it log in again, under the same name, at the next node that is up; what
/// was in flight is then lost (the audit does not care: every transfer is all or
/// nothing).
pub struct RoamingLane {
    /// Its index, in [`Directory`] and [`BotEvent`]s.
    pub bot: usize,
    /// Its login name.
    pub name: String,
    /// The node it starts on.
    pub home: usize,
    /// The nodes.
    pub directory: Arc<Directory>,
    /// The load's stop flag (the one given to `carry_lanes`): no more logins once set.
    pub stop: Arc<AtomicBool>,
    /// Where to report moves, if anyone listens.
    pub events: Option<UnboundedSender<BotEvent>>,
    /// How long a reply may take before the node counts as gone.
    pub reply_timeout: Duration,
    /// Messages the client keeps in flight at most (the server's `session_window`).
    pub window: u32,
}

/// Why a session ended.
enum Ended {
    /// The load stopped and every reply came in.
    Done,
    /// The node went away; log in elsewhere.
    Lost(String),
}

impl RoamingLane {
    fn report(&self, event: BotEvent) {
        if let Some(tx) = &self.events {
            let _ = tx.send(event);
        }
    }

    /// Logs in on the first node up from `from`; `None` once the load stops.
    async fn log_in(&self, from: usize) -> Option<(usize, Client)> {
        let mut start = from;
        let mut backoff = Duration::from_millis(20);
        while !self.stop.load(Ordering::Relaxed) {
            let Some(node) = self.directory.next_up(start) else {
                tokio::time::sleep(Duration::from_millis(100)).await;
                continue;
            };
            let options = Options {
                // Its node may be gone for good: the session resumes through the others.
                fallbacks: self.directory.endpoints(),
                window: self.window,
                ..Options::default()
            };
            let endpoint = Endpoint::tcp(self.directory.addr(node));
            let login = Client::connect_with(endpoint, &self.name, "", options);
            match tokio::time::timeout(self.reply_timeout, login).await {
                Ok(Ok(client)) => {
                    // A node may redirect the login to the node that owns the player.
                    let landed = self.directory.node_at(&client.endpoint());
                    return Some((landed.unwrap_or(node), client));
                }
                Ok(Err(_)) | Err(_) => {
                    start = node + 1;
                    tokio::time::sleep(backoff).await;
                    backoff = (backoff * 2).min(Duration::from_millis(500));
                }
            }
        }
        None
    }

    /// Carries `lane` over one session until the load stops or the session is lost for
    /// good; a session that resumes at another node moves the bot there (`node`).
    async fn session(
        &self,
        client: &mut Client,
        lane: &mut Lane,
        node: &mut usize,
        mut first_ack: Option<usize>,
    ) -> Result<Ended, String> {
        let mut resuming = false;
        let mut sent: VecDeque<(u64, Instant)> = VecDeque::with_capacity(lane.depth());
        loop {
            while sent.len() < lane.depth() {
                let Some(request) = lane.next_request() else {
                    break;
                };
                if let Err(e) = client.send(request.encode().to_vec()).await {
                    return Ok(Ended::Lost(format!("sending a request: {e}")));
                }
                sent.push_back((request.id, Instant::now()));
            }
            let Some(&(id, at)) = sent.front() else {
                return Ok(Ended::Done);
            };
            let event = match tokio::time::timeout(self.reply_timeout, client.next_event()).await {
                Ok(e) => e,
                Err(_) => {
                    return Ok(Ended::Lost(format!(
                        "no reply within {:?}",
                        self.reply_timeout
                    )))
                }
            };
            match event {
                Some(Event::Message(body)) => {
                    let reply = TransferReply::decode(&body).map_err(|e| e.to_string())?;
                    if reply.id != id {
                        return Err(format!(
                            "reply to request {} arrived while {id} was the oldest in flight",
                            reply.id
                        ));
                    }
                    sent.pop_front();
                    lane.answered(at, reply.outcome);
                    if let Some(node) = first_ack.take() {
                        self.report(BotEvent::Acked {
                            bot: self.bot,
                            node,
                            at: Instant::now(),
                        });
                    }
                }
                Some(Event::Disconnected { reason, text }) => {
                    return Ok(Ended::Lost(format!("disconnected ({reason}): {text}")))
                }
                Some(Event::Reconnecting { .. }) if !resuming => {
                    resuming = true;
                    self.directory.bots[self.bot].store(NOWHERE, Ordering::Release);
                    self.report(BotEvent::Lost {
                        bot: self.bot,
                        node: *node,
                        at: Instant::now(),
                        why: "the connection dropped; resuming".to_owned(),
                    });
                }
                Some(Event::Reconnected) => {
                    resuming = false;
                    let to = self.directory.node_at(&client.endpoint()).unwrap_or(*node);
                    self.directory.bots[self.bot].store(to, Ordering::Release);
                    self.report(BotEvent::Moved {
                        bot: self.bot,
                        from: *node,
                        to,
                        at: Instant::now(),
                    });
                    *node = to;
                    first_ack = Some(to);
                }
                Some(_) => {}
                None => return Ok(Ended::Lost("the session ended".into())),
            }
        }
    }
}

impl Pipeline for RoamingLane {
    async fn carry(self, mut lane: Lane) -> Result<(), String> {
        let mut from = self.home;
        let mut lost: Option<usize> = None;
        loop {
            let Some((node, mut client)) = self.log_in(from).await else {
                return Ok(());
            };
            self.directory.bots[self.bot].store(node, Ordering::Release);
            if let Some(old) = lost {
                self.report(BotEvent::Moved {
                    bot: self.bot,
                    from: old,
                    to: node,
                    at: Instant::now(),
                });
            }
            let first_ack = lost.map(|_| node);
            let mut node = node;
            let ended = self
                .session(&mut client, &mut lane, &mut node, first_ack)
                .await;
            match ended {
                Ok(Ended::Done) => {
                    // A node stopping under us now does not matter: the load is over.
                    let _ = client.logout().await;
                    let drain = async {
                        while let Some(event) = client.next_event().await {
                            if let Event::Disconnected { .. } = event {
                                break;
                            }
                        }
                    };
                    let _ = tokio::time::timeout(Duration::from_secs(5), drain).await;
                    self.directory.bots[self.bot].store(NOWHERE, Ordering::Release);
                    return Ok(());
                }
                Ok(Ended::Lost(why)) => {
                    self.directory.bots[self.bot].store(NOWHERE, Ordering::Release);
                    self.report(BotEvent::Lost {
                        bot: self.bot,
                        node,
                        at: Instant::now(),
                        why,
                    });
                    lost = Some(node);
                    from = node + 1;
                }
                Err(e) => {
                    self.directory.bots[self.bot].store(NOWHERE, Ordering::Release);
                    return Err(format!("{}: {e}", self.name));
                }
            }
        }
    }
}
