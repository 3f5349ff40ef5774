//! Request templates: placeholders resolved, every param used, runtime values where they exist.

use super::*;

/// Check and lower one request. `kept` is `None` for the submit, and the names kept from the
/// submit answer for the requests after it.
pub(super) fn request(
    r: &mut Reporter<'_>,
    at: &str,
    req: &RequestSpec,
    param_names: &[String],
    is_param: &dyn Fn(&str) -> bool,
    mode: ExecutionMode,
    kept: Option<&BTreeSet<String>>,
) -> Option<Request> {
    let polling = kept.is_some();
    let before = r.count;
    let bad_placeholder =
        |r: &mut Reporter<'_>, field: &str, message: String, unknown: Option<String>| {
            let d = r.at(Code::UnknownPlaceholder, field, message);
            d.expect(
            "a declared param or a runtime value (`uuid`, `callback_url`, `task_id`, `kept.NAME`)",
        );
            if let Some(name) = unknown {
                let runtime = RuntimeValue::ALL.map(RuntimeValue::name);
                match did_you_mean(&name, param_names.iter().map(String::as_str).chain(runtime)) {
                    Some(m) => d.help(format!("did you mean `{m}`?")),
                    None => d.help(format!(
                        "declare `{name}` under `params`, or fix the spelling"
                    )),
                };
            }
        };
    let (field, text, whole_url) = match (&req.path, &req.url) {
        (Some(p), None) => ("path", p.as_str(), false),
        (None, Some(u)) if polling => ("url", u.as_str(), true),
        (None, Some(_)) => {
            r.at_key(
                Code::UrlInSubmit,
                &format!("{at}/url"),
                "the submit cannot take its URL from an answer: there is none yet",
            )
            .help("write `path: /...` under the provider's base URL");
            return None;
        }
        (Some(_), Some(_)) => {
            r.at_key(
                Code::PathOrUrl,
                &format!("{at}/url"),
                "a request has `path` and `url`; give one",
            )
            .help("keep `url: \"{{ kept.NAME }}\"` for a URL from the submit answer, or `path` under the base URL");
            return None;
        }
        (None, None) => {
            r.at(Code::PathOrUrl, at, "a request needs `path` or `url`")
                .help("add `path: /v1/...` (under the provider's base URL), or `url: \"{{ kept.NAME }}\"` for a URL kept from the submit answer");
            return None;
        }
    };
    let path = match parse_segments(text, is_param) {
        Ok(p) => Some(p),
        Err(e) => {
            let unknown = e
                .strip_prefix("unknown placeholder `")
                .map(|s| s.trim_end_matches('`').to_owned());
            bad_placeholder(r, &format!("{at}/{field}"), e, unknown);
            None
        }
    };
    let mut headers = BTreeMap::new();
    for (k, v) in &req.headers {
        match parse_segments(v, is_param) {
            Ok(s) => {
                headers.insert(k.clone(), s);
            }
            Err(e) => {
                let unknown = e
                    .strip_prefix("unknown placeholder `")
                    .map(|s| s.trim_end_matches('`').to_owned());
                bad_placeholder(
                    r,
                    &format!("{at}/headers/{}", crate::spec::yaml::escape_token(k)),
                    e,
                    unknown,
                );
            }
        }
    }
    let body = match &req.body {
        None => None,
        Some(b) => match parse_template(b, is_param) {
            Ok(t) => Some(t),
            Err(e) => {
                bad_placeholder(r, &format!("{at}/body{}", e.at), e.message, e.unknown);
                None
            }
        },
    };
    if r.count > before {
        return None;
    }
    let request = Request {
        method: req.method.into(),
        path: path?,
        whole_url,
        headers,
        body,
    };
    // Runtime values that this request cannot have.
    let mut placeholders = Vec::new();
    collect_placeholders(&request, &mut placeholders);
    for p in placeholders {
        let name = match &p {
            Placeholder::Param(n) => n.clone(),
            Placeholder::Runtime(rv) => rv.name().to_owned(),
            Placeholder::Kept(n) => format!("kept.{n}"),
        };
        let place =
            find_placeholder(req, &name).map_or_else(|| at.to_owned(), |p| format!("{at}{p}"));
        match p {
            Placeholder::Kept(_) if !polling => {
                r.at(
                    Code::KeptInSubmit,
                    &place,
                    format!("`{{{{ {name} }}}}` is kept from the submit answer, so the submit cannot use it"),
                )
                .help("use kept values in `poll`, `result` or `cancel`");
            }
            Placeholder::Kept(n) if kept.is_some_and(|k| !k.contains(&n)) => {
                let keep = kept.into_iter().flatten();
                let d = r.at(
                    Code::UnknownKept,
                    &place,
                    format!("`{{{{ {name} }}}}`: the submit answer keeps no value `{n}`"),
                );
                d.expect(match kept.is_some_and(|k| !k.is_empty()) {
                    true => format!("one of {}", list(keep.clone())),
                    false => "a name kept by `response.keep`".to_owned(),
                });
                match did_you_mean(&n, keep.map(String::as_str)) {
                    Some(m) => d.help(format!("did you mean `kept.{m}`?")),
                    None => d.help(format!(
                        "keep it from the submit answer: `response.keep: {{ {n}: /pointer/to/{n} }}`"
                    )),
                };
            }
            Placeholder::Runtime(RuntimeValue::TaskId) if !polling => {
                r.at(
                    Code::TaskIdInSubmit,
                    &place,
                    "`{{ task_id }}` is only known when polling",
                )
                .help("use it in `execution.poll`, not in `submit`");
            }
            Placeholder::Runtime(RuntimeValue::CallbackUrl)
                if mode != ExecutionMode::Webhook || polling =>
            {
                r.at(
                    Code::CallbackUrlMisplaced,
                    &place,
                    "`{{ callback_url }}` is only available in the submit of a `webhook` model",
                )
                .help("set `mode: webhook`, or remove the callback URL");
            }
            Placeholder::Param(name) if polling => {
                r.at(
                    Code::ParamInPoll,
                    &place,
                    format!("a request after the submit uses param `{name}`; it knows only `task_id` and kept values"),
                )
                .help("use `{{ task_id }}` or `{{ kept.NAME }}`");
            }
            _ => {}
        }
    }
    if r.count > before {
        return None;
    }
    Some(request)
}

/// Where in a request spec (relative pointer) the placeholder `name` is written.
pub(super) fn find_placeholder(req: &RequestSpec, name: &str) -> Option<String> {
    find_in(req, name, false)
}

/// Where in a request spec (relative pointer) the placeholder `name` is written inside text:
/// in the path, a header, or a body string with more than the placeholder.
pub(super) fn find_in_text(req: &RequestSpec, name: &str) -> Option<String> {
    find_in(req, name, true)
}

fn find_in(req: &RequestSpec, name: &str, in_text: bool) -> Option<String> {
    fn mentions(text: &str, name: &str) -> bool {
        text.split("{{")
            .skip(1)
            .any(|rest| rest.split("}}").next().map(str::trim) == Some(name))
    }
    fn alone(text: &str) -> bool {
        let t = text.trim();
        t.starts_with("{{") && t.ends_with("}}") && t.matches("{{").count() == 1
    }
    fn walk(v: &Value, name: &str, at: String, in_text: bool) -> Option<String> {
        match v {
            Value::String(s) if mentions(s, name) && !(in_text && alone(s)) => Some(at),
            Value::Array(items) => items
                .iter()
                .enumerate()
                .find_map(|(i, x)| walk(x, name, format!("{at}/{i}"), in_text)),
            Value::Object(m) => m.iter().find_map(|(k, x)| {
                walk(
                    x,
                    name,
                    format!("{at}/{}", crate::spec::yaml::escape_token(k)),
                    in_text,
                )
            }),
            _ => None,
        }
    }
    if req.path.as_deref().is_some_and(|p| mentions(p, name)) {
        return Some("/path".into());
    }
    if req.url.as_deref().is_some_and(|u| mentions(u, name)) {
        return Some("/url".into());
    }
    if let Some((k, _)) = req.headers.iter().find(|(_, v)| mentions(v, name)) {
        return Some(format!("/headers/{}", crate::spec::yaml::escape_token(k)));
    }
    req.body
        .as_ref()
        .and_then(|b| walk(b, name, "/body".into(), in_text))
}

/// The params a request shows inside text: in its path, its headers, and body strings with
/// more than the placeholder. Each once, in the order they are first met.
pub(super) fn text_params(req: &Request) -> Vec<String> {
    fn body(t: &Template, out: &mut Vec<Placeholder>) {
        match t {
            Template::Text(segs) => segment_placeholders(segs, out),
            Template::Object(members) => members.iter().for_each(|(_, t)| body(t, out)),
            Template::Array(items) => items.iter().for_each(|t| body(t, out)),
            Template::Literal(_) | Template::Value(_) => {}
        }
    }
    let mut found = Vec::new();
    segment_placeholders(&req.path, &mut found);
    for h in req.headers.values() {
        segment_placeholders(h, &mut found);
    }
    if let Some(b) = &req.body {
        body(b, &mut found);
    }
    let mut names: Vec<String> = Vec::new();
    for p in found {
        if let Placeholder::Param(n) = p {
            if !names.contains(&n) {
                names.push(n);
            }
        }
    }
    names
}

pub(super) fn collect_placeholders(req: &Request, out: &mut Vec<Placeholder>) {
    segment_placeholders(&req.path, out);
    for h in req.headers.values() {
        segment_placeholders(h, out);
    }
    if let Some(b) = &req.body {
        template_placeholders(b, out);
    }
}

pub(super) fn collect_params(req: &Request, used: &mut BTreeSet<String>) {
    let mut out = Vec::new();
    collect_placeholders(req, &mut out);
    for p in out {
        if let Placeholder::Param(n) = p {
            used.insert(n);
        }
    }
}
