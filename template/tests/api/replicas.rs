//! What a database server adds to SQLite's story: several replicas of the
//! service on one database (first requests racing across processes), and a
//! server that goes away and comes back (the service recovers by itself).

use migration::{Migrator, MigratorTrait};
use sea_orm::{Database, EntityTrait, PaginatorTrait};
use tokio::{
    io::copy_bidirectional,
    net::{TcpListener, TcpStream},
    sync::watch,
};

use {{crate_name}}::{entities::users, startup::Application};

use crate::{
    database::TestDatabase,
    helpers::{access_token, assert_unavailable, cookie_pair, eventually, test_settings},
    process::Running,
};

/// A replica on `database_url`, migrating at start-up or not.
fn replica(database_url: &str, migrate: bool) -> Result<Running, String> {
    Running::start(&[
        ("APP__DATABASE__URL", database_url),
        ("APP__DATABASE__MIGRATE_ON_START", if migrate { "true" } else { "false" }),
    ])
}

// Each replica has its own pool, so the race is settled by the database's
// unique index alone.
#[tokio::test]
async fn concurrent_first_requests_across_two_replicas_make_one_row() {
    let database = TestDatabase::create().await;
    let db = Database::connect(database.url()).await.expect("database");
    Migrator::up(&db, None).await.expect("migrations");
    let replicas = [
        replica(database.url(), false).expect("a replica"),
        replica(database.url(), false).expect("a replica"),
    ];

    let client = reqwest::Client::new();
    let requests = (0..50).map(|i| {
        let url = replicas[i % 2].url("/api/me");
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
            std::thread::spawn(move || replica(&url, true))
        })
        .collect();
    let replicas: Vec<Running> = starting
        .into_iter()
        .map(|start| start.join().expect("thread").unwrap_or_else(|output| {
            panic!("a replica did not come up:\n{output}")
        }))
        .collect();
    let client = reqwest::Client::new();
    for replica in &replicas {
        let url = replica.url("/api/me");
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
