//! Rust names for spec names: types, fields, enum variants and local variables.

use std::collections::BTreeSet;

pub use crate::emit::names::pascal;

/// Words that cannot be raw identifiers.
const NOT_RAW: [&str; 4] = ["self", "Self", "super", "crate"];

/// Reserved words of Rust 2024 (strict and reserved).
const KEYWORDS: [&str; 51] = [
    "abstract", "as", "async", "await", "become", "box", "break", "const", "continue", "crate",
    "do", "dyn", "else", "enum", "extern", "false", "final", "fn", "for", "gen", "if", "impl",
    "in", "let", "loop", "macro", "match", "mod", "move", "mut", "override", "priv", "pub", "ref",
    "return", "self", "Self", "static", "struct", "super", "trait", "true", "try", "type",
    "typeof", "unsafe", "unsized", "use", "virtual", "where", "while",
];

/// `SEEDANCE-v1` -> `seedance_v1`, for modules and local variables.
pub fn snake(name: &str) -> String {
    let mut out = String::new();
    let mut prev_lower = false;
    for c in name.chars() {
        if c.is_ascii_alphanumeric() {
            if c.is_ascii_uppercase() && prev_lower {
                out.push('_');
            }
            prev_lower = c.is_ascii_lowercase() || c.is_ascii_digit();
            out.push(c.to_ascii_lowercase());
        } else if !out.is_empty() && !out.ends_with('_') {
            out.push('_');
            prev_lower = false;
        }
    }
    let out = out.trim_end_matches('_').to_owned();
    if out.is_empty() || out.starts_with(|c: char| c.is_ascii_digit()) {
        format!("v_{out}")
    } else {
        out
    }
}

/// `SCREAMING_SNAKE` for statics.
pub fn screaming(name: &str) -> String {
    snake(name).to_ascii_uppercase()
}

/// An identifier for a snake_case name, raw when it is a keyword (`r#type`); the four words that
/// cannot be raw get a trailing underscore.
pub fn ident(name: &str) -> String {
    if NOT_RAW.contains(&name) {
        format!("{name}_")
    } else if KEYWORDS.contains(&name) {
        format!("r#{name}")
    } else {
        name.to_owned()
    }
}

/// A readable, collision-free variant name for each enum value, in order:
/// `720p` -> `P720`, `16:9` -> `R16x9`, `portrait_4_3` -> `Portrait4x3`, `JPG` -> `Jpg`,
/// `1024x1536` -> `V1024x1536`.
pub fn variants(values: &[String]) -> Vec<String> {
    let mut taken = BTreeSet::new();
    values
        .iter()
        .map(|value| {
            let base = variant(value);
            let mut name = base.clone();
            let mut n = 2;
            while !taken.insert(name.clone()) {
                name = format!("{base}{n}");
                n += 1;
            }
            name
        })
        .collect()
}

fn variant(value: &str) -> String {
    let words: Vec<&str> = value
        .split(|c: char| !c.is_ascii_alphanumeric())
        .filter(|w| !w.is_empty())
        .collect();
    if words.is_empty() {
        return "Empty".to_owned();
    }
    // `720p`, `4k`: a number with a unit suffix reads as the unit then the number.
    if let [word] = words[..] {
        let digits = word.len() - word.trim_start_matches(|c: char| c.is_ascii_digit()).len();
        let suffix = &word[digits..];
        if digits > 0 && !suffix.is_empty() && suffix.chars().all(|c| c.is_ascii_alphabetic()) {
            return format!("{}{}", pascal(suffix), &word[..digits]);
        }
    }
    let mut out = String::new();
    let mut prev_numeric = false;
    for word in &words {
        let numeric = word.chars().all(|c| c.is_ascii_digit());
        if numeric && prev_numeric {
            out.push('x');
        }
        if numeric {
            out.push_str(word);
        } else {
            let mut chars = word.chars();
            if let Some(first) = chars.next() {
                out.push(first.to_ascii_uppercase());
                out.extend(chars.map(|c| c.to_ascii_lowercase()));
            }
        }
        prev_numeric = numeric;
    }
    if out.starts_with(|c: char| c.is_ascii_digit()) {
        let prefix = if value.contains(':') { 'R' } else { 'V' };
        out.insert(0, prefix);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(values: &[&str]) -> Vec<String> {
        variants(&values.iter().map(|v| (*v).to_owned()).collect::<Vec<_>>())
            .iter()
            .map(ToString::to_string)
            .collect()
    }

    #[test]
    fn variant_names_read_well_and_never_collide() {
        assert_eq!(names(&["480p", "720p", "1080p"]), ["P480", "P720", "P1080"]);
        assert_eq!(
            names(&["16:9", "9:16", "21:9"]),
            ["R16x9", "R9x16", "R21x9"]
        );
        assert_eq!(
            names(&["square_hd", "portrait_4_3", "landscape_16_9"]),
            ["SquareHd", "Portrait4x3", "Landscape16x9"]
        );
        assert_eq!(names(&["JPG", "jpg", "WEBP"]), ["Jpg", "Jpg2", "Webp"]);
        assert_eq!(
            names(&["1024x1536", "auto", ""]),
            ["V1024x1536", "Auto", "Empty"]
        );
    }

    #[test]
    fn cases() {
        assert_eq!(pascal("seedance_v1_lite"), "SeedanceV1Lite");
        assert_eq!(pascal("gpt_image_1"), "GptImage1");
        assert_eq!(snake("callBackUrl"), "call_back_url");
        assert_eq!(snake("0"), "v_0");
        assert_eq!(ident("type").to_string(), "r#type");
        assert_eq!(ident("self").to_string(), "self_");
    }
}
