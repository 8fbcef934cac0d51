//! An exclusive lock on the output folder: `OUT/.flows.lock` holds the PID of the `flows`
//! process that writes there, so a second `flows reproduce` on the same `--out` exits with a
//! clear message instead of racing the first on checkpoints and results. A lock whose process
//! no longer exists (a SIGKILLed run) is stale and taken over with a warning.
//!
//! Liveness is read from `/proc/<pid>` on Linux; elsewhere a lock with a readable PID is taken
//! as live (remove the file by hand after a crash there).

use std::io::Write;
use std::path::{Path, PathBuf};

use crate::error::BenchError;

/// Name of the lock file inside the output folder.
pub const LOCK_FILE: &str = ".flows.lock";

/// A held lock; dropping it removes the lock file.
#[derive(Debug)]
pub struct OutputLock {
    path: PathBuf,
}

impl OutputLock {
    /// The lock file.
    pub fn path(&self) -> &Path {
        &self.path
    }
}

impl Drop for OutputLock {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.path);
    }
}

/// Whether a process with `pid` exists now.
pub fn process_alive(pid: u32) -> bool {
    if cfg!(target_os = "linux") {
        Path::new("/proc").join(pid.to_string()).exists()
    } else {
        true
    }
}

/// Takes the lock of the (existing) folder `out`.
///
/// # Errors
/// [`BenchError::OutputLocked`] when a live process holds it (this one included, from another
/// thread); [`BenchError::Io`] when the lock file cannot be created or read.
pub fn acquire(out: &Path) -> Result<OutputLock, BenchError> {
    let path = out.join(LOCK_FILE);
    for _ in 0..3 {
        match std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&path)
        {
            Ok(mut file) => {
                let lock = OutputLock { path: path.clone() };
                writeln!(file, "{}", std::process::id()).map_err(|e| BenchError::io(&path, e))?;
                return Ok(lock);
            }
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
                let text = std::fs::read_to_string(&path).unwrap_or_default();
                match text.trim().parse::<u32>() {
                    Ok(pid) if process_alive(pid) => {
                        return Err(BenchError::OutputLocked {
                            path: out.to_path_buf(),
                            lock: path,
                            pid,
                        });
                    }
                    stale => {
                        let owner =
                            stale.map_or_else(|_| format!("{:?}", text.trim()), |p| p.to_string());
                        eprintln!(
                            "warning: taking over the stale lock {} of process {owner}, which no longer runs",
                            path.display()
                        );
                        let _ = std::fs::remove_file(&path);
                    }
                }
            }
            Err(e) => return Err(BenchError::io(&path, e)),
        }
    }
    Err(BenchError::io(
        &path,
        std::io::Error::other("lock file keeps reappearing; another flows process is starting"),
    ))
}
