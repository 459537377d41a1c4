//! [`TempDir`]: a directory of one's own under the system temp dir,
//! removed on drop.

use std::path::{Path, PathBuf};

/// A fresh, empty directory, removed (with everything in it) on drop: for
/// a test's SQLite records file, say.
///
/// ```
/// use connectflow::testing::TempDir;
///
/// let dir = TempDir::new("records");
/// let spec = format!("sqlite:{}", dir.path().join("records.db").display());
/// assert!(spec.starts_with("sqlite:/"));
/// let kept = dir.path().to_path_buf();
/// drop(dir);
/// assert!(!kept.exists());
/// ```
#[derive(Debug)]
pub struct TempDir {
    path: PathBuf,
}

impl TempDir {
    /// `<temp>/connectflow-<label>-<pid>-<unique>`, created.
    ///
    /// # Panics
    ///
    /// When the directory cannot be created (a broken test machine).
    pub fn new(label: &str) -> TempDir {
        let path = std::env::temp_dir().join(format!(
            "connectflow-{label}-{}-{}",
            std::process::id(),
            super::redis::unique()
        ));
        if let Err(e) = std::fs::create_dir_all(&path) {
            panic!("create {}: {e}", path.display());
        }
        TempDir { path }
    }

    /// The directory.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// `sqlite:<dir>/<file>`: a records location inside it.
    pub fn sqlite(&self, file: &str) -> String {
        format!("sqlite:{}", self.path.join(file).display())
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.path);
    }
}
