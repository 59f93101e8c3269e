//! The client: login, then a background task that carries the session, acknowledges what
//! arrives, and resumes the session when the connection drops.

use std::collections::VecDeque;
use std::time::Duration;

use darkstar_protocol::{
    ClientFrame, Decoder, DisconnectReason, ServerFrame, KEY_LEN, PROTOCOL_VERSION,
};
use tokio::sync::mpsc;
use tokio::time::Instant;

use crate::conn::{open, Endpoint, Reader, Writer};
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
}

impl Default for Options {
    fn default() -> Options {
        Options {
            reconnect: true,
            ack_every: 64,
            max_frame: 64 << 20,
        }
    }
}

enum Command {
    Send(ClientFrame),
    Logout,
    Reconnect,
}

/// A logged-in session with a server.
#[derive(Debug)]
pub struct Client {
    session: u64,
    commands: mpsc::Sender<Command>,
    events: mpsc::Receiver<Event>,
}

impl Client {
    /// Connects to `endpoint` and logs in as `name` with `password`.
    pub async fn connect(
        endpoint: Endpoint,
        name: &str,
        password: &str,
    ) -> Result<Client, ClientError> {
        Client::connect_with(endpoint, name, password, Options::default()).await
    }

    /// [`connect`](Self::connect) with options.
    pub async fn connect_with(
        endpoint: Endpoint,
        name: &str,
        password: &str,
        options: Options,
    ) -> Result<Client, ClientError> {
        let decoder = Decoder::new(options.max_frame);
        let (mut reader, mut writer) = open(&endpoint).await?;
        hello(&mut reader, &mut writer, &decoder).await?;
        writer
            .send(&ClientFrame::Login {
                name: name.to_owned(),
                password: password.to_owned(),
            })
            .await?;
        let (session, key, window) = match expect(&mut reader, &decoder).await? {
            ServerFrame::LoginAccepted {
                session,
                key,
                resume_window_ms,
            } => (session, key, resume_window_ms),
            ServerFrame::LoginRefused { reason } => return Err(ClientError::LoginRefused(reason)),
            other => return Err(unexpected("LoginAccepted", &other)),
        };
        let (commands, command_rx) = mpsc::channel(1024);
        let (event_tx, events) = mpsc::channel(4096);
        let driver = Driver {
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
            events: event_tx,
        };
        tokio::spawn(driver.run(reader, writer, command_rx));
        Ok(Client {
            session,
            commands,
            events,
        })
    }

    /// The session's id on the server.
    pub fn session_id(&self) -> u64 {
        self.session
    }

    /// Sends a message to the session's listener. Messages are handled in the order sent.
    pub async fn send(&self, message: impl Into<Vec<u8>>) -> Result<(), ClientError> {
        self.command(Command::Send(ClientFrame::Message {
            seq: 0,
            body: message.into(),
        }))
        .await
    }

    /// Sends a message to a channel the session is in (its id comes with
    /// [`Event::JoinedChannel`]).
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

    /// The next event; `None` once the session is over and every event was taken.
    pub async fn next_event(&mut self) -> Option<Event> {
        self.events.recv().await
    }

    /// Ends the session gracefully. Events up to the final
    /// [`Event::Disconnected`] still arrive.
    pub async fn logout(&self) -> Result<(), ClientError> {
        self.command(Command::Logout).await
    }

    /// Drops the connection and resumes the session on a new one, as after a network
    /// change. Nothing is lost or repeated.
    pub async fn reconnect(&self) -> Result<(), ClientError> {
        self.command(Command::Reconnect).await
    }

    async fn command(&self, c: Command) -> Result<(), ClientError> {
        self.commands.send(c).await.map_err(|_| ClientError::Closed)
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
    events: mpsc::Sender<Event>,
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
            tokio::select! {
                frame = reader.next(&self.decoder) => {
                    let frame = match frame {
                        Ok(Some(frame)) => frame,
                        Ok(None) | Err(_) => return Outcome::Dropped,
                    };
                    if let Some(outcome) = self.on_frame(frame).await {
                        return outcome;
                    }
                    if self.since_ack >= self.options.ack_every && self.ack(writer).await.is_err() {
                        return Outcome::Dropped;
                    }
                }
                command = commands.recv() => {
                    let Some(command) = command else {
                        // The client was dropped: end the session.
                        let _ = writer.send(&ClientFrame::Logout).await;
                        return Outcome::Over;
                    };
                    let frame = match command {
                        Command::Send(frame) => self.number(frame),
                        Command::Logout => ClientFrame::Logout,
                        Command::Reconnect => return Outcome::Dropped,
                    };
                    if writer.feed(&frame).await.is_err() {
                        return Outcome::Dropped;
                    }
                    // Take whatever else is waiting before one flush.
                    while let Ok(command) = commands.try_recv() {
                        let frame = match command {
                            Command::Send(frame) => self.number(frame),
                            Command::Logout => ClientFrame::Logout,
                            Command::Reconnect => {
                                let _ = writer.flush().await;
                                return Outcome::Dropped;
                            }
                        };
                        if writer.feed(&frame).await.is_err() {
                            return Outcome::Dropped;
                        }
                    }
                    if writer.flush().await.is_err() {
                        return Outcome::Dropped;
                    }
                }
                _ = tick.tick() => {
                    if self.since_ack > 0 && self.ack(writer).await.is_err() {
                        return Outcome::Dropped;
                    }
                }
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

    async fn ack(&mut self, writer: &mut Writer) -> std::io::Result<()> {
        self.since_ack = 0;
        writer
            .send(&ClientFrame::Ack {
                received: self.received,
            })
            .await
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
            ServerFrame::Disconnect { reason, text } => {
                let _ = self.events.send(Event::Disconnected { reason, text }).await;
                return Some(Outcome::Over);
            }
            ServerFrame::Relocate { host, port, key } => {
                // The session moved: resume it there.
                self.endpoint = Endpoint::Tcp(format!("{host}:{port}"));
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
    async fn resume(&mut self) -> Option<(Reader, Writer)> {
        let over = |text: &str| Event::Disconnected {
            reason: DisconnectReason::Expired,
            text: text.to_owned(),
        };
        if !self.options.reconnect {
            let _ = self.events.send(over("the connection dropped")).await;
            return None;
        }
        let deadline = Instant::now() + self.window;
        let mut attempt = 0;
        let mut backoff = Duration::from_millis(20);
        loop {
            attempt += 1;
            let _ = self.events.send(Event::Reconnecting { attempt }).await;
            match self.try_resume().await {
                Ok(Some(conn)) => {
                    let _ = self.events.send(Event::Reconnected).await;
                    return Some(conn);
                }
                Ok(None) => return None,
                Err(_) if Instant::now() + backoff < deadline => {
                    tokio::time::sleep(backoff).await;
                    backoff = (backoff * 2).min(Duration::from_secs(2));
                }
                Err(e) => {
                    let _ = self
                        .events
                        .send(over(&format!("could not resume: {e}")))
                        .await;
                    return None;
                }
            }
        }
    }

    /// One attempt; `Ok(None)` if the server refused the resume (the session is over).
    async fn try_resume(&mut self) -> Result<Option<(Reader, Writer)>, ClientError> {
        let (mut reader, mut writer) = open(&self.endpoint).await?;
        hello(&mut reader, &mut writer, &self.decoder).await?;
        writer
            .send(&ClientFrame::Resume {
                session: self.session,
                key: self.key,
                received: self.received,
            })
            .await?;
        match expect(&mut reader, &self.decoder).await {
            Ok(ServerFrame::Resumed { handled }) => {
                self.forget_handled(handled);
                for frame in &self.unacked {
                    writer.feed(frame).await?;
                }
                writer.flush().await?;
                Ok(Some((reader, writer)))
            }
            Ok(ServerFrame::ResumeRefused { reason }) => {
                let _ = self
                    .events
                    .send(Event::Disconnected {
                        reason: DisconnectReason::Expired,
                        text: reason,
                    })
                    .await;
                Ok(None)
            }
            Ok(other) => Err(unexpected("Resumed", &other)),
            Err(ClientError::Disconnected { reason, text }) => {
                let _ = self.events.send(Event::Disconnected { reason, text }).await;
                Ok(None)
            }
            Err(e) => Err(e),
        }
    }
}
