{% include "header.sql" %}
--
-- The tables the runtime writes and the monitoring views read. Applying this file again
-- changes nothing: every statement is "if not exists". Applied to an up-to-date database it
-- takes no lock on a table (a column or an index is made only when it is missing), so a server
-- instance migrating at start never waits on, or deadlocks with, the instances already running.

begin;

-- Applying again makes each "if not exists" report "already exists, skipping" as a NOTICE.
-- Those notices are expected here, so this transaction shows warnings and errors only.
set local client_min_messages = warning;

-- One row per generation: the deployment plan's table, with its column names, so existing
-- records stay valid.
create table if not exists generations (
    id                uuid        primary key default gen_random_uuid(),
    user_id           uuid,
    model_id          text        not null,
    provider          text        not null,
    content_type      text        not null,
    status            text        not null default 'pending',
    params            jsonb       not null default '{}',
    provider_response jsonb,                    -- the provider's answer; "error" on failure
    tokens_used       numeric,                  -- credits charged
    provider_cost     numeric,                  -- credits the provider says it charged, if it says
    created_at        timestamptz not null default now(),
    updated_at        timestamptz not null default now(),
    completed_at      timestamptz,
    outputs_expected  integer,                  -- outputs charged for (the counting param's value)
    outputs_received  integer,                  -- outputs the provider returned
    credits_refunded  numeric,                  -- credits given back for missing outputs
    lease_owner       text,                     -- the server instance running it, while unfinished
    lease_expires_at  timestamptz,              -- when another instance may take it over
    next_poll_at      timestamptz,              -- when the provider is next asked about it

    constraint generations_status_check
        check (status in ({{ statuses }}))
);

-- A table older than this file gains the columns the monitoring and the runtime read, each
-- only when it is missing (`alter table` locks the table even when there is nothing to add).
do $$
declare
    col record;
begin
    for col in select * from (values
        ('provider_cost',    'numeric'),
        ('completed_at',     'timestamptz'),
        ('outputs_expected', 'integer'),
        ('outputs_received', 'integer'),
        ('credits_refunded', 'numeric'),
        ('lease_owner',      'text'),
        ('lease_expires_at', 'timestamptz'),
        ('next_poll_at',     'timestamptz')
    ) as c(name, type) loop
        if not exists (select from pg_attribute
                       where attrelid = 'generations'::regclass
                         and attname = col.name and not attisdropped) then
            execute format('alter table generations add column if not exists %I %s', col.name, col.type);
        end if;
    end loop;
end $$;

-- Each index is made only when it is missing: `create index` locks its table against writes
-- before it looks.

-- Every monitoring window is a range of created_at.
do $$ begin
    if to_regclass('generations_created_at_idx') is null then
        create index if not exists generations_created_at_idx
            on generations (created_at);
    end if;
end $$;

-- Per-model dashboards over a window.
do $$ begin
    if to_regclass('generations_model_id_created_at_idx') is null then
        create index if not exists generations_model_id_created_at_idx
            on generations (model_id, created_at);
    end if;
end $$;

-- The failed generations of the last hour.
do $$ begin
    if to_regclass('generations_failed_created_at_idx') is null then
        create index if not exists generations_failed_created_at_idx
            on generations (created_at)
            where status = 'failed';
    end if;
end $$;

-- The unfinished generations whose lease has run out, for an instance to take over.
do $$ begin
    if to_regclass('generations_unfinished_lease_idx') is null then
        create index if not exists generations_unfinished_lease_idx
            on generations (lease_expires_at nulls first)
            where status in ({{ unfinished }});
    end if;
end $$;

-- One row per attempt to resolve a provider key: the key-retrieval metric and the
-- missing-key alert. Names only: a key's value is never stored.
create table if not exists api_key_events (
    id          bigint      generated always as identity primary key,
    occurred_at timestamptz not null default now(),
    provider    text        not null,
    model_id    text,
    key_scope   text        not null,           -- the use case, such as prompt_to_video
    secret_name text        not null,           -- the secret's name, never its value
    success     boolean     not null,
    error       text
);

do $$ begin
    if to_regclass('api_key_events_occurred_at_idx') is null then
        create index if not exists api_key_events_occurred_at_idx
            on api_key_events (occurred_at);
    end if;
end $$;

-- The runtime's credit ledger: one balance per user. Charged amounts are deducted from it;
-- open holds are not, so what a user can spend is the balance less `held`, the sum of their
-- reserved holds, which every reserve and every release moves in its own transaction.
create table if not exists credit_accounts (
    user_id uuid    primary key,
    balance numeric not null,
    held    numeric not null default 0
);

-- One hold per generation: reserved when it starts, then charged (the amount charged, which
-- sums to the generation's tokens_used) or refunded, in the same transaction as its end.
create table if not exists credit_holds (
    generation_id uuid    primary key,
    user_id       uuid    not null,
    amount        numeric not null,
    state         text    not null,

    constraint credit_holds_state_check
        check (state in ('reserved', 'charged', 'refunded'))
);

-- A user's open holds (the account's `held` is their sum).
do $$ begin
    if to_regclass('credit_holds_open_idx') is null then
        create index if not exists credit_holds_open_idx
            on credit_holds (user_id)
            where state = 'reserved';
    end if;
end $$;

-- A ledger older than `held` gains it, summed from the open holds.
do $$ begin
    if not exists (select from pg_attribute
                   where attrelid = 'credit_accounts'::regclass
                     and attname = 'held' and not attisdropped) then
        alter table credit_accounts add column if not exists held numeric not null default 0;
        update credit_accounts a
           set held = (select coalesce(sum(h.amount), 0) from credit_holds h
                        where h.user_id = a.user_id and h.state = 'reserved');
    end if;
end $$;

-- Webhook message ids already handled (Standard Webhooks' webhook-id), so a retried delivery
-- is not acted on twice. Ids older than a day are dropped.
create table if not exists webhook_deliveries (
    provider    text        not null,
    delivery_id text        not null,
    received_at timestamptz not null default now(),

    primary key (provider, delivery_id)
);

do $$ begin
    if to_regclass('webhook_deliveries_received_at_idx') is null then
        create index if not exists webhook_deliveries_received_at_idx
            on webhook_deliveries (received_at);
    end if;
end $$;

-- Requests made with an Idempotency-Key, per user: in flight until answered, then the answer
-- is replayed to a repeat. Records older than a day are dropped.
create table if not exists idempotency_keys (
    user_id          uuid        not null,
    idempotency_key  text        not null,
    fingerprint      text        not null,      -- a digest of the first request's body
    generation_id    uuid,                      -- the generation it started, once it did
    response_status  integer,                   -- the answer's HTTP status; null while in flight
    response_headers jsonb,                     -- [[name, value], ...] of the answer
    response_body    text,
    created_at       timestamptz not null default now(),
    updated_at       timestamptz not null default now(),

    primary key (user_id, idempotency_key)
);

do $$ begin
    if to_regclass('idempotency_keys_created_at_idx') is null then
        create index if not exists idempotency_keys_created_at_idx
            on idempotency_keys (created_at);
    end if;
end $$;

-- The model specs, one row per model, upserted by 002_registry.sql. A model whose spec was
-- deleted stays, retired and disabled, so its old generations still join.
create table if not exists model_registry (
    model_id         text        primary key,
    display_name     text        not null,
    provider         text        not null,
    content_type     text        not null,
    execution_mode   text        not null,      -- sync, poll or webhook
    key_scope        text        not null,
    secret_name      text        not null,      -- the secret's name, never its value
    enabled          boolean     not null,      -- false: rolled back, kept but not run
    expected_latency interval    not null,
    timeout          interval    not null,
    cost_base        numeric     not null,
    cost_factors     jsonb       not null,      -- [{kind: table|ratio|count, param, ...}]
    cost_round       text        not null,
    cost_scale       integer     not null,
    cost_formula     text        not null,      -- the same formula, for people
    param_defaults   jsonb       not null,      -- param -> default, applied before costing
    source           text        not null,      -- the spec file under models/
    retired_at       timestamptz,               -- when the spec disappeared from models/
    updated_at       timestamptz not null default now(),

    constraint model_registry_cost_round_check
        check (cost_round in ({{ round_modes }})),
    constraint model_registry_cost_scale_check
        check (cost_scale >= 0)
);

commit;
