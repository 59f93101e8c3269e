//! PostgreSQL: each transfer is one call of a PL/pgSQL function at serializable isolation,
//! sent again when PostgreSQL reports a serialization failure or a deadlock. Calls are
//! pipelined on each connection (tokio-postgres sends concurrent queries without waiting).

use darkstar_examples::bank::request::{Outcome, TransferRequest};
use darkstar_examples::load::{Lane, Pipeline};
use std::time::Instant;
use tokio_postgres::error::SqlState;
use tokio_postgres::{Client, NoTls, Statement};

use crate::{carry_concurrently, Answer, Args, System, INITIAL_BALANCE};

const SCHEMA: &str = "
DROP TABLE IF EXISTS accounts;
CREATE TABLE accounts (id integer PRIMARY KEY, balance bigint NOT NULL);
CREATE OR REPLACE FUNCTION transfer(f integer, t integer, amount bigint) RETURNS boolean AS $$
DECLARE
    available bigint;
BEGIN
    -- Both rows locked in one order, so two opposite transfers cannot deadlock.
    PERFORM 1 FROM accounts WHERE id IN (f, t) ORDER BY id FOR UPDATE;
    SELECT balance INTO available FROM accounts WHERE id = f;
    IF f = t OR amount < 0 OR available < amount THEN
        RETURN false;
    END IF;
    UPDATE accounts SET balance = balance - amount WHERE id = f;
    UPDATE accounts SET balance = balance + amount WHERE id = t;
    RETURN true;
END
$$ LANGUAGE plpgsql;
";

pub struct Postgres {
    config: String,
}

impl Postgres {
    pub fn from_env() -> Option<Postgres> {
        std::env::var("DARKSTAR_BENCH_POSTGRES")
            .ok()
            .map(|config| Postgres { config })
    }

    async fn connect(&self) -> Client {
        let (client, connection) = tokio_postgres::connect(&self.config, NoTls)
            .await
            .unwrap_or_else(|e| panic!("connecting to PostgreSQL ({}): {e}", self.config));
        tokio::spawn(async move {
            if let Err(e) = connection.await {
                eprintln!("postgres connection: {e}");
            }
        });
        client
    }
}

pub struct PgLane {
    client: Client,
    transfer: Statement,
}

impl System for Postgres {
    type Lane = PgLane;

    fn name(&self) -> &'static str {
        "postgres"
    }

    async fn prepare(&mut self, args: &Args, n: usize) -> Vec<PgLane> {
        let admin = self.connect().await;
        admin.batch_execute(SCHEMA).await.expect("schema");
        admin
            .execute(
                "INSERT INTO accounts SELECT g, $1 FROM generate_series(0, $2 - 1) g",
                &[
                    &INITIAL_BALANCE,
                    &i32::try_from(args.accounts).expect("fits"),
                ],
            )
            .await
            .expect("accounts");
        admin
            .batch_execute("VACUUM ANALYZE accounts")
            .await
            .expect("vacuum");
        let mut lanes = Vec::with_capacity(n);
        for _ in 0..n {
            let client = self.connect().await;
            client
                .batch_execute(
                    "SET default_transaction_isolation = 'serializable'; SET synchronous_commit = on",
                )
                .await
                .expect("session settings");
            let transfer = client
                .prepare("SELECT transfer($1, $2, $3)")
                .await
                .expect("prepare");
            lanes.push(PgLane { client, transfer });
        }
        lanes
    }

    async fn audit(&mut self) -> (i128, u64) {
        let admin = self.connect().await;
        let row = admin
            .query_one(
                "SELECT sum(balance)::text, count(*) FILTER (WHERE balance < 0) FROM accounts",
                &[],
            )
            .await
            .expect("audit");
        let total: String = row.get(0);
        let negative: i64 = row.get(1);
        (total.parse().expect("a number"), negative as u64)
    }
}

/// One transfer, sent again until it commits.
async fn transfer(lane: &PgLane, r: TransferRequest, sent: Instant) -> Answer {
    let (from, to) = (r.from as i32, r.to as i32);
    let mut retries = 0;
    loop {
        match lane
            .client
            .query_one(&lane.transfer, &[&from, &to, &r.amount])
            .await
        {
            Ok(row) => {
                let moved: bool = row.get(0);
                let outcome = if moved {
                    Outcome::Moved
                } else {
                    Outcome::Refused
                };
                return Ok((sent, outcome, retries));
            }
            Err(e)
                if e.code() == Some(&SqlState::T_R_SERIALIZATION_FAILURE)
                    || e.code() == Some(&SqlState::T_R_DEADLOCK_DETECTED) =>
            {
                retries += 1
            }
            Err(e) => return Err(format!("postgres transfer: {e}")),
        }
    }
}

impl Pipeline for PgLane {
    async fn carry(self, lane: Lane) -> Result<(), String> {
        let this = &self;
        carry_concurrently(lane, move |r, sent| transfer(this, r, sent)).await
    }
}
