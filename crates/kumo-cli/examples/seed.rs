//! Benchmark seeding: puts objects `obj-<n>` into bucket `bench` of an app through the
//! service layer (the same rules as `PUT …/objects/obj-<n>`, without HTTP), many at once.
//!
//! cargo run --release -p kumo-cli --example seed -- DATABASE_URL APP_ID USER_ID FROM COUNT

use std::sync::Arc;
use std::time::Instant;

use kumo_server::auth::{Caller, Principal};
use kumo_server::service::{BucketPath, ObjectWrite};
use kumo_server::Service;
use kumo_storage::{Precondition, Scope, Storage};
use serde_json::json;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [url, app_id, user_id, from, count] = args.as_slice() else {
        anyhow::bail!("usage: seed DATABASE_URL APP_ID USER_ID FROM COUNT");
    };
    let (from, count): (u64, u64) = (from.parse()?, count.parse()?);
    // Storage failures are logged with their detail (the API error hides it).
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_max_level(tracing::Level::WARN)
        .init();
    let storage: Arc<dyn Storage> = Arc::new(kumo_storage::open(url, 16).await?);
    let app = storage
        .get_app(app_id)
        .await?
        .ok_or_else(|| anyhow::anyhow!("no app {app_id}"))?;
    let service = Service::new(storage.clone(), kumo_server::auth::Passwords::new(1));
    let caller = Caller {
        app,
        principal: Principal::User(user_id.clone()),
        from_server_code: false,
        by_hook: false,
    };
    let started = Instant::now();
    let workers = 16;
    let tasks: Vec<_> = (0..workers)
        .map(|w| {
            let (service, caller) = (service.clone(), caller.clone());
            tokio::spawn(async move {
                let path = BucketPath {
                    scope: Scope::App,
                    name: "bench".into(),
                };
                let mut n = from + w;
                while n < from + count {
                    let data = json!({"owner": format!("owner-{}", n % 1000), "score": n % 997,
                                      "name": format!("name-{n}"), "tag": format!("t{}", n % 7)});
                    // The server writes to the same database meanwhile: on SQLite a write can
                    // find it locked now and then, so a failed put is tried again.
                    let mut tries = 0;
                    loop {
                        let put = service
                            .put_object(
                                &caller,
                                &path,
                                &format!("obj-{n}"),
                                ObjectWrite {
                                    data: data.as_object().unwrap().clone(),
                                    data_type: None,
                                },
                                Precondition::None,
                            )
                            .await;
                        match put {
                            Ok(_) => break,
                            Err(_) if tries < 3 => tries += 1,
                            Err(e) => return Err(anyhow::anyhow!("{}", e.0)),
                        }
                    }
                    n += workers;
                }
                anyhow::Ok(())
            })
        })
        .collect();
    for t in tasks {
        t.await??;
    }
    let secs = started.elapsed().as_secs_f64();
    println!(
        "seeded {count} objects in {secs:.1} s ({:.0}/s)",
        count as f64 / secs
    );
    storage.close().await;
    Ok(())
}
