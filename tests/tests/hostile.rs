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
    let metrics = free_port();
    let dir = tempfile::tempdir().unwrap();
    let config = Config {
        max_frame: MAX_FRAME,
        login_timeout_ms: 500,
        frame_timeout_ms: 300,
        session_queue_kib: 256,
        metrics_addr: Some(metrics),
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
            // Sends and never reads nor acknowledges; the server must cut it off, after
            // which a write fails or the connection reads to its end.
            let body = vec![b'x'; 512];
            for seq in 1..=20_000u64 {
                let frame = ClientFrame::Message {
                    seq,
                    body: body.clone(),
                };
                if s.write_all(&frame.to_bytes()).is_err() {
                    return true;
                }
            }
            matches!(
                disconnect_reason(&mut s),
                None | Some(DisconnectReason::TooSlow)
            )
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
        assert!(flood.join().unwrap(), "the flood was cut off");
    });
    for g in good {
        runtime
            .block_on(g)
            .expect("a well-behaved client got every echo in order");
    }

    // Every cut is counted by its reason.
    let mut text = String::new();
    for _ in 0..50 {
        text = scrape(metrics);
        if disconnects(&text, "too_slow") >= 1 && disconnects(&text, "logged_out") >= 4 {
            break;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    assert_eq!(disconnects(&text, "protocol_error"), 2, "{text}");
    assert_eq!(disconnects(&text, "frame_too_large"), 2, "{text}");
    assert_eq!(disconnects(&text, "unsupported_version"), 1, "{text}");
    assert_eq!(disconnects(&text, "login_timeout"), 1, "{text}");
    assert_eq!(disconnects(&text, "too_slow"), 1, "{text}");
    assert_eq!(disconnects(&text, "logged_out"), 4, "{text}");
    server.shutdown().unwrap();
}
