//! A fresh SQLite database per test: a file in a temporary folder, deleted
//! with the folder when the test ends.

/// URL of a database that cannot be opened: its folder cannot be created.
pub(crate) const UNREACHABLE_URL: &str = "sqlite:///proc/no-such-dir/db.sqlite?mode=rwc";

/// One test's database.
pub(crate) struct TestDatabase {
    url: String,
    _dir: tempfile::TempDir,
}

impl TestDatabase {
    /// An empty database, not migrated yet.
    pub(crate) async fn create() -> Self {
        let dir = tempfile::tempdir().expect("temporary folder");
        let url = format!("sqlite://{}?mode=rwc", dir.path().join("test.db").display());
        Self { url, _dir: dir }
    }

    /// Its URL, for `database.url`.
    pub(crate) fn url(&self) -> &str {
        &self.url
    }
}
