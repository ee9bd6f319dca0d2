//! Durable, atomic file writes in the store's directory, and the fault plan tests use to
//! crash or fail the store at any one of its steps.

use crate::prelude::*;

use std::fs::{self, File, OpenOptions};
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

/// What happens at the chosen step of a [`FaultPlan`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FaultKind {
    /// The process dies there (`abort`), as a crash or a power cut would stop it.
    Crash,
    /// A write there writes only `n` bytes of what it was given, then the process dies: a torn
    /// write of a file that was never synced.
    Torn(usize),
    /// The operation fails with an I/O error, as on a full disk; the process goes on.
    Fail,
}

/// A fault at one numbered step of the store's file operations (every create, write, sync,
/// rename and remove counts one step, in order, from 0). Testing only: it lets a test stop
/// the store between any two of its steps.
#[derive(Debug)]
pub struct FaultPlan {
    /// The step at which the fault happens.
    pub step: u64,
    /// What happens there.
    pub kind: FaultKind,
    counter: AtomicU64,
}

impl FaultPlan {
    /// A fault of `kind` at step `step`.
    pub fn new(step: u64, kind: FaultKind) -> Self {
        FaultPlan {
            step,
            kind,
            counter: AtomicU64::new(0),
        }
    }

    /// Steps counted so far.
    pub fn steps(&self) -> u64 {
        self.counter.load(Ordering::SeqCst)
    }
}

/// The store's directory and its I/O, counted step by step when a fault plan is set.
#[derive(Debug)]
pub(crate) struct Disk {
    dir: PathBuf,
    faults: Option<FaultPlan>,
}

impl Disk {
    pub(crate) fn new(dir: PathBuf, faults: Option<FaultPlan>) -> Self {
        Disk { dir, faults }
    }

    pub(crate) fn dir(&self) -> &Path {
        &self.dir
    }

    /// Counts one step; at the planned one, crashes or fails as planned. `torn` is what a
    /// torn write leaves behind (a file and the bytes it was being given).
    fn step(&self, torn: Option<(&mut File, &[u8])>) -> io::Result<()> {
        let Some(plan) = &self.faults else {
            return Ok(());
        };
        if plan.counter.fetch_add(1, Ordering::SeqCst) != plan.step {
            return Ok(());
        }
        match plan.kind {
            FaultKind::Crash => std::process::abort(),
            FaultKind::Torn(n) => {
                if let Some((file, bytes)) = torn {
                    let _ = file.write_all(bytes.get(..n.min(bytes.len())).unwrap_or_default());
                }
                std::process::abort()
            }
            FaultKind::Fail => Err(io::Error::other("injected I/O failure")),
        }
    }

    /// Writes `bytes` to `name` so that after a crash at any point the file holds either its
    /// old bytes or all of the new ones: write a temporary file, sync it, rename it over the
    /// old one, sync the directory.
    pub(crate) fn write_atomic(&self, name: &str, bytes: &[u8]) -> io::Result<()> {
        let temporary = self.dir.join(format!(".{name}.tmp"));
        self.step(None)?;
        let mut file = OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .open(&temporary)?;
        self.step(Some((&mut file, bytes)))?;
        file.write_all(bytes)?;
        self.step(None)?;
        file.sync_all()?;
        drop(file);
        self.step(None)?;
        fs::rename(&temporary, self.dir.join(name))?;
        self.step(None)?;
        self.sync_dir()
    }

    /// Makes the directory's entries (renames, removals) durable.
    fn sync_dir(&self) -> io::Result<()> {
        File::open(&self.dir)?.sync_all()
    }

    /// Reads `name`, at most `limit` bytes: `Ok(None)` if it does not exist, an error if it
    /// is longer (a store file is never larger than the loader accepts).
    pub(crate) fn read(&self, name: &str, limit: usize) -> io::Result<Option<Vec<u8>>> {
        let file = match File::open(self.dir.join(name)) {
            Ok(file) => file,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(e),
        };
        let mut bytes = Vec::new();
        let cap = u64::try_from(limit).unwrap_or(u64::MAX).saturating_add(1);
        file.take(cap).read_to_end(&mut bytes)?;
        if bytes.len() > limit {
            return Err(io::Error::other(format!(
                "{name} is larger than the {limit} bytes a store file may hold"
            )));
        }
        Ok(Some(bytes))
    }

    /// Removes every file of the directory that `keep` does not name: temporary files a
    /// crash left and contents no longer referenced. Failures are ignored (the files are
    /// garbage, and the next start tries again).
    pub(crate) fn collect_garbage(&self, keep: &[&str]) {
        let Ok(entries) = fs::read_dir(&self.dir) else {
            return;
        };
        let mut removed = false;
        for entry in entries.flatten() {
            let name = entry.file_name();
            let Some(name) = name.to_str() else { continue };
            let ours = name.starts_with('.') && name.ends_with(".tmp")
                || name.starts_with("content-") && name.ends_with(".dcf");
            if ours && !keep.contains(&name) && self.step(None).is_ok() {
                removed |= fs::remove_file(entry.path()).is_ok();
            }
        }
        if removed {
            let _ = self.sync_dir();
        }
    }
}
