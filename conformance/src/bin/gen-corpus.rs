//! Writes the conformance corpus under `corpus/` from the generator in this crate.

use std::fs;
use std::process::ExitCode;

fn main() -> ExitCode {
    let root = dcf_test_support::repo_root().join("corpus");
    for dir in ["valid", "invalid"] {
        let dir = root.join(dir);
        if let Ok(entries) = fs::read_dir(&dir) {
            for entry in entries.flatten() {
                let path = entry.path();
                if path.extension().is_some_and(|e| e == "dcf" || e == "json") {
                    let _ = fs::remove_file(path);
                }
            }
        }
    }
    for file in dcf_conformance::generate() {
        let path = root.join(&file.path);
        if let Some(parent) = path.parent()
            && let Err(e) = fs::create_dir_all(parent)
        {
            eprintln!("cannot create {}: {e}", parent.display());
            return ExitCode::from(2);
        }
        if let Err(e) = fs::write(&path, &file.bytes) {
            eprintln!("cannot write {}: {e}", path.display());
            return ExitCode::from(2);
        }
    }
    println!("corpus written to {}", root.display());
    ExitCode::SUCCESS
}
