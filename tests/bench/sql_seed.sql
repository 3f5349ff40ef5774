-- Seed a monitoring database for the index and timing checks: :rows generations (1,000,000
-- unless set with `psql -v rows=N`) spread evenly over the last 30 days across every model
-- of model_registry, plus one key retrieval per 10 generations.
--
-- Shape: about 4% of generations fail; one model (the sixth by id) fails 60% of the time, so
-- a few alerts fire; the newest minutes have some still processing; every completed
-- generation is charged exactly its formula's cost and takes its model's expected latency.
-- Applied after generated/sql/*.sql.

\if :{?rows}
\else
\set rows 1000000
\endif

set synchronous_commit = off;

-- Bulk load: the secondary indexes are dropped and rebuilt from their own definitions, which
-- is faster than maintaining them row by row.
create temp table seed_indexes as
select indexname, indexdef
from pg_indexes
where schemaname = 'public'
  and tablename in ('generations', 'api_key_events')
  and indexname not like '%\_pkey';
select format('drop index %I', indexname) from seed_indexes
\gexec

create temp table seed_models as
select
    row_number() over (order by model_id) - 1      as k,
    model_id,
    provider,
    content_type,
    expected_latency,
    expected_credit_cost(model_id, '{}')           as cost,
    key_scope,
    secret_name
from model_registry
where retired_at is null;

insert into generations (
    model_id, provider, content_type, status, params, tokens_used, provider_response,
    created_at, updated_at, completed_at
)
select
    m.model_id,
    m.provider,
    m.content_type,
    s.status,
    '{}'::jsonb,
    case when s.status = 'completed' then m.cost end,
    case when s.status = 'failed' then '{"error": "upstream timeout"}'::jsonb end,
    t.created_at,
    t.created_at + m.expected_latency,
    case when s.status in ('completed', 'failed') then t.created_at + m.expected_latency end
from generate_series(1, :rows) as i
cross join lateral (select now() - i * (interval '30 days' / :rows) as created_at) as t
join seed_models m on m.k = i % (select count(*) from seed_models)
cross join lateral (
    select case
        when t.created_at > now() - interval '2 minutes' and i % 3 = 0 then 'processing'
        when i % 100 < 4 then 'failed'
        when m.k = 5 and i % 10 < 6 then 'failed'
        else 'completed'
    end as status
) as s;

insert into api_key_events (occurred_at, provider, model_id, key_scope, secret_name, success, error)
select
    now() - i * (interval '30 days' / (:rows / 10)),
    m.provider,
    m.model_id,
    m.key_scope,
    m.secret_name,
    true,
    null
from generate_series(1, :rows / 10) as i
join seed_models m on m.k = i % (select count(*) from seed_models);

select indexdef from seed_indexes
\gexec

analyze generations;
analyze api_key_events;
analyze model_registry;
