//! `dcf sign`: validate, then sign. The bytes validated are the bytes signed, rejected content
//! is never signed, and the signed file is checked before it is written.

use std::path::PathBuf;

use dcf_parser::Content;
use dcf_validator::{Code, Diagnostic, keys, validate_bytes};

use crate::args::SignArgs;
use crate::context::Ctx;
use crate::exit::{Exit, Outcome, Stop};
use crate::fleet::load_manifests;
use crate::inputs::{
    check_options, display, key_problem, read_content, read_key_file, refuse_output,
};
use crate::io::write_atomic;
use crate::report::FileReport;

/// Runs `dcf sign`.
pub fn run(ctx: &Ctx, args: SignArgs) -> Outcome {
    let single = [args.file.clone(), args.key.clone()];
    let previous: Vec<PathBuf> = args.check.previous.iter().cloned().collect();
    refuse_output(
        ctx,
        &args.output,
        &[
            (&single, &[]),
            (&previous, &[]),
            (&args.check.manifests, &["toml"]),
        ],
    )?;
    let key_text = read_key_file(&args.key)?;
    let key = keys::parse_secret(&key_text).map_err(|m| key_problem(&args.key, m))?;
    let manifests = load_manifests(ctx, &args.check.manifests)?;
    let options = check_options(&args.check)?;
    // The bytes validated are the bytes signed: the file is read once.
    let name = display(&args.file);
    let input = read_content(&args.file).map_err(|d| FileReport::plain(name.clone(), vec![d]))?;
    let v = validate_bytes(&input, &manifests, &options);
    let mut report = FileReport::binary(name, v.diagnostics, &input);
    report.notes = v.notes;
    if !report.valid(args.check.deny_warnings) {
        let code = ctx.finish(std::slice::from_ref(&report), args.check.deny_warnings);
        eprintln!("error: {} was rejected; it was not signed", report.path);
        return Ok(code);
    }
    ctx.emit(&report);
    let mut content = Content::decode(&input).map_err(|e| {
        FileReport::binary(
            report.path.clone(),
            vec![Diagnostic::from_parse_error(&e)],
            &input,
        )
    })?;
    let refused = |message: String| -> Stop {
        FileReport::plain(
            display(&args.file),
            vec![Diagnostic::new(Code::EncodeRejected, message)],
        )
        .into()
    };
    let bytes = keys::sign_content(&mut content, &key)
        .map_err(|e| refused(format!("cannot re-encode the content: {e}")))?;
    // Check the result before it leaves: it parses, it verifies, and it is the input but for
    // the signature.
    let self_check = keys::verify_signature(&bytes, &[key.verifying_key()]).is_ok()
        && Content::decode(&bytes).is_ok_and(|mut signed| {
            signed.signature = None;
            let mut unsigned = content.clone();
            unsigned.signature = None;
            signed == unsigned
        });
    if !self_check {
        return Err(refused(
            "the signed content failed its own verification; nothing was written".into(),
        ));
    }
    write_atomic(&args.output, &bytes)
        .map_err(|d| FileReport::plain(display(&args.output), vec![d]))?;
    ctx.note(&format!(
        "signed {} with key {} into {}",
        display(&args.file),
        keys::to_hex(&keys::key_id(&key.verifying_key())),
        display(&args.output)
    ));
    Ok(Exit::Accepted)
}
