//! The HTTP API of the `server` crate as the generated client (`client.ts`) sees it: the
//! operations it calls and the schemas of what it sends and reads back, named as in the
//! server's OpenAPI document (`GET /openapi.json`).
//!
//! This is the one description the client is rendered from: its TypeScript interfaces, its
//! `API_OPERATIONS` and `API_SCHEMAS` tables (which the client uses to build requests and to
//! check answers at run time), and so the agreement test in `tests/ts` that compares those
//! tables with the document served by the real binary. A change to the server's API shows up
//! there as a failing test, and is mirrored here.
//!
//! Wire types are written in a small notation, shared with the TypeScript tables:
//! `string`, `integer`, `boolean`, `object` (any JSON object), `json` (any JSON value),
//! `map<T>` (an object whose every value is a `T`), `T[]` (a list), or a schema name; a
//! trailing `?` marks a field that may be absent (or `null`, which the client drops).

use serde::Serialize;

use super::view::{key, lit};
use crate::emit::EmitError;

/// A field of an object schema.
pub(super) struct Field {
    /// The JSON name.
    pub name: &'static str,
    /// Wire type (see the module docs), without the `?`.
    pub wire: &'static str,
    /// May be absent.
    pub optional: bool,
    /// The TypeScript type, when narrower than the wire type says (`ModelId` for a string).
    pub ts: Option<&'static str>,
    /// Doc comment.
    pub doc: &'static str,
}

/// What a schema is.
pub(super) enum Shape {
    /// A JSON object with these fields (others are ignored).
    Object(&'static [Field]),
    /// One of these strings.
    Enum(&'static [&'static str]),
    /// Objects told apart by the string field `tag`: one variant per tag value.
    Tagged {
        tag: &'static str,
        variants: &'static [Variant],
    },
}

/// A variant of a tagged schema.
pub(super) struct Variant {
    /// The tag's value.
    pub tag: &'static str,
    /// Doc comment.
    pub doc: &'static str,
    /// The fields besides the tag.
    pub fields: &'static [Field],
}

/// A schema of the document (`#/components/schemas/<name>`).
pub(super) struct Schema {
    /// Its name in the document.
    pub name: &'static str,
    /// Its TypeScript name.
    pub ts: &'static str,
    /// Declared by another generated module (imported, not rendered here).
    pub external: bool,
    /// Doc comment.
    pub doc: &'static str,
    /// Fields or values.
    pub shape: Shape,
}

/// An operation the client calls.
pub(super) struct Operation {
    /// The client method (and the key of `API_OPERATIONS`).
    pub name: &'static str,
    /// `GET` or `POST`.
    pub method: &'static str,
    /// The path template, `{name}` for path parameters.
    pub path: &'static str,
    /// Query parameters, in the order they are sent, with their wire types.
    pub query: &'static [(&'static str, &'static str)],
    /// Request headers besides `Authorization`, `Accept` and `Content-Type`.
    pub headers: &'static [&'static str],
    /// The JSON body's schema.
    pub body: Option<&'static str>,
    /// The wire type of every success answer.
    pub response: &'static str,
    /// The success statuses.
    pub statuses: &'static [u16],
}

const fn req(name: &'static str, wire: &'static str, doc: &'static str) -> Field {
    Field {
        name,
        wire,
        optional: false,
        ts: None,
        doc,
    }
}

const fn opt(name: &'static str, wire: &'static str, doc: &'static str) -> Field {
    Field {
        name,
        wire,
        optional: true,
        ts: None,
        doc,
    }
}

const fn typed(mut f: Field, ts: &'static str) -> Field {
    f.ts = Some(ts);
    f
}

/// The operations, in the order the client declares them.
pub(super) const OPERATIONS: &[Operation] = &[
    Operation {
        name: "createGeneration",
        method: "POST",
        path: "/v1/generations",
        query: &[],
        headers: &["Idempotency-Key", "Prefer"],
        body: Some("CreateGeneration"),
        response: "GenerationView",
        statuses: &[200, 201],
    },
    Operation {
        name: "getGeneration",
        method: "GET",
        path: "/v1/generations/{id}",
        query: &[],
        headers: &[],
        body: None,
        response: "GenerationView",
        statuses: &[200],
    },
    Operation {
        name: "listGenerations",
        method: "GET",
        path: "/v1/generations",
        query: &[
            ("status", "StatusView"),
            ("model", "string"),
            ("limit", "integer"),
            ("cursor", "string"),
        ],
        headers: &[],
        body: None,
        response: "GenerationPage",
        statuses: &[200],
    },
    Operation {
        name: "cancelGeneration",
        method: "POST",
        path: "/v1/generations/{id}/cancel",
        query: &[],
        headers: &[],
        body: None,
        response: "GenerationView",
        statuses: &[200],
    },
    Operation {
        name: "listModels",
        method: "GET",
        path: "/v1/models",
        query: &[],
        headers: &[],
        body: None,
        response: "ModelView[]",
        statuses: &[200],
    },
    Operation {
        name: "getAccount",
        method: "GET",
        path: "/v1/account",
        query: &[],
        headers: &[],
        body: None,
        response: "AccountView",
        statuses: &[200],
    },
];

/// The schemas, in the order the client declares them.
pub(super) const SCHEMAS: &[Schema] = &[
    Schema {
        name: "CreateGeneration",
        ts: "CreateGenerationBody",
        external: false,
        doc: "The body of `POST /v1/generations`.",
        shape: Shape::Object(&[
            typed(req("model", "string", "The model to run."), "ModelId"),
            opt(
                "params",
                "object",
                "The model's params; absent is `{}`. The server checks them with the rules of `validateParams`.",
            ),
        ]),
    },
    Schema {
        name: "GenerationView",
        ts: "Generation",
        external: false,
        doc: "A generation, as the server records it.",
        shape: Shape::Object(&[
            req("id", "string", "Generation id (a UUID)."),
            typed(req("model", "string", "Model id."), "ModelId"),
            typed(
                req("content_type", "string", "What the model produces."),
                "ContentType",
            ),
            req(
                "status",
                "StatusView",
                "`pending`, then `processing`, then `completed` or `failed`.",
            ),
            req(
                "params",
                "object",
                "The params as run: validated, defaults filled in.",
            ),
            typed(
                opt(
                    "cost",
                    "string",
                    "What it costs in credits, held from the balance while it runs.",
                ),
                "DecimalString",
            ),
            typed(
                opt(
                    "charged",
                    "string",
                    "Credits charged, once finished (`0` when it failed).",
                ),
                "DecimalString",
            ),
            typed(
                opt(
                    "refunded",
                    "string",
                    "Credits given back because fewer outputs came back than were paid for.",
                ),
                "DecimalString",
            ),
            opt("outputs", "OutputView[]", "The outputs, when completed."),
            opt(
                "error",
                "GenerationErrorView",
                "Why it failed, when failed.",
            ),
            req(
                "created_at",
                "string",
                "When it was asked for (RFC 3339, UTC).",
            ),
            req(
                "updated_at",
                "string",
                "When it last changed (RFC 3339, UTC).",
            ),
            opt(
                "completed_at",
                "string",
                "When it finished (RFC 3339, UTC).",
            ),
        ]),
    },
    Schema {
        name: "StatusView",
        ts: "GenerationStatus",
        external: false,
        doc: "A generation's state; `completed` and `failed` are final.",
        shape: Shape::Enum(&["pending", "processing", "completed", "failed"]),
    },
    Schema {
        name: "OutputView",
        ts: "GenerationOutput",
        external: false,
        doc: "One output of a completed generation.",
        shape: Shape::Object(&[
            req("kind", "string", "`url`, `data_url`, `base64` or `text`."),
            req("value", "string", "The URL, data URL, base64 or text."),
        ]),
    },
    Schema {
        name: "GenerationErrorView",
        ts: "GenerationFailure",
        external: false,
        doc: "Why a generation failed.",
        shape: Shape::Object(&[
            req(
                "kind",
                "string",
                "`provider`, `timeout`, `cancelled`, `transport`, `malformed_answer`, `missing_key`, ...",
            ),
            req("message", "string", "What happened."),
            opt(
                "code",
                "string",
                "The provider's error code, when it gave one.",
            ),
        ]),
    },
    Schema {
        name: "GenerationPage",
        ts: "GenerationPage",
        external: false,
        doc: "A page of generations, newest first.",
        shape: Shape::Object(&[
            req("data", "GenerationView[]", "Newest first."),
            opt(
                "next_cursor",
                "string",
                "Pass as `cursor` for the next page; absent on the last page.",
            ),
        ]),
    },
    Schema {
        name: "AccountView",
        ts: "Account",
        external: false,
        doc: "The caller's credits.",
        shape: Shape::Object(&[
            req("user_id", "string", "The caller's user id."),
            typed(
                req(
                    "balance",
                    "string",
                    "Balance in credits (charges deducted; holds of running generations not).",
                ),
                "DecimalString",
            ),
            typed(
                req(
                    "available",
                    "string",
                    "What a new generation can use: the balance less the holds.",
                ),
                "DecimalString",
            ),
        ]),
    },
    Schema {
        name: "ModelView",
        ts: "ServedModel",
        external: false,
        doc: "A model the server runs (`GET /v1/models`: the enabled ones).",
        shape: Shape::Object(&[
            typed(
                req("id", "string", "Model id, as sent in `model`."),
                "ModelId",
            ),
            req("display_name", "string", "Name for people."),
            opt("description", "string", "What it does."),
            req("provider", "ProviderView", "Who runs it."),
            typed(
                req("content_type", "string", "What it produces."),
                "ContentType",
            ),
            typed(
                req(
                    "mode",
                    "string",
                    "How the server gets the result: `sync`, `poll` or `webhook`.",
                ),
                "ExecutionMode",
            ),
            req("params", "ParamView[]", "Params in form order."),
            req(
                "cost",
                "CostView",
                "How its cost is computed from the params.",
            ),
            req(
                "expected_latency_ms",
                "integer",
                "Typical time to a result, in milliseconds.",
            ),
            req(
                "timeout_ms",
                "integer",
                "Time after which a generation is given up, in milliseconds.",
            ),
            req(
                "cancellable",
                "boolean",
                "Whether a running generation can be cancelled.",
            ),
        ]),
    },
    Schema {
        name: "ProviderView",
        ts: "ServedProvider",
        external: false,
        doc: "A model's provider.",
        shape: Shape::Object(&[
            typed(req("id", "string", "Provider id."), "ProviderId"),
            req("display_name", "string", "Name for people."),
        ]),
    },
    Schema {
        name: "ParamView",
        ts: "ServedParam",
        external: false,
        doc: "One param's rules, as the server checks them.",
        shape: Shape::Object(&[
            req("name", "string", "Name, as sent in `params`."),
            req("required", "boolean", "Must be given."),
            req("type", "ParamType", "Type."),
            opt("default", "json", "The value taken when left out."),
            opt("min_length", "integer", "Fewest code points (strings)."),
            opt("max_length", "integer", "Most code points (strings)."),
            opt(
                "min",
                "json",
                "Smallest value (a number for integers, a decimal string for decimals).",
            ),
            opt("max", "json", "Largest value."),
            opt("step", "json", "The value must be a multiple of this."),
            opt(
                "values",
                "json[]",
                "The allowed values (enums; integers with a fixed set).",
            ),
            typed(
                opt(
                    "items",
                    "string",
                    "Item type of an array: `string` or `image_url`.",
                ),
                "\"string\" | \"image_url\"",
            ),
            opt("min_items", "integer", "Fewest items (arrays)."),
            opt("max_items", "integer", "Most items (arrays)."),
            opt(
                "fields",
                "ParamView[]",
                "The fields of an object, as params.",
            ),
            opt(
                "options",
                "ParamView[]",
                "The options of a one_of, each described as a param (`name` is the option's).",
            ),
        ]),
    },
    Schema {
        name: "ParamType",
        ts: "ServedParamType",
        external: false,
        doc: "A param's type.",
        shape: Shape::Enum(&[
            "string",
            "integer",
            "decimal",
            "enum",
            "boolean",
            "image_url",
            "array",
            "object",
            "one_of",
        ]),
    },
    Schema {
        name: "CostView",
        ts: "ServedCost",
        external: false,
        doc: "Credits = `base` × every multiplier, rounded once to `scale` decimal places by `round`.",
        shape: Shape::Object(&[
            typed(req("base", "string", "Base credits."), "DecimalString"),
            req("multipliers", "MultiplierView[]", "Factors, in order."),
            typed(
                req(
                    "round",
                    "string",
                    "`ceil`, `floor`, `half_up` or `half_even`.",
                ),
                "RoundMode",
            ),
            req("scale", "integer", "Decimal places kept."),
        ]),
    },
    Schema {
        name: "MultiplierView",
        ts: "ServedMultiplier",
        external: false,
        doc: "One factor of a cost formula.",
        shape: Shape::Tagged {
            tag: "kind",
            variants: &[
                Variant {
                    tag: "table",
                    doc: "The factor listed for the param's value.",
                    fields: &[
                        req("param", "string", "Param name."),
                        typed(
                            req("factors", "map<string>", "Value → factor."),
                            "{ readonly [value: string]: DecimalString }",
                        ),
                    ],
                },
                Variant {
                    tag: "ratio",
                    doc: "The param's value divided by `per`.",
                    fields: &[
                        req("param", "string", "Param name."),
                        req("per", "integer", "Divisor."),
                    ],
                },
                Variant {
                    tag: "count",
                    doc: "The param's value (an integer) or its number of items (a list).",
                    fields: &[req("param", "string", "Param name.")],
                },
            ],
        },
    },
    Schema {
        name: "ErrorBody",
        ts: "ApiErrorBody",
        external: false,
        doc: "The body of every error answer.",
        shape: Shape::Object(&[req("error", "ErrorDetail", "What went wrong.")]),
    },
    Schema {
        name: "ErrorDetail",
        ts: "ApiErrorDetail",
        external: false,
        doc: "What went wrong.",
        shape: Shape::Object(&[
            req(
                "code",
                "string",
                "A stable code to match on (`invalid_params`, `unauthorized`, ...).",
            ),
            req("message", "string", "A message for people."),
            opt(
                "field",
                "string",
                "The request field at fault (`model`, `params`, `limit`, `Idempotency-Key`, ...).",
            ),
            opt(
                "violations",
                "ViolationView[]",
                "Every problem with the params, as `validateParams` reports them.",
            ),
        ]),
    },
    Schema {
        name: "ViolationView",
        ts: "Violation",
        external: true,
        doc: "One problem with one param: the `Violation` of `validateParams`.",
        shape: Shape::Object(&[
            req("param", "string", "The param."),
            typed(req("code", "string", "Stable code."), "ViolationCode"),
            req("message", "string", "A message for people."),
        ]),
    },
];

/// What `client.ts` renders from [`OPERATIONS`] and [`SCHEMAS`].
#[derive(Debug, Serialize)]
pub(super) struct ClientView {
    /// Exported interfaces and type aliases of the wire types, blank-line separated blocks.
    pub types: Vec<String>,
    /// The members of `SchemaName`, each on a line of its own.
    pub schema_names: String,
    /// Lines of the `API_SCHEMAS` entries.
    pub schemas: Vec<String>,
    /// The members of `OperationName`, each on a line of its own.
    pub operation_names: String,
    /// Lines of the `API_OPERATIONS` entries.
    pub operations: Vec<String>,
    /// Lines of the `OperationResults` interface (`getGeneration: Generation;`).
    pub results: Vec<String>,
    /// Every type `client.ts` exports, in name order (for `index.ts`).
    pub type_exports: Vec<String>,
}

/// The types of `client.ts` besides the schemas'.
const CLIENT_TYPES: &[&str] = &[
    "AbortSignalLike",
    "ApiErrorKind",
    "ClientOptions",
    "CreateOptions",
    "Fetch",
    "FetchInit",
    "FetchResponse",
    "FinishedGeneration",
    "ListQuery",
    "MinimalAbortSignal",
    "OperationName",
    "OperationResults",
    "RequestOptions",
    "RunOptions",
    "SchemaName",
    "WaitOptions",
    "WireOperation",
    "WireSchema",
    "WireType",
];

fn schema(name: &str) -> Option<&'static Schema> {
    SCHEMAS.iter().find(|s| s.name == name)
}

/// The TypeScript type of a wire type.
fn ts_type(wire: &str) -> Result<String, EmitError> {
    if let Some(item) = wire.strip_suffix("[]") {
        return Ok(format!("readonly {}[]", ts_type(item)?));
    }
    if let Some(value) = wire.strip_prefix("map<").and_then(|w| w.strip_suffix('>')) {
        return Ok(format!("{{ readonly [key: string]: {} }}", ts_type(value)?));
    }
    Ok(match wire {
        "string" => "string".into(),
        "integer" => "number".into(),
        "boolean" => "boolean".into(),
        "object" => "{ readonly [key: string]: JsonValue }".into(),
        "json" => "JsonValue".into(),
        name => schema(name)
            .ok_or_else(|| EmitError::Other(format!("client API: no schema `{name}`")))?
            .ts
            .to_owned(),
    })
}

fn doc_block(doc: &str, indent: &str) -> String {
    format!("{indent}/** {} */\n", doc.replace("*/", "*\\/"))
}

fn members(fields: &[Field], indent: &str) -> Result<String, EmitError> {
    let mut out = String::new();
    for f in fields {
        let ty = match f.ts {
            Some(ts) => ts.to_owned(),
            None => ts_type(f.wire)?,
        };
        out.push_str(&doc_block(f.doc, indent));
        out.push_str(&format!(
            "{indent}readonly {}{}: {ty};\n",
            key(f.name),
            if f.optional { "?" } else { "" }
        ));
    }
    Ok(out)
}

fn declaration(s: &Schema) -> Result<String, EmitError> {
    let mut out = doc_block(s.doc, "");
    match &s.shape {
        Shape::Object(fields) => {
            out.push_str(&format!("export interface {} {{\n", s.ts));
            out.push_str(&members(fields, "  ")?);
            out.push('}');
        }
        Shape::Enum(values) => {
            let values: Vec<String> = values.iter().map(|v| lit(v)).collect();
            out.push_str(&format!("export type {} = {};", s.ts, values.join(" | ")));
        }
        Shape::Tagged { tag, variants } => {
            out.push_str(&format!("export type {} =", s.ts));
            for v in *variants {
                out.push('\n');
                out.push_str(doc_block(v.doc, "  ").trim_end_matches('\n'));
                out.push_str(&format!(
                    "\n  | {{\n      readonly {}: {};\n{}    }}",
                    key(tag),
                    lit(v.tag),
                    members(v.fields, "      ")?
                ));
            }
            out.push(';');
        }
    }
    Ok(out)
}

fn wire_field(f: &Field) -> String {
    let wire = if f.optional {
        format!("{}?", f.wire)
    } else {
        f.wire.to_owned()
    };
    format!("{}: {}", key(f.name), lit(&wire))
}

fn wire_fields(fields: &[Field]) -> String {
    if fields.is_empty() {
        return "{}".into();
    }
    let parts: Vec<String> = fields.iter().map(wire_field).collect();
    format!("{{ {} }}", parts.join(", "))
}

/// Entries longer than this are written one field a line.
const LINE: usize = 100;

fn table_entry(s: &Schema) -> Vec<String> {
    match &s.shape {
        Shape::Object(fields) => {
            let line = format!(
                "{}: {{ type: \"object\", fields: {} }},",
                key(s.name),
                wire_fields(fields)
            );
            if line.len() <= LINE {
                return vec![line];
            }
            let mut lines = vec![format!("{}: {{ type: \"object\", fields: {{", key(s.name))];
            lines.extend(fields.iter().map(|f| format!("  {},", wire_field(f))));
            lines.push("} },".into());
            lines
        }
        Shape::Enum(values) => {
            let values: Vec<String> = values.iter().map(|v| lit(v)).collect();
            vec![format!(
                "{}: {{ type: \"enum\", values: [{}] }},",
                key(s.name),
                values.join(", ")
            )]
        }
        Shape::Tagged { tag, variants } => {
            let mut lines = vec![format!(
                "{}: {{ type: \"tagged\", tag: {}, variants: {{",
                key(s.name),
                lit(tag)
            )];
            for v in *variants {
                lines.push(format!("  {}: {},", key(v.tag), wire_fields(v.fields)));
            }
            lines.push("} },".into());
            lines
        }
    }
}

/// Every schema name a wire type refers to.
fn refs(wire: &str) -> Vec<&str> {
    let w = wire.trim_end_matches("[]");
    let w = w
        .strip_prefix("map<")
        .and_then(|w| w.strip_suffix('>'))
        .unwrap_or(w);
    match w {
        "string" | "integer" | "boolean" | "object" | "json" => Vec::new(),
        name => vec![name],
    }
}

/// Check that every schema a field, body or answer names exists, and that names are unique.
fn check() -> Result<(), EmitError> {
    let mut wires: Vec<&str> = Vec::new();
    for s in SCHEMAS {
        if SCHEMAS
            .iter()
            .filter(|o| o.name == s.name || o.ts == s.ts)
            .count()
            != 1
        {
            return Err(EmitError::Other(format!(
                "client API: schema `{}` ({}) is declared twice",
                s.name, s.ts
            )));
        }
        match &s.shape {
            Shape::Object(fields) => wires.extend(fields.iter().map(|f| f.wire)),
            Shape::Tagged { variants, .. } => wires.extend(
                variants
                    .iter()
                    .flat_map(|v| v.fields.iter().map(|f| f.wire)),
            ),
            Shape::Enum(_) => {}
        }
    }
    for op in OPERATIONS {
        wires.push(op.response);
        wires.extend(op.body);
        wires.extend(op.query.iter().map(|(_, w)| *w));
    }
    for wire in wires {
        for name in refs(wire) {
            if schema(name).is_none() {
                return Err(EmitError::Other(format!(
                    "client API: `{wire}` names no schema"
                )));
            }
        }
    }
    Ok(())
}

/// A union of string literals, one member a line.
fn names<I: IntoIterator<Item = &'static str>>(items: I) -> String {
    items
        .into_iter()
        .map(|n| format!("\n  | {}", lit(n)))
        .collect()
}

pub(super) fn build() -> Result<ClientView, EmitError> {
    check()?;
    let mut types = Vec::new();
    for s in SCHEMAS.iter().filter(|s| !s.external) {
        types.push(declaration(s)?);
    }
    let schemas = SCHEMAS.iter().flat_map(table_entry).collect();
    let mut operations = Vec::new();
    let mut results = Vec::new();
    for op in OPERATIONS {
        let query: Vec<String> = op
            .query
            .iter()
            .map(|(name, wire)| format!("{}: {}", key(name), lit(wire)))
            .collect();
        let headers: Vec<String> = op.headers.iter().map(|h| lit(h)).collect();
        let statuses: Vec<String> = op.statuses.iter().map(u16::to_string).collect();
        operations.push(format!("{}: {{", key(op.name)));
        operations.push(format!("  method: {},", lit(op.method)));
        operations.push(format!("  path: {},", lit(op.path)));
        operations.push(if query.is_empty() {
            "  query: {},".to_owned()
        } else {
            format!("  query: {{ {} }},", query.join(", "))
        });
        operations.push(format!("  headers: [{}],", headers.join(", ")));
        operations.push(format!(
            "  body: {},",
            op.body.map_or_else(|| "null".to_owned(), lit)
        ));
        operations.push(format!("  response: {},", lit(op.response)));
        operations.push(format!("  statuses: [{}],", statuses.join(", ")));
        operations.push("},".into());
        results.push(format!("{}: {};", key(op.name), ts_type(op.response)?));
    }
    Ok(ClientView {
        types,
        schema_names: names(SCHEMAS.iter().map(|s| s.name)),
        schemas,
        operation_names: names(OPERATIONS.iter().map(|o| o.name)),
        operations,
        results,
        type_exports: {
            let mut names: Vec<String> = CLIENT_TYPES
                .iter()
                .copied()
                .chain(SCHEMAS.iter().filter(|s| !s.external).map(|s| s.ts))
                .map(str::to_owned)
                .collect();
            names.sort();
            names
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_description_is_consistent() {
        check().unwrap();
        let view = build().unwrap();
        assert_eq!(view.results.len(), OPERATIONS.len());
        assert_eq!(view.types.len(), SCHEMAS.len() - 1, "all but Violation");
    }

    #[test]
    fn wire_types_map_to_typescript() {
        assert_eq!(ts_type("string").unwrap(), "string");
        assert_eq!(ts_type("integer").unwrap(), "number");
        assert_eq!(
            ts_type("OutputView[]").unwrap(),
            "readonly GenerationOutput[]"
        );
        assert_eq!(
            ts_type("map<string>").unwrap(),
            "{ readonly [key: string]: string }"
        );
        assert_eq!(ts_type("json[]").unwrap(), "readonly JsonValue[]");
        assert!(ts_type("Nope").is_err());
        assert_eq!(refs("map<ParamView>[]"), vec!["ParamView"]);
    }
}
