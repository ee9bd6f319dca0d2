//! Reading inputs safely: bounded reads, directory expansion, atomic writes.

use std::fs;
use std::io::{Read as _, Write as _};
use std::path::{Path, PathBuf};

use dcf_validator::codes::Code;
use dcf_validator::diagnostic::Diagnostic;
use dcf_validator::limits::MAX_WALK_DEPTH;

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
/// metadata and by a bounded read (a file that grows while read is refused too). Anything that
/// is not a regular file (a FIFO, a device such as `/dev/zero`, a socket, a directory) is
/// refused before it is opened: opening a FIFO blocks until a writer comes, and a device may
/// never end.
pub fn read_bounded(path: &Path, limit: u64) -> Result<Vec<u8>, ReadError> {
    let meta = fs::metadata(path).map_err(|e| ReadError::Io(io_text(&e)))?;
    if !meta.is_file() {
        return Err(ReadError::Io(format!(
            "it is {}, not a regular file",
            kind_of(&meta.file_type())
        )));
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

/// What kind of file system object a file type names, for messages ("a FIFO").
pub fn kind_of(t: &fs::FileType) -> &'static str {
    #[cfg(unix)]
    {
        use std::os::unix::fs::FileTypeExt as _;
        if t.is_fifo() {
            return "a FIFO";
        }
        if t.is_char_device() || t.is_block_device() {
            return "a device";
        }
        if t.is_socket() {
            return "a socket";
        }
    }
    if t.is_symlink() {
        "a symbolic link"
    } else if t.is_dir() {
        "a directory"
    } else if t.is_file() {
        "a regular file"
    } else {
        "not a regular file"
    }
}

/// Whether `meta` (of an existing output) and the file at `input` are the same file: the same
/// device and inode on Unix, so hard links and different spellings of one path are caught.
fn same_file(meta: &fs::Metadata, input: &Path) -> bool {
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt as _;
        fs::metadata(input).is_ok_and(|m| m.dev() == meta.dev() && m.ino() == meta.ino())
    }
    #[cfg(not(unix))]
    {
        let _ = meta;
        false
    }
}

/// Refuses an output path that names anything but a regular file (a symbolic link, a FIFO, a
/// device, a directory: replacing it would silently destroy what it is), or that is one of
/// the command's `inputs` (writing it would lose the input). A path that does not exist yet
/// is fine. Every writer calls this through [`write_atomic`]; commands that read inputs call
/// it with them before doing any work.
pub fn check_output(path: &Path, inputs: &[PathBuf]) -> Result<(), Diagnostic> {
    let meta = match fs::symlink_metadata(path) {
        Ok(m) => m,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
        Err(e) => {
            return Err(Diagnostic::new(
                Code::WriteFailed,
                format!("cannot write {}: {}", path.display(), io_text(&e)),
            )
            .help("check that the directory exists and is writable"));
        }
    };
    if !meta.file_type().is_file() {
        return Err(Diagnostic::new(
            Code::WriteFailed,
            format!(
                "refusing to write {}: it is {}, and dcf replaces only regular files",
                path.display(),
                kind_of(&meta.file_type())
            ),
        )
        .help("name a new file, or a regular file to replace"));
    }
    if let Some(input) = inputs.iter().find(|i| same_file(&meta, i)) {
        return Err(Diagnostic::new(
            Code::WriteFailed,
            format!(
                "refusing to write {}: it is an input of this command ({})",
                path.display(),
                input.display()
            ),
        )
        .help("write the output outside the inputs"));
    }
    Ok(())
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
///
/// Nothing else is left out without a word: a directory deeper than [`MAX_WALK_DEPTH`], a
/// symbolic link to a directory (not followed, so a link loop cannot make the walk endless)
/// and an entry that cannot be read are each reported as `E9006`, which fails the command,
/// or is printed as a note, as `on_skip` says.
pub fn expand(paths: &[PathBuf], extensions: &[&str], what: &str, on_skip: OnSkip) -> Vec<Input> {
    let mut out = Vec::new();
    for path in paths {
        match fs::metadata(path) {
            Err(e) => out.push(Input::Problem(
                path.clone(),
                Diagnostic::new(Code::Io, format!("cannot read {what}: {}", io_text(&e)))
                    .help("check the path"),
            )),
            Ok(meta) if meta.is_dir() => {
                let mut walk = Walk {
                    extensions,
                    found: Vec::new(),
                    problems: Vec::new(),
                    skipped: Vec::new(),
                };
                walk.dir(path, 0);
                walk.found.sort();
                if walk.found.is_empty() && walk.problems.is_empty() && walk.skipped.is_empty() {
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
                out.extend(walk.found.into_iter().map(Input::File));
                out.extend(walk.problems);
                for (skipped, why) in walk.skipped {
                    if on_skip == OnSkip::Note {
                        eprintln!("note: skipped {}: {why}", skipped.display());
                    } else if on_skip == OnSkip::Fail {
                        out.push(Input::Problem(
                            skipped,
                            Diagnostic::new(
                                Code::InputSkipped,
                                format!("{what} below {} skipped: {why}", path.display()),
                            )
                            .help("name it on the command line, or pass --allow-skipped to go on without it"),
                        ));
                    }
                }
            }
            Ok(_) => out.push(Input::File(path.clone())),
        }
    }
    out
}

/// What [`expand`] does with what it leaves out.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OnSkip {
    /// Report each as `E9006`, which fails the command (the default).
    Fail,
    /// Print each as a note and go on (`--allow-skipped`).
    Note,
    /// Say nothing: the caller only wants the files (to check an output against them).
    Quiet,
}

/// The state of one directory walk.
struct Walk<'a> {
    extensions: &'a [&'a str],
    found: Vec<PathBuf>,
    problems: Vec<Input>,
    /// What was left out, and why.
    skipped: Vec<(PathBuf, &'static str)>,
}

impl Walk<'_> {
    fn dir(&mut self, dir: &Path, depth: usize) {
        if depth > MAX_WALK_DEPTH {
            self.skipped.push((
                dir.to_path_buf(),
                "deeper than MAX_WALK_DEPTH (32) directory levels",
            ));
            return;
        }
        let entries = match fs::read_dir(dir) {
            Ok(e) => e,
            Err(e) => {
                self.problems.push(Input::Problem(
                    dir.to_path_buf(),
                    Diagnostic::new(
                        Code::Io,
                        format!("cannot list the directory: {}", io_text(&e)),
                    ),
                ));
                return;
            }
        };
        let mut listed = Vec::new();
        for entry in entries {
            match entry {
                Ok(e) => listed.push(e),
                Err(_) => self.skipped.push((
                    dir.to_path_buf(),
                    "an entry of this directory cannot be read",
                )),
            }
        }
        listed.sort_by_key(|e| e.file_name());
        for entry in listed {
            let path = entry.path();
            if entry.file_name().to_string_lossy().starts_with('.') {
                continue;
            }
            match entry.file_type() {
                Ok(t) if t.is_dir() => self.dir(&path, depth.saturating_add(1)),
                Ok(t) if t.is_symlink() && fs::metadata(&path).is_ok_and(|m| m.is_dir()) => {
                    self.skipped
                        .push((path, "a symbolic link to a directory (not followed)"));
                }
                Ok(_) => {
                    let matches = path
                        .extension()
                        .and_then(|e| e.to_str())
                        .is_some_and(|e| self.extensions.iter().any(|x| x.eq_ignore_ascii_case(e)));
                    if matches {
                        self.found.push(path);
                    }
                }
                Err(_) => self.skipped.push((path, "its file type cannot be read")),
            }
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

/// Writes a file through a temporary sibling and a rename, so a reader never sees half of it
/// and a failed write leaves the old file whole. The temporary file is created exclusively
/// (never through a planted link) and removed on failure; the target must be a regular file
/// or absent ([`check_output`]).
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<(), Diagnostic> {
    check_output(path, &[])?;
    let fail = |e: &std::io::Error| {
        Diagnostic::new(
            Code::WriteFailed,
            format!("cannot write {}: {}", path.display(), io_text(e)),
        )
        .help("check that the directory exists and is writable")
    };
    create_parent(path).map_err(|e| fail(&e))?;
    let (tmp, mut f) = create_temporary(path, None).map_err(|e| fail(&e))?;
    let result = f
        .write_all(bytes)
        .and_then(|()| f.sync_all())
        .and_then(|()| fs::rename(&tmp, path));
    if let Err(e) = result {
        let _ = fs::remove_file(&tmp);
        return Err(fail(&e));
    }
    Ok(())
}

/// Creates a new file beside `path` (same directory, so a rename onto `path` is atomic) with
/// a name nobody else chose: `O_CREAT | O_EXCL`, which also refuses to follow a symbolic link,
/// with `mode` from the first byte on Unix.
pub fn create_temporary(path: &Path, mode: Option<u32>) -> std::io::Result<(PathBuf, fs::File)> {
    let mut name = std::ffi::OsString::from(".");
    name.push(path.file_name().unwrap_or(std::ffi::OsStr::new("out")));
    let mut last = std::io::Error::other("no temporary name was free");
    for _ in 0..16 {
        let mut nonce = [0u8; 8];
        getrandom::fill(&mut nonce).map_err(std::io::Error::other)?;
        let mut candidate = name.clone();
        candidate.push(format!(".tmp{:016x}", u64::from_le_bytes(nonce)));
        let tmp = path.with_file_name(candidate);
        let mut options = fs::OpenOptions::new();
        options.write(true).create_new(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt as _;
            options.mode(mode.unwrap_or(0o666));
        }
        #[cfg(not(unix))]
        let _ = mode;
        match options.open(&tmp) {
            Ok(f) => return Ok((tmp, f)),
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => last = e,
            Err(e) => return Err(e),
        }
    }
    Err(last)
}
