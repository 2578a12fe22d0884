//! The connections the request path keeps between requests: kept after a
//! read that finished, never after one cancelled mid-statement, at most
//! three quarters of the pool's, and given back when the repository closes.

use std::time::Duration;

use access_reviews_domain::ids::DefinitionId;
use access_reviews_domain::ports::{DefinitionRepository, RepositoryError, ReviewReads};
use futures::future::join_all;

use crate::repository::{Db, admin, spec};

async fn definition(db: &Db) -> DefinitionId {
    db.create()
        .execute(&admin(), spec(1))
        .await
        .unwrap()
        .definition()
        .id
}

async fn read(db: &Db, id: DefinitionId) -> Result<(), RepositoryError> {
    let (found, _) = ReviewReads::definition(&*db.repo, id, None).await?.unwrap();
    assert_eq!(found.id, id);
    Ok(())
}

/// 100 reads at once, held by the server behind a lock until as many as
/// the permits allow (45 of a pool of 60) wait there, the rest waiting for
/// permits; returns when all have their answer.
async fn reads_at_once(db: &Db, id: DefinitionId) {
    let mut lock = db.pool.begin().await.unwrap();
    sqlx::query("LOCK TABLE access_review_definitions IN ACCESS EXCLUSIVE MODE")
        .execute(&mut *lock)
        .await
        .unwrap();
    let mut reads = Box::pin(join_all((0..100).map(|_| read(db, id))));
    loop {
        tokio::select! {
            biased;
            _ = &mut reads => panic!("reads finished under the lock"),
            waiting = waiting_on_definitions(db) => if waiting >= 45 { break },
        }
    }
    lock.rollback().await.unwrap();
    assert!(reads.await.iter().all(Result::is_ok));
}

#[tokio::test]
async fn reads_keep_a_connection_at_most_three_quarters_of_the_pool_and_closing_gives_them_back() {
    let db = Db::new().await;
    let id = definition(&db).await;

    for _ in 0..10 {
        read(&db, id).await.unwrap();
    }
    assert_eq!(db.repo.kept_connections(), 1, "one after another: one kept");

    reads_at_once(&db, id).await;
    assert_eq!(
        db.repo.kept_connections(),
        45,
        "three quarters of a pool of 60 read at once, and are kept"
    );

    // The pool's own close waits for every connection out of it, kept
    // ones included: the repository's gives those back first.
    tokio::time::timeout(Duration::from_secs(60), db.repo.close())
        .await
        .expect("the repository closes");
    assert_eq!(db.repo.kept_connections(), 0);
    assert!(matches!(
        read(&db, id).await,
        Err(RepositoryError::Unavailable(_))
    ));
}

/// How many statements wait for a lock on the definitions.
async fn waiting_on_definitions(db: &Db) -> i64 {
    sqlx::query_scalar(
        "SELECT count(*) FROM pg_locks WHERE NOT granted \
         AND relation = 'access_review_definitions'::regclass",
    )
    .fetch_one(&db.pool)
    .await
    .unwrap()
}

#[tokio::test]
async fn a_read_cancelled_mid_statement_leaves_its_connection_to_the_pool_not_to_the_next_read() {
    let db = Db::new().await;
    let id = definition(&db).await;
    read(&db, id).await.unwrap();
    assert_eq!(db.repo.kept_connections(), 1);

    // A read that the server holds behind a lock, dropped (as a request
    // whose client went away) while its statement is unanswered.
    let mut lock = db.pool.begin().await.unwrap();
    sqlx::query("LOCK TABLE access_review_definitions IN ACCESS EXCLUSIVE MODE")
        .execute(&mut *lock)
        .await
        .unwrap();
    let mut cancelled = Box::pin(read(&db, id));
    loop {
        tokio::select! {
            biased;
            result = &mut cancelled => panic!("a read finished under the lock: {result:?}"),
            waiting = waiting_on_definitions(&db) => if waiting > 0 { break },
        }
    }
    drop(cancelled);
    assert_eq!(
        db.repo.kept_connections(),
        0,
        "the connection with an unanswered statement is not kept"
    );
    lock.rollback().await.unwrap();

    // Every later read gets its own answer.
    for _ in 0..5 {
        read(&db, id).await.unwrap();
    }
    let reads = join_all((0..20).map(|_| read(&db, id))).await;
    assert!(reads.iter().all(Result::is_ok));
}

#[tokio::test]
async fn statements_that_do_not_lease_get_the_kept_connections_once_the_pool_has_run_out() {
    let db = Db::new().await;
    let id = definition(&db).await;
    reads_at_once(&db, id).await;
    assert_eq!(db.repo.kept_connections(), 45);

    // Everything the pool has left is taken by others.
    let mut taken = Vec::new();
    while db.pool.size() < 60 || db.pool.num_idle() > 0 {
        taken.push(db.pool.acquire().await.unwrap());
    }

    // A statement that goes to the pool is not left waiting while the
    // repository keeps connections nobody uses.
    let found = tokio::time::timeout(
        Duration::from_secs(20),
        DefinitionRepository::get(&*db.repo, id),
    )
    .await
    .expect("served from the kept connections")
    .unwrap();
    assert_eq!(found.map(|d| d.id), Some(id));
    assert_eq!(db.repo.kept_connections(), 0);
    drop(taken);
}
