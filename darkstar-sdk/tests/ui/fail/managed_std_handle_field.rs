use std::sync::atomic::AtomicU64;
use std::sync::{mpsc, Arc, Mutex, OnceLock};
use std::thread::JoinHandle;

use darkstar_sdk::prelude::*;

#[managed]
pub struct Lobby {
    pub opened: Option<std::time::SystemTime>,
    pub log: std::fs::File,
    pub players: Vec<std::net::TcpStream>,
    pub worker: JoinHandle<()>,
    pub events: mpsc::Sender<String>,
    pub visits: AtomicU64,
    pub motd: OnceLock<String>,
    pub shared: Arc<Mutex<u32>>,
}

fn main() {}
