//! Reading inputs safely: bounded reads, directory expansion, atomic writes.

use std::fs;
use std::io::{Read as _, Write as _};
use std::path::{Path, PathBuf};

use crate::codes::Code;
use crate::diagnostic::Diagnostic;

/// Why a file could not be read.
#[derive(Debug)]
pub enum ReadError {
    /// Missing, unreadable, a directory...: E9001.
    Io(String),
    /// Larger than the limit, refused before being read whole.
    TooLarge {
        /// The size found (at least `limit + 1`).
        len: u64,
        /// The limit.
        limit: u64,
    },
}

impl ReadError {
    /// The diagnostic for an input of the given kind (`E9001` or `E9003`).
    pub fn diagnostic(&self, what: &str) -> Diagnostic {
        match self {
            ReadError::Io(e) => Diagnostic::new(Code::Io, format!("cannot read {what}: {e}"))
                .help("check the path and its permissions"),
            ReadError::TooLarge { len, limit } => Diagnostic::new(
                Code::InputTooLarge,
                format!("{what} is {len} bytes; the limit is {limit}"),
            )
            .help("the file was refused before being read"),
        }
    }
}

/// Reads at most `limit` bytes of a regular file, refusing larger files both by their
/// metadata and by a bounded read (a file that grows while read is refused too).
pub fn read_bounded(path: &Path, limit: u64) -> Result<Vec<u8>, ReadError> {
    let meta = fs::metadata(path).map_err(|e| ReadError::Io(io_text(&e)))?;
    if meta.is_dir() {
        return Err(ReadError::Io("it is a directory".into()));
    }
    if meta.len() > limit {
        return Err(ReadError::TooLarge {
            len: meta.len(),
            limit,
        });
    }
    let file = fs::File::open(path).map_err(|e| ReadError::Io(io_text(&e)))?;
    let mut bytes = Vec::with_capacity(usize::try_from(meta.len()).unwrap_or(0));
    file.take(limit.saturating_add(1))
        .read_to_end(&mut bytes)
        .map_err(|e| ReadError::Io(io_text(&e)))?;
    if bytes.len() as u64 > limit {
        return Err(ReadError::TooLarge {
            len: bytes.len() as u64,
            limit,
        });
    }
    Ok(bytes)
}

/// An I/O error without the "(os error N)" noise.
pub fn io_text(e: &std::io::Error) -> String {
    match e.kind() {
        std::io::ErrorKind::NotFound => "no such file or directory".into(),
        std::io::ErrorKind::PermissionDenied => "permission denied".into(),
        _ => {
            let text = e.to_string();
            match text.find(" (os error") {
                Some(i) => text.get(..i).unwrap_or(&text).to_string(),
                None => text,
            }
        }
    }
}

/// One input named on the command line, expanded.
#[derive(Debug)]
pub enum Input {
    /// A file to process.
    File(PathBuf),
    /// A path that yields nothing: missing, unreadable, or a directory without matching files.
    Problem(PathBuf, Diagnostic),
}

/// Expands files and directories: a directory yields every file below it (recursively,
/// sorted, hidden entries skipped) whose extension is in `extensions`; a file is taken as
/// given whatever its extension.
pub fn expand(paths: &[PathBuf], extensions: &[&str], what: &str) -> Vec<Input> {
    let mut out = Vec::new();
    for path in paths {
        match fs::metadata(path) {
            Err(e) => out.push(Input::Problem(
                path.clone(),
                Diagnostic::new(Code::Io, format!("cannot read {what}: {}", io_text(&e)))
                    .help("check the path"),
            )),
            Ok(meta) if meta.is_dir() => {
                let mut found = Vec::new();
                let mut problems = Vec::new();
                walk(path, extensions, &mut found, &mut problems, 0);
                found.sort();
                if found.is_empty() && problems.is_empty() {
                    out.push(Input::Problem(
                        path.clone(),
                        Diagnostic::new(
                            Code::NoInput,
                            format!(
                                "the directory holds no {what} (files ending in {})",
                                extensions
                                    .iter()
                                    .map(|e| format!(".{e}"))
                                    .collect::<Vec<_>>()
                                    .join(", ")
                            ),
                        ),
                    ));
                }
                out.extend(found.into_iter().map(Input::File));
                out.extend(problems);
            }
            Ok(_) => out.push(Input::File(path.clone())),
        }
    }
    out
}

/// Directory depth beyond which expansion stops (symlink loops, pathological trees).
const MAX_WALK_DEPTH: usize = 32;

fn walk(
    dir: &Path,
    extensions: &[&str],
    found: &mut Vec<PathBuf>,
    problems: &mut Vec<Input>,
    depth: usize,
) {
    if depth > MAX_WALK_DEPTH {
        return;
    }
    let entries = match fs::read_dir(dir) {
        Ok(e) => e,
        Err(e) => {
            problems.push(Input::Problem(
                dir.to_path_buf(),
                Diagnostic::new(
                    Code::Io,
                    format!("cannot list the directory: {}", io_text(&e)),
                ),
            ));
            return;
        }
    };
    let mut entries: Vec<_> = entries.filter_map(Result::ok).collect();
    entries.sort_by_key(|e| e.file_name());
    for entry in entries {
        let path = entry.path();
        if entry.file_name().to_string_lossy().starts_with('.') {
            continue;
        }
        match entry.file_type() {
            Ok(t) if t.is_dir() => walk(&path, extensions, found, problems, depth + 1),
            Ok(_) => {
                let matches = path
                    .extension()
                    .and_then(|e| e.to_str())
                    .is_some_and(|e| extensions.iter().any(|x| x.eq_ignore_ascii_case(e)));
                if matches {
                    found.push(path);
                }
            }
            Err(_) => {}
        }
    }
}

/// Creates the directory an output goes into, like `mkdir -p`.
pub fn create_parent(path: &Path) -> std::io::Result<()> {
    match path.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => fs::create_dir_all(parent),
        _ => Ok(()),
    }
}

/// Writes a file through a temporary sibling and a rename, so a reader never sees half of it.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<(), Diagnostic> {
    let fail = |e: &std::io::Error| {
        Diagnostic::new(
            Code::WriteFailed,
            format!("cannot write {}: {}", path.display(), io_text(e)),
        )
        .help("check that the directory exists and is writable")
    };
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "out".into());
    let tmp = path.with_file_name(format!(".{name}.tmp{}", std::process::id()));
    let result = (|| {
        create_parent(path)?;
        let mut f = fs::File::create(&tmp)?;
        f.write_all(bytes)?;
        f.sync_all()?;
        fs::rename(&tmp, path)
    })();
    if let Err(e) = result {
        let _ = fs::remove_file(&tmp);
        return Err(fail(&e));
    }
    Ok(())
}
