//! Power loss under a running server, and the acknowledgment path.
//!
//! A bank runs on a recording disk while players pay each other over TCP: each payment is
//! numbered per player, its reply names the number, and every payment is also announced on
//! the lobby channel; a thread submits tasks through `Server::submit` beside them. At a
//! seeded moment the load pauses until everything sent is answered, the disk *holds* its
//! syncs (commits go on, nothing becomes durable), and the load goes on.
//!
//! - While the syncs are held, nothing of what came after may leave: no reply to a payment
//!   sent after the hold began, no channel announcement of one, no completed submission.
//!   Once released, everything arrives: every payment is answered, and every player hears
//!   every later payment announced.
//! - Or the disk loses power, either while its syncs are held or in the middle of the load.
//!   A server started on what the disk could hold then (several seeded images, from
//!   "every unsynced write lost" to "all kept") must hold every payment a player saw
//!   acknowledged, every submission that completed, and the bank's total.
//!
//! Each test runs once more with the server broken on purpose (acknowledgment before the
//! sync, `ServerBuilder::acknowledge_before_sync`): the check must then fail.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use darkstar_client::{Client, Endpoint, Event, Options as ClientOptions};
use darkstar_runtime::{Config, Server};
use darkstar_sdk::prelude::*;
use darkstar_storage::sim::RecordingDisk;
use darkstar_tests::server_config::dev_server_config;

const PLAYERS: u64 = 6;
const ACCOUNTS: u32 = 40;
const INITIAL: i64 = 1_000;
/// Payments a player has in flight at most.
const WINDOW: u64 = 4;
/// Long: it costs time only when a test fails, and a loaded machine may be slow.
const PATIENCE: Duration = Duration::from_secs(90);

// ---------------------------------------------------------------------------------------
// The game.

#[managed(name = "power.Account")]
#[derive(Debug)]
struct Account {
    balance: i64,
}

#[managed(name = "power.Bank")]
#[derive(Debug)]
struct Bank {
    accounts: Vec<Ref<Account>>,
}

/// A player's ledger, bound to `player.<name>`: the number of its last payment.
#[managed(name = "power.Player")]
#[derive(Debug)]
struct Player {
    paid: u64,
}

/// A session's desk: where its payments go.
#[managed(name = "power.Desk")]
#[derive(Debug)]
struct Desk {
    player: Ref<Player>,
    bank: Ref<Bank>,
    lobby: Ref<Channel>,
    /// The player's number, announced with each payment.
    number: u64,
}

/// Counts the tasks submitted through `Server::submit`; bound to `touches`.
#[managed(name = "power.Touches")]
#[derive(Debug)]
struct Touches {
    n: u64,
}

#[task(name = "power.touch")]
fn touch(ctx: &mut Context, touches: Ref<Touches>) -> TaskResult {
    ctx.get_mut(touches)?.n += 1;
    Ok(())
}

/// A payment: its number, from and to which account, how much.
fn payment(n: u64, from: u32, to: u32, amount: u32) -> Vec<u8> {
    let mut b = n.to_le_bytes().to_vec();
    b.extend_from_slice(&from.to_le_bytes());
    b.extend_from_slice(&to.to_le_bytes());
    b.extend_from_slice(&amount.to_le_bytes());
    b
}

fn u64_at(b: &[u8], at: usize) -> u64 {
    u64::from_le_bytes(b[at..at + 8].try_into().expect("eight bytes"))
}

fn u32_at(b: &[u8], at: usize) -> u32 {
    u32::from_le_bytes(b[at..at + 4].try_into().expect("four bytes"))
}

impl SessionListener for Desk {
    fn received_message(
        ctx: &mut Context<'_>,
        this: Ref<Self>,
        session: Ref<Session>,
        message: &[u8],
    ) -> TaskResult {
        if message.len() != 20 {
            return Err(TaskError::abort("a payment is 20 bytes"));
        }
        let (n, from, to, amount) = (
            u64_at(message, 0),
            u32_at(message, 8),
            u32_at(message, 12),
            i64::from(u32_at(message, 16)),
        );
        let desk = ctx.get(this)?;
        let (player, bank, lobby, number) = (
            desk.player.get(),
            desk.bank.get(),
            desk.lobby.get(),
            desk.number(),
        );
        // A payment handled before (resent after a reconnection) is not paid twice.
        if n == ctx.get(player)?.paid() + 1 {
            let (from, to) = {
                let bank = ctx.get(bank)?;
                let at = |i: u32| bank.accounts[i as usize % bank.accounts.len()].get();
                (at(from), at(to))
            };
            if from != to && ctx.get(from)?.balance() >= amount {
                ctx.get_mut(from)?.balance -= amount;
                ctx.get_mut(to)?.balance += amount;
            }
            ctx.get_mut(player)?.paid = n;
        }
        ctx.send(session, n.to_le_bytes().to_vec())?;
        let mut news = number.to_le_bytes().to_vec();
        news.extend_from_slice(&n.to_le_bytes());
        ctx.channel_send(lobby, news)
    }

    fn disconnected(
        ctx: &mut Context<'_>,
        this: Ref<Self>,
        _session: Ref<Session>,
        _graceful: bool,
    ) -> TaskResult {
        ctx.remove(this)
    }
}

struct PowerBank;

impl App for PowerBank {
    fn register(&self, types: &mut Types) {
        types
            .object::<Account>()
            .object::<Bank>()
            .object::<Player>()
            .object::<Touches>()
            .task::<Touch>()
            .session_listener::<Desk>();
    }

    fn initialize(&self, ctx: &mut Context<'_>) -> TaskResult {
        let accounts = (0..ACCOUNTS)
            .map(|_| ctx.create(Account { balance: INITIAL }))
            .collect::<Result<Vec<_>, _>>()?;
        let bank = ctx.create(Bank { accounts })?;
        ctx.bind("bank", bank)?;
        let touches = ctx.create(Touches { n: 0 })?;
        ctx.bind("touches", touches)?;
        ctx.channel("lobby").map(drop)
    }

    fn logged_in(&self, ctx: &mut Context<'_>, session: Ref<Session>) -> Result<Login, TaskError> {
        let name = ctx.get(session)?.name.to_string();
        let number: u64 = name
            .strip_prefix('p')
            .and_then(|n| n.parse().ok())
            .ok_or_else(|| TaskError::abort("players are called p<number>"))?;
        let key = format!("player.{name}");
        let player = match ctx.try_lookup::<Player>(&key)? {
            Some(p) => p,
            None => {
                let p = ctx.create(Player { paid: 0 })?;
                ctx.bind(&key, p)?;
                p
            }
        };
        let lobby = ctx.channel("lobby")?;
        ctx.join(lobby, session)?;
        let bank = ctx.lookup::<Bank>("bank")?;
        let desk = ctx.create(Desk {
            player,
            bank,
            lobby,
            number,
        })?;
        Ok(Login::accept(desk))
    }
}

/// What a server started on a store holds: each player's last payment, the bank's total.
fn audit(server: &Server) -> (HashMap<u64, u64>, i64, u64) {
    server
        .query(|ctx| {
            let mut paid = HashMap::new();
            for k in 0..PLAYERS {
                if let Some(p) = ctx.try_lookup::<Player>(&format!("player.p{k}"))? {
                    paid.insert(k, ctx.get(p)?.paid());
                }
            }
            let bank = ctx.get(ctx.lookup::<Bank>("bank")?)?;
            let mut total = 0;
            for a in bank.accounts.iter() {
                total += ctx.get(a.get())?.balance();
            }
            let touches = ctx.get(ctx.lookup::<Touches>("touches")?)?.n();
            Ok((paid, total, touches))
        })
        .unwrap()
}

// ---------------------------------------------------------------------------------------
// The players, and what they saw.

/// What one player did and saw. Payment numbers start at 1.
#[derive(Default)]
struct Tally {
    /// The last payment sent.
    sent: AtomicU64,
    /// The highest payment acknowledged.
    acked: AtomicU64,
    /// The first payment sent after the syncs were held (0: none yet).
    first_held: AtomicU64,
    /// Announcements heard of payments sent after the syncs were held, by anyone.
    heard_after_hold: AtomicU64,
    /// Set once the player has seen the order to stop: it sends nothing more.
    stopped: AtomicBool,
    /// Set when the player's task ends, for whatever reason.
    ended: AtomicBool,
}

/// What every player and the submitter saw, and what the test tells them.
struct Watch {
    tallies: Vec<Tally>,
    /// Set once the disk holds its syncs, cleared when they are released.
    held: AtomicBool,
    /// Replies, channel announcements and completed submissions of work begun after the
    /// hold, seen while the hold lasted.
    leaked_replies: AtomicU64,
    leaked_news: AtomicU64,
    leaked_submissions: AtomicU64,
    /// Announcements of later payments each player waits to hear before it stops (at first
    /// unknown: `u64::MAX`).
    heard_target: AtomicU64,
    /// Submissions begun, and completed.
    submitted: AtomicU64,
    completed: AtomicU64,
    /// Players and the submitter begin nothing new while set.
    pause: AtomicBool,
    /// Set by the submitter while it is paused with nothing in flight.
    submitter_idle: AtomicBool,
    /// Players stop sending.
    stop: AtomicBool,
}

impl Watch {
    fn new() -> Watch {
        Watch {
            tallies: (0..PLAYERS).map(|_| Tally::default()).collect(),
            held: AtomicBool::new(false),
            leaked_replies: AtomicU64::new(0),
            leaked_news: AtomicU64::new(0),
            leaked_submissions: AtomicU64::new(0),
            heard_target: AtomicU64::new(u64::MAX),
            submitted: AtomicU64::new(0),
            completed: AtomicU64::new(0),
            pause: AtomicBool::new(false),
            submitter_idle: AtomicBool::new(false),
            stop: AtomicBool::new(false),
        }
    }

    fn leaked(&self) -> u64 {
        self.leaked_replies.load(Ordering::SeqCst)
            + self.leaked_news.load(Ordering::SeqCst)
            + self.leaked_submissions.load(Ordering::SeqCst)
    }

    fn acked(&self) -> u64 {
        self.tallies
            .iter()
            .map(|t| t.acked.load(Ordering::SeqCst))
            .sum()
    }

    /// Whether payment `n` of player `k` was sent after the syncs were held.
    fn sent_after_hold(&self, k: usize, n: u64) -> bool {
        let first = self.tallies[k].first_held.load(Ordering::SeqCst);
        first != 0 && n >= first
    }

    /// Whether payment `n` of player `k` was sent after the hold, while it lasts.
    fn after_hold(&self, k: usize, n: u64) -> bool {
        self.held.load(Ordering::SeqCst) && self.sent_after_hold(k, n)
    }

    /// Fails the test if a player left while the load should still be running (its login,
    /// or a send, failed): waiting on it would only time out.
    fn check_players(&self) {
        for (k, t) in self.tallies.iter().enumerate() {
            assert!(
                !t.ended.load(Ordering::SeqCst),
                "player p{k} left while the load was running: its login or a send failed"
            );
        }
    }

    /// Payments sent after the syncs were held, by all players.
    fn sent_since_hold(&self) -> u64 {
        self.tallies
            .iter()
            .map(|t| match t.first_held.load(Ordering::SeqCst) {
                0 => 0,
                first => t.sent.load(Ordering::SeqCst) + 1 - first,
            })
            .sum()
    }
}

/// One player: keeps `WINDOW` payments in flight until told to stop, then waits for the
/// rest; returns when its session ends, or when everything sent is acknowledged and it
/// has heard the announcements it was told to wait for.
async fn play(endpoint: Endpoint, k: usize, watch: Arc<Watch>, seed: u64) {
    pay(endpoint, k, &watch, seed).await;
    watch.tallies[k].ended.store(true, Ordering::SeqCst);
}

async fn pay(endpoint: Endpoint, k: usize, watch: &Watch, seed: u64) {
    let options = ClientOptions {
        reconnect: false,
        ..ClientOptions::default()
    };
    let Ok(mut client) = Client::connect_with(endpoint, &format!("p{k}"), "", options).await else {
        return;
    };
    let tally = &watch.tallies[k];
    let mut rng = seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1;
    loop {
        let sent = tally.sent.load(Ordering::SeqCst);
        let acked = tally.acked.load(Ordering::SeqCst);
        let stopping = watch.stop.load(Ordering::SeqCst);
        if stopping {
            // Read before deciding to send: from here on this player sends nothing.
            tally.stopped.store(true, Ordering::SeqCst);
        }
        let heard = tally.heard_after_hold.load(Ordering::SeqCst);
        if stopping && acked >= sent && heard >= watch.heard_target.load(Ordering::SeqCst) {
            return;
        }
        let paused = watch.pause.load(Ordering::SeqCst);
        if !stopping && !paused && sent - acked < WINDOW {
            let n = sent + 1;
            rng ^= rng << 13;
            rng ^= rng >> 7;
            rng ^= rng << 17;
            if watch.held.load(Ordering::SeqCst) {
                let _ = tally
                    .first_held
                    .compare_exchange(0, n, Ordering::SeqCst, Ordering::SeqCst);
            }
            tally.sent.store(n, Ordering::SeqCst);
            let (from, to, amount) = (rng as u32, (rng >> 32) as u32, (rng >> 20) as u32 % 50);
            if client.send(payment(n, from, to, amount)).await.is_err() {
                return;
            }
            continue;
        }
        let event = tokio::time::timeout(Duration::from_millis(50), client.next_event()).await;
        match event {
            Err(_) => {}
            Ok(None) | Ok(Some(Event::Disconnected { .. })) => return,
            Ok(Some(Event::Message(body))) => {
                let n = u64_at(&body, 0);
                if watch.after_hold(k, n) {
                    watch.leaked_replies.fetch_add(1, Ordering::SeqCst);
                }
                tally.acked.fetch_max(n, Ordering::SeqCst);
            }
            Ok(Some(Event::ChannelMessage { body, .. })) => {
                let (who, n) = (u64_at(&body, 0) as usize, u64_at(&body, 8));
                if who < watch.tallies.len() && watch.sent_after_hold(who, n) {
                    tally.heard_after_hold.fetch_add(1, Ordering::SeqCst);
                    if watch.held.load(Ordering::SeqCst) {
                        watch.leaked_news.fetch_add(1, Ordering::SeqCst);
                    }
                }
            }
            Ok(Some(_)) => {}
        }
    }
}

/// Submits touches one after another until told to stop or the server stops.
fn submit_touches(server: Arc<Server>, watch: Arc<Watch>) {
    let touches = server
        .query(|ctx| ctx.lookup::<Touches>("touches"))
        .unwrap();
    while !watch.stop.load(Ordering::SeqCst) {
        if watch.pause.load(Ordering::SeqCst) {
            watch.submitter_idle.store(true, Ordering::SeqCst);
            std::thread::sleep(Duration::from_millis(1));
            continue;
        }
        watch.submitter_idle.store(false, Ordering::SeqCst);
        let after_hold = watch.held.load(Ordering::SeqCst);
        watch.submitted.fetch_add(1, Ordering::SeqCst);
        if server.submit(Touch { touches }).wait().is_err() {
            return;
        }
        if after_hold && watch.held.load(Ordering::SeqCst) {
            watch.leaked_submissions.fetch_add(1, Ordering::SeqCst);
        }
        watch.completed.fetch_add(1, Ordering::SeqCst);
    }
}

// ---------------------------------------------------------------------------------------
// The runs.

fn config(dir: &Path) -> Config {
    Config {
        // The smallest segments, so a run rolls into new ones.
        segment_size_mib: 32,
        ..dev_server_config(dir)
    }
}

/// Polls `done` until it holds, for at most `PATIENCE`.
fn wait_until(what: &str, done: impl FnMut() -> bool) {
    wait_until_or(what, done, String::new);
}

/// Polls `done` until it holds, for at most `PATIENCE`; on timeout the panic shows `state`.
fn wait_until_or(what: &str, mut done: impl FnMut() -> bool, state: impl Fn() -> String) {
    let deadline = Instant::now() + PATIENCE;
    while !done() {
        assert!(
            Instant::now() < deadline,
            "waited {PATIENCE:?} for {what}; {}",
            state()
        );
        std::thread::sleep(Duration::from_millis(5));
    }
}

/// A server on a recording disk with players paying and a submitter submitting.
struct Running {
    server: Arc<Server>,
    disk: RecordingDisk,
    watch: Arc<Watch>,
    players: Vec<tokio::task::JoinHandle<()>>,
    submitter: std::thread::JoinHandle<()>,
    data: PathBuf,
    runtime: tokio::runtime::Runtime,
}

fn start(root: &Path, early: bool, seed: u64) -> Running {
    let data = root.join("data");
    let disk = RecordingDisk::new();
    let server = Server::builder(PowerBank)
        .config(config(&data))
        .store_disk(disk.clone())
        .acknowledge_before_sync(early)
        .start()
        .unwrap();
    let server = Arc::new(server);
    let endpoint = Endpoint::tcp(server.tcp_addr().unwrap().to_string());
    let watch = Arc::new(Watch::new());
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let players = (0..PLAYERS as usize)
        .map(|k| {
            runtime.spawn(play(
                endpoint.clone(),
                k,
                watch.clone(),
                seed * 100 + k as u64,
            ))
        })
        .collect();
    let submitter = {
        let (server, watch) = (server.clone(), watch.clone());
        std::thread::spawn(move || submit_touches(server, watch))
    };
    Running {
        server,
        disk,
        watch,
        players,
        submitter,
        data,
        runtime,
    }
}

impl Running {
    /// Lets the load run until `acks` payments are acknowledged, pauses it until everything
    /// sent is answered, holds the syncs and lets the load go on. Then waits until
    /// everything the players and the submitter can begin without an answer has been
    /// committed (correct server), or until something leaked (broken server).
    fn hold_at(&self, acks: u64) {
        let w = &self.watch;
        wait_until("payments acknowledged before the hold", || {
            w.check_players();
            w.acked() >= acks && w.completed.load(Ordering::SeqCst) > 0
        });
        // Paused and answered, so that every player's next payments come after the hold.
        w.pause.store(true, Ordering::SeqCst);
        wait_until("the load to pause", || {
            w.check_players();
            w.submitter_idle.load(Ordering::SeqCst)
                && w.tallies
                    .iter()
                    .all(|t| t.acked.load(Ordering::SeqCst) >= t.sent.load(Ordering::SeqCst))
        });
        self.disk.hold_syncs();
        w.held.store(true, Ordering::SeqCst);
        w.pause.store(false, Ordering::SeqCst);
        let stuck = || {
            w.check_players();
            if self.disk.syncs_waiting() == 0 {
                return false;
            }
            let (paid, _, touches) = audit(&self.server);
            let players = w.tallies.iter().enumerate().all(|(k, t)| {
                let sent = t.sent.load(Ordering::SeqCst);
                sent - t.acked.load(Ordering::SeqCst) == WINDOW
                    && paid.get(&(k as u64)) == Some(&sent)
            });
            // The submitter's submission made after the hold is committed (it counts
            // itself before it submits).
            players && touches >= w.submitted.load(Ordering::SeqCst)
        };
        let state = || {
            let (paid, _, touches) = audit(&self.server);
            let players: Vec<String> = w
                .tallies
                .iter()
                .enumerate()
                .map(|(k, t)| {
                    format!(
                        "p{k}: sent {} acked {} first held {} paid {:?}",
                        t.sent.load(Ordering::SeqCst),
                        t.acked.load(Ordering::SeqCst),
                        t.first_held.load(Ordering::SeqCst),
                        paid.get(&(k as u64))
                    )
                })
                .collect();
            format!(
                "syncs waiting {}; touches {touches} of {} submitted; {}",
                self.disk.syncs_waiting(),
                w.submitted.load(Ordering::SeqCst),
                players.join("; ")
            )
        };
        wait_until_or(
            "the server to be stuck on the held sync",
            || w.leaked() > 0 || stuck(),
            state,
        );
    }

    /// Lets everyone finish, shuts the server down and returns what the players saw. After
    /// a power loss nothing more is answered: the server is shut down first, which ends the
    /// players' sessions.
    fn finish(self, power_lost: bool) -> (Arc<Watch>, Vec<u64>) {
        self.watch.stop.store(true, Ordering::SeqCst);
        let runtime = self.runtime;
        // The submitter ends once its last submission is answered (or fails).
        self.submitter.join().unwrap();
        let mut server =
            Some(Arc::into_inner(self.server).expect("only the test holds the server now"));
        if power_lost {
            self.watch.heard_target.store(0, Ordering::SeqCst);
            let _ = server.take().map(Server::shutdown);
        }
        for p in self.players {
            runtime
                .block_on(async { tokio::time::timeout(PATIENCE, p).await })
                .expect("the player finishes")
                .unwrap();
        }
        if let Some(server) = server {
            server.shutdown().unwrap();
        }
        let acked = self
            .watch
            .tallies
            .iter()
            .map(|t| t.acked.load(Ordering::SeqCst))
            .collect();
        (self.watch, acked)
    }
}

/// Holds the syncs under load and checks what leaves; returns what leaked while held.
fn held_sync_run(early: bool) -> u64 {
    let tmp = tempfile::tempdir().unwrap();
    let run = start(tmp.path(), early, 11);
    run.hold_at(200);
    let w = run.watch.clone();
    if early {
        // The broken server's answers are on their way: wait for one of each kind.
        wait_until("answers of each kind that left before their sync", || {
            w.leaked_replies.load(Ordering::SeqCst) > 0
                && w.leaked_news.load(Ordering::SeqCst) > 0
                && w.leaked_submissions.load(Ordering::SeqCst) > 0
        });
    }
    let leaked = w.leaked();
    println!(
        "while the syncs were held: {} writes, {} replies, {} channel messages and {} \
         submissions of later work left",
        run.disk.writes_while_held(),
        w.leaked_replies.load(Ordering::SeqCst),
        w.leaked_news.load(Ordering::SeqCst),
        w.leaked_submissions.load(Ordering::SeqCst),
    );
    w.held.store(false, Ordering::SeqCst);
    run.disk.release_syncs();
    let sent: Vec<u64> = w
        .tallies
        .iter()
        .map(|t| t.sent.load(Ordering::SeqCst))
        .collect();
    // Everyone stops; once every payment is answered, each player waits to hear every
    // payment made after the hold announced.
    w.stop.store(true, Ordering::SeqCst);
    wait_until("every player stopped and every payment answered", || {
        w.tallies.iter().all(|t| {
            t.stopped.load(Ordering::SeqCst)
                && t.acked.load(Ordering::SeqCst) >= t.sent.load(Ordering::SeqCst)
        })
    });
    let since = w.sent_since_hold();
    w.heard_target.store(since, Ordering::SeqCst);
    let (w, acked) = run.finish(false);
    // Released, everything arrives: every payment is answered, every announcement heard.
    for (k, (a, s)) in acked.iter().zip(&sent).enumerate() {
        assert!(a >= s, "player {k} sent {s} payments but saw {a} answered");
    }
    // Every player was in the lobby before the hold: each heard every later payment.
    assert!(since >= PLAYERS * WINDOW, "each player paid after the hold");
    for (k, t) in w.tallies.iter().enumerate() {
        let heard = t.heard_after_hold.load(Ordering::SeqCst);
        assert_eq!(
            heard, since,
            "player {k} hears every payment made after the hold announced"
        );
    }
    leaked
}

#[test]
fn nothing_leaves_while_the_sync_is_held() {
    assert_eq!(
        held_sync_run(false),
        0,
        "nothing of later work left while held"
    );
}

#[test]
fn acknowledging_before_the_sync_is_caught_by_the_held_sync() {
    assert!(held_sync_run(true) > 0, "the broken server is caught");
}

/// When the power goes.
#[derive(Clone, Copy, Debug)]
enum Cut {
    /// While syncs are held, with every player's payments committed and waiting.
    WhileHeld,
    /// In the middle of the load, whatever is being written or synced.
    UnderLoad,
}

/// Loses power at a seeded moment; returns the payments and submissions lost across the
/// images.
fn power_loss_run(cut: Cut, early: bool, seed: u64) -> u64 {
    let tmp = tempfile::tempdir().unwrap();
    let run = start(tmp.path(), early, seed);
    // A seeded moment: somewhere in the first few hundred payments.
    let at = 100 + seed * 37 % 400;
    match cut {
        Cut::WhileHeld => run.hold_at(at),
        Cut::UnderLoad => {
            let w = &run.watch;
            wait_until("payments acknowledged before the power goes", || {
                w.check_players();
                w.acked() >= at && w.completed.load(Ordering::SeqCst) > 0
            });
        }
    }
    if early && matches!(cut, Cut::WhileHeld) {
        // Both kinds of answer, so that the check of each is shown to catch it.
        let w = &run.watch;
        wait_until(
            "a reply and a submission that left before their sync",
            || {
                w.leaked_replies.load(Ordering::SeqCst) > 0
                    && w.leaked_submissions.load(Ordering::SeqCst) > 0
            },
        );
    }
    let recording = run.disk.cut_power();
    let data = run.data.clone();
    let (watch, acked) = run.finish(true);
    let completed = watch.completed.load(Ordering::SeqCst);
    let mut lost = 0;
    // Seed 0 loses everything unsynced, seed 1 keeps it all, the others mix.
    for image_seed in 0..4 {
        let image = recording.image(&data, recording.len(), image_seed);
        let dir = tmp.path().join(format!("image{image_seed}"));
        image.write_to(&dir).unwrap();
        let server = Server::builder(PowerBank)
            .config(config(&dir))
            .start()
            .unwrap();
        let (paid, total, touches) = audit(&server);
        server.shutdown().unwrap();
        assert_eq!(
            total,
            i64::from(ACCOUNTS) * INITIAL,
            "no money made or lost (image {image_seed}, {:?})",
            image.stats
        );
        for (k, &a) in acked.iter().enumerate() {
            let held = paid.get(&(k as u64)).copied().unwrap_or(0);
            if held < a {
                println!(
                    "image {image_seed}: player {k} saw payment {a} acknowledged, the store \
                     holds {held} ({:?})",
                    image.stats
                );
                lost += a - held;
            }
        }
        if touches < completed {
            println!(
                "image {image_seed}: {completed} submissions completed, the store holds \
                 {touches} ({:?})",
                image.stats
            );
            lost += completed - touches;
        }
    }
    println!(
        "power lost {cut:?} after {} operations; acknowledged payments {acked:?}, \
         {completed} submissions completed; {lost} lost over 4 images",
        recording.len(),
    );
    lost
}

#[test]
fn acknowledged_payments_survive_a_power_loss() {
    for (cut, seed) in [
        (Cut::WhileHeld, 3),
        (Cut::UnderLoad, 8),
        (Cut::UnderLoad, 13),
    ] {
        assert_eq!(power_loss_run(cut, false, seed), 0, "{cut:?}, seed {seed}");
    }
}

#[test]
fn acknowledging_before_the_sync_is_caught_by_the_power_loss() {
    assert!(
        power_loss_run(Cut::WhileHeld, true, 5) > 0,
        "the broken server is caught"
    );
}
