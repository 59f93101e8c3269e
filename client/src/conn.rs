//! One connection to a server: frames over TCP or WebSocket.

use darkstar_protocol::{ClientFrame, Decoder, ServerFrame};
use futures_util::stream::{SplitSink, SplitStream};
use futures_util::{SinkExt, StreamExt};
use tokio::io::{AsyncReadExt, AsyncWriteExt, BufWriter};
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
}

type Ws = WebSocketStream<MaybeTlsStream<TcpStream>>;

pub(crate) enum Reader {
    Tcp { rd: OwnedReadHalf, buf: Vec<u8> },
    Ws(SplitStream<Ws>),
}

pub(crate) enum Writer {
    Tcp(BufWriter<OwnedWriteHalf>),
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
                Writer::Tcp(BufWriter::with_capacity(16 * 1024, wr)),
            ))
        }
        Endpoint::WebSocket(url) => {
            let (ws, _) = tokio_tungstenite::connect_async(url.as_str())
                .await
                .map_err(|e| ClientError::WebSocket(e.to_string()))?;
            let (sink, stream) = ws.split();
            Ok((Reader::Ws(stream), Writer::Ws(sink)))
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
    /// Queues a frame.
    pub async fn feed(&mut self, frame: &ClientFrame) -> std::io::Result<()> {
        let bytes = frame.to_bytes();
        match self {
            Writer::Tcp(w) => w.write_all(&bytes).await,
            Writer::Ws(sink) => sink
                .feed(Message::Binary(bytes.into()))
                .await
                .map_err(std::io::Error::other),
        }
    }

    /// Writes out what is queued.
    pub async fn flush(&mut self) -> std::io::Result<()> {
        match self {
            Writer::Tcp(w) => w.flush().await,
            Writer::Ws(sink) => sink.flush().await.map_err(std::io::Error::other),
        }
    }

    /// Sends one frame now.
    pub async fn send(&mut self, frame: &ClientFrame) -> std::io::Result<()> {
        self.feed(frame).await?;
        self.flush().await
    }

    /// Cuts the connection (for tests of reconnection: no goodbye).
    pub async fn abort(&mut self) {
        if let Writer::Tcp(w) = self {
            let _ = w.get_mut().shutdown().await;
        }
        if let Writer::Ws(sink) = self {
            let _ = sink.close().await;
        }
    }
}
