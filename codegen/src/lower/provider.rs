//! Rules for provider files.

use super::{Annotate, Reporter};
use crate::diag::{Code, Diagnostics};
use crate::ir::{Auth, CircuitBreaker, ErrorMapping, Provider, Webhook};
use crate::spec::load::Loaded;
use crate::spec::types::{AuthKind, ProviderSpec, SignatureScheme};
use crate::spec::values::check_pointer;

/// Check one provider and lower it.
pub(super) fn lower(
    p: &Loaded<ProviderSpec>,
    diags: &mut Diagnostics,
) -> Option<crate::ir::Provider> {
    let spec = &p.spec;
    let mut r = Reporter::new(p, diags);

    let stem = p.rel.rsplit('/').next().unwrap_or_default();
    let stem = stem.trim_end_matches(".yaml").trim_end_matches(".yml");
    if stem != spec.id {
        r.at(
            Code::IdNotFileName,
            "/id",
            format!(
                "provider id `{}` does not match its file name `{stem}`",
                spec.id
            ),
        )
        .help(format!(
            "rename the file to `providers/{}.yaml`, or the id to `{stem}`",
            spec.id
        ));
    }

    if spec.auth.prefix.is_some() && spec.auth.kind != AuthKind::Header {
        r.at(
            Code::AuthPrefixMisplaced,
            "/auth/prefix",
            "`prefix` applies only to `type: header`",
        )
        .help("remove `prefix`");
    }
    let auth = match (spec.auth.kind, &spec.auth.name) {
        (AuthKind::Bearer, None) => Some(Auth::Bearer),
        (AuthKind::Bearer, Some(_)) => {
            r.at(
                Code::AuthNameMisplaced,
                "/auth/name",
                "`name` is not used with `type: bearer`",
            )
            .help("remove `name`, or use `type: header`");
            None
        }
        (AuthKind::Header, Some(n)) => Some(Auth::Header {
            name: n.clone(),
            prefix: spec.auth.prefix.clone().unwrap_or_default(),
        }),
        (AuthKind::Query, Some(n)) => Some(Auth::Query { name: n.clone() }),
        (AuthKind::Header | AuthKind::Query, None) => {
            r.at(
                Code::MissingAuthName,
                "/auth",
                "missing `name` for this auth type",
            )
            .expect("the header or query parameter that carries the key")
            .help("add `name: X-API-Key` (or the provider's own name)");
            None
        }
    };

    for (scope, secret) in &spec.key_scopes {
        let at = format!("/key_scopes/{scope}");
        if !is_snake(scope) {
            r.at_key(
                Code::NotSnakeCase,
                &at,
                format!("key scope `{scope}` is not snake_case"),
            )
            .help("use lowercase letters, digits and `_`");
        }
        if !is_env_name(secret) {
            r.at(Code::NotASecretName, &at, format!("`{secret}` is not a secret name"))
                .expect("an environment variable name in UPPER_SNAKE_CASE, such as `KIE_AI_API_KEY_PROMPT_TO_VIDEO`")
                .help("a spec names the secret; the key itself goes in the environment");
        }
    }

    let errors = spec.errors.as_ref().map(|e| {
        pointer(&mut r, "/errors/message", &e.message);
        if let Some(c) = &e.code {
            pointer(&mut r, "/errors/code", c);
        }
        if !e.ok_codes.is_empty() && e.code.is_none() {
            r.at(
                Code::OkCodesWithoutCode,
                "/errors/ok_codes",
                "`ok_codes` needs `code`",
            )
            .help("add `code: /code` (the pointer to the provider's code)");
        }
        ErrorMapping {
            message: e.message.clone(),
            code: e.code.clone(),
            ok_codes: e.ok_codes.clone(),
        }
    });

    let webhook = spec.webhook.as_ref().map(|w| {
        let needs_secret = matches!(
            w.signature,
            SignatureScheme::StandardWebhooks
                | SignatureScheme::KieHmac
                | SignatureScheme::FalEd25519
        );
        let secret_name = match &w.secret_scope {
            Some(scope) => match spec.key_scopes.get(scope) {
                Some(name) => Some(name.clone()),
                None => {
                    r.at(
                        Code::UnknownKeyScope,
                        "/webhook/secret_scope",
                        format!("unknown key scope `{scope}`"),
                    )
                    .expect(format!(
                        "one of the provider's key scopes: {}",
                        list(spec.key_scopes.keys())
                    ))
                    .suggest(scope, spec.key_scopes.keys().map(String::as_str));
                    None
                }
            },
            None if needs_secret => {
                r.at(
                    Code::MissingSecretScope,
                    "/webhook",
                    "this signature scheme needs `secret_scope`",
                )
                .help("add `secret_scope:` naming the key scope that holds the signing secret");
                None
            }
            None => None,
        };
        if w.signature == SignatureScheme::None && !w.confirm_by_poll {
            r.at(
                Code::UnsignedWebhook,
                "/webhook/signature",
                "unsigned webhooks must be confirmed by a poll",
            )
            .help("set `confirm_by_poll: true`, or use a signature scheme");
        }
        for (i, t) in w.task_id.iter().enumerate() {
            pointer(&mut r, &format!("/webhook/task_id/{i}"), t);
        }
        let tolerance_ms = w
            .tolerance
            .as_ref()
            .and_then(|t| super::duration(&mut r, "/webhook/tolerance", t, "`5m`"));
        Webhook {
            signature: w.signature.into(),
            secret_name,
            secret_scope: w.secret_scope.clone(),
            task_id: w.task_id.clone(),
            confirm_by_poll: w.confirm_by_poll,
            tolerance_ms,
        }
    });

    for (i, host) in spec.allowed_hosts.iter().enumerate() {
        let bare = !host.is_empty()
            && host.len() <= 253
            && host
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'.')
            && !host.starts_with(['.', '-'])
            && !host.ends_with(['.', '-']);
        if !bare {
            let fixed = host
                .trim_start_matches("https://")
                .trim_start_matches("http://")
                .split(['/', ':', '?'])
                .next()
                .unwrap_or_default();
            r.at(
                Code::BadAllowedHost,
                &format!("/allowed_hosts/{i}"),
                format!("`{host}` is not a bare host name"),
            )
            .expect("a host name such as `cdn.example.com` (no scheme, port or path; https on port 443 is implied)")
            .help(match fixed.is_empty() || fixed == host {
                true => "write the host name alone".to_owned(),
                false => format!("write `{fixed}`"),
            });
        }
    }

    let limits = spec.limits.as_ref();
    let circuit_breaker = limits
        .and_then(|l| l.circuit_breaker.as_ref())
        .and_then(|cb| {
            let mut ms = |field: &str, text: &str| {
                let at = format!("/limits/circuit_breaker/{field}");
                super::duration(&mut r, &at, text, "`30s`")
            };
            let window_ms = ms("window", &cb.window);
            let cooldown_ms = ms("cooldown", &cb.cooldown);
            Some(CircuitBreaker {
                failure_rate: cb.failure_rate,
                min_requests: cb.min_requests,
                window_ms: window_ms?,
                cooldown_ms: cooldown_ms?,
            })
        });

    if r.count > 0 {
        return None;
    }
    Some(Provider {
        id: spec.id.clone(),
        display_name: spec.display_name.clone(),
        description: spec.description.clone(),
        base_url: spec.base_url.clone(),
        auth: auth?,
        key_scopes: spec.key_scopes.clone(),
        errors,
        webhook,
        idempotent_submit: spec.idempotent_submit,
        allowed_hosts: spec
            .allowed_hosts
            .iter()
            .map(|h| h.to_ascii_lowercase())
            .collect(),
        concurrency: limits.and_then(|l| l.concurrency),
        circuit_breaker,
    })
}

pub(super) fn pointer(r: &mut Reporter<'_>, at: &str, p: &str) {
    if let Err(e) = check_pointer(p) {
        r.at(Code::BadPointer, at, format!("bad JSON pointer: {e}"))
            .expect("a JSON pointer such as `/data/taskId`")
            .help("start with `/`, separate keys with `/`, write `~1` for a `/` inside a key");
    }
}

pub(super) fn list<'a>(items: impl IntoIterator<Item = &'a String>) -> String {
    items
        .into_iter()
        .map(|s| format!("`{s}`"))
        .collect::<Vec<_>>()
        .join(", ")
}

pub(super) fn is_snake(s: &str) -> bool {
    s.starts_with(|c: char| c.is_ascii_lowercase())
        && s.bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
}

fn is_env_name(s: &str) -> bool {
    s.starts_with(|c: char| c.is_ascii_uppercase())
        && s.bytes()
            .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit() || b == b'_')
}
