//! Channels: named publish/subscribe groups of sessions.

use crate::context::Context;
use crate::delivery::Delivery;
use crate::error::TaskError;
use crate::managed::Managed;
use crate::reference::Ref;
use crate::session::Session;
use crate::task::TaskResult;

/// A named group of sessions. Messages sent to it go to every member, in one order for
/// all of them. Created on first use by [`Context::channel`]; a managed object, so game
/// data can keep a `Ref<Channel>`.
#[crate::managed(name = "darkstar.Channel")]
#[derive(Debug)]
pub struct Channel {
    /// Its name.
    pub name: String,
    /// Its members' session ids, in joining order.
    pub(crate) members: Vec<u64>,
    /// The listener's object id, or 0 if client messages are forwarded directly.
    pub(crate) listener: u64,
    /// The listener's type name, or empty.
    pub(crate) listener_type: String,
}

/// Sees what clients send to a channel, and decides what happens to it: drop it, change
/// it, or forward it with [`Context::forward`]. Registered with
/// [`Types::channel_listener`](crate::Types::channel_listener) and given to
/// [`Context::channel_with_listener`]. Each call runs as a task.
pub trait ChannelListener: Managed {
    /// `sender` sent `message` to `channel`.
    fn received_message(
        ctx: &mut Context<'_>,
        this: Ref<Self>,
        channel: Ref<Channel>,
        sender: Ref<Session>,
        message: &[u8],
    ) -> TaskResult;
}

impl<'t> Context<'t> {
    /// The channel named `name`, created (with client messages forwarded to every member)
    /// if there is none.
    pub fn channel(&self, name: &str) -> Result<Ref<Channel>, TaskError> {
        self.channel_or_create(name, 0, "")
    }

    /// The channel named `name`, created with `listener` seeing every client message if
    /// there is none. An existing channel keeps its listener.
    pub fn channel_with_listener<L: ChannelListener>(
        &self,
        name: &str,
        listener: Ref<L>,
    ) -> Result<Ref<Channel>, TaskError> {
        self.channel_or_create(name, listener.id(), L::TYPE_NAME)
    }

    fn channel_or_create(
        &self,
        name: &str,
        listener: u64,
        listener_type: &str,
    ) -> Result<Ref<Channel>, TaskError> {
        self.tx.check()?;
        if let Some(id) = self.tx.lookup_channel(name)? {
            return Ok(Ref::from_id(id));
        }
        let channel = self.create(Channel {
            name: name.to_owned(),
            members: Vec::new(),
            listener,
            listener_type: listener_type.to_owned(),
        })?;
        self.tx.bind_channel(name, channel.id())?;
        Ok(channel)
    }

    /// The channel named `name`, or `None`.
    pub fn find_channel(&self, name: &str) -> Result<Option<Ref<Channel>>, TaskError> {
        self.tx.check()?;
        Ok(self.tx.lookup_channel(name)?.map(Ref::from_id))
    }

    /// Adds `session` to `channel`; its client is told once this commits. Joining twice
    /// is harmless.
    pub fn join(&self, channel: Ref<Channel>, session: Ref<Session>) -> TaskResult {
        self.join_all(channel, &[session])
    }

    /// Adds every session in `sessions` to `channel` at once.
    pub fn join_all(&self, channel: Ref<Channel>, sessions: &[Ref<Session>]) -> TaskResult {
        let mut ch = self.get_mut(channel)?;
        for &s in sessions {
            if ch.members.contains(&s.id()) {
                continue;
            }
            let mut session = self.get_mut(s)?;
            session.channels.push(channel.id());
            ch.members.push(s.id());
            self.tx.deliver(Delivery::Joined {
                session: s.id(),
                channel: channel.id(),
                name: ch.name.clone(),
            })?;
        }
        Ok(())
    }

    /// Removes `session` from `channel`; its client is told once this commits. Leaving a
    /// channel one is not in is harmless.
    pub fn leave(&self, channel: Ref<Channel>, session: Ref<Session>) -> TaskResult {
        self.leave_all(channel, &[session])
    }

    /// Removes every session in `sessions` from `channel` at once.
    pub fn leave_all(&self, channel: Ref<Channel>, sessions: &[Ref<Session>]) -> TaskResult {
        let mut ch = self.get_mut(channel)?;
        for &s in sessions {
            let Some(at) = ch.members.iter().position(|&m| m == s.id()) else {
                continue;
            };
            ch.members.remove(at);
            if self.try_get(s)?.is_some() {
                self.get_mut(s)?.channels.retain(|&c| c != channel.id());
            }
            self.tx.deliver(Delivery::Left {
                session: s.id(),
                channel: channel.id(),
            })?;
        }
        Ok(())
    }

    /// The sessions in `channel`, in joining order.
    pub fn members(&self, channel: Ref<Channel>) -> Result<Vec<Ref<Session>>, TaskError> {
        let ch = self.get(channel)?;
        Ok(ch
            .members
            .iter()
            .map(|m| Ref::from_id(m.to_native()))
            .collect())
    }

    /// Sends `message` from the game to every member of `channel`, once this transaction
    /// has committed durably.
    pub fn channel_send(&self, channel: Ref<Channel>, message: impl Into<Vec<u8>>) -> TaskResult {
        self.deliver_to_channel(channel, 0, message.into())
    }

    /// Sends `message` to every member of `channel` as if `sender` had sent it directly;
    /// what a channel listener calls to pass a message on.
    pub fn forward(
        &self,
        channel: Ref<Channel>,
        sender: Ref<Session>,
        message: impl Into<Vec<u8>>,
    ) -> TaskResult {
        self.deliver_to_channel(channel, sender.id(), message.into())
    }

    fn deliver_to_channel(&self, channel: Ref<Channel>, sender: u64, body: Vec<u8>) -> TaskResult {
        let ch = self.get(channel)?;
        let members: Vec<u64> = ch.members.iter().map(|m| m.to_native()).collect();
        self.tx.deliver(Delivery::ChannelMessage {
            channel: channel.id(),
            sender,
            members,
            body,
        })
    }
}
