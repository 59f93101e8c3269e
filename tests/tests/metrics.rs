//! The Prometheus endpoint serves the task, commit and core metrics.

use std::net::TcpListener;
use std::time::{Duration, Instant};

use darkstar_examples::counter::{Increment, Persistence};
use darkstar_runtime::{Config, Server};
use darkstar_tests::prometheus::scrape;

#[test]
fn metrics_are_served_for_prometheus() {
    let addr = {
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap()
    };
    let dir = tempfile::tempdir().unwrap();
    let config = Config {
        data_dir: dir.path().to_owned(),
        cores: 2,
        metrics_addr: Some(addr),
        ..Config::default()
    };
    let server = Server::builder(Persistence).config(config).start().unwrap();
    for _ in 0..5 {
        server.submit(Increment {}).wait().unwrap();
    }
    // The exporter folds histograms in periodically; counters are immediate. The deadline
    // is long: it costs time only when the test fails, and a loaded machine may be slow.
    let deadline = Instant::now() + Duration::from_secs(30);
    let mut text = scrape(addr);
    while !text.contains("darkstar_commit_seconds_bucket") && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(100));
        text = scrape(addr);
    }
    assert!(text.starts_with("HTTP/1.1 200"), "{text}");
    let commits = text
        .lines()
        .find(|l| {
            l.starts_with("darkstar_task_commits_total") && l.contains("task=\"counter.increment\"")
        })
        .unwrap_or_else(|| panic!("no commit counter for counter.increment in:\n{text}"));
    assert!(commits.ends_with(" 5"), "{commits}");
    for name in [
        "darkstar_commit_seconds_bucket",
        "darkstar_batch_tasks_bucket",
        "darkstar_core_busy_microseconds_total",
        "darkstar_timers",
    ] {
        assert!(text.contains(name), "{name} missing from:\n{text}");
    }
    server.shutdown().unwrap();
}
