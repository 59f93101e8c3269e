//! A chat lobby: every player who logs in joins the `lobby` channel; `/join` opens or enters
//! a room (a channel of its own), `/tell` whispers to one player, `/who` lists who is on.
//! Messages to a channel pass a moderator (a channel listener) that drops empty or
//! over-long ones and signs the rest with the sender's name.
//!
//! The server is the `chat` binary; `chat-client` is a terminal client for it.

use darkstar_sdk::prelude::*;

/// Longest message the moderator lets through, in bytes.
pub const MAX_MESSAGE: usize = 280;

/// Longest room name.
pub const MAX_ROOM_NAME: usize = 32;

/// The lobby's channel name.
pub const LOBBY: &str = "lobby";

/// One logged-in player: the session's listener.
#[managed(name = "chat.Chatter")]
#[derive(Debug)]
pub struct Chatter {
    /// The name the player logged in with.
    pub name: String,
    /// The room the player is in, or empty.
    pub room: String,
    /// The moderator of every channel.
    pub moderator: Ref<Moderator>,
}

// ANCHOR: moderator_type
/// Watches every channel: drops what should not go out, signs the rest.
#[managed(name = "chat.Moderator")]
#[derive(Debug)]
pub struct Moderator {
    /// Messages dropped so far.
    pub dropped: u64,
}
// ANCHOR_END: moderator_type

/// The name a player is bound under while online.
fn online_key(name: &str) -> String {
    format!("chat.online.{name}")
}

/// A room's channel name.
fn room_channel(room: &str) -> String {
    format!("room.{room}")
}

/// What a player may type.
const HELP: &str = "commands: /join ROOM, /leave, /who, /tell NAME TEXT, /help; \
                    anything else goes to your room (or the lobby)";

impl SessionListener for Chatter {
    fn received_message(
        ctx: &mut Context<'_>,
        this: Ref<Self>,
        session: Ref<Session>,
        message: &[u8],
    ) -> TaskResult {
        let Ok(text) = std::str::from_utf8(message) else {
            return ctx.send(session, "messages must be UTF-8 text");
        };
        let (command, rest) = text.trim().split_once(' ').unwrap_or((text.trim(), ""));
        let rest = rest.trim();
        match command {
            "/join" => join_room(ctx, this, session, rest),
            "/leave" => leave_room(ctx, this, session),
            "/who" => who(ctx, this, session),
            "/tell" => tell(ctx, this, session, rest),
            "/help" => ctx.send(session, HELP),
            _ => ctx.send(session, format!("unknown command {command:?}; {HELP}")),
        }
    }

    fn disconnected(
        ctx: &mut Context<'_>,
        this: Ref<Self>,
        session: Ref<Session>,
        _graceful: bool,
    ) -> TaskResult {
        let name = ctx.get(this)?.name.to_string();
        // A newer login under the same name owns the binding now; leave it alone.
        if ctx.try_lookup::<Session>(&online_key(&name))? == Some(session) {
            ctx.unbind(&online_key(&name))?;
        }
        ctx.remove(this)
    }
}

fn join_room(
    ctx: &mut Context<'_>,
    this: Ref<Chatter>,
    session: Ref<Session>,
    room: &str,
) -> TaskResult {
    let valid = !room.is_empty()
        && room.len() <= MAX_ROOM_NAME
        && room
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
    if !valid {
        return ctx.send(
            session,
            format!("a room name is 1 to {MAX_ROOM_NAME} letters, digits, '-' or '_'"),
        );
    }
    leave_room(ctx, this, session)?;
    let moderator = ctx.get(this)?.moderator.get();
    let channel = ctx.channel_with_listener(&room_channel(room), moderator)?;
    ctx.join(channel, session)?;
    let name = ctx.get(this)?.name.to_string();
    ctx.get_mut(this)?.room = room.to_owned();
    ctx.channel_send(channel, format!("{name} entered {room}"))
}

fn leave_room(ctx: &mut Context<'_>, this: Ref<Chatter>, session: Ref<Session>) -> TaskResult {
    let room = ctx.get(this)?.room.to_string();
    if room.is_empty() {
        return Ok(());
    }
    if let Some(channel) = ctx.find_channel(&room_channel(&room))? {
        ctx.leave(channel, session)?;
        let name = ctx.get(this)?.name.to_string();
        ctx.channel_send(channel, format!("{name} left {room}"))?;
    }
    ctx.get_mut(this)?.room.clear();
    Ok(())
}

fn who(ctx: &mut Context<'_>, this: Ref<Chatter>, session: Ref<Session>) -> TaskResult {
    let room = ctx.get(this)?.room.to_string();
    let (place, channel) = if room.is_empty() {
        (LOBBY.to_owned(), ctx.find_channel(LOBBY)?)
    } else {
        (room.clone(), ctx.find_channel(&room_channel(&room))?)
    };
    let mut names = Vec::new();
    if let Some(channel) = channel {
        for member in ctx.members(channel)? {
            if let Some(s) = ctx.try_get(member)? {
                names.push(s.name.to_string());
            }
        }
    }
    names.sort();
    ctx.send(session, format!("in {place}: {}", names.join(", ")))
}

fn tell(
    ctx: &mut Context<'_>,
    this: Ref<Chatter>,
    session: Ref<Session>,
    rest: &str,
) -> TaskResult {
    let Some((to, text)) = rest.split_once(' ') else {
        return ctx.send(session, "usage: /tell NAME TEXT");
    };
    let name = ctx.get(this)?.name.to_string();
    match ctx.try_lookup::<Session>(&online_key(to))? {
        Some(target) if ctx.is_connected(target)? => {
            ctx.send(target, format!("{name} whispers: {}", text.trim()))?;
            ctx.send(session, format!("you whisper to {to}: {}", text.trim()))
        }
        _ => ctx.send(session, format!("{to} is not online")),
    }
}

// ANCHOR: moderator
impl ChannelListener for Moderator {
    fn received_message(
        ctx: &mut Context<'_>,
        this: Ref<Self>,
        channel: Ref<Channel>,
        sender: Ref<Session>,
        message: &[u8],
    ) -> TaskResult {
        let text = std::str::from_utf8(message).map(str::trim);
        let refusal = match text {
            Err(_) => Some("messages must be UTF-8 text".to_owned()),
            Ok("") => Some("empty messages are not sent".to_owned()),
            Ok(t) if t.len() > MAX_MESSAGE => Some(format!(
                "message not sent: {} bytes, at most {MAX_MESSAGE}",
                t.len()
            )),
            Ok(_) => None,
        };
        if let Some(refusal) = refusal {
            ctx.get_mut(this)?.dropped += 1;
            return ctx.send(sender, refusal);
        }
        let name = ctx.get(sender)?.name.to_string();
        ctx.forward(
            channel,
            sender,
            format!("{name}: {}", text.unwrap_or_default()),
        )
    }
}
// ANCHOR_END: moderator

/// The chat game.
pub struct ChatApp;

impl App for ChatApp {
    // ANCHOR: lobby
    fn register(&self, types: &mut Types) {
        types
            .session_listener::<Chatter>()
            .channel_listener::<Moderator>();
    }

    fn initialize(&self, ctx: &mut Context<'_>) -> TaskResult {
        let moderator = ctx.create(Moderator { dropped: 0 })?;
        ctx.bind("chat.moderator", moderator)?;
        ctx.channel_with_listener(LOBBY, moderator).map(drop)
    }
    // ANCHOR_END: lobby

    fn logged_in(&self, ctx: &mut Context<'_>, session: Ref<Session>) -> Result<Login, TaskError> {
        // A second login under a name that is on is the server's business
        // (`duplicate_login`): by default the old session has ended, and its `disconnected`
        // has run, before this runs.
        let name = ctx.get(session)?.name.to_string();
        let moderator = ctx.lookup::<Moderator>("chat.moderator")?;
        let chatter = ctx.create(Chatter {
            name: name.clone(),
            room: String::new(),
            moderator,
        })?;
        // Rebinding replaces a stale binding left by a session that is ending.
        ctx.bind(&online_key(&name), session)?;
        let lobby = ctx.channel_with_listener(LOBBY, moderator)?;
        ctx.join(lobby, session)?;
        ctx.send(session, format!("welcome, {name}. {HELP}"))?;
        Ok(Login::accept(chatter))
    }
}
