{% include "header.sql" %}
--
-- Every model of models/, upserted into model_registry. A row changes only when its spec
-- did, so applying this file again changes nothing. A model whose spec was deleted is
-- marked retired and disabled, never silently left behind as if it were still offered.

begin;

{% if models %}
insert into model_registry as r (
    model_id, display_name, provider, content_type, execution_mode,
    key_scope, secret_name, enabled, expected_latency, timeout,
    cost_base, cost_factors, cost_round, cost_scale, cost_formula,
    param_defaults, source
)
values
{% for m in models %}
    -- {{ m.id_comment }} (models/{{ m.source_comment }})
    (
        {{ m.id }}, {{ m.display_name }}, {{ m.provider }}, {{ m.content_type }}, {{ m.execution_mode }},
        {{ m.key_scope }}, {{ m.secret_name }}, {{ m.enabled }}, {{ m.expected_latency }}, {{ m.timeout }},
        {{ m.cost_base }},
        {{ m.cost_factors }},
        {{ m.cost_round }}, {{ m.cost_scale }},
        {{ m.cost_formula }},
        {{ m.param_defaults }},
        {{ m.source }}
    ){% if not loop.last %},{% endif %}

{% endfor %}
on conflict (model_id) do update set
    display_name     = excluded.display_name,
    provider         = excluded.provider,
    content_type     = excluded.content_type,
    execution_mode   = excluded.execution_mode,
    key_scope        = excluded.key_scope,
    secret_name      = excluded.secret_name,
    enabled          = excluded.enabled,
    expected_latency = excluded.expected_latency,
    timeout          = excluded.timeout,
    cost_base        = excluded.cost_base,
    cost_factors     = excluded.cost_factors,
    cost_round       = excluded.cost_round,
    cost_scale       = excluded.cost_scale,
    cost_formula     = excluded.cost_formula,
    param_defaults   = excluded.param_defaults,
    source           = excluded.source,
    retired_at       = null,
    updated_at       = now()
where (
        r.display_name, r.provider, r.content_type, r.execution_mode,
        r.key_scope, r.secret_name, r.enabled, r.expected_latency, r.timeout,
        r.cost_base, r.cost_factors, r.cost_round, r.cost_scale, r.cost_formula,
        r.param_defaults, r.source, r.retired_at
    ) is distinct from (
        excluded.display_name, excluded.provider, excluded.content_type, excluded.execution_mode,
        excluded.key_scope, excluded.secret_name, excluded.enabled, excluded.expected_latency, excluded.timeout,
        excluded.cost_base, excluded.cost_factors, excluded.cost_round, excluded.cost_scale, excluded.cost_formula,
        excluded.param_defaults, excluded.source, null::timestamptz
    );
{% endif %}

-- Models no spec describes any more: retired and disabled. Their cost formula stays, so the
-- charges of their old generations can still be checked.
update model_registry
set retired_at = now(),
    enabled    = false,
    updated_at = now()
where retired_at is null
  and model_id <> all (array[
{% for id in model_ids %}
        {{ id }}{% if not loop.last %},{% endif %}

{% endfor %}
    ]::text[]);

commit;
