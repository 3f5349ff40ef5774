{% include "header.sql" %}
--
-- The tables the runtime writes and the monitoring views read. Applying this file again
-- changes nothing: every statement is "if not exists".

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

    constraint generations_status_check
        check (status in ({{ statuses }}))
);

-- A table older than this file gains the columns the monitoring reads.
alter table generations add column if not exists provider_cost numeric;
alter table generations add column if not exists completed_at timestamptz;
alter table generations add column if not exists outputs_expected integer;
alter table generations add column if not exists outputs_received integer;
alter table generations add column if not exists credits_refunded numeric;

-- Every monitoring window is a range of created_at.
create index if not exists generations_created_at_idx
    on generations (created_at);

-- Per-model dashboards over a window.
create index if not exists generations_model_id_created_at_idx
    on generations (model_id, created_at);

-- The failed generations of the last hour.
create index if not exists generations_failed_created_at_idx
    on generations (created_at)
    where status = 'failed';

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

create index if not exists api_key_events_occurred_at_idx
    on api_key_events (occurred_at);

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
