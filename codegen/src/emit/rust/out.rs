//! Printing Rust source: an indenting line writer and literals.

use super::HEADER;

/// A Rust file being printed. Lines are pushed with their nesting taken from the braces they
/// open and close, so the output is indented as rustfmt would indent it.
pub struct Out {
    text: String,
    depth: usize,
}

impl Out {
    /// A file that opens with the generated-file header.
    pub fn file() -> Self {
        Out {
            text: format!("// {HEADER}\n\n"),
            depth: 0,
        }
    }

    /// A part of a file, without the header.
    pub fn body() -> Self {
        Out {
            text: String::new(),
            depth: 0,
        }
    }

    /// One line. A line starting with a closing bracket dedents before it is printed; a line
    /// ending with an opening bracket indents the lines after it.
    pub fn line(&mut self, line: &str) {
        if line.starts_with(['}', ')', ']']) {
            self.depth = self.depth.saturating_sub(1);
        }
        self.push(line);
        if line.ends_with(['{', '(', '[']) {
            self.depth += 1;
        }
    }

    /// One line at the current depth, whatever brackets it holds.
    fn push(&mut self, line: &str) {
        if !line.is_empty() {
            for _ in 0..self.depth {
                self.text.push_str("    ");
            }
            self.text.push_str(line);
        }
        self.text.push('\n');
    }

    /// A blank line.
    pub fn blank(&mut self) {
        self.text.push('\n');
    }

    /// `/// text` (an empty `text` gives `///`).
    pub fn doc(&mut self, text: &str) {
        if text.is_empty() {
            self.push("///");
        } else {
            self.push(&format!("/// {text}"));
        }
    }

    /// Doc lines; a blank line between paragraphs.
    pub fn docs(&mut self, lines: &[String]) {
        for l in lines {
            self.doc(l);
        }
    }

    /// `//! text`.
    pub fn inner_doc(&mut self, text: &str) {
        if text.is_empty() {
            self.push("//!");
        } else {
            self.push(&format!("//! {text}"));
        }
    }

    /// The printed file.
    pub fn finish(self) -> String {
        self.text
    }
}

/// A Rust string literal for `text` (`Debug` of a `str` is a valid Rust literal).
pub fn lit(text: &str) -> String {
    format!("{text:?}")
}

/// `Some(<f(x)>)` or `None`.
pub fn opt<T>(value: Option<T>, f: impl FnOnce(T) -> String) -> String {
    match value {
        Some(v) => format!("Some({})", f(v)),
        None => "None".to_owned(),
    }
}

/// A `Duration` constructor for milliseconds.
pub fn duration(ms: u64) -> String {
    if ms % 1000 == 0 {
        format!("Duration::from_secs({})", ms / 1000)
    } else {
        format!("Duration::from_millis({ms})")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn indents_by_brackets_and_escapes_literals() {
        let mut o = Out::file();
        o.line("fn f() {");
        o.line("g(");
        o.line("1,");
        o.line(");");
        o.line("}");
        assert!(
            o.finish()
                .ends_with("fn f() {\n    g(\n        1,\n    );\n}\n")
        );
        assert_eq!(lit("a \"b\" \\ \n é"), "\"a \\\"b\\\" \\\\ \\n é\"");
    }
}
