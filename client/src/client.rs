//! The client: login, then a background task that carries the session, acknowledges what
//! arrives, and resumes the session when the connection drops.

use std::collections::VecDeque;
use std::sync::Arc;
use std::time::Duration;

use darkstar_protocol::{
    ClientFrame, Decoder, DisconnectReason, ServerFrame, KEY_LEN, PROTOCOL_VERSION,
};
use tokio::sync::mpsc;
use tokio::time::Instant;

use crate::conn::{open, Endpoint, Reader, Writer};

/// Bytes of messages queued on the connection before the client stops taking more from
/// its senders: the server's pace reaches the application as `send` waiting.
const WRITE_AHEAD: usize = 64 * 1024;

/// Commands taken from the senders and waiting for the window, at most; past it, senders
/// wait in their channel.
const HELD: usize = 256;

/// Redirects a login follows before it gives up: a cluster whose nodes disagree on where
/// a player belongs agrees again within moments.
pub const MAX_REDIRECTS: u32 = 4;

/// How long a dropped client's last `Logout` may take to leave.
const GOODBYE: Duration = Duration::from_secs(5);
use crate::error::ClientError;
use crate::event::Event;

/// How a client behaves.
#[derive(Debug, Clone)]
pub struct Options {
    /// Resume the session by itself when the connection drops (default: yes).
    pub reconnect: bool,
    /// Acknowledge after this many frames (and at least every 100 ms).
    pub ack_every: u32,
    /// The largest frame accepted from the server.
    pub max_frame: u32,
    /// Messages sent and not yet handled by the server, at most; `send` waits beyond
    /// (default: 256, the server's default `session_window`). Keeping it at or below the
    /// server's window means the server never stops reading this connection, so this
    /// client's acknowledgements never queue behind messages the server is not taking
    /// yet.
    pub window: u32,
    /// Other servers to resume the session through when the one carrying it cannot be
    /// reached: the other nodes of a cluster, where a session whose node died is taken
    /// over (default: none). Each failed attempt moves to the next; a node that is not
    /// the session's place answers with `Redirect`, which the client follows.
    pub fallbacks: Vec<Endpoint>,
}

impl Default for Options {
    fn default() -> Options {
        Options {
            reconnect: true,
            ack_every: 64,
            max_frame: 64 << 20,
            window: 256,
            fallbacks: Vec::new(),
        }
    }
}

enum Command {
    Send(ClientFrame),
    Logout,
    Reconnect,
}

/// A logged-in session with a server.
///
/// It both sends ([`send`](Self::send), [`send_to_channel`](Self::send_to_channel)) and
/// receives ([`next_event`](Self::next_event)). To send from other tasks while one task
/// waits for events, take a [`Sender`] with [`sender`](Self::sender), or
/// [`split`](Self::split) the client into a [`Sender`] and its [`Events`].
///
/// Dropping the client ends the session gracefully, unless a [`Sender`] taken from it is
/// still alive: the session lasts until the client and every sender are gone.
#[derive(Debug)]
pub struct Client {
    sender: Sender,
    events: Events,
    /// The server carrying the session, as the driver last connected to it.
    endpoint: Arc<std::sync::Mutex<Endpoint>>,
}

impl Client {
    /// The server carrying the session: the one it logged in at (after any redirect), or
    /// the one it resumed on last (another node of a cluster, once its own died).
    pub fn endpoint(&self) -> Endpoint {
        self.endpoint
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    /// Connects to `endpoint` and logs in as `name` with `password`.
    ///
    /// A refusal comes back as an error: [`ClientError::LoginRefused`] when the
    /// authenticator or the game said no, [`ClientError::Disconnected`] when the server
    /// turned the connection away with a reason code (such as
    /// [`DisconnectReason::Busy`] or [`DisconnectReason::Full`]).
    pub async fn connect(
        endpoint: Endpoint,
        name: &str,
        password: &str,
    ) -> Result<Client, ClientError> {
        Client::connect_with(endpoint, name, password, Options::default()).await
    }

    /// [`connect`](Self::connect) with options.
    ///
    /// A server of a cluster may answer the login with `Redirect` (the player's session
    /// lives on another node): the client then logs in there, following at most
    /// [`MAX_REDIRECTS`] redirects.
    pub async fn connect_with(
        endpoint: Endpoint,
        name: &str,
        password: &str,
        options: Options,
    ) -> Result<Client, ClientError> {
        let decoder = Decoder::new(options.max_frame);
        let mut endpoint = endpoint;
        let mut redirects = 0;
        let (reader, writer, session, key, window) = loop {
            let (mut reader, mut writer) = open(&endpoint).await?;
            hello(&mut reader, &mut writer, &decoder).await?;
            writer
                .send(&ClientFrame::Login {
                    name: name.to_owned(),
                    password: password.to_owned(),
                })
                .await?;
            match expect(&mut reader, &decoder).await? {
                ServerFrame::LoginAccepted {
                    session,
                    key,
                    resume_window_ms,
                } => break (reader, writer, session, key, resume_window_ms),
                ServerFrame::LoginRefused { reason } => {
                    return Err(ClientError::LoginRefused(reason))
                }
                ServerFrame::Redirect { host, port } if redirects < MAX_REDIRECTS => {
                    redirects += 1;
                    endpoint = endpoint.at(&host, port);
                }
                ServerFrame::Redirect { host, port } => {
                    return Err(ClientError::Protocol(format!(
                        "redirected more than {MAX_REDIRECTS} times (last to {host}:{port})"
                    )))
                }
                other => return Err(unexpected("LoginAccepted", &other)),
            }
        };
        let (commands, command_rx) = mpsc::channel(1024);
        let (event_tx, events) = mpsc::channel(4096);
        let driver = Driver {
            shown: Arc::new(std::sync::Mutex::new(endpoint.clone())),
            home: endpoint.clone(),
            tried: 0,
            endpoint,
            decoder,
            options,
            session,
            key,
            window: Duration::from_millis(u64::from(window)),
            received: 0,
            since_ack: 0,
            next_seq: 1,
            unacked: VecDeque::new(),
            held: VecDeque::new(),
            logging_out: false,
            events: event_tx,
            resumed_at: None,
            drop_pause: Duration::ZERO,
        };
        let shown = driver.shown.clone();
        tokio::spawn(driver.run(reader, writer, command_rx));
        Ok(Client {
            sender: Sender { session, commands },
            events: Events { events },
            endpoint: shown,
        })
    }

    /// The session's id on the server.
    pub fn session_id(&self) -> u64 {
        self.sender.session
    }

    /// A handle to send on this session from any task; see [`Sender`].
    pub fn sender(&self) -> Sender {
        self.sender.clone()
    }

    /// Splits the client into a [`Sender`], which can be cloned and handed to other tasks,
    /// and the [`Events`] it receives. The session ends gracefully once every sender is
    /// dropped.
    pub fn split(self) -> (Sender, Events) {
        (self.sender, self.events)
    }

    /// Sends a message to the session's listener; see [`Sender::send`].
    pub async fn send(&self, message: impl Into<Vec<u8>>) -> Result<(), ClientError> {
        self.sender.send(message).await
    }

    /// Sends a message to a channel the session is in; see [`Sender::send_to_channel`].
    pub async fn send_to_channel(
        &self,
        channel: u64,
        message: impl Into<Vec<u8>>,
    ) -> Result<(), ClientError> {
        self.sender.send_to_channel(channel, message).await
    }

    /// The next event; `None` once the session is over and every event was taken.
    ///
    /// Cancel-safe: if the future is dropped before it completes (another branch of a
    /// `tokio::select!` won, a timeout passed), no event is lost; the next call returns it.
    pub async fn next_event(&mut self) -> Option<Event> {
        self.events.next_event().await
    }

    /// Ends the session gracefully; see [`Sender::logout`].
    pub async fn logout(&self) -> Result<(), ClientError> {
        self.sender.logout().await
    }

    /// Drops the connection and resumes the session on a new one; see
    /// [`Sender::reconnect`].
    pub async fn reconnect(&self) -> Result<(), ClientError> {
        self.sender.reconnect().await
    }
}

/// Sends on a session, from any task: a cheap handle that can be cloned, and moved to or
/// shared between tasks and threads.
///
/// Messages from all the senders of one session (and its [`Client`]) are handled by the
/// server in the order they were queued here. The session ends gracefully once the
/// [`Client`] and every sender are dropped; after the session is over (the final
/// [`Event::Disconnected`]), every call returns [`ClientError::Closed`].
///
/// Each call is cancel-safe: if its future is dropped before it completes, what it would
/// have sent was not queued, and is not sent.
#[derive(Debug, Clone)]
pub struct Sender {
    session: u64,
    commands: mpsc::Sender<Command>,
}

impl Sender {
    /// The session's id on the server.
    pub fn session_id(&self) -> u64 {
        self.session
    }

    /// Sends a message to the session's listener. Messages are handled in the order sent.
    ///
    /// `Ok` means the message is queued: while the session lasts, across reconnections,
    /// it reaches the server and is handled exactly once. If the session ends first, it
    /// may never be. While the connection is down messages wait here; once 1024 wait,
    /// this waits too.
    pub async fn send(&self, message: impl Into<Vec<u8>>) -> Result<(), ClientError> {
        self.command(Command::Send(ClientFrame::Message {
            seq: 0,
            body: message.into(),
        }))
        .await
    }

    /// Sends a message to a channel the session is in (its id comes with
    /// [`Event::JoinedChannel`]), queued like [`send`](Self::send).
    pub async fn send_to_channel(
        &self,
        channel: u64,
        message: impl Into<Vec<u8>>,
    ) -> Result<(), ClientError> {
        self.command(Command::Send(ClientFrame::ChannelMessage {
            seq: 0,
            channel,
            body: message.into(),
        }))
        .await
    }

    /// Ends the session gracefully; the logout goes out after the messages queued before
    /// it. Events up to the final [`Event::Disconnected`] (reason
    /// [`DisconnectReason::LoggedOut`]) still arrive.
    pub async fn logout(&self) -> Result<(), ClientError> {
        self.command(Command::Logout).await
    }

    /// Drops the connection and resumes the session on a new one, as after a network
    /// change. Nothing is lost or repeated.
    pub async fn reconnect(&self) -> Result<(), ClientError> {
        self.command(Command::Reconnect).await
    }

    /// Whether the session is over: every call would return [`ClientError::Closed`].
    pub fn is_closed(&self) -> bool {
        self.commands.is_closed()
    }

    async fn command(&self, c: Command) -> Result<(), ClientError> {
        self.commands.send(c).await.map_err(|_| ClientError::Closed)
    }
}

/// The events of a session, from [`Client::split`].
#[derive(Debug)]
pub struct Events {
    events: mpsc::Receiver<Event>,
}

impl Events {
    /// The next event; `None` once the session is over and every event was taken.
    ///
    /// Cancel-safe: if the future is dropped before it completes (another branch of a
    /// `tokio::select!` won, a timeout passed), no event is lost; the next call returns it.
    pub async fn next_event(&mut self) -> Option<Event> {
        self.events.recv().await
    }
}

async fn hello(
    reader: &mut Reader,
    writer: &mut Writer,
    decoder: &Decoder,
) -> Result<(), ClientError> {
    writer
        .send(&ClientFrame::Hello {
            min_version: PROTOCOL_VERSION,
            max_version: PROTOCOL_VERSION,
        })
        .await?;
    match expect(reader, decoder).await? {
        ServerFrame::Welcome { .. } => Ok(()),
        other => Err(unexpected("Welcome", &other)),
    }
}

/// The next frame, with a server's `Disconnect` turned into an error.
async fn expect(reader: &mut Reader, decoder: &Decoder) -> Result<ServerFrame, ClientError> {
    match reader.next(decoder).await? {
        Some(ServerFrame::Disconnect { reason, text }) => {
            Err(ClientError::Disconnected { reason, text })
        }
        Some(frame) => Ok(frame),
        None => Err(ClientError::Io(std::io::ErrorKind::UnexpectedEof.into())),
    }
}

fn unexpected(wanted: &str, got: &ServerFrame) -> ClientError {
    ClientError::Protocol(format!("expected {wanted}, got {got:?}"))
}

/// How the connection loop ended.
enum Outcome {
    /// The session is over.
    Over,
    /// The connection dropped (or a reconnect was asked for): resume.
    Dropped,
}

struct Driver {
    endpoint: Endpoint,
    /// What [`Client::endpoint`] shows: `endpoint`, once a connection there carries the
    /// session.
    shown: Arc<std::sync::Mutex<Endpoint>>,
    /// Where the session was carried last before its connection dropped.
    home: Endpoint,
    /// Resume attempts that failed to reach a server since the last drop: which of `home`
    /// and the fallbacks the next attempt goes to.
    tried: usize,
    decoder: Decoder,
    options: Options,
    session: u64,
    key: [u8; KEY_LEN],
    window: Duration,
    /// Last server frame received.
    received: u64,
    since_ack: u32,
    /// Number of the next client message.
    next_seq: u64,
    /// Client messages the server has not yet acknowledged as handled.
    unacked: VecDeque<ClientFrame>,
    /// Messages and a logout taken from the senders that wait, in order, for room in the
    /// window; a reconnection never waits behind them.
    held: VecDeque<Command>,
    /// Whether the application logged out: the `Logout` is sent again after a resume until
    /// the server has ended the session.
    logging_out: bool,
    events: mpsc::Sender<Event>,
    /// When the session was last resumed.
    resumed_at: Option<Instant>,
    /// The pause before resuming after the last quick drop (zero: it was not quick).
    drop_pause: Duration,
}

impl Driver {
    async fn run(mut self, reader: Reader, writer: Writer, mut commands: mpsc::Receiver<Command>) {
        let (mut reader, mut writer) = (reader, writer);
        loop {
            match self.carry(&mut reader, &mut writer, &mut commands).await {
                Outcome::Over => return,
                Outcome::Dropped => {
                    writer.abort().await;
                    match self.resume().await {
                        Some((r, w)) => {
                            reader = r;
                            writer = w;
                        }
                        None => return,
                    }
                }
            }
        }
    }

    async fn carry(
        &mut self,
        reader: &mut Reader,
        writer: &mut Writer,
        commands: &mut mpsc::Receiver<Command>,
    ) -> Outcome {
        let mut tick = tokio::time::interval(Duration::from_millis(100));
        loop {
            self.release_held(writer);
            // Reading never waits for writing: a server that is slow to take our messages
            // (it holds a session to its rate) must still find us reading what it sends.
            tokio::select! {
                frame = reader.next(&self.decoder) => {
                    let frame = match frame {
                        Ok(Some(frame)) => frame,
                        Ok(None) | Err(_) => return Outcome::Dropped,
                    };
                    if let Some(outcome) = self.on_frame(frame).await {
                        return outcome;
                    }
                    if self.since_ack >= self.options.ack_every {
                        self.ack(writer);
                    }
                }
                command = commands.recv(), if self.held.len() < HELD => {
                    let Some(command) = command else {
                        // The client was dropped: end the session.
                        writer.push(&ClientFrame::Logout);
                        let _ = tokio::time::timeout(GOODBYE, writer.flush()).await;
                        return Outcome::Over;
                    };
                    if let Some(outcome) = self.queue(command, writer) {
                        return outcome;
                    }
                    // Take whatever else is waiting, up to the window and the write-ahead.
                    while self.held.is_empty() && self.may_send(writer) {
                        let Ok(command) = commands.try_recv() else { break };
                        if let Some(outcome) = self.queue(command, writer) {
                            return outcome;
                        }
                    }
                }
                written = writer.write_some(), if !writer.is_idle() => {
                    if written.is_err() {
                        return Outcome::Dropped;
                    }
                }
                _ = tick.tick() => {
                    if self.since_ack > 0 {
                        self.ack(writer);
                    }
                }
            }
        }
    }

    /// Whether another message may go out now: within the window, and within the bytes
    /// the connection may have queued.
    fn may_send(&self, writer: &Writer) -> bool {
        self.unacked.len() < self.options.window.max(1) as usize && writer.pending() < WRITE_AHEAD
    }

    /// Queues what a command sends, or holds it behind what already waits for the window;
    /// `Some` when the connection loop must end. A reconnection never waits.
    fn queue(&mut self, command: Command, writer: &mut Writer) -> Option<Outcome> {
        if let Command::Reconnect = command {
            return Some(Outcome::Dropped);
        }
        self.held.push_back(command);
        self.release_held(writer);
        None
    }

    /// Sends what waits, in order, as far as the window allows.
    fn release_held(&mut self, writer: &mut Writer) {
        while let Some(command) = self.held.front() {
            match command {
                Command::Send(_) if !self.may_send(writer) => return,
                _ => {}
            }
            match self.held.pop_front() {
                Some(Command::Send(frame)) => {
                    let frame = self.number(frame);
                    writer.push(&frame);
                }
                Some(Command::Logout) => {
                    self.logging_out = true;
                    writer.push(&ClientFrame::Logout);
                }
                Some(Command::Reconnect) | None => {}
            }
        }
    }

    /// Gives a message its number and keeps it until the server has handled it.
    fn number(&mut self, frame: ClientFrame) -> ClientFrame {
        let seq = self.next_seq;
        self.next_seq += 1;
        let frame = match frame {
            ClientFrame::Message { body, .. } => ClientFrame::Message { seq, body },
            ClientFrame::ChannelMessage { channel, body, .. } => {
                ClientFrame::ChannelMessage { seq, channel, body }
            }
            other => other,
        };
        self.unacked.push_back(frame.clone());
        frame
    }

    fn ack(&mut self, writer: &mut Writer) {
        self.since_ack = 0;
        writer.push(&ClientFrame::Ack {
            received: self.received,
        });
    }

    /// Handles one frame; `Some` when the connection loop must end.
    async fn on_frame(&mut self, frame: ServerFrame) -> Option<Outcome> {
        if let Some(seq) = frame.seq() {
            if seq <= self.received {
                // Sent again after a resume: already delivered.
                return None;
            }
            self.received = seq;
            self.since_ack += 1;
        }
        let event = match frame {
            ServerFrame::Message { body, .. } => Event::Message(body),
            ServerFrame::Joined { channel, name, .. } => Event::JoinedChannel { channel, name },
            ServerFrame::Left { channel, .. } => Event::LeftChannel { channel },
            ServerFrame::ChannelMessage {
                channel,
                sender,
                body,
                ..
            } => Event::ChannelMessage {
                channel,
                sender,
                body,
            },
            ServerFrame::Ack { handled } => {
                self.forget_handled(handled);
                return None;
            }
            // Sessions outlive their server: resume once it is back, within the window.
            ServerFrame::Disconnect {
                reason: DisconnectReason::Shutdown,
                ..
            } => return Some(Outcome::Dropped),
            ServerFrame::Disconnect { reason, text } => {
                let _ = self.events.send(Event::Disconnected { reason, text }).await;
                return Some(Outcome::Over);
            }
            ServerFrame::Relocate { host, port, key } => {
                // The session moved: resume it there, over the same transport.
                self.endpoint = self.endpoint.at(&host, port);
                self.tried = 0;
                self.key = key;
                return Some(Outcome::Dropped);
            }
            other => {
                let text = format!("unexpected frame from the server: {other:?}");
                let _ = self
                    .events
                    .send(Event::Disconnected {
                        reason: DisconnectReason::ProtocolError,
                        text,
                    })
                    .await;
                return Some(Outcome::Over);
            }
        };
        if self.events.send(event).await.is_err() {
            // Nobody listens any more; keep the session alive for sending.
        }
        None
    }

    fn forget_handled(&mut self, handled: u64) {
        while let Some(f) = self.unacked.front() {
            let seq = match f {
                ClientFrame::Message { seq, .. } | ClientFrame::ChannelMessage { seq, .. } => *seq,
                _ => 0,
            };
            if seq > handled {
                break;
            }
            self.unacked.pop_front();
        }
    }

    /// Resumes the session on a new connection, within the reconnection window.
    ///
    /// Failures to reach the server are retried with backoff until the window passes: the
    /// server may be restarting, or the network coming back. An answer that the session
    /// cannot be resumed ends it at once, since asking again cannot change it.
    async fn resume(&mut self) -> Option<(Reader, Writer)> {
        if !self.options.reconnect {
            let _ = self
                .events
                .send(Event::Disconnected {
                    reason: DisconnectReason::Expired,
                    text: "the connection dropped, and reconnecting is off \
                           (Options::reconnect); log in again"
                        .to_owned(),
                })
                .await;
            return None;
        }
        let deadline = Instant::now() + self.window;
        self.home = self.endpoint.clone();
        self.tried = 0;
        // A server on its way down takes a resume and says `shutdown` again at once: drops
        // that come right after a resume wait longer and longer before the next attempt,
        // so the client never spins.
        let quick = self.resumed_at.is_some_and(|at| at.elapsed() < QUICK_DROP);
        self.drop_pause = if quick {
            (self.drop_pause * 2).clamp(Duration::from_millis(20), MAX_RESUME_BACKOFF)
        } else {
            Duration::ZERO
        };
        if !self.drop_pause.is_zero() {
            tokio::time::sleep(self.drop_pause).await;
        }
        let mut attempt = 0;
        let mut backoff = Duration::from_millis(20);
        let mut redirects = 0;
        loop {
            attempt += 1;
            let _ = self.events.send(Event::Reconnecting { attempt }).await;
            // Bounded, so that a server which accepts but never answers cannot hold the
            // client past the window.
            let limit = deadline
                .saturating_duration_since(Instant::now())
                .max(MIN_ATTEMPT);
            let failure = match tokio::time::timeout(limit, self.try_resume()).await {
                Ok(Attempt::Resumed(reader, writer)) => {
                    self.resumed_at = Some(Instant::now());
                    *self.shown.lock().unwrap_or_else(|e| e.into_inner()) = self.endpoint.clone();
                    let _ = self.events.send(Event::Reconnected).await;
                    return Some((reader, writer));
                }
                Ok(Attempt::Redirected(to)) => {
                    self.endpoint = to;
                    self.tried = 0;
                    self.home = self.endpoint.clone();
                    // Straight there; only nodes that keep sending it on (they disagree
                    // for a moment) make it pause, so it cannot spin.
                    redirects += 1;
                    if redirects <= MAX_REDIRECTS {
                        continue;
                    }
                    redirects = 0;
                    "redirected again and again".to_owned()
                }
                Ok(Attempt::Over(event)) => {
                    let _ = self.events.send(event).await;
                    return None;
                }
                Ok(Attempt::Retry(e)) => {
                    self.next_endpoint();
                    e.to_string()
                }
                Err(_) => {
                    self.next_endpoint();
                    "the server did not answer".to_owned()
                }
            };
            if Instant::now() + backoff >= deadline {
                let text = format!(
                    "could not resume the session within the reconnection window of {} ms \
                     (last attempt: {failure}); the session is over, log in again",
                    self.window.as_millis()
                );
                let _ = self
                    .events
                    .send(Event::Disconnected {
                        reason: DisconnectReason::Expired,
                        text,
                    })
                    .await;
                return None;
            }
            tokio::time::sleep(backoff).await;
            backoff = (backoff * 2).min(MAX_RESUME_BACKOFF);
        }
    }

    /// After a failed attempt: the next of the session's last server and the fallbacks.
    fn next_endpoint(&mut self) {
        let all = 1 + self.options.fallbacks.len();
        self.tried += 1;
        self.endpoint = match self.tried % all {
            0 => self.home.clone(),
            i => self.options.fallbacks[i - 1].clone(),
        };
    }

    /// One attempt to resume.
    async fn try_resume(&mut self) -> Attempt {
        match self.resume_on_new_connection().await {
            Ok(attempt) => attempt,
            Err(ClientError::Disconnected { reason, text }) if !transient(reason) => {
                Attempt::Over(Event::Disconnected { reason, text })
            }
            Err(e) => Attempt::Retry(e),
        }
    }

    async fn resume_on_new_connection(&mut self) -> Result<Attempt, ClientError> {
        let (mut reader, mut writer) = open(&self.endpoint).await?;
        hello(&mut reader, &mut writer, &self.decoder).await?;
        writer
            .send(&ClientFrame::Resume {
                session: self.session,
                key: self.key,
                received: self.received,
            })
            .await?;
        match expect(&mut reader, &self.decoder).await? {
            ServerFrame::Resumed { handled } => {
                self.forget_handled(handled);
                // Sent again by the connection loop, which reads meanwhile.
                for frame in &self.unacked {
                    writer.push(frame);
                }
                if self.logging_out {
                    writer.push(&ClientFrame::Logout);
                }
                Ok(Attempt::Resumed(reader, writer))
            }
            // The session lives on another node of the cluster.
            ServerFrame::Redirect { host, port } => {
                Ok(Attempt::Redirected(self.endpoint.at(&host, port)))
            }
            // The frame carries no code. Whatever its text, the session cannot come
            // back, and for the client that is what `Expired` means: log in again.
            ServerFrame::ResumeRefused { reason } => Ok(Attempt::Over(Event::Disconnected {
                reason: DisconnectReason::Expired,
                text: format!(
                    "the session is gone: the server refused to resume it, most likely \
                     because the reconnection window passed; log in again (the server said: \
                     {reason})"
                ),
            })),
            other => Err(unexpected("Resumed", &other)),
        }
    }
}

/// The longest pause between resume attempts: a server restarting, or a cluster moving a
/// dead node's sessions, is found within about this long of being ready.
const MAX_RESUME_BACKOFF: Duration = Duration::from_millis(250);

/// A connection that drops within this long of its resume counts as dropping at once.
const QUICK_DROP: Duration = Duration::from_secs(1);

/// The shortest time one resume attempt gets, even when the window is nearly over.
const MIN_ATTEMPT: Duration = Duration::from_secs(1);

/// How one resume attempt ended.
enum Attempt {
    /// The session is back on this connection.
    Resumed(Reader, Writer),
    /// The session is over; the event says why.
    Over(Event),
    /// The server could not be reached, or could not take the connection now.
    Retry(ClientError),
    /// The session is carried by the server there.
    Redirected(Endpoint),
}

/// Whether a server that turned a resume away with `reason` may take it a little later.
fn transient(reason: DisconnectReason) -> bool {
    matches!(
        reason,
        // Limits that lift as other clients come and go, and a server on its way down:
        // sessions outlive it, so the resume may work once it is back.
        DisconnectReason::Busy | DisconnectReason::Full | DisconnectReason::Shutdown
    )
}
