//! Who may connect and try to log in: limits per IP address, and on connections that have
//! not logged in yet, so that no peer without an account can hold more than a bounded
//! share of the server.

use std::net::IpAddr;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use hashbrown::HashMap;
use parking_lot::Mutex;

use crate::config::Config;
use crate::net::pace::Pace;

/// A limit that refused a connection or a login.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Limit {
    /// `max_connections_per_address`.
    ConnectionsPerAddress,
    /// `connections_per_sec_per_address`.
    ConnectionRate,
    /// `logins_per_sec_per_address`.
    LoginRate,
    /// `max_unauthenticated`.
    Unauthenticated,
    /// `login_queue`.
    LoginQueue,
    /// `max_sessions`.
    Sessions,
    /// `login_queue_per_address`.
    WaitingLogins,
}

impl Limit {
    /// The disconnect reason a client is given.
    pub fn reason(self) -> darkstar_protocol::DisconnectReason {
        match self {
            Limit::Sessions => darkstar_protocol::DisconnectReason::Full,
            _ => darkstar_protocol::DisconnectReason::Busy,
        }
    }

    /// Its metric label and configuration key.
    pub fn key(self) -> &'static str {
        match self {
            Limit::ConnectionsPerAddress => "max_connections_per_address",
            Limit::ConnectionRate => "connections_per_sec_per_address",
            Limit::LoginRate => "logins_per_sec_per_address",
            Limit::Unauthenticated => "max_unauthenticated",
            Limit::LoginQueue => "login_queue",
            Limit::Sessions => "max_sessions",
            Limit::WaitingLogins => "login_queue_per_address",
        }
    }

    /// What the client is told.
    pub fn text(self) -> &'static str {
        match self {
            Limit::ConnectionsPerAddress => {
                "too many connections from your address; close some and try again"
            }
            Limit::ConnectionRate => {
                "your address opens connections too fast; wait a moment and try again"
            }
            Limit::LoginRate => {
                "your address tries to log in too fast; wait a moment and try again"
            }
            Limit::Unauthenticated => {
                "the server has too many connections waiting to log in; try again shortly"
            }
            Limit::LoginQueue => "the server has too many logins to check; try again shortly",
            Limit::Sessions => "the server has as many sessions as it takes",
            Limit::WaitingLogins => {
                "your address has too many logins waiting to be checked; try again shortly"
            }
        }
    }
}

/// The part of an address that limits apply to: an IPv4 address, or the /64 prefix of an
/// IPv6 address (one host usually holds a whole /64, so counting single IPv6 addresses
/// would limit nothing).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) enum AddressKey {
    V4(u32),
    V6(u64),
}

impl AddressKey {
    pub fn of(ip: IpAddr) -> AddressKey {
        match ip {
            IpAddr::V4(v4) => AddressKey::V4(v4.into()),
            IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
                Some(v4) => AddressKey::V4(v4.into()),
                None => AddressKey::V6((u128::from(v6) >> 64) as u64),
            },
        }
    }
}

struct AddressState {
    /// Connections open now.
    connections: u32,
    connects: Pace,
    logins: Pace,
}

struct Addresses {
    map: HashMap<AddressKey, AddressState>,
    last_sweep: Instant,
}

/// How often the table of addresses forgets idle ones.
const SWEEP_EVERY: Duration = Duration::from_secs(1);

/// The admission limits of one server.
pub(crate) struct Admission {
    max_per_address: u32,
    connection_rate: u32,
    login_rate: u32,
    max_unauthenticated: u32,
    unauthenticated: AtomicU32,
    addresses: Mutex<Addresses>,
}

impl Admission {
    pub fn new(config: &Config) -> Admission {
        Admission {
            max_per_address: config.max_connections_per_address,
            connection_rate: config.connections_per_sec_per_address,
            login_rate: config.logins_per_sec_per_address,
            max_unauthenticated: config.max_unauthenticated,
            unauthenticated: AtomicU32::new(0),
            addresses: Mutex::new(Addresses {
                map: HashMap::new(),
                last_sweep: Instant::now(),
            }),
        }
    }

    /// Admits a new connection from `ip`, or names the limit that refuses it.
    pub fn admit(self: &Arc<Self>, ip: IpAddr) -> Result<Ticket, Limit> {
        let key = AddressKey::of(ip);
        let now = Instant::now();
        let mut addresses = self.addresses.lock();
        if now.duration_since(addresses.last_sweep) >= SWEEP_EVERY {
            addresses.last_sweep = now;
            // Only addresses with open connections or a recent burst are worth keeping, so
            // the table stays as small as the connections plus a second's worth of peers.
            addresses.map.retain(|_, a| {
                a.connections > 0 || !a.connects.is_rested(now) || !a.logins.is_rested(now)
            });
        }
        let state = addresses.map.entry(key).or_insert_with(|| AddressState {
            connections: 0,
            connects: Pace::new(self.connection_rate, now),
            logins: Pace::new(self.login_rate, now),
        });
        if self.max_per_address > 0 && state.connections >= self.max_per_address {
            return Err(Limit::ConnectionsPerAddress);
        }
        if !state.connects.try_spend(1, now) {
            return Err(Limit::ConnectionRate);
        }
        // Counted under the table's lock, so the two counts never disagree for long.
        let unauthenticated = self.unauthenticated.fetch_add(1, Ordering::AcqRel);
        if unauthenticated >= self.max_unauthenticated {
            self.unauthenticated.fetch_sub(1, Ordering::AcqRel);
            return Err(Limit::Unauthenticated);
        }
        state.connections += 1;
        Ok(Ticket {
            admission: self.clone(),
            key,
            authenticated: false,
        })
    }

    /// A login attempt from the ticket's address: allowed, or refused by its rate.
    pub fn login_attempt(&self, ticket: &Ticket) -> Result<(), Limit> {
        let now = Instant::now();
        let mut addresses = self.addresses.lock();
        let state = addresses
            .map
            .get_mut(&ticket.key)
            .expect("an address with an open connection stays in the table");
        if state.logins.try_spend(1, now) {
            Ok(())
        } else {
            Err(Limit::LoginRate)
        }
    }

    /// Connections open now that have not logged in.
    #[cfg(test)]
    pub fn unauthenticated(&self) -> u32 {
        self.unauthenticated.load(Ordering::Acquire)
    }

    /// Addresses the table holds.
    #[cfg(test)]
    pub fn addresses(&self) -> usize {
        self.addresses.lock().map.len()
    }

    fn release(&self, key: AddressKey, authenticated: bool) {
        if !authenticated {
            let before = self.unauthenticated.fetch_sub(1, Ordering::AcqRel);
            assert!(
                before > 0,
                "more unauthenticated connections left than came"
            );
        }
        let mut addresses = self.addresses.lock();
        let state = addresses
            .map
            .get_mut(&key)
            .expect("an address with an open connection stays in the table");
        assert!(state.connections > 0);
        state.connections -= 1;
    }
}

/// An admitted connection; dropping it gives its place back.
pub(crate) struct Ticket {
    admission: Arc<Admission>,
    key: AddressKey,
    authenticated: bool,
}

impl Ticket {
    /// The connection logged in (or resumed): it no longer counts as unauthenticated.
    pub fn logged_in(&mut self) {
        if !self.authenticated {
            self.authenticated = true;
            let before = self
                .admission
                .unauthenticated
                .fetch_sub(1, Ordering::AcqRel);
            assert!(
                before > 0,
                "more unauthenticated connections left than came"
            );
        }
    }

    /// The address the connection came from, as limits count it.
    pub fn address(&self) -> AddressKey {
        self.key
    }

    /// A login attempt on this connection: allowed, or refused by its address's rate.
    pub fn login_attempt(&self) -> Result<(), Limit> {
        self.admission.login_attempt(self)
    }
}

impl Drop for Ticket {
    fn drop(&mut self) {
        self.admission.release(self.key, self.authenticated);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(per_address: u32, rate: u32, logins: u32, unauth: u32) -> Config {
        Config {
            max_connections_per_address: per_address,
            connections_per_sec_per_address: rate,
            logins_per_sec_per_address: logins,
            max_unauthenticated: unauth,
            ..Config::default()
        }
    }

    #[test]
    fn each_limit_refuses_and_gives_back_its_place() {
        let a = Arc::new(Admission::new(&config(2, 0, 0, 3)));
        let ip: IpAddr = "10.0.0.1".parse().unwrap();
        let t1 = a.admit(ip).unwrap();
        let mut t2 = a.admit(ip).unwrap();
        assert_eq!(a.admit(ip).err(), Some(Limit::ConnectionsPerAddress));
        let other = a.admit("10.0.0.2".parse().unwrap()).unwrap();
        assert_eq!(
            a.admit("10.0.0.3".parse().unwrap()).err(),
            Some(Limit::Unauthenticated)
        );
        t2.logged_in();
        assert_eq!(a.unauthenticated(), 2);
        let t4 = a.admit("10.0.0.3".parse().unwrap()).unwrap();
        drop((t1, t2, other, t4));
        assert_eq!(a.unauthenticated(), 0);
        assert!(a.admit(ip).is_ok(), "places come back");
    }

    #[test]
    fn rates_per_address() {
        let a = Arc::new(Admission::new(&config(0, 3, 2, 100)));
        let ip: IpAddr = "10.0.0.1".parse().unwrap();
        let tickets: Vec<_> = (0..3).map(|_| a.admit(ip).unwrap()).collect();
        assert_eq!(a.admit(ip).err(), Some(Limit::ConnectionRate));
        assert!(
            a.admit("10.0.0.9".parse().unwrap()).is_ok(),
            "another address"
        );
        assert!(tickets[0].login_attempt().is_ok());
        assert!(tickets[1].login_attempt().is_ok());
        assert_eq!(tickets[2].login_attempt(), Err(Limit::LoginRate));
    }

    #[test]
    fn ipv6_counts_by_prefix() {
        let a = Arc::new(Admission::new(&config(1, 0, 0, 100)));
        let _t = a.admit("2001:db8::1".parse().unwrap()).unwrap();
        assert_eq!(
            a.admit("2001:db8::2".parse().unwrap()).err(),
            Some(Limit::ConnectionsPerAddress),
            "same /64"
        );
        assert!(a.admit("2001:db8:0:1::1".parse().unwrap()).is_ok());
        let _m = a.admit("::ffff:10.0.0.7".parse().unwrap()).unwrap();
        assert_eq!(
            a.admit("10.0.0.7".parse().unwrap()).err(),
            Some(Limit::ConnectionsPerAddress),
            "a mapped IPv4 address is that address"
        );
    }

    #[test]
    fn idle_addresses_are_forgotten() {
        let a = Arc::new(Admission::new(&config(0, 1000, 1000, 100_000)));
        for i in 0..1000u32 {
            drop(a.admit(IpAddr::V4(i.into())).unwrap());
        }
        assert_eq!(a.addresses(), 1000);
        // Every address has rested 1 ms after its one connection; backdate the sweep.
        std::thread::sleep(Duration::from_millis(20));
        let mut addresses = a.addresses.lock();
        addresses.last_sweep = Instant::now().checked_sub(SWEEP_EVERY).unwrap();
        drop(addresses);
        drop(a.admit("10.9.9.9".parse().unwrap()).unwrap());
        assert_eq!(a.addresses(), 1);
    }
}
