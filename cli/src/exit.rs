//! How a run ends: its exit code, and the early stop that `?` carries from a command to
//! `main`.

use std::process::ExitCode;

use crate::report::FileReport;

/// The exit code of a run. 101 is never one of them: it is a panic, always a bug.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Exit {
    /// 0: every input accepted.
    Accepted,
    /// 1: some content rejected.
    Rejected,
    /// 2: a usage or I/O error.
    Usage,
}

impl Exit {
    /// The exit code that `reports` call for: a usage or I/O error over a rejection over
    /// acceptance.
    pub fn of(reports: &[FileReport], deny_warnings: bool) -> Self {
        if reports.iter().any(FileReport::has_usage_error) {
            Self::Usage
        } else if reports.iter().all(|r| r.valid(deny_warnings)) {
            Self::Accepted
        } else {
            Self::Rejected
        }
    }

    /// At least [`Exit::Rejected`] when `failed`.
    pub fn rejected_if(self, failed: bool) -> Self {
        if failed {
            self.max(Self::Rejected)
        } else {
            self
        }
    }
}

impl From<Exit> for ExitCode {
    fn from(exit: Exit) -> Self {
        Self::from(match exit {
            Exit::Accepted => 0,
            Exit::Rejected => 1,
            Exit::Usage => 2,
        })
    }
}

/// Why a command ended before its last step.
#[derive(Debug)]
pub enum Stop {
    /// Reports that end the run, printed in the run's format; their exit code is the run's.
    Reports(Vec<FileReport>),
    /// Already said on standard error (or standard output is gone); the run ends with this.
    Exit(Exit),
}

impl From<Vec<FileReport>> for Stop {
    fn from(reports: Vec<FileReport>) -> Self {
        Self::Reports(reports)
    }
}

impl From<FileReport> for Stop {
    fn from(report: FileReport) -> Self {
        Self::Reports(vec![report])
    }
}

impl From<Exit> for Stop {
    fn from(exit: Exit) -> Self {
        Self::Exit(exit)
    }
}

/// What a command returns: how it ended, or the stop that ended it early.
pub type Outcome = Result<Exit, Stop>;

/// A usage error: says `message` on standard error and stops with exit code 2.
pub fn usage(message: impl std::fmt::Display) -> Stop {
    eprintln!("error: {message}");
    Stop::Exit(Exit::Usage)
}
