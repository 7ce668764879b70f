//! Careful file operations for a directory someone else may control: temp files that nobody
//! can plant a link at, opens that follow no symbolic link and do not wait on a FIFO, an
//! exclusive lock, and a durable rename. The `open(2)` and `flock(2)` values std has no name
//! for are here, per target, and so is each Windows counterpart: there a symbolic link is a
//! reparse point, opened as itself (`FILE_FLAG_OPEN_REPARSE_POINT`) and refused, and the lock
//! is std's `LockFileEx` lock on a file of its own, as Windows locks no directory.

use std::fs::{self, File, OpenOptions};
#[cfg(unix)]
use std::os::unix::fs::{FileTypeExt, OpenOptionsExt};
#[cfg(windows)]
use std::os::windows::fs::{MetadataExt, OpenOptionsExt};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};

/// Makes each temp name of this process different, with the random part.
static TEMP_COUNTER: AtomicUsize = AtomicUsize::new(0);

/// How many names [`create_temp`] tries before it gives up: each is 64 random bits, so a
/// second try only happens when someone planted files at random.
const TEMP_ATTEMPTS: u32 = 16;

/// Create a new temp file in `dir`: a name nobody can guess (`.tmp-manifest-tool-<16 hex>`),
/// opened with `O_CREAT | O_EXCL` (`create_new`), which never follows a symbolic link and
/// never opens a file that is already there, so a link planted in the layout cannot redirect
/// the write. Another name is tried if one is taken.
pub(super) fn create_temp(dir: &Path) -> std::io::Result<(PathBuf, File)> {
    let mut last = std::io::Error::other("no temp file name tried");
    for _ in 0..TEMP_ATTEMPTS {
        let temp = dir.join(format!(".tmp-manifest-tool-{:016x}", random_u64()));
        match OpenOptions::new()
            .write(true)
            .create_new(true)
            .custom_flags(NO_FOLLOW)
            .open(&temp)
        {
            Ok(file) => return Ok((temp, file)),
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => last = e,
            Err(e) => return Err(e),
        }
    }
    Err(last)
}

/// 64 bits nobody outside this process can predict: SipHash keyed by the random keys std
/// draws from the operating system for `RandomState`, over the time, the pid and a counter
/// (so two calls never hash the same input).
pub(super) fn random_u64() -> u64 {
    use std::hash::{BuildHasher, RandomState};
    let n = TEMP_COUNTER.fetch_add(1, Ordering::Relaxed);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    RandomState::new().hash_one((nanos, std::process::id(), n))
}

/// Open `path` for reading without following a symbolic link in its last part (the open
/// fails, or on Windows opens the link itself, which [`not_regular`] then refuses) and without
/// waiting for a writer if it is a FIFO.
pub(super) fn open_no_follow(path: &Path) -> std::io::Result<File> {
    OpenOptions::new()
        .read(true)
        .custom_flags(NO_FOLLOW | NO_WAIT)
        .open(path)
}

/// The open flag that keeps the last part of a path from being followed if it is a link.
#[cfg(unix)]
const NO_FOLLOW: i32 = O_NOFOLLOW;
/// The open flag that keeps an open from waiting for the other end of a FIFO.
#[cfg(unix)]
const NO_WAIT: i32 = O_NONBLOCK;
/// `FILE_FLAG_OPEN_REPARSE_POINT` (winbase.h): open a reparse point (a symbolic link or a
/// junction) as itself, not what it points at. std has no public name for it.
#[cfg(windows)]
const NO_FOLLOW: u32 = 0x0020_0000;
/// Windows has no FIFOs in the file system (its named pipes live under `\\.\pipe\`).
#[cfg(windows)]
const NO_WAIT: u32 = 0;

/// `open(2)` flags std has no name for; the values are those of each target's C library
/// (as the `libc` crate lists them). Linux's generic value, then the architectures that differ.
#[cfg(all(
    target_os = "linux",
    not(any(
        target_arch = "arm",
        target_arch = "aarch64",
        target_arch = "powerpc64",
        target_arch = "powerpc"
    ))
))]
const O_NOFOLLOW: i32 = 0o400000;
#[cfg(all(
    target_os = "linux",
    any(
        target_arch = "arm",
        target_arch = "aarch64",
        target_arch = "powerpc64",
        target_arch = "powerpc"
    )
))]
const O_NOFOLLOW: i32 = 0o100000;
#[cfg(target_vendor = "apple")]
const O_NOFOLLOW: i32 = 0x100;
#[cfg(all(
    target_os = "linux",
    not(any(target_arch = "mips", target_arch = "mips64"))
))]
const O_NONBLOCK: i32 = 0o4000;
#[cfg(all(target_os = "linux", any(target_arch = "mips", target_arch = "mips64")))]
const O_NONBLOCK: i32 = 0x80;
#[cfg(target_vendor = "apple")]
const O_NONBLOCK: i32 = 0x4;

/// The open file whose exclusive lock serialises updates of the layout `root`: on Unix the
/// directory itself (no extra file appears in the layout).
#[cfg(unix)]
pub(super) fn open_lock_file(root: &Path) -> std::io::Result<File> {
    File::open(root)
}

/// The file in a layout that holds the Windows lock ([`open_lock_file`]).
#[cfg(windows)]
pub(super) const LOCK_FILE: &str = ".manifest-tool.lock";

/// The open file whose exclusive lock serialises updates of the layout `root`: on Windows,
/// where a directory cannot be locked, [`LOCK_FILE`] in it, created empty if missing and never
/// removed (removing a lock file races with its next user). A reparse point there is refused.
#[cfg(windows)]
pub(super) fn open_lock_file(root: &Path) -> std::io::Result<File> {
    let path = root.join(LOCK_FILE);
    let file = OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .custom_flags(NO_FOLLOW)
        .open(&path)?;
    match not_regular(&file.metadata()?) {
        None => Ok(file),
        Some(kind) => Err(std::io::Error::other(format!(
            "{} is {kind}, not a regular file",
            path.display()
        ))),
    }
}

/// Whether `name`, found in a layout directory, is the lock file this program made there (a
/// layout that holds nothing else counts as empty). Unix locks the directory: never.
#[cfg(unix)]
pub(super) fn is_lock_file(_name: &std::ffi::OsStr) -> bool {
    false
}

/// Whether `name`, found in a layout directory, is the lock file this program made there (a
/// layout that holds nothing else counts as empty): [`LOCK_FILE`].
#[cfg(windows)]
pub(super) fn is_lock_file(name: &std::ffi::OsStr) -> bool {
    name == LOCK_FILE
}

/// `flock(fd, LOCK_EX | LOCK_NB)`: true when the lock is taken, false when another open file
/// holds it (or a signal interrupted the call). Released when the file is closed.
#[cfg(unix)]
pub(super) fn try_lock_exclusive(file: &File) -> std::io::Result<bool> {
    use std::os::fd::AsRawFd;
    // Same values on Linux and macOS.
    const LOCK_EX: i32 = 2;
    const LOCK_NB: i32 = 4;
    unsafe extern "C" {
        fn flock(fd: i32, operation: i32) -> i32;
    }
    // SAFETY: `file` is open for the whole call, and flock takes only integers.
    if unsafe { flock(file.as_raw_fd(), LOCK_EX | LOCK_NB) } == 0 {
        return Ok(true);
    }
    let error = std::io::Error::last_os_error();
    match error.kind() {
        std::io::ErrorKind::WouldBlock | std::io::ErrorKind::Interrupted => Ok(false),
        _ => Err(error),
    }
}

/// std's exclusive `LockFileEx` lock, without waiting: true when the lock is taken, false when
/// another open file holds it. Released when the file is closed.
#[cfg(windows)]
pub(super) fn try_lock_exclusive(file: &File) -> std::io::Result<bool> {
    match file.try_lock() {
        Ok(()) => Ok(true),
        Err(std::fs::TryLockError::WouldBlock) => Ok(false),
        Err(std::fs::TryLockError::Error(error)) => Err(error),
    }
}

/// None for a regular file; else what it is ("a FIFO", "a directory", …), for the refusal.
#[cfg(unix)]
pub(super) fn not_regular(meta: &fs::Metadata) -> Option<&'static str> {
    let kind = meta.file_type();
    (!kind.is_file()).then(|| kind_name(kind))
}

/// None for a regular file; else what it is. Any reparse point is refused, not only symbolic
/// links and junctions: a file opened as itself ([`NO_FOLLOW`]) is not what it stands for.
#[cfg(windows)]
pub(super) fn not_regular(meta: &fs::Metadata) -> Option<&'static str> {
    /// `FILE_ATTRIBUTE_REPARSE_POINT` (winnt.h).
    const REPARSE_POINT: u32 = 0x400;
    if meta.file_attributes() & REPARSE_POINT != 0 {
        Some("a reparse point (a symbolic link or junction)")
    } else if meta.is_dir() {
        Some("a directory")
    } else {
        None
    }
}

/// "a FIFO", "a directory", …: what a file that is not a regular file is.
#[cfg(unix)]
fn kind_name(kind: fs::FileType) -> &'static str {
    if kind.is_fifo() {
        "a FIFO"
    } else if kind.is_dir() {
        "a directory"
    } else if kind.is_char_device() {
        "a character device"
    } else if kind.is_block_device() {
        "a block device"
    } else if kind.is_socket() {
        "a socket"
    } else {
        "a symbolic link"
    }
}

/// Make a rename durable (best effort: not every filesystem lets a directory be fsynced).
pub(super) fn sync_dir(dir: &Path) {
    if let Ok(handle) = File::open(dir) {
        let _ = handle.sync_all();
    }
}

#[cfg(all(test, unix))]
mod tests {
    use super::*;

    /// The `O_NOFOLLOW` and `O_NONBLOCK` values are right for the target the tests run on.
    #[test]
    fn open_flags_refuse_a_symlink_and_do_not_wait_for_a_fifo_writer() {
        let dir = std::env::temp_dir().join(format!("mt-open-flags-{}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(&dir).unwrap();
        fs::write(dir.join("file"), b"x").unwrap();
        std::os::unix::fs::symlink(dir.join("file"), dir.join("link")).unwrap();
        let open = |name: &str| {
            OpenOptions::new()
                .read(true)
                .custom_flags(O_NOFOLLOW | O_NONBLOCK)
                .open(dir.join(name))
        };
        assert!(open("file").is_ok());
        assert!(open("link").is_err(), "O_NOFOLLOW opened a symlink");
        assert!(open_no_follow(&dir.join("link")).is_err());
        let fifo = std::process::Command::new("mkfifo")
            .arg(dir.join("fifo"))
            .status()
            .unwrap();
        assert!(fifo.success());
        let opened = open("fifo").unwrap();
        assert!(opened.metadata().unwrap().file_type().is_fifo());
        fs::remove_dir_all(&dir).unwrap();
    }
}
