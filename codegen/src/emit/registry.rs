//! `registry.json`: the whole IR, for tools in any language.

use super::{EmitError, HEADER};
use crate::ir::Registry;
use crate::write::Files;

pub(super) fn emit(ir: &Registry, files: &mut Files) -> Result<(), EmitError> {
    let mut value = serde_json::to_value(ir).map_err(|e| EmitError::Other(e.to_string()))?;
    if let serde_json::Value::Object(map) = &mut value {
        let mut with_header = serde_json::Map::new();
        with_header.insert("$comment".into(), HEADER.into());
        with_header.append(map);
        value = serde_json::Value::Object(with_header);
    }
    let mut text =
        serde_json::to_string_pretty(&value).map_err(|e| EmitError::Other(e.to_string()))?;
    text.push('\n');
    files.insert("registry.json".into(), text);
    Ok(())
}
