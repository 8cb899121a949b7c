//! The local state store: one directory, a JSON state file per stack written
//! atomically, a journal of small records appended around every mutating call,
//! and an OS file lock per stack.
//!
//! The lock is an `flock` on `<stack>.lock`: the kernel releases it when the
//! holder exits, however it exits, so a crashed run never leaves it stuck. The
//! file also names the holder (process, host, start time, command) so a second
//! run can say who has it.
//!
//! Every file (state, journal, lock, and the directory) is private to its owner:
//! mode 0600 (0700 for the directory), since state records ARNs, endpoints and tags.

use crate::journal::{replay, JournalRecord};
use fs2::FileExt;
use glinfra_core::state::{State, STATE_SCHEMA_VERSION};
use serde::{Deserialize, Serialize};
use std::fs::{self, File, OpenOptions};
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::sync::Mutex;

/// Errors of the state store.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// Another run holds the stack's lock.
    #[error("stack `{stack}` is locked by {holder}; wait for that run to finish (the lock is released when it exits)")]
    Locked {
        /// The stack.
        stack: String,
        /// Who holds it.
        holder: LockHolder,
    },
    /// Reading or writing a file failed.
    #[error("state store {path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The IO error.
        #[source]
        source: std::io::Error,
    },
    /// The stack name could not be a file name inside the state directory.
    #[error("invalid stack name: {problem}")]
    InvalidStackName {
        /// What is wrong, and the rule.
        problem: String,
    },
    /// `state rm` named a resource the stack does not record.
    #[error("stack `{stack}` records no resource `{id}` (see `state list`)")]
    NotRecorded {
        /// The stack.
        stack: String,
        /// The logical id asked for.
        id: String,
    },
    /// A state or journal file is not what glinfra wrote.
    #[error("state file {path} is unreadable: {message}")]
    Corrupt {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        message: String,
    },
}

/// Who holds a stack's lock.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct LockHolder {
    /// Process id.
    pub pid: u32,
    /// Host name.
    pub host: String,
    /// When the lock was taken (RFC 3339).
    pub started_at: String,
    /// The command line.
    pub command: String,
}

impl std::fmt::Display for LockHolder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "process {} on host {} since {} (`{}`)",
            self.pid, self.host, self.started_at, self.command
        )
    }
}

/// Opens (creating if need be) a file only its owner may read and write.
fn private(options: &mut OpenOptions) -> &mut OpenOptions {
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(options, 0o600);
    options
}

/// Makes an existing file only its owner may read and write (one made by an
/// older glinfra, or by hand).
fn make_private(file: &File) -> std::io::Result<()> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = file.metadata()?.permissions().mode();
        if mode & 0o077 != 0 {
            file.set_permissions(fs::Permissions::from_mode(mode & 0o700))?;
        }
    }
    #[cfg(not(unix))]
    let _ = file;
    Ok(())
}

/// Syncs `dir`'s entries (a file created, renamed or removed in it) to disk.
/// File systems that cannot sync a directory are let be.
fn sync_dir(dir: &Path) -> Result<(), StoreError> {
    match File::open(dir).and_then(|d| d.sync_all()) {
        Err(e)
            if matches!(
                e.kind(),
                std::io::ErrorKind::InvalidInput | std::io::ErrorKind::Unsupported
            ) =>
        {
            Ok(())
        }
        other => other.map_err(io(dir)),
    }
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> StoreError + '_ {
    move |source| StoreError::Io {
        path: path.to_path_buf(),
        source,
    }
}

/// A directory of stacks' state.
#[derive(Clone, Debug)]
pub struct LocalStateStore {
    dir: PathBuf,
}

impl LocalStateStore {
    /// A store in `dir` (created when first locked).
    pub fn new(dir: impl Into<PathBuf>) -> Self {
        LocalStateStore { dir: dir.into() }
    }

    /// The directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Takes `stack`'s lock at once, or fails naming the holder.
    /// A stack name that is not an identifier is refused before anything touches
    /// the filesystem, so no name can reach a path outside the state directory.
    pub fn lock(&self, stack: &str) -> Result<StackLock, StoreError> {
        if let Some(problem) = glinfra_core::names::stack_name_problem(stack) {
            return Err(StoreError::InvalidStackName { problem });
        }
        let mut dir = fs::DirBuilder::new();
        dir.recursive(true);
        #[cfg(unix)]
        std::os::unix::fs::DirBuilderExt::mode(&mut dir, 0o700);
        dir.create(&self.dir).map_err(io(&self.dir))?;
        let path = self.dir.join(format!("{stack}.lock"));
        let mut file = private(
            OpenOptions::new()
                .read(true)
                .write(true)
                .create(true)
                .truncate(false),
        )
        .open(&path)
        .map_err(io(&path))?;
        if file.try_lock_exclusive().is_err() {
            let mut text = String::new();
            let _ = file.read_to_string(&mut text);
            let holder = serde_json::from_str(&text).unwrap_or(LockHolder {
                pid: 0,
                host: "unknown".into(),
                started_at: "unknown".into(),
                command: "unknown".into(),
            });
            return Err(StoreError::Locked {
                stack: stack.to_string(),
                holder,
            });
        }
        let holder = LockHolder {
            pid: std::process::id(),
            host: hostname::get()
                .map(|h| h.to_string_lossy().into_owned())
                .unwrap_or_else(|_| "unknown".into()),
            started_at: chrono::Utc::now().to_rfc3339(),
            command: std::env::args().collect::<Vec<_>>().join(" "),
        };
        make_private(&file).map_err(io(&path))?;
        file.set_len(0).map_err(io(&path))?;
        file.seek(SeekFrom::Start(0)).map_err(io(&path))?;
        file.write_all(&serde_json::to_vec(&holder).expect("holder serialises"))
            .map_err(io(&path))?;
        file.sync_data().map_err(io(&path))?;
        Ok(StackLock {
            stack: stack.to_string(),
            state_path: self.dir.join(format!("{stack}.state.json")),
            journal_path: self.dir.join(format!("{stack}.journal.jsonl")),
            dir: self.dir.clone(),
            _lock: file,
            journal: Mutex::new(None),
        })
    }
}

/// A held stack lock: the only way to read or write the stack's state.
#[derive(Debug)]
pub struct StackLock {
    stack: String,
    dir: PathBuf,
    state_path: PathBuf,
    journal_path: PathBuf,
    _lock: File,
    journal: Mutex<Option<File>>,
}

impl StackLock {
    /// The stack's name.
    pub fn stack(&self) -> &str {
        &self.stack
    }

    /// Loads the state: the last snapshot with every journal record since replayed
    /// on top. When the journal had records (a run ended early), the result is
    /// written back as the new snapshot and the journal is emptied.
    pub fn load(&self) -> Result<State, StoreError> {
        let mut state = match fs::read(&self.state_path) {
            Ok(bytes) => {
                serde_json::from_slice::<State>(&bytes).map_err(|e| StoreError::Corrupt {
                    path: self.state_path.clone(),
                    message: e.to_string(),
                })?
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => State::empty(&self.stack),
            Err(e) => return Err(io(&self.state_path)(e)),
        };
        if state.schema_version != STATE_SCHEMA_VERSION {
            return Err(StoreError::Corrupt {
                path: self.state_path.clone(),
                message: format!(
                    "schema version {} (this glinfra reads {STATE_SCHEMA_VERSION})",
                    state.schema_version
                ),
            });
        }
        let records = self.read_journal()?;
        if !records.is_empty() {
            for record in &records {
                replay(&mut state, record);
            }
            self.save(&state)?;
        }
        Ok(state)
    }

    /// The journal's records. A torn last line (a write the crash interrupted: its
    /// call was never made) is cut off the file here, before anything can be
    /// appended after it; a torn line anywhere else is corruption.
    fn read_journal(&self) -> Result<Vec<JournalRecord>, StoreError> {
        let bytes = match fs::read(&self.journal_path) {
            Ok(b) => b,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(e) => return Err(io(&self.journal_path)(e)),
        };
        let mut records = Vec::new();
        let mut offset = 0;
        let lines: Vec<&[u8]> = bytes.split_inclusive(|&b| b == b'\n').collect();
        for (i, line) in lines.iter().enumerate() {
            let start = offset;
            offset += line.len();
            let complete = line.ends_with(b"\n");
            let text = line.strip_suffix(b"\n").unwrap_or(line);
            if text.iter().all(u8::is_ascii_whitespace) {
                continue;
            }
            match serde_json::from_slice(text) {
                Ok(r) if complete => records.push(r),
                // Whole but for its newline: keep it, and end the line.
                Ok(r) => {
                    records.push(r);
                    self.repair_journal(bytes.len() as u64, Some(b"\n"))?;
                }
                Err(_) if i + 1 == lines.len() => {
                    self.repair_journal(start as u64, None)?;
                }
                Err(e) => {
                    return Err(StoreError::Corrupt {
                        path: self.journal_path.clone(),
                        message: format!("line {}: {e}", i + 1),
                    })
                }
            }
        }
        Ok(records)
    }

    /// Cuts the journal to `len` bytes, or ends it with `tail`, and syncs it.
    fn repair_journal(&self, len: u64, tail: Option<&[u8]>) -> Result<(), StoreError> {
        let path = &self.journal_path;
        let mut f = OpenOptions::new()
            .write(true)
            .open(path)
            .map_err(io(path))?;
        match tail {
            None => f.set_len(len).map_err(io(path))?,
            Some(tail) => {
                f.seek(SeekFrom::Start(len)).map_err(io(path))?;
                f.write_all(tail).map_err(io(path))?;
            }
        }
        f.sync_all().map_err(io(path))
    }

    /// Appends a record to the journal and syncs it to disk before returning. The
    /// first append after a snapshot creates the journal and syncs its directory
    /// entry, so the journal itself survives a crash.
    pub fn append(&self, record: &JournalRecord) -> Result<(), StoreError> {
        let mut guard = self.journal.lock().expect("journal lock");
        if guard.is_none() {
            let f = private(OpenOptions::new().create(true).append(true))
                .open(&self.journal_path)
                .map_err(io(&self.journal_path))?;
            make_private(&f).map_err(io(&self.journal_path))?;
            sync_dir(&self.dir)?;
            *guard = Some(f);
        }
        let file = guard.as_mut().expect("journal open");
        let mut line = serde_json::to_vec(record).expect("records serialise");
        line.push(b'\n');
        file.write_all(&line).map_err(io(&self.journal_path))?;
        file.sync_data().map_err(io(&self.journal_path))?;
        Ok(())
    }

    /// Writes `state` as the new snapshot atomically (temporary file, fsync,
    /// rename, fsync of the directory), then empties the journal.
    pub fn save(&self, state: &State) -> Result<(), StoreError> {
        let tmp = self.dir.join(format!(".{}.state.json.tmp", self.stack));
        {
            // A leftover of a crash may have other permissions: start afresh.
            match fs::remove_file(&tmp) {
                Err(e) if e.kind() != std::io::ErrorKind::NotFound => return Err(io(&tmp)(e)),
                _ => {}
            }
            let mut f = private(OpenOptions::new().write(true).create_new(true))
                .open(&tmp)
                .map_err(io(&tmp))?;
            f.write_all(&serde_json::to_vec_pretty(state).expect("state serialises"))
                .map_err(io(&tmp))?;
            f.sync_all().map_err(io(&tmp))?;
        }
        fs::rename(&tmp, &self.state_path).map_err(io(&self.state_path))?;
        sync_dir(&self.dir)?;
        let mut guard = self.journal.lock().expect("journal lock");
        *guard = None;
        match fs::remove_file(&self.journal_path) {
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
            Err(e) => Err(io(&self.journal_path)(e)),
            // The removal must be durable too, or a crash could bring back records
            // the snapshot already holds.
            Ok(()) => sync_dir(&self.dir),
        }
    }

    /// Forgets resource `id` without deleting it (`state rm`): it stays in AWS,
    /// no longer managed by this stack, and refresh neither reports it nor plans
    /// its deletion (it is recorded as released). It keeps its ownership tags, so a
    /// program that still declares `id` adopts it back on its next apply.
    pub fn forget(&self, id: &str) -> Result<(), StoreError> {
        let mut state = self.load()?;
        let Some(gone) = state.resources.remove(id) else {
            return Err(StoreError::NotRecorded {
                stack: state.stack,
                id: id.to_string(),
            });
        };
        state.released.insert(id.to_string(), gone.outputs);
        state.serial += 1;
        self.save(&state)
    }

    /// The path of the state file.
    pub fn state_path(&self) -> &Path {
        &self.state_path
    }

    /// The path of the journal.
    pub fn journal_path(&self) -> &Path {
        &self.journal_path
    }
}
