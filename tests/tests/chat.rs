//! The chat example end to end: rooms, a moderator that signs and filters channel
//! messages, whispers, and who is on.

use std::time::Duration;

use darkstar_client::{Client, DisconnectReason, Endpoint, Event};
use darkstar_examples::chat::{ChatApp, MAX_MESSAGE};
use darkstar_runtime::Server;
use darkstar_tests::server_config::dev_server_config;

async fn next(client: &mut Client) -> Event {
    // Long: it costs time only when the test fails, and a loaded machine may be slow.
    tokio::time::timeout(Duration::from_secs(60), client.next_event())
        .await
        .expect("an event within 60 s")
        .expect("the session is open")
}

async fn text(client: &mut Client) -> String {
    match next(client).await {
        Event::Message(body) => String::from_utf8(body).unwrap(),
        other => panic!("expected a message, got {other:?}"),
    }
}

/// The next channel message's text and the channel's id.
async fn said(client: &mut Client) -> (u64, String) {
    match next(client).await {
        Event::ChannelMessage { channel, body, .. } => (channel, String::from_utf8(body).unwrap()),
        other => panic!("expected a channel message, got {other:?}"),
    }
}

async fn joined(client: &mut Client) -> (u64, String) {
    match next(client).await {
        Event::JoinedChannel { channel, name } => (channel, name),
        other => panic!("expected a join, got {other:?}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn players_talk_in_rooms_whisper_and_are_moderated() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::builder(ChatApp)
        .config(dev_server_config(dir.path()))
        .start()
        .unwrap();
    let endpoint = Endpoint::tcp(server.tcp_addr().unwrap().to_string());
    let mut ann = Client::connect(endpoint.clone(), "ann", "").await.unwrap();
    let mut ben = Client::connect(endpoint.clone(), "ben", "").await.unwrap();
    for (c, name) in [(&mut ann, "ann"), (&mut ben, "ben")] {
        assert_eq!(joined(c).await.1, "lobby");
        assert!(text(c).await.starts_with(&format!("welcome, {name}.")));
    }
    // A second login under a name that is on takes over; the first client hears why, and
    // the game has let the old session go (`disconnected` ran) before the new one joins.
    let mut again = Client::connect(endpoint, "ann", "").await.unwrap();
    match next(&mut ann).await {
        Event::Disconnected { reason, .. } => {
            assert_eq!(reason, DisconnectReason::LoggedInElsewhere)
        }
        other => panic!("expected the old session to end, got {other:?}"),
    }
    assert_eq!(joined(&mut again).await.1, "lobby");
    assert!(text(&mut again).await.starts_with("welcome, ann."));
    let mut ann = again;
    ann.send("/who").await.unwrap();
    assert_eq!(text(&mut ann).await, "in lobby: ann, ben", "one ann");

    ann.send("/join tavern").await.unwrap();
    let (tavern, name) = joined(&mut ann).await;
    assert_eq!(name, "room.tavern");
    assert_eq!(said(&mut ann).await, (tavern, "ann entered tavern".into()));
    ben.send("/join tavern").await.unwrap();
    assert_eq!(joined(&mut ben).await, (tavern, "room.tavern".into()));
    for c in [&mut ann, &mut ben] {
        assert_eq!(said(c).await, (tavern, "ben entered tavern".into()));
    }

    // The moderator signs what passes and refuses the rest, to the sender only.
    ann.send_to_channel(tavern, "  hello  ").await.unwrap();
    ann.send_to_channel(tavern, "x".repeat(MAX_MESSAGE + 1))
        .await
        .unwrap();
    ann.send_to_channel(tavern, "bye").await.unwrap();
    for c in [&mut ann, &mut ben] {
        assert_eq!(said(c).await, (tavern, "ann: hello".into()));
    }
    assert_eq!(
        text(&mut ann).await,
        format!(
            "message not sent: {} bytes, at most {MAX_MESSAGE}",
            MAX_MESSAGE + 1
        )
    );
    for c in [&mut ann, &mut ben] {
        assert_eq!(said(c).await, (tavern, "ann: bye".into()));
    }

    ben.send("/who").await.unwrap();
    assert_eq!(text(&mut ben).await, "in tavern: ann, ben");
    ben.send("/tell ann psst").await.unwrap();
    assert_eq!(text(&mut ben).await, "you whisper to ann: psst");
    assert_eq!(text(&mut ann).await, "ben whispers: psst");
    ben.send("/tell nobody hi").await.unwrap();
    assert_eq!(text(&mut ben).await, "nobody is not online");
    ben.send("/join bad room!").await.unwrap();
    assert!(text(&mut ben).await.starts_with("a room name is"));

    ben.send("/leave").await.unwrap();
    assert_eq!(next(&mut ben).await, Event::LeftChannel { channel: tavern });
    assert_eq!(said(&mut ann).await, (tavern, "ben left tavern".into()));
    server.shutdown().unwrap();
}
