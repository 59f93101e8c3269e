//! What the runtime calls when clients log in, send and go away. Each function runs inside
//! the task the runtime started for the event; the SDK owns what sessions and channels
//! mean, the runtime only carries the bytes.

use crate::app::{App, Types};
use crate::channel::Channel;
use crate::context::Context;
use crate::error::TaskError;
use crate::persist::encode;
use crate::reference::Ref;
use crate::session::{Login, Session};
use crate::stored::Stored;
use crate::task::TaskResult;

/// Opens session `session` for a client that authenticated as `name`: stores the session
/// object under that id, then asks the application. A refusal is
/// [`TaskError::Refused`], which rolls the whole login back.
pub fn login(
    ctx: &mut Context<'_>,
    app: &dyn App,
    types: &Types,
    session: u64,
    name: &str,
) -> TaskResult {
    let mut value = Session {
        name: name.to_owned(),
        listener: 0,
        listener_type: String::new(),
        channels: Vec::new(),
    };
    ctx.tx.write_object(
        session,
        Session::STORED_NAME,
        encode(&value, Session::TYPE_NAME)?,
    )?;
    match app.logged_in(ctx, Ref::from_id(session))? {
        Login::Refuse { reason } => Err(TaskError::Refused { reason }),
        Login::Accept {
            listener,
            listener_type,
        } => {
            if types.session_listener_type(listener_type).is_none() {
                return Err(unregistered_listener("session", listener_type));
            }
            // Re-read: `logged_in` may have joined channels.
            let current = ctx.get(Ref::<Session>::from_id(session))?;
            value.channels = current.channels.iter().map(|c| c.to_native()).collect();
            value.listener = listener;
            value.listener_type = listener_type.to_owned();
            ctx.set(Ref::from_id(session), value)
        }
    }
}

/// Hands a client's message to its session's listener. A session that is already gone
/// ignores it.
pub fn message(ctx: &mut Context<'_>, types: &Types, session: u64, body: &[u8]) -> TaskResult {
    let session = Ref::<Session>::from_id(session);
    let Some((listener, ty)) = listener_of(ctx, types, session)? else {
        return Ok(());
    };
    (ty.received)(ctx, listener, session, body)
}

/// Handles a client's message to a channel: through the channel's listener if it has one,
/// otherwise forwarded to every member. A message to a channel the session is not in is
/// ignored (it may have just left).
pub fn channel_message(
    ctx: &mut Context<'_>,
    types: &Types,
    session: u64,
    channel: u64,
    body: &[u8],
) -> TaskResult {
    let sender = Ref::<Session>::from_id(session);
    let channel = Ref::<Channel>::from_id(channel);
    let Some(s) = ctx.try_get(sender)? else {
        return Ok(());
    };
    if !s.channels.iter().any(|c| c.to_native() == channel.id()) {
        return Ok(());
    }
    let ch = ctx.get(channel)?;
    let listener = ch.listener.to_native();
    if listener == 0 {
        return ctx.forward(channel, sender, body.to_vec());
    }
    let Some(ty) = types.channel_listener_type(ch.listener_type.as_str()) else {
        return Err(unregistered_listener("channel", &ch.listener_type));
    };
    (ty.received)(ctx, listener, channel, sender, body)
}

/// Ends a session: its listener hears `disconnected`, it leaves its channels, and its
/// object is removed.
pub fn disconnected(
    ctx: &mut Context<'_>,
    types: &Types,
    session: u64,
    graceful: bool,
) -> TaskResult {
    let session = Ref::<Session>::from_id(session);
    let Some((listener, ty)) = listener_of(ctx, types, session)? else {
        return Ok(());
    };
    (ty.disconnected)(ctx, listener, session, graceful)?;
    let Some(s) = ctx.try_get(session)? else {
        return Ok(());
    };
    let channels: Vec<u64> = s.channels.iter().map(|c| c.to_native()).collect();
    for c in channels {
        let channel = Ref::<Channel>::from_id(c);
        if ctx.try_get(channel)?.is_some() {
            ctx.get_mut(channel)?.members.retain(|&m| m != session.id());
        }
    }
    ctx.remove(session)
}

/// The session's listener, or `None` if the session is gone.
fn listener_of(
    ctx: &Context<'_>,
    types: &Types,
    session: Ref<Session>,
) -> Result<Option<(u64, crate::app::SessionListenerType)>, TaskError> {
    let Some(s) = ctx.try_get(session)? else {
        return Ok(None);
    };
    let listener = s.listener.to_native();
    let Some(ty) = types.session_listener_type(s.listener_type.as_str()) else {
        return Err(unregistered_listener("session", &s.listener_type));
    };
    Ok(Some((listener, *ty)))
}

/// A stored listener whose type this binary does not register as one.
fn unregistered_listener(kind: &str, type_name: &str) -> TaskError {
    TaskError::abort(format!(
        "{kind} listener type {type_name} is not registered; add it with Types::{kind}_listener"
    ))
}
