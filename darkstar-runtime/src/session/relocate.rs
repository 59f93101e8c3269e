//! Moving live sessions when their slots move: in a cluster a player's session lives on
//! the node that owns its name's slot, and when the placement table gives that slot to
//! another node (an operator drained this one, or a node joined and took its share), the
//! session's connection tells its client to resume there (`Relocate`). The node it goes
//! to takes the session over as it takes over a dead node's (`takeover.rs`), through the
//! log: messages this node handles meanwhile are fenced by the session's record, and the
//! frames the client lacks are in every replica's outbox.

use std::sync::Arc;
use std::time::Duration;

use tracing::info;

use darkstar_protocol::DisconnectReason;

use super::SessionLink;
use crate::shared::Shared;

/// How often the pass runs besides after each new table: a client that came back here
/// (the other node was out of its reach) is sent on again.
const EVERY: Duration = Duration::from_secs(1);

/// Asks the connection of every connected session whose slot another node owns to send
/// its client there; returns how many were asked.
pub(crate) fn relocate_moved(shared: &Shared) -> usize {
    if shared.data.incarnation().is_none() || !shared.ownership.started() {
        return 0;
    }
    let mut asked = 0;
    for link in shared.sessions.all() {
        if !link.is_connected() {
            // Taken over by the node it was sent to: nothing more for it here.
            if moved_away(shared, &link) {
                let_go(shared, &link);
            }
            continue;
        }
        if link.relocating() {
            continue;
        }
        let slot = shared
            .placement
            .slot_of(crate::cluster::identity_key(&link.identity));
        // Only to a node that published where clients of this connection's transport
        // connect.
        let known = shared
            .ownership
            .elsewhere(slot, link.on_websocket())
            .is_some();
        if known && link.relocate() {
            asked += 1;
        }
    }
    if asked > 0 {
        info!(
            sessions = asked,
            "relocating sessions whose slots moved to other nodes"
        );
    }
    asked
}

/// Whether another node run holds `link`'s session now (it relocated, or was taken over).
pub(crate) fn moved_away(shared: &Shared, link: &SessionLink) -> bool {
    let Some(me) = shared.data.incarnation() else {
        return false;
    };
    shared
        .store
        .snapshot()
        .name(&super::session_key(link.id))
        .is_some_and(|record| record.id != me)
}

/// Lets go of a link whose session another node holds now, without ending the session:
/// it is removed from the table, and anything still queued for it is dropped (the other
/// node has it from the outbox). Only a link no connection carries.
pub(crate) fn let_go(shared: &Shared, link: &Arc<SessionLink>) {
    if link.attached() != 0 {
        return;
    }
    if link.end(
        DisconnectReason::Replaced,
        "the session moved to another node",
    ) {
        shared.sessions.remove_link(link);
        if link.was_started() {
            crate::metrics::session_moved();
        }
    }
}

/// Runs the pass every [`EVERY`] for as long as the node lives.
pub(crate) async fn run(shared: Arc<Shared>) {
    loop {
        tokio::time::sleep(EVERY).await;
        relocate_moved(&shared);
    }
}
