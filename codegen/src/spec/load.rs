//! Finding and reading the spec files under a models directory.

use std::fs;
use std::io::Read;
use std::path::{Path, PathBuf};

use serde::de::DeserializeOwned;
use serde_json::Value;

use super::schema::{Schemas, SpecKind};
use super::types::{ModelSpec, MonitoringSpec, ProviderSpec};
use super::yaml::{self, SourceMap, Span};
use crate::diag::{Code, Diagnostic, Diagnostics};

/// A spec file that parsed and matched its schema.
#[derive(Debug, Clone)]
pub struct Loaded<T> {
    /// The typed spec.
    pub spec: T,
    /// The file as shown in diagnostics.
    pub file: PathBuf,
    /// Path relative to the models directory, `/`-separated.
    pub rel: String,
    /// Positions of every value.
    pub map: SourceMap,
    /// The directory a model file sits in (its provider), for models.
    pub dir: Option<String>,
    /// The file as JSON, for rules that look at every value (literal secrets).
    pub raw: Value,
}

/// Every spec file of a models directory.
#[derive(Debug, Default)]
pub struct SpecSet {
    /// Providers, in path order.
    pub providers: Vec<Loaded<ProviderSpec>>,
    /// Models, in path order.
    pub models: Vec<Loaded<ModelSpec>>,
    /// Monitoring thresholds, when the file exists.
    pub monitoring: Option<Loaded<MonitoringSpec>>,
    /// Stems of provider files that failed to load: models naming them are not also reported
    /// as naming an unknown provider.
    pub broken_providers: Vec<String>,
}

/// A spec file's text, before parsing.
#[derive(Debug, Clone)]
pub struct SourceFile {
    /// The file as shown in diagnostics.
    pub shown: PathBuf,
    /// Path relative to the models directory, `/`-separated: decides the kind of spec.
    pub rel: String,
    /// The text.
    pub text: String,
}

/// Read every YAML file under `dir`, sorted by path. Unreadable entries become diagnostics.
pub fn read_dir(dir: &Path, display_base: &Path, diags: &mut Diagnostics) -> Vec<SourceFile> {
    let mut files = Vec::new();
    if let Err(e) = collect(dir, &mut files) {
        diags.push(
            Diagnostic::new(
                Code::ModelsDirUnreadable,
                crate::diag::display_path(dir, display_base),
                Span::default(),
                format!("cannot read the models directory: {e}"),
            )
            .hint("pass the directory that holds `providers/` with `--models DIR`"),
        );
        return Vec::new();
    }
    files.sort();
    let mut out = Vec::new();
    for path in files {
        let rel_path = path.strip_prefix(dir).unwrap_or(&path);
        let rel = rel_path
            .components()
            .map(|c| c.as_os_str().to_string_lossy())
            .collect::<Vec<_>>()
            .join("/");
        let shown = crate::diag::display_path(&path, display_base);
        let start = Span {
            line: 1,
            col: 1,
            start: 0,
            end: 0,
        };
        match read_bounded(&path) {
            Ok(Contents::Text(text)) => out.push(SourceFile { shown, rel, text }),
            Ok(Contents::TooLarge(len)) => {
                let e = yaml::too_large(len);
                diags.push(Diagnostic::new(e.code, &shown, e.span, e.message).maybe_hint(e.hint));
            }
            Ok(Contents::NotUtf8(at)) => diags.push(
                Diagnostic::new(Code::NotUtf8, &shown, at, "the file is not UTF-8 text")
                    .hint("save the file as UTF-8"),
            ),
            Err(e) => diags.push(Diagnostic::new(
                Code::FileUnreadable,
                &shown,
                start,
                format!("cannot read file: {e}"),
            )),
        }
    }
    out
}

/// One file's outcome.
enum One {
    Provider(Box<Loaded<ProviderSpec>>),
    Model(Box<Loaded<ModelSpec>>),
    Monitoring(Box<Loaded<MonitoringSpec>>),
    /// A provider file that failed to load: its stem.
    BrokenProvider(String),
    /// Reported, nothing to add.
    Nothing,
}

/// Parse and schema-check spec texts. Files that cannot be parsed or that break their schema
/// are reported in `diags` and left out of the set; the rest are returned, so later checks can
/// still report their own problems in the same run.
///
/// Files are independent here, so they are loaded on every core; results and diagnostics are
/// put back in file order, so nothing depends on scheduling.
pub fn load_sources(sources: &[SourceFile], schemas: &Schemas, diags: &mut Diagnostics) -> SpecSet {
    let threads = std::thread::available_parallelism()
        .map_or(1, usize::from)
        .min(sources.len().div_ceil(64).max(1));
    let chunk = sources.len().div_ceil(threads).max(1);
    let loaded: Vec<Vec<(One, Diagnostics)>> = if threads <= 1 {
        vec![sources.iter().map(|f| load_one(f, schemas)).collect()]
    } else {
        std::thread::scope(|scope| {
            let handles: Vec<_> = sources
                .chunks(chunk)
                .map(|share| {
                    scope.spawn(move || share.iter().map(|f| load_one(f, schemas)).collect())
                })
                .collect();
            handles
                .into_iter()
                .map(|h| {
                    h.join()
                        .unwrap_or_else(|panic| std::panic::resume_unwind(panic))
                })
                .collect()
        })
    };
    let mut set = SpecSet::default();
    for (one, found) in loaded.into_iter().flatten() {
        diags.0.extend(found.0);
        match one {
            One::Provider(l) => set.providers.push(*l),
            One::Model(l) => set.models.push(*l),
            One::Monitoring(l) => set.monitoring = Some(*l),
            One::BrokenProvider(stem) => set.broken_providers.push(stem),
            One::Nothing => {}
        }
    }
    set
}

/// Load one file: its kind from its place, then parse, schema check and typed read.
fn load_one(file: &SourceFile, schemas: &Schemas) -> (One, Diagnostics) {
    let mut diags = Diagnostics::default();
    let shown = file.shown.clone();
    let rel = file.rel.clone();
    let parts: Vec<&str> = rel.split('/').collect();
    let kind = match parts.as_slice() {
        ["monitoring.yaml" | "monitoring.yml"] => SpecKind::Monitoring,
        ["providers", _] => SpecKind::Provider,
        [provider, _] if *provider != "providers" => SpecKind::Model,
        _ => {
            diags.push(
                Diagnostic::new(
                    Code::MisplacedFile,
                    &shown,
                    Span {
                        line: 1,
                        col: 1,
                        start: 0,
                        end: 0,
                    },
                    "spec file in an unexpected place",
                )
                .expected("`providers/<id>.yaml`, `<provider>/<model>.yaml` or `monitoring.yaml`")
                .hint("move the file so the registry knows what kind of spec it is"),
            );
            return (One::Nothing, diags);
        }
    };
    let Some((value, map)) = parse_checked(&file.text, kind, &shown, schemas, &mut diags) else {
        if kind == SpecKind::Provider {
            let stem = parts[1]
                .trim_end_matches(".yaml")
                .trim_end_matches(".yml")
                .to_owned();
            return (One::BrokenProvider(stem), diags);
        }
        return (One::Nothing, diags);
    };
    let dir = (kind == SpecKind::Model).then(|| parts[0].to_owned());
    let one = match kind {
        SpecKind::Provider => typed::<ProviderSpec>(&value, &shown, &mut diags).map(|spec| {
            One::Provider(Box::new(Loaded {
                spec,
                file: shown,
                rel,
                map,
                dir: None,
                raw: value,
            }))
        }),
        SpecKind::Model => typed::<ModelSpec>(&value, &shown, &mut diags).map(|spec| {
            One::Model(Box::new(Loaded {
                spec,
                file: shown,
                rel,
                map,
                dir,
                raw: value,
            }))
        }),
        SpecKind::Monitoring => typed::<MonitoringSpec>(&value, &shown, &mut diags).map(|spec| {
            One::Monitoring(Box::new(Loaded {
                spec,
                file: shown,
                rel,
                map,
                dir: None,
                raw: value,
            }))
        }),
    };
    (one.unwrap_or(One::Nothing), diags)
}

/// Parse YAML text and check it against the kind's schema. `None` after reporting problems.
pub fn parse_checked(
    source: &str,
    kind: SpecKind,
    shown: &Path,
    schemas: &Schemas,
    diags: &mut Diagnostics,
) -> Option<(Value, SourceMap)> {
    let (value, map) = match yaml::parse(source) {
        Ok(parsed) => parsed,
        Err(e) => {
            diags.push(Diagnostic::new(e.code, shown, e.span, e.message).maybe_hint(e.hint));
            return None;
        }
    };
    if !value.is_object() {
        diags.push(
            Diagnostic::new(
                Code::NotAMapping,
                shown,
                map.value(""),
                "a spec file must hold a mapping",
            )
            .expected("`key: value` lines at the top level"),
        );
        return None;
    }
    let problems = schemas.check(kind, shown, &value, &map);
    if !problems.is_empty() {
        for d in problems {
            diags.push(d);
        }
        return None;
    }
    Some((value, map))
}

fn typed<T: DeserializeOwned>(value: &Value, shown: &Path, diags: &mut Diagnostics) -> Option<T> {
    match T::deserialize(value) {
        Ok(spec) => Some(spec),
        Err(e) => {
            // The schema is derived from the same types, so this is rare; report it anyway.
            diags.push(Diagnostic::new(
                Code::InvalidSpec,
                shown,
                Span {
                    line: 1,
                    col: 1,
                    start: 0,
                    end: 0,
                },
                format!("invalid spec: {e}"),
            ));
            None
        }
    }
}

/// What [`read_bounded`] found.
enum Contents {
    Text(String),
    /// Over [`yaml::MAX_FILE_BYTES`]: the file's length.
    TooLarge(u64),
    /// Not UTF-8: where the first bad byte is.
    NotUtf8(Span),
}

/// Read a file as UTF-8 text, but never more than [`yaml::MAX_FILE_BYTES`] and one byte of
/// it: a larger file is not read into memory.
fn read_bounded(path: &Path) -> std::io::Result<Contents> {
    let file = fs::File::open(path)?;
    let limit = yaml::MAX_FILE_BYTES as u64;
    let mut bytes = Vec::new();
    file.take(limit + 1).read_to_end(&mut bytes)?;
    if bytes.len() as u64 > limit {
        let len = fs::metadata(path).map_or(limit + 1, |m| m.len().max(limit + 1));
        return Ok(Contents::TooLarge(len));
    }
    match String::from_utf8(bytes) {
        Ok(text) => Ok(Contents::Text(text)),
        Err(e) => {
            let good = &e.as_bytes()[..e.utf8_error().valid_up_to()];
            // Valid UTF-8 up to here, so this cannot fail.
            let good = std::str::from_utf8(good).unwrap_or_default();
            let line_start = good.rfind('\n').map_or(0, |i| i + 1);
            let start = good.chars().count();
            Ok(Contents::NotUtf8(Span {
                line: good.matches('\n').count() + 1,
                col: good[line_start..].chars().count() + 1,
                start,
                end: start + 1,
            }))
        }
    }
}

fn collect(dir: &Path, out: &mut Vec<PathBuf>) -> std::io::Result<()> {
    for entry in fs::read_dir(dir)? {
        let entry = entry?;
        let path = entry.path();
        let name = entry.file_name();
        if name.to_string_lossy().starts_with('.') {
            continue;
        }
        if entry.file_type()?.is_dir() {
            collect(&path, out)?;
        } else if matches!(
            path.extension().and_then(|e| e.to_str()),
            Some("yaml" | "yml")
        ) {
            out.push(path);
        }
    }
    Ok(())
}
