//! The login storm: rounds of logins with wrong passwords from forty addresses,
//! connections that reset at once, after `Hello` or in the middle of a login, and one
//! address opening connections as fast as it can.

use std::net::{Ipv4Addr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use darkstar_protocol::ServerFrame;
use tokio::io::AsyncWriteExt;
use tokio::net::{TcpSocket, TcpStream};

use crate::attack::target::account;
use crate::attack::wire::{hello_and_login, read_frame, HELLO_LEN};

/// The password attackers try.
const WRONG: &str = "not the password";

/// A runtime for attackers, its threads under the idle scheduling policy: they run when
/// the server and its players leave a CPU idle, as attackers on other machines would.
pub fn attackers() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .on_thread_start(|| {
            let param = libc::sched_param { sched_priority: 0 };
            // SAFETY: sched_setscheduler reads the parameter passed to it; 0 is this thread.
            unsafe { libc::sched_setscheduler(0, libc::SCHED_IDLE, &param) };
        })
        .build()
        .expect("the attackers' runtime")
}

/// Attacker `i`'s address: one of forty loopback addresses from 127.0.0.2.
fn attacker(i: usize) -> Ipv4Addr {
    Ipv4Addr::new(127, 0, 0, 2 + (i % 40) as u8)
}

/// The one address of the burst.
const BURST_ADDRESS: Ipv4Addr = Ipv4Addr::new(127, 0, 0, 99);

/// A connection from `ip` to `addr`.
async fn connect_from(ip: Ipv4Addr, addr: SocketAddr) -> std::io::Result<TcpStream> {
    let socket = TcpSocket::new_v4()?;
    socket.bind(SocketAddr::from((ip, 0)))?;
    socket.connect(addr).await
}

/// A login with a wrong password from `ip`, to its answer. Whether the server answered at
/// all (a refusal of the login, or a disconnect because a limit was hit).
async fn wrong_password(ip: Ipv4Addr, addr: SocketAddr, name: String) -> bool {
    let Ok(mut s) = connect_from(ip, addr).await else {
        return false;
    };
    if s.write_all(&hello_and_login(&name, WRONG)).await.is_err() {
        return false;
    }
    let mut buf = Vec::new();
    while let Some(frame) = read_frame(&mut s, &mut buf).await {
        if matches!(
            frame,
            ServerFrame::LoginRefused { .. } | ServerFrame::Disconnect { .. }
        ) {
            return true;
        }
    }
    false
}

/// A connection that goes away with a reset: at once, after `Hello`, or in the middle of
/// a login.
async fn churn(ip: Ipv4Addr, addr: SocketAddr, i: usize) {
    let Ok(mut s) = connect_from(ip, addr).await else {
        return;
    };
    let wire = hello_and_login("good0", WRONG);
    match i % 3 {
        0 => {}
        1 => {
            let _ = s.write_all(&wire[..HELLO_LEN]).await;
        }
        _ => {
            let _ = s.write_all(&wire).await;
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    }
    // A zero linger time makes the close a reset, and never blocks.
    #[allow(deprecated)]
    let _ = s.set_linger(Some(Duration::ZERO));
    drop(s);
}

/// The whole storm against `addr`, on the current runtime: five rounds of forty logins
/// with wrong passwords from forty addresses, then 2,000 connections of churn from those
/// addresses (200 at a time) beside 300 logins at once from one address, 127.0.0.99. Returns how
/// many of its logins the server answered.
pub async fn storm(addr: SocketAddr) -> usize {
    let mut answered = 0;
    for round in 0..5 {
        let logins: Vec<_> = (0..40)
            .map(|i| tokio::spawn(wrong_password(attacker(i), addr, account(i % 4 + round))))
            .collect();
        for l in logins {
            answered += usize::from(l.await.unwrap_or(false));
        }
    }
    let gate = Arc::new(tokio::sync::Semaphore::new(200));
    let churners: Vec<_> = (0..2000)
        .map(|i| {
            let gate = gate.clone();
            tokio::spawn(async move {
                let _p = gate.acquire().await.expect("the gate stays open");
                churn(attacker(i), addr, i).await;
            })
        })
        .collect();
    let burst: Vec<_> = (0..300)
        .map(|_| tokio::spawn(wrong_password(BURST_ADDRESS, addr, account(0))))
        .collect();
    for c in churners {
        let _ = c.await;
    }
    for b in burst {
        answered += usize::from(b.await.unwrap_or(false));
    }
    answered
}
