//! Frames over a connection: back to back on TCP, one per binary message on WebSocket.

use std::time::Duration;

use darkstar_protocol::{ClientFrame, Decoder, FrameError};
use futures_util::stream::{SplitSink, SplitStream};
use futures_util::{SinkExt, StreamExt};
use tokio::io::{AsyncReadExt, AsyncWriteExt, BufWriter};
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::WebSocketStream;

type Ws = WebSocketStream<TcpStream>;

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
}

/// The reading half of a connection.
pub(crate) enum FrameReader {
    Tcp {
        rd: OwnedReadHalf,
        buf: Vec<u8>,
        /// Start of the unread bytes in `buf`.
        at: usize,
    },
    Ws(SplitStream<Ws>),
}

/// The writing half of a connection.
pub(crate) enum FrameWriter {
    Tcp(BufWriter<OwnedWriteHalf>),
    Ws(SplitSink<Ws, Message>),
}

/// Splits a TCP connection.
pub(crate) fn tcp(stream: TcpStream) -> (FrameReader, FrameWriter) {
    let _ = stream.set_nodelay(true);
    let (rd, wr) = stream.into_split();
    (
        FrameReader::Tcp {
            rd,
            buf: Vec::with_capacity(4096),
            at: 0,
        },
        FrameWriter::Tcp(BufWriter::with_capacity(16 * 1024, wr)),
    )
}

/// Splits a WebSocket connection.
pub(crate) fn websocket(ws: Ws) -> (FrameReader, FrameWriter) {
    let (sink, stream) = ws.split();
    (FrameReader::Ws(stream), FrameWriter::Ws(sink))
}

impl FrameReader {
    /// The next frame. Cancel-safe: bytes read stay buffered for the next call. A frame
    /// begun must be complete within `stall`.
    pub async fn next(
        &mut self,
        decoder: &Decoder,
        stall: Duration,
    ) -> Result<ClientFrame, ReadError> {
        match self {
            FrameReader::Tcp { rd, buf, at } => loop {
                match decoder.decode::<ClientFrame>(&buf[*at..]) {
                    Ok(Some((frame, used))) => {
                        *at += used;
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
                let want = decoder
                    .frame_len(&buf[*at..])
                    .ok()
                    .flatten()
                    .unwrap_or(4096)
                    .max(4096);
                buf.reserve(want);
                let partial = buf.len() > *at;
                let read = rd.read_buf(buf);
                let n = if partial {
                    match tokio::time::timeout(stall, read).await {
                        Ok(r) => r,
                        Err(_) => return Err(ReadError::Stalled),
                    }
                } else {
                    read.await
                };
                match n {
                    Ok(0) | Err(_) => return Err(ReadError::Closed),
                    Ok(_) => {}
                }
            },
            FrameReader::Ws(stream) => loop {
                match stream.next().await {
                    None | Some(Err(_)) => return Err(ReadError::Closed),
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
}

impl FrameWriter {
    /// Queues one encoded frame (length prefix included).
    pub async fn send(&mut self, frame: &[u8]) -> std::io::Result<()> {
        match self {
            FrameWriter::Tcp(w) => w.write_all(frame).await,
            FrameWriter::Ws(sink) => sink
                .feed(Message::Binary(frame.to_vec().into()))
                .await
                .map_err(std::io::Error::other),
        }
    }

    /// Writes out everything queued.
    pub async fn flush(&mut self) -> std::io::Result<()> {
        match self {
            FrameWriter::Tcp(w) => w.flush().await,
            FrameWriter::Ws(sink) => sink.flush().await.map_err(std::io::Error::other),
        }
    }

    /// Closes the connection.
    pub async fn close(&mut self) {
        match self {
            FrameWriter::Tcp(w) => {
                let _ = w.flush().await;
                let _ = w.get_mut().shutdown().await;
            }
            FrameWriter::Ws(sink) => {
                let _ = sink.close().await;
            }
        }
    }
}
