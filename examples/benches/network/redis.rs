//! Redis: each transfer is one Lua script, atomic by Redis's single thread, made durable by
//! `appendfsync always` (set by the server's start-up, checked here). Requests are
//! pipelined over each multiplexed connection.

use darkstar_examples::bank::request::{Outcome, TransferRequest};
use darkstar_examples::load::{Lane, Pipeline};
use redis::aio::MultiplexedConnection;
use redis::Script;
use std::time::Instant;

use crate::{carry_concurrently, Answer, Args, System, INITIAL_BALANCE};

const TRANSFER: &str = r"
local amount = tonumber(ARGV[1])
local available = tonumber(redis.call('GET', KEYS[1]))
if KEYS[1] == KEYS[2] or amount < 0 or available < amount then
    return 0
end
redis.call('DECRBY', KEYS[1], amount)
redis.call('INCRBY', KEYS[2], amount)
return 1
";

pub struct Redis {
    client: redis::Client,
    accounts: u32,
}

fn key(n: u32) -> String {
    format!("account:{n}")
}

impl Redis {
    pub fn from_env() -> Option<Redis> {
        let url = std::env::var("DARKSTAR_BENCH_REDIS").ok()?;
        let client = redis::Client::open(url.as_str())
            .unwrap_or_else(|e| panic!("bad Redis address {url}: {e}"));
        Some(Redis {
            client,
            accounts: 0,
        })
    }

    async fn connect(&self) -> MultiplexedConnection {
        self.client
            .get_multiplexed_async_connection()
            .await
            .expect("connecting to Redis")
    }
}

pub struct RedisLane {
    connection: MultiplexedConnection,
    script: Script,
}

impl System for Redis {
    type Lane = RedisLane;

    fn name(&self) -> &'static str {
        "redis"
    }

    async fn prepare(&mut self, args: &Args, n: usize) -> Vec<RedisLane> {
        let mut admin = self.connect().await;
        let fsync: Vec<String> = redis::cmd("CONFIG")
            .arg("GET")
            .arg("appendfsync")
            .query_async(&mut admin)
            .await
            .expect("config");
        assert_eq!(
            fsync.get(1).map(String::as_str),
            Some("always"),
            "Redis must run with appendfsync always"
        );
        let () = redis::cmd("FLUSHALL")
            .query_async(&mut admin)
            .await
            .expect("flush");
        for chunk in (0..args.accounts).collect::<Vec<_>>().chunks(10_000) {
            let mut set = redis::cmd("MSET");
            for &n in chunk {
                set.arg(key(n)).arg(INITIAL_BALANCE);
            }
            let () = set.query_async(&mut admin).await.expect("accounts");
        }
        self.accounts = args.accounts;
        let script = Script::new(TRANSFER);
        let mut lanes = Vec::with_capacity(n);
        for _ in 0..n {
            lanes.push(RedisLane {
                connection: self.connect().await,
                script: script.clone(),
            });
        }
        lanes
    }

    async fn audit(&mut self) -> (i128, u64) {
        let mut admin = self.connect().await;
        let (mut total, mut negative) = (0i128, 0u64);
        for chunk in (0..self.accounts).collect::<Vec<_>>().chunks(10_000) {
            let keys: Vec<String> = chunk.iter().map(|&n| key(n)).collect();
            let balances: Vec<i64> = redis::cmd("MGET")
                .arg(keys)
                .query_async(&mut admin)
                .await
                .expect("audit");
            for b in balances {
                total += i128::from(b);
                negative += u64::from(b < 0);
            }
        }
        (total, negative)
    }
}

async fn transfer(
    mut connection: MultiplexedConnection,
    script: &Script,
    r: TransferRequest,
    sent: Instant,
) -> Answer {
    let moved: i64 = script
        .key(key(r.from))
        .key(key(r.to))
        .arg(r.amount)
        .invoke_async(&mut connection)
        .await
        .map_err(|e| format!("redis transfer: {e}"))?;
    let outcome = if moved == 1 {
        Outcome::Moved
    } else {
        Outcome::Refused
    };
    // A Lua script runs alone in Redis: it is never aborted.
    Ok((sent, outcome, 0))
}

impl Pipeline for RedisLane {
    async fn carry(self, lane: Lane) -> Result<(), String> {
        let this = &self;
        carry_concurrently(lane, move |r, sent| {
            transfer(this.connection.clone(), &this.script, r, sent)
        })
        .await
    }
}
