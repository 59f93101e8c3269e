//! The bank's face to clients: each logged-in session gets a teller, which turns each
//! transfer request into a transfer inside the task that handles the message, and replies.
//! The reply goes out once that task has committed durably.

use darkstar_sdk::prelude::*;

use super::request::{Outcome, TransferReply, TransferRequest};
use super::{move_funds, Bank};

/// A session's teller: knows the bank, so a request needs no name lookup.
#[managed(name = "bank.Teller")]
#[derive(Debug)]
pub struct Teller {
    /// The bank the session deals with.
    pub bank: Ref<Bank>,
}

impl Teller {
    /// Opens a teller for a new session.
    pub fn open(ctx: &mut Context<'_>) -> Result<Ref<Teller>, TaskError> {
        let bank = ctx.lookup::<Bank>("bank")?;
        ctx.create(Teller { bank })
    }
}

impl SessionListener for Teller {
    fn received_message(
        ctx: &mut Context<'_>,
        this: Ref<Self>,
        session: Ref<Session>,
        message: &[u8],
    ) -> TaskResult {
        let reply = match TransferRequest::decode(message) {
            Ok(request) => TransferReply {
                id: request.id,
                outcome: serve(ctx, this, request)?,
            },
            Err(_) => TransferReply {
                id: 0,
                outcome: Outcome::Malformed,
            },
        };
        ctx.send(session, reply.encode().to_vec())
    }

    fn disconnected(
        ctx: &mut Context<'_>,
        this: Ref<Self>,
        _session: Ref<Session>,
        _graceful: bool,
    ) -> TaskResult {
        ctx.remove(this)
    }
}

fn serve(
    ctx: &mut Context<'_>,
    this: Ref<Teller>,
    request: TransferRequest,
) -> Result<Outcome, TaskError> {
    let bank = ctx.get(this)?.bank.get();
    let (from, to) = {
        let bank = ctx.get(bank)?;
        let account = |n: u32| bank.accounts.get(n as usize).map(|a| a.get());
        match (account(request.from), account(request.to)) {
            (Some(from), Some(to)) => (from, to),
            _ => return Ok(Outcome::NoSuchAccount),
        }
    };
    Ok(if move_funds(ctx, from, to, request.amount)? {
        Outcome::Moved
    } else {
        Outcome::Refused
    })
}
