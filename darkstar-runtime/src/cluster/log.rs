//! The shared commit log, a table in PostgreSQL.
//!
//! `<cluster>.log` holds one row per record: its gap-free `position`, the `proposal` that
//! names it uniquely (the proposer's incarnation and its own count of records, so an
//! append retried after a lost reply is recognised instead of appended twice), the
//! proposing node's name and the record's bytes. `<cluster>.head` holds the last position
//! taken. An append takes the next position by updating the head row in the same
//! statement that inserts the record: the row lock serializes appends, and an append that
//! fails rolls its position back with it, so positions have no gaps and every reader sees
//! a prefix. An insert notifies the channel `<cluster>_log`, which tailing nodes listen on.
//! `<cluster>.nodes` hands each start of a node its incarnation number.

use std::sync::Arc;

use tokio::sync::Notify;
use tokio_postgres::error::SqlState;
use tokio_postgres::{AsyncMessage, Client, NoTls, Statement};
use tracing::warn;

use super::error::ClusterError;

/// A record as read from the log.
pub(crate) struct Row {
    pub position: u64,
    pub record: Vec<u8>,
    /// When it was appended, in Unix microseconds.
    pub appended_us: i64,
}

/// One connection to the log.
pub(crate) struct Log {
    client: Client,
    append: Statement,
    find: Statement,
    read: Statement,
    conninfo: String,
}

/// The connection string without a password, for messages: `password=...` in a
/// `key=value` string, or the password of a `postgres://user:password@host/db` URL.
pub(crate) fn redacted(conninfo: &str) -> String {
    if let Some((scheme, rest)) = conninfo.split_once("://") {
        if let Some((userinfo, host)) = rest.split_once('@') {
            if let Some((user, _)) = userinfo.split_once(':') {
                return format!("{scheme}://{user}:***@{host}");
            }
        }
        return conninfo.to_owned();
    }
    conninfo
        .split_whitespace()
        .map(|kv| match kv.split_once('=') {
            Some((k, _)) if k.eq_ignore_ascii_case("password") => format!("{k}=***"),
            _ => kv.to_owned(),
        })
        .collect::<Vec<_>>()
        .join(" ")
}

impl Log {
    /// Connects; if `notify` is given, log appends wake it (the connection listens on the
    /// log's channel). Only the node's first connection (`create`) creates what is missing
    /// of the cluster's tables.
    pub async fn connect(
        conninfo: &str,
        schema: &str,
        notify: Option<Arc<Notify>>,
        create: bool,
    ) -> Result<Log, ClusterError> {
        let fail = failure(conninfo);
        let (client, mut connection) = tokio_postgres::connect(conninfo, NoTls)
            .await
            .map_err(&fail)?;
        let listening = notify.is_some();
        tokio::spawn(async move {
            loop {
                match std::future::poll_fn(|cx| connection.poll_message(cx)).await {
                    Some(Ok(AsyncMessage::Notification(_))) => {
                        if let Some(n) = &notify {
                            n.notify_one();
                        }
                    }
                    Some(Ok(_)) => {}
                    Some(Err(e)) => {
                        warn!(error = %e, "connection to the cluster's PostgreSQL log lost");
                        break;
                    }
                    None => break,
                }
            }
            // Whoever waits for appends re-reads the log (and finds the connection gone).
            if let Some(n) = &notify {
                n.notify_one();
            }
        });
        if create {
            ensure_schema(&client, schema).await.map_err(&fail)?;
        }
        if listening {
            client
                .batch_execute(&format!("LISTEN {schema}_log"))
                .await
                .map_err(&fail)?;
        }
        let append = client
            .prepare(&format!(
                "WITH h AS (UPDATE {schema}.head SET position = position + 1 RETURNING position) \
                 INSERT INTO {schema}.log (position, proposal, node, record) \
                 SELECT position, $1, $2, $3 FROM h RETURNING position"
            ))
            .await
            .map_err(&fail)?;
        let find = client
            .prepare(&format!(
                "SELECT position FROM {schema}.log WHERE proposal = $1"
            ))
            .await
            .map_err(&fail)?;
        let read = client
            .prepare(&format!(
                "SELECT position, record, \
                 (extract(epoch FROM appended) * 1000000)::bigint \
                 FROM {schema}.log WHERE position > $1 ORDER BY position LIMIT $2"
            ))
            .await
            .map_err(&fail)?;
        Ok(Log {
            client,
            append,
            find,
            read,
            conninfo: conninfo.to_owned(),
        })
    }

    /// Whether the connection is gone (the next call fails; connect again).
    pub fn is_closed(&self) -> bool {
        self.client.is_closed()
    }

    /// Appends `record` under `proposal`; returns its position. Durable when this returns
    /// (the server runs with `synchronous_commit` on). An append whose first try reached
    /// the log but whose reply was lost is found by its proposal, not appended again.
    pub async fn append(
        &self,
        proposal: i64,
        node: &str,
        record: &[u8],
    ) -> Result<u64, ClusterError> {
        match self
            .client
            .query_one(&self.append, &[&proposal, &node, &record])
            .await
        {
            Ok(row) => Ok(row.get::<_, i64>(0) as u64),
            Err(e) if e.code() == Some(&SqlState::UNIQUE_VIOLATION) => {
                let row = self
                    .client
                    .query_one(&self.find, &[&proposal])
                    .await
                    .map_err(|e| self.fail(e))?;
                Ok(row.get::<_, i64>(0) as u64)
            }
            Err(e) => Err(self.fail(e)),
        }
    }

    /// Up to `limit` records after position `after`, in position order, each with the
    /// time it was appended (Unix microseconds, by the PostgreSQL server's clock).
    pub async fn read(&self, after: u64, limit: i64) -> Result<Vec<Row>, ClusterError> {
        let rows = self
            .client
            .query(&self.read, &[&(after as i64), &limit])
            .await
            .map_err(|e| self.fail(e))?;
        Ok(rows
            .into_iter()
            .map(|r| Row {
                position: r.get::<_, i64>(0) as u64,
                record: r.get::<_, Vec<u8>>(1),
                appended_us: r.get::<_, i64>(2),
            })
            .collect())
    }

    /// The last position taken.
    pub async fn head(&self, schema: &str) -> Result<u64, ClusterError> {
        let row = self
            .client
            .query_one(&format!("SELECT position FROM {schema}.head"), &[])
            .await
            .map_err(|e| self.fail(e))?;
        Ok(row.get::<_, i64>(0) as u64)
    }

    /// A new incarnation number for a start of node `node`.
    pub async fn incarnation(&self, schema: &str, node: &str) -> Result<u64, ClusterError> {
        let row = self
            .client
            .query_one(
                &format!("INSERT INTO {schema}.nodes (name) VALUES ($1) RETURNING incarnation"),
                &[&node],
            )
            .await
            .map_err(|e| self.fail(e))?;
        Ok(row.get::<_, i64>(0) as u64)
    }

    /// Records that node `node` has applied up to `position` (trimming keeps what live
    /// nodes still need).
    pub async fn report_applied(
        &self,
        schema: &str,
        node: &str,
        position: u64,
    ) -> Result<(), ClusterError> {
        self.client
            .execute(
                &format!(
                    "INSERT INTO {schema}.applied (node, position) VALUES ($1, $2) \
                     ON CONFLICT (node) DO UPDATE SET position = $2, updated = now()"
                ),
                &[&node, &(position as i64)],
            )
            .await
            .map_err(|e| self.fail(e))?;
        Ok(())
    }

    /// Forgets what node `node` reported applying.
    pub async fn forget_applied(&self, schema: &str, node: &str) -> Result<(), ClusterError> {
        self.client
            .execute(
                &format!("DELETE FROM {schema}.applied WHERE node = $1"),
                &[&node],
            )
            .await
            .map_err(|e| self.fail(e))?;
        Ok(())
    }

    /// The lowest position any of `nodes` reported applying (0 if one never reported).
    pub async fn lowest_applied(
        &self,
        schema: &str,
        nodes: &[String],
    ) -> Result<u64, ClusterError> {
        let rows = self
            .client
            .query(
                &format!("SELECT node, position FROM {schema}.applied WHERE node = ANY($1)"),
                &[&nodes],
            )
            .await
            .map_err(|e| self.fail(e))?;
        if rows.len() < nodes.len() {
            return Ok(0);
        }
        Ok(rows
            .iter()
            .map(|r| r.get::<_, i64>(1) as u64)
            .min()
            .unwrap_or(0))
    }

    /// Stores a checkpoint of the state at `position`, in one transaction, and drops the
    /// older ones.
    pub async fn put_checkpoint(
        &mut self,
        schema: &str,
        position: u64,
        chunks: &[Vec<u8>],
    ) -> Result<(), ClusterError> {
        let fail = failure(&self.conninfo);
        let tx = self.client.transaction().await.map_err(&fail)?;
        let p = position as i64;
        tx.execute(
            &format!("DELETE FROM {schema}.checkpoint_chunks WHERE position = $1"),
            &[&p],
        )
        .await
        .map_err(&fail)?;
        for (n, chunk) in chunks.iter().enumerate() {
            tx.execute(
                &format!(
                    "INSERT INTO {schema}.checkpoint_chunks (position, n, data) VALUES ($1, $2, $3)"
                ),
                &[&p, &(n as i32), chunk],
            )
            .await
            .map_err(&fail)?;
        }
        tx.execute(
            &format!(
                "INSERT INTO {schema}.checkpoints (position, chunks) VALUES ($1, $2) \
                 ON CONFLICT (position) DO UPDATE SET chunks = $2, taken = now()"
            ),
            &[&p, &(chunks.len() as i32)],
        )
        .await
        .map_err(&fail)?;
        tx.execute(
            &format!("DELETE FROM {schema}.checkpoint_chunks WHERE position < $1"),
            &[&p],
        )
        .await
        .map_err(&fail)?;
        tx.execute(
            &format!("DELETE FROM {schema}.checkpoints WHERE position < $1"),
            &[&p],
        )
        .await
        .map_err(&fail)?;
        tx.commit().await.map_err(&fail)
    }

    /// The latest checkpoint's position and chunks, if there is one, read in one
    /// transaction (a newer checkpoint written meanwhile deletes this one's chunks).
    pub async fn latest_checkpoint(
        &mut self,
        schema: &str,
    ) -> Result<Option<(u64, Vec<Vec<u8>>)>, ClusterError> {
        let fail = failure(&self.conninfo);
        let tx = self
            .client
            .build_transaction()
            .isolation_level(tokio_postgres::IsolationLevel::RepeatableRead)
            .read_only(true)
            .start()
            .await
            .map_err(&fail)?;
        let Some(row) = tx
            .query_opt(
                &format!(
                    "SELECT position, chunks FROM {schema}.checkpoints ORDER BY position DESC LIMIT 1"
                ),
                &[],
            )
            .await
            .map_err(&fail)?
        else {
            return Ok(None);
        };
        let (position, count) = (row.get::<_, i64>(0), row.get::<_, i32>(1));
        let rows = tx
            .query(
                &format!(
                    "SELECT data FROM {schema}.checkpoint_chunks WHERE position = $1 ORDER BY n"
                ),
                &[&position],
            )
            .await
            .map_err(&fail)?;
        tx.commit().await.map_err(&fail)?;
        if rows.len() != count as usize {
            return Err(ClusterError::Postgres {
                conninfo: redacted(&self.conninfo),
                reason: format!(
                    "the checkpoint at position {position} has {} of its {count} chunks",
                    rows.len()
                ),
            });
        }
        Ok(Some((
            position as u64,
            rows.into_iter().map(|r| r.get::<_, Vec<u8>>(0)).collect(),
        )))
    }

    /// Deletes the records below `position` that were appended longer ago than
    /// `keep_secs`; returns how many.
    pub async fn trim(
        &self,
        schema: &str,
        position: u64,
        keep_secs: u64,
    ) -> Result<u64, ClusterError> {
        self.client
            .execute(
                &format!(
                    "DELETE FROM {schema}.log WHERE position < $1 \
                     AND appended < now() - make_interval(secs => $2)"
                ),
                &[&(position as i64), &(keep_secs as f64)],
            )
            .await
            .map_err(|e| self.fail(e))
    }

    /// The first position the log still holds (`None`: it holds none).
    pub async fn first_position(&self, schema: &str) -> Result<Option<u64>, ClusterError> {
        let row = self
            .client
            .query_one(&format!("SELECT min(position) FROM {schema}.log"), &[])
            .await
            .map_err(|e| self.fail(e))?;
        Ok(row.get::<_, Option<i64>>(0).map(|p| p as u64))
    }

    fn fail(&self, e: tokio_postgres::Error) -> ClusterError {
        failure(&self.conninfo)(e)
    }
}

/// Turns a PostgreSQL error into the cluster's, naming the (redacted) connection string.
fn failure(conninfo: &str) -> impl Fn(tokio_postgres::Error) -> ClusterError {
    let conninfo = redacted(conninfo);
    move |e| ClusterError::Postgres {
        conninfo: conninfo.clone(),
        reason: describe(&e),
    }
}

/// The error with its server-side message, which `Display` alone leaves out.
fn describe(e: &tokio_postgres::Error) -> String {
    match e.as_db_error() {
        Some(db) => format!("{e}: {}", db.message()),
        None => match std::error::Error::source(e) {
            Some(cause) => format!("{e}: {cause}"),
            None => e.to_string(),
        },
    }
}

/// Creates the cluster's tables if they are missing. Nodes starting together take turns
/// through an advisory lock, since concurrent `CREATE ... IF NOT EXISTS` can still clash.
async fn ensure_schema(client: &Client, schema: &str) -> Result<(), tokio_postgres::Error> {
    client
        .batch_execute(&format!(
            "BEGIN;
             SELECT pg_advisory_xact_lock(7160283462819);
             CREATE SCHEMA IF NOT EXISTS {schema};
             CREATE TABLE IF NOT EXISTS {schema}.log (
                 position bigint PRIMARY KEY,
                 proposal bigint NOT NULL UNIQUE,
                 node text NOT NULL,
                 record bytea NOT NULL,
                 appended timestamptz NOT NULL DEFAULT now());
             -- Records are stored as they are: compressing each one costs PostgreSQL more
             -- CPU, on append and on every read, than the bytes it saves are worth.
             DO $$ BEGIN
                 IF (SELECT attstorage FROM pg_attribute
                     WHERE attrelid = '{schema}.log'::regclass AND attname = 'record') <> 'e'
                 THEN
                     ALTER TABLE {schema}.log ALTER COLUMN record SET STORAGE EXTERNAL;
                 END IF;
             END $$;
             CREATE TABLE IF NOT EXISTS {schema}.head (
                 one boolean PRIMARY KEY DEFAULT true CHECK (one),
                 position bigint NOT NULL);
             INSERT INTO {schema}.head VALUES (true, 0) ON CONFLICT DO NOTHING;
             CREATE TABLE IF NOT EXISTS {schema}.nodes (
                 incarnation bigserial PRIMARY KEY,
                 name text NOT NULL,
                 started timestamptz NOT NULL DEFAULT now());
             CREATE TABLE IF NOT EXISTS {schema}.applied (
                 node text PRIMARY KEY,
                 position bigint NOT NULL,
                 updated timestamptz NOT NULL DEFAULT now());
             CREATE TABLE IF NOT EXISTS {schema}.checkpoints (
                 position bigint PRIMARY KEY,
                 chunks integer NOT NULL,
                 taken timestamptz NOT NULL DEFAULT now());
             CREATE TABLE IF NOT EXISTS {schema}.checkpoint_chunks (
                 position bigint NOT NULL,
                 n integer NOT NULL,
                 data bytea NOT NULL,
                 PRIMARY KEY (position, n));
             CREATE OR REPLACE FUNCTION {schema}.log_appended() RETURNS trigger
                 LANGUAGE plpgsql AS $$ BEGIN PERFORM pg_notify('{schema}_log', ''); RETURN NULL; END $$;
             CREATE OR REPLACE TRIGGER log_appended AFTER INSERT ON {schema}.log
                 FOR EACH STATEMENT EXECUTE FUNCTION {schema}.log_appended();
             COMMIT;"
        ))
        .await
}

#[cfg(test)]
mod tests {
    use super::redacted;

    #[test]
    fn passwords_never_reach_messages() {
        assert_eq!(
            redacted("host=db user=ds password=hunter2 dbname=ds"),
            "host=db user=ds password=*** dbname=ds"
        );
        assert_eq!(
            redacted("postgres://ds:hunter2@db:5432/ds"),
            "postgres://ds:***@db:5432/ds"
        );
        assert_eq!(redacted("postgres://db/ds"), "postgres://db/ds");
    }
}
