//! SQL literals, built in Rust so that templates only place finished text.
//!
//! Every value that reaches the SQL goes through one of these functions: text is quoted with
//! doubled quotes (Postgres' `standard_conforming_strings`, on by default since 9.1, keeps
//! backslashes literal), decimals are checked to be plain decimals before they are written
//! unquoted, and durations become `interval` literals a person can read.

use super::EmitError;

/// `'text'`, quotes doubled. A NUL byte cannot be stored in Postgres text.
pub fn text(s: &str) -> Result<String, EmitError> {
    if s.contains('\0') {
        return Err(EmitError::Other(format!(
            "text {s:?} contains a NUL byte, which Postgres cannot store"
        )));
    }
    Ok(format!("'{}'", s.replace('\'', "''")))
}

/// A quoted `jsonb` literal: `'{"a": 1}'::jsonb`.
pub fn jsonb(v: &serde_json::Value) -> Result<String, EmitError> {
    Ok(format!("{}::jsonb", text(&v.to_string())?))
}

/// A decimal written unquoted (`8`, `1.5`, `-2`), after checking it is a plain decimal.
pub fn numeric(s: &str) -> Result<String, EmitError> {
    let body = s.strip_prefix('-').unwrap_or(s);
    let digits = |t: &str| !t.is_empty() && t.bytes().all(|b| b.is_ascii_digit());
    let ok = match body.split_once('.') {
        Some((int, frac)) => digits(int) && digits(frac),
        None => digits(body),
    };
    if ok {
        Ok(s.to_owned())
    } else {
        Err(EmitError::Other(format!("`{s}` is not a plain decimal")))
    }
}

/// `true` or `false`.
pub fn boolean(b: bool) -> String {
    if b { "true".into() } else { "false".into() }
}

/// `interval '1 hour 30 minutes'` for a duration in milliseconds.
pub fn interval_ms(ms: u64) -> String {
    if ms % 1000 != 0 {
        return format!("interval '{ms} milliseconds'");
    }
    interval_s(ms / 1000)
}

/// `interval '15 minutes'` for a duration in seconds. Never in days: `now() - interval '1 day'`
/// is a calendar day, 23 or 25 hours across a daylight-saving change, and `24h` means 24 hours.
pub fn interval_s(seconds: u64) -> String {
    let (h, m, s) = (seconds / 3600, seconds / 60 % 60, seconds % 60);
    let mut parts = Vec::new();
    for (n, unit) in [(h, "hour"), (m, "minute"), (s, "second")] {
        if n > 0 {
            parts.push(format!("{n} {unit}{}", if n == 1 { "" } else { "s" }));
        }
    }
    if parts.is_empty() {
        parts.push("0 seconds".into());
    }
    format!("interval '{}'", parts.join(" "))
}

/// `'a', 'b', 'c'`: quoted texts separated by commas.
pub fn text_list<'a>(items: impl IntoIterator<Item = &'a str>) -> Result<String, EmitError> {
    let quoted: Result<Vec<String>, EmitError> = items.into_iter().map(text).collect();
    Ok(quoted?.join(", "))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_doubles_quotes_and_keeps_backslashes() {
        assert_eq!(text("it's").unwrap(), "'it''s'");
        assert_eq!(text(r"a\b").unwrap(), r"'a\b'");
        assert!(text("a\0b").is_err());
    }

    #[test]
    fn numeric_accepts_plain_decimals_only() {
        for ok in ["0", "8", "1.5", "-2", "0.0035"] {
            assert_eq!(numeric(ok).unwrap(), ok);
        }
        for bad in ["", "1e3", ".5", "5.", "1; drop table x", "--1", "1.2.3"] {
            assert!(numeric(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn intervals_read_like_the_spec() {
        assert_eq!(interval_s(3600), "interval '1 hour'");
        assert_eq!(interval_s(900), "interval '15 minutes'");
        assert_eq!(interval_s(5400), "interval '1 hour 30 minutes'");
        assert_eq!(interval_s(86_400), "interval '24 hours'");
        assert_eq!(interval_s(90_061), "interval '25 hours 1 minute 1 second'");
        assert_eq!(interval_s(0), "interval '0 seconds'");
        assert_eq!(interval_ms(240_000), "interval '4 minutes'");
        assert_eq!(interval_ms(1500), "interval '1500 milliseconds'");
    }

    #[test]
    fn jsonb_is_quoted_json() {
        let v = serde_json::json!({"q": "it's"});
        assert_eq!(jsonb(&v).unwrap(), r#"'{"q":"it''s"}'::jsonb"#);
    }
}
