//! Params: each spec param checked and lowered, its default checked by the core rules. An
//! `object` param's fields and a `one_of` param's options have the param's shape and are
//! checked by the same code, with what their place allows.

use super::*;
use crate::ir::{Field, OneOfOption};

/// Scalar types: what an object's fields may be, and (with `object`) a one_of's options.
const SCALARS: [ParamType; 6] = [
    ParamType::String,
    ParamType::Integer,
    ParamType::Decimal,
    ParamType::Enum,
    ParamType::Boolean,
    ParamType::ImageUrl,
];

/// Check a param's fields against its type and lower it.
pub(super) fn param(r: &mut Reporter<'_>, at: &str, name: &str, ps: &ParamSpec) -> Option<Param> {
    let before = r.count;
    let type_name = variant_name(&ps.kind);
    if ps.send_as == Some(SendAs::String) {
        if matches!(ps.kind, ParamType::Object | ParamType::OneOf) {
            r.at_key(
                Code::FieldNotForType,
                &format!("{at}/send_as"),
                format!("`send_as` does not apply to `{type_name}` params"),
            )
            .expect("`send_as` only on `integer`, `decimal` or `boolean` params")
            .help("remove `send_as`: the value is sent as JSON, with its own JSON type");
        } else if !matches!(
            ps.kind,
            ParamType::Integer | ParamType::Decimal | ParamType::Boolean
        ) {
            r.at(
                Code::SendAsRedundant,
                &format!("{at}/send_as"),
                format!("a `{type_name}` param is already sent as a string"),
            )
            .help("remove `send_as`");
        }
    }
    if ps.required && ps.default.is_some() {
        r.at_key(
            Code::RequiredWithDefault,
            &format!("{at}/default"),
            "a required param cannot have a default",
        )
        .help("remove `default`, or `required: true`");
    }
    let kind = kind(r, at, name, &format!("param `{name}`"), ps);
    if r.count > before {
        return None;
    }
    let kind = kind?;
    let default = match &ps.default {
        Some(d) => Some(default(r, at, name, &kind, d)?),
        None => None,
    };
    Some(Param {
        name: name.to_owned(),
        description: ps.description.clone(),
        required: ps.required,
        default,
        kind,
        send_as_string: ps.send_as == Some(SendAs::String),
    })
}

/// A default checked by the core rules, with the defaults of absent object fields filled in.
/// `name` is the param or field path the core rules name (`image_size.width`).
fn default(
    r: &mut Reporter<'_>,
    at: &str,
    name: &str,
    kind: &ParamKind,
    value: &Value,
) -> Option<Value> {
    match crate::rules::checked(name, kind, value) {
        Ok(filled) => Some(filled),
        Err(e) => {
            r.at(
                Code::BadDefault,
                &format!("{at}/default"),
                format!("default of `{name}` is invalid: {}", e.message),
            )
            .help(match kind {
                ParamKind::OneOf { .. } => {
                    "change the default to a value one of the options accepts"
                }
                ParamKind::Object { .. } => {
                    "change the default to an object whose fields satisfy their own rules"
                }
                _ if name.contains('.') => {
                    "change the default so it satisfies the field's own bounds"
                }
                _ => "change the default so it satisfies the param's own bounds",
            });
            None
        }
    }
}

/// Check the type-dependent fields of a param, field or option and lower its kind. `name` is
/// the path the rules' messages use (`image_size`, `image_size.width`), `label` what the
/// spec's messages call it (``param `image_size` ``, ``option `custom` of `image_size` ``).
fn kind(
    r: &mut Reporter<'_>,
    at: &str,
    name: &str,
    label: &str,
    ps: &ParamSpec,
) -> Option<ParamKind> {
    let before = r.count;
    let ty = ps.kind;
    let type_name = variant_name(&ty);
    // Fields that only fit some types.
    let fits: [(&str, bool, &[ParamType]); 10] = [
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
        ("fields", ps.fields.is_some(), &[ParamType::Object]),
        ("options", ps.options.is_some(), &[ParamType::OneOf]),
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
        ParamType::Object => object(r, at, name, label, ps),
        ParamType::OneOf => one_of(r, at, name, label, ps),
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
    Some(kind)
}

/// The fields of an `object`: each a scalar with a snake_case name, its default checked.
fn object(r: &mut Reporter<'_>, at: &str, name: &str, label: &str, ps: &ParamSpec) -> ParamKind {
    let mut out = Vec::new();
    let Some(fields) = ps.fields.as_ref().filter(|f| !f.is_empty()) else {
        let at = if ps.fields.is_some() {
            format!("{at}/fields")
        } else {
            at.to_owned()
        };
        r.at(
            Code::ObjectWithoutFields,
            &at,
            format!("{label} is an `object` without `fields`"),
        )
        .help("add `fields: { width: { type: integer, required: true }, ... }`");
        return ParamKind::Object { fields: out };
    };
    for (field, fs) in fields {
        let fat = format!("{at}/fields/{}", crate::spec::yaml::escape_token(field));
        let path = format!("{name}.{field}");
        if !is_snake(field) || field.len() > 64 {
            r.at_key(
                Code::NotSnakeCase,
                &fat,
                format!("field name `{field}` is not snake_case"),
            )
            .help("use lowercase letters, digits and `_`, starting with a letter");
            continue;
        }
        if !SCALARS.contains(&fs.kind) {
            let hint = match fs.kind {
                ParamType::Array => {
                    "make the list a param of its own: an object's fields are single values"
                }
                _ => "write its fields into this object, or make it a param of its own",
            };
            r.at(
                Code::UnsupportedNesting,
                &format!("{fat}/type"),
                format!(
                    "field `{field}` of `{name}` is of type `{}`; an object's fields are scalars",
                    variant_name(&fs.kind)
                ),
            )
            .expect(format!("one of {}", type_list(&SCALARS)))
            .help(hint);
            continue;
        }
        let before = r.count;
        if fs.send_as.is_some() {
            r.at_key(
                Code::MisplacedSetting,
                &format!("{fat}/send_as"),
                format!("`send_as` does not apply to field `{field}` of `{name}`"),
            )
            .help(
                "remove `send_as`: the object is sent as JSON, each field with its own JSON type",
            );
        }
        if fs.required && fs.default.is_some() {
            r.at_key(
                Code::RequiredWithDefault,
                &format!("{fat}/default"),
                format!("the required field `{field}` of `{name}` cannot have a default"),
            )
            .help("remove `default`, or `required: true`");
        }
        let kind = kind(r, &fat, &path, &format!("field `{field}` of `{name}`"), fs);
        if r.count > before {
            continue;
        }
        let Some(kind) = kind else { continue };
        let default = match &fs.default {
            Some(d) => match default(r, &fat, &path, &kind, d) {
                Some(d) => Some(d),
                None => continue,
            },
            None => None,
        };
        out.push(Field {
            name: field.clone(),
            description: fs.description.clone(),
            required: fs.required,
            default,
            kind,
        });
    }
    ParamKind::Object { fields: out }
}

/// The options of a `one_of`: each a scalar or an object with a snake_case name, no two of the
/// same JSON type.
fn one_of(r: &mut Reporter<'_>, at: &str, name: &str, label: &str, ps: &ParamSpec) -> ParamKind {
    let mut out: Vec<OneOfOption> = Vec::new();
    let Some(options) = ps.options.as_ref().filter(|o| !o.is_empty()) else {
        let at = if ps.options.is_some() {
            format!("{at}/options")
        } else {
            at.to_owned()
        };
        r.at(
            Code::OneOfWithoutOptions,
            &at,
            format!("{label} is a `one_of` without `options`"),
        )
        .help("add `options:`, such as `{ preset: { type: enum, values: [square] }, custom: { type: object, fields: { ... } } }`");
        return ParamKind::OneOf { options: out };
    };
    // Each lowered option's JSON types, for the overlap check.
    let mut taken: Vec<(String, registry_core::params::JsonTypes)> = Vec::new();
    for (option, os) in options {
        let oat = format!("{at}/options/{}", crate::spec::yaml::escape_token(option));
        if !is_snake(option) || option.len() > 64 {
            r.at_key(
                Code::NotSnakeCase,
                &oat,
                format!("option name `{option}` is not snake_case"),
            )
            .help("use lowercase letters, digits and `_`, starting with a letter");
            continue;
        }
        if !SCALARS.contains(&os.kind) && os.kind != ParamType::Object {
            let (what, hint) = match os.kind {
                ParamType::OneOf => (
                    "a `one_of` cannot be an option of another",
                    "list its options in this `one_of` instead",
                ),
                _ => (
                    "a list cannot be an option",
                    "make the list a param of its own",
                ),
            };
            let mut allowed = SCALARS.to_vec();
            allowed.push(ParamType::Object);
            r.at(
                Code::UnsupportedNesting,
                &format!("{oat}/type"),
                format!(
                    "option `{option}` of `{name}` is of type `{}`: {what}",
                    variant_name(&os.kind)
                ),
            )
            .expect(format!("one of {}", type_list(&allowed)))
            .help(hint);
            continue;
        }
        let before = r.count;
        let misplaced = [
            (
                "required",
                os.required,
                "remove `required`: an option is chosen by the value, never required (mark the `one_of` param itself `required: true`)",
            ),
            (
                "default",
                os.default.is_some(),
                "give the `one_of` param the default, next to `options:`",
            ),
            (
                "send_as",
                os.send_as.is_some(),
                "remove `send_as`: the value is sent as JSON, with its own JSON type",
            ),
        ];
        for (setting, present, hint) in misplaced {
            if present {
                r.at_key(
                    Code::MisplacedSetting,
                    &format!("{oat}/{setting}"),
                    format!("`{setting}` does not apply to option `{option}` of `{name}`"),
                )
                .help(hint);
            }
        }
        // An option's value is the param's value: messages name the param.
        let kind = kind(r, &oat, name, &format!("option `{option}` of `{name}`"), os);
        if r.count > before {
            continue;
        }
        let Some(kind) = kind else { continue };
        let types = crate::rules::json_types(&kind);
        if let Some((other, other_types)) = taken
            .iter()
            .find(|(_, t)| !t.intersection(types).is_empty())
        {
            let shared = plural(types.intersection(*other_types));
            r.at_key(
                Code::OneOfOverlap,
                &oat,
                format!(
                    "options `{other}` and `{option}` of `{name}` both take JSON {shared}, so a value's type cannot choose between them"
                ),
            )
            .expect(format!(
                "options that take different JSON types (`{other}` takes {}, `{option}` takes {})",
                plural(*other_types),
                plural(types)
            ))
            .help(if shared == "strings" {
                "merge the two into one option (an `enum` with both sets of values, or a `string`), or remove one"
            } else {
                "keep one option per JSON type: merge the two, or remove one (a `decimal` takes strings and numbers)"
            });
            continue;
        }
        taken.push((option.clone(), types));
        out.push(OneOfOption {
            name: option.clone(),
            description: os.description.clone(),
            kind,
        });
    }
    ParamKind::OneOf { options: out }
}

/// JSON types as a message says them: `strings and numbers`.
fn plural(types: registry_core::params::JsonTypes) -> String {
    let names: Vec<&str> = types
        .names()
        .into_iter()
        .map(|t| match t {
            "string" => "strings",
            "number" => "numbers",
            "boolean" => "booleans",
            "object" => "objects",
            _ => "lists",
        })
        .collect();
    names.join(" and ")
}

/// `` `string`, `integer` or `object` ``.
fn type_list(types: &[ParamType]) -> String {
    let names: Vec<String> = types
        .iter()
        .map(|t| format!("`{}`", variant_name(t)))
        .collect();
    match names.split_last() {
        Some((last, rest)) if !rest.is_empty() => format!("{} or {last}", rest.join(", ")),
        _ => names.join(""),
    }
}
