//! Lowering: schema-checked specs into the IR, applying the semantic rules on the way.
//!
//! The JSON Schema has already checked shapes and types; these rules check what a schema
//! cannot: references between files, which fields fit which param type, templates, cost
//! multipliers, durations, pointers, secrets. Each rule reports at the position of the value it
//! talks about, and every problem of every file is collected before giving up.

mod enums;
mod model;
mod monitoring;
mod provider;
mod secrets;
mod template;

use std::collections::{BTreeMap, HashMap};

use crate::diag::{Code, Diagnostic, Diagnostics, did_you_mean};
use crate::ir::{IR_VERSION, Registry};
use crate::spec::load::{Loaded, SpecSet};
use crate::spec::types::MonitoringSpec;
use crate::spec::yaml::SourceMap;

/// Reports problems of one file.
pub(crate) struct Reporter<'a> {
    file: &'a std::path::Path,
    map: &'a SourceMap,
    diags: &'a mut Diagnostics,
    count: usize,
}

impl<'a> Reporter<'a> {
    fn new<T>(loaded: &'a Loaded<T>, diags: &'a mut Diagnostics) -> Self {
        Reporter {
            file: &loaded.file,
            map: &loaded.map,
            diags,
            count: 0,
        }
    }

    /// A problem with the value at `pointer`.
    fn at(&mut self, code: Code, pointer: &str, message: impl Into<String>) -> &mut Diagnostic {
        self.push(Diagnostic::new(
            code,
            self.file,
            self.map.value(pointer),
            message,
        ))
    }

    /// A problem with the key that holds the value at `pointer`.
    fn at_key(&mut self, code: Code, pointer: &str, message: impl Into<String>) -> &mut Diagnostic {
        self.push(Diagnostic::new(
            code,
            self.file,
            self.map.key(pointer),
            message,
        ))
    }

    fn push(&mut self, d: Diagnostic) -> &mut Diagnostic {
        self.count += 1;
        self.diags.0.push(d);
        self.diags.0.last_mut().expect("just pushed")
    }
}

/// Small builder helpers on a pushed diagnostic.
pub(crate) trait Annotate {
    fn expect(&mut self, e: impl Into<String>) -> &mut Self;
    fn help(&mut self, h: impl Into<String>) -> &mut Self;
    fn suggest<'c>(
        &mut self,
        name: &str,
        candidates: impl IntoIterator<Item = &'c str>,
    ) -> &mut Self;
}

impl Annotate for Diagnostic {
    fn expect(&mut self, e: impl Into<String>) -> &mut Self {
        self.expected = Some(e.into());
        self
    }
    fn help(&mut self, h: impl Into<String>) -> &mut Self {
        self.hint = Some(h.into());
        self
    }
    fn suggest<'c>(
        &mut self,
        name: &str,
        candidates: impl IntoIterator<Item = &'c str>,
    ) -> &mut Self {
        if let Some(m) = did_you_mean(name, candidates) {
            self.hint = Some(format!("did you mean `{m}`?"));
        }
        self
    }
}

/// Lower every spec of the set into the IR, checking each rule on the way. All problems are
/// collected; the IR is returned only when there are none.
pub fn registry(set: &SpecSet, diags: &mut Diagnostics) -> Option<Registry> {
    let before = diags.0.len();

    // Providers: unique ids, then each on its own.
    let mut providers = BTreeMap::new();
    let mut seen: HashMap<&str, &Loaded<_>> = HashMap::new();
    for p in &set.providers {
        if let Some(first) = seen.get(p.spec.id.as_str()) {
            Reporter::new(p, diags)
                .at(
                    Code::DuplicateId,
                    "/id",
                    format!("duplicate provider id `{}`", p.spec.id),
                )
                .help(format!(
                    "`{}` is already the id of {}; provider ids must be unique",
                    p.spec.id,
                    first.file.display()
                ));
            continue;
        }
        seen.insert(&p.spec.id, p);
        secrets::check(p, diags);
        if let Some(lowered) = provider::lower(p, diags) {
            providers.insert(lowered.id.clone(), lowered);
        }
    }

    // Models: unique ids across files, then each against its provider.
    let mut models = BTreeMap::new();
    let mut seen_models: HashMap<&str, &Loaded<_>> = HashMap::new();
    for m in &set.models {
        if let Some(first) = seen_models.get(m.spec.id.as_str()) {
            let first_line = first.map.value("/id").line;
            Reporter::new(m, diags)
                .at(
                    Code::DuplicateId,
                    "/id",
                    format!("duplicate model id `{}`", m.spec.id),
                )
                .help(format!(
                    "`{}` is already the id of {}:{first_line}; model ids must be unique",
                    m.spec.id,
                    first.file.display()
                ));
            continue;
        }
        seen_models.insert(&m.spec.id, m);
        secrets::check(m, diags);
        let provider_spec = set.providers.iter().find(|p| p.spec.id == m.spec.provider);
        if let Some(lowered) = model::lower(
            m,
            provider_spec,
            &set.broken_providers,
            &set.providers,
            diags,
        ) {
            models.insert(lowered.id.clone(), lowered);
        }
    }

    let monitoring = match &set.monitoring {
        Some(loaded) => monitoring::lower(&loaded.spec, Some(loaded), diags),
        None => monitoring::lower(&MonitoringSpec::default(), None, diags),
    };

    if diags.0.len() > before {
        return None;
    }
    Some(Registry {
        version: IR_VERSION,
        providers,
        models,
        monitoring: monitoring?,
    })
}

/// The fix for a duration written in words, such as `5 minutes` or `1 hour 30 min`: the same
/// duration in the spec's form (`5m`, `1h30m`). `None` when the text is not such a duration.
pub(crate) fn duration_in_words(text: &str) -> Option<String> {
    let mut out = String::new();
    let mut words = text
        .split(|c: char| c.is_whitespace() || c == ',')
        .filter(|w| !w.is_empty() && *w != "and")
        .peekable();
    while let Some(word) = words.next() {
        let digits = word.bytes().take_while(u8::is_ascii_digit).count();
        if digits == 0 {
            return None;
        }
        let (number, unit) = word.split_at(digits);
        let unit = if unit.is_empty() { words.next()? } else { unit };
        let unit = match unit.to_lowercase().as_str() {
            "ms" | "msec" | "msecs" | "millisecond" | "milliseconds" => "ms",
            "s" | "sec" | "secs" | "second" | "seconds" => "s",
            "m" | "min" | "mins" | "minute" | "minutes" => "m",
            "h" | "hr" | "hrs" | "hour" | "hours" => "h",
            _ => return None,
        };
        out.push_str(number);
        out.push_str(unit);
    }
    (!out.is_empty() && out != text).then_some(out)
}

/// The message for a duration that does not parse, given the parser's reason.
pub(crate) fn duration_problem(text: &str, reason: &str) -> String {
    if duration_in_words(text).is_some() {
        format!("bad duration: `{text}` is written in words")
    } else {
        format!("bad duration: {reason}")
    }
}

/// The hint for a duration that does not parse.
/// `text` as milliseconds, or a `BadDuration` diagnostic at `at` that shows `example` and
/// suggests the short form of a duration written in words.
pub(crate) fn duration(r: &mut Reporter<'_>, at: &str, text: &str, example: &str) -> Option<u64> {
    match crate::spec::values::parse_duration(text) {
        Ok(ms) => Some(ms),
        Err(e) => {
            r.at(Code::BadDuration, at, duration_problem(text, &e))
                .expect(format!("a duration such as {example}"))
                .help(duration_hint(text));
            None
        }
    }
}

pub(crate) fn duration_hint(text: &str) -> String {
    match duration_in_words(text) {
        Some(fixed) => format!(
            "write `{fixed}`: a number directly followed by `ms`, `s`, `m` or `h`, no space"
        ),
        None => "write a number followed by `ms`, `s`, `m` or `h`".to_owned(),
    }
}

/// The thresholds of a registry without `monitoring.yaml`: every field's default.
#[cfg(test)]
pub(crate) fn default_monitoring() -> crate::ir::Monitoring {
    let mut diags = Diagnostics::default();
    monitoring::lower(&MonitoringSpec::default(), None, &mut diags)
        .expect("the default thresholds are valid")
}

#[cfg(test)]
mod tests {
    use super::duration_in_words;

    #[test]
    fn durations_in_words_get_their_short_form() {
        assert_eq!(duration_in_words("5 minutes").as_deref(), Some("5m"));
        assert_eq!(duration_in_words("1 hour 30 min").as_deref(), Some("1h30m"));
        assert_eq!(duration_in_words("30 Seconds").as_deref(), Some("30s"));
        assert_eq!(duration_in_words("2hrs").as_deref(), Some("2h"));
        assert_eq!(duration_in_words("5m"), None);
        assert_eq!(duration_in_words("soon"), None);
        assert_eq!(duration_in_words("5 fortnights"), None);
    }
}
