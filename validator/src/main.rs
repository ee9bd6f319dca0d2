//! The `dcf` command: a thin shell over `dcf_validator::cli`.

fn main() -> std::process::ExitCode {
    dcf_validator::cli::main()
}
