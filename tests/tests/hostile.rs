//! Hostile clients (garbage, unknown frames, a wrong version, oversized frames, slowloris
//! connections, a client that never logs in, a flood that never reads) are each
//! disconnected with their reason and counted in the metrics, while well-behaved clients
//! connected at the same time keep working.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::time::Duration;

use darkstar_client::{Client, Endpoint, Event};
use darkstar_protocol::{ClientFrame, Decoder, DisconnectReason, ServerFrame, PROTOCOL_VERSION};
use darkstar_runtime::{Config, Server};
use darkstar_sdk::prelude::*;
use darkstar_tests::prometheus::{sample, scrape};
use darkstar_tests::server_config::dev_server_config;

#[managed(name = "hostile.Echo")]
struct Echo {}

impl SessionListener for Echo {
    fn received_message(
        ctx: &mut Context<'_>,
        _this: Ref<Self>,
        session: Ref<Session>,
        message: &[u8],
    ) -> TaskResult {
        // A reply larger than the message, so a client that does not read falls behind.
        ctx.send(session, message.repeat(8))
    }
}

struct EchoApp;

impl App for EchoApp {
    fn register(&self, types: &mut Types) {
        types.session_listener::<Echo>();
    }

    fn logged_in(&self, ctx: &mut Context<'_>, _session: Ref<Session>) -> Result<Login, TaskError> {
        Ok(Login::accept(ctx.create(Echo {})?))
    }
}

const MAX_FRAME: u32 = 4096;

/// How many sessions or connections were cut for `reason` (0 if none were).
fn disconnects(text: &str, reason: &str) -> u64 {
    sample(
        text,
        "darkstar_disconnects_total",
        &format!("reason=\"{reason}\""),
    )
    .unwrap_or(0.0) as u64
}

/// The metrics endpoint of this test process, shared by its tests (a process has one
/// recorder), which run one at a time and compare counts before and after.
fn metrics() -> (SocketAddr, std::sync::MutexGuard<'static, ()>) {
    static ENDPOINT: std::sync::OnceLock<SocketAddr> = std::sync::OnceLock::new();
    static ONE_AT_A_TIME: std::sync::Mutex<()> = std::sync::Mutex::new(());
    let guard = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let addr = *ENDPOINT.get_or_init(|| {
        let addr = free_port();
        darkstar_runtime::serve_prometheus(addr).expect("the metrics endpoint starts");
        addr
    });
    (addr, guard)
}

/// Counts of disconnects by reason, to compare before and after.
struct Counts(String);

impl Counts {
    fn now(addr: SocketAddr) -> Counts {
        Counts(scrape(addr))
    }

    /// How many more disconnects for `reason` the endpoint counts now than then.
    fn since(&self, text: &str, reason: &str) -> u64 {
        disconnects(text, reason) - disconnects(&self.0, reason)
    }
}

fn free_port() -> SocketAddr {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
}

fn connect(addr: SocketAddr) -> TcpStream {
    let s = TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
    s
}

fn write(s: &mut TcpStream, frame: &ClientFrame) {
    s.write_all(&frame.to_bytes()).unwrap();
}

/// Reads frames until the server says why it is disconnecting, or closes.
fn disconnect_reason(s: &mut TcpStream) -> Option<DisconnectReason> {
    let decoder = Decoder::new(64 << 20);
    let mut buf = Vec::new();
    let mut chunk = [0u8; 4096];
    loop {
        while let Ok(Some((frame, used))) = decoder.decode::<ServerFrame>(&buf) {
            buf.drain(..used);
            if let ServerFrame::Disconnect { reason, .. } = frame {
                return Some(reason);
            }
        }
        match s.read(&mut chunk) {
            Ok(0) | Err(_) => return None,
            Ok(n) => buf.extend_from_slice(&chunk[..n]),
        }
    }
}

fn hello(s: &mut TcpStream) {
    write(
        s,
        &ClientFrame::Hello {
            min_version: PROTOCOL_VERSION,
            max_version: PROTOCOL_VERSION,
        },
    );
}

fn logged_in(addr: SocketAddr, name: &str) -> TcpStream {
    let mut s = connect(addr);
    hello(&mut s);
    write(
        &mut s,
        &ClientFrame::Login {
            name: name.to_owned(),
            password: String::new(),
        },
    );
    s
}

/// A well-behaved client: `n` messages, every echo back in order.
async fn behave(addr: String, name: String, n: usize) {
    let mut c = Client::connect(Endpoint::tcp(addr), &name, "")
        .await
        .unwrap();
    for i in 0..n {
        c.send(format!("{name}/{i}")).await.unwrap();
    }
    for i in 0..n {
        let event = tokio::time::timeout(Duration::from_secs(30), c.next_event())
            .await
            .expect("an echo within 30 s")
            .expect("the session is open");
        assert_eq!(
            event,
            Event::Message(format!("{name}/{i}").repeat(8).into_bytes()),
            "{name}, message {i}"
        );
    }
    c.logout().await.unwrap();
}

#[test]
fn hostile_clients_are_cut_off_while_others_keep_working() {
    let (metrics, _one) = metrics();
    let before = Counts::now(metrics);
    let dir = tempfile::tempdir().unwrap();
    let config = Config {
        max_frame: MAX_FRAME,
        login_timeout_ms: 500,
        frame_timeout_ms: 300,
        session_queue_kib: 256,
        ..dev_server_config(dir.path())
    };
    let server = Server::builder(EchoApp).config(config).start().unwrap();
    let addr = server.tcp_addr().unwrap();

    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let good: Vec<_> = (0..4)
        .map(|i| runtime.spawn(behave(addr.to_string(), format!("good{i}"), 300)))
        .collect();

    std::thread::scope(|scope| {
        let garbage = scope.spawn(|| {
            let mut s = connect(addr);
            // A well-formed length and an unknown kind byte.
            s.write_all(&[0, 0, 0, 3, 0xee, 1, 2]).unwrap();
            disconnect_reason(&mut s)
        });
        let http = scope.spawn(|| {
            let mut s = connect(addr);
            s.write_all(b"GET / HTTP/1.1\r\nHost: darkstar\r\n\r\n")
                .unwrap();
            disconnect_reason(&mut s)
        });
        let version = scope.spawn(|| {
            let mut s = connect(addr);
            write(
                &mut s,
                &ClientFrame::Hello {
                    min_version: PROTOCOL_VERSION + 1,
                    max_version: PROTOCOL_VERSION + 9,
                },
            );
            disconnect_reason(&mut s)
        });
        let oversized = scope.spawn(|| {
            let mut s = logged_in(addr, "oversized");
            let mut frame = (MAX_FRAME + 1).to_be_bytes().to_vec();
            frame.push(0x04);
            let _ = s.write_all(&frame);
            disconnect_reason(&mut s)
        });
        let slowloris = scope.spawn(|| {
            let mut s = connect(addr);
            hello(&mut s);
            // Begin a frame and never finish it.
            let login = ClientFrame::Login {
                name: "slow".into(),
                password: String::new(),
            }
            .to_bytes();
            s.write_all(&login[..3]).unwrap();
            disconnect_reason(&mut s)
        });
        let silent = scope.spawn(|| {
            let mut s = connect(addr);
            hello(&mut s);
            disconnect_reason(&mut s)
        });
        let flood = scope.spawn(|| {
            let mut s = logged_in(addr, "flood");
            // Sends and never reads nor acknowledges; the server cuts it off, and reads
            // what it still sends, so its writes finish and it then finds its reason.
            let body = vec![b'x'; 512];
            for seq in 1..=20_000u64 {
                let frame = ClientFrame::Message {
                    seq,
                    body: body.clone(),
                };
                if s.write_all(&frame.to_bytes()).is_err() {
                    return None;
                }
            }
            disconnect_reason(&mut s)
        });
        let reasons = [
            ("garbage", garbage, DisconnectReason::ProtocolError),
            ("http", http, DisconnectReason::FrameTooLarge),
            ("version", version, DisconnectReason::UnsupportedVersion),
            ("oversized", oversized, DisconnectReason::FrameTooLarge),
            ("slowloris", slowloris, DisconnectReason::ProtocolError),
            ("silent", silent, DisconnectReason::LoginTimeout),
        ];
        for (name, handle, want) in reasons {
            assert_eq!(handle.join().unwrap(), Some(want), "{name}");
        }
        assert_eq!(
            flood.join().unwrap(),
            Some(DisconnectReason::TooSlow),
            "the flood was cut off, and told why"
        );
    });
    for g in good {
        runtime
            .block_on(g)
            .expect("a well-behaved client got every echo in order");
    }

    // Every cut is counted by its reason.
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    let text = loop {
        let text = scrape(metrics);
        let settled =
            before.since(&text, "too_slow") >= 1 && before.since(&text, "logged_out") >= 4;
        if settled || std::time::Instant::now() > deadline {
            break text;
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    assert_eq!(before.since(&text, "protocol_error"), 2, "{text}");
    assert_eq!(before.since(&text, "frame_too_large"), 2, "{text}");
    assert_eq!(before.since(&text, "unsupported_version"), 1, "{text}");
    assert_eq!(before.since(&text, "login_timeout"), 1, "{text}");
    assert_eq!(before.since(&text, "too_slow"), 1, "{text}");
    assert_eq!(before.since(&text, "logged_out"), 4, "{text}");
    server.shutdown().unwrap();
}

/// Reads until the server closes: the reasons of the `Disconnect` frames seen, and whether
/// the connection ended cleanly (`false`: a reset, which may have destroyed frames).
fn read_to_end(s: &mut TcpStream) -> (Vec<DisconnectReason>, bool) {
    let decoder = Decoder::new(64 << 20);
    let mut buf = Vec::new();
    let mut chunk = [0u8; 65536];
    let mut reasons = Vec::new();
    loop {
        while let Ok(Some((frame, used))) = decoder.decode::<ServerFrame>(&buf) {
            buf.drain(..used);
            if let ServerFrame::Disconnect { reason, .. } = frame {
                reasons.push(reason);
            }
        }
        match s.read(&mut chunk) {
            Ok(0) => return (reasons, buf.is_empty()),
            Ok(n) => buf.extend_from_slice(&chunk[..n]),
            Err(_) => return (reasons, false),
        }
    }
}

/// Waits (up to a minute) until the metrics at `addr` count `n` more disconnects for
/// `reason` than `before` did.
fn await_disconnects(addr: SocketAddr, before: &Counts, reason: &str, n: u64) -> String {
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    loop {
        let text = scrape(addr);
        if before.since(&text, reason) >= n || std::time::Instant::now() > deadline {
            return text;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn a_client_too_slow_to_read_is_told_so_then_closed_without_a_reset() {
    let (metrics, _one) = metrics();
    let before = Counts::now(metrics);
    let dir = tempfile::tempdir().unwrap();
    let config = Config {
        max_frame: MAX_FRAME,
        session_queue_kib: 64,
        ..dev_server_config(dir.path())
    };
    let server = Server::builder(EchoApp).config(config).start().unwrap();
    let mut s = logged_in(server.tcp_addr().unwrap(), "sluggard");
    // Each message comes back eight times larger, and nothing is read or acknowledged.
    let mut wire = Vec::new();
    for seq in 1..=300u64 {
        ClientFrame::Message {
            seq,
            body: vec![b'z'; 512],
        }
        .encode(&mut wire);
    }
    s.write_all(&wire).unwrap();
    let text = await_disconnects(metrics, &before, "too_slow", 1);
    assert_eq!(before.since(&text, "too_slow"), 1, "{text}");
    // The client comes back to reading: behind what was queued, it finds why, then the
    // end of the connection, not a reset.
    let (reasons, clean) = read_to_end(&mut s);
    assert_eq!(reasons, [DisconnectReason::TooSlow]);
    assert!(clean, "the connection ended with a reset");
    server.shutdown().unwrap();
}

#[test]
fn a_websocket_message_over_the_frame_limit_is_refused_with_its_reason() {
    use futures_util::{SinkExt, StreamExt};
    use tokio_tungstenite::tungstenite::Message;

    let (metrics, _one) = metrics();
    let before = Counts::now(metrics);
    let dir = tempfile::tempdir().unwrap();
    let config = Config {
        max_frame: MAX_FRAME,
        ws_addr: Some("127.0.0.1:0".parse().unwrap()),
        ..dev_server_config(dir.path())
    };
    let server = Server::builder(EchoApp).config(config).start().unwrap();
    let url = format!("ws://{}/", server.ws_addr().unwrap());
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let over = |twice: bool| {
        runtime.block_on(async {
            let (mut ws, _) = tokio_tungstenite::connect_async(url.as_str())
                .await
                .unwrap();
            let hello = ClientFrame::Hello {
                min_version: PROTOCOL_VERSION,
                max_version: PROTOCOL_VERSION,
            };
            let login = ClientFrame::Login {
                name: "big".into(),
                password: String::new(),
            };
            for f in [hello, login] {
                ws.send(Message::Binary(f.to_bytes().into())).await.unwrap();
            }
            // Whole, well-formed messages over the limit: one byte over, which the frame's
            // length shows, and twice the limit, which the WebSocket layer refuses before the
            // server sees a frame. Both get the same answer.
            let len = if twice {
                MAX_FRAME as usize * 2
            } else {
                MAX_FRAME as usize - 8
            };
            let over = ClientFrame::Message {
                seq: 1,
                body: vec![0; len],
            };
            ws.send(Message::Binary(over.to_bytes().into()))
                .await
                .unwrap();
            let decoder = Decoder::new(1 << 20);
            let mut reason = None;
            let mut status = None;
            while let Some(Ok(m)) = ws.next().await {
                match m {
                    Message::Binary(b) => {
                        if let Ok(ServerFrame::Disconnect { reason: r, .. }) =
                            decoder.decode_exact::<ServerFrame>(&b)
                        {
                            reason = Some(r);
                        }
                    }
                    Message::Close(frame) => {
                        status = frame.map(|f| u16::from(f.code));
                        break;
                    }
                    _ => {}
                }
            }
            (reason, status)
        })
    };
    for twice in [false, true] {
        let (reason, status) = over(twice);
        assert_eq!(
            reason,
            Some(DisconnectReason::FrameTooLarge),
            "twice: {twice}"
        );
        assert_eq!(
            status,
            Some(4004),
            "the close status is 4000 plus the reason"
        );
    }
    let text = await_disconnects(metrics, &before, "frame_too_large", 2);
    assert_eq!(before.since(&text, "frame_too_large"), 2, "{text}");
    server.shutdown().unwrap();
}

/// The next frame other than `Ack`.
fn next_frame(s: &mut TcpStream, buf: &mut Vec<u8>) -> Option<ServerFrame> {
    let decoder = Decoder::new(64 << 20);
    let mut chunk = [0u8; 4096];
    loop {
        while let Ok(Some((frame, used))) = decoder.decode::<ServerFrame>(buf) {
            buf.drain(..used);
            if !matches!(frame, ServerFrame::Ack { .. }) {
                return Some(frame);
            }
        }
        match s.read(&mut chunk) {
            Ok(0) | Err(_) => return None,
            Ok(n) => buf.extend_from_slice(&chunk[..n]),
        }
    }
}

#[test]
fn protocol_edges_get_the_documented_answers() {
    // Not read here, but its disconnects must not count in another test's.
    let (_metrics, _one) = metrics();
    let dir = tempfile::tempdir().unwrap();
    let server = Server::builder(EchoApp)
        .config(Config {
            max_frame: MAX_FRAME,
            ..dev_server_config(dir.path())
        })
        .start()
        .unwrap();
    let addr = server.tcp_addr().unwrap();

    // A Hello whose range is empty is malformed: reason 3, not 8.
    let mut s = connect(addr);
    write(
        &mut s,
        &ClientFrame::Hello {
            min_version: 2,
            max_version: 1,
        },
    );
    assert_eq!(
        disconnect_reason(&mut s),
        Some(DisconnectReason::ProtocolError)
    );

    // A session to resume: one echo received and acknowledged.
    let mut s = logged_in(addr, "edges");
    let mut buf = Vec::new();
    let (session, key) = loop {
        match next_frame(&mut s, &mut buf) {
            Some(ServerFrame::Welcome { .. }) => {}
            Some(ServerFrame::LoginAccepted { session, key, .. }) => break (session, key),
            other => panic!("expected LoginAccepted, got {other:?}"),
        }
    };
    // A message to a channel the session is not in is taken (numbered and acknowledged)
    // and ignored.
    write(
        &mut s,
        &ClientFrame::ChannelMessage {
            seq: 1,
            channel: 987_654,
            body: b"nobody".to_vec(),
        },
    );
    write(
        &mut s,
        &ClientFrame::Message {
            seq: 2,
            body: b"e".to_vec(),
        },
    );
    // Frame numbers come from commits: they grow, not one by one.
    let echo = match next_frame(&mut s, &mut buf) {
        Some(ServerFrame::Message { seq, body }) if body == b"eeeeeeee" => seq,
        other => panic!("expected the echo, got {other:?}"),
    };
    assert!(echo >= 1);
    drop(s);

    let resume = |received| {
        let mut s = connect(addr);
        hello(&mut s);
        write(
            &mut s,
            &ClientFrame::Resume {
                session,
                key,
                received,
            },
        );
        let mut buf = Vec::new();
        let answer = loop {
            match next_frame(&mut s, &mut buf) {
                Some(ServerFrame::Welcome { .. }) => {}
                other => break other,
            }
        };
        (s, answer)
    };
    // A resume that received the echo acknowledges it.
    let (s, answer) = resume(echo);
    assert_eq!(answer, Some(ServerFrame::Resumed { handled: 2 }));
    drop(s);
    // Below what was acknowledged, or beyond what was sent: refused, and the session
    // still waits for a proper resume.
    for received in [0, echo + 1] {
        let (mut s, answer) = resume(received);
        assert!(
            matches!(answer, Some(ServerFrame::ResumeRefused { .. })),
            "received {received}: {answer:?}"
        );
        assert_eq!(
            next_frame(&mut s, &mut buf),
            None,
            "closed after the refusal"
        );
    }
    let (mut s, answer) = resume(echo);
    assert_eq!(answer, Some(ServerFrame::Resumed { handled: 2 }));
    // An Ack of a frame never sent is a protocol error.
    write(&mut s, &ClientFrame::Ack { received: echo + 9 });
    assert_eq!(
        disconnect_reason(&mut s),
        Some(DisconnectReason::ProtocolError)
    );
    server.shutdown().unwrap();
}
