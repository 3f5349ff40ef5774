//! Diagnostics: a problem at a place in a spec file, rendered like a compiler error.

use std::collections::BTreeMap;
use std::fmt;
use std::ops::Range;
use std::path::{Path, PathBuf};

use annotate_snippets::{AnnotationKind, Group, Level, Renderer, Snippet};

use crate::spec::yaml::Span;

/// One problem in one file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Diagnostic {
    /// The file, as the user named it (relative to where they ran the tool when possible).
    pub file: PathBuf,
    /// Where in the file.
    pub span: Span,
    /// What is wrong, in one line.
    pub message: String,
    /// What was expected, if that helps.
    pub expected: Option<String>,
    /// How to fix it.
    pub hint: Option<String>,
    /// Zero for a problem. Otherwise this entry stands for that many further problems in
    /// `file` that are not shown (see [`MAX_PER_FILE`]); its span is the first of them.
    pub omitted: usize,
}

/// Problems shown per file; the rest are counted in one "and N more" entry. A file with
/// thousands of problems is generated or pasted, and its first problems say what is wrong.
pub const MAX_PER_FILE: usize = 50;

impl Diagnostic {
    /// A diagnostic with only a message.
    pub fn new(file: impl Into<PathBuf>, span: Span, message: impl Into<String>) -> Self {
        Diagnostic {
            file: file.into(),
            span,
            message: message.into(),
            expected: None,
            hint: None,
            omitted: 0,
        }
    }

    /// The entry that stands for `count` problems of `file` that are not shown, the first of
    /// them at `first`.
    pub fn more(file: impl Into<PathBuf>, first: Span, count: usize) -> Self {
        let file = file.into();
        let message = format!(
            "and {count} more problem{} in {}",
            if count == 1 { "" } else { "s" },
            file.display()
        );
        Diagnostic {
            hint: Some(format!(
                "only the first {MAX_PER_FILE} problems of a file are shown, the next is at line \
                 {}, column {}; fix these and run again to see the rest",
                first.line, first.col
            )),
            omitted: count,
            ..Diagnostic::new(file, first, message)
        }
    }

    /// How many problems this entry stands for: one, or the count of an "and N more" entry.
    pub fn count(&self) -> usize {
        if self.omitted > 0 { self.omitted } else { 1 }
    }

    /// Add what was expected.
    pub fn expected(mut self, expected: impl Into<String>) -> Self {
        self.expected = Some(expected.into());
        self
    }

    /// Add a hint.
    pub fn hint(mut self, hint: impl Into<String>) -> Self {
        self.hint = Some(hint.into());
        self
    }

    /// Add a hint when there is one.
    pub fn maybe_hint(mut self, hint: Option<String>) -> Self {
        if hint.is_some() {
            self.hint = hint;
        }
        self
    }

    /// Render with a source snippet, the span marked, and the expectation and hint as notes.
    /// `source` is the file's text, when it could be read.
    pub fn render(&self, source: Option<&str>, color: bool) -> String {
        let path = self.file.display().to_string();
        let mut group = Group::with_title(Level::ERROR.primary_title(&self.message));
        // An "and N more" entry has no snippet: the problems it counts are not shown.
        let source = source.filter(|_| self.omitted == 0);
        if let Some(source) = source {
            // Only the span's line goes to the renderer: a snippet of a whole large file would
            // cost its length for every diagnostic.
            let (line, range) = line_of(source, self.span);
            group = group.element(
                Snippet::source(&source[line.clone()])
                    .line_start(self.span.line.max(1))
                    .path(path.as_str())
                    .annotation(
                        AnnotationKind::Primary
                            .span(range.start - line.start..range.end - line.start),
                    ),
            );
        }
        if let Some(expected) = &self.expected {
            group = group.element(Level::NOTE.message(format!("expected {expected}")));
        }
        if let Some(hint) = &self.hint {
            group = group.element(Level::HELP.message(hint.as_str()));
        }
        let renderer = if color {
            Renderer::styled()
        } else {
            Renderer::plain()
        };
        let mut out = renderer.render(&[group]);
        if source.is_none() && self.omitted == 0 {
            out = format!("{self}\n{out}");
        }
        out
    }
}

/// `file:line:col: message`, the one-line form used by tests and editors.
impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}:{}:{}: {}",
            self.file.display(),
            self.span.line,
            self.span.col,
            self.message
        )
    }
}

/// The byte range of a span's first line, with its line break, and the byte range of the
/// span, clamped to that line and at least one character wide where the source allows. Costs
/// the length of the line, not of the file, for ASCII sources.
fn line_of(source: &str, span: Span) -> (Range<usize>, Range<usize>) {
    let start = byte_offset(source, 0, span.start);
    // YAML breaks lines at LF, CR LF and a lone CR; so does the span's line number.
    let line_start = source[..start].rfind(['\n', '\r']).map_or(0, |i| i + 1);
    let line_end = source[start..]
        .find(['\n', '\r'])
        .map_or(source.len(), |i| start + i);
    let with_break = if source[line_end..].starts_with("\r\n") {
        line_end + 2
    } else {
        (line_end + 1).min(source.len())
    };
    let end = if span.end > span.start {
        byte_offset(source, start, span.end - span.start)
    } else {
        start
    };
    // Keep the mark on the first line: a block mapping's span runs to the next key.
    let mut end = end.clamp(start, line_end);
    if end == start && start < source.len() {
        end = start + source[start..].chars().next().map_or(0, char::len_utf8);
    }
    (line_start..with_break, start..end)
}

/// The byte offset `chars` characters after byte `from`, clamped to the end of `source`.
fn byte_offset(source: &str, from: usize, chars: usize) -> usize {
    let rest = &source[from..];
    let n = chars.min(rest.len());
    if rest.as_bytes()[..n].is_ascii() {
        return from + n;
    }
    rest.char_indices()
        .nth(chars)
        .map_or(source.len(), |(i, _)| from + i)
}

/// All diagnostics of a run, in file then position order.
#[derive(Debug, Default)]
pub struct Diagnostics(pub Vec<Diagnostic>);

impl Diagnostics {
    /// Add one.
    pub fn push(&mut self, d: Diagnostic) {
        self.0.push(d);
    }

    /// None yet.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Sorted by file, line and column, duplicates removed, at most [`MAX_PER_FILE`] per
    /// file: the rest of a file's problems become one "and N more" entry after them, so that
    /// [`problem_count`] stays the true total. Applying it again to its own output (plus new
    /// diagnostics) merges the counts.
    pub fn into_sorted(self) -> Vec<Diagnostic> {
        let (mut shown, summaries): (Vec<Diagnostic>, Vec<Diagnostic>) =
            self.0.into_iter().partition(|d| d.omitted == 0);
        shown.sort_by(|a, b| {
            (&a.file, a.span.line, a.span.col, &a.message).cmp(&(
                &b.file,
                b.span.line,
                b.span.col,
                &b.message,
            ))
        });
        shown.dedup();
        // File -> (problems not shown, the first of them).
        let mut more: BTreeMap<PathBuf, (usize, Span)> = BTreeMap::new();
        for s in summaries {
            let entry = more.entry(s.file).or_insert((0, s.span));
            entry.0 += s.omitted;
            entry.1 = first(entry.1, s.span);
        }
        let mut out = Vec::new();
        let mut rest = shown.into_iter().peekable();
        while let Some(d) = rest.next() {
            let file = d.file.clone();
            let mut in_file = vec![d];
            while let Some(next) = rest.next_if(|n| n.file == file) {
                if in_file.len() < MAX_PER_FILE {
                    in_file.push(next);
                } else {
                    let entry = more.entry(file.clone()).or_insert((0, next.span));
                    entry.0 += 1;
                    entry.1 = first(entry.1, next.span);
                }
            }
            out.extend(in_file);
            if let Some((count, at)) = more.remove(&file) {
                out.push(Diagnostic::more(file, at, count));
            }
        }
        // Counts of files none of whose problems is shown (not produced here, but kept).
        for (file, (count, at)) in more {
            out.push(Diagnostic::more(file, at, count));
        }
        out
    }
}

/// The earlier of two spans.
fn first(a: Span, b: Span) -> Span {
    if (b.line, b.col) < (a.line, a.col) {
        b
    } else {
        a
    }
}

/// The number of problems `diags` stand for, counting each "and N more" entry as N.
pub fn problem_count(diags: &[Diagnostic]) -> usize {
    diags.iter().map(Diagnostic::count).sum()
}

/// The closest candidate to `name`, if close enough to be a likely typo.
pub fn did_you_mean<'a>(
    name: &str,
    candidates: impl IntoIterator<Item = &'a str>,
) -> Option<&'a str> {
    candidates
        .into_iter()
        .map(|c| (strsim::jaro_winkler(name, c), c))
        .filter(|(score, _)| *score > 0.8)
        .max_by(|a, b| a.0.total_cmp(&b.0))
        .map(|(_, c)| c)
}

/// Show a path relative to `base` when it lies under it.
pub fn display_path(path: &Path, base: &Path) -> PathBuf {
    path.strip_prefix(base)
        .map(Path::to_path_buf)
        .unwrap_or_else(|_| path.to_path_buf())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(file: &str, line: usize) -> Diagnostic {
        let span = Span {
            line,
            col: 1,
            start: 0,
            end: 0,
        };
        Diagnostic::new(file, span, format!("problem on line {line}"))
    }

    #[test]
    fn shows_the_first_problems_of_a_file_and_counts_the_rest() {
        let mut diags = Diagnostics::default();
        for line in (1..=120).rev() {
            diags.push(at("b.yaml", line));
        }
        diags.push(at("a.yaml", 3));
        let out = diags.into_sorted();
        assert_eq!(out.len(), 1 + MAX_PER_FILE + 1);
        assert_eq!(out[0].file, Path::new("a.yaml"));
        assert_eq!(out[1].span.line, 1);
        assert_eq!(out[MAX_PER_FILE].span.line, 50);
        let more = &out[MAX_PER_FILE + 1];
        assert_eq!(
            more.to_string(),
            "b.yaml:51:1: and 70 more problems in b.yaml"
        );
        assert_eq!(problem_count(&out), 121);
        // No snippet for the count, whatever the source; the hint says where the next is.
        let text = more.render(Some("x\n"), false);
        assert!(
            text.starts_with("error: and 70 more problems in b.yaml\n"),
            "{text}"
        );
        assert!(!text.contains("-->"), "{text}");
        assert!(text.contains("the next is at line 51, column 1"), "{text}");
    }

    #[test]
    fn sorting_again_keeps_the_counts() {
        let mut diags = Diagnostics::default();
        for line in 1..=60 {
            diags.push(at("b.yaml", line));
        }
        let mut again = Diagnostics(diags.into_sorted());
        again.push(at("c.yaml", 1));
        let out = again.into_sorted();
        assert_eq!(out.len(), MAX_PER_FILE + 2);
        assert_eq!(out[MAX_PER_FILE].message, "and 10 more problems in b.yaml");
        assert_eq!(problem_count(&out), 61);
    }

    #[test]
    fn marks_only_the_line_of_the_span() {
        let source = "a: 1\nbé: { x: 2 }\nc: 3\n";
        let span = Span {
            line: 2,
            col: 5,
            start: 9,
            end: 15,
        };
        let (line, range) = line_of(source, span);
        assert_eq!(&source[line], "bé: { x: 2 }\n");
        assert_eq!(&source[range], "{ x: 2");
        // Past the end: an empty mark at the end, no panic.
        let far = Span {
            line: 9,
            col: 1,
            start: 99,
            end: 120,
        };
        assert_eq!(line_of(source, far).1, source.len()..source.len());
    }
}
