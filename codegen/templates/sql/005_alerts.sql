{% include "header.sql" %}
--
-- monitoring_alerts: one row per firing alert of the deployment plan, with its severity,
-- rule, subject (a model, a provider, a key, or all models), the observed value against the
-- threshold, the window, how many generations or key retrievals were judged (sample), and the
-- action of the plan's rollback decision matrix. No row: nothing fires.
--
-- Thresholds and windows come from models/monitoring.yaml. A rate alert needs at least
-- {{ monitoring.min_sample }} finished generations in its window (min_sample): fewer are too few to judge.
-- Rates are compared exactly (failed x 100 > threshold x finished); observed values are
-- percentages rounded to 2 places, latencies in seconds, mismatches and failures in counts.
-- The output-shortfall sample is the model's completed generations whose outputs were counted;
-- the cost-drift sample is the model's completed generations whose provider reported a cost.

begin;

create or replace view monitoring_alerts as
select severity, rule, subject, observed, threshold, time_window, sample, action
from (
    -- Missing API key: any failed key retrieval (the goal is 100% success).
    select
        {{ alerts.missing_api_key.severity }} as severity,
        {{ alerts.missing_api_key.rule }} as rule,
        k.secret_name as subject,
        k.failed::numeric as observed,
        {{ alerts.missing_api_key.threshold }}::numeric as threshold,
        {{ alerts.missing_api_key.window }} as time_window,
        k.attempts as sample,
        {{ alerts.missing_api_key.action }} as action
    from monitoring_key_retrieval k
    where k.failed > {{ alerts.missing_api_key.threshold }}

    union all

    -- High error rate: too many of all generations failed in the window.
    select
        {{ alerts.high_error_rate.severity }},
        {{ alerts.high_error_rate.rule }},
        'all models',
        s.failure_rate_pct,
        {{ alerts.high_error_rate.threshold }},
        s.time_window,
        s.finished,
        {{ alerts.high_error_rate.action }}
    from monitoring_success_rate s
    where s.rule = {{ alerts.high_error_rate.rule }}
      and s.finished >= {{ monitoring.min_sample }}
      and s.failed * 100 > {{ alerts.high_error_rate.threshold }} * s.finished

    union all

    -- All generations failing: every finished generation of the window failed.
    select
        {{ alerts.all_generations_failing.severity }},
        {{ alerts.all_generations_failing.rule }},
        'all models',
        s.failure_rate_pct,
        {{ alerts.all_generations_failing.threshold }},
        s.time_window,
        s.finished,
        {{ alerts.all_generations_failing.action }}
    from monitoring_success_rate s
    where s.rule = {{ alerts.all_generations_failing.rule }}
      and s.finished >= {{ monitoring.min_sample }}
      and s.failed * 100 >= {{ alerts.all_generations_failing.threshold }} * s.finished

    union all

    -- Low success rate over the window.
    select
        {{ alerts.low_success_rate.severity }},
        {{ alerts.low_success_rate.rule }},
        'all models',
        s.success_rate_pct,
        {{ alerts.low_success_rate.threshold }},
        s.time_window,
        s.finished,
        {{ alerts.low_success_rate.action }}
    from monitoring_success_rate s
    where s.rule = {{ alerts.low_success_rate.rule }}
      and s.finished >= {{ monitoring.min_sample }}
      and s.completed * 100 < {{ alerts.low_success_rate.threshold }} * s.finished

    union all

    -- Increased latency: a model's average latency over a factor of its expected latency
    -- (observed and threshold in seconds).
    select
        {{ alerts.high_latency.severity }},
        {{ alerts.high_latency.rule }},
        l.model_id,
        round(l.avg_latency_seconds, 3),
        {{ alerts.high_latency.threshold }} * l.expected_latency_seconds,
        {{ alerts.high_latency.window }},
        l.completed,
        {{ alerts.high_latency.action }}
    from monitoring_latency l
    where l.completed >= {{ monitoring.min_sample }}
      and l.avg_latency_seconds > {{ alerts.high_latency.threshold }} * l.expected_latency_seconds

    union all

    -- Specific model failing.
    select
        {{ alerts.model_failing.severity }},
        {{ alerts.model_failing.rule }},
        m.model_id,
        m.failure_rate_pct,
        {{ alerts.model_failing.threshold }},
        {{ alerts.model_failing.window }},
        m.finished,
        {{ alerts.model_failing.action }}
    from monitoring_model_failure_rate m
    where m.finished >= {{ monitoring.min_sample }}
      and m.failed * 100 > {{ alerts.model_failing.threshold }} * m.finished

    union all

    -- Errors of one provider.
    select
        {{ alerts.provider_errors.severity }},
        {{ alerts.provider_errors.rule }},
        p.provider,
        p.error_rate_pct,
        {{ alerts.provider_errors.threshold }},
        {{ alerts.provider_errors.window }},
        p.finished,
        {{ alerts.provider_errors.action }}
    from monitoring_provider_error_rate p
    where p.finished >= {{ monitoring.min_sample }}
      and p.failed * 100 > {{ alerts.provider_errors.threshold }} * p.finished

    union all

    -- Unexpected token costs: charges that differ from the cost formula (observed: how many).
    select
        {{ alerts.unexpected_token_cost.severity }},
        {{ alerts.unexpected_token_cost.rule }},
        c.model_id,
        count(*),
        {{ alerts.unexpected_token_cost.threshold }},
        {{ alerts.unexpected_token_cost.window }},
        count(*),
        {{ alerts.unexpected_token_cost.action }}
    from monitoring_cost_mismatches c
    where c.differs_from_formula
    group by c.model_id
    having count(*) > {{ alerts.unexpected_token_cost.threshold }}

    union all

    -- Output shortfall: too many of one model's counted completions came back with fewer
    -- outputs than were charged for (each was refunded pro rata).
    select
        {{ alerts.output_shortfall.severity }},
        {{ alerts.output_shortfall.rule }},
        o.model_id,
        o.shortfall_rate_pct,
        {{ alerts.output_shortfall.threshold }},
        {{ alerts.output_shortfall.window }},
        o.counted,
        {{ alerts.output_shortfall.action }}
    from monitoring_output_shortfalls o
    where o.counted >= {{ monitoring.min_sample }}
      and o.short * 100 > {{ alerts.output_shortfall.threshold }} * o.counted

    union all

    -- Provider cost drift: the costs the provider reported for one model's generations differ
    -- from what the users were charged by more than the tolerance, on average over the window
    -- (observed: the mean difference in percent of the charge, negative when the provider
    -- charged less).
    select
        {{ alerts.provider_cost_drift.severity }},
        {{ alerts.provider_cost_drift.rule }},
        d.model_id,
        d.mean_drift_pct,
        {{ alerts.provider_cost_drift.threshold }},
        {{ alerts.provider_cost_drift.window }},
        d.sample,
        {{ alerts.provider_cost_drift.action }}
    from monitoring_cost_drift d
    where d.sample >= {{ monitoring.min_sample }}
      and abs(d.mean_drift) * 100 > {{ alerts.provider_cost_drift.threshold }}
) as firing
order by severity = 'critical' desc, rule, subject;

-- Like the metric views, no client role may read it (see 004_monitoring.sql).
do $$
declare
    r text;
begin
    foreach r in array array['anon', 'authenticated'] loop
        if to_regrole(r) is not null then
            execute format('revoke all on monitoring_alerts from %I', r);
        end if;
    end loop;
end $$;

commit;
