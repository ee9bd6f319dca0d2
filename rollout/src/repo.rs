//! The dcf TUF repository on the publisher's disk (`ROLLOUT.md`, ROLLOUT-1): created with its
//! keys, read back, and re-signed after every change, through `tough`'s repository editor.
//!
//! Layout: `REPO/metadata/` (`N.root.json`, `N.targets.json`, `N.snapshot.json`,
//! `timestamp.json`: TUF 1.0 with consistent snapshots) and `REPO/targets/`
//! (`<sha256>.<target name>`), both served as static files; the private keys live apart,
//! in a keys directory that is never served (`<role>-<n>.pk8`, PKCS#8 Ed25519, mode 0600).

use std::collections::HashMap;
use std::num::NonZeroU64;
use std::path::{Path, PathBuf};

use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::signature::Ed25519KeyPair;
use jiff::{SignedDuration, Timestamp};
use sha2::{Digest, Sha256};
use tough::editor::RepositoryEditor;
use tough::editor::signed::SignedRole;
use tough::key_source::{KeySource, LocalKeySource};
use tough::schema::decoded::{Decoded, Hex};
use tough::schema::{Hashes, KeyHolder, RoleKeys, RoleType, Root, Target};
use tough::sign::{Sign, parse_keypair};
use tough::{ExpirationEnforcement, FilesystemTransport, Repository, RepositoryLoader, TargetName};
use url::Url;

use crate::codes::RolloutCode;
use crate::target::TargetMeta;

/// The four top-level TUF roles, in the order keys are made.
pub const ROLES: [RoleType; 4] = [
    RoleType::Root,
    RoleType::Targets,
    RoleType::Snapshot,
    RoleType::Timestamp,
];

/// A refusal of the publishing tools, with its code.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RepoError {
    /// The code (E62xx).
    pub code: RolloutCode,
    /// What went wrong.
    pub message: String,
}

impl core::fmt::Display for RepoError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(f, "{}: {}", self.code.as_str(), self.message)
    }
}

impl std::error::Error for RepoError {}

/// A [`RepoError`] with code E6204.
pub fn unusable(message: impl core::fmt::Display) -> RepoError {
    RepoError {
        code: RolloutCode::RepositoryInvalid,
        message: message.to_string(),
    }
}

/// How long each role's metadata stays valid after it is signed. The timestamp is short on
/// purpose: a sensor that stops seeing fresh metadata (a freeze) notices within a day.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Expiries {
    /// Root metadata (default 365 days).
    pub root: SignedDuration,
    /// Targets metadata (default 30 days).
    pub targets: SignedDuration,
    /// Snapshot metadata (default 7 days).
    pub snapshot: SignedDuration,
    /// Timestamp metadata (default 1 day).
    pub timestamp: SignedDuration,
}

impl Default for Expiries {
    fn default() -> Self {
        let days = |d: i64| SignedDuration::from_hours(24 * d);
        Expiries {
            root: days(365),
            targets: days(30),
            snapshot: days(7),
            timestamp: days(1),
        }
    }
}

/// The paths of a repository.
#[derive(Clone, Debug)]
pub struct RepoPaths {
    /// The repository (served).
    pub dir: PathBuf,
    /// Its private keys (not served).
    pub keys: PathBuf,
}

impl RepoPaths {
    /// `dir/metadata`.
    pub fn metadata(&self) -> PathBuf {
        self.dir.join("metadata")
    }

    /// `dir/targets`.
    pub fn targets(&self) -> PathBuf {
        self.dir.join("targets")
    }

    /// The first root, which sensors ship with as their trust anchor.
    pub fn root(&self) -> PathBuf {
        self.metadata().join("1.root.json")
    }
}

/// Runs an async `tough` call to completion on a single-threaded runtime.
pub fn block_on<F: core::future::Future>(future: F) -> Result<F::Output, RepoError> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| unusable(format!("cannot start the async runtime: {e}")))?;
    Ok(runtime.block_on(future))
}

/// A `file://` URL of a directory (with the trailing slash URL joining needs).
pub fn dir_url(dir: &Path) -> Result<Url, RepoError> {
    let abs = std::path::absolute(dir).map_err(|e| unusable(format!("{}: {e}", dir.display())))?;
    Url::from_directory_path(&abs)
        .map_err(|()| unusable(format!("{}: not a path URL", abs.display())))
}

fn tough_error(what: &str) -> impl Fn(tough::error::Error) -> RepoError + '_ {
    move |e| unusable(format!("{what}: {e}"))
}

/// Creates a repository: `threshold` new Ed25519 keys per role in `paths.keys`, a root that
/// requires `threshold` signatures of each role, and empty targets, snapshot and timestamp
/// metadata. Refuses a directory that already has metadata.
pub fn init(
    paths: &RepoPaths,
    threshold: NonZeroU64,
    expiries: &Expiries,
) -> Result<(), RepoError> {
    if paths.root().exists() {
        return Err(unusable(format!(
            "{} already exists",
            paths.root().display()
        )));
    }
    for dir in [paths.metadata(), paths.targets(), paths.keys.clone()] {
        std::fs::create_dir_all(&dir).map_err(|e| unusable(format!("{}: {e}", dir.display())))?;
    }
    let rng = SystemRandom::new();
    let mut keys = HashMap::new();
    let mut roles = HashMap::new();
    let mut sources: Vec<Box<dyn KeySource>> = Vec::new();
    for role in ROLES {
        let mut keyids = Vec::new();
        for n in 1..=threshold.get() {
            let document = Ed25519KeyPair::generate_pkcs8(&rng)
                .map_err(|_| unusable("cannot generate an Ed25519 key"))?;
            let path = paths.keys.join(format!("{role}-{n}.pk8"));
            write_private(&path, document.as_ref())?;
            let pair = parse_keypair(document.as_ref()).map_err(tough_error("new key"))?;
            let key = pair.tuf_key();
            let id = key.key_id().map_err(|e| unusable(format!("key id: {e}")))?;
            keyids.push(id.clone());
            keys.insert(id, key);
            sources.push(Box::new(LocalKeySource { path }));
        }
        roles.insert(
            role,
            RoleKeys {
                keyids,
                threshold,
                _extra: HashMap::new(),
            },
        );
    }
    let root = Root {
        spec_version: "1.0.0".to_string(),
        consistent_snapshot: true,
        version: NonZeroU64::MIN,
        expires: expires_in(expiries.root)?,
        keys,
        roles,
        _extra: HashMap::new(),
    };
    let holder = KeyHolder::Root(root.clone());
    let signed = block_on(SignedRole::new(root, &holder, &sources, &rng))?
        .map_err(tough_error("signing the root"))?;
    write_atomic(&paths.root(), signed.buffer())?;
    let editor = block_on(RepositoryEditor::new(paths.root()))?.map_err(tough_error("root"))?;
    sign_and_write(paths, editor, [NonZeroU64::MIN; 3], expiries)
}

/// Reads the repository as a client would, with every signature checked against its first
/// root (and expiry ignored: the publisher must be able to re-sign an expired repository).
pub fn load(paths: &RepoPaths) -> Result<Repository, RepoError> {
    let root = std::fs::read(paths.root())
        .map_err(|e| unusable(format!("{}: {e}", paths.root().display())))?;
    let loader = RepositoryLoader::new(
        &root,
        dir_url(&paths.metadata())?,
        dir_url(&paths.targets())?,
    )
    .transport(FilesystemTransport)
    .expiration_enforcement(ExpirationEnforcement::Unsafe);
    block_on(loader.load())?.map_err(tough_error("reading the repository"))
}

/// Every dcf content target of a repository: name, rollout state and TUF target, in
/// ascending (channel, sequence). A target whose `dcf` metadata does not read is an error
/// (E6109): the publisher wrote it, so it is not left for sensors to trip on.
pub fn contents(repo: &Repository) -> Result<Vec<(String, TargetMeta)>, RepoError> {
    let mut out = Vec::new();
    for (name, target) in repo.all_targets() {
        let meta = TargetMeta::from_custom(&target.custom).map_err(|e| RepoError {
            code: RolloutCode::TargetMetadataInvalid,
            message: format!("{}: {e}", name.raw()),
        })?;
        out.push((name.raw().to_string(), meta));
    }
    out.sort_by_key(|(_, m)| (m.channel, m.sequence));
    Ok(out)
}

/// One change to the repository's targets.
#[derive(Clone, Debug)]
pub enum Change {
    /// A new content target: its bytes and its rollout state.
    Add {
        /// Its target name.
        name: String,
        /// The content.
        bytes: Vec<u8>,
        /// Its rollout state.
        meta: TargetMeta,
    },
    /// A new rollout state for an existing target (approval, halt).
    Update {
        /// Its target name.
        name: String,
        /// Its rollout state.
        meta: TargetMeta,
    },
}

/// Applies `changes` and re-signs targets, snapshot and timestamp (each one version up),
/// writing target files before the metadata that names them and the timestamp last, so a
/// client reading the repository meanwhile sees the old state or the new one.
pub fn publish(
    paths: &RepoPaths,
    changes: &[Change],
    expiries: &Expiries,
) -> Result<(), RepoError> {
    let repo = load(paths)?;
    let versions = [
        repo.targets().signed.version,
        repo.snapshot().signed.version,
        repo.timestamp().signed.version,
    ];
    let existing: HashMap<String, Target> = repo
        .all_targets()
        .map(|(n, t)| (n.raw().to_string(), t.clone()))
        .collect();
    let mut editor = block_on(RepositoryEditor::from_repo(paths.root(), repo))?
        .map_err(tough_error("editing the repository"))?;
    for change in changes {
        let (name, target) = match change {
            Change::Add { name, bytes, meta } => {
                if existing.contains_key(name) {
                    return Err(unusable(format!("target {name} already exists")));
                }
                let digest = Sha256::digest(bytes);
                let file = paths.targets().join(format!("{}.{name}", hex(&digest)));
                write_atomic(&file, bytes)?;
                let target = Target {
                    length: bytes.len() as u64,
                    hashes: Hashes {
                        sha256: Decoded::<Hex>::from(digest.to_vec()),
                        _extra: HashMap::new(),
                    },
                    custom: HashMap::from([(
                        crate::target::CUSTOM_KEY.to_string(),
                        meta.to_custom(),
                    )]),
                    _extra: HashMap::new(),
                };
                (name, target)
            }
            Change::Update { name, meta } => {
                let mut target = existing
                    .get(name)
                    .cloned()
                    .ok_or_else(|| unusable(format!("no target {name}")))?;
                target
                    .custom
                    .insert(crate::target::CUSTOM_KEY.to_string(), meta.to_custom());
                (name, target)
            }
        };
        let name = TargetName::new(name.as_str()).map_err(tough_error("target name"))?;
        editor
            .add_target(name, target)
            .map_err(tough_error("adding a target"))?;
    }
    let next = versions.map(|v| v.checked_add(1).unwrap_or(v));
    sign_and_write(paths, editor, next, expiries)
}

fn sign_and_write(
    paths: &RepoPaths,
    mut editor: RepositoryEditor,
    [targets, snapshot, timestamp]: [NonZeroU64; 3],
    expiries: &Expiries,
) -> Result<(), RepoError> {
    let targets_expire = expires_in(expiries.targets)?;
    editor
        .targets_version(targets)
        .map_err(tough_error("targets"))?;
    editor
        .targets_expires(targets_expire)
        .map_err(tough_error("targets"))?;
    editor
        .snapshot_version(snapshot)
        .snapshot_expires(expires_in(expiries.snapshot)?)
        .timestamp_version(timestamp)
        .timestamp_expires(expires_in(expiries.timestamp)?);
    let sources = key_sources(&paths.keys)?;
    let signed = block_on(editor.sign(&sources))?.map_err(tough_error("signing"))?;
    block_on(signed.write(paths.metadata()))?.map_err(tough_error("writing metadata"))
}

/// Every key file (`*.pk8`) of a keys directory, as `tough` key sources.
pub fn key_sources(dir: &Path) -> Result<Vec<Box<dyn KeySource>>, RepoError> {
    let mut paths: Vec<PathBuf> = std::fs::read_dir(dir)
        .map_err(|e| unusable(format!("keys {}: {e}", dir.display())))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "pk8"))
        .collect();
    paths.sort();
    if paths.is_empty() {
        return Err(unusable(format!("no keys (*.pk8) in {}", dir.display())));
    }
    Ok(paths
        .into_iter()
        .map(|path| Box::new(LocalKeySource { path }) as Box<dyn KeySource>)
        .collect())
}

fn expires_in(d: SignedDuration) -> Result<Timestamp, RepoError> {
    Timestamp::now()
        .checked_add(d)
        .map_err(|e| unusable(format!("expiry: {e}")))
}

/// Lower-case hex.
pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn write_private(path: &Path, bytes: &[u8]) -> Result<(), RepoError> {
    use std::io::Write as _;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut file = options
        .open(path)
        .map_err(|e| unusable(format!("{}: {e}", path.display())))?;
    file.write_all(bytes)
        .and_then(|()| file.sync_all())
        .map_err(|e| unusable(format!("{}: {e}", path.display())))
}

/// Writes `bytes` to `path` through a temporary file in the same directory and a rename.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<(), RepoError> {
    let dir = path.parent().unwrap_or(Path::new("."));
    let tmp = dir.join(format!(
        ".{}.tmp",
        path.file_name().and_then(|n| n.to_str()).unwrap_or("file")
    ));
    std::fs::write(&tmp, bytes)
        .and_then(|()| std::fs::rename(&tmp, path))
        .map_err(|e| unusable(format!("{}: {e}", path.display())))
}
