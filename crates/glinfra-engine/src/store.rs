//! The local state store, the default [`Backend`]: one directory, a JSON state
//! file per stack written atomically, a journal of small records appended around
//! every mutating call, and an OS file lock per stack.
//!
//! The lock is an `flock` on `<stack>.lock`: the kernel releases it when the
//! holder exits, however it exits, so a crashed run never leaves it stuck. The
//! file also names the holder (process, host, start time, command) so a second
//! run can say who has it.
//!
//! Every file (state, journal, lock, and the directory) is private to its owner:
//! mode 0600 (0700 for the directory), since state records ARNs, endpoints and tags.

use crate::backend::{Backend, LockInfo, LockedStack, StackRead};
use crate::journal::{replay, JournalRecord};
use async_trait::async_trait;
use fs2::FileExt;
use glinfra_core::state::{State, STATE_SCHEMA_VERSION};
use std::fs::{self, File, OpenOptions};
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::sync::Mutex;

pub use crate::backend::{StackLock, StoreError};

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

fn unknown_holder(stack: &str) -> LockInfo {
    LockInfo {
        lock_id: "unknown".into(),
        user: "unknown".into(),
        host: "unknown".into(),
        pid: 0,
        command: "unknown".into(),
        ..LockInfo::mine(stack, "", chrono::Utc::now(), None)
    }
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

    fn paths(&self, stack: &str) -> Result<(PathBuf, PathBuf, PathBuf), StoreError> {
        if let Some(problem) = glinfra_core::names::stack_name_problem(stack) {
            return Err(StoreError::InvalidStackName { problem });
        }
        Ok((
            self.dir.join(format!("{stack}.state.json")),
            self.dir.join(format!("{stack}.journal.jsonl")),
            self.dir.join(format!("{stack}.lock")),
        ))
    }

    /// Takes `stack`'s lock at once, or fails naming the holder.
    pub fn lock(&self, stack: &str) -> Result<StackLock, StoreError> {
        Ok(StackLock::new(self.lock_local(stack, "")?))
    }

    /// Takes `stack`'s lock for run `run_id` at once, or fails naming the holder.
    /// A stack name that is not an identifier is refused before anything touches
    /// the filesystem, so no name can reach a path outside the state directory.
    pub fn lock_local(&self, stack: &str, run_id: &str) -> Result<LocalLock, StoreError> {
        let (state_path, journal_path, path) = self.paths(stack)?;
        let mut dir = fs::DirBuilder::new();
        dir.recursive(true);
        #[cfg(unix)]
        std::os::unix::fs::DirBuilderExt::mode(&mut dir, 0o700);
        dir.create(&self.dir).map_err(io(&self.dir))?;
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
            return Err(StoreError::Locked {
                stack: stack.to_string(),
                holder: Box::new(
                    serde_json::from_str(&text).unwrap_or_else(|_| unknown_holder(stack)),
                ),
                advice: "wait for that run to finish (the lock is released when it exits)".into(),
            });
        }
        let info = LockInfo::mine(stack, run_id, chrono::Utc::now(), None);
        make_private(&file).map_err(io(&path))?;
        file.set_len(0).map_err(io(&path))?;
        file.seek(SeekFrom::Start(0)).map_err(io(&path))?;
        file.write_all(&serde_json::to_vec(&info).expect("holder serialises"))
            .map_err(io(&path))?;
        file.sync_data().map_err(io(&path))?;
        Ok(LocalLock {
            stack: stack.to_string(),
            state_path,
            journal_path,
            dir: self.dir.clone(),
            info,
            _lock: file,
            journal: Mutex::new(None),
        })
    }
}

#[async_trait]
impl Backend for LocalStateStore {
    fn location(&self) -> String {
        self.dir.display().to_string()
    }

    async fn lock(&self, stack: &str, run_id: &str) -> Result<StackLock, StoreError> {
        Ok(StackLock::new(self.lock_local(stack, run_id)?))
    }

    /// The state file with the journal replayed in memory; a torn last journal
    /// line is ignored (the holder cuts it off), nothing is written.
    async fn read(&self, stack: &str) -> Result<StackRead, StoreError> {
        let (state_path, journal_path, _) = self.paths(stack)?;
        let mut state = read_state(&state_path, stack)?;
        let bytes = match fs::read(&journal_path) {
            Ok(b) => b,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Vec::new(),
            Err(e) => return Err(io(&journal_path)(e)),
        };
        for record in parse_journal(&bytes, &journal_path)?.0 {
            replay(&mut state, &record);
        }
        Ok(StackRead {
            state,
            version: None,
            history: Vec::new(),
        })
    }

    /// Asks the OS whether the lock is held (a shared lock taken and dropped at
    /// once), and if so whom its file names.
    async fn holder(&self, stack: &str) -> Result<Option<LockInfo>, StoreError> {
        let (_, _, path) = self.paths(stack)?;
        let mut file = match File::open(&path) {
            Ok(f) => f,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(io(&path)(e)),
        };
        if FileExt::try_lock_shared(&file).is_ok() {
            let _ = FileExt::unlock(&file);
            return Ok(None);
        }
        let mut text = String::new();
        let _ = file.read_to_string(&mut text);
        Ok(Some(
            serde_json::from_str(&text).unwrap_or_else(|_| unknown_holder(stack)),
        ))
    }

    async fn force_unlock(&self, stack: &str, _lock_id: &str) -> Result<LockInfo, StoreError> {
        let held = self.holder(stack).await?;
        Err(StoreError::Unsupported(match held {
            Some(holder) => format!("stack `{stack}` is locked by {holder} with an OS file lock in {}, which the OS releases when that process exits; it cannot be removed from outside (stop that process)", self.dir.display()),
            None => format!("stack `{stack}` is not locked"),
        }))
    }
}

/// The state file at `path`, or the empty state of `stack` when there is none.
fn read_state(path: &Path, stack: &str) -> Result<State, StoreError> {
    let state = match fs::read(path) {
        Ok(bytes) => serde_json::from_slice::<State>(&bytes).map_err(|e| StoreError::Corrupt {
            path: path.to_path_buf(),
            message: e.to_string(),
        })?,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => State::empty(stack),
        Err(e) => return Err(io(path)(e)),
    };
    if state.schema_version != STATE_SCHEMA_VERSION {
        return Err(StoreError::Corrupt {
            path: path.to_path_buf(),
            message: format!(
                "schema version {} (this glinfra reads {STATE_SCHEMA_VERSION})",
                state.schema_version
            ),
        });
    }
    Ok(state)
}

/// How a journal file must be repaired before anything is appended.
#[derive(Debug, PartialEq, Eq)]
enum Repair {
    /// Cut it to this length (a torn last line: its call was never made).
    Cut(u64),
    /// End its last, whole line with a newline.
    EndLine,
}

/// The records of a journal file's bytes, and the repair it needs. A torn line
/// anywhere but last is corruption.
fn parse_journal(
    bytes: &[u8],
    path: &Path,
) -> Result<(Vec<JournalRecord>, Option<Repair>), StoreError> {
    let mut records = Vec::new();
    let mut repair = None;
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
            Ok(r) => {
                records.push(r);
                if !complete {
                    // Whole but for its newline: keep it, and end the line.
                    repair = Some(Repair::EndLine);
                }
            }
            Err(_) if i + 1 == lines.len() => repair = Some(Repair::Cut(start as u64)),
            Err(e) => {
                return Err(StoreError::Corrupt {
                    path: path.to_path_buf(),
                    message: format!("line {}: {e}", i + 1),
                })
            }
        }
    }
    Ok((records, repair))
}

/// A held lock of the local store: the only way to write the stack's state.
#[derive(Debug)]
pub struct LocalLock {
    stack: String,
    dir: PathBuf,
    state_path: PathBuf,
    journal_path: PathBuf,
    info: LockInfo,
    _lock: File,
    journal: Mutex<Option<File>>,
}

impl LocalLock {
    /// The stack's name.
    pub fn stack(&self) -> &str {
        &self.stack
    }

    /// Loads the state: the last snapshot with every journal record since replayed
    /// on top. When the journal had records (a run ended early), the result is
    /// written back as the new snapshot and the journal is emptied.
    pub fn load(&self) -> Result<State, StoreError> {
        let mut state = read_state(&self.state_path, &self.stack)?;
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
        let (records, repair) = parse_journal(&bytes, &self.journal_path)?;
        match repair {
            Some(Repair::Cut(len)) => self.repair_journal(len, None)?,
            Some(Repair::EndLine) => self.repair_journal(bytes.len() as u64, Some(b"\n"))?,
            None => {}
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

    /// The path of the state file.
    pub fn state_path(&self) -> &Path {
        &self.state_path
    }

    /// The path of the journal.
    pub fn journal_path(&self) -> &Path {
        &self.journal_path
    }
}

#[async_trait]
impl LockedStack for LocalLock {
    fn stack(&self) -> &str {
        &self.stack
    }

    fn info(&self) -> LockInfo {
        self.info.clone()
    }

    fn journal_location(&self) -> String {
        self.journal_path.display().to_string()
    }

    async fn load(&self) -> Result<State, StoreError> {
        LocalLock::load(self)
    }

    async fn append(&self, record: &JournalRecord) -> Result<(), StoreError> {
        LocalLock::append(self, record)
    }

    async fn save(&self, state: &State) -> Result<(), StoreError> {
        LocalLock::save(self, state)
    }

    /// The OS releases the lock when the file closes (on drop).
    async fn release(&self) -> Result<(), StoreError> {
        Ok(())
    }

    fn as_any(&self) -> &dyn std::any::Any {
        self
    }
}
