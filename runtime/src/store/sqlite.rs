//! [`SqliteStore`]: the embedded store, its schema and its SQL.
//!
//! SQLite keeps UUIDs (`id`, `user_id`) as hyphenated text, JSON as text, decimals as canonical
//! decimal text and times as Unix milliseconds (`tests/tests/store_schema.rs` checks this schema
//! against the Postgres one column by column). Every change that must be atomic runs in one
//! `BEGIN IMMEDIATE` transaction (`Tx`).

use std::str::FromStr;
use std::sync::{Arc, Mutex, MutexGuard, mpsc};

use rusqlite::{OptionalExtension, params};
use rust_decimal::Decimal;
use serde_json::Value;

use super::idempotency::{Claim, IDEMPOTENCY_TTL_MS, IdempotencyRecord, IdempotencyStore, Replay};
use super::{
    Alert, AlertRules, Finish, Generation, GenerationQuery, KeyEvent, Lease, Status, Store,
    StoreError, now_ms,
};
use crate::model::Task;

/// `response_status`, `response_headers`, `response_body` of `idempotency_keys` as read.
type RawAnswer = (Option<u16>, Option<String>, Option<String>);

/// `outputs_expected`, `outputs_received`, `credits_refunded` as read.
type Counts = (Option<u32>, Option<u32>, Option<String>);
use crate::cost::Credits;

/// A table of the SQLite store, as SQLite reports it: what a schema comparison reads.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Table {
    /// Table name.
    pub name: String,
    /// Columns in declaration order (`PRAGMA table_info`).
    pub columns: Vec<Column>,
    /// The `CREATE TABLE` statement, CHECK constraints included.
    pub sql: String,
}

/// A column of a [`Table`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Column {
    /// Column name.
    pub name: String,
    /// Declared type, such as `TEXT` or `INTEGER`.
    pub decl_type: String,
    /// Declared `NOT NULL`. An `INTEGER PRIMARY KEY` is the rowid and never NULL without it.
    pub not_null: bool,
    /// Part of the primary key.
    pub primary_key: bool,
}

// A TEXT PRIMARY KEY takes NULL in SQLite unless it says NOT NULL (only an INTEGER PRIMARY KEY,
// the rowid, never does), so the text keys say it.
//
// The CHECKs and the status filters are spelled with `=` and `OR`, not `IN (...)`: SQLite builds
// a temporary b-tree for a constant `IN` list each time a statement runs, which cost more than
// the rest of the statement on every insert and update.
const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS generations (
  id TEXT PRIMARY KEY NOT NULL,
  user_id TEXT NOT NULL,
  model_id TEXT NOT NULL,
  provider TEXT NOT NULL,
  content_type TEXT NOT NULL,
  status TEXT NOT NULL CHECK (status = 'pending' OR status = 'processing' OR status = 'completed' OR status = 'failed'),
  params TEXT NOT NULL,
  provider_response TEXT NOT NULL DEFAULT '{}',
  tokens_used TEXT,
  provider_cost TEXT,
  created_at INTEGER NOT NULL,
  updated_at INTEGER NOT NULL,
  completed_at INTEGER,
  outputs_expected INTEGER,
  outputs_received INTEGER,
  credits_refunded TEXT,
  lease_owner TEXT,
  lease_expires_at INTEGER,
  next_poll_at INTEGER
);
CREATE INDEX IF NOT EXISTS generations_created_at ON generations (created_at);
CREATE INDEX IF NOT EXISTS generations_user_created ON generations (user_id, created_at, id);
CREATE TABLE IF NOT EXISTS api_key_events (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  occurred_at INTEGER NOT NULL,
  provider TEXT NOT NULL,
  model_id TEXT NOT NULL,
  key_scope TEXT NOT NULL,
  secret_name TEXT NOT NULL,
  success INTEGER NOT NULL,
  error TEXT
);
CREATE TABLE IF NOT EXISTS credit_accounts (
  user_id TEXT PRIMARY KEY NOT NULL,
  balance TEXT NOT NULL,
  held TEXT NOT NULL DEFAULT '0'
);
CREATE TABLE IF NOT EXISTS credit_holds (
  generation_id TEXT PRIMARY KEY NOT NULL,
  user_id TEXT NOT NULL,
  amount TEXT NOT NULL,
  state TEXT NOT NULL CHECK (state = 'reserved' OR state = 'charged' OR state = 'refunded')
);
CREATE INDEX IF NOT EXISTS credit_holds_open ON credit_holds (user_id) WHERE state = 'reserved';
CREATE TABLE IF NOT EXISTS webhook_deliveries (
  provider TEXT NOT NULL,
  delivery_id TEXT NOT NULL,
  received_at INTEGER NOT NULL,
  PRIMARY KEY (provider, delivery_id)
);
CREATE INDEX IF NOT EXISTS webhook_deliveries_received_at ON webhook_deliveries (received_at);
CREATE TABLE IF NOT EXISTS idempotency_keys (
  user_id TEXT NOT NULL,
  idempotency_key TEXT NOT NULL,
  fingerprint TEXT NOT NULL,
  generation_id TEXT,
  response_status INTEGER,
  response_headers TEXT,
  response_body TEXT,
  created_at INTEGER NOT NULL,
  updated_at INTEGER NOT NULL,
  PRIMARY KEY (user_id, idempotency_key)
);
CREATE INDEX IF NOT EXISTS idempotency_keys_created_at ON idempotency_keys (created_at);
";

/// Columns `generations` gained after its first release, in order: a database file created
/// before them gets them appended (where a fresh one declares them too), so both end up with
/// the same columns in the same order.
const ADDED_COLUMNS: &[(&str, &str)] = &[
    ("outputs_expected", "INTEGER"),
    ("outputs_received", "INTEGER"),
    ("credits_refunded", "TEXT"),
    ("lease_owner", "TEXT"),
    ("lease_expires_at", "INTEGER"),
    ("next_poll_at", "INTEGER"),
];

/// Made after [`ADDED_COLUMNS`], which it needs: the unfinished rows by lease expiry, what a
/// claim reads.
const LEASE_INDEX: &str = "CREATE INDEX IF NOT EXISTS generations_unfinished_lease \
     ON generations (lease_expires_at) WHERE status = 'pending' OR status = 'processing'";

/// SQLite store (the embedded default). Credits are kept as decimal text and summed in Rust,
/// so no float ever touches an amount.
#[derive(Clone)]
pub struct SqliteStore {
    conn: Arc<Mutex<rusqlite::Connection>>,
    /// The store's thread, which runs the statements of the async methods.
    jobs: mpsc::Sender<Job>,
}

/// A statement run on the store's thread.
type Job = Box<dyn FnOnce(&SqliteStore) + Send>;

impl std::fmt::Debug for SqliteStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SqliteStore")
    }
}

fn credits(text: &str) -> Result<Credits, StoreError> {
    Credits::from_str(text).map_err(|_| StoreError::Corrupt(format!("amount `{text}`")))
}

fn json(text: &str) -> Result<Value, StoreError> {
    serde_json::from_str(text).map_err(|_| StoreError::Corrupt("json column".to_owned()))
}

impl SqliteStore {
    /// Open (or create) a database file, in WAL mode with `synchronous=NORMAL`: every commit is
    /// atomic and survives a crash of the process; a power loss or OS crash may undo the last
    /// commits (the file stays consistent). Readers never block the writer.
    pub fn open(path: &std::path::Path) -> Result<Self, StoreError> {
        Self::init(rusqlite::Connection::open(path)?)
    }

    /// A private in-memory database (the engine's default): gone when the process ends.
    pub fn in_memory() -> Result<Self, StoreError> {
        Self::init(rusqlite::Connection::open_in_memory()?)
    }

    fn init(conn: rusqlite::Connection) -> Result<Self, StoreError> {
        conn.execute_batch("PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;")?;
        conn.execute_batch(SCHEMA)?;
        let have: Vec<String> = conn
            .prepare("SELECT name FROM pragma_table_info('generations')")?
            .query_map([], |r| r.get(0))?
            .collect::<Result<_, _>>()?;
        for (name, ty) in ADDED_COLUMNS {
            if !have.iter().any(|h| h == name) {
                conn.execute_batch(&format!("ALTER TABLE generations ADD COLUMN {name} {ty}"))?;
            }
        }
        conn.execute_batch(LEASE_INDEX)?;
        Self::add_held(&conn)?;
        let conn = Arc::new(Mutex::new(conn));
        let (jobs, queue) = mpsc::channel::<Job>();
        // The thread's own handle sends to nowhere, so that it does not keep its queue open: the
        // thread ends when the last clone of the store is dropped.
        let worker = SqliteStore {
            conn: conn.clone(),
            jobs: mpsc::channel().0,
        };
        std::thread::Builder::new()
            .name("sqlite-store".to_owned())
            .spawn(move || {
                for job in queue {
                    // A panic drops the job's answer (its caller gets an error), not the thread.
                    let _ = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| job(&worker)));
                }
            })
            .map_err(|e| StoreError::Unavailable(format!("cannot start the SQLite thread: {e}")))?;
        Ok(SqliteStore { conn, jobs })
    }

    fn conn(&self) -> MutexGuard<'_, rusqlite::Connection> {
        self.conn.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The store's tables by name (SQLite's own `sqlite_*` tables left out), with their
    /// columns and `CREATE TABLE` statements: the schema as the database holds it.
    pub fn tables(&self) -> Result<Vec<Table>, StoreError> {
        let conn = self.conn();
        let tables: Vec<(String, String)> = conn
            .prepare(
                "SELECT name, sql FROM sqlite_schema WHERE type = 'table' AND name NOT LIKE 'sqlite\\_%' ESCAPE '\\' ORDER BY name",
            )?
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?
            .collect::<Result<_, _>>()?;
        let mut out = Vec::with_capacity(tables.len());
        for (name, sql) in tables {
            let columns = conn
                .prepare(
                    "SELECT name, type, \"notnull\", pk FROM pragma_table_info(?1) ORDER BY cid",
                )?
                .query_map([&name], |r| {
                    Ok(Column {
                        name: r.get(0)?,
                        decl_type: r.get(1)?,
                        not_null: r.get(2)?,
                        primary_key: r.get::<_, i64>(3)? > 0,
                    })
                })?
                .collect::<Result<_, _>>()?;
            out.push(Table { name, columns, sql });
        }
        Ok(out)
    }

    fn row(r: &rusqlite::Row<'_>) -> rusqlite::Result<[Option<String>; 10]> {
        let mut out: [Option<String>; 10] = Default::default();
        for (i, slot) in out.iter_mut().enumerate() {
            *slot = r.get(i)?;
        }
        Ok(out)
    }

    /// `outputs_expected`, `outputs_received` and `credits_refunded`, after the times.
    fn counts(r: &rusqlite::Row<'_>) -> rusqlite::Result<Counts> {
        Ok((r.get(13)?, r.get(14)?, r.get(15)?))
    }

    fn decode(
        cols: [Option<String>; 10],
        times: (i64, i64, Option<i64>),
        counts: Counts,
    ) -> Result<Generation, StoreError> {
        let [
            id,
            user_id,
            model_id,
            provider,
            content_type,
            status,
            params,
            response,
            tokens,
            pcost,
        ] = cols;
        let need =
            |v: Option<String>| v.ok_or_else(|| StoreError::Corrupt("null column".to_owned()));
        Ok(Generation {
            id: need(id)?,
            user_id: need(user_id)?,
            model_id: need(model_id)?,
            provider: need(provider)?,
            content_type: need(content_type)?,
            status: Status::parse(&need(status)?)?,
            params: json(&need(params)?)?,
            provider_response: json(&need(response)?)?,
            tokens_used: tokens.as_deref().map(credits).transpose()?,
            provider_cost: pcost
                .as_deref()
                .map(|t| {
                    Decimal::from_str_exact(t)
                        .map_err(|_| StoreError::Corrupt(format!("provider_cost `{t}`")))
                })
                .transpose()?,
            created_at: times.0,
            updated_at: times.1,
            completed_at: times.2,
            outputs_expected: counts.0,
            outputs_received: counts.1,
            credits_refunded: counts.2.as_deref().map(credits).transpose()?,
        })
    }

    fn query(&self, where_clause: &str, arg: Option<&str>) -> Result<Vec<Generation>, StoreError> {
        let args: Vec<&dyn rusqlite::ToSql> = match &arg {
            Some(a) => vec![a],
            None => Vec::new(),
        };
        self.select(&format!("{where_clause} ORDER BY created_at, rowid"), &args)
    }

    /// The generations `rest` (a `WHERE`, `ORDER BY` and `LIMIT` tail) selects, bound to `args`.
    fn select(
        &self,
        rest: &str,
        args: &[&dyn rusqlite::ToSql],
    ) -> Result<Vec<Generation>, StoreError> {
        let conn = self.conn();
        let sql = format!(
            "SELECT id, user_id, model_id, provider, content_type, status, params, provider_response, tokens_used, provider_cost, \
             created_at, updated_at, completed_at, outputs_expected, outputs_received, credits_refunded \
             FROM generations {rest}"
        );
        let mut stmt = conn.prepare_cached(&sql)?;
        let map = |r: &rusqlite::Row<'_>| {
            Ok((
                Self::row(r)?,
                (r.get(10)?, r.get(11)?, r.get(12)?),
                Self::counts(r)?,
            ))
        };
        let rows: Vec<_> = stmt.query_map(args, map)?.collect::<Result<_, _>>()?;
        rows.into_iter()
            .map(|(cols, times, counts)| Self::decode(cols, times, counts))
            .collect()
    }

    /// The `WHERE ... ORDER BY ... LIMIT` tail of a [`GenerationQuery`], with its arguments
    /// numbered in order: it walks the `generations_user_created` index backwards.
    fn page_sql(q: &GenerationQuery<'_>) -> String {
        let mut sql = String::from("WHERE user_id = ?1");
        let mut n = 1;
        if q.status.is_some() {
            n += 1;
            sql.push_str(&format!(" AND status = ?{n}"));
        }
        if q.model_id.is_some() {
            n += 1;
            sql.push_str(&format!(" AND model_id = ?{n}"));
        }
        if q.after.is_some() {
            sql.push_str(&format!(" AND (created_at, id) < (?{}, ?{})", n + 1, n + 2));
            n += 2;
        }
        sql.push_str(&format!(
            " ORDER BY created_at DESC, id DESC LIMIT ?{}",
            n + 1
        ));
        sql
    }

    fn holds_open(conn: &rusqlite::Connection, user_id: &str) -> Result<Credits, StoreError> {
        let mut stmt = conn.prepare_cached(
            "SELECT amount FROM credit_holds WHERE user_id = ?1 AND state = 'reserved'",
        )?;
        let amounts: Vec<String> = stmt
            .query_map([user_id], |r| r.get(0))?
            .collect::<Result<_, _>>()?;
        let mut total = Decimal::ZERO;
        for a in amounts {
            total += credits(&a)?.as_decimal();
        }
        Ok(Credits::from_decimal(total))
    }

    /// A ledger older than `credit_accounts.held` gains it, summed from the open holds, in one
    /// transaction.
    fn add_held(conn: &rusqlite::Connection) -> Result<(), StoreError> {
        let has: bool = conn
            .prepare(
                "SELECT count(*) FROM pragma_table_info('credit_accounts') WHERE name = 'held'",
            )?
            .query_row([], |r| r.get::<_, i64>(0))?
            > 0;
        if has {
            return Ok(());
        }
        let tx = Tx::begin(conn)?;
        tx.execute_batch("ALTER TABLE credit_accounts ADD COLUMN held TEXT NOT NULL DEFAULT '0'")?;
        let users: Vec<String> = tx
            .prepare("SELECT user_id FROM credit_accounts")?
            .query_map([], |r| r.get(0))?
            .collect::<Result<_, _>>()?;
        for user in users {
            let held = Self::holds_open(&tx, &user)?;
            tx.execute(
                "UPDATE credit_accounts SET held = ?2 WHERE user_id = ?1",
                params![user, held.to_string()],
            )?;
        }
        tx.commit()
    }

    /// The user's balance and what their open holds add up to.
    fn account_of(
        conn: &rusqlite::Connection,
        user_id: &str,
    ) -> Result<Option<(Credits, Credits)>, StoreError> {
        let row: Option<(String, String)> = conn
            .prepare_cached("SELECT balance, held FROM credit_accounts WHERE user_id = ?1")?
            .query_row([user_id], |r| Ok((r.get(0)?, r.get(1)?)))
            .optional()?;
        row.map(|(b, h)| Ok((credits(&b)?, credits(&h)?)))
            .transpose()
    }

    fn balance_of(
        conn: &rusqlite::Connection,
        user_id: &str,
    ) -> Result<Option<Credits>, StoreError> {
        let b: Option<String> = conn
            .prepare_cached("SELECT balance FROM credit_accounts WHERE user_id = ?1")?
            .query_row([user_id], |r| r.get(0))
            .optional()?;
        b.as_deref().map(credits).transpose()
    }

    fn key_event_in(conn: &rusqlite::Connection, e: &KeyEvent) -> Result<(), StoreError> {
        conn.prepare_cached("INSERT INTO api_key_events (occurred_at, provider, model_id, key_scope, secret_name, success, error) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)")?.execute(params![e.time, e.provider, e.model, e.scope, e.secret_name, e.success, e.error],
        )?;
        Ok(())
    }

    fn insert_in(
        conn: &rusqlite::Connection,
        g: &Generation,
        lease: Option<&Lease>,
    ) -> Result<(), StoreError> {
        conn.prepare_cached("INSERT INTO generations (id, user_id, model_id, provider, content_type, status, params, provider_response, \
             tokens_used, provider_cost, created_at, updated_at, completed_at, outputs_expected, outputs_received, credits_refunded, \
             lease_owner, lease_expires_at) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18)")?.execute(params![
                g.id,
                g.user_id,
                g.model_id,
                g.provider,
                g.content_type,
                g.status.as_str(),
                g.params.to_string(),
                g.provider_response.to_string(),
                g.tokens_used.map(|c| c.to_string()),
                g.provider_cost.map(|d| d.normalize().to_string()),
                g.created_at,
                g.updated_at,
                g.completed_at,
                g.outputs_expected,
                g.outputs_received,
                g.credits_refunded.map(|c| c.to_string()),
                lease.map(|l| l.owner.as_str()),
                lease.map(|l| now_ms() + l.ttl_ms),
            ],
        )?;
        Ok(())
    }

    /// Hold `amount` for `generation_id` inside an open transaction; `Err(available)` when the
    /// user cannot cover it.
    fn reserve_in(
        conn: &rusqlite::Connection,
        generation_id: &str,
        user_id: &str,
        amount: Credits,
    ) -> Result<Result<(), Credits>, StoreError> {
        let (balance, held) =
            Self::account_of(conn, user_id)?.unwrap_or((Credits::ZERO, Credits::ZERO));
        let available = Credits::from_decimal(balance.as_decimal() - held.as_decimal());
        if available < amount {
            return Ok(Err(available));
        }
        conn.prepare_cached("INSERT INTO credit_holds (generation_id, user_id, amount, state) VALUES (?1, ?2, ?3, 'reserved')")?.execute(params![generation_id, user_id, amount.to_string()],
        )?;
        let held = Credits::from_decimal(held.as_decimal() + amount.as_decimal());
        conn.prepare_cached("UPDATE credit_accounts SET held = ?2 WHERE user_id = ?1")?
            .execute(params![user_id, held.to_string()])?;
        Ok(Ok(()))
    }
}

/// An open transaction (`BEGIN IMMEDIATE`, so a read-then-write never has to upgrade its lock):
/// rolled back when dropped uncommitted, an early return or a panic included. `BEGIN`,
/// `COMMIT` and `ROLLBACK` are cached statements, so a transaction parses no SQL.
struct Tx<'a> {
    conn: &'a rusqlite::Connection,
    open: bool,
}

impl<'a> Tx<'a> {
    fn begin(conn: &'a rusqlite::Connection) -> Result<Self, StoreError> {
        conn.prepare_cached("BEGIN IMMEDIATE")?.execute([])?;
        Ok(Tx { conn, open: true })
    }

    fn commit(mut self) -> Result<(), StoreError> {
        self.conn.prepare_cached("COMMIT")?.execute([])?;
        self.open = false;
        Ok(())
    }
}

impl std::ops::Deref for Tx<'_> {
    type Target = rusqlite::Connection;
    fn deref(&self) -> &rusqlite::Connection {
        self.conn
    }
}

impl Drop for Tx<'_> {
    fn drop(&mut self) {
        if self.open && !self.conn.is_autocommit() {
            let _ = self
                .conn
                .prepare_cached("ROLLBACK")
                .and_then(|mut s| s.execute([]));
        }
    }
}

/// The store's operations, run on the calling thread (the [`Store`] impl runs them off the
/// async threads). Each is documented on [`Store`].
impl SqliteStore {
    pub fn insert(&self, g: &Generation) -> Result<(), StoreError> {
        Self::insert_in(&self.conn(), g, None)
    }

    pub fn get(&self, id: &str) -> Result<Option<Generation>, StoreError> {
        Ok(self.query("WHERE id = ?1", Some(id))?.into_iter().next())
    }

    pub fn list(&self) -> Result<Vec<Generation>, StoreError> {
        self.query("", None)
    }

    pub fn unfinished(&self) -> Result<Vec<Generation>, StoreError> {
        self.query("WHERE status = 'pending' OR status = 'processing'", None)
    }

    pub fn list_for_user(&self, q: &GenerationQuery<'_>) -> Result<Vec<Generation>, StoreError> {
        let status = q.status.map(Status::as_str);
        let limit = i64::try_from(q.limit).unwrap_or(i64::MAX);
        let mut args: Vec<&dyn rusqlite::ToSql> = vec![&q.user_id];
        if let Some(s) = &status {
            args.push(s);
        }
        if let Some(m) = &q.model_id {
            args.push(m);
        }
        if let Some((t, id)) = &q.after {
            args.push(t);
            args.push(id);
        }
        args.push(&limit);
        self.select(&Self::page_sql(q), &args)
    }

    pub fn mark_processing(&self, id: &str, task: Option<&Task>) -> Result<bool, StoreError> {
        let conn = self.conn();
        let task_id = task.map(|t| t.id.as_str());
        let kept = task
            .filter(|t| !t.kept.is_empty())
            .map(|t| serde_json::to_string(&t.kept).unwrap_or_default());
        let n = conn
            .prepare_cached(
                "UPDATE generations SET status = 'processing', updated_at = ?2, \
             provider_response = CASE WHEN ?3 IS NULL THEN provider_response \
               WHEN ?4 IS NULL THEN json_set(provider_response, '$.task_id', ?3) \
               ELSE json_set(provider_response, '$.task_id', ?3, '$.kept', json(?4)) END \
             WHERE id = ?1 AND (status = 'pending' OR status = 'processing')",
            )?
            .execute(params![id, now_ms(), task_id, kept])?;
        Ok(n == 1)
    }

    pub fn first_delivery(&self, provider: &str, delivery_id: &str) -> Result<bool, StoreError> {
        const DAY_MS: i64 = 24 * 3600 * 1000;
        let conn = self.conn();
        let tx = Tx::begin(&conn)?;
        let now = now_ms();
        tx.prepare_cached("DELETE FROM webhook_deliveries WHERE received_at < ?1")?
            .execute([now - DAY_MS])?;
        let n = tx
            .prepare_cached("INSERT OR IGNORE INTO webhook_deliveries (provider, delivery_id, received_at) VALUES (?1, ?2, ?3)")?
            .execute(params![provider, delivery_id, now])?;
        tx.commit()?;
        Ok(n == 1)
    }

    pub fn forget_delivery(&self, provider: &str, delivery_id: &str) -> Result<(), StoreError> {
        self.conn()
            .prepare_cached(
                "DELETE FROM webhook_deliveries WHERE provider = ?1 AND delivery_id = ?2",
            )?
            .execute([provider, delivery_id])?;
        Ok(())
    }

    pub fn finish(&self, id: &str, finish: &Finish) -> Result<bool, StoreError> {
        let conn = self.conn();
        let tx = Tx::begin(&conn)?;
        let now = now_ms();
        let hold: Option<(String, String)> = tx
            .prepare_cached("SELECT amount, user_id FROM credit_holds WHERE generation_id = ?1 AND state = 'reserved'")?
            .query_row([id], |r| Ok((r.get(0)?, r.get(1)?)))
            .optional()?;
        let held = hold
            .as_ref()
            .map(|(a, _)| credits(a))
            .transpose()?
            .unwrap_or(Credits::ZERO);
        let charged = finish.charge(held);
        let (status, patch_path, patch, pcost, count) = match finish {
            Finish::Completed {
                outputs,
                provider_cost,
                count,
            } => (
                "completed",
                "$.outputs",
                outputs.to_string(),
                provider_cost.map(|d| d.normalize().to_string()),
                *count,
            ),
            Finish::Failed { error } => ("failed", "$.error", error.to_string(), None, None),
        };
        let refunded = count
            .map(|_| Credits::from_decimal(held.as_decimal() - charged.as_decimal()).to_string());
        let n = tx.prepare_cached("UPDATE generations SET status = ?2, updated_at = ?3, completed_at = ?3, tokens_used = ?4, \
             provider_cost = COALESCE(?5, provider_cost), provider_response = json_set(provider_response, ?6, json(?7)), \
             outputs_expected = ?8, outputs_received = ?9, credits_refunded = ?10 \
             WHERE id = ?1 AND (status = 'pending' OR status = 'processing')")?.execute(params![
                id,
                status,
                now,
                charged.to_string(),
                pcost,
                patch_path,
                patch,
                count.map(|c| c.expected),
                count.map(|c| c.received),
                refunded,
            ],
        )?;
        if n == 0 {
            return Ok(false);
        }
        if let Some((_, user)) = hold {
            let state = if status == "completed" {
                "charged"
            } else {
                "refunded"
            };
            // A charged hold keeps the amount charged, so the charged holds sum to the
            // generations' `tokens_used`; the rest of a short generation's hold is released.
            let amount = if status == "completed" { charged } else { held };
            tx.prepare_cached("UPDATE credit_holds SET state = ?2, amount = ?3 WHERE generation_id = ?1 AND state = 'reserved'")?.execute(params![id, state, amount.to_string()])?;
            // The hold is released whole; what was charged leaves the balance.
            if let Some((balance, open)) = Self::account_of(&tx, &user)? {
                let left = Credits::from_decimal(balance.as_decimal() - charged.as_decimal());
                let open = Credits::from_decimal(open.as_decimal() - held.as_decimal());
                tx.prepare_cached(
                    "UPDATE credit_accounts SET balance = ?2, held = ?3 WHERE user_id = ?1",
                )?
                .execute(params![user, left.to_string(), open.to_string()])?;
            }
        }
        tx.commit()?;
        Ok(true)
    }

    pub fn log_key_event(&self, e: &KeyEvent) -> Result<(), StoreError> {
        Self::key_event_in(&self.conn(), e)
    }

    pub fn key_events(&self) -> Result<Vec<KeyEvent>, StoreError> {
        let conn = self.conn();
        let mut stmt = conn.prepare_cached(
            "SELECT occurred_at, provider, model_id, key_scope, secret_name, success, error FROM api_key_events ORDER BY id",
        )?;
        let rows = stmt
            .query_map([], |r| {
                Ok(KeyEvent {
                    time: r.get(0)?,
                    provider: r.get(1)?,
                    model: r.get(2)?,
                    scope: r.get(3)?,
                    secret_name: r.get(4)?,
                    success: r.get(5)?,
                    error: r.get(6)?,
                })
            })?
            .collect::<Result<_, _>>()?;
        Ok(rows)
    }

    /// The alerts firing now: the rows of the windows, judged by [`super::alerts::evaluate`].
    pub fn firing_alerts(&self, rules: &AlertRules) -> Result<Vec<Alert>, StoreError> {
        let now = now_ms();
        let t = &rules.thresholds;
        let since = now - t.longest_generation_window_s() * 1000;
        let generations = self.select(
            "WHERE created_at > ?1 ORDER BY created_at, rowid",
            &[&since],
        )?;
        let key_events = {
            let since = now - t.missing_key_window_s * 1000;
            let conn = self.conn();
            let mut stmt = conn.prepare_cached(
                "SELECT occurred_at, provider, model_id, key_scope, secret_name, success, error \
                 FROM api_key_events WHERE occurred_at > ?1 ORDER BY id",
            )?;
            stmt.query_map([since], |r| {
                Ok(KeyEvent {
                    time: r.get(0)?,
                    provider: r.get(1)?,
                    model: r.get(2)?,
                    scope: r.get(3)?,
                    secret_name: r.get(4)?,
                    success: r.get(5)?,
                    error: r.get(6)?,
                })
            })?
            .collect::<Result<Vec<_>, _>>()?
        };
        Ok(super::alerts::evaluate(
            rules,
            now,
            &generations,
            &key_events,
        ))
    }

    pub fn set_balance(&self, user_id: &str, balance: Credits) -> Result<(), StoreError> {
        self.conn().prepare_cached("INSERT INTO credit_accounts (user_id, balance) VALUES (?1, ?2) ON CONFLICT (user_id) DO UPDATE SET balance = excluded.balance")?.execute(params![user_id, balance.to_string()],
        )?;
        Ok(())
    }

    pub fn available(&self, user_id: &str) -> Result<Option<Credits>, StoreError> {
        Ok(Self::account_of(&self.conn(), user_id)?
            .map(|(balance, held)| Credits::from_decimal(balance.as_decimal() - held.as_decimal())))
    }

    pub fn balance(&self, user_id: &str) -> Result<Option<Credits>, StoreError> {
        Self::balance_of(&self.conn(), user_id)
    }

    pub fn reserve(
        &self,
        generation_id: &str,
        user_id: &str,
        amount: Credits,
    ) -> Result<Result<(), Credits>, StoreError> {
        let conn = self.conn();
        let tx = Tx::begin(&conn)?;
        let reserved = Self::reserve_in(&tx, generation_id, user_id, amount)?;
        if reserved.is_ok() {
            tx.commit()?;
        }
        Ok(reserved)
    }

    pub fn start(
        &self,
        key: &KeyEvent,
        g: &Generation,
        amount: Credits,
        lease: &Lease,
    ) -> Result<Result<(), Credits>, StoreError> {
        let conn = self.conn();
        let tx = Tx::begin(&conn)?;
        Self::key_event_in(&tx, key)?;
        let reserved = Self::reserve_in(&tx, &g.id, &g.user_id, amount)?;
        if reserved.is_ok() {
            Self::insert_in(&tx, g, Some(lease))?;
        }
        tx.commit()?;
        Ok(reserved)
    }

    pub fn renew_leases(&self, lease: &Lease) -> Result<u64, StoreError> {
        let n = self
            .conn()
            .prepare_cached(
                "UPDATE generations SET lease_expires_at = ?2 \
                 WHERE lease_owner = ?1 AND (status = 'pending' OR status = 'processing')",
            )?
            .execute(params![lease.owner, now_ms() + lease.ttl_ms])?;
        Ok(n as u64)
    }

    pub fn claim_expired(
        &self,
        lease: &Lease,
        limit: usize,
    ) -> Result<Vec<Generation>, StoreError> {
        let now = now_ms();
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        let conn = self.conn();
        let tx = Tx::begin(&conn)?;
        // One writer at a time (BEGIN IMMEDIATE): what SKIP LOCKED gives Postgres.
        let ids: Vec<String> = tx
            .prepare_cached(
                "SELECT id FROM generations \
                 WHERE (status = 'pending' OR status = 'processing') \
                   AND (lease_expires_at IS NULL OR lease_expires_at <= ?1) \
                 ORDER BY next_poll_at IS NOT NULL, next_poll_at, created_at, rowid LIMIT ?2",
            )?
            .query_map(params![now, limit], |r| r.get(0))?
            .collect::<Result<_, _>>()?;
        {
            let mut take = tx.prepare_cached(
                "UPDATE generations SET lease_owner = ?2, lease_expires_at = ?3 WHERE id = ?1",
            )?;
            for id in &ids {
                take.execute(params![id, lease.owner, now + lease.ttl_ms])?;
            }
        }
        tx.commit()?;
        drop(conn);
        let mut out = Vec::with_capacity(ids.len());
        for id in &ids {
            out.extend(self.get(id)?);
        }
        Ok(out)
    }

    pub fn release_leases(&self, owner: &str) -> Result<u64, StoreError> {
        let n = self
            .conn()
            .prepare_cached(
                "UPDATE generations SET lease_expires_at = ?2 \
                 WHERE lease_owner = ?1 AND (status = 'pending' OR status = 'processing')",
            )?
            .execute(params![owner, now_ms()])?;
        Ok(n as u64)
    }

    pub fn set_next_poll(&self, id: &str, at_ms: i64) -> Result<(), StoreError> {
        self.conn()
            .prepare_cached("UPDATE generations SET next_poll_at = ?2 WHERE id = ?1")?
            .execute(params![id, at_ms])?;
        Ok(())
    }

    pub fn ready(&self) -> Result<(), StoreError> {
        self.conn()
            .prepare_cached("SELECT count(*) FROM credit_accounts")?
            .query_row([], |r| r.get::<_, i64>(0))?;
        Ok(())
    }
}

/// The `Idempotency-Key` operations, run on the calling thread; each is documented on
/// [`IdempotencyStore`].
impl SqliteStore {
    pub fn claim_key(
        &self,
        user_id: &str,
        key: &str,
        fingerprint: &str,
    ) -> Result<Claim, StoreError> {
        let conn = self.conn();
        let tx = Tx::begin(&conn)?;
        let now = now_ms();
        tx.prepare_cached("DELETE FROM idempotency_keys WHERE created_at < ?1")?
            .execute([now - IDEMPOTENCY_TTL_MS])?;
        let n = tx
            .prepare_cached(
                "INSERT OR IGNORE INTO idempotency_keys (user_id, idempotency_key, fingerprint, created_at, updated_at) \
                 VALUES (?1, ?2, ?3, ?4, ?4)",
            )?
            .execute(params![user_id, key, fingerprint, now])?;
        let claim = if n == 1 {
            Claim::Claimed
        } else {
            let (mut record, (status, headers, body)): (IdempotencyRecord, RawAnswer) = tx
                .prepare_cached(
                    "SELECT fingerprint, generation_id, created_at, updated_at, response_status, response_headers, response_body \
                     FROM idempotency_keys WHERE user_id = ?1 AND idempotency_key = ?2",
                )?
                .query_row([user_id, key], |r| {
                    Ok((
                        IdempotencyRecord {
                            fingerprint: r.get(0)?,
                            generation_id: r.get(1)?,
                            response: None,
                            created_at: r.get(2)?,
                            updated_at: r.get(3)?,
                        },
                        (r.get(4)?, r.get(5)?, r.get(6)?),
                    ))
                })?;
            if let Some(status) = status {
                record.response = Some(Replay {
                    status,
                    headers: match headers {
                        Some(h) => serde_json::from_str(&h).map_err(|_| {
                            StoreError::Corrupt("idempotency_keys.response_headers".to_owned())
                        })?,
                        None => Vec::new(),
                    },
                    body: body.unwrap_or_default(),
                });
            }
            Claim::Existing(record)
        };
        tx.commit()?;
        Ok(claim)
    }

    pub fn key_started(
        &self,
        user_id: &str,
        key: &str,
        generation_id: &str,
    ) -> Result<(), StoreError> {
        self.conn()
            .prepare_cached(
                "UPDATE idempotency_keys SET generation_id = ?3, updated_at = ?4 WHERE user_id = ?1 AND idempotency_key = ?2",
            )?
            .execute(params![user_id, key, generation_id, now_ms()])?;
        Ok(())
    }

    pub fn key_answered(
        &self,
        user_id: &str,
        key: &str,
        answer: &Replay,
    ) -> Result<(), StoreError> {
        let headers = serde_json::to_string(&answer.headers).unwrap_or_else(|_| "[]".to_owned());
        self.conn()
            .prepare_cached(
                "UPDATE idempotency_keys SET response_status = ?3, response_headers = ?4, response_body = ?5, updated_at = ?6 \
                 WHERE user_id = ?1 AND idempotency_key = ?2",
            )?
            .execute(params![user_id, key, answer.status, headers, answer.body, now_ms()])?;
        Ok(())
    }

    pub fn release_key(&self, user_id: &str, key: &str) -> Result<(), StoreError> {
        self.conn()
            .prepare_cached(
                "DELETE FROM idempotency_keys WHERE user_id = ?1 AND idempotency_key = ?2 AND response_status IS NULL",
            )?
            .execute([user_id, key])?;
        Ok(())
    }
}

impl SqliteStore {
    /// Run `f` on the store's own thread: SQLite calls block, so they stay off the async
    /// threads, and the one thread that holds the connection never waits for its lock.
    async fn off_thread<T: Send + 'static>(
        &self,
        f: impl FnOnce(&SqliteStore) -> Result<T, StoreError> + Send + 'static,
    ) -> Result<T, StoreError> {
        let stopped = || StoreError::Unavailable("the SQLite statement did not finish".to_owned());
        let (tx, rx) = tokio::sync::oneshot::channel();
        let job: Job = Box::new(move |store| {
            let _ = tx.send(f(store));
        });
        self.jobs.send(job).map_err(|_| stopped())?;
        rx.await.map_err(|_| stopped())?
    }
}

#[async_trait::async_trait]
impl Store for SqliteStore {
    async fn insert(&self, g: &Generation) -> Result<(), StoreError> {
        let g = g.clone();
        self.off_thread(move |s| s.insert(&g)).await
    }

    async fn get(&self, id: &str) -> Result<Option<Generation>, StoreError> {
        let id = id.to_owned();
        self.off_thread(move |s| s.get(&id)).await
    }

    async fn list(&self) -> Result<Vec<Generation>, StoreError> {
        self.off_thread(|s| s.list()).await
    }

    async fn unfinished(&self) -> Result<Vec<Generation>, StoreError> {
        self.off_thread(|s| s.unfinished()).await
    }

    async fn list_for_user(&self, q: &GenerationQuery<'_>) -> Result<Vec<Generation>, StoreError> {
        let user = q.user_id.to_owned();
        let model = q.model_id.map(str::to_owned);
        let after = q.after.map(|(t, id)| (t, id.to_owned()));
        let (status, limit) = (q.status, q.limit);
        self.off_thread(move |s| {
            s.list_for_user(&GenerationQuery {
                user_id: &user,
                status,
                model_id: model.as_deref(),
                after: after.as_ref().map(|(t, id)| (*t, id.as_str())),
                limit,
            })
        })
        .await
    }

    async fn mark_processing(&self, id: &str, task: Option<&Task>) -> Result<bool, StoreError> {
        let (id, task) = (id.to_owned(), task.cloned());
        self.off_thread(move |s| s.mark_processing(&id, task.as_ref()))
            .await
    }

    async fn finish(&self, id: &str, finish: &Finish) -> Result<bool, StoreError> {
        let (id, finish) = (id.to_owned(), finish.clone());
        self.off_thread(move |s| s.finish(&id, &finish)).await
    }

    async fn first_delivery(&self, provider: &str, delivery_id: &str) -> Result<bool, StoreError> {
        let (p, d) = (provider.to_owned(), delivery_id.to_owned());
        self.off_thread(move |s| s.first_delivery(&p, &d)).await
    }

    async fn forget_delivery(&self, provider: &str, delivery_id: &str) -> Result<(), StoreError> {
        let (p, d) = (provider.to_owned(), delivery_id.to_owned());
        self.off_thread(move |s| s.forget_delivery(&p, &d)).await
    }

    async fn log_key_event(&self, e: &KeyEvent) -> Result<(), StoreError> {
        let e = e.clone();
        self.off_thread(move |s| s.log_key_event(&e)).await
    }

    async fn key_events(&self) -> Result<Vec<KeyEvent>, StoreError> {
        self.off_thread(|s| s.key_events()).await
    }

    async fn set_balance(&self, user_id: &str, balance: Credits) -> Result<(), StoreError> {
        let user = user_id.to_owned();
        self.off_thread(move |s| s.set_balance(&user, balance))
            .await
    }

    async fn available(&self, user_id: &str) -> Result<Option<Credits>, StoreError> {
        let user = user_id.to_owned();
        self.off_thread(move |s| s.available(&user)).await
    }

    async fn balance(&self, user_id: &str) -> Result<Option<Credits>, StoreError> {
        let user = user_id.to_owned();
        self.off_thread(move |s| s.balance(&user)).await
    }

    async fn reserve(
        &self,
        generation_id: &str,
        user_id: &str,
        amount: Credits,
    ) -> Result<Result<(), Credits>, StoreError> {
        let (g, user) = (generation_id.to_owned(), user_id.to_owned());
        self.off_thread(move |s| s.reserve(&g, &user, amount)).await
    }

    async fn start(
        &self,
        key: &KeyEvent,
        g: &Generation,
        amount: Credits,
        lease: &Lease,
    ) -> Result<Result<(), Credits>, StoreError> {
        let (key, g, lease) = (key.clone(), g.clone(), lease.clone());
        self.off_thread(move |s| s.start(&key, &g, amount, &lease))
            .await
    }

    async fn renew_leases(&self, lease: &Lease) -> Result<u64, StoreError> {
        let lease = lease.clone();
        self.off_thread(move |s| s.renew_leases(&lease)).await
    }

    async fn claim_expired(
        &self,
        lease: &Lease,
        limit: usize,
    ) -> Result<Vec<Generation>, StoreError> {
        let lease = lease.clone();
        self.off_thread(move |s| s.claim_expired(&lease, limit))
            .await
    }

    async fn release_leases(&self, owner: &str) -> Result<u64, StoreError> {
        let owner = owner.to_owned();
        self.off_thread(move |s| s.release_leases(&owner)).await
    }

    async fn set_next_poll(&self, id: &str, at_ms: i64) -> Result<(), StoreError> {
        let id = id.to_owned();
        self.off_thread(move |s| s.set_next_poll(&id, at_ms)).await
    }

    async fn firing_alerts(&self, rules: &AlertRules) -> Result<Vec<Alert>, StoreError> {
        let rules = rules.clone();
        self.off_thread(move |s| s.firing_alerts(&rules)).await
    }

    async fn ready(&self) -> Result<(), StoreError> {
        self.off_thread(|s| s.ready()).await
    }
}

#[async_trait::async_trait]
impl IdempotencyStore for SqliteStore {
    async fn claim_key(
        &self,
        user_id: &str,
        key: &str,
        fingerprint: &str,
    ) -> Result<Claim, StoreError> {
        let (u, k, f) = (user_id.to_owned(), key.to_owned(), fingerprint.to_owned());
        self.off_thread(move |s| s.claim_key(&u, &k, &f)).await
    }

    async fn key_started(
        &self,
        user_id: &str,
        key: &str,
        generation_id: &str,
    ) -> Result<(), StoreError> {
        let (u, k, g) = (user_id.to_owned(), key.to_owned(), generation_id.to_owned());
        self.off_thread(move |s| s.key_started(&u, &k, &g)).await
    }

    async fn key_answered(
        &self,
        user_id: &str,
        key: &str,
        answer: &Replay,
    ) -> Result<(), StoreError> {
        let (u, k, a) = (user_id.to_owned(), key.to_owned(), answer.clone());
        self.off_thread(move |s| s.key_answered(&u, &k, &a)).await
    }

    async fn release_key(&self, user_id: &str, key: &str) -> Result<(), StoreError> {
        let (u, k) = (user_id.to_owned(), key.to_owned());
        self.off_thread(move |s| s.release_key(&u, &k)).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::LOCAL_USER_ID;
    use serde_json::json;

    fn gen_row(id: &str) -> Generation {
        let now = now_ms();
        Generation {
            id: id.into(),
            user_id: LOCAL_USER_ID.into(),
            model_id: "m".into(),
            provider: "p".into(),
            content_type: "image".into(),
            status: Status::Pending,
            params: json!({"prompt": "x"}),
            provider_response: json!({}),
            tokens_used: None,
            provider_cost: None,
            created_at: now,
            updated_at: now,
            completed_at: None,
            outputs_expected: None,
            outputs_received: None,
            credits_refunded: None,
        }
    }

    #[test]
    fn tables_report_the_schema_as_created() {
        let s = SqliteStore::in_memory().unwrap();
        let tables = s.tables().unwrap();
        let names: Vec<&str> = tables.iter().map(|t| t.name.as_str()).collect();
        assert_eq!(
            names,
            [
                "api_key_events",
                "credit_accounts",
                "credit_holds",
                "generations",
                "idempotency_keys",
                "webhook_deliveries"
            ]
        );
        let generations = &tables[3];
        let id = &generations.columns[0];
        assert_eq!(
            (
                id.name.as_str(),
                id.decl_type.as_str(),
                id.not_null,
                id.primary_key
            ),
            ("id", "TEXT", true, true)
        );
        let completed_at = generations
            .columns
            .iter()
            .find(|c| c.name == "completed_at")
            .unwrap();
        assert!(!completed_at.not_null);
        let last: Vec<&str> = generations.columns[generations.columns.len() - 6..]
            .iter()
            .map(|c| c.name.as_str())
            .collect();
        assert_eq!(
            last,
            [
                "outputs_expected",
                "outputs_received",
                "credits_refunded",
                "lease_owner",
                "lease_expires_at",
                "next_poll_at"
            ]
        );
        assert!(generations.sql.contains("CHECK (status = 'pending'"));
    }

    #[test]
    fn start_records_key_event_hold_and_row_together() {
        let s = SqliteStore::in_memory().unwrap();
        s.set_balance(LOCAL_USER_ID, "3".parse().unwrap()).unwrap();
        let key = KeyEvent {
            time: now_ms(),
            provider: "p".into(),
            model: "m".into(),
            scope: "s".into(),
            secret_name: "K".into(),
            success: true,
            error: None,
        };
        let lease = Lease {
            owner: "test".to_owned(),
            ttl_ms: 1000,
        };
        s.start(&key, &gen_row("a"), "2".parse().unwrap(), &lease)
            .unwrap()
            .unwrap();
        assert_eq!(
            s.start(&key, &gen_row("b"), "2".parse().unwrap(), &lease)
                .unwrap(),
            Err("1".parse().unwrap())
        );
        assert_eq!(s.key_events().unwrap().len(), 2, "both retrievals recorded");
        assert!(s.get("b").unwrap().is_none(), "a refused run leaves no row");
        assert_eq!(s.get("a").unwrap().unwrap().status, Status::Pending);
        assert_eq!(
            s.available(LOCAL_USER_ID).unwrap().unwrap().to_string(),
            "1"
        );
        assert!(
            s.finish(
                "a",
                &Finish::Failed {
                    error: json!({"message": "no"})
                }
            )
            .unwrap()
        );
        assert_eq!(
            s.available(LOCAL_USER_ID).unwrap().unwrap().to_string(),
            "3"
        );
    }

    #[test]
    fn charges_once_and_refunds_failures() {
        let s = SqliteStore::in_memory().unwrap();
        s.set_balance(LOCAL_USER_ID, "10".parse().unwrap()).unwrap();
        for id in ["a", "b"] {
            s.insert(&gen_row(id)).unwrap();
            s.reserve(id, LOCAL_USER_ID, "2.5".parse().unwrap())
                .unwrap()
                .unwrap();
        }
        assert_eq!(
            s.available(LOCAL_USER_ID).unwrap().unwrap().to_string(),
            "5"
        );
        assert_eq!(
            s.reserve("c", LOCAL_USER_ID, "6".parse().unwrap()).unwrap(),
            Err("5".parse().unwrap())
        );
        assert!(s.mark_processing("a", Some(&Task::new("t1"))).unwrap());
        let done = Finish::Completed {
            outputs: json!(["https://x"]),
            provider_cost: None,
            count: None,
        };
        assert!(s.finish("a", &done).unwrap());
        assert!(!s.finish("a", &done).unwrap(), "second finish is a no-op");
        assert!(
            !s.finish(
                "a",
                &Finish::Failed {
                    error: json!({"message": "late"})
                }
            )
            .unwrap()
        );
        assert!(!s.mark_processing("a", None).unwrap());
        assert!(
            s.finish(
                "b",
                &Finish::Failed {
                    error: json!({"message": "no"})
                }
            )
            .unwrap()
        );
        assert_eq!(
            s.balance(LOCAL_USER_ID).unwrap().unwrap().to_string(),
            "7.5"
        );
        assert_eq!(
            s.available(LOCAL_USER_ID).unwrap().unwrap().to_string(),
            "7.5"
        );
        let a = s.get("a").unwrap().unwrap();
        assert_eq!(
            (a.status, a.task_id(), a.tokens_used.unwrap().to_string()),
            (Status::Completed, Some("t1"), "2.5".into())
        );
        assert_eq!(a.provider_response["outputs"], json!(["https://x"]));
        let b = s.get("b").unwrap().unwrap();
        assert_eq!(
            (b.status, b.tokens_used.unwrap().to_string()),
            (Status::Failed, "0".into())
        );
        assert_eq!(b.provider_response["error"]["message"], "no");
    }

    #[test]
    fn a_shortfall_charges_its_share_and_releases_the_rest_at_once() {
        let s = SqliteStore::in_memory().unwrap();
        s.set_balance(LOCAL_USER_ID, "10".parse().unwrap()).unwrap();
        s.insert(&gen_row("a")).unwrap();
        s.reserve("a", LOCAL_USER_ID, "6".parse().unwrap())
            .unwrap()
            .unwrap();
        let short = Finish::Completed {
            outputs: json!(["https://x"]),
            provider_cost: None,
            count: Some(crate::store::OutputCount {
                expected: 4,
                received: 1,
                charge: "2".parse().unwrap(),
            }),
        };
        assert!(s.finish("a", &short).unwrap());
        assert!(!s.finish("a", &short).unwrap(), "settled once");
        let a = s.get("a").unwrap().unwrap();
        assert_eq!(
            (
                a.tokens_used.unwrap().to_string(),
                a.outputs_expected,
                a.outputs_received,
                a.credits_refunded.unwrap().to_string()
            ),
            ("2".into(), Some(4), Some(1), "4".into())
        );
        assert_eq!(s.balance(LOCAL_USER_ID).unwrap().unwrap().to_string(), "8");
        assert_eq!(
            s.available(LOCAL_USER_ID).unwrap().unwrap().to_string(),
            "8"
        );
        // The ledger: charged holds sum to tokens_used.
        let held: String = s
            .conn()
            .query_row(
                "SELECT amount FROM credit_holds WHERE generation_id = 'a' AND state = 'charged'",
                [],
                |r| r.get(0),
            )
            .unwrap();
        assert_eq!(held, "2");
    }

    #[test]
    fn a_users_page_is_newest_first_filtered_and_walks_the_index() {
        let s = SqliteStore::in_memory().unwrap();
        let other = "11111111-1111-4111-8111-111111111111";
        for (id, user, at, model) in [
            ("a", LOCAL_USER_ID, 10, "m"),
            ("b", LOCAL_USER_ID, 20, "n"),
            ("c", LOCAL_USER_ID, 20, "m"),
            ("d", other, 30, "m"),
            ("e", LOCAL_USER_ID, 40, "m"),
        ] {
            let mut g = gen_row(id);
            g.user_id = user.into();
            g.created_at = at;
            g.model_id = model.into();
            s.insert(&g).unwrap();
        }
        let q = GenerationQuery {
            user_id: LOCAL_USER_ID,
            status: None,
            model_id: None,
            after: None,
            limit: 10,
        };
        let ids = |q: &GenerationQuery<'_>| -> Vec<String> {
            s.list_for_user(q)
                .unwrap()
                .into_iter()
                .map(|g| g.id)
                .collect()
        };
        assert_eq!(
            ids(&q),
            ["e", "c", "b", "a"],
            "ties on created_at by id, descending"
        );
        assert_eq!(ids(&GenerationQuery { limit: 2, ..q }), ["e", "c"]);
        assert_eq!(
            ids(&GenerationQuery {
                after: Some((20, "c")),
                ..q
            }),
            ["b", "a"]
        );
        assert_eq!(
            ids(&GenerationQuery {
                model_id: Some("m"),
                ..q
            }),
            ["e", "c", "a"]
        );
        assert!(
            ids(&GenerationQuery {
                status: Some(Status::Completed),
                ..q
            })
            .is_empty()
        );
        // The default (read everything) gives the same pages.
        struct Plain<'a>(&'a SqliteStore);
        let plain = Plain(&s);
        let default_page = |q: &GenerationQuery<'_>| -> Vec<String> {
            let mut rows: Vec<Generation> = plain
                .0
                .list()
                .unwrap()
                .into_iter()
                .filter(|g| q.matches(g))
                .collect();
            rows.sort_by(|a, b| (b.created_at, &b.id).cmp(&(a.created_at, &a.id)));
            rows.into_iter().take(q.limit).map(|g| g.id).collect()
        };
        for page in [
            q,
            GenerationQuery {
                after: Some((20, "c")),
                model_id: Some("m"),
                ..q
            },
        ] {
            assert_eq!(ids(&page), default_page(&page));
        }
        // The page is read from the index, in its order: no sort, no table scan.
        let full = GenerationQuery {
            status: Some(Status::Pending),
            model_id: Some("m"),
            after: Some((20, "c")),
            ..q
        };
        let plan: Vec<String> = s
            .conn()
            .prepare(&format!(
                "EXPLAIN QUERY PLAN SELECT id FROM generations {}",
                SqliteStore::page_sql(&full)
            ))
            .unwrap()
            .query_map(params![LOCAL_USER_ID, "pending", "m", 20, "c", 10], |r| {
                r.get::<_, String>(3)
            })
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap();
        let plan = plan.join("\n");
        assert!(plan.contains("generations_user_created"), "{plan}");
        assert!(!plan.contains("TEMP B-TREE"), "{plan}");
    }

    #[test]
    fn an_idempotency_key_is_claimed_once_per_user_answered_and_released() {
        let s = SqliteStore::in_memory().unwrap();
        let other = "11111111-1111-4111-8111-111111111111";
        assert_eq!(
            s.claim_key(LOCAL_USER_ID, "k", "f1").unwrap(),
            Claim::Claimed
        );
        assert_eq!(
            s.claim_key(other, "k", "f1").unwrap(),
            Claim::Claimed,
            "per user"
        );
        let Claim::Existing(r) = s.claim_key(LOCAL_USER_ID, "k", "f2").unwrap() else {
            panic!("claimed twice");
        };
        assert_eq!(
            (r.fingerprint.as_str(), r.response.as_ref()),
            ("f1", None),
            "in flight"
        );
        s.key_started(LOCAL_USER_ID, "k", "g1").unwrap();
        let answer = Replay {
            status: 201,
            headers: vec![("location".into(), "/v1/generations/g1".into())],
            body: "{}".into(),
        };
        s.key_answered(LOCAL_USER_ID, "k", &answer).unwrap();
        let Claim::Existing(r) = s.claim_key(LOCAL_USER_ID, "k", "f1").unwrap() else {
            panic!("claimed twice");
        };
        assert_eq!(r.generation_id.as_deref(), Some("g1"));
        assert_eq!(r.response, Some(answer));
        // An answered key stays; an unanswered one is freed.
        s.release_key(LOCAL_USER_ID, "k").unwrap();
        assert!(matches!(
            s.claim_key(LOCAL_USER_ID, "k", "f1").unwrap(),
            Claim::Existing(_)
        ));
        s.release_key(other, "k").unwrap();
        assert_eq!(s.claim_key(other, "k", "f3").unwrap(), Claim::Claimed);
        // Records older than a day are dropped at the next claim.
        s.conn()
            .execute(
                "UPDATE idempotency_keys SET created_at = created_at - ?1",
                [IDEMPOTENCY_TTL_MS + 1],
            )
            .unwrap();
        assert_eq!(
            s.claim_key(LOCAL_USER_ID, "k", "f9").unwrap(),
            Claim::Claimed
        );
    }

    #[test]
    fn a_file_from_before_the_output_counts_and_leases_gains_their_columns() {
        let dir = std::env::temp_dir().join(format!("store-old-{}", uuid::Uuid::new_v4()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("old.db");
        {
            let conn = rusqlite::Connection::open(&path).unwrap();
            let old = SCHEMA.replace(
                "completed_at INTEGER,\n  outputs_expected INTEGER,\n  outputs_received INTEGER,\n  credits_refunded TEXT,\n  lease_owner TEXT,\n  lease_expires_at INTEGER,\n  next_poll_at INTEGER\n",
                "completed_at INTEGER\n",
            );
            assert_ne!(old, SCHEMA);
            conn.execute_batch(&old).unwrap();
        }
        let reopened = SqliteStore::open(&path).unwrap();
        let fresh = SqliteStore::in_memory().unwrap();
        let cols = |s: &SqliteStore| {
            s.tables()
                .unwrap()
                .into_iter()
                .find(|t| t.name == "generations")
                .unwrap()
                .columns
        };
        assert_eq!(cols(&reopened), cols(&fresh));
        reopened.insert(&gen_row("a")).unwrap();
        assert_eq!(reopened.get("a").unwrap().unwrap().outputs_expected, None);
        drop(reopened);
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn a_ledger_from_before_held_gains_it_summed_from_the_open_holds() {
        let dir = std::env::temp_dir().join(format!("store-held-{}", uuid::Uuid::new_v4()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("old.db");
        {
            let conn = rusqlite::Connection::open(&path).unwrap();
            let old = SCHEMA.replace(
                "  balance TEXT NOT NULL,\n  held TEXT NOT NULL DEFAULT '0'\n",
                "  balance TEXT NOT NULL\n",
            );
            assert_ne!(old, SCHEMA);
            conn.execute_batch(&old).unwrap();
            conn.execute_batch(
                "INSERT INTO credit_accounts VALUES ('u', '10'), ('v', '5');
                 INSERT INTO credit_holds VALUES ('a', 'u', '1.5', 'reserved'), ('b', 'u', '2', 'reserved'),
                   ('c', 'u', '4', 'charged'), ('d', 'v', '3', 'refunded');",
            )
            .unwrap();
        }
        let store = SqliteStore::open(&path).unwrap();
        assert_eq!(store.available("u").unwrap(), Some("6.5".parse().unwrap()));
        assert_eq!(store.available("v").unwrap(), Some("5".parse().unwrap()));
        // Reserving and settling move `held` from there on.
        assert_eq!(
            store.reserve("e", "u", "6.5".parse().unwrap()).unwrap(),
            Ok(())
        );
        assert_eq!(store.available("u").unwrap(), Some(Credits::ZERO));
        assert!(
            store
                .reserve("f", "u", "0.1".parse().unwrap())
                .unwrap()
                .is_err(),
            "nothing left"
        );
        drop(store);
        let reopened = SqliteStore::open(&path).unwrap();
        assert_eq!(
            reopened.available("u").unwrap(),
            Some(Credits::ZERO),
            "migrated once"
        );
        drop(reopened);
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
