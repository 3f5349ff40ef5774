//! [`PgStore`]: the Postgres store (feature `postgres`), for several server instances sharing
//! one database. It writes exactly the tables of `generated/sql` (`001_schema.sql`), which
//! [`PgStore::migrate`] applies.
//!
//! Types as Postgres keeps them: ids and user ids are `uuid` (hyphenated text in Rust), JSON is
//! `jsonb`, credits and costs are `numeric` (exact, never a float), and times are `timestamptz`
//! (Unix milliseconds in Rust, converted exactly). Every change that must be atomic runs in one
//! transaction, and every credit movement in the same transaction as the state change it
//! belongs to:
//!
//! - `reserve` and `start` lock the user's `credit_accounts` row (`FOR UPDATE`) before summing
//!   the open holds, so concurrent reserves for one user never overdraw;
//! - `finish` locks the generation row (`FOR UPDATE`), so of two instances finishing one
//!   generation exactly one sees it unfinished and settles its hold;
//! - `claim_expired` takes rows with `FOR UPDATE SKIP LOCKED`, so two instances never take the
//!   same generation.
//!
//! Leases are timed by the database's clock (`now()`), the one clock every instance shares.
//! `list` and `unfinished` order rows of equal `created_at` by id (SQLite by insertion order).

use std::error::Error as StdError;
use std::fmt;
use std::str::FromStr;
use std::time::Duration;

use bytes::{BufMut, BytesMut};
use deadpool_postgres::{GenericClient, Manager, ManagerConfig, Pool, PoolError, RecyclingMethod};
use rust_decimal::Decimal;
use serde_json::Value;
use tokio_postgres::NoTls;
use tokio_postgres::types::{FromSql, IsNull, ToSql, Type, to_sql_checked};
use uuid::Uuid;

use super::idempotency::{Claim, IDEMPOTENCY_TTL_MS, IdempotencyRecord, IdempotencyStore, Replay};
use super::{
    Alert, AlertRules, Finish, Generation, GenerationQuery, KeyEvent, Lease, Status, Store,
    StoreError, now_ms,
};
use crate::cost::Credits;
use crate::model::Task;

/// The columns of `generations` a [`Generation`] is read from, in [`decode`]'s order.
const COLUMNS: &str = "id, user_id, model_id, provider, content_type, status, params, provider_response, \
     tokens_used, provider_cost, created_at, updated_at, completed_at, outputs_expected, outputs_received, \
     credits_refunded";

/// The tables and columns the store reads and writes: what [`PgStore::ready`] checks.
const NEEDED: &[(&str, &[&str])] = &[
    (
        "generations",
        &[
            "id",
            "user_id",
            "model_id",
            "provider",
            "content_type",
            "status",
            "params",
            "provider_response",
            "tokens_used",
            "provider_cost",
            "created_at",
            "updated_at",
            "completed_at",
            "outputs_expected",
            "outputs_received",
            "credits_refunded",
            "lease_owner",
            "lease_expires_at",
            "next_poll_at",
        ],
    ),
    (
        "api_key_events",
        &[
            "id",
            "occurred_at",
            "provider",
            "model_id",
            "key_scope",
            "secret_name",
            "success",
            "error",
        ],
    ),
    ("credit_accounts", &["user_id", "balance"]),
    (
        "credit_holds",
        &["generation_id", "user_id", "amount", "state"],
    ),
    (
        "webhook_deliveries",
        &["provider", "delivery_id", "received_at"],
    ),
    (
        "idempotency_keys",
        &[
            "user_id",
            "idempotency_key",
            "fingerprint",
            "generation_id",
            "response_status",
            "response_headers",
            "response_body",
            "created_at",
            "updated_at",
        ],
    ),
];

/// The advisory lock [`PgStore::migrate`] holds, so that instances starting together apply the
/// migrations one after the other (`"registry"` in ASCII).
const MIGRATION_LOCK: i64 = 0x7265_6769_7374_7279;

/// How long a caller waits for a pooled connection, and a new connection to be made, before
/// the store reports itself unavailable.
const POOL_TIMEOUT: Duration = Duration::from_secs(10);

/// Unix milliseconds as a `timestamptz`, exactly: Postgres keeps microseconds since
/// 2000-01-01 UTC, so a millisecond value goes in and comes back unchanged.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Ms(i64);

/// Unix milliseconds of Postgres's epoch, 2000-01-01T00:00:00Z.
const PG_EPOCH_MS: i64 = 946_684_800_000;

impl ToSql for Ms {
    fn to_sql(
        &self,
        _: &Type,
        out: &mut BytesMut,
    ) -> Result<IsNull, Box<dyn StdError + Sync + Send>> {
        let micros = self
            .0
            .checked_sub(PG_EPOCH_MS)
            .and_then(|ms| ms.checked_mul(1000))
            .ok_or("time out of the range of timestamptz")?;
        out.put_i64(micros);
        Ok(IsNull::No)
    }

    fn accepts(ty: &Type) -> bool {
        *ty == Type::TIMESTAMPTZ
    }

    to_sql_checked!();
}

impl<'a> FromSql<'a> for Ms {
    fn from_sql(_: &Type, raw: &'a [u8]) -> Result<Ms, Box<dyn StdError + Sync + Send>> {
        let bytes: [u8; 8] = raw.try_into().map_err(|_| "timestamptz is 8 bytes")?;
        let micros = i64::from_be_bytes(bytes);
        // infinity and -infinity are i64::MAX and i64::MIN: no millisecond time.
        micros
            .div_euclid(1000)
            .checked_add(PG_EPOCH_MS)
            .filter(|_| micros != i64::MAX && micros != i64::MIN)
            .map(Ms)
            .ok_or_else(|| "timestamptz out of range".into())
    }

    fn accepts(ty: &Type) -> bool {
        *ty == Type::TIMESTAMPTZ
    }
}

/// A length of time in milliseconds as an `interval`, exactly (a lease's time to live).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct IntervalMs(i64);

impl ToSql for IntervalMs {
    fn to_sql(
        &self,
        _: &Type,
        out: &mut BytesMut,
    ) -> Result<IsNull, Box<dyn StdError + Sync + Send>> {
        let micros = self.0.checked_mul(1000).ok_or("interval out of range")?;
        // Microseconds, days, months.
        out.put_i64(micros);
        out.put_i32(0);
        out.put_i32(0);
        Ok(IsNull::No)
    }

    fn accepts(ty: &Type) -> bool {
        *ty == Type::INTERVAL
    }

    to_sql_checked!();
}

/// The Postgres store: a pool of connections to one database.
pub struct PgStore {
    pool: Pool,
    /// `host:port/dbname`, for messages (never the password).
    target: String,
}

impl fmt::Debug for PgStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PgStore")
            .field("target", &self.target)
            .finish_non_exhaustive()
    }
}

/// An error and its causes, `: `-separated (tokio-postgres's own message names only the kind).
fn chain(e: &dyn StdError) -> String {
    let mut text = e.to_string();
    let mut cause = e.source();
    while let Some(c) = cause {
        let more = c.to_string();
        if !text.ends_with(&more) {
            text.push_str(": ");
            text.push_str(&more);
        }
        cause = c.source();
    }
    text
}

/// A statement that failed.
fn db(e: tokio_postgres::Error) -> StoreError {
    StoreError::Postgres(db_text(&e))
}

/// What a failed statement's error says: the server's message and SQLSTATE, or the cause.
fn db_text(e: &tokio_postgres::Error) -> String {
    match e.as_db_error() {
        Some(d) => {
            let mut t = format!("{} ({})", d.message(), d.code().code());
            if let Some(c) = d.constraint() {
                t.push_str(&format!(", constraint {c}"));
            }
            t
        }
        None => chain(e),
    }
}

/// No connection to be had.
fn unavailable(target: &str, e: &PoolError) -> StoreError {
    StoreError::Unavailable(format!("cannot reach {target}: {}", chain(e)))
}

/// A value read from a row that does not decode.
fn corrupt(column: &str) -> impl Fn(tokio_postgres::Error) -> StoreError + '_ {
    move |e| StoreError::Corrupt(format!("{column}: {}", chain(&e)))
}

/// An id the store keeps as a `uuid`.
fn uuid(field: &str, text: &str) -> Result<Uuid, StoreError> {
    Uuid::parse_str(text)
        .map_err(|_| StoreError::Postgres(format!("{field} takes a UUID, not `{text}`")))
}

/// A count kept as `integer`.
fn int(field: &str, n: Option<u32>) -> Result<Option<i32>, StoreError> {
    n.map(|n| {
        i32::try_from(n).map_err(|_| StoreError::Postgres(format!("{field} {n} is too large")))
    })
    .transpose()
}

/// `host:port/dbname` of a connection config (its first host), for messages.
fn describe(cfg: &tokio_postgres::Config) -> String {
    use tokio_postgres::config::Host;
    let host = match cfg.get_hosts().first() {
        Some(Host::Tcp(h)) => h.clone(),
        #[cfg(unix)]
        Some(Host::Unix(p)) => p.display().to_string(),
        None => "localhost".to_owned(),
    };
    let port = cfg.get_ports().first().copied().unwrap_or(5432);
    let db = cfg.get_dbname().or(cfg.get_user()).unwrap_or("postgres");
    format!("postgres {host}:{port}/{db}")
}

/// `text` with every occurrence of `secret` blanked out.
fn scrub(text: &str, secret: Option<&str>) -> String {
    match secret {
        Some(s) if !s.is_empty() => text.replace(s, "***"),
        _ => text.to_owned(),
    }
}

/// The password of a connection string, as far as it can be found without parsing it (for
/// scrubbing a parse error): `user:password@` of a URL, or `password=...` of key-value pairs.
fn password_in(url: &str) -> Option<&str> {
    if let Some(rest) = url.split_once("://").map(|(_, r)| r) {
        let userinfo = rest.rsplit_once('@')?.0;
        return userinfo.split_once(':').map(|(_, p)| p);
    }
    let at = url.find("password=")? + "password=".len();
    let rest = &url[at..];
    Some(
        rest.split_whitespace()
            .next()
            .unwrap_or(rest)
            .trim_matches('\''),
    )
}

/// A row of `generations` ([`COLUMNS`], in order).
fn decode(r: &tokio_postgres::Row) -> Result<Generation, StoreError> {
    let status: String = r.try_get(5).map_err(corrupt("generations.status"))?;
    let count = |i: usize, name: &str| -> Result<Option<u32>, StoreError> {
        r.try_get::<_, Option<i32>>(i)
            .map_err(corrupt(name))?
            .map(|n| u32::try_from(n).map_err(|_| StoreError::Corrupt(format!("{name} {n}"))))
            .transpose()
    };
    let credits = |i: usize, name: &str| -> Result<Option<Credits>, StoreError> {
        Ok(r.try_get::<_, Option<Decimal>>(i)
            .map_err(corrupt(name))?
            .map(Credits::from_decimal))
    };
    Ok(Generation {
        id: r
            .try_get::<_, Uuid>(0)
            .map_err(corrupt("generations.id"))?
            .to_string(),
        // Postgres keeps rows from before user ids, without one: they belong to the nil UUID,
        // which is never a real user's id there.
        user_id: r
            .try_get::<_, Option<Uuid>>(1)
            .map_err(corrupt("generations.user_id"))?
            .unwrap_or_default()
            .to_string(),
        model_id: r.try_get(2).map_err(corrupt("generations.model_id"))?,
        provider: r.try_get(3).map_err(corrupt("generations.provider"))?,
        content_type: r.try_get(4).map_err(corrupt("generations.content_type"))?,
        status: Status::parse(&status)?,
        params: r.try_get(6).map_err(corrupt("generations.params"))?,
        provider_response: r
            .try_get::<_, Option<Value>>(7)
            .map_err(corrupt("generations.provider_response"))?
            .unwrap_or_else(|| Value::Object(serde_json::Map::new())),
        tokens_used: credits(8, "generations.tokens_used")?,
        provider_cost: r
            .try_get::<_, Option<Decimal>>(9)
            .map_err(corrupt("generations.provider_cost"))?
            .map(|d| d.normalize()),
        created_at: r
            .try_get::<_, Ms>(10)
            .map_err(corrupt("generations.created_at"))?
            .0,
        updated_at: r
            .try_get::<_, Ms>(11)
            .map_err(corrupt("generations.updated_at"))?
            .0,
        completed_at: r
            .try_get::<_, Option<Ms>>(12)
            .map_err(corrupt("generations.completed_at"))?
            .map(|m| m.0),
        outputs_expected: count(13, "generations.outputs_expected")?,
        outputs_received: count(14, "generations.outputs_received")?,
        credits_refunded: credits(15, "generations.credits_refunded")?,
    })
}

impl PgStore {
    /// A pool of at most `pool_size` connections to the database at `url` (a `postgres://`
    /// URL or `key=value` pairs, as libpq takes them), checked by opening one. Errors name the
    /// host and database, never the password. Connections are not encrypted (no TLS).
    pub async fn connect(url: &str, pool_size: usize) -> Result<PgStore, StoreError> {
        let mut cfg = tokio_postgres::Config::from_str(url).map_err(|e| {
            StoreError::Postgres(format!(
                "the Postgres connection string does not parse: {}",
                scrub(&chain(&e), password_in(url))
            ))
        })?;
        if cfg.get_connect_timeout().is_none() {
            cfg.connect_timeout(POOL_TIMEOUT);
        }
        if cfg.get_application_name().is_none() {
            cfg.application_name("registry-runtime");
        }
        let target = describe(&cfg);
        let password = cfg
            .get_password()
            .map(|p| String::from_utf8_lossy(p).into_owned());
        let manager = Manager::from_config(
            cfg,
            NoTls,
            ManagerConfig {
                recycling_method: RecyclingMethod::Fast,
            },
        );
        let pool = Pool::builder(manager)
            .max_size(pool_size.max(1))
            .runtime(deadpool_postgres::Runtime::Tokio1)
            .wait_timeout(Some(POOL_TIMEOUT))
            .create_timeout(Some(POOL_TIMEOUT))
            .build()
            .map_err(|e| StoreError::Postgres(format!("{target}: {e}")))?;
        let store = PgStore { pool, target };
        let first = store.client().await.map_err(|e| match e {
            StoreError::Unavailable(m) => StoreError::Unavailable(scrub(&m, password.as_deref())),
            other => other,
        })?;
        drop(first);
        Ok(store)
    }

    /// Apply the migrations `files` (`(name, sql)`, such as `generated/sql/*.sql` in order),
    /// each as it is (every generated file is one transaction). Instances migrating at once
    /// take turns (an advisory lock). An error names the file.
    pub async fn migrate(&self, files: &[(&str, &str)]) -> Result<(), StoreError> {
        // A connection of its own, closed afterwards: the session's advisory lock goes with it
        // whatever happens.
        let client = deadpool_postgres::Object::take(self.client().await?);
        client
            .execute("SELECT pg_advisory_lock($1)", &[&MIGRATION_LOCK])
            .await
            .map_err(db)?;
        for (name, sql) in files {
            if let Err(e) = client.batch_execute(sql).await {
                return Err(StoreError::Postgres(format!(
                    "applying {name}: {}",
                    db_text(&e)
                )));
            }
        }
        Ok(())
    }

    /// The store's target, `postgres host:port/dbname`.
    pub fn target(&self) -> &str {
        &self.target
    }

    async fn client(&self) -> Result<deadpool_postgres::Object, StoreError> {
        self.pool
            .get()
            .await
            .map_err(|e| unavailable(&self.target, &e))
    }

    async fn select<C: GenericClient>(
        c: &C,
        rest: &str,
        args: &[&(dyn ToSql + Sync)],
    ) -> Result<Vec<Generation>, StoreError> {
        let stmt = c
            .prepare_cached(&format!("SELECT {COLUMNS} FROM generations {rest}"))
            .await
            .map_err(db)?;
        c.query(&stmt, args)
            .await
            .map_err(db)?
            .iter()
            .map(decode)
            .collect()
    }

    async fn insert_in<C: GenericClient>(
        c: &C,
        g: &Generation,
        lease: Option<&Lease>,
    ) -> Result<(), StoreError> {
        let (id, user) = (
            uuid("generations.id", &g.id)?,
            uuid("generations.user_id", &g.user_id)?,
        );
        let tokens = g.tokens_used.map(Credits::as_decimal);
        let pcost = g.provider_cost.map(|d| d.normalize());
        let refunded = g.credits_refunded.map(Credits::as_decimal);
        let expected = int("generations.outputs_expected", g.outputs_expected)?;
        let received = int("generations.outputs_received", g.outputs_received)?;
        let completed = g.completed_at.map(Ms);
        let (created, updated) = (Ms(g.created_at), Ms(g.updated_at));
        let status = g.status.as_str();
        let mut args: Vec<&(dyn ToSql + Sync)> = vec![
            &id,
            &user,
            &g.model_id,
            &g.provider,
            &g.content_type,
            &status,
            &g.params,
            &g.provider_response,
            &tokens,
            &pcost,
            &created,
            &updated,
            &completed,
            &expected,
            &received,
            &refunded,
        ];
        let owner = lease.map(|l| l.owner.as_str());
        let ttl = lease.map(|l| IntervalMs(l.ttl_ms));
        let sql = if lease.is_some() {
            args.push(&owner);
            args.push(&ttl);
            "INSERT INTO generations (id, user_id, model_id, provider, content_type, status, params, provider_response, \
             tokens_used, provider_cost, created_at, updated_at, completed_at, outputs_expected, outputs_received, \
             credits_refunded, lease_owner, lease_expires_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, now() + $18::interval)"
        } else {
            "INSERT INTO generations (id, user_id, model_id, provider, content_type, status, params, provider_response, \
             tokens_used, provider_cost, created_at, updated_at, completed_at, outputs_expected, outputs_received, \
             credits_refunded) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16)"
        };
        let stmt = c.prepare_cached(sql).await.map_err(db)?;
        c.execute(&stmt, &args).await.map_err(db)?;
        Ok(())
    }

    async fn key_event_in<C: GenericClient>(c: &C, e: &KeyEvent) -> Result<(), StoreError> {
        let stmt = c
            .prepare_cached(
                "INSERT INTO api_key_events (occurred_at, provider, model_id, key_scope, secret_name, success, error) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7)",
            )
            .await
            .map_err(db)?;
        c.execute(
            &stmt,
            &[
                &Ms(e.time),
                &e.provider,
                &e.model,
                &e.scope,
                &e.secret_name,
                &e.success,
                &e.error,
            ],
        )
        .await
        .map_err(db)?;
        Ok(())
    }

    /// Hold `amount` for `generation_id` inside an open transaction, the user's account row
    /// locked first; `Err(available)` when the user cannot cover it.
    async fn reserve_in<C: GenericClient>(
        c: &C,
        generation_id: &str,
        user_id: &str,
        amount: Credits,
    ) -> Result<Result<(), Credits>, StoreError> {
        let generation = uuid("credit_holds.generation_id", generation_id)?;
        let user = uuid("credit_holds.user_id", user_id)?;
        let lock = c
            .prepare_cached(
                "SELECT balance - held FROM credit_accounts WHERE user_id = $1 FOR UPDATE",
            )
            .await
            .map_err(db)?;
        let available: Decimal = match c.query_opt(&lock, &[&user]).await.map_err(db)? {
            Some(row) => row.try_get(0).map_err(corrupt("credit_accounts.balance"))?,
            None => Decimal::ZERO,
        };
        let available = Credits::from_decimal(available);
        if available < amount {
            return Ok(Err(available));
        }
        let hold = c
            .prepare_cached(
                "INSERT INTO credit_holds (generation_id, user_id, amount, state) VALUES ($1, $2, $3, 'reserved')",
            )
            .await
            .map_err(db)?;
        c.execute(&hold, &[&generation, &user, &amount.as_decimal()])
            .await
            .map_err(db)?;
        let held = c
            .prepare_cached("UPDATE credit_accounts SET held = held + $2 WHERE user_id = $1")
            .await
            .map_err(db)?;
        c.execute(&held, &[&user, &amount.as_decimal()])
            .await
            .map_err(db)?;
        Ok(Ok(()))
    }

    async fn balance_of<C: GenericClient>(
        c: &C,
        user: &Uuid,
    ) -> Result<Option<Decimal>, StoreError> {
        let stmt = c
            .prepare_cached("SELECT balance FROM credit_accounts WHERE user_id = $1")
            .await
            .map_err(db)?;
        c.query_opt(&stmt, &[user])
            .await
            .map_err(db)?
            .map(|r| r.try_get(0).map_err(corrupt("credit_accounts.balance")))
            .transpose()
    }
}

#[async_trait::async_trait]
impl Store for PgStore {
    async fn insert(&self, g: &Generation) -> Result<(), StoreError> {
        Self::insert_in(&self.client().await?, g, None).await
    }

    async fn get(&self, id: &str) -> Result<Option<Generation>, StoreError> {
        let Ok(id) = Uuid::parse_str(id) else {
            return Ok(None);
        };
        let c = self.client().await?;
        Ok(Self::select(&c, "WHERE id = $1", &[&id])
            .await?
            .into_iter()
            .next())
    }

    async fn list(&self) -> Result<Vec<Generation>, StoreError> {
        let c = self.client().await?;
        Self::select(&c, "ORDER BY created_at, id", &[]).await
    }

    async fn unfinished(&self) -> Result<Vec<Generation>, StoreError> {
        let c = self.client().await?;
        Self::select(
            &c,
            "WHERE status IN ('pending', 'processing') ORDER BY created_at, id",
            &[],
        )
        .await
    }

    async fn list_for_user(&self, q: &GenerationQuery<'_>) -> Result<Vec<Generation>, StoreError> {
        let Ok(user) = Uuid::parse_str(q.user_id) else {
            return Ok(Vec::new());
        };
        let status = q.status.map(Status::as_str);
        let after = match q.after {
            Some((t, id)) => Some((Ms(t), uuid("the page cursor's id", id)?)),
            None => None,
        };
        let limit = i64::try_from(q.limit).unwrap_or(i64::MAX);
        let mut args: Vec<&(dyn ToSql + Sync)> = vec![&user];
        let mut sql = String::from("WHERE user_id = $1");
        if let Some(s) = &status {
            args.push(s);
            sql.push_str(&format!(" AND status = ${}", args.len()));
        }
        if let Some(m) = &q.model_id {
            args.push(m);
            sql.push_str(&format!(" AND model_id = ${}", args.len()));
        }
        if let Some((t, id)) = &after {
            args.push(t);
            args.push(id);
            sql.push_str(&format!(
                " AND (created_at, id) < (${}, ${})",
                args.len() - 1,
                args.len()
            ));
        }
        args.push(&limit);
        sql.push_str(&format!(
            " ORDER BY created_at DESC, id DESC LIMIT ${}",
            args.len()
        ));
        let c = self.client().await?;
        Self::select(&c, &sql, &args).await
    }

    async fn mark_processing(&self, id: &str, task: Option<&Task>) -> Result<bool, StoreError> {
        let Ok(id) = Uuid::parse_str(id) else {
            return Ok(false);
        };
        let task_id = task.map(|t| t.id.as_str());
        let kept = task
            .filter(|t| !t.kept.is_empty())
            .map(|t| serde_json::to_value(&t.kept).unwrap_or_default());
        let c = self.client().await?;
        let stmt = c
            .prepare_cached(
                "UPDATE generations SET status = 'processing', updated_at = $2, \
                 provider_response = CASE WHEN $3::text IS NULL THEN provider_response \
                   WHEN $4::jsonb IS NULL THEN coalesce(provider_response, '{}') || jsonb_build_object('task_id', $3::text) \
                   ELSE coalesce(provider_response, '{}') || jsonb_build_object('task_id', $3::text, 'kept', $4::jsonb) END \
                 WHERE id = $1 AND status IN ('pending', 'processing')",
            )
            .await
            .map_err(db)?;
        let n = c
            .execute(&stmt, &[&id, &Ms(now_ms()), &task_id, &kept])
            .await
            .map_err(db)?;
        Ok(n == 1)
    }

    async fn finish(&self, id: &str, finish: &Finish) -> Result<bool, StoreError> {
        let Ok(id) = Uuid::parse_str(id) else {
            return Ok(false);
        };
        let mut c = self.client().await?;
        let tx = c.transaction().await.map_err(db)?;
        // The row lock: a second finisher waits here, then sees the row finished.
        let lock = tx
            .prepare_cached("SELECT status FROM generations WHERE id = $1 FOR UPDATE")
            .await
            .map_err(db)?;
        let Some(row) = tx.query_opt(&lock, &[&id]).await.map_err(db)? else {
            return Ok(false);
        };
        let status: String = row.try_get(0).map_err(corrupt("generations.status"))?;
        if Status::parse(&status)?.is_terminal() {
            return Ok(false);
        }
        let hold_stmt = tx
            .prepare_cached(
                "SELECT amount, user_id FROM credit_holds WHERE generation_id = $1 AND state = 'reserved' FOR UPDATE",
            )
            .await
            .map_err(db)?;
        let hold: Option<(Decimal, Uuid)> =
            match tx.query_opt(&hold_stmt, &[&id]).await.map_err(db)? {
                Some(r) => Some((
                    r.try_get(0).map_err(corrupt("credit_holds.amount"))?,
                    r.try_get(1).map_err(corrupt("credit_holds.user_id"))?,
                )),
                None => None,
            };
        let held = hold
            .as_ref()
            .map_or(Credits::ZERO, |(a, _)| Credits::from_decimal(*a));
        let charged = finish.charge(held);
        let (status, key, patch, pcost, count) = match finish {
            Finish::Completed {
                outputs,
                provider_cost,
                count,
            } => (
                "completed",
                "outputs",
                outputs,
                provider_cost.map(|d| d.normalize()),
                *count,
            ),
            Finish::Failed { error } => ("failed", "error", error, None, None),
        };
        let refunded = count.map(|_| held.as_decimal() - charged.as_decimal());
        let now = Ms(now_ms());
        let expected = int("generations.outputs_expected", count.map(|c| c.expected))?;
        let received = int("generations.outputs_received", count.map(|c| c.received))?;
        let update = tx
            .prepare_cached(
                "UPDATE generations SET status = $2, updated_at = $3, completed_at = $3, tokens_used = $4, \
                 provider_cost = coalesce($5, provider_cost), \
                 provider_response = coalesce(provider_response, '{}') || jsonb_build_object($6::text, $7::jsonb), \
                 outputs_expected = $8, outputs_received = $9, credits_refunded = $10 \
                 WHERE id = $1 AND status IN ('pending', 'processing')",
            )
            .await
            .map_err(db)?;
        let n = tx
            .execute(
                &update,
                &[
                    &id,
                    &status,
                    &now,
                    &charged.as_decimal(),
                    &pcost,
                    &key,
                    patch,
                    &expected,
                    &received,
                    &refunded,
                ],
            )
            .await
            .map_err(db)?;
        if n == 0 {
            return Ok(false);
        }
        if let Some((_, user)) = hold {
            let completed = status == "completed";
            let state = if completed { "charged" } else { "refunded" };
            // A charged hold keeps the amount charged, so the charged holds sum to the
            // generations' `tokens_used`; the rest of a short generation's hold is released.
            let amount = if completed { charged } else { held };
            let settle = tx
                .prepare_cached(
                    "UPDATE credit_holds SET state = $2, amount = $3 WHERE generation_id = $1 AND state = 'reserved'",
                )
                .await
                .map_err(db)?;
            tx.execute(&settle, &[&id, &state, &amount.as_decimal()])
                .await
                .map_err(db)?;
            // The hold is released whole; what was charged leaves the balance.
            let charge = if completed { charged } else { Credits::ZERO };
            let release = tx
                .prepare_cached(
                    "UPDATE credit_accounts SET balance = balance - $2, held = held - $3 WHERE user_id = $1",
                )
                .await
                .map_err(db)?;
            tx.execute(&release, &[&user, &charge.as_decimal(), &held.as_decimal()])
                .await
                .map_err(db)?;
        }
        tx.commit().await.map_err(db)?;
        Ok(true)
    }

    async fn first_delivery(&self, provider: &str, delivery_id: &str) -> Result<bool, StoreError> {
        const DAY_MS: i64 = 24 * 3600 * 1000;
        let mut c = self.client().await?;
        let tx = c.transaction().await.map_err(db)?;
        let now = now_ms();
        let prune = tx
            .prepare_cached("DELETE FROM webhook_deliveries WHERE received_at < $1")
            .await
            .map_err(db)?;
        tx.execute(&prune, &[&Ms(now - DAY_MS)]).await.map_err(db)?;
        let record = tx
            .prepare_cached(
                "INSERT INTO webhook_deliveries (provider, delivery_id, received_at) VALUES ($1, $2, $3) \
                 ON CONFLICT (provider, delivery_id) DO NOTHING",
            )
            .await
            .map_err(db)?;
        let n = tx
            .execute(&record, &[&provider, &delivery_id, &Ms(now)])
            .await
            .map_err(db)?;
        tx.commit().await.map_err(db)?;
        Ok(n == 1)
    }

    async fn forget_delivery(&self, provider: &str, delivery_id: &str) -> Result<(), StoreError> {
        let c = self.client().await?;
        let stmt = c
            .prepare_cached(
                "DELETE FROM webhook_deliveries WHERE provider = $1 AND delivery_id = $2",
            )
            .await
            .map_err(db)?;
        c.execute(&stmt, &[&provider, &delivery_id])
            .await
            .map_err(db)?;
        Ok(())
    }

    async fn log_key_event(&self, e: &KeyEvent) -> Result<(), StoreError> {
        Self::key_event_in(&self.client().await?, e).await
    }

    async fn key_events(&self) -> Result<Vec<KeyEvent>, StoreError> {
        let c = self.client().await?;
        let stmt = c
            .prepare_cached(
                "SELECT occurred_at, provider, model_id, key_scope, secret_name, success, error FROM api_key_events ORDER BY id",
            )
            .await
            .map_err(db)?;
        c.query(&stmt, &[])
            .await
            .map_err(db)?
            .iter()
            .map(|r| {
                let bad = corrupt("api_key_events");
                Ok(KeyEvent {
                    time: r.try_get::<_, Ms>(0).map_err(&bad)?.0,
                    provider: r.try_get(1).map_err(&bad)?,
                    model: r
                        .try_get::<_, Option<String>>(2)
                        .map_err(&bad)?
                        .unwrap_or_default(),
                    scope: r.try_get(3).map_err(&bad)?,
                    secret_name: r.try_get(4).map_err(&bad)?,
                    success: r.try_get(5).map_err(&bad)?,
                    error: r.try_get(6).map_err(&bad)?,
                })
            })
            .collect()
    }

    async fn set_balance(&self, user_id: &str, balance: Credits) -> Result<(), StoreError> {
        let user = uuid("credit_accounts.user_id", user_id)?;
        let c = self.client().await?;
        let stmt = c
            .prepare_cached(
                "INSERT INTO credit_accounts (user_id, balance) VALUES ($1, $2) \
                 ON CONFLICT (user_id) DO UPDATE SET balance = excluded.balance",
            )
            .await
            .map_err(db)?;
        c.execute(&stmt, &[&user, &balance.as_decimal()])
            .await
            .map_err(db)?;
        Ok(())
    }

    async fn available(&self, user_id: &str) -> Result<Option<Credits>, StoreError> {
        let Ok(user) = Uuid::parse_str(user_id) else {
            return Ok(None);
        };
        let c = self.client().await?;
        let stmt = c
            .prepare_cached("SELECT balance - held FROM credit_accounts WHERE user_id = $1")
            .await
            .map_err(db)?;
        c.query_opt(&stmt, &[&user])
            .await
            .map_err(db)?
            .map(|r| {
                r.try_get::<_, Decimal>(0)
                    .map(Credits::from_decimal)
                    .map_err(corrupt("credit_accounts.balance"))
            })
            .transpose()
    }

    async fn balance(&self, user_id: &str) -> Result<Option<Credits>, StoreError> {
        let Ok(user) = Uuid::parse_str(user_id) else {
            return Ok(None);
        };
        let c = self.client().await?;
        Ok(Self::balance_of(&c, &user)
            .await?
            .map(Credits::from_decimal))
    }

    async fn reserve(
        &self,
        generation_id: &str,
        user_id: &str,
        amount: Credits,
    ) -> Result<Result<(), Credits>, StoreError> {
        let mut c = self.client().await?;
        let tx = c.transaction().await.map_err(db)?;
        let reserved = Self::reserve_in(&tx, generation_id, user_id, amount).await?;
        if reserved.is_ok() {
            tx.commit().await.map_err(db)?;
        }
        Ok(reserved)
    }

    async fn start(
        &self,
        key: &KeyEvent,
        g: &Generation,
        amount: Credits,
        lease: &Lease,
    ) -> Result<Result<(), Credits>, StoreError> {
        let mut c = self.client().await?;
        let tx = c.transaction().await.map_err(db)?;
        Self::key_event_in(&tx, key).await?;
        let reserved = Self::reserve_in(&tx, &g.id, &g.user_id, amount).await?;
        if reserved.is_ok() {
            Self::insert_in(&tx, g, Some(lease)).await?;
        }
        tx.commit().await.map_err(db)?;
        Ok(reserved)
    }

    async fn renew_leases(&self, lease: &Lease) -> Result<u64, StoreError> {
        let c = self.client().await?;
        let stmt = c
            .prepare_cached(
                "UPDATE generations SET lease_expires_at = now() + $2::interval \
                 WHERE lease_owner = $1 AND status IN ('pending', 'processing')",
            )
            .await
            .map_err(db)?;
        c.execute(&stmt, &[&lease.owner, &IntervalMs(lease.ttl_ms)])
            .await
            .map_err(db)
    }

    async fn claim_expired(
        &self,
        lease: &Lease,
        limit: usize,
    ) -> Result<Vec<Generation>, StoreError> {
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        let c = self.client().await?;
        // One statement: the candidates are locked as they are picked (rows another instance
        // is taking are skipped, not waited for), then leased. A row another instance took
        // and committed meanwhile is re-checked against the WHERE, and fails it.
        let stmt = c
            .prepare_cached(&format!(
                "WITH picked AS ( \
                   SELECT id FROM generations \
                   WHERE status IN ('pending', 'processing') \
                     AND (lease_expires_at IS NULL OR lease_expires_at <= now()) \
                   ORDER BY next_poll_at NULLS FIRST, created_at, id \
                   LIMIT $3 \
                   FOR UPDATE SKIP LOCKED) \
                 UPDATE generations g SET lease_owner = $1, lease_expires_at = now() + $2::interval \
                 FROM picked WHERE g.id = picked.id \
                 RETURNING {}, g.next_poll_at",
                COLUMNS
                    .split(", ")
                    .map(|c| format!("g.{c}"))
                    .collect::<Vec<_>>()
                    .join(", ")
            ))
            .await
            .map_err(db)?;
        let rows = c
            .query(&stmt, &[&lease.owner, &IntervalMs(lease.ttl_ms), &limit])
            .await
            .map_err(db)?;
        // RETURNING keeps no order: sort as picked.
        let mut taken = Vec::with_capacity(rows.len());
        for r in &rows {
            let next: Option<Ms> = r.try_get(16).map_err(corrupt("generations.next_poll_at"))?;
            taken.push((next.map(|m| m.0), decode(r)?));
        }
        taken.sort_by(|(na, a), (nb, b)| {
            // Unset first, then the earliest poll; then the oldest.
            (na.is_some(), na, a.created_at, &a.id).cmp(&(nb.is_some(), nb, b.created_at, &b.id))
        });
        Ok(taken.into_iter().map(|(_, g)| g).collect())
    }

    async fn release_leases(&self, owner: &str) -> Result<u64, StoreError> {
        let c = self.client().await?;
        let stmt = c
            .prepare_cached(
                "UPDATE generations SET lease_expires_at = now() \
                 WHERE lease_owner = $1 AND status IN ('pending', 'processing')",
            )
            .await
            .map_err(db)?;
        c.execute(&stmt, &[&owner]).await.map_err(db)
    }

    async fn set_next_poll(&self, id: &str, at_ms: i64) -> Result<(), StoreError> {
        let Ok(id) = Uuid::parse_str(id) else {
            return Ok(());
        };
        let c = self.client().await?;
        let stmt = c
            .prepare_cached("UPDATE generations SET next_poll_at = $2 WHERE id = $1")
            .await
            .map_err(db)?;
        c.execute(&stmt, &[&id, &Ms(at_ms)]).await.map_err(db)?;
        Ok(())
    }

    async fn firing_alerts(&self, _rules: &AlertRules) -> Result<Vec<Alert>, StoreError> {
        let c = self.client().await?;
        let stmt = c
            .prepare_cached(
                "SELECT severity, rule, subject, observed, threshold, \
                 extract(epoch from time_window)::bigint, sample, action FROM monitoring_alerts",
            )
            .await
            .map_err(db)?;
        let mut alerts = Vec::new();
        for r in c.query(&stmt, &[]).await.map_err(db)? {
            alerts.push(Alert {
                severity: r.try_get(0).map_err(corrupt("severity"))?,
                rule: r.try_get(1).map_err(corrupt("rule"))?,
                subject: r.try_get(2).map_err(corrupt("subject"))?,
                observed: r.try_get(3).map_err(corrupt("observed"))?,
                threshold: r.try_get(4).map_err(corrupt("threshold"))?,
                window_s: r.try_get(5).map_err(corrupt("time_window"))?,
                sample: r.try_get(6).map_err(corrupt("sample"))?,
                action: r.try_get(7).map_err(corrupt("action"))?,
            });
        }
        super::alerts::sort(&mut alerts);
        Ok(alerts)
    }

    async fn ready(&self) -> Result<(), StoreError> {
        let c = self.client().await?;
        let tables: Vec<&str> = NEEDED.iter().map(|(t, _)| *t).collect();
        let stmt = c
            .prepare_cached(
                "SELECT table_name::text, column_name::text FROM information_schema.columns \
                 WHERE table_schema = current_schema() AND table_name::text = ANY($1::text[])",
            )
            .await
            .map_err(db)?;
        let have: Vec<(String, String)> = c
            .query(&stmt, &[&tables])
            .await
            .map_err(db)?
            .iter()
            .map(|r| Ok((r.try_get(0)?, r.try_get(1)?)))
            .collect::<Result<_, tokio_postgres::Error>>()
            .map_err(db)?;
        let mut missing = Vec::new();
        for (table, columns) in NEEDED {
            if !have.iter().any(|(t, _)| t == table) {
                missing.push(format!("table {table}"));
                continue;
            }
            for column in *columns {
                if !have.iter().any(|(t, c)| t == table && c == column) {
                    missing.push(format!("column {table}.{column}"));
                }
            }
        }
        if missing.is_empty() {
            Ok(())
        } else {
            Err(StoreError::Unavailable(format!(
                "{} is not migrated (apply generated/sql): missing {}",
                self.target,
                missing.join(", ")
            )))
        }
    }
}

#[async_trait::async_trait]
impl IdempotencyStore for PgStore {
    async fn claim_key(
        &self,
        user_id: &str,
        key: &str,
        fingerprint: &str,
    ) -> Result<Claim, StoreError> {
        let user = uuid("idempotency_keys.user_id", user_id)?;
        let mut c = self.client().await?;
        let tx = c.transaction().await.map_err(db)?;
        let now = now_ms();
        let prune = tx
            .prepare_cached("DELETE FROM idempotency_keys WHERE created_at < $1")
            .await
            .map_err(db)?;
        tx.execute(&prune, &[&Ms(now - IDEMPOTENCY_TTL_MS)])
            .await
            .map_err(db)?;
        let insert = tx
            .prepare_cached(
                "INSERT INTO idempotency_keys (user_id, idempotency_key, fingerprint, created_at, updated_at) \
                 VALUES ($1, $2, $3, $4, $4) ON CONFLICT (user_id, idempotency_key) DO NOTHING",
            )
            .await
            .map_err(db)?;
        let n = tx
            .execute(&insert, &[&user, &key, &fingerprint, &Ms(now)])
            .await
            .map_err(db)?;
        let claim = if n == 1 {
            Claim::Claimed
        } else {
            let read = tx
                .prepare_cached(
                    "SELECT fingerprint, generation_id, created_at, updated_at, response_status, response_headers, response_body \
                     FROM idempotency_keys WHERE user_id = $1 AND idempotency_key = $2",
                )
                .await
                .map_err(db)?;
            let r = tx.query_one(&read, &[&user, &key]).await.map_err(db)?;
            let bad = corrupt("idempotency_keys");
            let mut record = IdempotencyRecord {
                fingerprint: r.try_get(0).map_err(&bad)?,
                generation_id: r
                    .try_get::<_, Option<Uuid>>(1)
                    .map_err(&bad)?
                    .map(|g| g.to_string()),
                response: None,
                created_at: r.try_get::<_, Ms>(2).map_err(&bad)?.0,
                updated_at: r.try_get::<_, Ms>(3).map_err(&bad)?.0,
            };
            if let Some(status) = r.try_get::<_, Option<i32>>(4).map_err(&bad)? {
                let headers = match r.try_get::<_, Option<Value>>(5).map_err(&bad)? {
                    Some(h) => serde_json::from_value(h).map_err(|_| {
                        StoreError::Corrupt("idempotency_keys.response_headers".to_owned())
                    })?,
                    None => Vec::new(),
                };
                record.response = Some(Replay {
                    status: u16::try_from(status).map_err(|_| {
                        StoreError::Corrupt(format!("idempotency_keys.response_status {status}"))
                    })?,
                    headers,
                    body: r
                        .try_get::<_, Option<String>>(6)
                        .map_err(&bad)?
                        .unwrap_or_default(),
                });
            }
            Claim::Existing(record)
        };
        tx.commit().await.map_err(db)?;
        Ok(claim)
    }

    async fn key_started(
        &self,
        user_id: &str,
        key: &str,
        generation_id: &str,
    ) -> Result<(), StoreError> {
        let Ok(user) = Uuid::parse_str(user_id) else {
            return Ok(());
        };
        let generation = uuid("idempotency_keys.generation_id", generation_id)?;
        let c = self.client().await?;
        let stmt = c
            .prepare_cached(
                "UPDATE idempotency_keys SET generation_id = $3, updated_at = $4 \
                 WHERE user_id = $1 AND idempotency_key = $2",
            )
            .await
            .map_err(db)?;
        c.execute(&stmt, &[&user, &key, &generation, &Ms(now_ms())])
            .await
            .map_err(db)?;
        Ok(())
    }

    async fn key_answered(
        &self,
        user_id: &str,
        key: &str,
        answer: &Replay,
    ) -> Result<(), StoreError> {
        let Ok(user) = Uuid::parse_str(user_id) else {
            return Ok(());
        };
        let headers =
            serde_json::to_value(&answer.headers).unwrap_or_else(|_| Value::Array(Vec::new()));
        let c = self.client().await?;
        let stmt = c
            .prepare_cached(
                "UPDATE idempotency_keys SET response_status = $3, response_headers = $4, response_body = $5, updated_at = $6 \
                 WHERE user_id = $1 AND idempotency_key = $2",
            )
            .await
            .map_err(db)?;
        c.execute(
            &stmt,
            &[
                &user,
                &key,
                &i32::from(answer.status),
                &headers,
                &answer.body,
                &Ms(now_ms()),
            ],
        )
        .await
        .map_err(db)?;
        Ok(())
    }

    async fn release_key(&self, user_id: &str, key: &str) -> Result<(), StoreError> {
        let Ok(user) = Uuid::parse_str(user_id) else {
            return Ok(());
        };
        let c = self.client().await?;
        let stmt = c
            .prepare_cached(
                "DELETE FROM idempotency_keys WHERE user_id = $1 AND idempotency_key = $2 AND response_status IS NULL",
            )
            .await
            .map_err(db)?;
        c.execute(&stmt, &[&user, &key]).await.map_err(db)?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_password_is_found_and_scrubbed_in_both_forms() {
        for (url, secret) in [
            ("postgres://app:s3cr%t@db.example:5432/gen", "s3cr%t"),
            (
                "host=db.example user=app password=s3cr3t dbname=gen",
                "s3cr3t",
            ),
            ("host=db.example password='s3 cr3t' dbname=gen", "s3"),
        ] {
            assert_eq!(password_in(url), Some(secret), "{url}");
            assert!(!scrub(&format!("bad {url}"), password_in(url)).contains(secret));
        }
        assert_eq!(password_in("postgres://db.example/gen"), None);
        assert_eq!(password_in("postgres://app@db.example/gen"), None);
    }

    #[test]
    fn the_target_names_host_port_and_database_only() {
        let cfg =
            tokio_postgres::Config::from_str("postgres://app:hunter2@db.example:6543/gen").unwrap();
        assert_eq!(describe(&cfg), "postgres db.example:6543/gen");
    }

    #[test]
    fn milliseconds_convert_exactly_both_ways() {
        for ms in [
            0,
            1,
            -1,
            PG_EPOCH_MS,
            1_767_225_600_123,
            -62_135_596_800_000,
        ] {
            let mut buf = BytesMut::new();
            Ms(ms).to_sql(&Type::TIMESTAMPTZ, &mut buf).unwrap();
            assert_eq!(
                Ms::from_sql(&Type::TIMESTAMPTZ, &buf).unwrap(),
                Ms(ms),
                "{ms}"
            );
        }
        // A time Postgres keeps to the microsecond reads as its millisecond, rounded down.
        let micros = (1_500_i64 - PG_EPOCH_MS) * 1000 + 999;
        assert_eq!(
            Ms::from_sql(&Type::TIMESTAMPTZ, &micros.to_be_bytes()).unwrap(),
            Ms(1_500)
        );
        assert!(Ms::from_sql(&Type::TIMESTAMPTZ, &i64::MAX.to_be_bytes()).is_err());
    }
}
