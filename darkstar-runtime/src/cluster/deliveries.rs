//! What a batch delivers to clients, as bytes inside a log record: every node sends the
//! deliveries meant for the sessions connected to it once it has applied the record.
//!
//! `u32` count, then per delivery a tag byte and its fields (integers little-endian,
//! byte strings as a `u32` length and the bytes):
//!
//! | tag | delivery | fields |
//! |---|---|---|
//! | 1 | `Message` | session `u64`, body |
//! | 2 | `ChannelMessage` | channel `u64`, sender `u64`, member count `u32`, members `u64` each, body |
//! | 3 | `Joined` | session `u64`, channel `u64`, name (UTF-8) |
//! | 4 | `Left` | session `u64`, channel `u64` |
//! | 5 | `Disconnect` | session `u64` |

use darkstar_sdk::Delivery;

use super::cursor::{put_bytes, Cursor};
use super::error::RecordError;

/// Appends `deliveries` to `out`.
pub(crate) fn encode(deliveries: &[Delivery], out: &mut Vec<u8>) {
    let count = u32::try_from(deliveries.len()).expect("fewer than 4G deliveries");
    out.extend_from_slice(&count.to_le_bytes());
    for d in deliveries {
        match d {
            Delivery::Message { session, body } => {
                out.push(1);
                out.extend_from_slice(&session.to_le_bytes());
                put_bytes(out, body);
            }
            Delivery::ChannelMessage {
                channel,
                sender,
                members,
                body,
            } => {
                out.push(2);
                out.extend_from_slice(&channel.to_le_bytes());
                out.extend_from_slice(&sender.to_le_bytes());
                let n = u32::try_from(members.len()).expect("fewer than 4G members");
                out.extend_from_slice(&n.to_le_bytes());
                for m in members {
                    out.extend_from_slice(&m.to_le_bytes());
                }
                put_bytes(out, body);
            }
            Delivery::Joined {
                session,
                channel,
                name,
            } => {
                out.push(3);
                out.extend_from_slice(&session.to_le_bytes());
                out.extend_from_slice(&channel.to_le_bytes());
                put_bytes(out, name.as_bytes());
            }
            Delivery::Left { session, channel } => {
                out.push(4);
                out.extend_from_slice(&session.to_le_bytes());
                out.extend_from_slice(&channel.to_le_bytes());
            }
            Delivery::Disconnect { session } => {
                out.push(5);
                out.extend_from_slice(&session.to_le_bytes());
            }
        }
    }
}

/// Reads the deliveries `encode` wrote.
pub(crate) fn decode(c: &mut Cursor<'_>) -> Result<Vec<Delivery>, RecordError> {
    let count = c.u32("delivery count")? as usize;
    // A hostile count cannot reserve much: the reads below check every length.
    let mut out = Vec::with_capacity(count.min(1024));
    for _ in 0..count {
        let at = c.offset();
        let d = match c.u8("delivery tag")? {
            1 => Delivery::Message {
                session: c.u64("session")?,
                body: c.bytes("message body")?.to_vec(),
            },
            2 => {
                let channel = c.u64("channel")?;
                let sender = c.u64("sender")?;
                let n = c.u32("member count")? as usize;
                let raw = c.take(n.saturating_mul(8), "members")?;
                let members = raw
                    .chunks_exact(8)
                    .map(|m| u64::from_le_bytes(m.try_into().expect("8 bytes")))
                    .collect();
                Delivery::ChannelMessage {
                    channel,
                    sender,
                    members,
                    body: c.bytes("channel message body")?.to_vec(),
                }
            }
            3 => Delivery::Joined {
                session: c.u64("session")?,
                channel: c.u64("channel")?,
                name: String::from_utf8(c.bytes("channel name")?.to_vec()).map_err(|_| {
                    RecordError::Malformed {
                        what: "a channel name that is not UTF-8",
                        offset: at,
                    }
                })?,
            },
            4 => Delivery::Left {
                session: c.u64("session")?,
                channel: c.u64("channel")?,
            },
            5 => Delivery::Disconnect {
                session: c.u64("session")?,
            },
            _ => {
                return Err(RecordError::Malformed {
                    what: "an unknown delivery tag",
                    offset: at,
                })
            }
        };
        out.push(d);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_delivery_comes_back_and_truncations_are_errors() {
        let all = vec![
            Delivery::Message {
                session: 7,
                body: b"hi".to_vec(),
            },
            Delivery::ChannelMessage {
                channel: 9,
                sender: 7,
                members: vec![7, 8, 11],
                body: b"all".to_vec(),
            },
            Delivery::Joined {
                session: 8,
                channel: 9,
                name: "lobby".to_owned(),
            },
            Delivery::Left {
                session: 8,
                channel: 9,
            },
            Delivery::Disconnect { session: 11 },
        ];
        let mut bytes = Vec::new();
        encode(&all, &mut bytes);
        let mut c = Cursor::new(&bytes);
        assert_eq!(decode(&mut c).unwrap(), all);
        assert!(c.is_empty());
        for cut in 0..bytes.len() {
            assert!(
                decode(&mut Cursor::new(&bytes[..cut])).is_err(),
                "cut at {cut}"
            );
        }
    }

    #[test]
    fn a_hostile_count_is_an_error_not_an_allocation() {
        let bytes = u32::MAX.to_le_bytes();
        assert!(decode(&mut Cursor::new(&bytes)).is_err());
    }
}
