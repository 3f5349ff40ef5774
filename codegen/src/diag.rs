//! Diagnostics: a problem at a place in a spec file, rendered like a compiler error.

use std::fmt;
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
}

impl Diagnostic {
    /// A diagnostic with only a message.
    pub fn new(file: impl Into<PathBuf>, span: Span, message: impl Into<String>) -> Self {
        Diagnostic {
            file: file.into(),
            span,
            message: message.into(),
            expected: None,
            hint: None,
        }
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
        if let Some(source) = source {
            let range = byte_range(source, self.span);
            group = group.element(
                Snippet::source(source)
                    .path(path.as_str())
                    .annotation(AnnotationKind::Primary.span(range)),
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
        if source.is_none() {
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

/// The byte range of a span, clamped to the source and at least one character wide where the
/// source allows.
fn byte_range(source: &str, span: Span) -> std::ops::Range<usize> {
    let mut start = None;
    let mut end = None;
    for (i, (b, _)) in source.char_indices().enumerate() {
        if i == span.start {
            start = Some(b);
        }
        if i == span.end {
            end = Some(b);
            break;
        }
    }
    let start = start.unwrap_or(source.len());
    let mut end = end.unwrap_or(source.len()).max(start);
    // Keep the mark on the first line: a block mapping's span runs to the next key.
    if let Some(nl) = source[start..end].find('\n') {
        end = start + nl;
    }
    if end == start && start < source.len() {
        end = start + source[start..].chars().next().map_or(0, char::len_utf8);
    }
    start..end
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

    /// Sorted by file, line and column, duplicates removed.
    pub fn into_sorted(mut self) -> Vec<Diagnostic> {
        self.0.sort_by(|a, b| {
            (&a.file, a.span.line, a.span.col, &a.message).cmp(&(
                &b.file,
                b.span.line,
                b.span.col,
                &b.message,
            ))
        });
        self.0.dedup();
        self.0
    }
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
