//! `dcf decompile`: a binary content written back in its source form (YAML).

use dcf_validator::source;

use crate::args::DecompileArgs;
use crate::context::{Ctx, write_stdout};
use crate::exit::{Exit, Outcome};
use crate::inputs::{display, load_content, refuse_output};
use crate::io::write_atomic;
use crate::report::FileReport;

/// Runs `dcf decompile`.
pub fn run(ctx: &Ctx, args: DecompileArgs) -> Outcome {
    if let Some(out) = &args.output {
        refuse_output(ctx, out, &[(std::slice::from_ref(&args.file), &[])])?;
    }
    let content = load_content(&args.file)?;
    let text = source::decompile(&content);
    match &args.output {
        None => write_stdout(&text)?,
        Some(out) => write_atomic(out, text.as_bytes())
            .map_err(|d| FileReport::plain(display(out), vec![d]))?,
    }
    Ok(Exit::Accepted)
}
