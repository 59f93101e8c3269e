//! Frames over a connection: back to back on TCP, one per binary message on WebSocket.

use std::time::{Duration, Instant};

use darkstar_protocol::{ClientFrame, Decoder, FrameError, HEADER_LEN};
use futures_util::stream::{SplitSink, SplitStream};
use futures_util::{SinkExt, StreamExt};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::error::CapacityError;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::tungstenite::protocol::CloseFrame;
use tokio_tungstenite::tungstenite::{Error as WsError, Message};
use tokio_tungstenite::WebSocketStream;

use crate::net::budget::{Budget, Budgeted};

type Ws = WebSocketStream<Budgeted<TcpStream>>;

/// Why no frame could be read.
#[derive(Debug)]
pub(crate) enum ReadError {
    /// The peer closed the connection (or it broke).
    Closed,
    /// Bytes that are not a frame.
    Frame(FrameError),
    /// A frame was begun and not finished in time.
    Stalled,
    /// A WebSocket message that cannot carry a frame.
    NotBinary,
    /// A WebSocket connection sent more than its read budget before logging in.
    OverBudget,
}

/// The reading half of a connection.
pub(crate) enum FrameReader {
    Tcp {
        rd: OwnedReadHalf,
        buf: Vec<u8>,
        /// Start of the unread bytes in `buf`.
        at: usize,
        /// When the first bytes of the frame begun in `buf` arrived.
        begun: Option<Instant>,
    },
    Ws {
        stream: SplitStream<Ws>,
        budget: Budget,
    },
}

/// Bytes the TCP writer gathers before it must flush: frames are appended whole, so a
/// write cut short (a timeout, the session ending) never leaves half a frame ahead of the
/// next one.
pub(crate) const WRITE_BUFFER: usize = 64 * 1024;

/// The writing half of a connection.
pub(crate) enum FrameWriter {
    Tcp {
        wr: OwnedWriteHalf,
        buf: Vec<u8>,
        /// Start of the bytes in `buf` not yet written.
        at: usize,
    },
    Ws(SplitSink<Ws, Message>),
}

impl FrameWriter {
    /// Whether the connection is a WebSocket (a redirect then names a WebSocket address).
    pub fn is_websocket(&self) -> bool {
        matches!(self, FrameWriter::Ws(_))
    }
}

/// Splits a TCP connection.
pub(crate) fn tcp(stream: TcpStream) -> (FrameReader, FrameWriter) {
    let _ = stream.set_nodelay(true);
    let (rd, wr) = stream.into_split();
    (
        FrameReader::Tcp {
            rd,
            buf: Vec::new(),
            at: 0,
            begun: None,
        },
        FrameWriter::Tcp {
            wr,
            buf: Vec::new(),
            at: 0,
        },
    )
}

/// Splits a WebSocket connection whose reads spend `budget` until it logs in.
pub(crate) fn websocket(ws: Ws, budget: Budget) -> (FrameReader, FrameWriter) {
    let (sink, stream) = ws.split();
    (FrameReader::Ws { stream, budget }, FrameWriter::Ws(sink))
}

impl FrameReader {
    /// The connection logged in: a WebSocket's read budget is lifted (on TCP the decoder
    /// alone bounds what is read).
    pub fn logged_in(&mut self) {
        if let FrameReader::Ws { budget, .. } = self {
            budget.lift();
        }
    }

    /// The next frame. Cancel-safe: bytes read stay buffered for the next call. On TCP a
    /// frame begun must be complete within `stall` of its first bytes (on WebSocket the
    /// WebSocket layer gathers messages; the login timeout and the read budget bound a
    /// connection before login).
    pub async fn next(
        &mut self,
        decoder: &Decoder,
        stall: Duration,
    ) -> Result<ClientFrame, ReadError> {
        match self {
            FrameReader::Tcp { rd, buf, at, begun } => {
                // Time the server spent not reading (the session waiting out its rate or
                // its window) does not count against a frame it had begun.
                if begun.is_some() {
                    *begun = Some(Instant::now());
                }
                loop {
                    match decoder.decode::<ClientFrame>(&buf[*at..]) {
                        Ok(Some((frame, used))) => {
                            *at += used;
                            // The next frame, if its first bytes are here, began now.
                            *begun = (*at < buf.len()).then(Instant::now);
                            if *at == buf.len() {
                                buf.clear();
                                *at = 0;
                            }
                            return Ok(frame);
                        }
                        Ok(None) => {}
                        Err(e) => return Err(ReadError::Frame(e)),
                    }
                    if *at > 0 && *at * 2 >= buf.capacity() {
                        buf.drain(..*at);
                        *at = 0;
                    }
                    // The decoder checked the length against its limit, so this is bounded.
                    let want = decoder
                        .frame_len(&buf[*at..])
                        .ok()
                        .flatten()
                        .unwrap_or(4096)
                        .max(4096);
                    buf.reserve(want);
                    let read = rd.read_buf(buf);
                    let n = match *begun {
                        // Measured from the frame's first bytes: a peer dripping a byte at a
                        // time does not restart the clock.
                        Some(start) => {
                            let left = stall.saturating_sub(start.elapsed());
                            match tokio::time::timeout(left, read).await {
                                Ok(r) => r,
                                Err(_) => return Err(ReadError::Stalled),
                            }
                        }
                        None => read.await,
                    };
                    match n {
                        Ok(0) | Err(_) => return Err(ReadError::Closed),
                        Ok(_) => {
                            if begun.is_none() {
                                *begun = Some(Instant::now());
                            }
                        }
                    }
                }
            }
            FrameReader::Ws { stream, budget } => loop {
                match stream.next().await {
                    None => return Err(ReadError::Closed),
                    Some(Err(WsError::Capacity(CapacityError::MessageTooLong {
                        size, ..
                    }))) => {
                        // The message carries the length prefix; the limit counts after it.
                        let len =
                            u32::try_from(size.saturating_sub(HEADER_LEN - 1)).unwrap_or(u32::MAX);
                        return Err(ReadError::Frame(FrameError::TooLarge {
                            len,
                            max: decoder.max_frame(),
                        }));
                    }
                    Some(Err(_)) if budget.is_spent() => return Err(ReadError::OverBudget),
                    Some(Err(_)) => return Err(ReadError::Closed),
                    Some(Ok(Message::Binary(data))) => {
                        return decoder.decode_exact(&data).map_err(ReadError::Frame)
                    }
                    Some(Ok(Message::Close(_))) => return Err(ReadError::Closed),
                    Some(Ok(Message::Ping(_) | Message::Pong(_) | Message::Frame(_))) => {}
                    Some(Ok(Message::Text(_))) => return Err(ReadError::NotBinary),
                }
            },
        }
    }

    /// Completes once the peer has closed or reset the connection, while the server is
    /// not reading (a login waiting for its password check); never, if the peer sent more
    /// (its bytes stay unread), or on WebSocket, where closing needs a message read.
    pub async fn peer_gone(&mut self) {
        match self {
            FrameReader::Tcp { rd, .. } => {
                let mut byte = [0u8; 1];
                match rd.peek(&mut byte).await {
                    Ok(0) | Err(_) => {}
                    Ok(_) => std::future::pending().await,
                }
            }
            FrameReader::Ws { .. } => std::future::pending().await,
        }
    }

    /// Reads and throws away whatever the peer still sends, until it closes or `limit`
    /// passes. Closing a TCP socket with unread bytes makes the kernel answer with a reset,
    /// which can destroy the last frames before the peer reads them; so a connection the
    /// server ends is drained after its `Disconnect` is written.
    pub async fn drain(&mut self, limit: Duration) {
        let drain = async {
            match self {
                FrameReader::Tcp { rd, .. } => {
                    let mut sink = [0u8; 4096];
                    while let Ok(n) = rd.read(&mut sink).await {
                        if n == 0 {
                            break;
                        }
                    }
                }
                // A connection that never logged in keeps its read budget: it may not send
                // more while it closes than while it was open.
                FrameReader::Ws { stream, .. } => while let Some(Ok(_)) = stream.next().await {},
            }
        };
        let _ = tokio::time::timeout(limit, drain).await;
    }
}

impl FrameWriter {
    /// Queues one encoded frame (length prefix included); [`flush`](Self::flush) writes
    /// out the rest. On TCP the frame is appended to the buffer whole, after writing out
    /// what the buffer holds if that is [`WRITE_BUFFER`] or more, so the buffer stays
    /// bounded. Cancel-safe: the frame is queued whole or not at all.
    pub async fn send(&mut self, frame: &[u8]) -> std::io::Result<()> {
        match self {
            FrameWriter::Tcp { buf, at, .. } => {
                if buf.len() - *at >= WRITE_BUFFER {
                    self.flush().await?;
                }
                let FrameWriter::Tcp { buf, .. } = self else {
                    unreachable!("still the TCP writer")
                };
                buf.extend_from_slice(frame);
                Ok(())
            }
            FrameWriter::Ws(sink) => sink
                .feed(Message::Binary(frame.to_vec().into()))
                .await
                .map_err(std::io::Error::other),
        }
    }

    /// Writes out everything queued. Cancel-safe: what was written stays written, and the
    /// rest stays queued whole.
    pub async fn flush(&mut self) -> std::io::Result<()> {
        match self {
            FrameWriter::Tcp { wr, buf, at } => {
                while *at < buf.len() {
                    let n = wr.write(&buf[*at..]).await?;
                    if n == 0 {
                        return Err(std::io::ErrorKind::WriteZero.into());
                    }
                    *at += n;
                }
                buf.clear();
                *at = 0;
                if buf.capacity() > WRITE_BUFFER * 2 {
                    buf.shrink_to(WRITE_BUFFER);
                }
                Ok(())
            }
            FrameWriter::Ws(sink) => sink.flush().await.map_err(std::io::Error::other),
        }
    }

    /// Flushes, then closes this side of the connection: a FIN on TCP, a Close message with
    /// status `status` (and `text`, cut to fit) on WebSocket.
    pub async fn close(&mut self, status: u16, text: &str) {
        let _ = self.flush().await;
        match self {
            FrameWriter::Tcp { wr, .. } => {
                let _ = wr.shutdown().await;
            }
            FrameWriter::Ws(sink) => {
                // A close reason may hold at most 123 bytes.
                let mut end = text.len().min(123);
                while !text.is_char_boundary(end) {
                    end -= 1;
                }
                let frame = CloseFrame {
                    code: CloseCode::from(status),
                    reason: text[..end].to_owned().into(),
                };
                let _ = sink.send(Message::Close(Some(frame))).await;
                let _ = sink.close().await;
            }
        }
    }
}
