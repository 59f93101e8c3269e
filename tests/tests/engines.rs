//! The engine harness works: real etcd and PostgreSQL servers start, serve their clients,
//! survive a restart with their data, and leave no process behind when dropped.
//!
//! This is the proof, in CI, that the machine has the engines the cluster tests need and
//! that the harness can run them (as root too, where PostgreSQL runs as `postgres`).

use darkstar_tests::engines::{process_alive, Etcd, Postgres};
use std::net::TcpStream;
use std::time::{Duration, Instant};

#[test]
fn etcd_and_postgres_start_serve_restart_and_go() {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();

    let started = Instant::now();
    let mut etcd = Etcd::start().unwrap_or_else(|e| panic!("{e}"));
    eprintln!(
        "etcd started in {:?} at {}",
        started.elapsed(),
        etcd.endpoint()
    );
    let started = Instant::now();
    let mut pg = Postgres::start().unwrap_or_else(|e| panic!("{e}"));
    eprintln!(
        "PostgreSQL started in {:?} at {}",
        started.elapsed(),
        pg.url()
    );

    // etcd: a key with a lease, kept alive once, read back; one without a lease.
    let endpoint = etcd.endpoint();
    runtime.block_on(async {
        let mut client = etcd_client::Client::connect([&endpoint], None)
            .await
            .unwrap();
        let lease = client.lease_grant(30, None).await.unwrap();
        assert!(lease.ttl() > 0);
        let (mut keeper, mut responses) = client.lease_keep_alive(lease.id()).await.unwrap();
        keeper.keep_alive().await.unwrap();
        let renewed = responses
            .message()
            .await
            .unwrap()
            .expect("a keep-alive response");
        assert_eq!(renewed.id(), lease.id());
        assert!(renewed.ttl() > 0);
        client
            .put(
                "node/a",
                "alive",
                Some(etcd_client::PutOptions::new().with_lease(lease.id())),
            )
            .await
            .unwrap();
        client.put("log/head", "7", None).await.unwrap();
        let got = client.get("node/a", None).await.unwrap();
        assert_eq!(got.kvs().len(), 1);
        assert_eq!(got.kvs()[0].value(), b"alive");
        assert_eq!(got.kvs()[0].lease(), lease.id());
    });

    // PostgreSQL: a table, a row in, the row out.
    let url = pg.url();
    runtime.block_on(async {
        let (client, connection) = tokio_postgres::connect(&url, tokio_postgres::NoTls)
            .await
            .unwrap();
        tokio::spawn(connection);
        client
            .batch_execute("CREATE TABLE commits (seq BIGINT PRIMARY KEY, payload BYTEA NOT NULL)")
            .await
            .unwrap();
        client
            .execute(
                "INSERT INTO commits (seq, payload) VALUES ($1, $2)",
                &[&1i64, &b"first".as_slice()],
            )
            .await
            .unwrap();
        let row = client
            .query_one("SELECT payload FROM commits WHERE seq = 1", &[])
            .await
            .unwrap();
        assert_eq!(row.get::<_, Vec<u8>>(0), b"first");
        let fsync: String = client.query_one("SHOW fsync", &[]).await.unwrap().get(0);
        let sync_commit: String = client
            .query_one("SHOW synchronous_commit", &[])
            .await
            .unwrap()
            .get(0);
        assert_eq!((fsync.as_str(), sync_commit.as_str()), ("on", "on"));
    });

    // A restart keeps the data and the port; an open connection does not survive it.
    let port = pg.port();
    let started = Instant::now();
    pg.restart().unwrap_or_else(|e| panic!("{e}"));
    eprintln!(
        "PostgreSQL restarted (fast shutdown + start) in {:?}",
        started.elapsed()
    );
    assert_eq!(pg.port(), port);
    let select_first = |url: String| async move {
        let (client, connection) = tokio_postgres::connect(&url, tokio_postgres::NoTls)
            .await
            .unwrap();
        tokio::spawn(connection);
        let row = client
            .query_one("SELECT payload FROM commits WHERE seq = 1", &[])
            .await
            .unwrap();
        row.get::<_, Vec<u8>>(0)
    };
    assert_eq!(runtime.block_on(select_first(pg.url())), b"first");

    // A crash (every PostgreSQL process killed) and a restart: recovery keeps the row.
    pg.kill().unwrap();
    assert!(!pg.is_running());
    let started = Instant::now();
    pg.restart().unwrap_or_else(|e| panic!("{e}"));
    eprintln!(
        "PostgreSQL restarted after a kill (crash recovery) in {:?}",
        started.elapsed()
    );
    assert_eq!(runtime.block_on(select_first(pg.url())), b"first");

    // etcd keeps its keys across a restart too.
    let started = Instant::now();
    etcd.restart().unwrap_or_else(|e| panic!("{e}"));
    eprintln!("etcd restarted in {:?}", started.elapsed());
    runtime.block_on(async {
        let mut client = etcd_client::Client::connect([&endpoint], None)
            .await
            .unwrap();
        let got = client.get("log/head", None).await.unwrap();
        assert_eq!(got.kvs()[0].value(), b"7");
    });

    // Dropped, both are gone: every process, and nothing answers on their ports.
    let etcd_pid = etcd.pid().expect("etcd runs");
    let pg_pids = pg.pids();
    assert!(
        pg_pids.len() > 1,
        "the postmaster and its children: {pg_pids:?}"
    );
    let (etcd_port, pg_port) = (etcd.client_port(), pg.port());
    let (etcd_dir, pg_dir) = (etcd.data_dir(), pg.data_dir());
    drop(etcd);
    drop(pg);
    assert!(
        !process_alive(etcd_pid),
        "etcd {etcd_pid} outlived its handle"
    );
    for pid in &pg_pids {
        assert!(
            !process_alive(*pid),
            "PostgreSQL process {pid} outlived its handle"
        );
    }
    for port in [etcd_port, pg_port] {
        let refused =
            TcpStream::connect_timeout(&([127, 0, 0, 1], port).into(), Duration::from_secs(1));
        assert!(refused.is_err(), "something still listens on port {port}");
    }
    assert!(
        !etcd_dir.exists() && !pg_dir.exists(),
        "data directories removed"
    );
}
