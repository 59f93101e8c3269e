//! One client connection: handshake, login or resume, then messages both ways until the
//! session ends or the connection drops.
//!
//! Reading top to bottom: [`serve`] admits the client ([`admit`]: `Hello`, then a login
//! checked on the login threads, or a resume), opens its session ([`open_session`]:
//! the duplicate-login policy, then the game's `logged_in` task), carries it ([`carry`])
//! and closes ([`finish`], [`close`]), always with a `Disconnect` frame that says why when
//! the server is the one ending it.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use darkstar_protocol::{
    ClientFrame, Decoder, DisconnectReason, ServerFrame, KEY_LEN, PROTOCOL_VERSION,
};
use darkstar_sdk::TaskError;
use tracing::warn;

use crate::metrics::{self, NetMetrics};
use crate::net::admission::{Limit, Ticket};
use crate::net::budget::PRELOGIN_READ;
use crate::net::incident::Incident;
use crate::net::login_pool::QueueFull;
use crate::net::pace::SessionPace;
use crate::net::transport::{FrameReader, FrameWriter, ReadError};
use crate::net::NetShared;
use crate::session::relocate;
use crate::session::{take_over, Opened, SessionEvent, SessionLink, Takeover};
use crate::shared::Shared;

/// The largest frame a client may send before it has logged in: room for a `Login` with a
/// 64-byte name and a password of about 1,900 bytes. A connection without an account so
/// holds a few KiB, however large `max_frame` is.
pub(crate) const PRELOGIN_MAX_FRAME: u32 = 2048;

/// How long closing may take at each step: writing the `Disconnect` frame and the close,
/// then reading what the client still sends (so the close is not a reset).
pub(crate) const CLOSE_GRACE: Duration = Duration::from_secs(5);

/// How long a session that is ending (not cut off as too slow) gets to write what it has
/// queued before its reason.
const ENDING_FLUSH: Duration = Duration::from_secs(1);

/// How long a logout waits for the messages sent before it to be handled.
const LOGOUT_WAIT: Duration = Duration::from_secs(30);

/// How a connection ends once it carries a session.
enum End {
    /// The peer closed it, or it broke: the session may be resumed.
    Dropped,
    /// The client logged out.
    LoggedOut,
    /// The client broke the protocol.
    Refused(DisconnectReason, String),
    /// Another connection resumed the session.
    Replaced,
    /// In a cluster, the session's slot moved to another node: the client resumes there.
    Relocated,
    /// The session ended (the game, the server, a slow client, a newer login).
    SessionEnded(DisconnectReason, String),
}

/// Why a connection did not get as far as a session.
enum Failed {
    /// Tell the client why, and close.
    Refused(DisconnectReason, String),
    /// A limit refused it: tell the client, and close.
    Limited(Limit),
    /// The answer (`LoginRefused`, `ResumeRefused`) is sent; close.
    Answered,
    /// The connection is gone.
    Gone,
}

/// What a client is let in as.
enum Admitted {
    /// Authenticated as this identity; its session is not open yet.
    Login(String),
    /// May resume this session, having received every frame up to `received`.
    Resume {
        link: Arc<SessionLink>,
        received: u64,
    },
}

/// Serves one admitted connection to the end.
pub(crate) async fn serve(
    shared: Arc<Shared>,
    net: Arc<NetShared>,
    peer: SocketAddr,
    mut ticket: Ticket,
    mut reader: FrameReader,
    mut writer: FrameWriter,
) {
    let conn = net.next_connection();
    let login_timeout = Duration::from_millis(net.config.login_timeout_ms);
    let prelogin = Decoder::new(net.config.max_frame.min(PRELOGIN_MAX_FRAME));
    let admitted = tokio::time::timeout(
        login_timeout,
        admit(
            &shared,
            &net,
            &prelogin,
            peer,
            &ticket,
            &mut reader,
            &mut writer,
        ),
    )
    .await
    .unwrap_or_else(|_| {
        Err(Failed::Refused(
            DisconnectReason::LoginTimeout,
            "no login within the login timeout".to_owned(),
        ))
    });
    let opened = match admitted {
        Ok(Admitted::Login(identity)) => {
            open_session(&shared, &net, conn, &mut writer, identity).await
        }
        Ok(Admitted::Resume { link, received }) => {
            // Attached only now, past the login timeout: a connection is never left
            // attached by a timeout that cut it off in the middle.
            link.attach(conn);
            link.carried_by_websocket(writer.is_websocket());
            link.ack(received)
                .expect("checked against bounds that only grow");
            let resumed = ServerFrame::Resumed {
                // Durably handled, not merely taken: a message taken whose commit a crash
                // loses must come again, and one sent again that was taken is ignored.
                handled: link.last_handled(),
            };
            // If the client is gone before it heard, the carrying below finds out.
            let _ = send(&mut writer, &resumed).await;
            Ok(link)
        }
        Err(failed) => Err(failed),
    };
    let link = match opened {
        Ok(link) => link,
        Err(failed) => return turn_back(&net, peer, failed, &mut reader, &mut writer).await,
    };
    ticket.logged_in();
    reader.logged_in();
    let decoder = Decoder::new(net.config.max_frame);
    let mut sent = 0;
    let end = carry(
        &shared,
        &net,
        &decoder,
        conn,
        peer,
        &link,
        &mut reader,
        &mut writer,
        &mut sent,
    )
    .await;
    finish(
        &shared,
        &net,
        conn,
        peer,
        &link,
        end,
        &mut reader,
        &mut writer,
        sent,
    )
    .await;
}

/// Closes a connection that got no session, counting and logging why.
async fn turn_back(
    net: &NetShared,
    peer: SocketAddr,
    failed: Failed,
    reader: &mut FrameReader,
    writer: &mut FrameWriter,
) {
    let (reason, text) = match failed {
        Failed::Gone => return,
        Failed::Answered => return close(reader, writer, None).await,
        Failed::Limited(limit) => {
            net.incidents
                .report(Incident::Refused(limit), peer, limit.text());
            (limit.reason(), limit.text().to_owned())
        }
        Failed::Refused(reason, text) => {
            if let Some(incident) = incident_of(reason) {
                net.incidents.report(incident, peer, &text);
            }
            (reason, text)
        }
    };
    metrics::connection_refused(reason);
    close(reader, writer, Some((reason, &text))).await;
}

/// The incident a disconnect reason counts as, if the client caused it (a login replaced
/// by a newer one is nobody's fault).
fn incident_of(reason: DisconnectReason) -> Option<Incident> {
    match reason {
        DisconnectReason::FrameTooLarge => Some(Incident::FrameTooLarge),
        DisconnectReason::LoginTimeout => Some(Incident::LoginTimeout),
        DisconnectReason::TooSlow => Some(Incident::TooSlow),
        DisconnectReason::ProtocolError | DisconnectReason::UnsupportedVersion => {
            Some(Incident::ProtocolError)
        }
        _ => None,
    }
}

/// Handshake, then a login checked or a session resumed.
#[allow(clippy::too_many_arguments)]
async fn admit(
    shared: &Arc<Shared>,
    net: &Arc<NetShared>,
    decoder: &Decoder,
    peer: SocketAddr,
    ticket: &Ticket,
    reader: &mut FrameReader,
    writer: &mut FrameWriter,
) -> Result<Admitted, Failed> {
    let stall = net.stall();
    let frame = reader.next(decoder, stall).await.map_err(read_failure)?;
    let ClientFrame::Hello {
        min_version,
        max_version,
    } = frame
    else {
        return Err(Failed::Refused(
            DisconnectReason::ProtocolError,
            "the first frame must be Hello".to_owned(),
        ));
    };
    if !(min_version..=max_version).contains(&PROTOCOL_VERSION) {
        return Err(Failed::Refused(
            DisconnectReason::UnsupportedVersion,
            format!(
                "this server speaks protocol version {PROTOCOL_VERSION}; the client speaks {min_version} to {max_version}"
            ),
        ));
    }
    send(
        writer,
        &ServerFrame::Welcome {
            version: PROTOCOL_VERSION,
            max_frame: net.config.max_frame,
        },
    )
    .await
    .map_err(|_| Failed::Gone)?;
    match reader.next(decoder, stall).await.map_err(read_failure)? {
        ClientFrame::Login { name, password } => {
            // A login a limit turns away as `busy` is counted in `darkstar_limits_total`,
            // not as a refused login: that count stays the authenticator's and the game's.
            ticket.login_attempt().map_err(Failed::Limited)?;
            if shared.sessions.len() >= net.config.max_sessions as usize {
                metrics::login("refused");
                return Err(Failed::Limited(Limit::Sessions));
            }
            if shared.ownership.unplaced() {
                metrics::login("refused");
                return Err(Failed::Refused(
                    DisconnectReason::Busy,
                    "this node is joining its cluster; try again in a moment".to_owned(),
                ));
            }
            // In a cluster, a player's session lives on the node that owns its name's
            // slot: a login elsewhere is sent there before any password is checked.
            let slot = shared
                .placement
                .slot_of(crate::cluster::identity_key(&name));
            if let Some((host, port)) = shared
                .ownership
                .elsewhere(slot, writer.is_websocket())
                .and_then(|a| split_address(&a))
            {
                metrics::login("redirected");
                let _ = send(writer, &ServerFrame::Redirect { host, port }).await;
                return Err(Failed::Answered);
            }
            match authenticate(net, ticket, reader, name, password).await? {
                Ok(identity) => Ok(Admitted::Login(identity)),
                Err(reason) => {
                    metrics::login("refused");
                    net.incidents.report(Incident::LoginRefused, peer, &reason);
                    let _ = send(writer, &ServerFrame::LoginRefused { reason }).await;
                    Err(Failed::Answered)
                }
            }
        }
        ClientFrame::Resume {
            session,
            key,
            received,
        } => resume(shared, net, writer, session, key, received).await,
        other => Err(Failed::Refused(
            DisconnectReason::ProtocolError,
            format!(
                "expected Login or Resume after Hello, got {}",
                frame_name(&other)
            ),
        )),
    }
}

/// `host:port` as the `Redirect` frame carries it (an IPv6 host without its brackets).
fn split_address(address: &str) -> Option<(String, u16)> {
    let (host, port) = address.rsplit_once(':')?;
    let host = host.trim_start_matches('[').trim_end_matches(']');
    Some((host.to_owned(), port.parse().ok()?))
}

/// Runs the authenticator: on the login threads unless it answers at once. The identity,
/// or the reason for the client. A client that goes away while its login waits takes its
/// place in the queue with it.
async fn authenticate(
    net: &NetShared,
    ticket: &Ticket,
    reader: &mut FrameReader,
    name: String,
    password: String,
) -> Result<Result<String, String>, Failed> {
    let auth = net.authenticator.clone();
    if auth.is_instant() {
        return Ok(auth.authenticate(&name, &password));
    }
    let checked = net
        .logins
        .run(ticket.address(), move || {
            auth.authenticate(&name, &password)
        })
        .map_err(|full| {
            Failed::Limited(match full {
                QueueFull::All => Limit::LoginQueue,
                QueueFull::Address => Limit::WaitingLogins,
            })
        })?;
    tokio::select! {
        checked = checked => Ok(checked.unwrap_or_else(|_| Err("the authenticator failed".to_owned()))),
        () = reader.peer_gone() => Err(Failed::Gone),
    }
}

/// Opens the session of a client that authenticated as `identity`: the duplicate-login
/// policy, then the game's `logged_in` task.
async fn open_session(
    shared: &Arc<Shared>,
    net: &Arc<NetShared>,
    conn: u64,
    writer: &mut FrameWriter,
    identity: String,
) -> Result<Arc<SessionLink>, Failed> {
    let Ok(id) = shared.data.allocate_id() else {
        metrics::login("failed");
        let reason = "the server cannot make a session now; try again".to_owned();
        let _ = send(writer, &ServerFrame::LoginRefused { reason }).await;
        return Err(Failed::Answered);
    };
    // Derived, not stored: whichever node, or a restarted server, can check it.
    let key = shared.resume_key(id);
    let pace = SessionPace::of(&net.config, Instant::now());
    let link = Arc::new(SessionLink::new(
        id,
        key,
        identity.clone(),
        net.queue_bytes(),
        pace,
        net.config.session_window as usize,
        conn,
    ));
    link.carried_by_websocket(writer.is_websocket());
    // In the table before the login task runs, so what `logged_in` sends reaches it.
    match shared
        .sessions
        .open(link.clone(), net.config.duplicate_login)
    {
        Opened::New => {}
        Opened::Refused => {
            metrics::login("refused");
            let reason = format!("{identity} is already logged in");
            let _ = send(writer, &ServerFrame::LoginRefused { reason }).await;
            return Err(Failed::Answered);
        }
        Opened::Replacing(old) => {
            shared.end_link(
                &old,
                DisconnectReason::LoggedInElsewhere,
                "a newer login under this name took over",
                false,
            );
            // The game hears the old session's `disconnected` before the new `logged_in`.
            let limit = Duration::from_millis(net.config.login_timeout_ms);
            if tokio::time::timeout(limit, old.finished()).await.is_err() {
                warn!(
                    session = old.id,
                    "the replaced session's disconnected task did not finish within the login timeout; logging in anyway"
                );
            }
        }
    }
    let (tx, rx) = tokio::sync::oneshot::channel();
    let submitted = link.submit_login(|| {
        shared.submit_session(
            id,
            SessionEvent::Login { name: identity },
            Some(Box::new(move |r| {
                let _ = tx.send(r);
            })),
        )
    });
    if !submitted {
        // Replaced by a newer login under the same name while this one waited.
        metrics::login("refused");
        return Err(Failed::Refused(
            DisconnectReason::LoggedInElsewhere,
            "a newer login under this name took over".to_owned(),
        ));
    }
    let outcome = rx.await.unwrap_or_else(|_| {
        Err(TaskError::Unavailable {
            reason: "the server stopped".to_owned(),
        })
    });
    let reason = match outcome {
        Ok(()) => {
            metrics::login("accepted");
            if link.start() {
                metrics::session_started();
            }
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
    Err(Failed::Answered)
}

async fn resume(
    shared: &Arc<Shared>,
    net: &Arc<NetShared>,
    writer: &mut FrameWriter,
    session: u64,
    key: [u8; KEY_LEN],
    received: u64,
) -> Result<Admitted, Failed> {
    let refuse = |reason: String| ServerFrame::ResumeRefused { reason };
    // A link of a session that moved on to another node (it was relocated there, and
    // taken over) is not the session any more: this node lets go of it, and takes the
    // session over again if its slot is here now.
    let local = shared.sessions.get(session).filter(|link| {
        let moved = relocate::moved_away(shared, link);
        if moved {
            relocate::let_go(shared, link);
        }
        !moved
    });
    if let Some(link) = local.as_ref().filter(|l| l.moved()) {
        // Sent elsewhere, and the record still names this node: either the other node has
        // not taken it over (then the client belongs there), or this replica has not yet
        // applied the takeover. Never resumed here from what this node knew.
        let slot = shared
            .placement
            .slot_of(crate::cluster::identity_key(&link.identity));
        if let Some((host, port)) = shared
            .ownership
            .elsewhere(slot, writer.is_websocket())
            .and_then(|a| split_address(&a))
        {
            let _ = send(writer, &ServerFrame::Redirect { host, port }).await;
            return Err(Failed::Answered);
        }
        return Err(Failed::Refused(
            DisconnectReason::Busy,
            "the session is moving; try again".to_owned(),
        ));
    }
    let link = match local {
        Some(link) => link,
        // In a cluster, the session of a node that died may be taken over here.
        None => {
            let (owner, config) = (shared.clone(), net.config.clone());
            let websocket = writer.is_websocket();
            let waiting = net.clone();
            let taken = tokio::task::spawn_blocking(move || {
                let taken = take_over(&owner, &config, session, &key, received, websocket);
                // Its window runs from here: if this connection never carries it (the
                // login timeout passed meanwhile, the resume is refused below), it still
                // ends once the window has passed.
                if let Takeover::Taken(link) = &taken {
                    waiting.await_resume(owner.clone(), link.clone());
                }
                taken
            })
            .await
            .unwrap_or(Takeover::NotYet("the server is busy; try again"));
            match taken {
                Takeover::Taken(link) => link,
                Takeover::Elsewhere(address) => {
                    if let Some((host, port)) = split_address(&address) {
                        let _ = send(writer, &ServerFrame::Redirect { host, port }).await;
                    }
                    return Err(Failed::Answered);
                }
                Takeover::NotYet(text) => {
                    return Err(Failed::Refused(DisconnectReason::Busy, text.to_owned()))
                }
                Takeover::Refused(reason) => {
                    let _ = send(writer, &refuse(reason.to_owned())).await;
                    return Err(Failed::Answered);
                }
            }
        }
    };
    // Compared in full whatever the first difference, so timing tells nothing of the key.
    let same = link
        .key
        .iter()
        .zip(key.iter())
        .fold(0u8, |acc, (a, b)| acc | (a ^ b))
        == 0;
    if !same {
        let _ = send(writer, &refuse("wrong session key".to_owned())).await;
        return Err(Failed::Answered);
    }
    if let Err(reason) = link.check_resume(received) {
        let _ = send(writer, &refuse(reason)).await;
        return Err(Failed::Answered);
    }
    Ok(Admitted::Resume { link, received })
}

/// Carries the session: client frames in, queued frames out, until one side ends.
#[allow(clippy::too_many_arguments)]
async fn carry(
    shared: &Arc<Shared>,
    net: &Arc<NetShared>,
    decoder: &Decoder,
    conn: u64,
    peer: SocketAddr,
    link: &Arc<SessionLink>,
    reader: &mut FrameReader,
    writer: &mut FrameWriter,
    sent: &mut u64,
) -> End {
    let stats = NetMetrics::new();
    tokio::select! {
        end = read_loop(shared, net, decoder, peer, link, reader, &stats) => end,
        end = write_loop(conn, link, writer, &stats, sent) => end,
        end = watch(conn, link) => end,
    }
}

#[allow(clippy::too_many_arguments)]
async fn read_loop(
    shared: &Arc<Shared>,
    net: &Arc<NetShared>,
    decoder: &Decoder,
    peer: SocketAddr,
    link: &Arc<SessionLink>,
    reader: &mut FrameReader,
    stats: &NetMetrics,
) -> End {
    loop {
        let frame = match reader.next(decoder, net.stall()).await {
            Ok(frame) => frame,
            // A path that died in the middle of a frame: the client may come back.
            Err(ReadError::Stalled) => return End::Dropped,
            Err(e) => {
                return match read_failure(e) {
                    Failed::Refused(reason, text) => End::Refused(reason, text),
                    _ => End::Dropped,
                }
            }
        };
        stats.frames_in.increment(1);
        // Every frame spends from the session's rates, whatever it turns out to be, so no
        // kind of frame can be sent faster than they allow. Over its rate, the session
        // waits here, reading nothing: its excess stays in its own connection, and costs
        // nobody else anything.
        let (len, is_message, to_channel) = match &frame {
            ClientFrame::Message { body, .. } => (body.len(), true, false),
            ClientFrame::ChannelMessage { body, .. } => (body.len(), true, true),
            _ => (darkstar_protocol::HEADER_LEN + 8, false, false),
        };
        let wait = link
            .pace
            .lock()
            .wait(len, is_message, to_channel, Instant::now());
        if !wait.is_zero() {
            net.incidents.report(
                Incident::Throttled,
                peer,
                &format!(
                    "session {} sends faster than session_messages_per_sec, session_kib_per_sec or channel_messages_per_sec allow",
                    link.id
                ),
            );
            tokio::time::sleep(wait).await;
        }
        let (seq, event) = match frame {
            ClientFrame::Message { seq, body } => (seq, SessionEvent::Message { seq, body }),
            ClientFrame::ChannelMessage { seq, channel, body } => {
                (seq, SessionEvent::ChannelMessage { seq, channel, body })
            }
            ClientFrame::Ack { received } => match link.ack(received) {
                Ok(()) => continue,
                Err(last) => return ack_beyond(received, last),
            },
            ClientFrame::Logout => return logging_out(net, decoder, link, reader).await,
            other => {
                return End::Refused(
                    DisconnectReason::ProtocolError,
                    format!("{} is not allowed once logged in", frame_name(&other)),
                )
            }
        };
        let out_of_order = |expected| {
            End::Refused(
                DisconnectReason::ProtocolError,
                format!("message number {seq} out of order; expected {expected}"),
            )
        };
        match link.is_next(seq) {
            Ok(true) => {}
            // Sent again after a resume, and already taken: handled once only.
            Ok(false) => continue,
            Err(expected) => return out_of_order(expected),
        }
        // The message is taken (accepted) only once it can be submitted at once: if the
        // connection drops while it waits below, it was never taken, and the client sends
        // it again after resuming.
        // A full window stops reading: the client's own socket fills up, not our memory.
        let Ok(permit) = link.window.clone().acquire_owned().await else {
            return End::Dropped;
        };
        match link.accept(seq) {
            Ok(true) => {}
            // Taken meanwhile through another connection that resumed the session.
            Ok(false) => continue,
            Err(expected) => return out_of_order(expected),
        }
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

fn ack_beyond(received: u64, last: u64) -> End {
    End::Refused(
        DisconnectReason::ProtocolError,
        format!("Ack of frame {received}, but the last frame the server queued is {last}"),
    )
}

/// After `Logout`: waits until every message taken before it is handled (its replies are
/// then queued ahead of the end), while the writer goes on sending and this goes on
/// reading the client's acknowledgements.
async fn logging_out(
    net: &NetShared,
    decoder: &Decoder,
    link: &SessionLink,
    reader: &mut FrameReader,
) -> End {
    let handled = link.handled_through(link.last_accepted());
    tokio::pin!(handled);
    let deadline = tokio::time::sleep(LOGOUT_WAIT);
    tokio::pin!(deadline);
    loop {
        tokio::select! {
            () = &mut handled => return End::LoggedOut,
            () = &mut deadline => return End::LoggedOut,
            frame = reader.next(decoder, net.stall()) => match frame {
                Ok(ClientFrame::Ack { received }) => {
                    if let Err(last) = link.ack(received) {
                        return ack_beyond(received, last);
                    }
                }
                // Anything else after a logout is not taken.
                Ok(_) => {}
                Err(_) => return End::LoggedOut,
            },
        }
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
        // Read before the frames: a task counted as handled has queued what it sent
        // already, so its Ack never overtakes its frames.
        let handled = link.last_handled();
        frames.clear();
        link.frames_after(*sent, &mut frames);
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
            if writer
                .send(&ServerFrame::Ack { handled }.to_bytes())
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
            match &end {
                // A client too slow to read gets its reason next, not after its backlog.
                End::SessionEnded(DisconnectReason::TooSlow, _) => {}
                // Give the writer a moment to send what is queued and the reason.
                End::SessionEnded(..) => tokio::time::sleep(ENDING_FLUSH).await,
                _ => {}
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
    if let Some(e) = link.ending() {
        return Some(End::SessionEnded(e.reason, e.text));
    }
    link.relocating().then_some(End::Relocated)
}

#[allow(clippy::too_many_arguments)]
async fn finish(
    shared: &Arc<Shared>,
    net: &Arc<NetShared>,
    conn: u64,
    peer: SocketAddr,
    link: &Arc<SessionLink>,
    end: End,
    reader: &mut FrameReader,
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
            flush_ending(link, writer, sent).await;
            close(
                reader,
                writer,
                Some((DisconnectReason::LoggedOut, "logged out")),
            )
            .await;
        }
        End::Refused(reason, text) => {
            if let Some(incident) = incident_of(reason) {
                net.incidents.report(incident, peer, &text);
            }
            shared.end_session(link.id, reason, &text, false);
            close(reader, writer, Some((reason, &text))).await;
        }
        End::Relocated => {
            // The frames the client lacks are in every replica's outbox, so the node it
            // goes to sends them; this one only says where to go, and lets go. Detached
            // first, so that the window runs even if the client never reads the frame.
            link.mark_moved();
            if link.detach(conn) {
                net.await_resume(shared.clone(), link.clone());
            }
            let slot = shared
                .placement
                .slot_of(crate::cluster::identity_key(&link.identity));
            let to = shared
                .ownership
                .elsewhere(slot, writer.is_websocket())
                .and_then(|a| split_address(&a));
            if let Some((host, port)) = &to {
                let relocate = ServerFrame::Relocate {
                    host: host.clone(),
                    port: *port,
                    key: link.key,
                };
                let _ = tokio::time::timeout(CLOSE_GRACE, send(writer, &relocate)).await;
                tracing::debug!(session = link.id, host, port, "session relocated");
            }
            close(reader, writer, None).await;
        }
        End::Replaced => {
            metrics::connection_refused(DisconnectReason::Replaced);
            let text = "the session was resumed on another connection";
            close(reader, writer, Some((DisconnectReason::Replaced, text))).await;
        }
        End::SessionEnded(reason, text) => {
            if reason == DisconnectReason::TooSlow {
                net.incidents.report(
                    Incident::TooSlow,
                    peer,
                    &format!("session {}: {text}", link.id),
                );
            } else {
                flush_ending(link, writer, sent).await;
            }
            close(reader, writer, Some((reason, &text))).await;
        }
    }
}

/// Writes what the session still has queued, within a moment.
async fn flush_ending(link: &SessionLink, writer: &mut FrameWriter, sent: u64) {
    let mut frames = Vec::new();
    link.frames_after(sent, &mut frames);
    let write = async {
        for (_, bytes) in frames {
            writer.send(&bytes).await?;
        }
        writer.flush().await
    };
    let _ = tokio::time::timeout(ENDING_FLUSH, write).await;
}

/// Tells the client why (if the server is the one ending it) and closes this side, while
/// reading what the client still sends until it closes too: a client blocked on writing
/// (it floods and does not read) gets unstuck, reads, and finds its reason. Writing gets
/// [`CLOSE_GRACE`] for the reason and as long again for the close; reading ends at the
/// client's close or after both. On WebSocket the close status is 4000 plus the reason
/// code (1000 without a reason).
async fn close(
    reader: &mut FrameReader,
    writer: &mut FrameWriter,
    disconnect: Option<(DisconnectReason, &str)>,
) {
    let (status, name) = match disconnect {
        Some((reason, _)) => (4000 + u16::from(reason.code()), reason.name()),
        None => (1000, ""),
    };
    let write_side = async {
        let say = async {
            if let Some((reason, text)) = disconnect {
                let frame = ServerFrame::Disconnect {
                    reason,
                    text: text.to_owned(),
                };
                writer.send(&frame.to_bytes()).await?;
            }
            writer.flush().await
        };
        let _ = tokio::time::timeout(CLOSE_GRACE, say).await;
        let _ = tokio::time::timeout(CLOSE_GRACE, writer.close(status, name)).await;
    };
    tokio::join!(write_side, reader.drain(CLOSE_GRACE * 2));
}

/// Sends one frame now.
async fn send(writer: &mut FrameWriter, frame: &ServerFrame) -> std::io::Result<()> {
    writer.send(&frame.to_bytes()).await?;
    writer.flush().await
}

fn read_failure(e: ReadError) -> Failed {
    match e {
        ReadError::Closed => Failed::Gone,
        ReadError::Frame(darkstar_protocol::FrameError::TooLarge { len, max }) => Failed::Refused(
            DisconnectReason::FrameTooLarge,
            format!("frame of {len} bytes is over the limit of {max}"),
        ),
        ReadError::Frame(e) => Failed::Refused(DisconnectReason::ProtocolError, e.to_string()),
        ReadError::Stalled => Failed::Refused(
            DisconnectReason::ProtocolError,
            "a frame was begun and not finished within the frame timeout".to_owned(),
        ),
        ReadError::NotBinary => Failed::Refused(
            DisconnectReason::ProtocolError,
            "WebSocket text messages carry no frames; send binary messages".to_owned(),
        ),
        ReadError::OverBudget => Failed::Refused(
            DisconnectReason::FrameTooLarge,
            format!("more than {PRELOGIN_READ} bytes before logging in"),
        ),
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
