//! `dcf keygen`: a new Ed25519 signing key pair, written so that a failure leaves what was
//! there before.

use std::io::Write as _;
use std::path::{Path, PathBuf};

use dcf_validator::{Code, Diagnostic, keys};

use crate::args::KeygenArgs;
use crate::context::{Ctx, write_stdout};
use crate::exit::{Exit, Outcome};
use crate::inputs::display;
use crate::io::{check_output, create_parent, create_temporary, io_text};
use crate::report::FileReport;

/// Runs `dcf keygen`.
pub fn run(_ctx: &Ctx, args: KeygenArgs) -> Outcome {
    let mut seed = [0u8; 32];
    if let Err(e) = getrandom::fill(&mut seed) {
        eprintln!("error[E9001]: the operating system's random source failed: {e}");
        return Err(Exit::Usage.into());
    }
    let key = ed25519_dalek::SigningKey::from_bytes(&seed);
    // The names as given (OS strings): a name that is not UTF-8 is used byte for byte, never
    // converted to another name.
    let with_suffix = |suffix: &str| {
        let mut name = args.out.clone().into_os_string();
        name.push(suffix);
        PathBuf::from(name)
    };
    let secret_path = with_suffix(".secret");
    let public_path = with_suffix(".pub");
    let public = key.verifying_key();
    let pair = [
        KeyFile {
            path: &secret_path,
            text: keys::secret_text(&key),
            mode: 0o600,
        },
        KeyFile {
            path: &public_path,
            text: keys::public_text(&public),
            mode: 0o644,
        },
    ];
    write_key_pair(&pair, args.force)?;
    write_stdout(&format!(
        "key id {}\nsecret key: {} (keep it private)\npublic key: {}\n",
        keys::to_hex(&keys::key_id(&public)),
        display(&secret_path),
        display(&public_path)
    ))?;
    Ok(Exit::Accepted)
}

/// One file of a key pair.
struct KeyFile<'a> {
    path: &'a Path,
    text: String,
    /// Permission bits from the first byte on (Unix).
    mode: u32,
}

/// Writes a key pair so that a failure at any point leaves what was there before, and no key
/// is ever written through a link or into a file somebody else made:
/// 1. both files are written in full to new temporary files beside their targets (created
///    exclusively, `O_CREAT | O_EXCL`, which never follows a link, with their final mode from
///    the first byte) and synced;
/// 2. only then are they put in place: without `--force` by `link`, which fails if the name
///    exists (even as a dangling link), so nothing is overwritten; with `--force` by `rename`,
///    which replaces the name itself, never what a link points to.
///
/// A disk that fills up fails in step 1, before any old key is touched. Step 2 is two
/// operations, so only a crash between them can leave a new secret beside an old public key.
fn write_key_pair(pair: &[KeyFile<'_>], force: bool) -> Result<(), FileReport> {
    let fail = |path: &Path, e: &std::io::Error| {
        FileReport::plain(
            display(path),
            vec![Diagnostic::new(
                Code::WriteFailed,
                format!("cannot write {}: {}", display(path), io_text(e)),
            )],
        )
    };
    let exists = |path: &Path| {
        FileReport::plain(
            display(path),
            vec![
                Diagnostic::new(
                    Code::KeyExists,
                    format!("{} exists; refusing to overwrite a key", display(path)),
                )
                .help("choose another --out name, or pass --force"),
            ],
        )
    };
    for file in pair {
        match std::fs::symlink_metadata(file.path) {
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(fail(file.path, &e)),
            Ok(_) if !force => return Err(exists(file.path)),
            // --force replaces regular files only; a link or a device stays as it is.
            Ok(_) => check_output(file.path, &[])
                .map_err(|d| FileReport::plain(display(file.path), vec![d]))?,
        }
        create_parent(file.path).map_err(|e| fail(file.path, &e))?;
    }
    let mut written: Vec<PathBuf> = Vec::new();
    let cleanup = |written: &[PathBuf]| {
        for tmp in written {
            let _ = std::fs::remove_file(tmp);
        }
    };
    for file in pair {
        let (tmp, mut f) = match create_temporary(file.path, Some(file.mode)) {
            Ok(t) => t,
            Err(e) => {
                cleanup(&written);
                return Err(fail(file.path, &e));
            }
        };
        written.push(tmp);
        if let Err(e) = f
            .write_all(file.text.as_bytes())
            .and_then(|()| f.sync_all())
        {
            cleanup(&written);
            return Err(fail(file.path, &e));
        }
    }
    for (i, (file, tmp)) in pair.iter().zip(&written).enumerate() {
        let placed = if force {
            std::fs::rename(tmp, file.path)
        } else {
            std::fs::hard_link(tmp, file.path).and_then(|()| std::fs::remove_file(tmp))
        };
        if let Err(e) = placed {
            cleanup(written.get(i..).unwrap_or(&[]));
            // Without --force, a file placed before this one is ours alone: take it back so
            // that no half pair remains.
            if !force {
                for earlier in pair.iter().take(i) {
                    let _ = std::fs::remove_file(earlier.path);
                }
            }
            return Err(if e.kind() == std::io::ErrorKind::AlreadyExists {
                exists(file.path)
            } else {
                fail(file.path, &e)
            });
        }
    }
    Ok(())
}
