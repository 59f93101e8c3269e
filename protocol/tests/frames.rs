//! Every frame survives encoding and decoding, and no input makes the decoder panic,
//! read past a frame, or accept a frame it could not have produced.

use darkstar_protocol::{
    ClientFrame, Decoder, DisconnectReason, Frame, FrameError, ServerFrame, KEY_LEN, MAGIC,
};
use proptest::prelude::*;

fn text() -> impl Strategy<Value = String> {
    ".{0,40}"
}

fn body() -> impl Strategy<Value = Vec<u8>> {
    prop::collection::vec(any::<u8>(), 0..200)
}

fn client_frame() -> impl Strategy<Value = ClientFrame> {
    prop_oneof![
        (any::<u16>(), any::<u16>()).prop_map(|(a, b)| ClientFrame::Hello {
            min_version: a.min(b),
            max_version: a.max(b)
        }),
        (text(), text()).prop_map(|(name, password)| ClientFrame::Login { name, password }),
        (any::<u64>(), any::<[u8; KEY_LEN]>(), any::<u64>()).prop_map(
            |(session, key, received)| ClientFrame::Resume {
                session,
                key,
                received
            }
        ),
        (any::<u64>(), body()).prop_map(|(seq, body)| ClientFrame::Message { seq, body }),
        (any::<u64>(), any::<u64>(), body()).prop_map(|(seq, channel, body)| {
            ClientFrame::ChannelMessage { seq, channel, body }
        }),
        any::<u64>().prop_map(|received| ClientFrame::Ack { received }),
        Just(ClientFrame::Logout),
    ]
}

fn server_frame() -> impl Strategy<Value = ServerFrame> {
    prop_oneof![
        (any::<u16>(), any::<u32>())
            .prop_map(|(version, max_frame)| ServerFrame::Welcome { version, max_frame }),
        (any::<u64>(), any::<[u8; KEY_LEN]>(), any::<u32>()).prop_map(
            |(session, key, resume_window_ms)| ServerFrame::LoginAccepted {
                session,
                key,
                resume_window_ms
            }
        ),
        text().prop_map(|reason| ServerFrame::LoginRefused { reason }),
        any::<u64>().prop_map(|handled| ServerFrame::Resumed { handled }),
        text().prop_map(|reason| ServerFrame::ResumeRefused { reason }),
        (any::<u64>(), body()).prop_map(|(seq, body)| ServerFrame::Message { seq, body }),
        (any::<u64>(), any::<u64>(), text()).prop_map(|(seq, channel, name)| ServerFrame::Joined {
            seq,
            channel,
            name
        }),
        (any::<u64>(), any::<u64>()).prop_map(|(seq, channel)| ServerFrame::Left { seq, channel }),
        (any::<u64>(), any::<u64>(), any::<u64>(), body()).prop_map(
            |(seq, channel, sender, body)| ServerFrame::ChannelMessage {
                seq,
                channel,
                sender,
                body
            }
        ),
        any::<u64>().prop_map(|handled| ServerFrame::Ack { handled }),
        (any::<u8>(), text()).prop_map(|(code, text)| ServerFrame::Disconnect {
            reason: DisconnectReason::from_code(code),
            text
        }),
        (text(), any::<u16>()).prop_map(|(host, port)| ServerFrame::Redirect { host, port }),
        (text(), any::<u16>(), any::<[u8; KEY_LEN]>())
            .prop_map(|(host, port, key)| ServerFrame::Relocate { host, port, key }),
    ]
}

/// Encodes `frames` back to back and decodes them again, one by one, to the last byte.
fn round_trip<F: Frame + PartialEq + std::fmt::Debug>(frames: &[F]) -> Result<(), TestCaseError> {
    let mut wire = Vec::new();
    for f in frames {
        f.encode(&mut wire);
    }
    let decoder = Decoder::new(u32::MAX);
    let mut at = 0;
    for f in frames {
        let (got, used) = decoder.decode::<F>(&wire[at..]).unwrap().unwrap();
        prop_assert_eq!(&got, f);
        at += used;
    }
    prop_assert_eq!(at, wire.len());
    Ok(())
}

proptest! {
    #[test]
    fn client_frames_round_trip(frames in prop::collection::vec(client_frame(), 1..8)) {
        round_trip(&frames)?;
    }

    #[test]
    fn server_frames_round_trip(frames in prop::collection::vec(server_frame(), 1..8)) {
        round_trip(&frames)?;
    }

    /// Whatever arrives, the decoder answers without panicking; a frame it accepts spans
    /// exactly its length prefix and encodes back to the same bytes.
    #[test]
    fn arbitrary_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..300)) {
        let decoder = Decoder::new(256);
        if let Ok(Some((frame, used))) = decoder.decode::<ClientFrame>(&bytes) {
            prop_assert!(used <= bytes.len());
            prop_assert_eq!(frame.to_bytes(), bytes[..used].to_vec());
        }
        if let Ok(Some((frame, used))) = decoder.decode::<ServerFrame>(&bytes) {
            prop_assert!(used <= bytes.len());
            prop_assert_eq!(frame.to_bytes(), bytes[..used].to_vec());
        }
    }

    /// A frame cut short is never taken for a whole one.
    #[test]
    fn partial_frames_wait_for_more(frame in client_frame(), cut in 0usize..1000) {
        let wire = frame.to_bytes();
        let cut = cut % wire.len();
        let decoder = Decoder::new(u32::MAX);
        prop_assert!(decoder.decode::<ClientFrame>(&wire[..cut]).unwrap().is_none());
    }
}

#[test]
fn hostile_lengths_are_refused_before_reading() {
    let decoder = Decoder::new(1024);
    let mut wire = 1_000_000u32.to_be_bytes().to_vec();
    wire.push(0x04);
    assert_eq!(
        decoder.decode::<ClientFrame>(&wire).unwrap_err(),
        FrameError::TooLarge {
            len: 1_000_000,
            max: 1024
        }
    );
    assert_eq!(
        decoder.decode::<ClientFrame>(&[0, 0, 0, 0]).unwrap_err(),
        FrameError::Empty
    );
}

#[test]
fn errors_say_what_and_where() {
    let decoder = Decoder::new(1024);
    let unknown = [0, 0, 0, 1, 0x55];
    assert_eq!(
        decoder
            .decode::<ClientFrame>(&unknown)
            .unwrap_err()
            .to_string(),
        "unknown frame kind 0x55"
    );
    // A server frame sent by a client is unknown to the server.
    let wrong_way = ServerFrame::Ack { handled: 1 }.to_bytes();
    assert!(matches!(
        decoder.decode::<ClientFrame>(&wrong_way),
        Err(FrameError::UnknownKind { kind: 0x8a })
    ));
    let mut short_ack = ClientFrame::Ack { received: 7 }.to_bytes();
    short_ack.truncate(8);
    short_ack[..4].copy_from_slice(&4u32.to_be_bytes());
    assert_eq!(
        decoder
            .decode::<ClientFrame>(&short_ack)
            .unwrap_err()
            .to_string(),
        "frame Ack ends inside its field `received`"
    );
    let mut hello = vec![0, 0, 0, 9, 0x01];
    hello.extend_from_slice(b"HTTP");
    hello.extend_from_slice(&[0, 1, 0, 1]);
    assert_eq!(
        decoder
            .decode::<ClientFrame>(&hello)
            .unwrap_err()
            .to_string(),
        "field `magic` of frame Hello is invalid: not a Darkstar client (expected \"DKST\")"
    );
    let mut login = vec![0, 0, 0, 6, 0x02, 0, 2, 0xff, 0xfe, 0, 0];
    login.truncate(11);
    assert_eq!(
        decoder
            .decode::<ClientFrame>(&login)
            .unwrap_err()
            .to_string(),
        "field `name` of frame Login is not UTF-8"
    );
    let mut logout = ClientFrame::Logout.to_bytes();
    logout.push(9);
    logout[..4].copy_from_slice(&2u32.to_be_bytes());
    assert_eq!(
        decoder
            .decode::<ClientFrame>(&logout)
            .unwrap_err()
            .to_string(),
        "frame Logout has 1 bytes after its last field"
    );
}

#[test]
fn hello_bytes_are_as_documented() {
    let hello = ClientFrame::Hello {
        min_version: 1,
        max_version: 1,
    }
    .to_bytes();
    let mut expected = vec![0, 0, 0, 9, 0x01];
    expected.extend_from_slice(&MAGIC);
    expected.extend_from_slice(&[0, 1, 0, 1]);
    assert_eq!(hello, expected);
}

#[test]
fn long_texts_are_cut_at_a_character_boundary() {
    let reason = "é".repeat(40_000);
    let bytes = ServerFrame::LoginRefused { reason }.to_bytes();
    let decoder = Decoder::new(u32::MAX);
    let (frame, _) = decoder.decode::<ServerFrame>(&bytes).unwrap().unwrap();
    let ServerFrame::LoginRefused { reason } = frame else {
        panic!("{frame:?}")
    };
    assert_eq!(reason.len(), 65_534);
}
