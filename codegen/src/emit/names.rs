//! Names every emitter derives from spec names.

/// `seedance_v1_lite` -> `SeedanceV1Lite`; anything that is not a letter or digit separates
/// words.
pub fn pascal(name: &str) -> String {
    let mut out = String::new();
    for word in name
        .split(|c: char| !c.is_ascii_alphanumeric())
        .filter(|w| !w.is_empty())
    {
        let mut chars = word.chars();
        if let Some(first) = chars.next() {
            out.push(first.to_ascii_uppercase());
            out.extend(chars.map(|c| c.to_ascii_lowercase()));
        }
    }
    if out.is_empty() || out.starts_with(|c: char| c.is_ascii_digit()) {
        out.insert(0, 'M');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pascal_case() {
        assert_eq!(pascal("seedance_v1_lite"), "SeedanceV1Lite");
        assert_eq!(pascal("gpt_image_1"), "GptImage1");
        assert_eq!(pascal("SEEDANCE-v1"), "SeedanceV1");
        assert_eq!(pascal("1080p"), "M1080p");
    }
}
