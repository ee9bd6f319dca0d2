//! # dcf-cli
//!
//! The `dcf` command: a thin shell over the libraries. It reads what it is given, calls
//! `dcf-validator` (checks, manifests, the authoring compiler, the dry run), `dcf-sigma` and
//! `dcf-parser`, and says what they found, for people (rendered like rustc, through miette),
//! as JSON or as SARIF.
//!
//! - `args`: the command line as clap reads it, apart from what the commands do;
//! - `commands`: one file per command;
//! - `context`, `exit`: output settings, reports to output, and exit codes (0 accepted,
//!   1 rejected, 2 usage or I/O error; 101 is always a bug);
//! - `fleet`, `inputs`, `io`: reading manifests, contents, sources and keys, and
//!   writing outputs atomically;
//! - `report`, [`hexdump`]: what a report looks like, and the annotated byte map.

// A command-line tool, not run in a sensor: it indexes and counts its own data directly. The
// clippy deny list binds the parser and the sensor.
#![forbid(unsafe_code)]
#![allow(clippy::indexing_slicing, clippy::arithmetic_side_effects)]

mod args;
mod commands;
mod context;
mod exit;
mod fleet;
pub mod hexdump;
mod inputs;
mod io;
mod report;

use std::io::IsTerminal as _;
use std::process::ExitCode;

use clap::Parser as _;

use args::{Cli, ColorChoice, Command, InspectFormat};
use context::Ctx;
use exit::{Exit, Outcome};
use report::{Format, Style};

/// Runs `dcf` with the process's arguments and returns its exit code.
pub fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            let _ = e.print();
            return if e.use_stderr() {
                Exit::Usage
            } else {
                Exit::Accepted
            }
            .into();
        }
    };
    let ctx = context(&cli);
    match dispatch(&ctx, cli.command) {
        Ok(exit) => exit,
        Err(stop) => ctx.stop(stop),
    }
    .into()
}

/// The run's settings: colour and width from the terminal and the global flags, and the
/// command's report format.
fn context(cli: &Cli) -> Ctx {
    let stderr_tty = std::io::stderr().is_terminal();
    let no_color = std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty());
    let color = match cli.color {
        ColorChoice::Always => true,
        ColorChoice::Never => false,
        ColorChoice::Auto => stderr_tty && !no_color,
    };
    let width = if stderr_tty {
        terminal_width().unwrap_or(100)
    } else {
        100
    };
    let format = match &cli.command {
        Command::Compile(a) => a.format,
        Command::Validate(a) => a.format,
        Command::Test(a) => a.format,
        Command::Inspect(a) if a.format == InspectFormat::Json => Format::Json,
        Command::Inspect(_)
        | Command::Decompile(_)
        | Command::Keygen(_)
        | Command::Sign(_)
        | Command::Verify(_)
        | Command::Scan(_)
        | Command::Publish(_)
        | Command::Rollout(_) => Format::Human,
    };
    Ctx {
        style: Style {
            color,
            width,
            wrap: stderr_tty,
        },
        verbose: cli.verbose,
        allow_skipped: cli.allow_skipped,
        format,
    }
}

fn dispatch(ctx: &Ctx, command: Command) -> Outcome {
    match command {
        Command::Compile(a) => commands::compile::run(ctx, a),
        Command::Decompile(a) => commands::decompile::run(ctx, a),
        Command::Validate(a) => commands::validate::run(ctx, a),
        Command::Test(a) => commands::test::run(ctx, a),
        Command::Inspect(a) => commands::inspect::run(ctx, a),
        Command::Keygen(a) => commands::keygen::run(ctx, a),
        Command::Sign(a) => commands::sign::run(ctx, a),
        Command::Verify(a) => commands::verify::run(ctx, a),
        Command::Scan(a) => commands::scan::run(ctx, a),
        Command::Publish(a) => commands::publish::run(ctx, a),
        Command::Rollout(a) => commands::rollout::run(ctx, a),
    }
}

/// `COLUMNS`, when it is a sensible width.
fn terminal_width() -> Option<usize> {
    std::env::var("COLUMNS")
        .ok()
        .and_then(|c| c.parse().ok())
        .filter(|w: &usize| *w >= 40)
        .map(|w| w.min(160))
}
