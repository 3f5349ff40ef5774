{% include "header.sql" %}
--
-- expected_credit_cost(model_id, params): what a generation must cost, by the model's cost
-- formula in model_registry. The algorithm is the one of the Rust runtime and the TypeScript
-- bindings (runtime/src/cost.rs), so all three agree to the last digit:
--
--   1. numerator   = base x every table factor x every ratio's param value x every count,
--                    multiplied exactly (a numeric product is never rounded);
--   2. denominator = the product of every ratio's "per";
--   3. result      = numerator / denominator, rounded once to cost_scale places by integer
--                    division with remainder: ceil toward +infinity, floor toward -infinity,
--                    half_up to nearest with halves away from zero, half_even with halves to
--                    even.
--
-- Defaults apply to missing or null params. A factor with a "field" reads that field of an
-- object param (its "field_default" applies when the field is missing or null). An unknown
-- model, a missing param the formula needs, or a value it cannot use is an error, never 0.

begin;

-- The cost, or why there is none. It never raises for bad input, so that a view can list the
-- generations whose charge cannot be checked instead of failing on them.
create or replace function expected_credit_cost_detail(
    model_id text,
    params jsonb,
    out cost numeric,
    out problem text,
    out problem_code text
)
language plpgsql
stable
as $$
declare
    formula     model_registry%rowtype;
    i           integer;
    factor      jsonb;
    param       text;
    field       text;
    given       jsonb;
    kind        text;
    entry_key   text;
    amount      numeric;
    numerator   numeric;
    denominator numeric := 1;
    scaled      numeric;
    quotient    numeric;
    remainder   numeric;
    twice       numeric;
    away        boolean;
begin
    select * into formula
    from model_registry r
    where r.model_id = expected_credit_cost_detail.model_id;
    if not found then
        problem := format('unknown model %s', coalesce(expected_credit_cost_detail.model_id, 'null'));
        problem_code := 'no_data_found';
        return;
    end if;

    numerator := formula.cost_base;
    for i in 0 .. jsonb_array_length(formula.cost_factors) - 1 loop
        factor := formula.cost_factors -> i;
        param := factor ->> 'param';
        given := coalesce(
            nullif(coalesce(expected_credit_cost_detail.params, '{}') -> param, 'null'),
            nullif(formula.param_defaults -> param, 'null')
        );
        -- A field of an object param: named param.field from here on.
        field := factor ->> 'field';
        if field is not null and given is not null then
            if jsonb_typeof(given) <> 'object' then
                problem := format('cost of %s cannot use %s.%s = %s: not an object',
                                  formula.model_id, param, field, given);
                problem_code := 'invalid_parameter_value';
                return;
            end if;
            given := coalesce(nullif(given -> field, 'null'), nullif(factor -> 'field_default', 'null'));
        end if;
        if field is not null then
            param := param || '.' || field;
        end if;
        if given is null then
            problem := format('cost of %s needs param %s, which is missing', formula.model_id, param);
            problem_code := 'invalid_parameter_value';
            return;
        end if;

        -- A JSON number counts only when it is whole, as in the other languages.
        kind := case
            when jsonb_typeof(given) = 'number' and given #>> '{}' ~ '^-?[0-9]+$' then 'integer'
            else jsonb_typeof(given)
        end;

        case factor ->> 'kind'
            when 'table' then
                -- Looked up by the value as text: "720p", "5", "true".
                entry_key := case when kind in ('string', 'integer', 'boolean') then given #>> '{}' end;
                if entry_key is null or not (factor -> 'entries') ? entry_key then
                    problem := format('cost of %s cannot use %s = %s: no factor for this value',
                                      formula.model_id, param, given);
                    problem_code := 'invalid_parameter_value';
                    return;
                end if;
                numerator := numerator * (factor -> 'entries' ->> entry_key)::numeric;

            when 'ratio' then
                -- value / per: the value joins the numerator, per the denominator.
                amount := case
                    when kind = 'integer' then (given #>> '{}')::numeric
                    when kind = 'string' and given #>> '{}' ~ '^-?[0-9]+(\.[0-9]+)?$'
                        then (given #>> '{}')::numeric
                end;
                if amount is null then
                    problem := format('cost of %s cannot use %s = %s: not an integer or a decimal string',
                                      formula.model_id, param, given);
                    problem_code := 'invalid_parameter_value';
                    return;
                end if;
                numerator := numerator * amount;
                denominator := denominator * (factor ->> 'per')::numeric;

            when 'count' then
                -- An integer's value or a list's number of items.
                amount := case
                    when kind = 'integer' then (given #>> '{}')::numeric
                    when kind = 'array' then jsonb_array_length(given)
                end;
                if amount is null then
                    problem := format('cost of %s cannot use %s = %s: not an integer or a list',
                                      formula.model_id, param, given);
                    problem_code := 'invalid_parameter_value';
                    return;
                end if;
                numerator := numerator * amount;

            else
                problem := format('cost of %s has an unknown factor kind %s', formula.model_id, factor ->> 'kind');
                problem_code := 'data_exception';
                return;
        end case;
    end loop;

    -- One rounding: numerator x 10^scale divided by the denominator, with remainder.
    scaled := numerator * ('1e' || formula.cost_scale)::numeric;
    quotient := div(scaled, denominator);              -- truncated toward zero
    remainder := scaled - quotient * denominator;      -- same sign as scaled
    if remainder <> 0 then
        twice := 2 * abs(remainder);
        away := case formula.cost_round
            when 'ceil'      then scaled > 0
            when 'floor'     then scaled < 0
            when 'half_up'   then twice >= denominator
            when 'half_even' then twice > denominator or (twice = denominator and mod(quotient, 2) <> 0)
        end;
        if away then
            quotient := quotient + sign(scaled);
        end if;
    end if;

    -- Canonical form: no trailing zeros, as "12" or "2.5".
    cost := trim_scale(quotient * ('1e-' || formula.cost_scale)::numeric);
end;
$$;

-- The cost of params for a model; raises on an unknown model (no_data_found) and on a param
-- the formula cannot use (invalid_parameter_value). Never 0 for bad input.
create or replace function expected_credit_cost(model_id text, params jsonb)
returns numeric
language plpgsql
stable
as $$
declare
    result record;
begin
    select * into result
    from expected_credit_cost_detail(expected_credit_cost.model_id, expected_credit_cost.params);
    if result.problem is not null then
        raise exception 'expected_credit_cost: %', result.problem
            using errcode = result.problem_code;
    end if;
    return result.cost;
end;
$$;

commit;
