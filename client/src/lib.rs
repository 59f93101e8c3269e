//! An async client for Darkstar for Rust game servers, on tokio.
//!
//! It connects over TCP or WebSocket, logs in, sends messages to the game and to channels,
//! and hands over everything the server sends as a stream of [`Event`]s. If the connection
//! drops, it reconnects by itself and resumes the session with the key it got at login:
//! nothing is lost or repeated, in either direction. It depends on the protocol crate and
//! tokio only, never on the server.
//!
//! Sending and receiving can happen in different tasks: [`Client::sender`] gives a
//! cloneable [`Sender`], and [`Client::split`] a [`Sender`] and the [`Events`];
//! `next_event` is cancel-safe, so it can wait in a `tokio::select!`.
//!
//! ```no_run
//! use darkstar_client::{Client, Endpoint, Event};
//!
//! # async fn run() -> Result<(), darkstar_client::ClientError> {
//! let mut client = Client::connect(Endpoint::tcp("127.0.0.1:7400"), "ada", "secret").await?;
//! client.send(b"hello".to_vec()).await?;
//! while let Some(event) = client.next_event().await {
//!     match event {
//!         Event::Message(body) => println!("{}", String::from_utf8_lossy(&body)),
//!         Event::Disconnected { reason, text } => {
//!             println!("disconnected ({reason}): {text}");
//!             break;
//!         }
//!         _ => {}
//!     }
//! }
//! # Ok(())
//! # }
//! ```

#![warn(missing_docs)]

mod client;
mod conn;
mod error;
mod event;

pub use client::{Client, Events, Options, Sender, MAX_REDIRECTS};
pub use conn::Endpoint;
pub use darkstar_protocol::DisconnectReason;
pub use error::ClientError;
pub use event::Event;
