//! The one writer of generated files: write atomically, or check freshness.
//!
//! An output tree is a map from relative path to content, for one root directory that the
//! toolchain owns entirely (`generated/`, `schema/`). Writing builds the new tree in a sibling
//! temp directory (unchanged files are hard-linked from the old tree, so their timestamps stay
//! and cargo rebuilds nothing), then swaps the directories with two renames. A failure at any
//! point before the swap leaves the old tree exactly as it was.

use std::collections::BTreeMap;
use std::fs;
use std::io;
use std::path::{Path, PathBuf};

/// Files of one output root, by path relative to it (`/`-separated).
pub type Files = BTreeMap<String, String>;

/// What a write did.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct WriteReport {
    /// Files created or changed.
    pub written: Vec<String>,
    /// Files left as they were.
    pub unchanged: usize,
    /// Files removed because no spec produces them any more.
    pub removed: Vec<String>,
}

/// A file that differs from what the specs produce.
#[derive(Debug, PartialEq, Eq)]
pub enum Stale {
    /// Produced but not on disk.
    Missing(PathBuf),
    /// On disk with other content; carries a short diff.
    Changed(PathBuf, String),
    /// On disk but no longer produced.
    Extra(PathBuf),
}

impl std::fmt::Display for Stale {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Stale::Missing(p) => write!(f, "missing: {}", p.display()),
            Stale::Changed(p, diff) => write!(f, "stale: {}\n{diff}", p.display()),
            Stale::Extra(p) => write!(f, "not produced by any spec: {}", p.display()),
        }
    }
}

/// Write `files` as the whole content of `root`.
pub fn write_tree(root: &Path, files: &Files) -> io::Result<WriteReport> {
    let existing = read_tree(root)?;
    let mut report = WriteReport::default();
    for (path, content) in files {
        if existing.get(path).map(|c| c.as_bytes()) == Some(content.as_bytes()) {
            report.unchanged += 1;
        } else {
            report.written.push(path.clone());
        }
    }
    report.removed = existing
        .keys()
        .filter(|p| !files.contains_key(*p))
        .cloned()
        .collect();
    if report.written.is_empty() && report.removed.is_empty() {
        return Ok(report);
    }

    let parent = root
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    fs::create_dir_all(parent)?;
    let name = root
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "out".into());
    let staging = parent.join(format!(".{name}.tmp-{}", std::process::id()));
    let old = parent.join(format!(".{name}.old-{}", std::process::id()));
    let _ = fs::remove_dir_all(&staging);
    let result = (|| -> io::Result<()> {
        for (path, content) in files {
            let target = staging.join(path);
            if let Some(dir) = target.parent() {
                fs::create_dir_all(dir)?;
            }
            let unchanged = existing.get(path).map(|c| c.as_bytes()) == Some(content.as_bytes());
            if !(unchanged && fs::hard_link(root.join(path), &target).is_ok()) {
                fs::write(&target, content)?;
            }
        }
        Ok(())
    })();
    if let Err(e) = result {
        let _ = fs::remove_dir_all(&staging);
        return Err(e);
    }
    if root.exists() {
        fs::rename(root, &old)?;
        if let Err(e) = fs::rename(&staging, root) {
            let _ = fs::rename(&old, root);
            let _ = fs::remove_dir_all(&staging);
            return Err(e);
        }
        fs::remove_dir_all(&old)?;
    } else {
        fs::rename(&staging, root)?;
    }
    Ok(report)
}

/// Compare `root` with `files` without writing anything.
pub fn check_tree(root: &Path, files: &Files) -> io::Result<Vec<Stale>> {
    let existing = read_tree(root)?;
    let mut stale = Vec::new();
    for (path, content) in files {
        match existing.get(path) {
            None => stale.push(Stale::Missing(root.join(path))),
            Some(old) if old != content => {
                stale.push(Stale::Changed(root.join(path), short_diff(old, content)))
            }
            Some(_) => {}
        }
    }
    for path in existing.keys() {
        if !files.contains_key(path) {
            stale.push(Stale::Extra(root.join(path)));
        }
    }
    Ok(stale)
}

fn short_diff(old: &str, new: &str) -> String {
    const MAX_LINES: usize = 24;
    let diff = similar::TextDiff::from_lines(old, new);
    let text = diff
        .unified_diff()
        .context_radius(2)
        .header("on disk", "from the specs")
        .to_string();
    let mut lines: Vec<&str> = text.lines().collect();
    let more = lines.len().saturating_sub(MAX_LINES);
    lines.truncate(MAX_LINES);
    let mut out = lines
        .iter()
        .map(|l| format!("    {l}"))
        .collect::<Vec<_>>()
        .join("\n");
    if more > 0 {
        out.push_str(&format!("\n    ... {more} more diff lines"));
    }
    out
}

/// Every file under `root` (none when it does not exist), skipping our own temp directories.
fn read_tree(root: &Path) -> io::Result<BTreeMap<String, String>> {
    let mut out = BTreeMap::new();
    if !root.exists() {
        return Ok(out);
    }
    let mut stack = vec![root.to_path_buf()];
    while let Some(dir) = stack.pop() {
        for entry in fs::read_dir(&dir)? {
            let entry = entry?;
            let path = entry.path();
            if entry.file_type()?.is_dir() {
                stack.push(path);
            } else {
                let rel = path.strip_prefix(root).unwrap_or(&path);
                let rel = rel
                    .components()
                    .map(|c| c.as_os_str().to_string_lossy())
                    .collect::<Vec<_>>()
                    .join("/");
                // A non-UTF-8 file cannot be one of ours: read it as "changed" by lossy text.
                let bytes = fs::read(&path)?;
                out.insert(
                    rel,
                    String::from_utf8(bytes)
                        .unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned()),
                );
            }
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tmp(name: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("codegen-write-{name}-{}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(&dir).unwrap();
        dir
    }

    #[test]
    fn writes_checks_and_keeps_unchanged_files() {
        let base = tmp("basic");
        let root = base.join("generated");
        let mut files = Files::new();
        files.insert("a.txt".into(), "one\n".into());
        files.insert("sub/b.txt".into(), "two\n".into());
        let r = write_tree(&root, &files).unwrap();
        assert_eq!(r.written.len(), 2);
        assert!(check_tree(&root, &files).unwrap().is_empty());

        let ino_before =
            std::os::unix::fs::MetadataExt::ino(&fs::metadata(root.join("a.txt")).unwrap());
        files.insert("sub/b.txt".into(), "three\n".into());
        let stale = check_tree(&root, &files).unwrap();
        assert!(
            matches!(&stale[..], [Stale::Changed(p, d)] if p.ends_with("sub/b.txt") && d.contains("+three"))
        );
        let r = write_tree(&root, &files).unwrap();
        assert_eq!(
            (r.written.clone(), r.unchanged),
            (vec!["sub/b.txt".to_owned()], 1)
        );
        let ino_after =
            std::os::unix::fs::MetadataExt::ino(&fs::metadata(root.join("a.txt")).unwrap());
        assert_eq!(ino_before, ino_after, "an unchanged file is not rewritten");

        files.remove("a.txt");
        assert!(matches!(
            &check_tree(&root, &files).unwrap()[..],
            [Stale::Extra(_)]
        ));
        write_tree(&root, &files).unwrap();
        assert!(!root.join("a.txt").exists());
        // No temp directories left behind.
        assert_eq!(fs::read_dir(&base).unwrap().count(), 1);
        fs::remove_dir_all(&base).unwrap();
    }

    #[test]
    fn a_failed_write_leaves_the_old_tree() {
        let base = tmp("fail");
        let root = base.join("generated");
        let mut files = Files::new();
        files.insert("a.txt".into(), "one\n".into());
        write_tree(&root, &files).unwrap();
        // A path that cannot be created (a file where a directory must go) fails mid-write.
        files.insert("a.txt/inner".into(), "x".into());
        files.insert("z.txt".into(), "new".into());
        assert!(write_tree(&root, &files).is_err());
        assert_eq!(fs::read_to_string(root.join("a.txt")).unwrap(), "one\n");
        assert!(!root.join("z.txt").exists());
        assert_eq!(fs::read_dir(&base).unwrap().count(), 1);
        fs::remove_dir_all(&base).unwrap();
    }
}
