//! `dcf inspect`: a summary of a content, the whole decoded content as JSON, or a map of
//! every byte (`--hexdump`). A rejected file is shown as far as its bytes can be read.

use dcf_parser::{Content, Frame, Signature};
use dcf_validator::time::format_rfc3339;
use dcf_validator::{Diagnostic, keys};

use crate::args::{InspectArgs, InspectFormat};
use crate::context::{Ctx, write_stdout};
use crate::exit::{Exit, Outcome};
use crate::hexdump;
use crate::inputs::{display, read_content};
use crate::report::FileReport;

/// Runs `dcf inspect`. Machine-readable output carries every error, including those found
/// before the bytes are read (E0101 by the file's size, I/O errors): the run's format is JSON
/// under `--format json`.
pub fn run(ctx: &Ctx, args: InspectArgs) -> Outcome {
    let name = display(&args.file);
    let bytes = read_content(&args.file).map_err(|d| FileReport::plain(name.clone(), vec![d]))?;
    let parsed = dcf_parser::parse(&bytes);
    let error = parsed.as_ref().err().copied();
    if args.hexdump {
        write_stdout(&hexdump::render(&bytes, error.as_ref()))?;
        return Ok(match error {
            Some(e) => {
                ctx.emit(&FileReport::binary(
                    name,
                    vec![Diagnostic::from_parse_error(&e)],
                    &bytes,
                ));
                Exit::Rejected
            }
            None => Exit::Accepted,
        });
    }
    match parsed {
        Err(e) => {
            let r =
                FileReport::binary(name.clone(), vec![Diagnostic::from_parse_error(&e)], &bytes);
            // For people, what the frame says, when it can be read, before the rejection.
            if args.format == InspectFormat::Human
                && let Ok(frame) = Frame::read(&bytes)
            {
                let _ = write_stdout(&header_summary(&name, bytes.len(), frame.header(), None));
            }
            Ok(ctx.finish(&[r], false))
        }
        Ok(view) => {
            let content = Content::from_view(&view);
            let text = match args.format {
                InspectFormat::Json => {
                    serde_json::to_string_pretty(&content).unwrap_or_default() + "\n"
                }
                InspectFormat::Human => summary(&name, &bytes, &content),
            };
            write_stdout(&text)?;
            Ok(Exit::Accepted)
        }
    }
}

fn header_summary(
    name: &str,
    len: usize,
    h: &dcf_parser::Header,
    signature: Option<&Signature>,
) -> String {
    let mut s = String::new();
    s.push_str(&format!(
        "{name}: dcf content, {len} bytes, format 1.{}\n",
        h.minor
    ));
    s.push_str(&format!("  channel      {}\n", h.channel));
    s.push_str(&format!("  sequence     {}\n", h.sequence));
    s.push_str(&format!(
        "  created      {}\n",
        format_rfc3339(h.created_at)
    ));
    s.push_str(&format!(
        "  expires      {}\n",
        format_rfc3339(h.expires_at)
    ));
    s.push_str(&format!(
        "  sensors      {} ..= {}\n",
        h.sensor_min, h.sensor_max
    ));
    if let Some(sig) = signature {
        s.push_str(&format!(
            "  signed by    key {}\n",
            keys::to_hex(&sig.key_id)
        ));
    }
    s
}

fn summary(name: &str, bytes: &[u8], c: &Content) -> String {
    let mut s = header_summary(name, bytes.len(), &c.header, c.signature.as_ref());
    if c.signature.is_none() {
        s.push_str("  signed by    (unsigned)\n");
    }
    if let Ok(frame) = Frame::read(bytes) {
        s.push_str(&format!(
            "  digest       {}\n",
            keys::to_hex(frame.digest())
        ));
    }
    s.push_str(&format!("templates ({}):\n", c.templates.len()));
    for t in &c.templates {
        let used = c.rules.iter().filter(|r| r.template == t.id).count();
        s.push_str(&format!(
            "  {:>5} {:<24} {:>3} fields, {used} rules\n",
            t.id,
            t.name,
            t.fields.len()
        ));
    }
    s.push_str(&format!("rules ({}):\n", c.rules.len()));
    for r in &c.rules {
        let template = c.template(r.template).map_or("?", |t| t.name.as_str());
        s.push_str(&format!(
            "  {}  {:<6} {:<13} {:<20} {}\n",
            r.id,
            r.action.name(),
            r.severity.name(),
            template,
            r.title
        ));
    }
    if !c.extensions.is_empty() {
        s.push_str(&format!("extension sections ({}):\n", c.extensions.len()));
        for e in &c.extensions {
            s.push_str(&format!("  tag {} ({} bytes)\n", e.tag, e.payload.len()));
        }
    }
    s
}
