//! A channel flood: a logged-in client that sends messages to the lobby as fast as the
//! server takes them. It plays by the protocol's flow control, so that it is not cut off
//! for being slow (a careless flooder would be, sooner, and stop flooding): it reads and
//! acknowledges everything that comes back, and keeps no more than [`WINDOW`] messages
//! unhandled, so its acknowledgements never wait behind a long backlog of its own.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use darkstar_protocol::{ClientFrame, DisconnectReason, ServerFrame};

use tokio::io::AsyncWriteExt;
use tokio::net::TcpStream;

use crate::attack::target::PASSWORD;
use crate::attack::wire::{hello_and_login, read_frame};

/// Messages the flooder keeps sent and not yet handled, below the server's window of 256.
pub const WINDOW: u64 = 200;

/// What a flood did.
#[derive(Debug)]
pub struct Flood {
    /// Messages written to the connection.
    pub written: u64,
    /// Why the server ended it, if it did.
    pub cut: Option<DisconnectReason>,
}

/// Logs in as `name` and floods the first channel it joins with `body`-sized messages for
/// `duration`, then drops the connection.
pub async fn flood(addr: SocketAddr, name: &str, duration: Duration, body: usize) -> Flood {
    let stream = TcpStream::connect(addr)
        .await
        .expect("the flooder connects");
    let _ = stream.set_nodelay(true);
    let (mut rd, mut wr) = stream.into_split();
    let wire = hello_and_login(name, PASSWORD);
    wr.write_all(&wire).await.expect("the flooder logs in");
    let mut buf = Vec::new();
    let received = Arc::new(AtomicU64::new(0));
    // Logged in once it has joined the lobby.
    let channel = loop {
        match read_frame(&mut rd, &mut buf).await {
            Some(ServerFrame::Joined { seq, channel, .. }) => {
                received.store(seq, Ordering::Relaxed);
                break channel;
            }
            Some(ServerFrame::LoginRefused { reason }) => {
                panic!("the flooder was refused: {reason}")
            }
            Some(_) => {}
            None => panic!("the server closed the flooder's connection"),
        }
    };
    let handled = Arc::new(AtomicU64::new(0));
    let (seen, done) = (received.clone(), handled.clone());
    let reader = tokio::spawn(async move {
        while let Some(frame) = read_frame(&mut rd, &mut buf).await {
            if let Some(seq) = frame.seq() {
                seen.store(seq, Ordering::Relaxed);
            }
            if let ServerFrame::Ack { handled } = frame {
                done.store(handled, Ordering::Relaxed);
            }
            if let ServerFrame::Disconnect { reason, .. } = frame {
                return Some(reason);
            }
        }
        None
    });
    let until = Instant::now() + duration;
    let mut written = 0u64;
    let mut seq = 0;
    let body = vec![b'f'; body];
    while Instant::now() < until && !reader.is_finished() {
        if seq - handled.load(Ordering::Relaxed) + 16 > WINDOW {
            tokio::time::sleep(Duration::from_millis(1)).await;
            continue;
        }
        let mut batch = Vec::new();
        for _ in 0..16 {
            seq += 1;
            ClientFrame::ChannelMessage {
                seq,
                channel,
                body: body.clone(),
            }
            .encode(&mut batch);
        }
        ClientFrame::Ack {
            received: received.load(Ordering::Relaxed),
        }
        .encode(&mut batch);
        // Blocks while the server takes no more: as fast as it reads, and no faster. A write
        // cut short at the end leaves half a batch, but nothing is written after it.
        match tokio::time::timeout_at(until.into(), wr.write_all(&batch)).await {
            Ok(Ok(())) => written += 16,
            Ok(Err(_)) | Err(_) => break,
        }
    }
    // Wait out the rest of the flood whatever happened to the writes, then vanish.
    tokio::time::sleep_until(until.into()).await;
    drop(wr);
    let cut = if reader.is_finished() {
        reader.await.ok().flatten()
    } else {
        reader.abort();
        None
    };
    Flood { written, cut }
}
