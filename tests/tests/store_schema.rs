//! The two homes of generation records agree: the SQLite schema `runtime::store::SqliteStore`
//! creates and the Postgres schema of the generated migrations (`generated/sql`, applied to a
//! throwaway server). Every table both have is compared column by column: the same names in the
//! same order, the same primary key, types that hold the same data (`TYPE_MAP`), nullability
//! (`nullability_problem`) and the same CHECK'd value sets. A row the store writes, the local
//! user's included, then loads into Postgres unchanged.

use std::collections::{BTreeMap, BTreeSet};

use registry_tests::pg::Pg;
use runtime::store::{
    Finish, Generation, KeyEvent, LOCAL_USER_ID, Lease, SqliteStore, Status, Table,
};
use serde_json::{Value, json};

/// How the SQLite store keeps each Postgres column type: `(Postgres type as format_type names
/// it, SQLite declared type, what the SQLite value is)`. A Postgres type missing here fails the
/// test: decide how SQLite stores it, then add it.
const TYPE_MAP: &[(&str, &str, &str)] = &[
    ("uuid", "TEXT", "the UUID as hyphenated text"),
    ("text", "TEXT", "the same text"),
    ("jsonb", "TEXT", "the JSON document as text"),
    (
        "numeric",
        "TEXT",
        "the exact decimal as canonical text (never REAL)",
    ),
    (
        "timestamp with time zone",
        "INTEGER",
        "Unix milliseconds, UTC",
    ),
    ("boolean", "INTEGER", "0 or 1"),
    ("bigint", "INTEGER", "the same 64-bit integer"),
    ("integer", "INTEGER", "the same integer"),
];

/// Columns that are NOT NULL in SQLite but nullable in Postgres, and why. Stricter in SQLite is
/// safe for copying store rows into Postgres, but each case is a decision, so an unlisted one
/// (or a listed one that no longer differs) fails the test.
const STRICTER_IN_SQLITE: &[(&str, &str, &str)] = &[
    (
        "generations",
        "user_id",
        "the runtime always runs for a user (LOCAL_USER_ID by default); Postgres keeps older rows without one",
    ),
    (
        "generations",
        "provider_response",
        "the store starts each row with {} and patches task_id, outputs and error into it; Postgres also holds rows from before a provider answered",
    ),
    (
        "api_key_events",
        "model_id",
        "the engine resolves keys for one model at a time; Postgres also takes retrievals not tied to a model",
    ),
];

/// The tables only one side has, and why they are not compared.
// Every table the SQLite store writes is in the Postgres schema too (the Postgres store writes
// the same tables).
const SQLITE_ONLY: &[&str] = &[];
const POSTGRES_ONLY: &[&str] = &["model_registry"]; // written by 002_registry.sql, not by the store

/// One column, as either database declares it.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Col {
    name: String,
    ty: String,
    not_null: bool,
}

/// One table of either database.
#[derive(Debug, Default)]
struct Schema {
    columns: Vec<Col>,
    primary_key: Vec<String>,
    /// Column -> every quoted literal of the CHECK constraints that name it.
    checked_values: BTreeMap<String, BTreeSet<String>>,
}

/// The store's tables, from the database a fresh `SqliteStore` created.
fn sqlite_schema() -> BTreeMap<String, Schema> {
    let store = SqliteStore::in_memory().expect("open an in-memory store");
    let tables: Vec<Table> = store.tables().expect("read the store's schema");
    tables
        .into_iter()
        .map(|t| {
            let names: Vec<String> = t.columns.iter().map(|c| c.name.clone()).collect();
            let pk: Vec<&runtime::store::Column> =
                t.columns.iter().filter(|c| c.primary_key).collect();
            // An INTEGER PRIMARY KEY is the rowid alias: never NULL, whatever the pragma says.
            let rowid_alias = match pk.as_slice() {
                [only] if only.decl_type.eq_ignore_ascii_case("INTEGER") => Some(only.name.clone()),
                _ => None,
            };
            let schema = Schema {
                columns: t
                    .columns
                    .iter()
                    .map(|c| Col {
                        name: c.name.clone(),
                        ty: c.decl_type.to_ascii_uppercase(),
                        not_null: c.not_null || rowid_alias.as_deref() == Some(c.name.as_str()),
                    })
                    .collect(),
                primary_key: pk.iter().map(|c| c.name.clone()).collect(),
                checked_values: checked_values(
                    check_clauses(&t.sql).iter().map(String::as_str),
                    &names,
                ),
            };
            (t.name, schema)
        })
        .collect()
}

/// The Postgres tables of the `public` schema after every generated migration.
fn postgres_schema(pg: &Pg) -> BTreeMap<String, Schema> {
    let mut out: BTreeMap<String, Schema> = BTreeMap::new();
    let columns = pg.query(
        "select c.relname, a.attname, format_type(a.atttypid, a.atttypmod), a.attnotnull \
         from pg_attribute a join pg_class c on c.oid = a.attrelid \
         join pg_namespace n on n.oid = c.relnamespace \
         where n.nspname = 'public' and c.relkind = 'r' and a.attnum > 0 and not a.attisdropped \
         order by c.relname, a.attnum;",
    );
    for line in columns.lines() {
        let f: Vec<&str> = line.split('|').collect();
        let [table, name, ty, not_null] = f.as_slice() else {
            panic!("unexpected psql line {line:?}");
        };
        out.entry((*table).to_owned())
            .or_default()
            .columns
            .push(Col {
                name: (*name).to_owned(),
                ty: (*ty).to_owned(),
                not_null: *not_null == "t",
            });
    }
    let constraints = pg.query(
        "select c.relname, con.contype, \
                (select string_agg(a.attname, ',' order by k.ord) \
                   from unnest(con.conkey) with ordinality k(attnum, ord) \
                   join pg_attribute a on a.attrelid = con.conrelid and a.attnum = k.attnum), \
                replace(pg_get_constraintdef(con.oid), chr(10), ' ') \
         from pg_constraint con join pg_class c on c.oid = con.conrelid \
         join pg_namespace n on n.oid = c.relnamespace \
         where n.nspname = 'public' and c.relkind = 'r' and con.contype in ('p', 'c') \
         order by c.relname, con.conname;",
    );
    for line in constraints.lines() {
        let f: Vec<&str> = line.splitn(4, '|').collect();
        let [table, kind, cols, def] = f.as_slice() else {
            panic!("unexpected psql line {line:?}");
        };
        let schema = out.entry((*table).to_owned()).or_default();
        let cols: Vec<String> = cols.split(',').map(str::to_owned).collect();
        match *kind {
            "p" => schema.primary_key = cols,
            _ => {
                for (col, values) in checked_values([*def], &cols) {
                    schema.checked_values.entry(col).or_default().extend(values);
                }
            }
        }
    }
    out
}

/// The `CHECK (...)` expressions of a `CREATE TABLE` statement (parentheses balanced, quoted
/// text skipped).
fn check_clauses(sql: &str) -> Vec<String> {
    let upper = sql.to_ascii_uppercase();
    let mut out = Vec::new();
    let mut from = 0;
    while let Some(at) = upper[from..].find("CHECK") {
        let start = from + at + "CHECK".len();
        let Some(open) = sql[start..].find('(').map(|i| start + i) else {
            break;
        };
        let (mut depth, mut quoted, mut end) = (0usize, false, None);
        for (i, ch) in sql[open..].char_indices() {
            match ch {
                '\'' => quoted = !quoted,
                '(' if !quoted => depth += 1,
                ')' if !quoted => {
                    depth -= 1;
                    if depth == 0 {
                        end = Some(open + i);
                        break;
                    }
                }
                _ => {}
            }
        }
        let end = end.unwrap_or_else(|| panic!("unbalanced CHECK in {sql}"));
        out.push(sql[open + 1..end].to_owned());
        from = end;
    }
    out
}

/// For each column named in a CHECK expression (as a whole word), the quoted literals of that
/// expression (`'pending'`, `'pending'::text`).
fn checked_values<'a>(
    exprs: impl IntoIterator<Item = &'a str>,
    columns: &[String],
) -> BTreeMap<String, BTreeSet<String>> {
    let mut out: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for expr in exprs {
        let literals: BTreeSet<String> = expr
            .split('\'')
            .skip(1)
            .step_by(2)
            .map(str::to_owned)
            .collect();
        if literals.is_empty() {
            continue;
        }
        let words: BTreeSet<&str> = expr
            .split(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
            .collect();
        for col in columns.iter().filter(|c| words.contains(c.as_str())) {
            out.entry(col.clone())
                .or_default()
                .extend(literals.iter().cloned());
        }
    }
    out
}

/// The SQLite type that stores `pg_type`, if the mapping knows it.
fn sqlite_type_for(pg_type: &str) -> Option<&'static str> {
    TYPE_MAP
        .iter()
        .find(|(pg, _, _)| *pg == pg_type)
        .map(|(_, sqlite, _)| *sqlite)
}

/// What is wrong with the nullability of `table.column`, if anything.
fn nullability_problem(table: &str, sqlite: &Col, pg: &Col) -> Option<String> {
    let listed = STRICTER_IN_SQLITE
        .iter()
        .any(|(t, c, _)| *t == table && *c == sqlite.name);
    match (sqlite.not_null, pg.not_null, listed) {
        (false, true, _) => Some(format!(
            "{table}.{}: NULL is allowed in SQLite but not in Postgres, so a store row may not load there",
            sqlite.name
        )),
        (true, false, false) => Some(format!(
            "{table}.{}: NOT NULL in SQLite, nullable in Postgres; make them agree, or list it in STRICTER_IN_SQLITE with the reason",
            sqlite.name
        )),
        (_, _, true) if sqlite.not_null == pg.not_null => Some(format!(
            "{table}.{}: listed in STRICTER_IN_SQLITE but both sides now say {}; remove the entry",
            sqlite.name,
            if pg.not_null { "NOT NULL" } else { "nullable" }
        )),
        _ => None,
    }
}

/// Every difference between the two declarations of one table.
fn table_problems(table: &str, sqlite: &Schema, pg: &Schema) -> Vec<String> {
    let mut problems = Vec::new();
    let names = |s: &Schema| s.columns.iter().map(|c| c.name.clone()).collect::<Vec<_>>();
    if names(sqlite) != names(pg) {
        problems.push(format!(
            "{table}: the columns differ\n      SQLite:   {}\n      Postgres: {}",
            names(sqlite).join(", "),
            names(pg).join(", ")
        ));
    }
    let pg_cols: BTreeMap<&str, &Col> = pg.columns.iter().map(|c| (c.name.as_str(), c)).collect();
    for s in &sqlite.columns {
        let Some(p) = pg_cols.get(s.name.as_str()) else {
            continue;
        };
        match sqlite_type_for(&p.ty) {
            None => problems.push(format!(
                "{table}.{}: Postgres type `{}` has no entry in TYPE_MAP",
                s.name, p.ty
            )),
            Some(expected) if expected != s.ty => problems.push(format!(
                "{table}.{}: Postgres `{}` is stored as {expected} in SQLite, but the store declares {}",
                s.name, p.ty, s.ty
            )),
            Some(_) => {}
        }
        problems.extend(nullability_problem(table, s, p));
    }
    if sqlite.primary_key != pg.primary_key {
        problems.push(format!(
            "{table}: primary key ({}) in SQLite, ({}) in Postgres",
            sqlite.primary_key.join(", "),
            pg.primary_key.join(", ")
        ));
    }
    if sqlite.checked_values != pg.checked_values {
        problems.push(format!(
            "{table}: CHECK'd values differ\n      SQLite:   {:?}\n      Postgres: {:?}",
            sqlite.checked_values, pg.checked_values
        ));
    }
    problems
}

fn migrated() -> Pg {
    let pg = Pg::start();
    pg.apply_generated();
    pg
}

#[test]
fn shared_tables_have_the_same_columns_types_nullability_and_checks() {
    let sqlite = sqlite_schema();
    let pg = migrated();
    let postgres = postgres_schema(&pg);

    let sqlite_names: BTreeSet<&str> = sqlite.keys().map(String::as_str).collect();
    let pg_names: BTreeSet<&str> = postgres.keys().map(String::as_str).collect();
    let shared: Vec<&str> = sqlite_names.intersection(&pg_names).copied().collect();
    assert_eq!(
        shared,
        [
            "api_key_events",
            "credit_accounts",
            "credit_holds",
            "generations",
            "idempotency_keys",
            "webhook_deliveries"
        ],
        "the tables both schemas have"
    );
    assert_eq!(
        sqlite_names
            .difference(&pg_names)
            .copied()
            .collect::<Vec<_>>(),
        SQLITE_ONLY,
        "tables only the SQLite store has: a new one must be added to Postgres (and compared here) or listed in SQLITE_ONLY"
    );
    assert_eq!(
        pg_names
            .difference(&sqlite_names)
            .copied()
            .collect::<Vec<_>>(),
        POSTGRES_ONLY,
        "tables only Postgres has: a new one must be added to the store (and compared here) or listed in POSTGRES_ONLY"
    );

    let mut problems = Vec::new();
    for table in &shared {
        problems.extend(table_problems(table, &sqlite[*table], &postgres[*table]));
    }
    for (table, column, _) in STRICTER_IN_SQLITE {
        if !shared.contains(table) || !sqlite[*table].columns.iter().any(|c| c.name == *column) {
            problems.push(format!(
                "STRICTER_IN_SQLITE lists {table}.{column}, which is not a shared column"
            ));
        }
    }
    assert!(
        problems.is_empty(),
        "the SQLite store (runtime/src/store/sqlite.rs) and the Postgres schema (generated/sql, from codegen/src/emit/sql) disagree:\n  - {}",
        problems.join("\n  - ")
    );
}

#[test]
fn both_schemas_check_exactly_the_runtime_statuses() {
    fn every_status() -> [Status; 4] {
        // A new variant fails to compile here until it is listed.
        match Status::Pending {
            Status::Pending | Status::Processing | Status::Completed | Status::Failed => {}
        }
        [
            Status::Pending,
            Status::Processing,
            Status::Completed,
            Status::Failed,
        ]
    }
    let runtime: BTreeSet<String> = every_status()
        .iter()
        .map(|s| s.as_str().to_owned())
        .collect();
    let sqlite = sqlite_schema();
    let pg = migrated();
    let postgres = postgres_schema(&pg);
    assert_eq!(
        sqlite["generations"].checked_values.get("status"),
        Some(&runtime),
        "generations.status CHECK in SQLite"
    );
    assert_eq!(
        postgres["generations"].checked_values.get("status"),
        Some(&runtime),
        "generations.status CHECK in Postgres"
    );
    // The check really rejects: a status outside the set does not load into Postgres.
    let out = pg.psql(
        "insert into generations (model_id, provider, content_type, status) values ('m', 'p', 'image', 'done');",
    );
    assert!(
        !out.ok && out.stderr.contains("generations_status_check"),
        "Postgres accepted status 'done': {}",
        out.stderr
    );
}

/// A SQL string literal.
fn lit(text: &str) -> String {
    format!("'{}'", text.replace('\'', "''"))
}

fn opt_lit(text: Option<String>) -> String {
    text.map_or_else(|| "null".to_owned(), |t| lit(&t))
}

/// Unix milliseconds as a Postgres timestamptz, exactly.
fn ms(value: i64) -> String {
    format!("(timestamptz 'epoch' + {value} * interval '1 millisecond')")
}

#[test]
fn rows_the_store_writes_load_into_postgres() {
    let store = SqliteStore::in_memory().expect("open an in-memory store");
    let key = KeyEvent {
        time: runtime::store::now_ms(),
        provider: "kie_ai".into(),
        model: "seedance_v1_lite".into(),
        scope: "prompt_to_video".into(),
        secret_name: "KIE_AI_API_KEY_PROMPT_TO_VIDEO".into(),
        success: true,
        error: None,
    };
    let now = runtime::store::now_ms();
    let generation = Generation {
        id: "5b0c3f7e-2f1d-4c7a-9d3e-0a1b2c3d4e5f".into(),
        user_id: LOCAL_USER_ID.into(),
        model_id: "seedance_v1_lite".into(),
        provider: "kie_ai".into(),
        content_type: "video".into(),
        status: Status::Pending,
        params: json!({"prompt": "it's waves", "duration": 10}),
        provider_response: json!({}),
        tokens_used: None,
        provider_cost: None,
        created_at: now,
        updated_at: now,
        completed_at: None,
        outputs_expected: None,
        outputs_received: None,
        credits_refunded: None,
    };
    store
        .set_balance(LOCAL_USER_ID, "100".parse().unwrap())
        .unwrap();
    store
        .start(&key, &generation, "12.5".parse().unwrap(), &lease())
        .expect("start")
        .expect("credits cover the run");
    assert!(
        store
            .mark_processing(&generation.id, Some(&runtime::model::Task::new("task-1")))
            .unwrap()
    );
    let finish = Finish::Completed {
        outputs: json!(["https://cdn.example/v.mp4"]),
        provider_cost: Some("6.25".parse().unwrap()),
        count: Some(runtime::store::OutputCount {
            expected: 2,
            received: 1,
            charge: "6.25".parse().unwrap(),
        }),
    };
    assert!(store.finish(&generation.id, &finish).unwrap());
    let g = store.get(&generation.id).unwrap().expect("the row");
    let e = store.key_events().unwrap().remove(0);

    let pg = migrated();
    // Each value as the store keeps it, converted as TYPE_MAP says.
    pg.query(&format!(
        "insert into generations (id, user_id, model_id, provider, content_type, status, params, provider_response, \
         tokens_used, provider_cost, created_at, updated_at, completed_at, outputs_expected, outputs_received, \
         credits_refunded) values \
         ({}, {}, {}, {}, {}, {}, {}::jsonb, {}::jsonb, {}, {}, {}, {}, {}, {}, {}, {});",
        lit(&g.id),
        lit(&g.user_id),
        lit(&g.model_id),
        lit(&g.provider),
        lit(&g.content_type),
        lit(g.status.as_str()),
        lit(&g.params.to_string()),
        lit(&g.provider_response.to_string()),
        opt_lit(g.tokens_used.map(|c| c.to_string())),
        opt_lit(g.provider_cost.map(|d| d.normalize().to_string())),
        ms(g.created_at),
        ms(g.updated_at),
        g.completed_at.map_or_else(|| "null".to_owned(), ms),
        g.outputs_expected.map_or_else(|| "null".to_owned(), |n| n.to_string()),
        g.outputs_received.map_or_else(|| "null".to_owned(), |n| n.to_string()),
        opt_lit(g.credits_refunded.map(|c| c.to_string())),
    ));
    pg.query(&format!(
        "insert into api_key_events (occurred_at, provider, model_id, key_scope, secret_name, success, error) \
         values ({}, {}, {}, {}, {}, {}, {});",
        ms(e.time),
        lit(&e.provider),
        lit(&e.model),
        lit(&e.scope),
        lit(&e.secret_name),
        e.success,
        opt_lit(e.error.clone()),
    ));

    let back = pg.query(
        "select id, user_id, status, tokens_used, provider_cost, \
                (extract(epoch from created_at) * 1000)::bigint, \
                (extract(epoch from completed_at) * 1000)::bigint, params, provider_response, \
                outputs_expected, outputs_received, credits_refunded \
         from generations;",
    );
    let f: Vec<&str> = back.trim_end().split('|').collect();
    assert_eq!(f.len(), 12, "one generation row: {back:?}");
    assert_eq!(
        (f[0], f[1], f[2], f[3], f[4]),
        (g.id.as_str(), LOCAL_USER_ID, "completed", "6.25", "6.25"),
        "id, user_id, status, tokens_used (half of the 12.5 held: one output of two), provider_cost back from Postgres"
    );
    assert_eq!(
        (f[9], f[10], f[11]),
        ("2", "1", "6.25"),
        "outputs_expected, outputs_received, credits_refunded"
    );
    assert_eq!(
        f[5],
        g.created_at.to_string(),
        "created_at to the millisecond"
    );
    assert_eq!(
        f[6],
        g.completed_at.expect("finished").to_string(),
        "completed_at to the millisecond"
    );
    let json_of = |t: &str| serde_json::from_str::<Value>(t).expect("jsonb text");
    assert_eq!(json_of(f[7]), g.params, "params");
    assert_eq!(json_of(f[8]), g.provider_response, "provider_response");
    assert_eq!(
        g.provider_response["task_id"], "task-1",
        "the task id the store patched in"
    );

    let back = pg.query(
        "select (extract(epoch from occurred_at) * 1000)::bigint, model_id, key_scope, success from api_key_events;",
    );
    assert_eq!(
        back.trim_end(),
        format!("{}|seedance_v1_lite|prompt_to_video|t", e.time),
        "the key event back from Postgres"
    );
}

fn lease() -> Lease {
    Lease {
        owner: "schema-test".to_owned(),
        ttl_ms: 30_000,
    }
}
