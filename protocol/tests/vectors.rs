//! The frame vectors in `protocol/vectors/frames.json`, which the TypeScript client's
//! tests read too, so that both implementations are checked against the same bytes. This
//! crate is the reference: each valid vector's bytes are what it encodes the frame to and
//! decode back from, and each invalid one is refused with the error named.
//!
//! `DARKSTAR_BLESS=1 cargo test -p darkstar-protocol --test vectors` writes the file from
//! the lists below.

use darkstar_protocol::{ClientFrame, Decoder, DisconnectReason, FrameError, ServerFrame};
use serde_json::{json, Map, Value};

const FILE: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/vectors/frames.json");

/// The limit the invalid vectors are decoded under (a `too_large` vector exceeds it).
const MAX_FRAME: u32 = 1024;

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn unhex(text: &str) -> Vec<u8> {
    assert!(text.len() % 2 == 0, "odd hex {text:?}");
    (0..text.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&text[i..i + 2], 16).expect("hex"))
        .collect()
}

const KEY: [u8; 16] = [
    0x00, 0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77, 0x88, 0x99, 0xaa, 0xbb, 0xcc, 0xdd, 0xee, 0xff,
];

fn client_frames() -> Vec<(&'static str, ClientFrame)> {
    vec![
        (
            "hello, version 1 only",
            ClientFrame::Hello {
                min_version: 1,
                max_version: 1,
            },
        ),
        (
            "hello, a range",
            ClientFrame::Hello {
                min_version: 1,
                max_version: 3,
            },
        ),
        (
            "login",
            ClientFrame::Login {
                name: "ada".into(),
                password: "pw".into(),
            },
        ),
        (
            "login, empty password",
            ClientFrame::Login {
                name: "ada".into(),
                password: "".into(),
            },
        ),
        (
            "login, non-ASCII text",
            ClientFrame::Login {
                name: "zoë 🚀".into(),
                password: "pässwörd".into(),
            },
        ),
        (
            "resume",
            ClientFrame::Resume {
                session: 1 << 24,
                key: KEY,
                received: 0,
            },
        ),
        (
            "resume, largest numbers",
            ClientFrame::Resume {
                session: u64::MAX,
                key: KEY,
                received: u64::MAX,
            },
        ),
        (
            "message",
            ClientFrame::Message {
                seq: 1,
                body: b"hi".to_vec(),
            },
        ),
        (
            "message, empty body",
            ClientFrame::Message {
                seq: 2,
                body: Vec::new(),
            },
        ),
        (
            "message, binary body",
            ClientFrame::Message {
                seq: 9_007_199_254_740_993,
                body: vec![0, 255, 128, 10],
            },
        ),
        (
            "channel message",
            ClientFrame::ChannelMessage {
                seq: 3,
                channel: 42,
                body: b"hello all".to_vec(),
            },
        ),
        (
            "ack",
            ClientFrame::Ack {
                received: 0x0102_0304_0506_0708,
            },
        ),
        ("logout", ClientFrame::Logout),
    ]
}

fn server_frames() -> Vec<(&'static str, ServerFrame)> {
    vec![
        (
            "welcome",
            ServerFrame::Welcome {
                version: 1,
                max_frame: 65_536,
            },
        ),
        (
            "login accepted",
            ServerFrame::LoginAccepted {
                session: 7,
                key: KEY,
                resume_window_ms: 30_000,
            },
        ),
        (
            "login refused",
            ServerFrame::LoginRefused {
                reason: "unknown account or wrong password".into(),
            },
        ),
        ("resumed", ServerFrame::Resumed { handled: 12 }),
        (
            "resume refused",
            ServerFrame::ResumeRefused {
                reason: "wrong session key".into(),
            },
        ),
        (
            "message",
            ServerFrame::Message {
                seq: 16_777_216,
                body: b"welcome".to_vec(),
            },
        ),
        (
            "message, empty body",
            ServerFrame::Message {
                seq: 16_777_217,
                body: Vec::new(),
            },
        ),
        (
            "joined",
            ServerFrame::Joined {
                seq: 33_554_432,
                channel: 5,
                name: "lobby".into(),
            },
        ),
        (
            "left",
            ServerFrame::Left {
                seq: 33_554_433,
                channel: 5,
            },
        ),
        (
            "channel message from a session",
            ServerFrame::ChannelMessage {
                seq: 50_331_648,
                channel: 5,
                sender: 7,
                body: "ada: héllo".as_bytes().to_vec(),
            },
        ),
        (
            "channel message from the game",
            ServerFrame::ChannelMessage {
                seq: u64::MAX,
                channel: u64::MAX,
                sender: 0,
                body: vec![1],
            },
        ),
        ("ack", ServerFrame::Ack { handled: 99 }),
        (
            "disconnect, logged out",
            ServerFrame::Disconnect {
                reason: DisconnectReason::LoggedOut,
                text: "logged out".into(),
            },
        ),
        (
            "disconnect, busy",
            ServerFrame::Disconnect {
                reason: DisconnectReason::Busy,
                text: "too many connections".into(),
            },
        ),
        (
            "disconnect, a reason from a newer server",
            ServerFrame::Disconnect {
                reason: DisconnectReason::Other(200),
                text: "".into(),
            },
        ),
        (
            "redirect",
            ServerFrame::Redirect {
                host: "node-1.example".into(),
                port: 7400,
            },
        ),
        (
            "redirect, IPv6",
            ServerFrame::Redirect {
                host: "::1".into(),
                port: 65_535,
            },
        ),
        (
            "relocate",
            ServerFrame::Relocate {
                host: "127.0.0.1".into(),
                port: 7401,
                key: KEY,
            },
        ),
    ]
}

/// Bytes that are not a frame, the direction they are read in, and the error.
fn invalid() -> Vec<(&'static str, &'static str, &'static str)> {
    vec![
        ("zero length", "client", "00000000"),
        ("over the limit", "client", "00000401"),
        ("unknown kind", "client", "0000000109"),
        ("unknown server kind", "server", "000000018e"),
        (
            "hello with a wrong magic",
            "client",
            "00000009014b4b535400010001",
        ),
        (
            "hello whose min is above its max",
            "client",
            "0000000901444b535400020001",
        ),
        ("ack cut short", "client", "000000050600000001"),
        (
            "ack with a byte left over",
            "client",
            "0000000a06000000000000000100",
        ),
        (
            "login whose name is not UTF-8",
            "client",
            "00000006020001ff0000",
        ),
        (
            "login whose name runs past the frame",
            "client",
            "00000005020009616461",
        ),
        ("logout with a byte left over", "client", "000000020700"),
        (
            "a whole ack and a byte beyond it",
            "client",
            "00000009060000000000000001ff",
        ),
        ("welcome cut short", "server", "0000000481000100"),
        (
            "disconnect whose text is not UTF-8",
            "server",
            "000000058b010001ff",
        ),
        (
            "resumed with a byte left over",
            "server",
            "0000000a84000000000000000100",
        ),
    ]
}

fn error_name(e: &FrameError) -> &'static str {
    match e {
        FrameError::TooLarge { .. } => "too_large",
        FrameError::Empty => "empty",
        FrameError::UnknownKind { .. } => "unknown_kind",
        FrameError::Truncated { .. } => "truncated",
        FrameError::Trailing { .. } => "trailing",
        FrameError::BadText { .. } => "bad_text",
        FrameError::BadValue { .. } => "bad_value",
    }
}

fn num(n: u64) -> Value {
    Value::String(n.to_string())
}

fn client_json(frame: &ClientFrame) -> Value {
    match frame {
        ClientFrame::Hello {
            min_version,
            max_version,
        } => {
            json!({"kind": "Hello", "min_version": min_version, "max_version": max_version})
        }
        ClientFrame::Login { name, password } => {
            json!({"kind": "Login", "name": name, "password": password})
        }
        ClientFrame::Resume {
            session,
            key,
            received,
        } => json!({
            "kind": "Resume", "session": num(*session), "key": hex(key), "received": num(*received)
        }),
        ClientFrame::Message { seq, body } => {
            json!({"kind": "Message", "seq": num(*seq), "body": hex(body)})
        }
        ClientFrame::ChannelMessage { seq, channel, body } => json!({
            "kind": "ChannelMessage", "seq": num(*seq), "channel": num(*channel), "body": hex(body)
        }),
        ClientFrame::Ack { received } => json!({"kind": "Ack", "received": num(*received)}),
        ClientFrame::Logout => json!({"kind": "Logout"}),
    }
}

fn server_json(frame: &ServerFrame) -> Value {
    match frame {
        ServerFrame::Welcome { version, max_frame } => {
            json!({"kind": "Welcome", "version": version, "max_frame": max_frame})
        }
        ServerFrame::LoginAccepted {
            session,
            key,
            resume_window_ms,
        } => json!({
            "kind": "LoginAccepted", "session": num(*session), "key": hex(key),
            "resume_window_ms": resume_window_ms
        }),
        ServerFrame::LoginRefused { reason } => json!({"kind": "LoginRefused", "reason": reason}),
        ServerFrame::Resumed { handled } => json!({"kind": "Resumed", "handled": num(*handled)}),
        ServerFrame::ResumeRefused { reason } => {
            json!({"kind": "ResumeRefused", "reason": reason})
        }
        ServerFrame::Message { seq, body } => {
            json!({"kind": "Message", "seq": num(*seq), "body": hex(body)})
        }
        ServerFrame::Joined { seq, channel, name } => json!({
            "kind": "Joined", "seq": num(*seq), "channel": num(*channel), "name": name
        }),
        ServerFrame::Left { seq, channel } => {
            json!({"kind": "Left", "seq": num(*seq), "channel": num(*channel)})
        }
        ServerFrame::ChannelMessage {
            seq,
            channel,
            sender,
            body,
        } => json!({
            "kind": "ChannelMessage", "seq": num(*seq), "channel": num(*channel),
            "sender": num(*sender), "body": hex(body)
        }),
        ServerFrame::Ack { handled } => json!({"kind": "Ack", "handled": num(*handled)}),
        ServerFrame::Disconnect { reason, text } => {
            json!({"kind": "Disconnect", "reason": reason.code(), "text": text})
        }
        ServerFrame::Redirect { host, port } => {
            json!({"kind": "Redirect", "host": host, "port": port})
        }
        ServerFrame::Relocate { host, port, key } => {
            json!({"kind": "Relocate", "host": host, "port": port, "key": hex(key)})
        }
    }
}

fn blessed() -> Value {
    let mut valid = Vec::new();
    for (name, frame) in client_frames() {
        valid.push(json!({
            "name": name, "direction": "client", "hex": hex(&frame.to_bytes()),
            "frame": client_json(&frame)
        }));
    }
    for (name, frame) in server_frames() {
        valid.push(json!({
            "name": name, "direction": "server", "hex": hex(&frame.to_bytes()),
            "frame": server_json(&frame)
        }));
    }
    let invalid: Vec<Value> = invalid()
        .into_iter()
        .map(|(name, direction, bytes)| {
            let decoder = Decoder::new(MAX_FRAME);
            let raw = unhex(bytes);
            let error = if direction == "client" {
                decoder.decode_exact::<ClientFrame>(&raw).err()
            } else {
                decoder.decode_exact::<ServerFrame>(&raw).err()
            };
            let error = error.unwrap_or_else(|| panic!("{name}: the bytes decode"));
            json!({"name": name, "direction": direction, "hex": bytes, "error": error_name(&error)})
        })
        .collect();
    let mut top = Map::new();
    top.insert(
        "about".into(),
        json!("Frames of the Darkstar protocol and their bytes, written by the darkstar-protocol crate's tests. u64 fields are decimal strings; keys and bodies are hex. Invalid vectors are decoded as exactly one frame with max_frame as the limit."),
    );
    top.insert("max_frame".into(), json!(MAX_FRAME));
    top.insert("valid".into(), Value::Array(valid));
    top.insert("invalid".into(), Value::Array(invalid));
    Value::Object(top)
}

#[test]
fn the_shared_vectors_are_what_this_crate_encodes_and_decodes() {
    let expected = blessed();
    if std::env::var_os("DARKSTAR_BLESS").is_some() {
        let text = serde_json::to_string_pretty(&expected).unwrap() + "\n";
        std::fs::write(FILE, text).unwrap();
    }
    let text = std::fs::read_to_string(FILE).expect("protocol/vectors/frames.json");
    let file: Value = serde_json::from_str(&text).expect("the vectors are JSON");
    assert_eq!(
        file, expected,
        "protocol/vectors/frames.json is stale: run DARKSTAR_BLESS=1 cargo test -p darkstar-protocol --test vectors"
    );
    // And the file's bytes decode, by this crate, to the frames it names.
    let decoder = Decoder::new(u32::MAX);
    for v in file["valid"].as_array().unwrap() {
        let raw = unhex(v["hex"].as_str().unwrap());
        let decoded = if v["direction"] == "client" {
            client_json(&decoder.decode_exact::<ClientFrame>(&raw).unwrap())
        } else {
            server_json(&decoder.decode_exact::<ServerFrame>(&raw).unwrap())
        };
        assert_eq!(decoded, v["frame"], "{}", v["name"]);
    }
    assert!(file["valid"].as_array().unwrap().len() >= 30);
    assert!(file["invalid"].as_array().unwrap().len() >= 10);
}
