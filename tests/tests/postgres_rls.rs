//! Row level security of `generated/sql/006_rls.sql` in a real Postgres: a client role
//! (`authenticated` with a user's id, or `anon`) reads only what the policies let it, may write
//! nothing, and gets "permission denied" from the tables and views it may not read; the tables'
//! owner still reads and writes every row. On a database laid out like Supabase's (its roles,
//! `auth.uid()` and default privileges there first) the migrations narrow the client roles'
//! privileges to the same set and leave Supabase's own objects alone. Applying again changes
//! no catalog row and waits on no lock that a running server's transactions hold.

use std::io::{BufRead, BufReader, Write};
use std::process::{Child, Stdio};

use registry_tests::bundled;
use registry_tests::pg::{Pg, PsqlOutput, generated_files};

const A: &str = "00000000-0000-4000-8000-00000000000a";
const B: &str = "00000000-0000-4000-8000-00000000000b";
const A1: &str = "00000000-0000-4000-8000-0000000000a1";
const A2: &str = "00000000-0000-4000-8000-0000000000a2";
const B1: &str = "00000000-0000-4000-8000-0000000000b1";

/// Every table of `001_schema.sql`.
const TABLES: &[&str] = &[
    "generations",
    "api_key_events",
    "model_registry",
    "credit_accounts",
    "credit_holds",
    "webhook_deliveries",
    "idempotency_keys",
];

/// Rows of users A and B in every table the store writes.
fn seed() -> String {
    format!(
        "insert into generations (id, user_id, model_id, provider, content_type, status, tokens_used) values\n\
           ('{A1}', '{A}', 'seedance_v1_lite', 'kie_ai', 'video', 'completed', 12),\n\
           ('{A2}', '{A}', 'gpt_image_1', 'openai', 'image', 'failed', null),\n\
           ('{B1}', '{B}', 'seedance_v1_lite', 'kie_ai', 'video', 'completed', 12);\n\
         insert into credit_accounts (user_id, balance) values ('{A}', 100), ('{B}', 200);\n\
         insert into credit_holds (generation_id, user_id, amount, state) values ('{B1}', '{B}', 12, 'charged');\n\
         insert into api_key_events (provider, model_id, key_scope, secret_name, success) \
           values ('kie_ai', 'seedance_v1_lite', 'prompt_to_video', 'KIE_AI_API_KEY_PROMPT_TO_VIDEO', true);\n\
         insert into webhook_deliveries (provider, delivery_id) values ('fal', 'msg_1');\n\
         insert into idempotency_keys (user_id, idempotency_key, fingerprint) values ('{B}', 'k1', 'f');\n"
    )
}

fn migrated() -> Pg {
    let pg = Pg::start();
    pg.apply_generated();
    pg.query(&seed());
    pg
}

/// `sql` run as `role`, signed in as `sub` (set as Supabase's API sets it) when given.
fn as_role(pg: &Pg, role: &str, sub: Option<&str>, sql: &str) -> PsqlOutput {
    let claim = sub.map_or(String::new(), |s| {
        format!("set local request.jwt.claim.sub = '{s}';\n")
    });
    pg.psql(&format!(
        "begin;\nset local role {role};\n{claim}{sql}\nrollback;\n"
    ))
}

/// The output of `sql` run as `role`; it must succeed.
fn read(pg: &Pg, role: &str, sub: Option<&str>, sql: &str) -> String {
    let out = as_role(pg, role, sub, sql);
    assert!(
        out.ok && out.stderr.is_empty(),
        "{role} ({sub:?}) running {sql:?} failed:\n{}",
        out.stderr
    );
    out.stdout
}

/// `sql` run as `role` is refused with "permission denied".
fn denied(pg: &Pg, role: &str, sub: Option<&str>, sql: &str) {
    let out = as_role(pg, role, sub, sql);
    assert!(
        !out.ok && out.stderr.contains("permission denied"),
        "{role} ({sub:?}) running {sql:?} was not refused: ok={} stdout={:?} stderr={:?}",
        out.ok,
        out.stdout,
        out.stderr
    );
}

#[test]
fn a_signed_in_user_reads_only_their_own_generations_and_balance() {
    let pg = migrated();
    let a = Some(A);
    assert_eq!(
        read(
            &pg,
            "authenticated",
            a,
            "select id from generations order by id;"
        ),
        format!("{A1}\n{A2}\n")
    );
    // B's generation by its id, or by B's user id: no row (not an error: the row is filtered).
    assert_eq!(
        read(
            &pg,
            "authenticated",
            a,
            &format!("select count(*) from generations where id = '{B1}';")
        ),
        "0\n"
    );
    assert_eq!(
        read(
            &pg,
            "authenticated",
            a,
            &format!("select count(*) from generations where user_id = '{B}';")
        ),
        "0\n"
    );
    assert_eq!(
        read(
            &pg,
            "authenticated",
            a,
            "select user_id, balance from credit_accounts;"
        ),
        format!("{A}|100\n")
    );
    // B sees B's.
    assert_eq!(
        read(&pg, "authenticated", Some(B), "select id from generations;"),
        format!("{B1}\n")
    );
    // The claims document PostgREST sets (request.jwt.claims) names the user as well.
    let out = pg.query(&format!(
        "begin;\nset local role authenticated;\n\
         set local request.jwt.claims = '{{\"sub\": \"{A}\", \"role\": \"authenticated\"}}';\n\
         select count(*) from generations;\nrollback;\n"
    ));
    assert_eq!(out, "2\n");
    // Signed in without a user id: auth.uid() is null and matches no row.
    assert_eq!(
        read(
            &pg,
            "authenticated",
            None,
            "select count(*) from generations;"
        ),
        "0\n"
    );
    assert_eq!(
        read(
            &pg,
            "authenticated",
            None,
            "select count(*) from credit_accounts;"
        ),
        "0\n"
    );
}

#[test]
fn everyone_reads_the_registry() {
    let pg = migrated();
    let models = bundled().models.len().to_string();
    for (role, sub) in [("anon", None), ("authenticated", Some(A))] {
        assert_eq!(
            read(&pg, role, sub, "select count(*) from model_registry;").trim(),
            models,
            "{role}"
        );
    }
}

#[test]
fn clients_read_nothing_else_and_write_nothing() {
    let pg = migrated();
    let a = Some(A);
    // Tables without a policy for client roles, and the monitoring views (which read every
    // user's rows with their owner's rights): permission denied, for both roles.
    for relation in [
        "api_key_events",
        "credit_holds",
        "webhook_deliveries",
        "idempotency_keys",
        "monitoring_alerts",
        "monitoring_failed_generations",
        "monitoring_recent_generations",
        "monitoring_cost_mismatches",
        "monitoring_key_retrieval",
        "monitoring_cost_drift",
    ] {
        for (role, sub) in [("anon", None), ("authenticated", a)] {
            denied(&pg, role, sub, &format!("select * from {relation};"));
        }
    }
    // anon sees no generation and no balance.
    denied(&pg, "anon", None, "select * from generations;");
    denied(&pg, "anon", None, "select * from credit_accounts;");
    // No client writes, not even to its own rows; truncate (which row level security does not
    // cover) included.
    for sql in [
        format!(
            "insert into generations (user_id, model_id, provider, content_type) values ('{A}', 'gpt_image_1', 'openai', 'image');"
        ),
        format!("update generations set tokens_used = 0 where id = '{A1}';"),
        format!("delete from generations where id = '{A1}';"),
        "truncate generations;".to_owned(),
        format!("update credit_accounts set balance = 1000000 where user_id = '{A}';"),
        "update model_registry set enabled = false;".to_owned(),
        "delete from model_registry;".to_owned(),
        "insert into api_key_events (provider, key_scope, secret_name, success) values ('x', 'y', 'z', true);".to_owned(),
        "select nextval(pg_get_serial_sequence('api_key_events', 'id'));".to_owned(),
    ] {
        denied(&pg, "authenticated", a, &sql);
        denied(&pg, "anon", None, &sql);
    }
}

/// The server connects as the tables' owner: row level security does not apply to it (it is not
/// forced), so it reads and writes every user's rows. A non-superuser owner shows it; the
/// superuser of the other tests bypasses row level security anyway.
#[test]
fn the_tables_owner_reads_and_writes_every_row() {
    let pg = Pg::start();
    pg.query(
        "create role registry_server login createrole;\ncreate database app owner registry_server;",
    );
    for file in generated_files() {
        let sql = std::fs::read_to_string(&file).unwrap();
        let out = pg.psql_in("app", &format!("set role registry_server;\n{sql}"));
        assert!(
            out.ok && out.stderr.is_empty(),
            "applying {} as a non-superuser owner:\n{}",
            file.display(),
            out.stderr
        );
    }
    let out = pg.psql_in(
        "app",
        &format!(
            "set role registry_server;\n{}\n\
             select count(*) from generations;\n\
             update generations set status = 'failed' where id = '{B1}';\n\
             select count(*) from credit_accounts;\n\
             select count(*) from api_key_events;\n\
             select count(*) from monitoring_failed_generations;\n\
             select relrowsecurity, relforcerowsecurity from pg_class where oid = 'generations'::regclass;\n",
            seed()
        ),
    );
    assert!(out.ok && out.stderr.is_empty(), "{}", out.stderr);
    assert_eq!(out.stdout, "3\n2\n1\n2\nt|f\n");
}

/// Every privilege a client role holds on a relation of `public`: `relation:role:PRIVILEGES`.
fn client_privileges(pg: &Pg) -> String {
    pg.query(
        "select c.relname || ':' || r.rolname || ':' || string_agg(a.privilege_type, ',' order by a.privilege_type)\n\
         from pg_class c\n\
         cross join lateral aclexplode(c.relacl) a\n\
         join pg_roles r on r.oid = a.grantee\n\
         where c.relnamespace = 'public'::regnamespace and r.rolname in ('anon', 'authenticated')\n\
         group by c.relname, r.rolname\n\
         order by 1;",
    )
}

const EXPECTED_PRIVILEGES: &str = "\
credit_accounts:authenticated:SELECT
generations:authenticated:SELECT
model_registry:anon:SELECT
model_registry:authenticated:SELECT
";

#[test]
fn on_plain_postgres_the_roles_and_auth_uid_are_made_and_every_table_has_rls() {
    let pg = migrated();
    assert_eq!(
        pg.query(
            "select rolname, rolcanlogin from pg_roles where rolname in ('anon', 'authenticated') order by 1;"
        ),
        "anon|f\nauthenticated|f\n"
    );
    assert_eq!(client_privileges(&pg), EXPECTED_PRIVILEGES);
    let rls = pg.query(
        "select relname || ':' || relrowsecurity || ':' || relforcerowsecurity from pg_class \
         where relnamespace = 'public'::regnamespace and relkind = 'r' order by relname;",
    );
    let mut expected: Vec<String> = TABLES.iter().map(|t| format!("{t}:true:false")).collect();
    expected.sort();
    assert_eq!(rls.lines().collect::<Vec<_>>(), expected);
    // The stand-in reads the user id as Supabase's auth.uid() does.
    assert_eq!(
        pg.query(&format!(
            "select auth.uid() is null;\n\
             begin;\nselect set_config('request.jwt.claim.sub', '{A}', true) is not null, auth.uid();\nrollback;\n\
             begin;\nselect set_config('request.jwt.claims', '{{\"sub\": \"{B}\"}}', true) is not null, auth.uid();\nrollback;\n"
        )),
        format!("t\nt|{A}\nt|{B}\n")
    );
}

/// Supabase's `auth.uid()`, as a Supabase database has it before any migration of ours (this one
/// reads only the claims document, so it can be told from the stand-in).
const SUPABASE_AUTH: &str = "\
create role anon nologin noinherit;
create role authenticated nologin noinherit;
create schema auth;
grant usage on schema auth to anon, authenticated;
create function auth.uid() returns uuid language sql stable as $$
    select (nullif(current_setting('request.jwt.claims', true), '')::jsonb ->> 'sub')::uuid
$$;
alter default privileges in schema public grant all on tables to anon, authenticated;
alter default privileges in schema public grant all on sequences to anon, authenticated;
alter default privileges in schema public grant all on functions to anon, authenticated;
";

#[test]
fn on_a_supabase_layout_the_default_privileges_are_narrowed_and_auth_is_left_alone() {
    let pg = Pg::start();
    pg.query(SUPABASE_AUTH);
    let auth_before =
        pg.query("select prosrc from pg_proc where oid = 'auth.uid()'::regprocedure;");
    for _ in 0..2 {
        pg.apply_generated();
    }
    pg.query(&seed());
    assert_eq!(
        pg.query("select prosrc from pg_proc where oid = 'auth.uid()'::regprocedure;"),
        auth_before,
        "Supabase's auth.uid() is kept"
    );
    // Every table and view of public, the monitoring views included, and the id sequence:
    // only the reads the policies allow are left of the default grants.
    assert_eq!(client_privileges(&pg), EXPECTED_PRIVILEGES);
    // The policies work with Supabase's auth.uid().
    let out = pg.query(&format!(
        "begin;\nset local role authenticated;\n\
         set local request.jwt.claims = '{{\"sub\": \"{B}\"}}';\n\
         select id from generations;\nrollback;\n"
    ));
    assert_eq!(out, format!("{B1}\n"));
    denied(&pg, "anon", None, "select * from generations;");
    denied(
        &pg,
        "authenticated",
        Some(A),
        "select * from api_key_events;",
    );
    denied(
        &pg,
        "authenticated",
        Some(A),
        "select * from monitoring_alerts;",
    );
    denied(&pg, "authenticated", Some(A), "truncate generations;");
}

/// The catalog rows 006_rls.sql writes: RLS flags and ACLs of the tables, the policies, the
/// roles, auth.uid(), each with its row version (xmin), which any rewrite changes.
fn access_catalog(pg: &Pg) -> String {
    pg.query(
        "select 'table', relname, relrowsecurity, relacl::text, xmin::text from pg_class \
           where relnamespace = 'public'::regnamespace and relkind in ('r', 'S') order by relname;\n\
         select 'policy', polname, polrelid::regclass::text, xmin::text from pg_policy order by polname;\n\
         select 'role', rolname, xmin::text from pg_authid where rolname in ('anon', 'authenticated') order by rolname;\n\
         select 'function', proname, xmin::text from pg_proc where oid = 'auth.uid()'::regprocedure;\n\
         select 'schema', nspname, nspacl::text, xmin::text from pg_namespace where nspname = 'auth';",
    )
}

/// A session holding the locks a running server's transactions take on every table (an insert,
/// update or delete takes ROW EXCLUSIVE), until it is dropped.
struct Holder(Child);

impl Holder {
    fn start(pg: &Pg) -> Holder {
        let mut child = pg
            .psql_command("postgres")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("run psql");
        let stdin = child.stdin.as_mut().expect("psql stdin");
        writeln!(
            stdin,
            "begin;\nlock table {} in row exclusive mode;\nselect 'locked';",
            TABLES.join(", ")
        )
        .expect("write to psql");
        stdin.flush().expect("flush psql");
        let mut line = String::new();
        BufReader::new(child.stdout.as_mut().expect("psql stdout"))
            .read_line(&mut line)
            .expect("read from psql");
        assert_eq!(line.trim(), "locked", "the holder took its locks");
        Holder(child)
    }
}

impl Drop for Holder {
    fn drop(&mut self) {
        // Closing psql's input ends the session, and its transaction with it.
        drop(self.0.stdin.take());
        let _ = self.0.wait();
    }
}

/// `006_rls.sql`, run with a lock timeout: it fails rather than wait on a lock.
fn apply_rls_impatiently(pg: &Pg) -> PsqlOutput {
    let file = generated_files()
        .into_iter()
        .find(|f| f.ends_with("006_rls.sql"))
        .expect("generated/sql/006_rls.sql");
    let sql = std::fs::read_to_string(file).unwrap();
    pg.psql(&format!("set lock_timeout = '2s';\n{sql}"))
}

#[test]
fn applying_again_changes_nothing_and_waits_on_no_table_lock() {
    let pg = Pg::start();
    let files = generated_files();
    let (rls, rest) = files.split_last().expect("migrations");
    assert!(rls.ends_with("006_rls.sql"), "006_rls.sql applies last");
    for file in rest {
        let out = pg.psql_file("postgres", file);
        assert!(out.ok && out.stderr.is_empty(), "{}", out.stderr);
    }
    // The first time, row level security and the policies are made, which needs the tables
    // to itself: with a running server holding its locks, it waits (here: times out).
    {
        let _running = Holder::start(&pg);
        let out = apply_rls_impatiently(&pg);
        assert!(
            !out.ok && out.stderr.contains("lock timeout"),
            "the first application needs table locks: {out:?}"
        );
    }
    pg.apply_generated();
    let before = access_catalog(&pg);
    // Applied again, with the server's locks held: nothing to wait for, nothing rewritten.
    let running = Holder::start(&pg);
    let out = apply_rls_impatiently(&pg);
    assert!(
        out.ok && out.stderr.is_empty(),
        "applying 006_rls.sql again waited on a lock or failed:\n{}",
        out.stderr
    );
    drop(running);
    pg.apply_generated();
    assert_eq!(access_catalog(&pg), before);
}
