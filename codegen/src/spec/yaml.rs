//! YAML to JSON with source positions.
//!
//! The YAML event stream (saphyr-parser, YAML 1.2) is folded into a `serde_json::Value` plus a
//! [`SourceMap`] from JSON pointer to source span, so that every later stage (the JSON Schema
//! check, serde, the semantic rules) can report a precise `line:col` for the value it talks
//! about. Scalars are typed by the YAML 1.2 core schema: `no` and `yes` stay strings.
//!
//! The reader is built for untrusted input: its work is linear in the size of the file, and it
//! refuses, with a positioned error, what could make it slow or exhaust memory or the stack:
//!
//! - **Aliases** (`*name`) are refused outright, not expanded within a budget. No spec needs
//!   them (none of the bundled ones uses one); expanding them is what turns a few hundred bytes
//!   into billions of values (the "billion laughs" alias bomb), and a budget would still let a
//!   small file grow to the budget's size. An expanded alias also has no positions of its own,
//!   so a problem inside it could only be reported at the alias. Anchors (`&name`) alone are
//!   harmless and accepted: nothing can refer to them.
//! - **Deep nesting**: lists and mappings nest at most [`MAX_DEPTH`] levels, so neither this
//!   reader nor the later stages (which walk the value recursively) can overflow the stack.
//! - **Size**: a file holds at most [`MAX_VALUES`] values and [`MAX_FILE_BYTES`] bytes, about
//!   a hundred times what the largest bundled spec has (106 values, 2 KiB), so every later
//!   check is bounded too.

use std::collections::HashMap;

use saphyr_parser::{Event, Parser, ScalarStyle, ScanError, Span as YamlSpan};
use serde_json::{Map, Number, Value};

use crate::diag::Code;

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
///
/// Positions are recorded for every value and key while reading, but looked up only to place a
/// diagnostic, so they are kept as appended `(pointer, span)` lists and sorted into an index
/// the first time one is asked for.
#[derive(Debug, Default, Clone)]
pub struct SourceMap {
    values: Positions,
    keys: Positions,
    /// Plain scalars that the core schema read as numbers, keyed by pointer, with their text:
    /// lets a diagnostic say "write `\"8.5\"`" instead of "found 8.5".
    pub plain_numbers: HashMap<String, String>,
}

/// `(pointer, span)` pairs in reading order, with an index by pointer built on first lookup.
#[derive(Debug, Default, Clone)]
struct Positions {
    entries: Vec<(String, Span)>,
    sorted: std::sync::OnceLock<Vec<u32>>,
}

impl Positions {
    fn push(&mut self, pointer: String, span: Span) {
        self.entries.push((pointer, span));
        self.sorted = std::sync::OnceLock::new();
    }

    fn get(&self, pointer: &str) -> Option<Span> {
        let sorted = self.sorted.get_or_init(|| {
            let mut order: Vec<u32> = (0..self.entries.len() as u32).collect();
            order.sort_by(|a, b| {
                self.entries[*a as usize]
                    .0
                    .cmp(&self.entries[*b as usize].0)
            });
            order
        });
        sorted
            .binary_search_by(|i| self.entries[*i as usize].0.as_str().cmp(pointer))
            .ok()
            .map(|i| self.entries[sorted[i] as usize].1)
    }
}

impl SourceMap {
    /// Span of the value at `pointer`, or of its nearest ancestor that has one.
    pub fn value(&self, pointer: &str) -> Span {
        let mut p = pointer;
        loop {
            if let Some(span) = self.values.get(p) {
                return span;
            }
            match p.rfind('/') {
                Some(i) => p = &p[..i],
                None => return self.values.get("").unwrap_or_default(),
            }
        }
    }

    /// Span of the key that holds the value at `pointer` (the value's span for array items).
    pub fn key(&self, pointer: &str) -> Span {
        match self.keys.get(pointer) {
            Some(span) => span,
            None => self.value(pointer),
        }
    }

    /// Whether a value exists at exactly `pointer`.
    pub fn contains(&self, pointer: &str) -> bool {
        self.values.get(pointer).is_some()
    }
}

/// A YAML problem at a position.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct YamlError {
    /// What kind of problem.
    pub code: Code,
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

/// Largest spec file read, in bytes (1 MiB).
pub const MAX_FILE_BYTES: usize = 1 << 20;

/// Most values (scalars, lists and mappings, at any depth) one spec file may hold.
pub const MAX_VALUES: usize = 10_000;

/// Deepest nesting of values in a spec file (the deepest bundled spec has 10 levels).
pub const MAX_DEPTH: usize = 64;

/// The error for a file over [`MAX_FILE_BYTES`], placed at its start.
pub fn too_large(len: u64) -> YamlError {
    YamlError {
        code: Code::FileTooLarge,
        span: Span {
            line: 1,
            col: 1,
            start: 0,
            end: 0,
        },
        message: format!(
            "the file has {len} bytes, more than the {} MiB a spec file may have",
            MAX_FILE_BYTES >> 20
        ),
        hint: Some(
            "a spec file describes one provider or model in a few kilobytes; \
             check that this is the file you meant to put here"
                .into(),
        ),
    }
}

/// The error for nesting deeper than [`MAX_DEPTH`], placed at the first value too deep.
fn too_deep(span: Span) -> YamlError {
    YamlError {
        code: Code::TooDeep,
        span,
        message: format!("lists and mappings nest deeper than {MAX_DEPTH} levels here"),
        hint: Some(
            "a spec nests a few levels at most; check for an unclosed `[` or `{`, or flatten \
             the structure"
                .into(),
        ),
    }
}

/// A syntax error of the parser, at its position.
fn scan_error(e: &ScanError) -> YamlError {
    let m = e.marker();
    let span = Span {
        line: m.line(),
        col: m.col() + 1,
        start: m.index(),
        end: m.index() + 1,
    };
    // The scanner has its own limit of 255 open `[` and `{`; it looks ahead on a line, so it
    // can meet that limit before the reader meets `MAX_DEPTH`. Same problem, same message.
    if e.info() == "recursion limit exceeded" {
        return too_deep(span);
    }
    YamlError {
        code: Code::YamlSyntax,
        span,
        message: format!("invalid YAML: {}", e.info()),
        hint: Some("check the indentation and quoting around this position".into()),
    }
}

/// The error for an alias (`*name`), placed at it.
fn alias_refused(span: Span) -> YamlError {
    YamlError {
        code: Code::YamlAlias,
        span,
        message: "YAML aliases (`*name`) are not supported in specs".into(),
        hint: Some(
            "write the value out here in full instead of referring to an anchor (`&name`); \
             anchors and aliases are not supported in specs, so that every value has a position \
             of its own and a small file cannot expand into a huge one"
                .into(),
        ),
    }
}

/// Parse one YAML document into JSON and its source map.
///
/// Aliases, nesting deeper than [`MAX_DEPTH`], more than [`MAX_VALUES`] values and more than
/// [`MAX_FILE_BYTES`] bytes are refused (see the module documentation).
pub fn parse(source: &str) -> Result<(Value, SourceMap), YamlError> {
    if source.len() > MAX_FILE_BYTES {
        return Err(too_large(source.len() as u64));
    }
    let mut builder = Builder {
        map: SourceMap::default(),
        depth: 0,
        values: 0,
    };
    let mut parser = Parser::new_from_str(source);
    let mut docs = 0usize;
    let mut root = None;
    while let Some(next) = parser.next_event() {
        let (event, span) = next.map_err(|e| scan_error(&e))?;
        match event {
            Event::DocumentStart(_) => {
                docs += 1;
                if docs > 1 {
                    return Err(YamlError {
                        code: Code::SecondDocument,
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
            code: Code::EmptyFile,
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

struct Builder {
    map: SourceMap,
    /// Lists and mappings open around the current value, plus one.
    depth: usize,
    /// Values read so far.
    values: usize,
}

impl Builder {
    fn next<'a>(
        &mut self,
        parser: &mut Parser<'a, saphyr_parser::StrInput<'a>>,
    ) -> Result<(Event<'a>, YamlSpan), YamlError> {
        match parser.next_event() {
            Some(Ok(ev)) => Ok(ev),
            Some(Err(e)) => Err(scan_error(&e)),
            None => Err(YamlError {
                code: Code::YamlSyntax,
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
        if let Event::Alias(_) = event {
            return Err(alias_refused(start));
        }
        self.values += 1;
        if self.values > MAX_VALUES {
            return Err(YamlError {
                code: Code::TooManyValues,
                span: start,
                message: format!(
                    "the file holds more than {MAX_VALUES} values, the limit for a spec file"
                ),
                hint: Some(
                    "a spec needs a few hundred values at most; remove what does not belong \
                     to it (is this a generated or concatenated file?)"
                        .into(),
                ),
            });
        }
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return Err(too_deep(start));
        }
        let value = match event {
            Event::Scalar(text, style, _, tag) => {
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
                self.map.values.push(pointer, start);
                value
            }
            Event::SequenceStart(..) => {
                self.map.values.push(pointer.clone(), start);
                let mut items = Vec::new();
                loop {
                    let (ev, sp) = self.next(parser)?;
                    if matches!(ev, Event::SequenceEnd) {
                        break;
                    }
                    let child = format!("{pointer}/{}", items.len());
                    items.push(self.node_from(parser, ev, sp, child)?);
                }
                Value::Array(items)
            }
            Event::MappingStart(..) => {
                self.map.values.push(pointer.clone(), start);
                let mut object = Map::new();
                loop {
                    let (ev, key_span) = self.next(parser)?;
                    if matches!(ev, Event::MappingEnd) {
                        break;
                    }
                    let key_start = Span::from_yaml(key_span);
                    let key = match ev {
                        Event::Scalar(text, ..) => text.to_string(),
                        Event::Alias(_) => return Err(alias_refused(key_start)),
                        _ => {
                            return Err(YamlError {
                                code: Code::NonStringKey,
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
                        let first = self.map.keys.get(&child).unwrap_or_default();
                        return Err(YamlError {
                            code: Code::DuplicateKey,
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
                    self.map.keys.push(child.clone(), key_start);
                    let value = self.node(parser, child)?;
                    object.insert(key, value);
                }
                Value::Object(object)
            }
            other => {
                return Err(YamlError {
                    code: Code::YamlSyntax,
                    span: start,
                    message: format!("invalid YAML: unexpected {other:?}"),
                    hint: None,
                });
            }
        };
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
    fn refuses_aliases_at_the_alias() {
        let err = parse("a: &x [1, 2]\nb: *x\n").unwrap_err();
        assert_eq!((err.span.line, err.span.col), (2, 4));
        assert!(err.message.contains("aliases"), "{}", err.message);
        assert!(err.hint.unwrap().contains("write the value out"));
        let err = parse("a: &k key\n*k : 1\n").unwrap_err();
        assert_eq!((err.span.line, err.span.col), (2, 1));
        assert!(err.message.contains("aliases"), "{}", err.message);
    }

    #[test]
    fn accepts_anchors_that_nothing_refers_to() {
        let (v, _) = parse("a: &x [1, 2]\n").unwrap();
        assert_eq!(v["a"][1], 2);
    }

    #[test]
    fn refuses_deep_nesting_at_the_first_level_too_deep() {
        // The scanner looks ahead on a line and stops at its own limit of 255 open brackets.
        for deep in ["[".repeat(100_000), "{a: ".repeat(100_000)] {
            let err = parse(&deep).unwrap_err();
            assert_eq!(err.span.line, 1);
            assert!(err.message.contains("deeper than 64"), "{}", err.message);
        }
        // One bracket a line: the scanner's limit again, on line 256.
        let err = parse(&"[\n".repeat(100_000)).unwrap_err();
        assert_eq!((err.span.line, err.span.col), (256, 1));
        assert!(err.message.contains("deeper than 64"), "{}", err.message);
        // Block nesting has no scanner limit: the reader's own limit, at the 65th level.
        let block: String = (0..1000)
            .map(|i| format!("{}a:\n", " ".repeat(i)))
            .collect();
        let err = parse(&block).unwrap_err();
        assert_eq!(
            (err.span.line, err.span.col),
            (MAX_DEPTH + 1, MAX_DEPTH + 1)
        );
        assert!(err.message.contains("deeper than 64"), "{}", err.message);
        let err = parse(&"- ".repeat(100_000)).unwrap_err();
        assert_eq!((err.span.line, err.span.col), (1, 2 * MAX_DEPTH + 1));
        assert!(err.message.contains("deeper than 64"), "{}", err.message);
        let ok = format!("{}{}", "[".repeat(MAX_DEPTH), "]".repeat(MAX_DEPTH));
        assert!(parse(&ok).is_ok());
    }

    #[test]
    fn refuses_more_values_than_the_limit() {
        let text: String = (0..MAX_VALUES).map(|i| format!("k{i}: 1\n")).collect();
        // The root mapping is a value too: the last key's value is one too many.
        let err = parse(&text).unwrap_err();
        assert_eq!((err.span.line, err.span.col), (MAX_VALUES, 8));
        assert!(
            err.message.contains("more than 10000 values"),
            "{}",
            err.message
        );
        let text: String = (1..MAX_VALUES).map(|i| format!("k{i}: 1\n")).collect();
        assert!(parse(&text).is_ok());
    }

    #[test]
    fn refuses_files_over_the_size_limit() {
        let text = format!("id: x\nd: \"{}\"\n", "x".repeat(MAX_FILE_BYTES));
        let err = parse(&text).unwrap_err();
        assert_eq!((err.span.line, err.span.col), (1, 1));
        assert!(
            err.message.contains("more than the 1 MiB"),
            "{}",
            err.message
        );
    }

    #[test]
    fn reports_syntax_errors_with_a_position() {
        let err = parse("id: a\n  b: [\n").unwrap_err();
        assert!(err.message.starts_with("invalid YAML"), "{}", err.message);
        assert!(err.span.line >= 2);
    }
}
