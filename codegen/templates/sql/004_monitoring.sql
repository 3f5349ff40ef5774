{% include "header.sql" %}
--
-- One view per metric of the deployment plan. Every window is a range of created_at, so each
-- view reads only the recent rows through generations_created_at_idx. Windows and thresholds
-- come from models/monitoring.yaml. Rates count finished generations (completed or failed);
-- pending and processing ones are not judged yet.

begin;

-- The views are replaced as a whole, so a regenerated view may change its columns. Dropping
-- one that does not exist yet reports a NOTICE; this transaction shows warnings and errors
-- only.
set local client_min_messages = warning;

drop view if exists
    monitoring_alerts,
    monitoring_recent_generations,
    monitoring_failed_generations,
    monitoring_success_rate,
    monitoring_latency,
    monitoring_model_failure_rate,
    monitoring_provider_error_rate,
    monitoring_provider_errors,
    monitoring_key_retrieval,
    monitoring_cost_mismatches,
    monitoring_output_shortfalls,
    monitoring_cost_drift;

-- Recent generations by model and status, with their average duration (the plan's first
-- query).
create view monitoring_recent_generations as
select
    model_id,
    status,
    count(*)                                                  as count,
    avg(extract(epoch from (updated_at - created_at)))        as avg_duration_seconds
from generations
where created_at > now() - {{ monitoring.recent_window }}
group by model_id, status
order by count desc, model_id, status;

-- Failed generations with their error, newest first (the plan's second query; a dashboard
-- adds its own limit).
create view monitoring_failed_generations as
select
    id,
    model_id,
    provider,
    status,
    provider_response -> 'error'                              as error_message,
    created_at
from generations
where status = 'failed'
  and created_at > now() - {{ monitoring.recent_window }}
order by created_at desc;

-- The success rate of all generations over each alert window, against the goal.
create view monitoring_success_rate as
select
    w.rule,
    w.time_window,
    s.finished,
    s.completed,
    s.failed,
    s.in_progress,
    round(100.0 * s.completed / nullif(s.finished, 0), 2) as success_rate_pct,
    round(100.0 * s.failed / nullif(s.finished, 0), 2) as failure_rate_pct,
    {{ monitoring.success_rate_goal }}::numeric as goal_pct,
    case
        when s.finished > 0 then s.completed * 100 >= {{ monitoring.success_rate_goal }} * s.finished
    end as meets_goal
from (
    values
        ({{ alerts.low_success_rate.rule }}, {{ alerts.low_success_rate.window }}),
        ({{ alerts.high_error_rate.rule }}, {{ alerts.high_error_rate.window }}),
        ({{ alerts.all_generations_failing.rule }}, {{ alerts.all_generations_failing.window }})
) as w (rule, time_window)
cross join lateral (
    select
        count(*) filter (where g.status in ({{ finished }})) as finished,
        count(*) filter (where g.status = 'completed') as completed,
        count(*) filter (where g.status = 'failed') as failed,
        count(*) filter (where g.status not in ({{ finished }})) as in_progress
    from generations g
    where g.created_at > now() - w.time_window
) as s;

-- Latency of completed generations per model, against the model's expected latency.
create view monitoring_latency as
select
    r.model_id,
    r.provider,
    count(*)                                                       as completed,
    extract(epoch from avg(g.completed_at - g.created_at))         as avg_latency_seconds,
    extract(epoch from max(g.completed_at - g.created_at))         as max_latency_seconds,
    trim_scale(extract(epoch from r.expected_latency))             as expected_latency_seconds,
    round(extract(epoch from avg(g.completed_at - g.created_at))
          / nullif(extract(epoch from r.expected_latency), 0), 2)  as latency_ratio
from generations g
join model_registry r on r.model_id = g.model_id
where g.created_at > now() - {{ alerts.high_latency.window }}
  and g.status = 'completed'
  and g.completed_at is not null
group by r.model_id, r.provider, r.expected_latency;

-- Failure rate per model.
create view monitoring_model_failure_rate as
select
    g.model_id,
    count(*)                                                   as finished,
    count(*) filter (where g.status = 'failed')                as failed,
    round(100.0 * count(*) filter (where g.status = 'failed') / count(*), 2)
                                                               as failure_rate_pct
from generations g
where g.created_at > now() - {{ alerts.model_failing.window }}
  and g.status in ({{ finished }})
group by g.model_id;

-- Error rate per provider.
create view monitoring_provider_error_rate as
select
    g.provider,
    count(*)                                                   as finished,
    count(*) filter (where g.status = 'failed')                as failed,
    round(100.0 * count(*) filter (where g.status = 'failed') / count(*), 2)
                                                               as error_rate_pct
from generations g
where g.created_at > now() - {{ alerts.provider_errors.window }}
  and g.status in ({{ finished }})
group by g.provider;

-- Errors per provider, grouped by the provider's error (provider_response.error).
create view monitoring_provider_errors as
select
    g.provider,
    coalesce(g.provider_response ->> 'error', '(no error recorded)')  as error,
    count(*)                                                          as count,
    max(g.created_at)                                                 as last_seen
from generations g
where g.status = 'failed'
  and g.created_at > now() - {{ alerts.provider_errors.window }}
group by g.provider, coalesce(g.provider_response ->> 'error', '(no error recorded)')
order by count desc, g.provider, error;

-- Key retrieval per provider and key scope; the goal is 100% success.
create view monitoring_key_retrieval as
select
    k.provider,
    k.key_scope,
    k.secret_name,
    count(*)                                                   as attempts,
    count(*) filter (where k.success)                          as succeeded,
    count(*) filter (where not k.success)                      as failed,
    round(100.0 * count(*) filter (where k.success) / count(*), 2)
                                                               as success_rate_pct,
    max(k.occurred_at) filter (where not k.success)            as last_failure_at,
    (array_agg(k.error order by k.occurred_at desc) filter (where not k.success))[1]
                                                               as last_error
from api_key_events k
where k.occurred_at > now() - {{ alerts.missing_api_key.window }}
group by k.provider, k.key_scope, k.secret_name;

-- Completed generations whose charge differs from the cost formula, or from what the
-- provider reported, or whose cost cannot be computed (problem says why). A charge refunded
-- pro rata for missing outputs is compared with its refund added back.
create view monitoring_cost_mismatches as
select
    g.id,
    g.model_id,
    g.provider,
    g.created_at,
    g.tokens_used                                              as charged,
    c.cost                                                     as expected,
    g.provider_cost,
    g.tokens_used + coalesce(g.credits_refunded, 0) is distinct from c.cost
                                                               as differs_from_formula,
    g.provider_cost is not null
        and g.provider_cost is distinct from g.tokens_used     as differs_from_provider,
    c.problem
from generations g
cross join lateral expected_credit_cost_detail(g.model_id, g.params) as c
where g.created_at > now() - {{ alerts.unexpected_token_cost.window }}
  and g.status = 'completed'
  and (
        g.tokens_used + coalesce(g.credits_refunded, 0) is distinct from c.cost
     or (g.provider_cost is not null and g.provider_cost is distinct from g.tokens_used)
  );

-- Output shortfalls per model: of the completed generations whose outputs were counted (the
-- model's cost counts them), how many came back with fewer than were charged for, how many
-- outputs were missing and how many credits were refunded pro rata.
create view monitoring_output_shortfalls as
select
    g.model_id,
    g.provider,
    count(*)                                                   as counted,
    count(*) filter (where g.outputs_received < g.outputs_expected)
                                                               as short,
    round(100.0 * count(*) filter (where g.outputs_received < g.outputs_expected) / count(*), 2)
                                                               as shortfall_rate_pct,
    coalesce(sum(g.outputs_expected - g.outputs_received)
             filter (where g.outputs_received < g.outputs_expected), 0)
                                                               as outputs_missing,
    coalesce(sum(g.credits_refunded), 0)                       as credits_refunded
from generations g
where g.created_at > now() - {{ alerts.output_shortfall.window }}
  and g.status = 'completed'
  and g.outputs_expected is not null
  and g.outputs_received is not null
group by g.model_id, g.provider;

-- Provider cost drift per model: of the completed generations whose provider reported what it
-- charged (provider_cost, in credits), the mean relative difference between that cost and the
-- user's charge (tokens_used: what the user paid, after any pro-rata refund for missing
-- outputs), as a fraction and in percent of the charge; positive when the provider charged
-- more than the users paid. A charge of 0 has no relative difference and is left out
-- (monitoring_cost_mismatches lists each generation that differs).
create view monitoring_cost_drift as
select
    g.model_id,
    g.provider,
    count(*)                                                   as sample,
    count(*) filter (where g.provider_cost <> g.tokens_used)   as differing,
    sum(g.tokens_used)                                         as charged,
    sum(g.provider_cost)                                       as provider_cost,
    avg((g.provider_cost - g.tokens_used) / g.tokens_used)     as mean_drift,
    round(100 * avg((g.provider_cost - g.tokens_used) / g.tokens_used), 2)
                                                               as mean_drift_pct
from generations g
where g.created_at > now() - {{ alerts.provider_cost_drift.window }}
  and g.status = 'completed'
  and g.provider_cost is not null
  and g.tokens_used > 0
group by g.model_id, g.provider;

-- The views read every user's rows with their owner's rights, past row level security
-- (006_rls.sql): no client role may read them. Supabase grants each new relation of public to
-- its client roles, anon and authenticated; that is taken back in the transaction that made
-- the views.
do $$
declare
    r text;
begin
    foreach r in array array['anon', 'authenticated'] loop
        if to_regrole(r) is not null then
            execute format(
                'revoke all on monitoring_recent_generations, monitoring_failed_generations, '
                'monitoring_success_rate, monitoring_latency, monitoring_model_failure_rate, '
                'monitoring_provider_error_rate, monitoring_provider_errors, '
                'monitoring_key_retrieval, monitoring_cost_mismatches, '
                'monitoring_output_shortfalls, monitoring_cost_drift from %I', r);
        end if;
    end loop;
end $$;

commit;
