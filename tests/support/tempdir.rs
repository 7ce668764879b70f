//! A temporary directory removed on drop (the crate has no `tempfile` dependency).

use std::path::{Path, PathBuf};
use std::sync::Once;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

static COUNTER: AtomicUsize = AtomicUsize::new(0);

/// A fresh directory under `std::env::temp_dir()`, removed with its contents on drop.
pub struct TempDir {
    path: PathBuf,
}

impl TempDir {
    /// Creates `<tmp>/manifest-tool-<prefix>-<pid>-<counter>-<nanos>`. The first call in a
    /// process also removes such directories left by test processes that no longer run (killed
    /// before `Drop`).
    pub fn new(prefix: &str) -> TempDir {
        static SWEEP: Once = Once::new();
        SWEEP.call_once(remove_dirs_of_dead_processes);
        let nanos = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap()
            .subsec_nanos();
        let name = format!(
            "manifest-tool-{prefix}-{}-{}-{nanos}",
            std::process::id(),
            COUNTER.fetch_add(1, Ordering::SeqCst)
        );
        let path = std::env::temp_dir().join(name);
        std::fs::create_dir_all(&path)
            .unwrap_or_else(|e| panic!("creating temp dir {}: {e}", path.display()));
        TempDir { path }
    }

    /// The directory's path.
    pub fn path(&self) -> &Path {
        &self.path
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.path);
    }
}

fn remove_dirs_of_dead_processes() {
    let Ok(entries) = std::fs::read_dir(std::env::temp_dir()) else {
        return;
    };
    for entry in entries.flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        // manifest-tool-<prefix>-<pid>-<counter>-<nanos>
        let pid = name
            .strip_prefix("manifest-tool-")
            .and_then(|rest| rest.rsplit('-').nth(2));
        if pid
            .is_some_and(|pid| pid.parse::<u32>().is_ok() && !Path::new("/proc").join(pid).exists())
        {
            let _ = std::fs::remove_dir_all(entry.path());
        }
    }
}
