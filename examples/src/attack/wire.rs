//! Frames as raw attackers write and read them.

use darkstar_protocol::{ClientFrame, Decoder, ServerFrame, PROTOCOL_VERSION};
use tokio::io::{AsyncRead, AsyncReadExt};

/// `Hello`, then `Login` as `name` with `password`.
pub(crate) fn hello_and_login(name: &str, password: &str) -> Vec<u8> {
    let mut wire = ClientFrame::Hello {
        min_version: PROTOCOL_VERSION,
        max_version: PROTOCOL_VERSION,
    }
    .to_bytes();
    ClientFrame::Login {
        name: name.to_owned(),
        password: password.to_owned(),
    }
    .encode(&mut wire);
    wire
}

/// The bytes of `Hello` alone, at the start of [`hello_and_login`]'s.
pub(crate) const HELLO_LEN: usize = 13;

/// The next whole server frame from `rd` (bytes read ahead stay in `buf`), or `None` once
/// the connection ends.
pub(crate) async fn read_frame(
    rd: &mut (impl AsyncRead + Unpin),
    buf: &mut Vec<u8>,
) -> Option<ServerFrame> {
    let decoder = Decoder::new(64 << 20);
    loop {
        if let Ok(Some((frame, used))) = decoder.decode::<ServerFrame>(buf) {
            buf.drain(..used);
            return Some(frame);
        }
        let mut chunk = [0u8; 16384];
        match rd.read(&mut chunk).await {
            Ok(0) | Err(_) => return None,
            Ok(n) => buf.extend_from_slice(&chunk[..n]),
        }
    }
}
