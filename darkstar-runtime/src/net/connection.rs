//! One client connection: handshake, login or resume, then messages both ways until the
//! session ends or the connection drops.

use std::sync::Arc;
use std::time::Duration;

use darkstar_protocol::{
    ClientFrame, Decoder, DisconnectReason, ServerFrame, KEY_LEN, PROTOCOL_VERSION,
};
use darkstar_sdk::TaskError;
use tokio::sync::Semaphore;

use crate::metrics::{self, NetMetrics};
use crate::net::transport::{FrameReader, FrameWriter, ReadError};
use crate::net::NetShared;
use crate::session::{SessionEvent, SessionLink};
use crate::shared::Shared;

/// How a connection ends.
enum End {
    /// The peer closed it, or it broke: the session may be resumed.
    Dropped,
    /// The client logged out.
    LoggedOut,
    /// The client broke the protocol.
    Refused(DisconnectReason, String),
    /// Another connection resumed the session.
    Replaced,
    /// The session ended (the game, the server, or a slow client).
    SessionEnded(DisconnectReason, String),
}

/// Serves one connection to the end.
pub(crate) async fn serve(
    shared: Arc<Shared>,
    net: Arc<NetShared>,
    mut reader: FrameReader,
    mut writer: FrameWriter,
) {
    let conn = net.next_connection();
    let decoder = Decoder::new(net.config.max_frame);
    let login_timeout = Duration::from_millis(net.config.login_timeout_ms);
    let opened = tokio::time::timeout(
        login_timeout,
        open(&shared, &net, &decoder, conn, &mut reader, &mut writer),
    )
    .await;
    let link = match opened {
        Ok(Ok(link)) => link,
        Ok(Err(Some((reason, text)))) => {
            return refuse(&mut writer, reason, &text).await;
        }
        Ok(Err(None)) => return,
        Err(_) => {
            return refuse(
                &mut writer,
                DisconnectReason::LoginTimeout,
                "no login within the login timeout",
            )
            .await;
        }
    };
    let mut sent = 0;
    let end = carry(
        &shared,
        &net,
        &decoder,
        conn,
        &link,
        &mut reader,
        &mut writer,
        &mut sent,
    )
    .await;
    finish(&shared, &net, conn, &link, end, &mut writer, sent).await;
}

type Refusal = Option<(DisconnectReason, String)>;

/// Handshake, then login or resume: the session this connection carries.
async fn open(
    shared: &Arc<Shared>,
    net: &Arc<NetShared>,
    decoder: &Decoder,
    conn: u64,
    reader: &mut FrameReader,
    writer: &mut FrameWriter,
) -> Result<Arc<SessionLink>, Refusal> {
    let stall = net.stall();
    let frame = reader.next(decoder, stall).await.map_err(read_refusal)?;
    let ClientFrame::Hello {
        min_version,
        max_version,
    } = frame
    else {
        return Err(Some((
            DisconnectReason::ProtocolError,
            "the first frame must be Hello".to_owned(),
        )));
    };
    if !(min_version..=max_version).contains(&PROTOCOL_VERSION) {
        return Err(Some((
            DisconnectReason::UnsupportedVersion,
            format!(
                "this server speaks protocol version {PROTOCOL_VERSION}; the client speaks {min_version} to {max_version}"
            ),
        )));
    }
    send(
        writer,
        &ServerFrame::Welcome {
            version: PROTOCOL_VERSION,
            max_frame: net.config.max_frame,
        },
    )
    .await
    .map_err(|_| None)?;
    match reader.next(decoder, stall).await.map_err(read_refusal)? {
        ClientFrame::Login { name, password } => {
            login(shared, net, conn, writer, name, password).await
        }
        ClientFrame::Resume {
            session,
            key,
            received,
        } => resume(shared, conn, writer, session, key, received).await,
        other => Err(Some((
            DisconnectReason::ProtocolError,
            format!(
                "expected Login or Resume after Hello, got {}",
                frame_name(&other)
            ),
        ))),
    }
}

async fn login(
    shared: &Arc<Shared>,
    net: &Arc<NetShared>,
    conn: u64,
    writer: &mut FrameWriter,
    name: String,
    password: String,
) -> Result<Arc<SessionLink>, Refusal> {
    if shared.sessions.len() >= net.config.max_sessions as usize {
        metrics::login("refused");
        return Err(Some((
            DisconnectReason::Full,
            "the server has as many sessions as it takes".to_owned(),
        )));
    }
    let auth = net.authenticator.clone();
    let checked = tokio::task::spawn_blocking(move || auth.authenticate(&name, &password))
        .await
        .unwrap_or_else(|_| Err("the authenticator failed".to_owned()));
    let identity = match checked {
        Ok(identity) => identity,
        Err(reason) => {
            metrics::login("refused");
            let _ = send(writer, &ServerFrame::LoginRefused { reason }).await;
            return Err(None);
        }
    };
    let id = shared.store.allocate_id();
    let mut key = [0u8; KEY_LEN];
    if getrandom::fill(&mut key).is_err() {
        metrics::login("failed");
        let reason = "the server cannot make a session key".to_owned();
        let _ = send(writer, &ServerFrame::LoginRefused { reason }).await;
        return Err(None);
    }
    let link = Arc::new(SessionLink::new(id, key, net.queue_bytes(), conn));
    // In the table before the login task runs, so what `logged_in` sends reaches it.
    shared.sessions.insert(link.clone());
    let (tx, rx) = tokio::sync::oneshot::channel();
    shared.submit_session(
        id,
        SessionEvent::Login { name: identity },
        Some(Box::new(move |r| {
            let _ = tx.send(r);
        })),
    );
    let outcome = rx.await.unwrap_or_else(|_| {
        Err(TaskError::Unavailable {
            reason: "the server stopped".to_owned(),
        })
    });
    let reason = match outcome {
        Ok(()) => {
            metrics::login("accepted");
            metrics::session_started();
            let accepted = ServerFrame::LoginAccepted {
                session: id,
                key,
                resume_window_ms: net.config.resume_window_ms,
            };
            // If the client is gone before it heard, the session waits for a resume like
            // any other whose connection dropped.
            let _ = send(writer, &accepted).await;
            return Ok(link);
        }
        Err(TaskError::Refused { reason }) => {
            metrics::login("refused");
            reason
        }
        Err(e) => {
            metrics::login("failed");
            format!("the server could not log you in: {e}")
        }
    };
    shared.sessions.remove(id);
    let _ = send(writer, &ServerFrame::LoginRefused { reason }).await;
    Err(None)
}

async fn resume(
    shared: &Arc<Shared>,
    conn: u64,
    writer: &mut FrameWriter,
    session: u64,
    key: [u8; KEY_LEN],
    received: u64,
) -> Result<Arc<SessionLink>, Refusal> {
    let refused = |reason: &str| ServerFrame::ResumeRefused {
        reason: reason.to_owned(),
    };
    let Some(link) = shared.sessions.get(session) else {
        let _ = send(
            writer,
            &refused("no such session: it ended, or never existed"),
        )
        .await;
        return Err(None);
    };
    // Compared in full whatever the first difference, so timing tells nothing of the key.
    let same = link
        .key
        .iter()
        .zip(key.iter())
        .fold(0u8, |acc, (a, b)| acc | (a ^ b))
        == 0;
    if !same {
        let _ = send(writer, &refused("wrong session key")).await;
        return Err(None);
    }
    link.attach(conn);
    link.ack(received);
    let resumed = ServerFrame::Resumed {
        handled: link.last_accepted(),
    };
    let _ = send(writer, &resumed).await;
    Ok(link)
}

/// Carries the session: client frames in, queued frames out, until one side ends.
#[allow(clippy::too_many_arguments)]
async fn carry(
    shared: &Arc<Shared>,
    net: &Arc<NetShared>,
    decoder: &Decoder,
    conn: u64,
    link: &Arc<SessionLink>,
    reader: &mut FrameReader,
    writer: &mut FrameWriter,
    sent: &mut u64,
) -> End {
    let window = Arc::new(Semaphore::new(net.config.session_window as usize));
    let stats = NetMetrics::new();
    tokio::select! {
        end = read_loop(shared, net, decoder, link, reader, &window, &stats) => end,
        end = write_loop(conn, link, writer, &stats, sent) => end,
        end = watch(conn, link) => end,
    }
}

async fn read_loop(
    shared: &Arc<Shared>,
    net: &Arc<NetShared>,
    decoder: &Decoder,
    link: &Arc<SessionLink>,
    reader: &mut FrameReader,
    window: &Arc<Semaphore>,
    stats: &NetMetrics,
) -> End {
    loop {
        let frame = match reader.next(decoder, net.stall()).await {
            Ok(frame) => frame,
            Err(e) => {
                return match read_refusal(e) {
                    Some((reason, text)) => End::Refused(reason, text),
                    None => End::Dropped,
                }
            }
        };
        stats.frames_in.increment(1);
        let (seq, event) = match frame {
            ClientFrame::Message { seq, body } => (seq, SessionEvent::Message { body }),
            ClientFrame::ChannelMessage { seq, channel, body } => {
                (seq, SessionEvent::ChannelMessage { channel, body })
            }
            ClientFrame::Ack { received } => {
                link.ack(received);
                continue;
            }
            ClientFrame::Logout => return End::LoggedOut,
            other => {
                return End::Refused(
                    DisconnectReason::ProtocolError,
                    format!("{} is not allowed once logged in", frame_name(&other)),
                )
            }
        };
        match link.accept(seq) {
            Ok(true) => {}
            // Sent again after a resume, and already taken: handled once only.
            Ok(false) => continue,
            Err(expected) => {
                return End::Refused(
                    DisconnectReason::ProtocolError,
                    format!("message number {seq} out of order; expected {expected}"),
                )
            }
        }
        // A full window stops reading: the client's own socket fills up, not our memory.
        let Ok(permit) = window.clone().acquire_owned().await else {
            return End::Dropped;
        };
        let done = link.clone();
        shared.submit_session(
            link.id,
            event,
            Some(Box::new(move |_outcome| {
                // Handled either way: a message whose task failed for good is not retried.
                done.handled(seq);
                drop(permit);
            })),
        );
    }
}

async fn write_loop(
    conn: u64,
    link: &Arc<SessionLink>,
    writer: &mut FrameWriter,
    stats: &NetMetrics,
    sent: &mut u64,
) -> End {
    // A resumed session's unacknowledged frames are all sent again; the client drops any
    // it already has, by sequence number.
    let mut acked = 0;
    let mut frames = Vec::new();
    loop {
        let notified = link.wake.notified();
        tokio::pin!(notified);
        notified.as_mut().enable();
        if let Some(end) = gone(conn, link) {
            return end;
        }
        frames.clear();
        link.frames_after(*sent, &mut frames);
        let handled = link.last_handled();
        if frames.is_empty() && handled == acked {
            notified.await;
            continue;
        }
        for (seq, bytes) in frames.drain(..) {
            if writer.send(&bytes).await.is_err() {
                return End::Dropped;
            }
            stats.frames_out.increment(1);
            *sent = seq;
        }
        if handled > acked {
            if send_frame(writer, &ServerFrame::Ack { handled })
                .await
                .is_err()
            {
                return End::Dropped;
            }
            acked = handled;
        }
        if writer.flush().await.is_err() {
            return End::Dropped;
        }
    }
}

/// Ends the connection when the session ends or moves, even while the writer is stuck on
/// a client that does not read.
async fn watch(conn: u64, link: &Arc<SessionLink>) -> End {
    loop {
        let notified = link.wake.notified();
        tokio::pin!(notified);
        notified.as_mut().enable();
        if let Some(end) = gone(conn, link) {
            if matches!(end, End::SessionEnded(..)) {
                // Give the writer a moment to send what is queued and the reason.
                tokio::time::sleep(Duration::from_secs(1)).await;
            }
            return end;
        }
        notified.await;
    }
}

/// How the connection ends if the session moved to another connection or is ending.
fn gone(conn: u64, link: &SessionLink) -> Option<End> {
    if link.attached() != conn {
        return Some(End::Replaced);
    }
    link.ending().map(|e| End::SessionEnded(e.reason, e.text))
}

async fn finish(
    shared: &Arc<Shared>,
    net: &Arc<NetShared>,
    conn: u64,
    link: &Arc<SessionLink>,
    end: End,
    writer: &mut FrameWriter,
    sent: u64,
) {
    match end {
        End::Dropped => {
            if link.detach(conn) {
                net.await_resume(shared.clone(), link.clone());
            }
        }
        End::LoggedOut => {
            shared.end_session(link.id, DisconnectReason::LoggedOut, "logged out", true);
            // What the logout's own tasks send still goes out first.
            let _ = flush_ending(link, writer, sent).await;
            close_with(writer, DisconnectReason::LoggedOut, "logged out").await;
        }
        End::Refused(reason, text) => {
            shared.end_session(link.id, reason, &text, false);
            close_with(writer, reason, &text).await;
        }
        End::Replaced => {
            refuse(
                writer,
                DisconnectReason::Replaced,
                "the session was resumed on another connection",
            )
            .await;
        }
        End::SessionEnded(reason, text) => {
            let _ = flush_ending(link, writer, sent).await;
            close_with(writer, reason, &text).await;
        }
    }
}

/// Writes what the session still has queued, within a second.
async fn flush_ending(link: &SessionLink, writer: &mut FrameWriter, sent: u64) -> Result<(), ()> {
    let mut frames = Vec::new();
    link.frames_after(sent, &mut frames);
    let write = async {
        for (_, bytes) in frames {
            writer.send(&bytes).await?;
        }
        writer.flush().await
    };
    match tokio::time::timeout(Duration::from_secs(1), write).await {
        Ok(Ok(())) => Ok(()),
        _ => Err(()),
    }
}

/// Counts a connection closed for `reason` without ending a session (the session's end is
/// counted where it ends), tells the client why, and closes.
async fn refuse(writer: &mut FrameWriter, reason: DisconnectReason, text: &str) {
    metrics::connection_refused(reason);
    close_with(writer, reason, text).await;
}

/// Tells the client why, and closes.
async fn close_with(writer: &mut FrameWriter, reason: DisconnectReason, text: &str) {
    let frame = ServerFrame::Disconnect {
        reason,
        text: text.to_owned(),
    };
    let _ = tokio::time::timeout(Duration::from_secs(1), async {
        let _ = send(writer, &frame).await;
        writer.close().await;
    })
    .await;
}

async fn send_frame(writer: &mut FrameWriter, frame: &ServerFrame) -> std::io::Result<()> {
    writer.send(&frame.to_bytes()).await
}

/// Sends one frame now.
async fn send(writer: &mut FrameWriter, frame: &ServerFrame) -> std::io::Result<()> {
    send_frame(writer, frame).await?;
    writer.flush().await
}

fn read_refusal(e: ReadError) -> Refusal {
    match e {
        ReadError::Closed => None,
        ReadError::Frame(darkstar_protocol::FrameError::TooLarge { len, max }) => Some((
            DisconnectReason::FrameTooLarge,
            format!("frame of {len} bytes is over the limit of {max}"),
        )),
        ReadError::Frame(e) => Some((DisconnectReason::ProtocolError, e.to_string())),
        ReadError::Stalled => Some((
            DisconnectReason::ProtocolError,
            "a frame was begun and not finished within the frame timeout".to_owned(),
        )),
        ReadError::NotBinary => Some((
            DisconnectReason::ProtocolError,
            "WebSocket text messages carry no frames; send binary messages".to_owned(),
        )),
    }
}

fn frame_name(frame: &ClientFrame) -> &'static str {
    match frame {
        ClientFrame::Hello { .. } => "Hello",
        ClientFrame::Login { .. } => "Login",
        ClientFrame::Resume { .. } => "Resume",
        ClientFrame::Message { .. } => "Message",
        ClientFrame::ChannelMessage { .. } => "ChannelMessage",
        ClientFrame::Ack { .. } => "Ack",
        ClientFrame::Logout => "Logout",
    }
}
