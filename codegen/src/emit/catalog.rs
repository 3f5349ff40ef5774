//! `MODELS.md`: the model catalog, for people.

use std::fmt::Write;

use super::{EmitError, HEADER, cost_formula, human_duration};
use crate::ir::Registry;
use crate::write::Files;

pub(super) fn emit(ir: &Registry, files: &mut Files) -> Result<(), EmitError> {
    let mut out = String::new();
    let enabled = ir.models.values().filter(|m| m.enabled).count();
    let _ = writeln!(out, "<!-- {HEADER} -->\n");
    let _ = writeln!(out, "# Model catalog\n");
    let _ = writeln!(
        out,
        "{} models ({} enabled) from {} providers. Costs are in credits; a disabled model is kept in the registry but not offered or run.\n",
        ir.models.len(),
        enabled,
        ir.providers.len()
    );
    let _ = writeln!(
        out,
        "| id | name | provider | content | mode | key scope (secret) | cost | expected latency | timeout | enabled |"
    );
    let _ = writeln!(out, "|---|---|---|---|---|---|---|---|---|---|");
    for m in ir.models.values() {
        let _ = writeln!(
            out,
            "| `{}` | {} | {} | {} | {} | `{}` (`{}`) | `{}` | {} | {} | {} |",
            m.id,
            m.display_name.replace('|', "\\|"),
            m.provider,
            m.content_type.name(),
            m.execution.mode.name(),
            m.key_scope,
            m.secret_name,
            cost_formula(&m.cost).replace('|', "\\|"),
            human_duration(m.execution.expected_latency_ms),
            human_duration(m.execution.timeout_ms),
            if m.enabled {
                "yes"
            } else {
                "**no** (rolled back)"
            },
        );
    }
    let _ = writeln!(out, "\n## Providers\n");
    let _ = writeln!(out, "| id | name | base URL | key scopes |");
    let _ = writeln!(out, "|---|---|---|---|");
    for p in ir.providers.values() {
        let scopes: Vec<String> = p
            .key_scopes
            .iter()
            .map(|(s, n)| format!("`{s}` → `{n}`"))
            .collect();
        let _ = writeln!(
            out,
            "| `{}` | {} | {} | {} |",
            p.id,
            p.display_name,
            p.base_url,
            scopes.join("<br>")
        );
    }
    files.insert("MODELS.md".into(), out);
    Ok(())
}
