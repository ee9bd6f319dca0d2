//! The `dcf` command: see [`dcf_cli`].

fn main() -> std::process::ExitCode {
    dcf_cli::main()
}
