//! YAML to JSON with source positions.
//!
//! The YAML event stream (saphyr-parser, YAML 1.2) is folded into a `serde_json::Value` plus a
//! [`SourceMap`] from JSON pointer to source span, so that every later stage (the JSON Schema
//! check, serde, the semantic rules) can report a precise `line:col` for the value it talks
//! about. Scalars are typed by the YAML 1.2 core schema: `no` and `yes` stay strings.

use std::collections::HashMap;

use saphyr_parser::{Event, Parser, ScalarStyle, Span as YamlSpan};
use serde_json::{Map, Number, Value};

/// A region of a source file, 1-based line and column (in characters), with character offsets.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Span {
    /// 1-based line of the first character.
    pub line: usize,
    /// 1-based column of the first character.
    pub col: usize,
    /// Character offset of the first character.
    pub start: usize,
    /// Character offset one past the last character.
    pub end: usize,
}

impl Span {
    fn from_yaml(s: YamlSpan) -> Span {
        Span {
            line: s.start.line(),
            col: s.start.col() + 1,
            start: s.start.index(),
            end: s.end.index().max(s.start.index()),
        }
    }
}

/// Where each value of a document came from.
#[derive(Debug, Default, Clone)]
pub struct SourceMap {
    values: HashMap<String, Span>,
    keys: HashMap<String, Span>,
    /// Plain scalars that the core schema read as numbers, keyed by pointer, with their text:
    /// lets a diagnostic say "write `\"8.5\"`" instead of "found 8.5".
    pub plain_numbers: HashMap<String, String>,
}

impl SourceMap {
    /// Span of the value at `pointer`, or of its nearest ancestor that has one.
    pub fn value(&self, pointer: &str) -> Span {
        self.lookup(&self.values, pointer)
    }

    /// Span of the key that holds the value at `pointer` (the value's span for array items).
    pub fn key(&self, pointer: &str) -> Span {
        match self.keys.get(pointer) {
            Some(span) => *span,
            None => self.value(pointer),
        }
    }

    /// Whether a value exists at exactly `pointer`.
    pub fn contains(&self, pointer: &str) -> bool {
        self.values.contains_key(pointer)
    }

    fn lookup(&self, map: &HashMap<String, Span>, pointer: &str) -> Span {
        let mut p = pointer;
        loop {
            if let Some(span) = map.get(p) {
                return *span;
            }
            match p.rfind('/') {
                Some(i) => p = &p[..i],
                None => return self.values.get("").copied().unwrap_or_default(),
            }
        }
    }
}

/// A YAML problem at a position.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct YamlError {
    /// Where.
    pub span: Span,
    /// What.
    pub message: String,
    /// How to fix it, if known.
    pub hint: Option<String>,
}

/// Escape one reference token of a JSON pointer.
pub fn escape_token(token: &str) -> String {
    token.replace('~', "~0").replace('/', "~1")
}

/// Parse one YAML document into JSON and its source map.
pub fn parse(source: &str) -> Result<(Value, SourceMap), YamlError> {
    let mut builder = Builder {
        map: SourceMap::default(),
        anchors: HashMap::new(),
        depth: 0,
    };
    let mut parser = Parser::new_from_str(source);
    let mut docs = 0usize;
    let mut root = None;
    while let Some(next) = parser.next_event() {
        let (event, span) = next.map_err(|e| {
            let m = e.marker();
            YamlError {
                span: Span {
                    line: m.line(),
                    col: m.col() + 1,
                    start: m.index(),
                    end: m.index() + 1,
                },
                message: format!("invalid YAML: {}", e.info()),
                hint: Some("check the indentation and quoting around this position".into()),
            }
        })?;
        match event {
            Event::DocumentStart(_) => {
                docs += 1;
                if docs > 1 {
                    return Err(YamlError {
                        span: Span::from_yaml(span),
                        message: "a spec file holds one YAML document, found a second".into(),
                        hint: Some(
                            "remove the `---` line, or put the second spec in its own file".into(),
                        ),
                    });
                }
                let value = builder.node(&mut parser, String::new())?;
                root = Some(value);
            }
            Event::StreamEnd => break,
            _ => {}
        }
    }
    match root {
        Some(value) => Ok((value, builder.map)),
        None => Err(YamlError {
            span: Span {
                line: 1,
                col: 1,
                start: 0,
                end: 0,
            },
            message: "the file is empty".into(),
            hint: Some("a spec file holds one YAML mapping".into()),
        }),
    }
}

const MAX_DEPTH: usize = 64;

struct Builder {
    map: SourceMap,
    anchors: HashMap<usize, Value>,
    depth: usize,
}

impl Builder {
    fn next<'a>(
        &mut self,
        parser: &mut Parser<'a, saphyr_parser::StrInput<'a>>,
    ) -> Result<(Event<'a>, YamlSpan), YamlError> {
        match parser.next_event() {
            Some(Ok(ev)) => Ok(ev),
            Some(Err(e)) => {
                let m = e.marker();
                Err(YamlError {
                    span: Span {
                        line: m.line(),
                        col: m.col() + 1,
                        start: m.index(),
                        end: m.index() + 1,
                    },
                    message: format!("invalid YAML: {}", e.info()),
                    hint: Some("check the indentation and quoting around this position".into()),
                })
            }
            None => Err(YamlError {
                span: Span::default(),
                message: "invalid YAML: unexpected end of input".into(),
                hint: None,
            }),
        }
    }

    /// Read the node that starts with the next event.
    fn node<'a>(
        &mut self,
        parser: &mut Parser<'a, saphyr_parser::StrInput<'a>>,
        pointer: String,
    ) -> Result<Value, YamlError> {
        let (event, span) = self.next(parser)?;
        self.node_from(parser, event, span, pointer)
    }

    fn node_from<'a>(
        &mut self,
        parser: &mut Parser<'a, saphyr_parser::StrInput<'a>>,
        event: Event<'a>,
        span: YamlSpan,
        pointer: String,
    ) -> Result<Value, YamlError> {
        let start = Span::from_yaml(span);
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return Err(YamlError {
                span: start,
                message: format!("nesting deeper than {MAX_DEPTH} levels"),
                hint: None,
            });
        }
        let (value, anchor) = match event {
            Event::Scalar(text, style, anchor, tag) => {
                let value = if tag.is_some() {
                    Value::String(text.to_string())
                } else {
                    resolve_scalar(&text, style)
                };
                if style == ScalarStyle::Plain && value.is_number() {
                    self.map
                        .plain_numbers
                        .insert(pointer.clone(), text.to_string());
                }
                self.map.values.insert(pointer, start);
                (value, anchor)
            }
            Event::SequenceStart(anchor, _) => {
                self.map.values.insert(pointer.clone(), start);
                let mut items = Vec::new();
                loop {
                    let (ev, sp) = self.next(parser)?;
                    if matches!(ev, Event::SequenceEnd) {
                        break;
                    }
                    let child = format!("{pointer}/{}", items.len());
                    items.push(self.node_from(parser, ev, sp, child)?);
                }
                (Value::Array(items), anchor)
            }
            Event::MappingStart(anchor, _) => {
                self.map.values.insert(pointer.clone(), start);
                let mut object = Map::new();
                loop {
                    let (ev, key_span) = self.next(parser)?;
                    if matches!(ev, Event::MappingEnd) {
                        break;
                    }
                    let key_start = Span::from_yaml(key_span);
                    let key = match ev {
                        Event::Scalar(text, ..) => text.to_string(),
                        _ => {
                            return Err(YamlError {
                                span: key_start,
                                message: "a mapping key must be a plain string".into(),
                                hint: Some(
                                    "write the key as a single word or a quoted string".into(),
                                ),
                            });
                        }
                    };
                    let child = format!("{pointer}/{}", escape_token(&key));
                    if object.contains_key(&key) {
                        let first = self.map.keys.get(&child).copied().unwrap_or_default();
                        return Err(YamlError {
                            span: key_start,
                            message: format!(
                                "duplicate key `{key}` (first at line {})",
                                first.line
                            ),
                            hint: Some(
                                "each key may appear once in a mapping; remove one of them".into(),
                            ),
                        });
                    }
                    self.map.keys.insert(child.clone(), key_start);
                    let value = self.node(parser, child)?;
                    object.insert(key, value);
                }
                (Value::Object(object), anchor)
            }
            Event::Alias(id) => match self.anchors.get(&id) {
                Some(v) => {
                    self.map.values.insert(pointer, start);
                    (v.clone(), 0)
                }
                None => {
                    return Err(YamlError {
                        span: start,
                        message: "alias to an unknown anchor".into(),
                        hint: None,
                    });
                }
            },
            other => {
                return Err(YamlError {
                    span: start,
                    message: format!("invalid YAML: unexpected {other:?}"),
                    hint: None,
                });
            }
        };
        if anchor > 0 {
            self.anchors.insert(anchor, value.clone());
        }
        self.depth -= 1;
        Ok(value)
    }
}

/// Type a scalar by the YAML 1.2 core schema. Quoted and block scalars are strings.
fn resolve_scalar(text: &str, style: ScalarStyle) -> Value {
    if style != ScalarStyle::Plain {
        return Value::String(text.to_owned());
    }
    match text {
        "" | "~" | "null" | "Null" | "NULL" => return Value::Null,
        "true" | "True" | "TRUE" => return Value::Bool(true),
        "false" | "False" | "FALSE" => return Value::Bool(false),
        _ => {}
    }
    if is_int(text) {
        if let Ok(i) = text.parse::<i64>() {
            return Value::Number(i.into());
        }
        if let Ok(u) = text.parse::<u64>() {
            return Value::Number(u.into());
        }
    }
    if is_float(text) {
        if let Some(n) = text.parse::<f64>().ok().and_then(Number::from_f64) {
            return Value::Number(n);
        }
    }
    if let Some(hex) = text.strip_prefix("0x") {
        if let Ok(i) = i64::from_str_radix(hex, 16) {
            return Value::Number(i.into());
        }
    }
    if let Some(oct) = text.strip_prefix("0o") {
        if let Ok(i) = i64::from_str_radix(oct, 8) {
            return Value::Number(i.into());
        }
    }
    Value::String(text.to_owned())
}

fn is_int(text: &str) -> bool {
    let digits = text.strip_prefix(['-', '+']).unwrap_or(text);
    !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit())
}

fn is_float(text: &str) -> bool {
    // [-+]? ( \. [0-9]+ | [0-9]+ ( \. [0-9]* )? ) ( [eE] [-+]? [0-9]+ )?
    let s = text.strip_prefix(['-', '+']).unwrap_or(text);
    let (mantissa, exponent) = match s.find(['e', 'E']) {
        Some(i) => (&s[..i], Some(&s[i + 1..])),
        None => (s, None),
    };
    let (int, frac) = match mantissa.find('.') {
        Some(i) => (&mantissa[..i], Some(&mantissa[i + 1..])),
        None => (mantissa, None),
    };
    let digits = |t: &str| t.bytes().all(|b| b.is_ascii_digit());
    let mantissa_ok = match frac {
        Some(f) => digits(int) && digits(f) && !(int.is_empty() && f.is_empty()),
        None => !int.is_empty() && digits(int),
    };
    let exponent_ok = match exponent {
        Some(e) => {
            let e = e.strip_prefix(['-', '+']).unwrap_or(e);
            !e.is_empty() && digits(e)
        }
        None => true,
    };
    mantissa_ok && exponent_ok
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn types_scalars_by_the_core_schema() {
        let (v, _) = parse("a: no\nb: 5\nc: \"5\"\nd: 1.5\ne: true\nf: ~\ng: 480p\n").unwrap();
        assert_eq!(v["a"], "no");
        assert_eq!(v["b"], 5);
        assert_eq!(v["c"], "5");
        assert_eq!(v["d"], 1.5);
        assert_eq!(v["e"], true);
        assert!(v["f"].is_null());
        assert_eq!(v["g"], "480p");
    }

    #[test]
    fn records_positions_of_keys_and_values() {
        let (_, map) = parse("id: x\nparams:\n  width: { type: integer }\n").unwrap();
        assert_eq!(
            map.value("/id"),
            Span {
                line: 1,
                col: 5,
                start: 4,
                end: 5
            }
        );
        let key = map.key("/params/width");
        assert_eq!((key.line, key.col), (3, 3));
        let ty = map.value("/params/width/type");
        assert_eq!((ty.line, ty.col), (3, 18));
        // Unknown pointers fall back to the nearest ancestor.
        assert_eq!(map.value("/params/width/nope").line, 3);
    }

    #[test]
    fn rejects_duplicate_keys_with_both_positions() {
        let err = parse("id: a\nname: b\nid: c\n").unwrap_err();
        assert_eq!(err.span.line, 3);
        assert!(err.message.contains("first at line 1"), "{}", err.message);
    }

    #[test]
    fn reports_syntax_errors_with_a_position() {
        let err = parse("id: a\n  b: [\n").unwrap_err();
        assert!(err.message.starts_with("invalid YAML"), "{}", err.message);
        assert!(err.span.line >= 2);
    }
}
