//! The cost formula: base, multipliers and rounding, checked and lowered.

use super::*;

pub(super) fn cost(r: &mut Reporter<'_>, spec: &ModelSpec, params: &[Param]) -> Option<Cost> {
    let before = r.count;
    let c = &spec.cost;
    let base = match parse_decimal(&c.base) {
        Ok(d) if d.is_sign_negative() && !d.is_zero() => {
            r.at(
                Code::NegativeCost,
                "/cost/base",
                format!("negative cost `{}`", c.base),
            )
            .expect("a cost of zero or more credits");
            None
        }
        Ok(d) => Some(canonical(d)),
        Err(e) => {
            r.at(Code::BadDecimal, "/cost/base", e)
                .expect("a decimal string such as \"8\" or \"0.5\"");
            None
        }
    };
    let mut multipliers = Vec::new();
    for (i, mspec) in c.multipliers.iter().enumerate() {
        let at = format!("/cost/multipliers/{i}");
        let Some(p) = params.iter().find(|p| p.name == mspec.param) else {
            if !spec.params.contains_key(&mspec.param) {
                r.at(
                    Code::MultiplierUnknownParam,
                    &format!("{at}/param"),
                    format!("multiplier on unknown param `{}`", mspec.param),
                )
                .expect(format!("one of {}", list(spec.params.keys())))
                .suggest(&mspec.param, spec.params.keys().map(String::as_str));
            }
            continue;
        };
        if !p.required && p.default.is_none() {
            r.at(
                Code::MultiplierOptionalParam,
                &format!("{at}/param"),
                format!("multiplier on `{}`, which may be absent", p.name),
            )
            .help(format!(
                "give `{}` a default or make it required, so the cost is always defined",
                p.name
            ));
            continue;
        }
        // What the factor reads: the param, or a field of an object param.
        let (path, kind) = match &mspec.field {
            None => (p.name.clone(), &p.kind),
            Some(field) => {
                let ParamKind::Object { fields } = &p.kind else {
                    let hint = if matches!(p.kind, ParamKind::OneOf { .. }) {
                        "a `one_of`'s fields exist only when its value is the object option, so the cost would be undefined for the others: remove `field`"
                    } else {
                        "remove `field`: only `object` params have fields"
                    };
                    r.at(
                        Code::MultiplierFieldNotObject,
                        &format!("{at}/field"),
                        format!(
                            "a multiplier on a field needs an `object` param; `{}` is of type `{}`",
                            p.name,
                            p.kind.name()
                        ),
                    )
                    .help(hint);
                    continue;
                };
                let Some(f) = fields.iter().find(|f| &f.name == field) else {
                    let names: Vec<&String> = fields.iter().map(|f| &f.name).collect();
                    r.at(
                        Code::MultiplierUnknownField,
                        &format!("{at}/field"),
                        format!("`{}` has no field `{field}`", p.name),
                    )
                    .expect(format!("one of {}", list(names)))
                    .suggest(field, fields.iter().map(|f| f.name.as_str()));
                    continue;
                };
                if !f.required && f.default.is_none() {
                    r.at(
                        Code::MultiplierOptionalParam,
                        &format!("{at}/field"),
                        format!("multiplier on `{}.{}`, which may be absent", p.name, f.name),
                    )
                    .help(format!(
                        "give field `{}` a default or make it required, so the cost is always defined",
                        f.name
                    ));
                    continue;
                }
                (format!("{}.{}", p.name, f.name), &f.kind)
            }
        };
        // The hint for a multiplier kind that does not fit: for an object, its fields.
        let kind_hint = |fallback: &str| -> String {
            match kind {
                ParamKind::Object { fields } => format!(
                    "add `field:` to read one of `{path}`'s fields ({})",
                    fields
                        .iter()
                        .map(|f| format!("`{}`", f.name))
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
                _ => fallback.to_owned(),
            }
        };
        let kinds = [
            mspec.table.is_some(),
            mspec.per.is_some(),
            mspec.count == Some(true),
        ];
        if kinds.iter().filter(|k| **k).count() != 1 {
            r.at(Code::MultiplierShape, &at, "a multiplier needs exactly one of `table`, `per` or `count: true`")
                .help("`table` maps each value to a factor; `per: N` divides the value by N; `count: true` multiplies by the value or the number of items");
            continue;
        }
        if let Some(table) = &mspec.table {
            let values: Option<Vec<String>> = match kind {
                ParamKind::Enum { values } => Some(values.clone()),
                ParamKind::Boolean => Some(vec!["false".into(), "true".into()]),
                ParamKind::Integer {
                    values: Some(vs), ..
                } => Some(vs.iter().map(i64::to_string).collect()),
                _ => None,
            };
            let Some(values) = values else {
                r.at(Code::MultiplierParamKind, &format!("{at}/param"), format!("a `table` multiplier needs an enum, boolean or fixed-set integer param; `{path}` is not"))
                    .help(kind_hint("use `per:` for a numeric ratio or `count: true` for a count"));
                continue;
            };
            let mut entries = indexmap::IndexMap::new();
            for v in &values {
                if !table.contains_key(v) {
                    r.at(
                        Code::TableMissingValue,
                        &format!("{at}/table"),
                        format!("the table has no factor for `{v}`"),
                    )
                    .expect(format!(
                        "a factor for every value of `{path}`: {}",
                        values.join(", ")
                    ))
                    .help(format!("add `\"{v}\": \"1\"` (or the right factor)"));
                }
            }
            for (k, f) in table {
                let fat = format!("{at}/table/{}", crate::spec::yaml::escape_token(k));
                if !values.contains(k) {
                    r.at_key(
                        Code::TableUnknownValue,
                        &fat,
                        format!("`{k}` is not a value of `{path}`"),
                    )
                    .expect(format!("one of {}", values.join(", ")))
                    .suggest(k, values.iter().map(String::as_str));
                    continue;
                }
                match parse_decimal(f) {
                    Ok(d) if d.is_sign_negative() && !d.is_zero() => {
                        r.at(Code::NegativeCost, &fat, format!("negative factor `{f}`"))
                            .expect("a factor of zero or more");
                    }
                    Ok(d) => {
                        entries.insert(k.clone(), canonical(d));
                    }
                    Err(e) => {
                        r.at(Code::BadDecimal, &fat, e)
                            .expect("a decimal string such as \"1.5\"");
                    }
                }
            }
            multipliers.push(Multiplier::Table {
                param: p.name.clone(),
                field: mspec.field.clone(),
                entries,
            });
        } else if let Some(per) = mspec.per {
            if !matches!(kind, ParamKind::Integer { .. } | ParamKind::Decimal { .. }) {
                r.at(
                    Code::MultiplierParamKind,
                    &format!("{at}/param"),
                    format!(
                        "a `per` multiplier needs an integer or decimal param; `{path}` is not"
                    ),
                )
                .help(kind_hint("use `table:` to give each value its factor"));
                continue;
            }
            multipliers.push(Multiplier::Ratio {
                param: p.name.clone(),
                field: mspec.field.clone(),
                per,
            });
        } else {
            if !matches!(kind, ParamKind::Integer { .. } | ParamKind::Array { .. }) {
                r.at(
                    Code::MultiplierParamKind,
                    &format!("{at}/param"),
                    format!(
                        "a `count` multiplier needs an integer or array param; `{path}` is not"
                    ),
                )
                .help(kind_hint("use `table:` to give each value its factor"));
                continue;
            }
            multipliers.push(Multiplier::Count {
                param: p.name.clone(),
                field: mspec.field.clone(),
            });
        }
    }
    if r.count > before {
        return None;
    }
    Some(Cost {
        base: base?,
        multipliers,
        round: c.round.into(),
        scale: c.scale,
    })
}
