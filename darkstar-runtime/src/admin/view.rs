//! What the admin API reads and acts on: the running server's parts, handed over at start.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Instant;

use crate::cluster::Operator;
use crate::net::Accounts;
use crate::shared::Shared;

/// The server as the admin API sees it.
pub(crate) struct View {
    pub shared: Arc<Shared>,
    pub accounts: Accounts,
    pub tcp_addr: Option<SocketAddr>,
    pub ws_addr: Option<SocketAddr>,
    /// The node's cluster; `None` on a server of its own.
    pub cluster: Option<Operator>,
    pub started: Instant,
}
