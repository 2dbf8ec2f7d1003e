//! A fresh MySQL (or MariaDB) database per test, created on the server that
//! `TEST_DATABASE_URL` names (default [`DEFAULT_SERVER_URL`]) under a unique
//! name, and dropped when the test ends, whether it passed or not.

use std::time::Duration;

use sea_orm::{ConnectOptions, ConnectionTrait, Database};

/// The server the tests use unless `TEST_DATABASE_URL` says otherwise: a local
/// MySQL or MariaDB whose `root` has no password, as in CI.
const DEFAULT_SERVER_URL: &str = "mysql://root@127.0.0.1:3306";

/// URL of a database server that is not there (nothing listens on port 1).
pub(crate) const UNREACHABLE_URL: &str = "mysql://root@127.0.0.1:1/unreachable";

/// One test's database.
pub(crate) struct TestDatabase {
    url: String,
    name: String,
    server_url: String,
}

impl TestDatabase {
    /// An empty database, not migrated yet.
    pub(crate) async fn create() -> Self {
        let server_url =
            std::env::var("TEST_DATABASE_URL").unwrap_or_else(|_| DEFAULT_SERVER_URL.to_owned());
        let name = format!("test_{}", uuid::Uuid::new_v4().simple());
        // sqlx retries a refused connection until the acquire timeout: keep a
        // missing server's failure quick.
        let mut options = ConnectOptions::new(&server_url);
        options.acquire_timeout(Duration::from_secs(5));
        let server = Database::connect(options).await.unwrap_or_else(|error| {
            panic!("MySQL at {server_url} (set TEST_DATABASE_URL): {error}")
        });
        server
            .execute_unprepared(&format!("CREATE DATABASE `{name}`"))
            .await
            .expect("CREATE DATABASE");
        server.close().await.expect("close");

        let mut url = url::Url::parse(&server_url).expect("TEST_DATABASE_URL is a URL");
        url.set_path(&name);
        Self {
            url: url.into(),
            name,
            server_url,
        }
    }

    /// Its URL, for `database.url`.
    pub(crate) fn url(&self) -> &str {
        &self.url
    }
}

impl Drop for TestDatabase {
    fn drop(&mut self) {
        // `Drop` cannot await, and the test's runtime may be single-threaded:
        // drop the database from a thread with a runtime of its own.
        let (server_url, name) = (self.server_url.clone(), self.name.clone());
        let dropped = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()?;
            runtime.block_on(async {
                let server = Database::connect(&server_url).await?;
                server
                    .execute_unprepared(&format!("DROP DATABASE IF EXISTS `{name}`"))
                    .await?;
                server.close().await
            })?;
            Ok::<_, Box<dyn std::error::Error + Send + Sync>>(())
        })
        .join();
        if !matches!(dropped, Ok(Ok(()))) {
            eprintln!("could not drop test database {}", self.name);
        }
    }
}
