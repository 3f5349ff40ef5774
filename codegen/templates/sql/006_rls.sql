{% include "header.sql" %}
--
-- Row level security, for a database that clients reach directly: Supabase's API runs their
-- queries as the role `anon` (no session) or `authenticated` (a signed-in user, whose id
-- auth.uid() returns). What a client role may read:
--
--   generations          authenticated: its own rows (user_id = auth.uid())
--   credit_accounts      authenticated: its own balance
--   model_registry       anon and authenticated: every row
--   api_key_events, credit_holds, webhook_deliveries, idempotency_keys: nothing
--
-- Every table has row level security enabled, and a client role may write nothing: there is no
-- insert, update or delete policy, and a client role holds the select privilege where a policy
-- lets it read and no other (Supabase grants every privilege on a new table of public to anon
-- and authenticated, and row level security does not cover truncate). A table it may not read
-- answers "permission denied", on Supabase and on plain Postgres alike. The monitoring views
-- read with their owner's rights, past these policies, so 004_monitoring.sql and
-- 005_alerts.sql take the client roles' privileges on them away as they make them.
--
-- The server connects as the tables' owner, to which row level security does not apply (it is
-- not forced), so it reads and writes every row as before.
--
-- On plain Postgres the roles `anon` and `authenticated` (which takes the CREATEROLE
-- attribute, the first time), the schema `auth` and a stand-in auth.uid() are made when
-- missing; it reads the user id the way Supabase's does, from the setting
-- request.jwt.claim.sub or the `sub` of request.jwt.claims. Supabase's own are left as they
-- are.
--
-- Applying again changes nothing and, like 001_schema.sql, takes no lock on a table: each
-- statement runs only when what it makes is missing or differs (`alter table` locks the table
-- even when there is nothing to change, and `create policy` has no "if not exists"). A policy
-- is never changed in place: a changed one gets a new name, and the old name is dropped here.

begin;

set local client_min_messages = warning;

-- The client roles, as Supabase names them.
do $$ begin
    if to_regrole('anon') is null then
        create role anon nologin noinherit;
    end if;
exception when duplicate_object or unique_violation then
    null; -- made meanwhile by another session
end $$;

do $$ begin
    if to_regrole('authenticated') is null then
        create role authenticated nologin noinherit;
    end if;
exception when duplicate_object or unique_violation then
    null;
end $$;

-- auth.uid(): the signed-in user's id, or null.
do $$ begin
    if to_regnamespace('auth') is null then
        create schema auth;
    end if;
    if to_regprocedure('auth.uid()') is null then
        create function auth.uid() returns uuid
            language sql stable
            as $fn$
                select coalesce(
                    nullif(current_setting('request.jwt.claim.sub', true), ''),
                    nullif(current_setting('request.jwt.claims', true), '')::jsonb ->> 'sub'
                )::uuid
            $fn$;
    end if;
    -- The policies call it as the client role.
    if not has_schema_privilege('anon', 'auth', 'usage') then
        grant usage on schema auth to anon;
    end if;
    if not has_schema_privilege('authenticated', 'auth', 'usage') then
        grant usage on schema auth to authenticated;
    end if;
end $$;

-- Row level security on every table: a client role sees the rows a policy lets it, no others.
do $$
declare
    t text;
begin
    foreach t in array array[
        'generations', 'api_key_events', 'model_registry',
        'credit_accounts', 'credit_holds', 'webhook_deliveries', 'idempotency_keys'
    ] loop
        if not (select relrowsecurity from pg_class where oid = t::regclass) then
            execute format('alter table %I enable row level security', t);
        end if;
    end loop;
end $$;

-- A signed-in user reads their own generations. `(select auth.uid())` is computed once per
-- query, not once per row.
do $$ begin
    if not exists (select from pg_policy
                   where polrelid = 'generations'::regclass and polname = 'generations_select_own') then
        create policy generations_select_own on generations
            for select to authenticated
            using ((select auth.uid()) = user_id);
    end if;
end $$;

-- A signed-in user reads their own balance.
do $$ begin
    if not exists (select from pg_policy
                   where polrelid = 'credit_accounts'::regclass and polname = 'credit_accounts_select_own') then
        create policy credit_accounts_select_own on credit_accounts
            for select to authenticated
            using ((select auth.uid()) = user_id);
    end if;
end $$;

-- Anyone reads the registry (the model list, costs and formulas; secret names, never values).
do $$ begin
    if not exists (select from pg_policy
                   where polrelid = 'model_registry'::regclass and polname = 'model_registry_select_all') then
        create policy model_registry_select_all on model_registry
            for select to anon, authenticated
            using (true);
    end if;
end $$;

-- The client roles' privileges: select where a policy above lets the role read, nothing else.
-- Each privilege is granted or revoked only when the table's ACL differs.
do $$
declare
    a record;
    x record;
begin
    for a in select * from (values
        ('generations',        'anon',          false),
        ('generations',        'authenticated', true),
        ('credit_accounts',    'anon',          false),
        ('credit_accounts',    'authenticated', true),
        ('model_registry',     'anon',          true),
        ('model_registry',     'authenticated', true),
        ('api_key_events',     'anon',          false),
        ('api_key_events',     'authenticated', false),
        ('credit_holds',       'anon',          false),
        ('credit_holds',       'authenticated', false),
        ('webhook_deliveries', 'anon',          false),
        ('webhook_deliveries', 'authenticated', false),
        ('idempotency_keys',   'anon',          false),
        ('idempotency_keys',   'authenticated', false)
    ) as v(tab, role, reads) loop
        for x in select acl.privilege_type
                 from pg_class c cross join lateral aclexplode(c.relacl) acl
                 where c.oid = a.tab::regclass
                   and acl.grantee = a.role::regrole
                   and not (a.reads and acl.privilege_type = 'SELECT') loop
            execute format('revoke %s on %I from %I', x.privilege_type, a.tab, a.role);
        end loop;
        if a.reads and not exists (
            select from pg_class c cross join lateral aclexplode(c.relacl) acl
            where c.oid = a.tab::regclass
              and acl.grantee = a.role::regrole
              and acl.privilege_type = 'SELECT'
        ) then
            execute format('grant select on %I to %I', a.tab, a.role);
        end if;
    end loop;
end $$;

-- Nor may a client role use api_key_events' id sequence (its value tells how many keys were
-- looked up).
do $$
declare
    s regclass := pg_get_serial_sequence('api_key_events', 'id')::regclass;
    x record;
begin
    for x in select acl.privilege_type, r.rolname
             from pg_class c
             cross join lateral aclexplode(c.relacl) acl
             join pg_roles r on r.oid = acl.grantee
             where c.oid = s and r.rolname in ('anon', 'authenticated') loop
        execute format('revoke %s on sequence %s from %I', x.privilege_type, s, x.rolname);
    end loop;
end $$;

commit;
