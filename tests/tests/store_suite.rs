//! One suite, two stores: every check below is written once against the `Store` and
//! `IdempotencyStore` traits and run twice, on `SqliteStore::in_memory()` (`sqlite::*`) and on
//! a `PgStore` over a throwaway PostgreSQL with the generated migrations applied
//! (`postgres::*`). The checks that race two instances get a second handle on the same
//! database: another connection pool on Postgres, the same store on SQLite.
//!
//! `postgres_only` holds what only the Postgres store has: migrations, readiness, connection
//! errors, and the values as Postgres keeps them.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use registry_tests::pg::Pg;
use runtime::cost::Credits;
use runtime::model::Task;
use runtime::store::{
    Claim, Finish, Generation, GenerationQuery, IdempotencyStore, KeyEvent, LOCAL_USER_ID, Lease,
    OutputCount, PgStore, Replay, SqliteStore, Status, Store, now_ms,
};
use serde_json::json;

/// The user most checks run for.
const USER: &str = LOCAL_USER_ID;
/// Someone else.
const OTHER: &str = "11111111-1111-4111-8111-111111111111";
/// 2026-01-01T00:00:00Z, in Unix milliseconds: the checks' clock for the rows they make.
const T0: i64 = 1_767_225_600_000;

/// A store under test.
struct Under {
    store: Arc<dyn Store>,
    /// A second handle on the same database, as a second instance has: another connection
    /// pool on Postgres, the same store on SQLite.
    other: Arc<dyn Store>,
    keys: Arc<dyn IdempotencyStore>,
    /// The server, stopped after the pools above are dropped (fields drop in order).
    pg: Option<Pg>,
}

fn sqlite() -> Under {
    let s = Arc::new(SqliteStore::in_memory().expect("open an in-memory store"));
    Under {
        store: s.clone(),
        other: s.clone(),
        keys: s,
        pg: None,
    }
}

/// A connection string for the throwaway server, as its superuser (trust authentication).
fn url(pg: &Pg) -> String {
    format!("postgres://postgres@127.0.0.1:{}/postgres", pg.port())
}

/// Apply `generated/sql`, as a server does at start (`generated_models::MIGRATIONS`).
async fn migrate(store: &PgStore) {
    store
        .migrate(generated_models::MIGRATIONS)
        .await
        .expect("apply generated/sql");
}

async fn started_pg() -> Pg {
    tokio::task::spawn_blocking(Pg::start)
        .await
        .expect("start PostgreSQL")
}

async fn postgres() -> Under {
    let pg = started_pg().await;
    let first = PgStore::connect(&url(&pg), 4).await.expect("connect");
    migrate(&first).await;
    let second = PgStore::connect(&url(&pg), 4).await.expect("connect again");
    let first = Arc::new(first);
    Under {
        store: first.clone(),
        other: Arc::new(second),
        keys: first,
        pg: Some(pg),
    }
}

/// A UUID made from `n`, in the order of `n` (as text and as `uuid`).
fn id(n: u32) -> String {
    format!("00000000-0000-4000-8000-{n:012x}")
}

fn credits(text: &str) -> Credits {
    text.parse().expect("a credit amount")
}

fn lease(owner: &str, ttl_ms: i64) -> Lease {
    Lease {
        owner: owner.to_owned(),
        ttl_ms,
    }
}

/// A pending generation `id(n)` of `user`, created at `at`.
fn row(n: u32, user: &str, at: i64) -> Generation {
    Generation {
        id: id(n),
        user_id: user.to_owned(),
        model_id: "m".to_owned(),
        provider: "p".to_owned(),
        content_type: "image".to_owned(),
        status: Status::Pending,
        params: json!({"prompt": "x"}),
        provider_response: json!({}),
        tokens_used: None,
        provider_cost: None,
        created_at: at,
        updated_at: at,
        completed_at: None,
        outputs_expected: None,
        outputs_received: None,
        credits_refunded: None,
    }
}

fn key_event(n: i64) -> KeyEvent {
    KeyEvent {
        time: T0 + n,
        provider: "kie_ai".to_owned(),
        model: "seedance_v1_lite".to_owned(),
        scope: "prompt_to_video".to_owned(),
        secret_name: "KIE_AI_API_KEY_PROMPT_TO_VIDEO".to_owned(),
        success: true,
        error: None,
    }
}

fn completed() -> Finish {
    Finish::Completed {
        outputs: json!(["https://cdn.example/x.png"]),
        provider_cost: None,
        count: None,
    }
}

fn failed(message: &str) -> Finish {
    Finish::Failed {
        error: json!({"kind": "provider", "message": message}),
    }
}

fn ids(rows: &[Generation]) -> Vec<String> {
    rows.iter().map(|g| g.id.clone()).collect()
}

async fn available(s: &dyn Store, user: &str) -> String {
    s.available(user)
        .await
        .unwrap()
        .expect("a known user")
        .to_string()
}

async fn balance(s: &dyn Store, user: &str) -> String {
    s.balance(user)
        .await
        .unwrap()
        .expect("a known user")
        .to_string()
}

/// A row reads back as written; `pending -> processing -> completed | failed`, each step
/// once; `list` and `unfinished` oldest first.
async fn lifecycle(u: &Under) {
    let s = u.store.as_ref();
    let mut a = row(1, USER, T0);
    a.params = json!({"prompt": "it's waves ☂", "n": 2, "ratio": "0.0035", "nested": {"x": [1, true, null]}});
    a.updated_at = T0 + 7;
    s.insert(&a).await.unwrap();
    assert_eq!(
        s.get(&a.id).await.unwrap().as_ref(),
        Some(&a),
        "a row reads back as written, to the millisecond"
    );
    assert_eq!(s.get(&id(99)).await.unwrap(), None, "an unknown id");
    let b = row(2, USER, T0 + 1);
    s.insert(&b).await.unwrap();
    assert_eq!(ids(&s.unfinished().await.unwrap()), [id(1), id(2)]);

    let task = Task {
        id: "t-1".to_owned(),
        kept: BTreeMap::from([("region".to_owned(), "eu".to_owned())]),
    };
    assert!(s.mark_processing(&a.id, Some(&task)).await.unwrap());
    assert!(
        s.mark_processing(&a.id, None).await.unwrap(),
        "processing again is still running"
    );
    let running = s.get(&a.id).await.unwrap().unwrap();
    assert_eq!(running.status, Status::Processing);
    assert_eq!(running.task(), Some(task), "task id and kept values");

    let before = now_ms();
    let done = Finish::Completed {
        outputs: json!(["https://cdn.example/a.png"]),
        provider_cost: Some("0.0035".parse().unwrap()),
        count: None,
    };
    assert!(s.finish(&a.id, &done).await.unwrap());
    let after = now_ms();
    assert!(
        !s.finish(&a.id, &done).await.unwrap(),
        "a second finish is a no-op"
    );
    assert!(!s.finish(&a.id, &failed("late")).await.unwrap());
    assert!(!s.mark_processing(&a.id, None).await.unwrap());
    assert!(!s.finish(&id(99), &done).await.unwrap(), "an unknown id");
    let a2 = s.get(&a.id).await.unwrap().unwrap();
    assert_eq!(a2.status, Status::Completed);
    assert_eq!(
        a2.provider_response,
        json!({"task_id": "t-1", "kept": {"region": "eu"}, "outputs": ["https://cdn.example/a.png"]})
    );
    assert_eq!(a2.provider_cost.unwrap().to_string(), "0.0035");
    assert_eq!(
        a2.tokens_used.unwrap().to_string(),
        "0",
        "nothing was held, nothing charged"
    );
    let at = a2.completed_at.expect("completed_at");
    assert!(
        (before..=after).contains(&at),
        "{before} <= {at} <= {after}"
    );
    assert_eq!(a2.updated_at, at);
    assert_eq!(a2.params, a.params);

    assert!(s.finish(&b.id, &failed("no")).await.unwrap());
    let b2 = s.get(&b.id).await.unwrap().unwrap();
    assert_eq!(
        (b2.status, b2.tokens_used.unwrap().to_string()),
        (Status::Failed, "0".to_owned())
    );
    assert_eq!(
        b2.provider_response,
        json!({"error": {"kind": "provider", "message": "no"}})
    );
    assert!(s.unfinished().await.unwrap().is_empty());
    assert_eq!(ids(&s.list().await.unwrap()), [id(1), id(2)]);
}

/// A completed generation is charged its hold once; a failed one is refunded.
async fn charges_once_and_refunds_failures(u: &Under) {
    let s = u.store.as_ref();
    s.set_balance(USER, credits("10")).await.unwrap();
    for n in [1, 2] {
        s.insert(&row(n, USER, T0 + i64::from(n))).await.unwrap();
        s.reserve(&id(n), USER, credits("2.5"))
            .await
            .unwrap()
            .unwrap();
    }
    assert_eq!(available(s, USER).await, "5");
    assert_eq!(balance(s, USER).await, "10", "holds are not deducted");
    assert!(
        s.mark_processing(&id(1), Some(&Task::new("t1")))
            .await
            .unwrap()
    );
    assert!(s.finish(&id(1), &completed()).await.unwrap());
    assert!(!s.finish(&id(1), &completed()).await.unwrap());
    assert!(!s.finish(&id(1), &failed("late")).await.unwrap());
    assert!(s.finish(&id(2), &failed("no")).await.unwrap());
    assert_eq!(balance(s, USER).await, "7.5");
    assert_eq!(available(s, USER).await, "7.5");
    let a = s.get(&id(1)).await.unwrap().unwrap();
    assert_eq!(
        (a.status, a.task_id(), a.tokens_used.unwrap().to_string()),
        (Status::Completed, Some("t1"), "2.5".to_owned())
    );
    assert_eq!(
        a.provider_response["outputs"],
        json!(["https://cdn.example/x.png"])
    );
    let b = s.get(&id(2)).await.unwrap().unwrap();
    assert_eq!(
        (b.status, b.tokens_used.unwrap().to_string()),
        (Status::Failed, "0".to_owned())
    );
    // Setting the balance again replaces it.
    s.set_balance(USER, credits("3.25")).await.unwrap();
    assert_eq!(balance(s, USER).await, "3.25");
}

/// Fewer outputs than asked: their share is charged, the rest released, in one step.
async fn a_shortfall_charges_its_share(u: &Under) {
    let s = u.store.as_ref();
    s.set_balance(USER, credits("10")).await.unwrap();
    s.insert(&row(1, USER, T0)).await.unwrap();
    s.reserve(&id(1), USER, credits("6"))
        .await
        .unwrap()
        .unwrap();
    let short = Finish::Completed {
        outputs: json!(["https://cdn.example/x.png"]),
        provider_cost: Some("1.5".parse().unwrap()),
        count: Some(OutputCount {
            expected: 4,
            received: 1,
            charge: credits("1.5"),
        }),
    };
    assert!(s.finish(&id(1), &short).await.unwrap());
    assert!(!s.finish(&id(1), &short).await.unwrap(), "settled once");
    let a = s.get(&id(1)).await.unwrap().unwrap();
    assert_eq!(
        (
            a.tokens_used.unwrap().to_string(),
            a.outputs_expected,
            a.outputs_received,
            a.credits_refunded.unwrap().to_string(),
            a.provider_cost.unwrap().to_string(),
        ),
        (
            "1.5".to_owned(),
            Some(4),
            Some(1),
            "4.5".to_owned(),
            "1.5".to_owned()
        )
    );
    assert_eq!(balance(s, USER).await, "8.5");
    assert_eq!(available(s, USER).await, "8.5");

    // A charge above the hold is cut to the hold.
    s.insert(&row(2, USER, T0 + 1)).await.unwrap();
    s.reserve(&id(2), USER, credits("2"))
        .await
        .unwrap()
        .unwrap();
    let over = Finish::Completed {
        outputs: json!([]),
        provider_cost: None,
        count: Some(OutputCount {
            expected: 1,
            received: 1,
            charge: credits("5"),
        }),
    };
    assert!(s.finish(&id(2), &over).await.unwrap());
    let b = s.get(&id(2)).await.unwrap().unwrap();
    assert_eq!(
        (
            b.tokens_used.unwrap().to_string(),
            b.credits_refunded.unwrap().to_string()
        ),
        ("2".to_owned(), "0".to_owned())
    );
    assert_eq!(balance(s, USER).await, "6.5");
}

/// A hold never takes more than is available, however many reserve at once.
async fn reserve_refuses_an_overdraft(u: &Under) {
    let s = u.store.as_ref();
    s.set_balance(USER, credits("10")).await.unwrap();
    s.reserve(&id(1), USER, credits("4"))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        s.reserve(&id(2), USER, credits("7")).await.unwrap(),
        Err(credits("6"))
    );
    s.reserve(&id(2), USER, credits("6"))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(available(s, USER).await, "0");
    assert_eq!(balance(s, USER).await, "10");
    assert_eq!(
        s.reserve(&id(3), USER, credits("0.0001")).await.unwrap(),
        Err(credits("0"))
    );

    // An unknown user has nothing.
    assert_eq!(s.available(OTHER).await.unwrap(), None);
    assert_eq!(s.balance(OTHER).await.unwrap(), None);
    assert_eq!(
        s.reserve(&id(4), OTHER, credits("1")).await.unwrap(),
        Err(credits("0"))
    );

    // A refused start records the key retrieval and nothing else.
    let owner = lease("instance-a", 60_000);
    assert_eq!(
        s.start(&key_event(1), &row(5, USER, T0), credits("1"), &owner)
            .await
            .unwrap(),
        Err(credits("0"))
    );
    assert_eq!(s.get(&id(5)).await.unwrap(), None, "no row");
    assert_eq!(s.key_events().await.unwrap(), [key_event(1)]);
    assert_eq!(available(s, USER).await, "0");

    // Ten reserves of 3 against 10, from two instances at once: three get a hold.
    s.set_balance(OTHER, credits("10")).await.unwrap();
    let mut tasks = Vec::new();
    for n in 0..10u32 {
        let store = if n % 2 == 0 {
            u.store.clone()
        } else {
            u.other.clone()
        };
        tasks.push(tokio::spawn(async move {
            store.reserve(&id(100 + n), OTHER, credits("3")).await
        }));
    }
    let mut outcomes = Vec::new();
    for t in tasks {
        outcomes.push(t.await.unwrap().unwrap());
    }
    assert_eq!(
        outcomes.iter().filter(|o| o.is_ok()).count(),
        3,
        "{outcomes:?}"
    );
    assert!(
        outcomes
            .iter()
            .all(|o| o.is_ok() || *o == Err(credits("1"))),
        "every refusal saw the 1 left: {outcomes:?}"
    );
    assert_eq!(available(s, OTHER).await, "1");
}

/// A user's pages: newest first, ties by id, filtered, and walked with a cursor.
async fn a_users_pages(u: &Under) {
    let s = u.store.as_ref();
    for (n, user, at, model) in [
        (1, USER, 10, "m"),
        (2, USER, 20, "n"),
        (3, USER, 20, "m"),
        (4, OTHER, 30, "m"),
        (5, USER, 40, "m"),
    ] {
        let mut g = row(n, user, T0 + at);
        g.model_id = model.to_owned();
        s.insert(&g).await.unwrap();
    }
    assert!(s.finish(&id(2), &failed("no")).await.unwrap());
    let q = GenerationQuery {
        user_id: USER,
        status: None,
        model_id: None,
        after: None,
        limit: 10,
    };
    assert_eq!(
        page(s, q).await,
        [id(5), id(3), id(2), id(1)],
        "ties on created_at by id, descending"
    );
    assert_eq!(
        page(s, GenerationQuery { limit: 2, ..q }).await,
        [id(5), id(3)]
    );
    let cursor = id(3);
    assert_eq!(
        page(
            s,
            GenerationQuery {
                after: Some((T0 + 20, cursor.as_str())),
                ..q
            }
        )
        .await,
        [id(2), id(1)]
    );
    assert_eq!(
        page(
            s,
            GenerationQuery {
                model_id: Some("m"),
                ..q
            }
        )
        .await,
        [id(5), id(3), id(1)]
    );
    assert_eq!(
        page(
            s,
            GenerationQuery {
                status: Some(Status::Failed),
                ..q
            }
        )
        .await,
        [id(2)]
    );
    assert_eq!(
        page(
            s,
            GenerationQuery {
                status: Some(Status::Pending),
                model_id: Some("m"),
                after: Some((T0 + 20, cursor.as_str())),
                ..q
            }
        )
        .await,
        [id(1)]
    );
    assert_eq!(
        page(
            s,
            GenerationQuery {
                user_id: OTHER,
                ..q
            }
        )
        .await,
        [id(4)]
    );
    assert!(
        page(
            s,
            GenerationQuery {
                user_id: "22222222-2222-4222-8222-222222222222",
                ..q
            }
        )
        .await
        .is_empty()
    );
    assert!(page(s, GenerationQuery { limit: 0, ..q }).await.is_empty());
}

async fn page(s: &dyn Store, q: GenerationQuery<'_>) -> Vec<String> {
    ids(&s.list_for_user(&q).await.unwrap())
}

/// A webhook message is acted on once; a forgotten one can be taken again.
async fn webhook_deliveries_are_deduplicated(u: &Under) {
    let s = u.store.as_ref();
    assert!(s.first_delivery("fal", "msg_1").await.unwrap());
    assert!(!s.first_delivery("fal", "msg_1").await.unwrap(), "a retry");
    assert!(
        s.first_delivery("kie_ai", "msg_1").await.unwrap(),
        "per provider"
    );
    assert!(u.other.first_delivery("fal", "msg_2").await.unwrap());
    assert!(
        !s.first_delivery("fal", "msg_2").await.unwrap(),
        "seen by the other instance"
    );
    s.forget_delivery("fal", "msg_1").await.unwrap();
    assert!(s.first_delivery("fal", "msg_1").await.unwrap(), "forgotten");
    assert!(!s.first_delivery("fal", "msg_1").await.unwrap());
    assert!(!s.first_delivery("kie_ai", "msg_1").await.unwrap());
    s.forget_delivery("fal", "never-seen").await.unwrap();
}

/// Key retrievals are kept in order, exactly.
async fn key_events_are_kept_in_order(u: &Under) {
    let s = u.store.as_ref();
    assert!(s.key_events().await.unwrap().is_empty());
    let first = key_event(1);
    let second = KeyEvent {
        success: false,
        error: Some("KIE_AI_API_KEY_PROMPT_TO_VIDEO is not set".to_owned()),
        ..key_event(-5)
    };
    s.log_key_event(&first).await.unwrap();
    s.log_key_event(&second).await.unwrap();
    assert_eq!(
        s.key_events().await.unwrap(),
        [first.clone(), second.clone()]
    );
    // A start records its key event in the same step.
    s.set_balance(USER, credits("1")).await.unwrap();
    let third = key_event(9);
    s.start(&third, &row(1, USER, T0), credits("1"), &lease("a", 60_000))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(s.key_events().await.unwrap(), [first, second, third]);
}

/// `Idempotency-Key`: claimed once per user, in flight until answered, the answer replayed,
/// an unanswered key released.
async fn idempotency_keys(u: &Under) {
    let k = u.keys.as_ref();
    assert_eq!(k.claim_key(USER, "k", "f1").await.unwrap(), Claim::Claimed);
    assert_eq!(
        k.claim_key(OTHER, "k", "f1").await.unwrap(),
        Claim::Claimed,
        "per user"
    );
    let before = now_ms();
    let Claim::Existing(r) = k.claim_key(USER, "k", "f2").await.unwrap() else {
        panic!("claimed twice");
    };
    assert_eq!(
        (
            r.fingerprint.as_str(),
            r.generation_id.as_deref(),
            r.response.as_ref()
        ),
        ("f1", None, None),
        "in flight"
    );
    assert!(r.created_at <= before && r.updated_at == r.created_at);
    let started = id(7);
    k.key_started(USER, "k", &started).await.unwrap();
    let answer = Replay {
        status: 201,
        headers: vec![
            ("location".to_owned(), format!("/v1/generations/{started}")),
            ("preference-applied".to_owned(), "wait=5".to_owned()),
        ],
        body: "{\"id\":\"g\"}".to_owned(),
    };
    k.key_answered(USER, "k", &answer).await.unwrap();
    let Claim::Existing(r) = k.claim_key(USER, "k", "f1").await.unwrap() else {
        panic!("claimed twice");
    };
    assert_eq!(r.generation_id, Some(started));
    assert_eq!(r.response, Some(answer.clone()), "the answer, as given");
    assert!(r.updated_at >= r.created_at);
    // An answered key stays; an unanswered one is freed.
    k.release_key(USER, "k").await.unwrap();
    let Claim::Existing(r) = k.claim_key(USER, "k", "f1").await.unwrap() else {
        panic!("an answered key was released");
    };
    assert_eq!(r.response, Some(answer));
    k.release_key(OTHER, "k").await.unwrap();
    assert_eq!(k.claim_key(OTHER, "k", "f3").await.unwrap(), Claim::Claimed);
    let Claim::Existing(r) = k.claim_key(OTHER, "k", "f4").await.unwrap() else {
        panic!("claimed twice");
    };
    assert_eq!(r.fingerprint, "f3", "the new claim's fingerprint");
}

/// Leases: a start leases to its instance, renewals keep it, only expired or unowned rows
/// are taken over, and a release hands them back at once.
async fn leases(u: &Under) {
    let s = u.store.as_ref();
    let a = lease("instance-a", 60_000);
    let b = lease("instance-b", 60_000);
    s.set_balance(USER, credits("10")).await.unwrap();
    for n in [1, 2] {
        s.start(
            &key_event(0),
            &row(n, USER, T0 + i64::from(n)),
            credits("1"),
            &a,
        )
        .await
        .unwrap()
        .unwrap();
    }
    assert!(
        s.claim_expired(&b, 10).await.unwrap().is_empty(),
        "instance-a holds both"
    );
    // A row inserted without a lease belongs to no one.
    s.insert(&row(3, USER, T0 + 3)).await.unwrap();
    let taken = u.other.claim_expired(&b, 10).await.unwrap();
    assert_eq!(ids(&taken), [id(3)]);
    assert_eq!(
        taken[0],
        s.get(&id(3)).await.unwrap().unwrap(),
        "the row as stored"
    );
    assert!(
        s.claim_expired(&b, 10).await.unwrap().is_empty(),
        "taken once"
    );
    assert!(s.claim_expired(&a, 10).await.unwrap().is_empty());

    assert_eq!(s.renew_leases(&a).await.unwrap(), 2);
    assert_eq!(s.renew_leases(&b).await.unwrap(), 1);
    assert_eq!(s.renew_leases(&lease("nobody", 1000)).await.unwrap(), 0);
    // A finished generation is no one's to renew.
    assert!(s.finish(&id(1), &completed()).await.unwrap());
    assert_eq!(s.renew_leases(&a).await.unwrap(), 1);

    // Released: taken over at once.
    assert_eq!(s.release_leases("instance-a").await.unwrap(), 1);
    let taken = u.other.claim_expired(&b, 10).await.unwrap();
    assert_eq!(ids(&taken), [id(2)]);
    assert_eq!(s.renew_leases(&a).await.unwrap(), 0);
    assert_eq!(s.renew_leases(&b).await.unwrap(), 2);
    assert_eq!(s.release_leases("instance-a").await.unwrap(), 0);

    // A lease that is not renewed runs out.
    let short = lease("instance-c", 1);
    s.start(&key_event(0), &row(4, USER, T0 + 4), credits("1"), &short)
        .await
        .unwrap()
        .unwrap();
    tokio::time::sleep(std::time::Duration::from_millis(30)).await;
    let taken = s.claim_expired(&a, 10).await.unwrap();
    assert_eq!(ids(&taken), [id(4)]);
    assert_eq!(s.renew_leases(&short).await.unwrap(), 0, "no longer C's");
    assert_eq!(s.renew_leases(&a).await.unwrap(), 1);
    // The credits are untouched by all this: two open holds of 1, one charged.
    assert_eq!(available(s, USER).await, "7");
    assert_eq!(balance(s, USER).await, "9");
}

/// Takeovers come unpolled first, then those whose poll is due soonest, then the oldest;
/// `limit` caps them.
async fn claims_come_in_poll_order(u: &Under) {
    let s = u.store.as_ref();
    for (n, at, poll) in [
        (1, 1000, Some(T0 + 3000)),
        (2, 2000, Some(T0 + 1000)),
        (3, 3000, None),
        (4, 500, None),
        (5, 100, None),
    ] {
        s.insert(&row(n, USER, T0 + at)).await.unwrap();
        if let Some(poll) = poll {
            s.set_next_poll(&id(n), poll).await.unwrap();
        }
    }
    assert!(s.finish(&id(5), &failed("done")).await.unwrap());
    let a = lease("a", 60_000);
    assert_eq!(
        ids(&s.claim_expired(&a, 3).await.unwrap()),
        [id(4), id(3), id(2)]
    );
    assert_eq!(ids(&s.claim_expired(&a, 3).await.unwrap()), [id(1)]);
    assert!(
        s.claim_expired(&a, 3).await.unwrap().is_empty(),
        "finished rows are never claimed"
    );
    assert!(s.claim_expired(&lease("b", 1), 0).await.unwrap().is_empty());
    assert_eq!(s.release_leases("a").await.unwrap(), 4);
    // Moving a poll earlier moves the row up.
    s.set_next_poll(&id(1), T0).await.unwrap();
    assert_eq!(
        ids(&s.claim_expired(&a, 10).await.unwrap()),
        [id(4), id(3), id(1), id(2)]
    );
}

/// Two instances taking over 200 expired generations at once never take the same one, and
/// together take them all.
async fn concurrent_claims_never_share_a_row(u: &Under) {
    let s = u.store.as_ref();
    let all: BTreeSet<String> = (1..=200).map(id).collect();
    for n in 1..=200u32 {
        s.insert(&row(n, USER, T0 + i64::from(n))).await.unwrap();
    }
    let barrier = Arc::new(tokio::sync::Barrier::new(2));
    let run = |store: Arc<dyn Store>, owner: &'static str| {
        let barrier = barrier.clone();
        tokio::spawn(async move {
            let mine = lease(owner, 60_000);
            barrier.wait().await;
            let mut got = Vec::new();
            loop {
                let batch = store.claim_expired(&mine, 7).await.unwrap();
                assert!(batch.len() <= 7, "limit");
                if batch.is_empty() {
                    return got;
                }
                got.extend(ids(&batch));
            }
        })
    };
    let (a, b) = (
        run(u.store.clone(), "instance-a"),
        run(u.other.clone(), "instance-b"),
    );
    let (a, b) = (a.await.unwrap(), b.await.unwrap());
    let (sa, sb): (BTreeSet<String>, BTreeSet<String>) =
        (a.iter().cloned().collect(), b.iter().cloned().collect());
    assert_eq!(sa.len(), a.len(), "instance-a got a row twice");
    assert_eq!(sb.len(), b.len(), "instance-b got a row twice");
    assert!(
        sa.is_disjoint(&sb),
        "both took {:?}",
        sa.intersection(&sb).collect::<Vec<_>>()
    );
    assert_eq!(
        sa.union(&sb).cloned().collect::<BTreeSet<_>>(),
        all,
        "together they take every row"
    );
    assert_eq!(
        s.renew_leases(&lease("instance-a", 60_000)).await.unwrap(),
        a.len() as u64
    );
    assert_eq!(
        s.renew_leases(&lease("instance-b", 60_000)).await.unwrap(),
        b.len() as u64
    );
}

/// Two instances finishing one generation at once, one completing and one failing it:
/// exactly one wins, and the hold is settled once, as the winner says.
async fn concurrent_finishes_settle_once(u: &Under) {
    let s = u.store.as_ref();
    s.set_balance(USER, credits("100")).await.unwrap();
    let owner = lease("a", 60_000);
    for n in 1..=20u32 {
        s.start(
            &key_event(0),
            &row(n, USER, T0 + i64::from(n)),
            credits("1.25"),
            &owner,
        )
        .await
        .unwrap()
        .unwrap();
    }
    let mut tasks = Vec::new();
    for n in 1..=20u32 {
        for (store, finish) in [
            (u.store.clone(), completed()),
            (u.other.clone(), failed("raced")),
        ] {
            tasks.push(tokio::spawn(async move {
                (n, store.finish(&id(n), &finish).await.unwrap())
            }));
        }
    }
    let mut wins: BTreeMap<u32, u32> = BTreeMap::new();
    for t in tasks {
        let (n, won) = t.await.unwrap();
        *wins.entry(n).or_default() += u32::from(won);
    }
    assert!(wins.values().all(|w| *w == 1), "one winner each: {wins:?}");
    let mut charged = 0u32;
    for n in 1..=20u32 {
        let g = s.get(&id(n)).await.unwrap().unwrap();
        let tokens = g.tokens_used.unwrap().to_string();
        match g.status {
            Status::Completed => {
                charged += 1;
                assert_eq!(tokens, "1.25");
            }
            Status::Failed => assert_eq!(tokens, "0"),
            other => panic!("{} is {other:?}", g.id),
        }
    }
    let left = rust_decimal::Decimal::from(100)
        - rust_decimal::Decimal::new(125, 2) * rust_decimal::Decimal::from(charged);
    assert_eq!(balance(s, USER).await, left.normalize().to_string());
    assert_eq!(
        available(s, USER).await,
        left.normalize().to_string(),
        "no hold left open"
    );
}

/// A migrated store is ready.
async fn ready(u: &Under) {
    u.store.ready().await.expect("ready");
    u.other.ready().await.expect("ready");
}

/// Each check as a test on each store: `sqlite::<check>` and `postgres::<check>`.
macro_rules! on_both_stores {
    ($($check:ident),* $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $check() {
                    super::$check(&super::sqlite()).await;
                }
            )*
        }
        mod postgres {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $check() {
                    super::$check(&super::postgres().await).await;
                }
            )*
        }
    };
}

on_both_stores!(
    lifecycle,
    charges_once_and_refunds_failures,
    a_shortfall_charges_its_share,
    reserve_refuses_an_overdraft,
    a_users_pages,
    webhook_deliveries_are_deduplicated,
    key_events_are_kept_in_order,
    idempotency_keys,
    leases,
    claims_come_in_poll_order,
    concurrent_claims_never_share_a_row,
    concurrent_finishes_settle_once,
    ready,
);

mod postgres_only {
    use super::*;

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn migrations_apply_twice_and_readiness_names_what_is_missing() {
        let pg = started_pg().await;
        let store = PgStore::connect(&url(&pg), 2).await.expect("connect");
        let err = store
            .ready()
            .await
            .expect_err("nothing migrated yet")
            .to_string();
        assert!(
            err.contains("not migrated")
                && err.contains("table generations")
                && err.contains("table idempotency_keys"),
            "{err}"
        );
        migrate(&store).await;
        migrate(&store).await;
        store.ready().await.expect("ready once migrated");
        // The migrations left their rows alone the second time: one registry row per model.
        let models = pg.query("select count(*) from model_registry;");
        assert!(models.trim().parse::<u32>().unwrap() > 0, "{models}");
        pg.query("alter table generations drop column next_poll_at;");
        let err = store
            .ready()
            .await
            .expect_err("a column is gone")
            .to_string();
        assert!(err.contains("column generations.next_poll_at"), "{err}");
        assert!(!err.contains("table generations"), "{err}");
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn instances_migrating_at_once_take_turns() {
        let pg = started_pg().await;
        let (a, b) = (
            PgStore::connect(&url(&pg), 2).await.expect("connect"),
            PgStore::connect(&url(&pg), 2).await.expect("connect"),
        );
        let ((), ()) = tokio::join!(migrate(&a), migrate(&b));
        a.ready().await.expect("ready");
        b.ready().await.expect("ready");
    }

    /// An instance starting (and so migrating) while another runs generations: the migrations
    /// find the schema in place and take no lock the running instance's transactions hold.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn migrating_while_another_instance_runs_never_deadlocks() {
        let u = postgres().await;
        u.store.set_balance(USER, credits("1000000")).await.unwrap();
        let running = u.other.clone();
        let traffic = tokio::spawn(async move {
            let owner = lease("running", 60_000);
            for n in 1..=150u32 {
                let g = row(n, USER, T0 + i64::from(n));
                running
                    .start(&key_event(0), &g, credits("1"), &owner)
                    .await
                    .unwrap()
                    .unwrap();
                assert!(running.mark_processing(&g.id, None).await.unwrap());
                running.set_next_poll(&g.id, T0).await.unwrap();
                assert!(running.finish(&g.id, &completed()).await.unwrap());
            }
        });
        let pg = u.pg.as_ref().unwrap();
        let starting = PgStore::connect(&url(pg), 2).await.expect("connect");
        while !traffic.is_finished() {
            starting
                .migrate(generated_models::MIGRATIONS)
                .await
                .expect("migrate while another instance runs");
        }
        traffic.await.expect("the running instance's generations");
        assert_eq!(balance(u.store.as_ref(), USER).await, "999850");
    }

    /// Webhook ids older than a day and idempotency records older than
    /// `IDEMPOTENCY_TTL_MS` are dropped at the next delivery or claim.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn old_deliveries_and_idempotency_keys_are_dropped() {
        let u = postgres().await;
        let pg = u.pg.as_ref().unwrap();
        assert!(u.store.first_delivery("fal", "old").await.unwrap());
        assert!(u.store.first_delivery("fal", "new").await.unwrap());
        assert_eq!(
            u.keys.claim_key(USER, "old", "f").await.unwrap(),
            Claim::Claimed
        );
        assert_eq!(
            u.keys.claim_key(USER, "new", "f").await.unwrap(),
            Claim::Claimed
        );
        pg.query(
            "update webhook_deliveries set received_at = received_at - interval '25 hours' where delivery_id = 'old';\n\
             update idempotency_keys set created_at = created_at - interval '25 hours' where idempotency_key = 'old';",
        );
        assert!(
            u.store.first_delivery("fal", "old").await.unwrap(),
            "dropped"
        );
        assert!(!u.store.first_delivery("fal", "new").await.unwrap(), "kept");
        assert_eq!(
            u.keys.claim_key(USER, "old", "f2").await.unwrap(),
            Claim::Claimed,
            "dropped"
        );
        assert!(
            matches!(u.keys.claim_key(USER, "new", "f2").await.unwrap(), Claim::Existing(r) if r.fingerprint == "f"),
            "kept"
        );
        assert_eq!(
            pg.query("select count(*) from webhook_deliveries;").trim(),
            "2"
        );
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_failed_migration_names_its_file_and_changes_nothing() {
        let pg = started_pg().await;
        let store = PgStore::connect(&url(&pg), 2).await.expect("connect");
        let err = store
            .migrate(&[
                ("001_ok.sql", "begin; create table t1 (x int); commit;"),
                (
                    "002_bad.sql",
                    "begin; create table t2 (x int); select no_such_function(); commit;",
                ),
            ])
            .await
            .expect_err("002 fails")
            .to_string();
        assert!(
            err.contains("applying 002_bad.sql") && err.contains("no_such_function"),
            "{err}"
        );
        assert_eq!(
            pg.query("select string_agg(tablename, ',' order by tablename) from pg_tables where schemaname = 'public';")
                .trim(),
            "t1",
            "001 applied, 002 rolled back"
        );
        // The pool still works afterwards.
        migrate(&store).await;
        store.ready().await.expect("ready");
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn connection_errors_name_the_target_never_the_password() {
        let refused = PgStore::connect("postgres://app:hunter2-secret@127.0.0.1:1/generations", 2)
            .await
            .expect_err("nothing listens on port 1")
            .to_string();
        assert!(refused.contains("127.0.0.1:1/generations"), "{refused}");
        assert!(!refused.contains("hunter2"), "{refused}");
        let unparsed = PgStore::connect("postgres://app:hunter2-secret@db.example:port/x", 2)
            .await
            .expect_err("the port is not a number")
            .to_string();
        assert!(!unparsed.contains("hunter2"), "{unparsed}");
        assert!(unparsed.contains("port"), "{unparsed}");
        let kv = PgStore::connect("host=127.0.0.1 port=1 password=hunter2-secret dbname=g", 2)
            .await
            .expect_err("refused")
            .to_string();
        assert!(
            !kv.contains("hunter2") && kv.contains("127.0.0.1:1/g"),
            "{kv}"
        );

        // Connected (trust authentication ignores the password): not in Debug either.
        let pg = started_pg().await;
        let store = PgStore::connect(
            &format!(
                "postgres://postgres:hunter2-secret@127.0.0.1:{}/postgres",
                pg.port()
            ),
            2,
        )
        .await
        .expect("connect");
        let shown = format!("{store:?}");
        assert!(
            !shown.contains("hunter2") && shown.contains("/postgres"),
            "{shown}"
        );
    }

    /// What the store writes is what Postgres holds: uuids, numerics, timestamps to the
    /// millisecond, jsonb, and the lease.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn the_values_are_kept_as_postgres_types() {
        let u = postgres().await;
        let pg = u.pg.as_ref().unwrap();
        let s = u.store.as_ref();
        s.set_balance(USER, credits("10.5")).await.unwrap();
        let mut g = row(1, USER, T0 + 123);
        g.params = json!({"prompt": "a 'quoted' prompt", "n": 2});
        s.start(
            &key_event(0),
            &g,
            credits("2.25"),
            &lease("instance-a", 60_000),
        )
        .await
        .unwrap()
        .unwrap();
        s.set_next_poll(&g.id, T0 + 5_000).await.unwrap();
        let back = pg.query(
            "select id, user_id, (extract(epoch from created_at) * 1000)::bigint, \
                    (extract(epoch from next_poll_at) * 1000)::bigint, params->>'prompt', \
                    lease_owner, lease_expires_at > now() + interval '50 seconds', \
                    lease_expires_at < now() + interval '61 seconds' \
             from generations;",
        );
        assert_eq!(
            back.trim(),
            format!(
                "{}|{USER}|{}|{}|a 'quoted' prompt|instance-a|t|t",
                g.id,
                T0 + 123,
                T0 + 5_000
            )
        );
        assert_eq!(
            pg.query("select generation_id, amount, state from credit_holds;")
                .trim(),
            format!("{}|2.25|reserved", g.id)
        );
        assert_eq!(
            pg.query("select balance from credit_accounts;").trim(),
            "10.5"
        );
        assert_eq!(
            pg.query("select (extract(epoch from occurred_at) * 1000)::bigint, success from api_key_events;")
                .trim(),
            format!("{T0}|t")
        );
        assert!(s.finish(&g.id, &completed()).await.unwrap());
        assert_eq!(
            pg.query(
                "select tokens_used, status, provider_response->'outputs'->>0 from generations;"
            )
            .trim(),
            "2.25|completed|https://cdn.example/x.png"
        );
        assert_eq!(
            pg.query("select balance, (select state from credit_holds) from credit_accounts;")
                .trim(),
            "8.25|charged"
        );
        // Ids that are not UUIDs: a lookup finds nothing, a write is refused by name.
        assert_eq!(s.get("not-a-uuid").await.unwrap(), None);
        let err = s
            .insert(&Generation {
                id: "not-a-uuid".to_owned(),
                ..row(2, USER, T0)
            })
            .await
            .expect_err("refused")
            .to_string();
        assert!(
            err.contains("generations.id") && err.contains("not-a-uuid"),
            "{err}"
        );
    }
}
