//! Reading what a command is given: content files, rule sources, key files, and the output
//! path that must not be one of them.

use std::path::{Path, PathBuf};

use dcf_parser::Content;
use dcf_parser::limits::MAX_FILE_SIZE;
use dcf_validator::limits::{MAX_KEY_FILE_SIZE, MAX_SOURCE_SIZE};
use dcf_validator::source::{self, SourceFile};
use dcf_validator::time::now;
use dcf_validator::{Code, Diagnostic, Options, Previous};

use crate::args::CheckArgs;
use crate::context::Ctx;
use crate::exit::Stop;
use crate::io::{Input, ReadError, check_output, read_bounded};
use crate::report::FileReport;

/// A path as reports name it.
pub fn display(path: &Path) -> String {
    path.display().to_string()
}

/// Reads a content file with the format's limit.
pub fn read_content(path: &Path) -> Result<Vec<u8>, Diagnostic> {
    read_bounded(path, MAX_FILE_SIZE as u64).map_err(|e| match e {
        // Larger than the format allows: that is the parser's E0101, reported without
        // reading the file.
        ReadError::TooLarge { len, .. } => Diagnostic::from_parse_error(
            &dcf_parser::Error::new(dcf_parser::ErrorCode::FileTooLarge, MAX_FILE_SIZE)
                .expected(MAX_FILE_SIZE as u64)
                .found(len),
        ),
        other => other.diagnostic("the content"),
    })
}

/// The options of the semantic checks, or the report that explains why there are none.
pub fn check_options(args: &CheckArgs) -> Result<Options, FileReport> {
    let previous = match &args.previous {
        None => None,
        Some(path) => {
            let name = display(path);
            let bytes = read_content(path).map_err(|d| {
                let d = match d.check_code() {
                    Some(_) => d,
                    None => Diagnostic::new(Code::PreviousRejected, d.message),
                };
                FileReport::plain(name.clone(), vec![d])
            })?;
            match dcf_parser::parse(&bytes) {
                Ok(view) => Some(Previous {
                    name: name.clone(),
                    channel: view.header().channel,
                    sequence: view.header().sequence,
                    allow_jump: args.allow_sequence_jump,
                }),
                Err(e) => {
                    return Err(FileReport::plain(
                        name,
                        vec![
                            Diagnostic::new(
                                Code::PreviousRejected,
                                format!("the --previous content is rejected: {e}"),
                            )
                            .help("pass the content currently deployed on the channel"),
                        ],
                    ));
                }
            }
        }
    };
    Ok(Options {
        now: args.now.unwrap_or_else(now),
        previous,
    })
}

/// Reads every source; a problem stops the compile (exit 2 for I/O, 1 for bad text).
pub fn read_sources(ctx: &Ctx, paths: &[PathBuf]) -> Result<Vec<SourceFile>, Vec<FileReport>> {
    let mut sources = Vec::new();
    let mut problems = Vec::new();
    for input in ctx.expand(paths, SOURCE_EXTENSIONS, "rule sources") {
        match input {
            Input::Problem(path, d) => problems.push(FileReport::plain(display(&path), vec![d])),
            Input::File(path) => {
                let name = display(&path);
                match read_bounded(&path, MAX_SOURCE_SIZE) {
                    Err(e) => {
                        problems.push(FileReport::plain(name, vec![e.diagnostic("the source")]))
                    }
                    Ok(bytes) => match source::read_source(&name, bytes) {
                        Ok(s) => sources.push(s),
                        Err(d) => problems.push(FileReport::plain(name, vec![d])),
                    },
                }
            }
        }
    }
    if problems.is_empty() {
        Ok(sources)
    } else {
        Err(problems)
    }
}

/// Extensions of dcf rule sources in a directory.
pub const SOURCE_EXTENSIONS: &[&str] = &["yaml", "yml", "json"];

/// Refuses an output that is not a regular file or that is one of the inputs: the files that
/// `groups` (paths and the extensions their directories are expanded with) name.
pub fn refuse_output(
    ctx: &Ctx,
    output: &Path,
    groups: &[(&[PathBuf], &[&str])],
) -> Result<(), Stop> {
    let inputs: Vec<PathBuf> = groups
        .iter()
        .flat_map(|(paths, extensions)| ctx.input_files(paths, extensions))
        .collect();
    check_output(output, &inputs).map_err(|d| FileReport::plain(display(output), vec![d]).into())
}

/// Reads and parses a content for the commands that need it whole.
pub fn load_content(path: &Path) -> Result<Content, FileReport> {
    let name = display(path);
    let bytes = read_content(path).map_err(|d| FileReport::plain(name.clone(), vec![d]))?;
    match dcf_parser::parse(&bytes) {
        Ok(view) => Ok(Content::from_view(&view)),
        Err(e) => Err(FileReport::binary(
            name,
            vec![Diagnostic::from_parse_error(&e)],
            &bytes,
        )),
    }
}

/// Reads a key file as text, bounded by the key file size limit.
pub fn read_key_file(path: &Path) -> Result<String, FileReport> {
    let name = display(path);
    let bytes = read_bounded(path, MAX_KEY_FILE_SIZE)
        .map_err(|e| FileReport::plain(name.clone(), vec![e.diagnostic("the key file")]))?;
    String::from_utf8(bytes).map_err(|_| {
        FileReport::plain(
            name,
            vec![
                Diagnostic::new(Code::KeyFile, "the key file is not text")
                    .help("format-spec/KEYS.md describes key files"),
            ],
        )
    })
}

/// A key file that cannot be used, and why.
pub fn key_problem(path: &Path, message: String) -> FileReport {
    FileReport::plain(
        display(path),
        vec![
            Diagnostic::new(Code::KeyFile, message).help("format-spec/KEYS.md describes key files"),
        ],
    )
}
