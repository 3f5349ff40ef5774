//! Params: each spec param checked and lowered, its default checked by the core rules.

use super::*;

/// Check a param's fields against its type and lower it.
pub(super) fn param(r: &mut Reporter<'_>, at: &str, name: &str, ps: &ParamSpec) -> Option<Param> {
    let before = r.count;
    let ty = ps.kind;
    let type_name = variant_name(&ty);
    // Fields that only fit some types.
    let fits: [(&str, bool, &[ParamType]); 8] = [
        ("min_length", ps.min_length.is_some(), &[ParamType::String]),
        ("max_length", ps.max_length.is_some(), &[ParamType::String]),
        (
            "min",
            ps.min.is_some(),
            &[ParamType::Integer, ParamType::Decimal],
        ),
        (
            "max",
            ps.max.is_some(),
            &[ParamType::Integer, ParamType::Decimal],
        ),
        (
            "step",
            ps.step.is_some(),
            &[ParamType::Integer, ParamType::Decimal],
        ),
        (
            "values",
            ps.values.is_some(),
            &[ParamType::Integer, ParamType::Enum],
        ),
        ("items", ps.items.is_some(), &[ParamType::Array]),
        (
            "min_items",
            ps.min_items.is_some() || ps.max_items.is_some(),
            &[ParamType::Array],
        ),
    ];
    for (field, present, types) in fits {
        if present && !types.contains(&ty) {
            let field = if field == "min_items" && ps.min_items.is_none() {
                "max_items"
            } else {
                field
            };
            r.at_key(
                Code::FieldNotForType,
                &format!("{at}/{field}"),
                format!("`{field}` does not apply to `{type_name}` params"),
            )
            .expect(format!(
                "a `{field}` only on {} params",
                types
                    .iter()
                    .map(|t| format!("`{}`", variant_name(t)))
                    .collect::<Vec<_>>()
                    .join(" or ")
            ))
            .help(format!("remove `{field}`, or change `type`"));
        }
    }
    if ps.send_as == Some(SendAs::String)
        && !matches!(
            ty,
            ParamType::Integer | ParamType::Decimal | ParamType::Boolean
        )
    {
        r.at(
            Code::SendAsRedundant,
            &format!("{at}/send_as"),
            format!("a `{type_name}` param is already sent as a string"),
        )
        .help("remove `send_as`");
    }
    if ps.required && ps.default.is_some() {
        r.at_key(
            Code::RequiredWithDefault,
            &format!("{at}/default"),
            "a required param cannot have a default",
        )
        .help("remove `default`, or `required: true`");
    }

    let int = |r: &mut Reporter<'_>, field: &str, v: &Option<Value>| -> Option<i64> {
        let v = v.as_ref()?;
        match v.as_i64() {
            Some(i) => Some(i),
            None => {
                r.at(
                    Code::WrongType,
                    &format!("{at}/{field}"),
                    format!("expected an integer, found {}", describe(v)),
                );
                None
            }
        }
    };
    let dec = |r: &mut Reporter<'_>, field: &str, v: &Option<Value>| -> Option<String> {
        let v = v.as_ref()?;
        let parsed = match v {
            Value::String(s) => parse_decimal(s),
            Value::Number(n) if n.is_i64() => parse_decimal(&n.to_string()),
            other => Err(format!(
                "expected a decimal string, found {}",
                describe(other)
            )),
        };
        match parsed {
            Ok(d) => Some(canonical(d)),
            Err(e) => {
                r.at(Code::BadDecimal, &format!("{at}/{field}"), e)
                    .expect("a decimal string such as \"0.5\"")
                    .help("quote decimals so they stay exact");
                None
            }
        }
    };

    let kind = match ty {
        ParamType::String => {
            if let (Some(a), Some(b)) = (ps.min_length, ps.max_length) {
                if a > b {
                    r.at(
                        Code::BoundsReversed,
                        &format!("{at}/min_length"),
                        format!("`min_length` {a} is greater than `max_length` {b}"),
                    );
                }
            }
            ParamKind::String {
                min_length: ps.min_length,
                max_length: ps.max_length,
            }
        }
        ParamType::Integer => {
            let min = int(r, "min", &ps.min);
            let max = int(r, "max", &ps.max);
            let step = int(r, "step", &ps.step);
            if let (Some(a), Some(b)) = (min, max) {
                if a > b {
                    r.at(
                        Code::BoundsReversed,
                        &format!("{at}/min"),
                        format!("`min` {a} is greater than `max` {b}"),
                    );
                }
            }
            if let Some(s) = step {
                if s <= 0 {
                    r.at(
                        Code::StepNotPositive,
                        &format!("{at}/step"),
                        "`step` must be positive",
                    );
                }
            }
            let values = ps.values.as_ref().map(|vs| {
                let mut out = Vec::new();
                for (i, v) in vs.iter().enumerate() {
                    match v.as_i64() {
                        Some(n) => out.push(n),
                        None => {
                            r.at(
                                Code::WrongType,
                                &format!("{at}/values/{i}"),
                                format!("expected an integer, found {}", describe(v)),
                            );
                        }
                    }
                }
                out
            });
            ParamKind::Integer {
                min,
                max,
                step,
                values,
            }
        }
        ParamType::Decimal => {
            let min = dec(r, "min", &ps.min);
            let max = dec(r, "max", &ps.max);
            let step = dec(r, "step", &ps.step);
            if let (Some(a), Some(b)) = (&min, &max) {
                if parse_decimal(a).ok() > parse_decimal(b).ok() {
                    r.at(
                        Code::BoundsReversed,
                        &format!("{at}/min"),
                        format!("`min` {a} is greater than `max` {b}"),
                    );
                }
            }
            ParamKind::Decimal { min, max, step }
        }
        ParamType::Enum => {
            let mut values = Vec::new();
            match &ps.values {
                None => {
                    r.at(
                        Code::EnumWithoutValues,
                        at,
                        "an `enum` param needs `values`",
                    )
                    .help("add `values: [a, b, c]`");
                }
                Some(vs) if vs.is_empty() => {
                    r.at(
                        Code::EnumWithoutValues,
                        &format!("{at}/values"),
                        "an `enum` param needs at least one value",
                    );
                }
                Some(vs) => {
                    for (i, v) in vs.iter().enumerate() {
                        match v.as_str() {
                            Some(s) if values.iter().any(|x| x == s) => {
                                r.at(
                                    Code::BadEnumValue,
                                    &format!("{at}/values/{i}"),
                                    format!("duplicate value `{s}`"),
                                );
                            }
                            Some("") => {
                                r.at(
                                    Code::BadEnumValue,
                                    &format!("{at}/values/{i}"),
                                    "an enum value cannot be empty",
                                );
                            }
                            Some(s) => values.push(s.to_owned()),
                            None => {
                                r.at(Code::WrongType, &format!("{at}/values/{i}"), format!("expected a string, found {}", describe(v)))
                                    .help("quote enum values: `\"5\"`; use `type: integer` with `values` for numbers");
                            }
                        }
                    }
                }
            }
            ParamKind::Enum { values }
        }
        ParamType::Boolean => ParamKind::Boolean,
        ParamType::ImageUrl => ParamKind::ImageUrl,
        ParamType::Array => {
            if ps.items.is_none() {
                r.at(
                    Code::ArrayWithoutItems,
                    at,
                    "an `array` param needs `items`",
                )
                .help("add `items: image_url` (or `string`)");
            }
            if let (Some(a), Some(b)) = (ps.min_items, ps.max_items) {
                if a > b {
                    r.at(
                        Code::BoundsReversed,
                        &format!("{at}/min_items"),
                        format!("`min_items` {a} is greater than `max_items` {b}"),
                    );
                }
            }
            ParamKind::Array {
                items: ps.items.unwrap_or(ItemType::String).into(),
                min_items: ps.min_items,
                max_items: ps.max_items,
            }
        }
    };
    if r.count > before {
        return None;
    }
    if let Some(d) = &ps.default {
        if let Err(e) = crate::rules::check(name, &kind, d) {
            r.at(
                Code::BadDefault,
                &format!("{at}/default"),
                format!("default of `{name}` is invalid: {}", e.message),
            )
            .help("change the default so it satisfies the param's own bounds");
            return None;
        }
    }
    Some(Param {
        name: name.to_owned(),
        description: ps.description.clone(),
        required: ps.required,
        default: ps.default.clone(),
        kind,
        send_as_string: ps.send_as == Some(SendAs::String),
    })
}
