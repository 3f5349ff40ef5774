//! The JSON Schemas of `schema/`: one per kind of spec file (for editors and other validators),
//! derived in [`crate::spec::schema`], and the IR's ([`crate::ir::schema`]).

use super::EmitError;
use crate::spec::schema::SpecKind;
use crate::write::Files;

pub(super) fn emit(files: &mut Files) -> Result<(), EmitError> {
    for kind in SpecKind::ALL {
        files.insert(kind.schema_file().into(), pretty(&kind.schema())?);
    }
    files.insert("ir.schema.json".into(), pretty(&crate::ir::schema())?);
    Ok(())
}

fn pretty(schema: &serde_json::Value) -> Result<String, EmitError> {
    let mut text =
        serde_json::to_string_pretty(schema).map_err(|e| EmitError::Other(e.to_string()))?;
    text.push('\n');
    Ok(text)
}
