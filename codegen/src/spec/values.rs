//! Small scalar syntaxes of the spec: durations, decimals and JSON pointers.

use rust_decimal::Decimal;
use std::str::FromStr;

/// Parse `90s`, `4m`, `1h`, `1m30s`, `500ms` into milliseconds.
pub fn parse_duration(text: &str) -> Result<u64, String> {
    let text = text.trim();
    if text.is_empty() {
        return Err("an empty duration".into());
    }
    let mut total: u64 = 0;
    let mut rest = text;
    while !rest.is_empty() {
        let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
        if digits == 0 {
            return Err(format!("`{text}` is not a duration"));
        }
        let n: u64 = rest[..digits]
            .parse()
            .map_err(|_| format!("`{text}` is too large"))?;
        rest = &rest[digits..];
        let unit_len = rest.bytes().take_while(u8::is_ascii_alphabetic).count();
        let unit = &rest[..unit_len];
        rest = &rest[unit_len..];
        let ms = match unit {
            "ms" => 1,
            "s" => 1_000,
            "m" => 60_000,
            "h" => 3_600_000,
            "" => return Err(format!("`{text}` has a number without a unit")),
            other => return Err(format!("unknown unit `{other}` in `{text}`")),
        };
        total = n
            .checked_mul(ms)
            .and_then(|v| total.checked_add(v))
            .ok_or_else(|| format!("`{text}` is too large"))?;
    }
    if total == 0 {
        return Err("a duration must be longer than zero".into());
    }
    Ok(total)
}

/// Parse an exact decimal string; returns its canonical form (no trailing zeros).
pub fn parse_decimal(text: &str) -> Result<Decimal, String> {
    let t = text.trim();
    let plain = !t.is_empty()
        && t.strip_prefix('-')
            .unwrap_or(t)
            .split_once('.')
            .map_or_else(
                || {
                    t.strip_prefix('-')
                        .unwrap_or(t)
                        .bytes()
                        .all(|b| b.is_ascii_digit())
                },
                |(i, f)| {
                    !i.is_empty()
                        && !f.is_empty()
                        && (i.bytes().chain(f.bytes())).all(|b| b.is_ascii_digit())
                },
            );
    if !plain || t != text {
        return Err(format!("`{text}` is not a plain decimal number"));
    }
    Decimal::from_str(t).map_err(|e| format!("`{text}`: {e}"))
}

/// Canonical text of a decimal: no exponent, no trailing zeros.
pub fn canonical(d: Decimal) -> String {
    d.normalize().to_string()
}

/// Check the syntax of a JSON pointer (RFC 6901, plus `*` segments).
pub fn check_pointer(p: &str) -> Result<(), String> {
    if p.is_empty() {
        return Ok(());
    }
    if !p.starts_with('/') {
        return Err(format!("`{p}` does not start with `/`"));
    }
    let bytes = p.as_bytes();
    for (i, b) in bytes.iter().enumerate() {
        if *b == b'~' && !matches!(bytes.get(i + 1), Some(b'0' | b'1')) {
            return Err(format!("`{p}` has a `~` that is not `~0` or `~1`"));
        }
    }
    if p.contains("//") {
        return Err(format!("`{p}` has an empty segment"));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations() {
        assert_eq!(parse_duration("4m"), Ok(240_000));
        assert_eq!(parse_duration("1m30s"), Ok(90_000));
        assert_eq!(parse_duration("500ms"), Ok(500));
        assert!(parse_duration("5").is_err());
        assert!(parse_duration("5 minutes").is_err());
        assert!(parse_duration("0s").is_err());
    }

    #[test]
    fn decimals() {
        assert_eq!(canonical(parse_decimal("1.50").unwrap()), "1.5");
        assert!(parse_decimal("1e3").is_err());
        assert!(parse_decimal(" 1").is_err());
        assert!(parse_decimal(".5").is_err());
    }
}
