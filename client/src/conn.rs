//! One connection to a server: frames over TCP or WebSocket.

use darkstar_protocol::{ClientFrame, Decoder, ServerFrame};
use futures_util::stream::{SplitSink, SplitStream};
use futures_util::{SinkExt, StreamExt};
use std::collections::VecDeque;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

use crate::error::ClientError;

/// Where a server listens.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Endpoint {
    /// A TCP address, `host:port`.
    Tcp(String),
    /// A WebSocket URL, `ws://host:port/`.
    WebSocket(String),
}

impl Endpoint {
    /// A TCP endpoint.
    pub fn tcp(addr: impl Into<String>) -> Endpoint {
        Endpoint::Tcp(addr.into())
    }

    /// A WebSocket endpoint.
    pub fn websocket(url: impl Into<String>) -> Endpoint {
        Endpoint::WebSocket(url.into())
    }

    /// The same kind of endpoint at another server: for a WebSocket URL, the same scheme
    /// and path at `host:port`.
    pub fn at(&self, host: &str, port: u16) -> Endpoint {
        let authority = if host.contains(':') {
            format!("[{host}]:{port}")
        } else {
            format!("{host}:{port}")
        };
        match self {
            Endpoint::Tcp(_) => Endpoint::Tcp(authority),
            Endpoint::WebSocket(url) => {
                let (scheme, rest) = url.split_once("://").unwrap_or(("ws", url));
                let path = rest.find('/').map_or("/", |i| &rest[i..]);
                Endpoint::WebSocket(format!("{scheme}://{authority}{path}"))
            }
        }
    }
}

type Ws = WebSocketStream<MaybeTlsStream<TcpStream>>;

pub(crate) enum Reader {
    Tcp { rd: OwnedReadHalf, buf: Vec<u8> },
    Ws(SplitStream<Ws>),
}

/// The writing half: frames are queued whole and written by [`Writer::write_some`], one
/// cancel-safe step at a time, so the driver can go on reading while the server is slow
/// to take what it writes.
pub(crate) struct Writer {
    sink: Sink,
    /// TCP: encoded frames back to back, written from `at`.
    bytes: Vec<u8>,
    at: usize,
    /// WebSocket: encoded frames, one message each.
    messages: VecDeque<Vec<u8>>,
    /// WebSocket: messages fed and not yet flushed.
    unflushed: bool,
}

enum Sink {
    Tcp(OwnedWriteHalf),
    Ws(SplitSink<Ws, Message>),
}

/// Opens a connection.
pub(crate) async fn open(endpoint: &Endpoint) -> Result<(Reader, Writer), ClientError> {
    match endpoint {
        Endpoint::Tcp(addr) => {
            let stream = TcpStream::connect(addr).await?;
            stream.set_nodelay(true)?;
            let (rd, wr) = stream.into_split();
            Ok((
                Reader::Tcp {
                    rd,
                    buf: Vec::with_capacity(8192),
                },
                Writer::new(Sink::Tcp(wr)),
            ))
        }
        Endpoint::WebSocket(url) => {
            let (ws, _) = tokio_tungstenite::connect_async(url.as_str())
                .await
                .map_err(|e| ClientError::WebSocket(e.to_string()))?;
            let (sink, stream) = ws.split();
            Ok((Reader::Ws(stream), Writer::new(Sink::Ws(sink))))
        }
    }
}

impl Reader {
    /// The next frame; `Ok(None)` when the connection closed. Cancel-safe.
    pub async fn next(&mut self, decoder: &Decoder) -> Result<Option<ServerFrame>, ClientError> {
        match self {
            Reader::Tcp { rd, buf } => loop {
                match decoder.decode::<ServerFrame>(buf) {
                    Ok(Some((frame, used))) => {
                        buf.drain(..used);
                        return Ok(Some(frame));
                    }
                    Ok(None) => {}
                    Err(e) => return Err(ClientError::Protocol(e.to_string())),
                }
                buf.reserve(8192);
                match rd.read_buf(buf).await {
                    Ok(0) | Err(_) => return Ok(None),
                    Ok(_) => {}
                }
            },
            Reader::Ws(stream) => loop {
                match stream.next().await {
                    None | Some(Err(_)) | Some(Ok(Message::Close(_))) => return Ok(None),
                    Some(Ok(Message::Binary(data))) => {
                        return decoder
                            .decode_exact(&data)
                            .map(Some)
                            .map_err(|e| ClientError::Protocol(e.to_string()))
                    }
                    Some(Ok(_)) => {}
                }
            },
        }
    }
}

impl Writer {
    fn new(sink: Sink) -> Writer {
        Writer {
            sink,
            bytes: Vec::new(),
            at: 0,
            messages: VecDeque::new(),
            unflushed: false,
        }
    }

    /// Queues a frame; nothing is written until [`write_some`](Self::write_some) or
    /// [`flush`](Self::flush).
    pub fn push(&mut self, frame: &ClientFrame) {
        match self.sink {
            Sink::Tcp(_) => frame.encode(&mut self.bytes),
            Sink::Ws(_) => self.messages.push_back(frame.to_bytes()),
        }
    }

    /// Bytes queued and not yet written.
    pub fn pending(&self) -> usize {
        match self.sink {
            Sink::Tcp(_) => self.bytes.len() - self.at,
            Sink::Ws(_) => self.messages.iter().map(Vec::len).sum(),
        }
    }

    /// Whether everything queued is written (and flushed).
    pub fn is_idle(&self) -> bool {
        match self.sink {
            Sink::Tcp(_) => self.at == self.bytes.len(),
            Sink::Ws(_) => self.messages.is_empty() && !self.unflushed,
        }
    }

    /// Writes some of what is queued. Cancel-safe: a frame is either written whole or
    /// still queued, never half-written and forgotten.
    pub async fn write_some(&mut self) -> std::io::Result<()> {
        match &mut self.sink {
            Sink::Tcp(wr) => {
                if self.at < self.bytes.len() {
                    let n = wr.write(&self.bytes[self.at..]).await?;
                    if n == 0 {
                        return Err(std::io::ErrorKind::WriteZero.into());
                    }
                    self.at += n;
                }
                if self.at == self.bytes.len() {
                    self.bytes.clear();
                    self.at = 0;
                } else if self.at > 64 * 1024 && self.at * 2 > self.bytes.len() {
                    self.bytes.drain(..self.at);
                    self.at = 0;
                }
                Ok(())
            }
            Sink::Ws(sink) => {
                if let Some(front) = self.messages.front() {
                    // Fed whole or not at all; dropped from the queue only once fed.
                    sink.feed(Message::Binary(front.clone().into()))
                        .await
                        .map_err(std::io::Error::other)?;
                    self.messages.pop_front();
                    self.unflushed = true;
                } else if self.unflushed {
                    sink.flush().await.map_err(std::io::Error::other)?;
                    self.unflushed = false;
                }
                Ok(())
            }
        }
    }

    /// Writes out everything queued.
    pub async fn flush(&mut self) -> std::io::Result<()> {
        while !self.is_idle() {
            self.write_some().await?;
        }
        Ok(())
    }

    /// Sends one frame now.
    pub async fn send(&mut self, frame: &ClientFrame) -> std::io::Result<()> {
        self.push(frame);
        self.flush().await
    }

    /// Cuts the connection (for tests of reconnection: no goodbye).
    pub async fn abort(&mut self) {
        match &mut self.sink {
            Sink::Tcp(w) => {
                let _ = w.shutdown().await;
            }
            Sink::Ws(sink) => {
                let _ = sink.close().await;
            }
        }
    }
}
