//! Reading the server's Prometheus endpoint from tests.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::Duration;

/// The whole HTTP response of `GET /metrics` at `addr`, status line included.
pub fn scrape(addr: SocketAddr) -> String {
    let mut s = TcpStream::connect(addr).expect("metrics endpoint listens");
    // Long, for a loaded machine: a stuck endpoint still fails the test.
    s.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
    s.write_all(b"GET /metrics HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
        .unwrap();
    let mut body = String::new();
    s.read_to_string(&mut body).unwrap();
    body
}

/// The value of the sample `name` whose labels include `label` (for example
/// `reason="too_slow"`; empty: a sample without labels), or `None` if there is none.
pub fn sample(text: &str, name: &str, label: &str) -> Option<f64> {
    text.lines()
        .find(|l| {
            let (series, _) = l.split_once(' ').unwrap_or((l, ""));
            match series.strip_prefix(name) {
                Some("") => label.is_empty(),
                Some(labels) => labels.starts_with('{') && labels.contains(label),
                None => false,
            }
        })
        .and_then(|l| l.rsplit(' ').next())
        .and_then(|v| v.parse().ok())
}
