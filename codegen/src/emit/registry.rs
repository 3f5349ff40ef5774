//! `registry.json`: the whole IR, for tools in any language.

use super::{EmitError, HEADER};
use crate::ir::Registry;
use crate::write::Files;

/// The IR with the generated-file header as its first member, serialized straight from the IR.
#[derive(serde::Serialize)]
struct WithHeader<'a> {
    #[serde(rename = "$comment")]
    comment: &'static str,
    #[serde(flatten)]
    ir: &'a Registry,
}

pub(super) fn emit(ir: &Registry, files: &mut Files) -> Result<(), EmitError> {
    let value = WithHeader {
        comment: HEADER,
        ir,
    };
    let mut text =
        serde_json::to_string_pretty(&value).map_err(|e| EmitError::Other(e.to_string()))?;
    text.push('\n');
    files.insert("registry.json".into(), text);
    Ok(())
}
