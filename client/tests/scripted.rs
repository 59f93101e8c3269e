//! The client against a scripted server that speaks the protocol by hand, for the answers a
//! real server gives only under load or after a restart: a `busy` login, a session taken
//! over by a newer login, a refused resume, a resume through a fallback that redirects to
//! the session's new node. Also what keeps a session alive: the client or any of its
//! senders.

use std::time::Duration;

use darkstar_client::{Client, ClientError, DisconnectReason, Endpoint, Event, Events, Sender};
use darkstar_protocol::{ClientFrame, Decoder, ServerFrame, KEY_LEN, PROTOCOL_VERSION};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// One connection accepted by the scripted server.
struct Peer {
    stream: TcpStream,
    buf: Vec<u8>,
}

impl Peer {
    async fn accept(listener: &TcpListener) -> Peer {
        let (stream, _) = tokio::time::timeout(Duration::from_secs(10), listener.accept())
            .await
            .expect("a connection within 10 s")
            .unwrap();
        Peer {
            stream,
            buf: Vec::new(),
        }
    }

    /// The next client frame; `None` once the client closed the connection.
    async fn next(&mut self) -> Option<ClientFrame> {
        let decoder = Decoder::new(1 << 20);
        loop {
            if let Some((frame, used)) = decoder.decode::<ClientFrame>(&self.buf).unwrap() {
                self.buf.drain(..used);
                return Some(frame);
            }
            let read =
                tokio::time::timeout(Duration::from_secs(10), self.stream.read_buf(&mut self.buf))
                    .await
                    .expect("a frame within 10 s");
            if matches!(read, Ok(0) | Err(_)) {
                return None;
            }
        }
    }

    async fn send(&mut self, frame: ServerFrame) {
        self.stream.write_all(&frame.to_bytes()).await.unwrap();
    }

    /// Answers the client's `Hello`.
    async fn welcome(&mut self) {
        assert!(matches!(self.next().await, Some(ClientFrame::Hello { .. })));
        self.send(ServerFrame::Welcome {
            version: PROTOCOL_VERSION,
            max_frame: 1 << 16,
        })
        .await;
    }

    /// Handshake and login, accepted as session 7.
    async fn log_in(&mut self) {
        self.welcome().await;
        assert!(matches!(self.next().await, Some(ClientFrame::Login { .. })));
        self.send(ServerFrame::LoginAccepted {
            session: 7,
            key: [3; KEY_LEN],
            resume_window_ms: 30_000,
        })
        .await;
    }
}

async fn listen() -> (TcpListener, Endpoint) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let endpoint = Endpoint::tcp(listener.local_addr().unwrap().to_string());
    (listener, endpoint)
}

async fn next(events: &mut Events) -> Option<Event> {
    tokio::time::timeout(Duration::from_secs(10), events.next_event())
        .await
        .expect("an event within 10 s")
}

#[tokio::test]
async fn a_busy_server_refuses_the_login_with_its_reason() {
    let (listener, endpoint) = listen().await;
    let server = tokio::spawn(async move {
        let mut peer = Peer::accept(&listener).await;
        peer.welcome().await;
        assert!(matches!(peer.next().await, Some(ClientFrame::Login { .. })));
        peer.send(ServerFrame::Disconnect {
            reason: DisconnectReason::Busy,
            text: "too many logins waiting; try again later".to_owned(),
        })
        .await;
    });
    let err = Client::connect(endpoint, "ada", "pw").await.unwrap_err();
    let ClientError::Disconnected { reason, text } = &err else {
        panic!("a disconnection, not {err:?}");
    };
    assert_eq!(*reason, DisconnectReason::Busy);
    assert_eq!(text, "too many logins waiting; try again later");
    assert_eq!(
        err.to_string(),
        "disconnected (busy): too many logins waiting; try again later"
    );
    server.await.unwrap();
}

#[tokio::test]
async fn a_newer_login_elsewhere_ends_the_session_with_its_reason() {
    let (listener, endpoint) = listen().await;
    let server = tokio::spawn(async move {
        let mut peer = Peer::accept(&listener).await;
        peer.log_in().await;
        peer.send(ServerFrame::Disconnect {
            reason: DisconnectReason::LoggedInElsewhere,
            text: "you logged in elsewhere".to_owned(),
        })
        .await;
        // Nothing follows: the client does not try to resume a session that was ended.
        assert_eq!(peer.next().await, None);
        let again = tokio::time::timeout(Duration::from_millis(300), listener.accept()).await;
        assert!(again.is_err(), "no resume after a disconnection");
    });
    let (sender, mut events) = Client::connect(endpoint, "ada", "pw")
        .await
        .unwrap()
        .split();
    assert_eq!(
        next(&mut events).await,
        Some(Event::Disconnected {
            reason: DisconnectReason::LoggedInElsewhere,
            text: "you logged in elsewhere".to_owned(),
        })
    );
    assert_eq!(next(&mut events).await, None);
    closes(&sender).await;
    assert!(matches!(
        sender.send("late").await,
        Err(ClientError::Closed)
    ));
    server.await.unwrap();
}

#[tokio::test]
async fn a_refused_resume_ends_the_session_at_once_and_says_to_log_in_again() {
    let (listener, endpoint) = listen().await;
    let (client, mut peer) = tokio::join!(Client::connect(endpoint, "ada", "pw"), async {
        let mut peer = Peer::accept(&listener).await;
        peer.log_in().await;
        peer
    });
    let mut client = client.unwrap();
    // The connection drops, and the server that answers next has never heard of the
    // session.
    drop(peer);
    peer = Peer::accept(&listener).await;
    peer.welcome().await;
    let Some(ClientFrame::Resume { session, key, .. }) = peer.next().await else {
        panic!("a resume");
    };
    assert_eq!((session, key), (7, [3; KEY_LEN]));
    peer.send(ServerFrame::ResumeRefused {
        reason: "no such session: it ended, or never existed".to_owned(),
    })
    .await;
    assert_eq!(
        client.next_event().await,
        Some(Event::Reconnecting { attempt: 1 })
    );
    let Some(Event::Disconnected { reason, text }) = client.next_event().await else {
        panic!("the session is over");
    };
    assert_eq!(reason, DisconnectReason::Expired);
    assert_eq!(
        text,
        "the session is gone: the server refused to resume it, most likely because the \
         reconnection window passed; log in again (the server said: no such session: it \
         ended, or never existed)"
    );
    assert_eq!(client.next_event().await, None);
    let again = tokio::time::timeout(Duration::from_millis(300), listener.accept()).await;
    assert!(again.is_err(), "one refused resume, no second try");
}

#[tokio::test]
async fn a_busy_server_is_asked_again_when_resuming() {
    let (listener, endpoint) = listen().await;
    let (client, peer) = tokio::join!(Client::connect(endpoint, "ada", "pw"), async {
        let mut peer = Peer::accept(&listener).await;
        peer.log_in().await;
        peer
    });
    let mut client = client.unwrap();
    drop(peer);
    let mut peer = Peer::accept(&listener).await;
    assert!(matches!(peer.next().await, Some(ClientFrame::Hello { .. })));
    peer.send(ServerFrame::Disconnect {
        reason: DisconnectReason::Busy,
        text: "too many connections from your address".to_owned(),
    })
    .await;
    drop(peer);
    let mut peer = Peer::accept(&listener).await;
    peer.welcome().await;
    assert!(matches!(
        peer.next().await,
        Some(ClientFrame::Resume { .. })
    ));
    peer.send(ServerFrame::Resumed { handled: 0 }).await;
    assert_eq!(
        client.next_event().await,
        Some(Event::Reconnecting { attempt: 1 })
    );
    assert_eq!(
        client.next_event().await,
        Some(Event::Reconnecting { attempt: 2 })
    );
    assert_eq!(client.next_event().await, Some(Event::Reconnected));
}

#[tokio::test]
async fn an_unreachable_server_ends_the_session_when_the_window_passes() {
    let (listener, endpoint) = listen().await;
    let (client, mut peer) = tokio::join!(Client::connect(endpoint, "ada", "pw"), async {
        let mut peer = Peer::accept(&listener).await;
        peer.welcome().await;
        assert!(matches!(peer.next().await, Some(ClientFrame::Login { .. })));
        peer.send(ServerFrame::LoginAccepted {
            session: 7,
            key: [3; KEY_LEN],
            resume_window_ms: 300,
        })
        .await;
        peer
    });
    let mut client = client.unwrap();
    // The server goes away altogether: every attempt is refused by the system.
    drop(listener);
    peer.stream.shutdown().await.unwrap();
    let mut attempts = 0;
    let text = loop {
        match client.next_event().await {
            Some(Event::Reconnecting { attempt }) => attempts = attempt,
            Some(Event::Disconnected { reason, text }) => {
                assert_eq!(reason, DisconnectReason::Expired);
                break text;
            }
            other => panic!("unexpected {other:?}"),
        }
    };
    assert!(attempts > 1, "retried while the window lasted");
    assert!(
        text.starts_with(
            "could not resume the session within the reconnection window of 300 ms \
             (last attempt: cannot reach the server: "
        ) && text.ends_with("); the session is over, log in again"),
        "{text}"
    );
}

#[tokio::test]
async fn the_session_lasts_while_any_sender_does() {
    let (listener, endpoint) = listen().await;
    let (client, mut peer) = tokio::join!(Client::connect(endpoint, "ada", "pw"), async {
        let mut peer = Peer::accept(&listener).await;
        peer.log_in().await;
        peer
    });
    let client = client.unwrap();
    let sender = client.sender();
    let other = sender.clone();
    drop(client);
    // Senders move to other tasks, and send from there.
    tokio::spawn(async move { other.send("from a task").await.unwrap() })
        .await
        .unwrap();
    let Some(ClientFrame::Message { seq: 1, body }) = peer.next().await else {
        panic!("the message");
    };
    assert_eq!(body, b"from a task");
    // The last sender gone, the client logs out.
    drop(sender);
    assert_eq!(peer.next().await, Some(ClientFrame::Logout));
}

#[test]
fn senders_can_be_shared_between_threads() {
    fn shareable<T: Clone + Send + Sync + 'static>() {}
    fn movable<T: Send + 'static>() {}
    shareable::<Sender>();
    movable::<Events>();
    movable::<Client>();
}

/// Waits for the client's background task to end, which closes every sender.
async fn closes(sender: &Sender) {
    for _ in 0..100 {
        if sender.is_closed() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    panic!("the sender did not close");
}

#[tokio::test]
async fn a_resume_that_cannot_reach_its_server_tries_the_fallbacks_and_follows_a_redirect() {
    let (home, home_endpoint) = listen().await;
    let (spare, spare_endpoint) = listen().await;
    let (owner, _) = listen().await;
    let options = darkstar_client::Options {
        fallbacks: vec![spare_endpoint],
        ..darkstar_client::Options::default()
    };
    let (client, peer) = tokio::join!(
        Client::connect_with(home_endpoint, "ada", "pw", options),
        async {
            let mut peer = Peer::accept(&home).await;
            peer.log_in().await;
            peer
        }
    );
    let mut client = client.unwrap();
    // The session's node dies: nothing listens there any more.
    drop(peer);
    drop(home);
    // The fallback is not the session's node: it sends the client to the one that is.
    let mut peer = Peer::accept(&spare).await;
    peer.welcome().await;
    assert!(matches!(
        peer.next().await,
        Some(ClientFrame::Resume { .. })
    ));
    let owner_addr = owner.local_addr().unwrap();
    peer.send(ServerFrame::Redirect {
        host: owner_addr.ip().to_string(),
        port: owner_addr.port(),
    })
    .await;
    let mut peer = Peer::accept(&owner).await;
    peer.welcome().await;
    let Some(ClientFrame::Resume { session, key, .. }) = peer.next().await else {
        panic!("a resume at the session's new node");
    };
    assert_eq!((session, key), (7, [3; KEY_LEN]));
    peer.send(ServerFrame::Resumed { handled: 0 }).await;
    loop {
        match client.next_event().await {
            Some(Event::Reconnecting { .. }) => {}
            Some(Event::Reconnected) => break,
            other => panic!("unexpected {other:?}"),
        }
    }
    // Carried on there.
    peer.send(ServerFrame::Message {
        seq: 1 << 24,
        body: b"moved".to_vec(),
    })
    .await;
    assert_eq!(
        client.next_event().await,
        Some(Event::Message(b"moved".to_vec()))
    );
}
