//! What a database server adds to SQLite's story: several replicas of the
//! service on one database (first requests racing across processes), and a
//! server that goes away and comes back (the service recovers by itself).

use std::{
    io::{BufRead, BufReader},
    process::{Child, Stdio},
};

use migration::{Migrator, MigratorTrait};
use sea_orm::{Database, EntityTrait, PaginatorTrait};
use tokio::{
    io::copy_bidirectional,
    net::{TcpListener, TcpStream},
    sync::watch,
};

use {{crate_name}}::{entities::users, startup::Application};

use crate::{
    cli::service,
    database::TestDatabase,
    helpers::{access_token, assert_unavailable, cookie_pair, eventually, test_settings},
};

/// The service's binary serving on a random port, killed when dropped.
struct Replica {
    child: Child,
    port: u16,
}

impl Replica {
    /// Starts the binary on `database_url`, migrating at start-up or not.
    fn start(database_url: &str, migrate: bool) -> Self {
        Self::try_start(database_url, migrate).unwrap_or_else(|output| {
            panic!("the replica never said it was listening:\n{output}")
        })
    }

    /// Starts the binary; what it printed when it exits before listening.
    fn try_start(database_url: &str, migrate: bool) -> Result<Self, String> {
        let mut child = service()
            .env("APP_ENV", "test")
            .env("APP__SERVER__PORT", "0")
            .env("APP__DATABASE__URL", database_url)
            .env("APP__DATABASE__MIGRATE_ON_START", migrate.to_string())
            .env("APP__LOG__FILTER", "info")
            .env("APP__LOG__FORMAT", "json")
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("the service starts");
        let mut lines = BufReader::new(child.stdout.take().expect("stdout")).lines();
        let mut seen = Vec::new();
        let port = lines
            .by_ref()
            .map_while(Result::ok)
            .inspect(|line| seen.push(line.clone()))
            .find_map(|line| {
                let line: serde_json::Value = serde_json::from_str(&line).ok()?;
                (line["fields"]["message"] == "listening")
                    .then(|| line["fields"]["port"].as_u64())
                    .flatten()
            })
            .and_then(|port| u16::try_from(port).ok());
        let Some(port) = port else {
            let _ = child.kill();
            let mut stderr = String::new();
            if let Some(mut pipe) = child.stderr.take() {
                let _ = std::io::Read::read_to_string(&mut pipe, &mut stderr);
            }
            let _ = child.wait();
            return Err(format!("{}\n{stderr}", seen.join("\n")));
        };
        // Keep reading its output, so that it never writes to a closed pipe.
        std::thread::spawn(move || lines.for_each(drop));
        if let Some(mut stderr) = child.stderr.take() {
            std::thread::spawn(move || std::io::copy(&mut stderr, &mut std::io::sink()));
        }
        Ok(Self { child, port })
    }
}

impl Drop for Replica {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

// Each replica has its own pool, so the race is settled by the database's
// unique index alone.
#[tokio::test]
async fn concurrent_first_requests_across_two_replicas_make_one_row() {
    let database = TestDatabase::create().await;
    let db = Database::connect(database.url()).await.expect("database");
    Migrator::up(&db, None).await.expect("migrations");
    let replicas = [
        Replica::start(database.url(), false),
        Replica::start(database.url(), false),
    ];

    let client = reqwest::Client::new();
    let requests = (0..50).map(|i| {
        let url = format!("http://127.0.0.1:{}/api/me", replicas[i % 2].port);
        let request = client
            .get(url)
            .header(reqwest::header::COOKIE, cookie_pair(&access_token("alice")));
        async move { request.send().await.map(|response| response.status()) }
    });
    let statuses = futures::future::join_all(requests).await;
    assert!(
        statuses.iter().all(|status| matches!(status, Ok(s) if *s == 200)),
        "{statuses:?}"
    );
    assert_eq!(users::Entity::find().count(&db).await.expect("count"), 1);
}

// Replicas that start together on a new database all migrate at start-up:
// they take turns under a database lock, and all come up.
#[tokio::test]
async fn replicas_starting_together_on_a_new_database_all_come_up() {
    let database = TestDatabase::create().await;
    let url = database.url().to_owned();
    let starting: Vec<_> = (0..3)
        .map(|_| {
            let url = url.clone();
            std::thread::spawn(move || Replica::try_start(&url, true))
        })
        .collect();
    let replicas: Vec<Replica> = starting
        .into_iter()
        .map(|start| start.join().expect("thread").unwrap_or_else(|output| {
            panic!("a replica did not come up:\n{output}")
        }))
        .collect();
    let client = reqwest::Client::new();
    for replica in &replicas {
        let url = format!("http://127.0.0.1:{}/api/me", replica.port);
        let cookies = cookie_pair(&access_token("alice"));
        assert_eq!(status(&client, &url, Some(&cookies)).await, 200);
    }
    let db = Database::connect(database.url()).await.expect("database");
    assert_eq!(users::Entity::find().count(&db).await.expect("count"), 1);
}

/// A TCP proxy in front of the database server that can cut every connection
/// and refuse new ones, as an outage or a failover would.
struct Proxy {
    port: u16,
    up: watch::Sender<bool>,
}

impl Proxy {
    async fn start(upstream: String) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let port = listener.local_addr().expect("address").port();
        let (up, _) = watch::channel(true);
        let state = up.clone();
        tokio::spawn(async move {
            while let Ok((mut inbound, _)) = listener.accept().await {
                let mut down = state.subscribe();
                if !*down.borrow_and_update() {
                    continue; // Dropping `inbound` closes it.
                }
                let upstream = upstream.clone();
                tokio::spawn(async move {
                    let Ok(mut outbound) = TcpStream::connect(upstream).await else {
                        return;
                    };
                    tokio::select! {
                        _ = copy_bidirectional(&mut inbound, &mut outbound) => {}
                        _ = down.wait_for(|up| !up) => {}
                    }
                });
            }
        });
        Self { port, up }
    }

    fn set_up(&self, up: bool) {
        self.up.send_replace(up);
    }
}

async fn status(client: &reqwest::Client, url: &str, cookies: Option<&str>) -> u16 {
    let mut request = client.get(url);
    if let Some(cookies) = cookies {
        request = request.header(reqwest::header::COOKIE, cookies);
    }
    request.send().await.expect("response").status().as_u16()
}

// Protected routes answer 503 while the server is gone, and the service
// recovers by itself, without a restart, when it returns.
#[tokio::test]
async fn the_service_recovers_by_itself_when_the_database_returns() {
    let database = TestDatabase::create().await;
    let mut url = url::Url::parse(database.url()).expect("URL");
    let upstream = format!(
        "{}:{}",
        url.host_str().expect("host"),
        url.port().expect("port")
    );
    let proxy = Proxy::start(upstream).await;
    url.set_port(Some(proxy.port)).expect("port");

    let mut settings = test_settings(&[("database.acquire_timeout_secs", "1")]).expect("settings");
    settings.database.url = url.to_string().into();
    let app = Application::build(settings).await.expect("app builds");
    let base = format!("http://127.0.0.1:{}", app.port());
    tokio::spawn(app.run_until(std::future::pending()));
    let client = reqwest::Client::new();
    let (me, ready, live) = (
        format!("{base}/api/me"),
        format!("{base}/api/health/ready"),
        format!("{base}/api/health/live"),
    );
    assert_eq!(status(&client, &me, Some(&cookie_pair(&access_token("alice")))).await, 200);

    proxy.set_up(false);
    // A user the service has not seen needs the database.
    let bob = cookie_pair(&access_token("bob"));
    let response = client
        .get(&me)
        .header(reqwest::header::COOKIE, &bob)
        .send()
        .await
        .expect("response");
    assert_unavailable(&response);
    assert_eq!(status(&client, &ready, None).await, 503);
    assert_eq!(status(&client, &live, None).await, 200);

    proxy.set_up(true);
    eventually("readiness recovers", || async {
        status(&client, &ready, None).await == 200
    })
    .await;
    assert_eq!(status(&client, &me, Some(&bob)).await, 200);
}
