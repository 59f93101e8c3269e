//! A lane over a Darkstar session: transfer requests as session messages to the bank's
//! teller, pipelined; replies come back in the order sent, since a session's messages are
//! handled in order.

use std::collections::VecDeque;
use std::time::Instant;

use darkstar_client::{Client, Event};

use super::lane::{Lane, Pipeline};
use crate::bank::request::TransferReply;

/// A logged-in client of the bank.
pub struct SessionLane(pub Client);

impl Pipeline for SessionLane {
    async fn carry(self, mut lane: Lane) -> Result<(), String> {
        let mut client = self.0;
        let mut sent: VecDeque<(u64, Instant)> = VecDeque::with_capacity(lane.depth());
        loop {
            while sent.len() < lane.depth() {
                let Some(request) = lane.next_request() else {
                    break;
                };
                client
                    .send(request.encode().to_vec())
                    .await
                    .map_err(|e| format!("sending a request: {e}"))?;
                sent.push_back((request.id, Instant::now()));
            }
            let Some(&(id, at)) = sent.front() else {
                break;
            };
            match client.next_event().await {
                Some(Event::Message(body)) => {
                    let reply = TransferReply::decode(&body).map_err(|e| e.to_string())?;
                    if reply.id != id {
                        return Err(format!(
                            "reply to request {} arrived while {id} was the oldest in flight",
                            reply.id
                        ));
                    }
                    sent.pop_front();
                    lane.answered(at, reply.outcome);
                }
                Some(Event::Disconnected { reason, text }) => {
                    return Err(format!("disconnected ({reason}): {text}"))
                }
                Some(_) => {}
                None => return Err("the session ended".into()),
            }
        }
        client
            .logout()
            .await
            .map_err(|e| format!("logging out: {e}"))?;
        while let Some(event) = client.next_event().await {
            if let Event::Disconnected { .. } = event {
                break;
            }
        }
        Ok(())
    }
}
