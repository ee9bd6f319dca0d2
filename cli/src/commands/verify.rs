//! `dcf verify`: a content's digest and signature checked against trusted public keys.

use dcf_validator::keys;

use crate::args::VerifyArgs;
use crate::context::{Ctx, write_stdout};
use crate::exit::{Exit, Outcome};
use crate::inputs::{display, key_problem, read_content, read_key_file};
use crate::report::FileReport;

/// Runs `dcf verify`.
pub fn run(ctx: &Ctx, args: VerifyArgs) -> Outcome {
    let mut trusted = Vec::new();
    for path in &args.pubkeys {
        let text = read_key_file(path)?;
        trusted.push(keys::parse_public(&text).map_err(|m| key_problem(path, m))?);
    }
    let name = display(&args.file);
    let bytes = read_content(&args.file).map_err(|d| FileReport::plain(name.clone(), vec![d]))?;
    match keys::verify_signature(&bytes, &trusted) {
        Ok(key_id) => {
            write_stdout(&format!(
                "{name}: verified, signed by key {}\n",
                keys::to_hex(&key_id)
            ))?;
            Ok(Exit::Accepted)
        }
        Err(d) => Ok(ctx.finish(&[FileReport::binary(name, vec![d], &bytes)], false)),
    }
}
