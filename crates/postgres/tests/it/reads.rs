//! The one-statement reads: the path walked whole, what is missing named
//! first, the rights' inputs loaded with the object, and the directory a
//! stop needs read with the stop's other inputs.

use access_reviews_domain::decision::Decision;
use access_reviews_domain::definition::StagePlan;
use access_reviews_domain::directory::Relation;
use access_reviews_domain::ids::{DecisionItemId, DefinitionId, InstanceId, PrincipalId, StageId};
use access_reviews_domain::ports::{
    DecisionQuery, DecisionRepository, DirectoryRepository, Located, Missing, Phase, ReviewReads,
    StageRepository,
};
use access_reviews_domain::queries::MembershipQuery;
use access_reviews_domain::query::ListQuery;
use access_reviews_domain::status::ReviewStatus;

use crate::decisions::{decided, group, group_id, members, two_stage, user};
use crate::repository::{Db, admin, scope};

/// What a read found missing, if anything.
fn missing<T>(located: Located<T>) -> Option<Missing> {
    located.err()
}

/// Whether the caller asked about reviews, for a read that found its object.
fn reviews<T>(located: Located<T>) -> bool {
    located.ok().is_some_and(|(_, access)| access.reviews)
}

#[tokio::test]
async fn every_read_walks_its_whole_path_and_names_the_first_missing_object() {
    let db = Db::new().await;
    let by = user(&db, "reviewer").await;
    members(&db, 2).await;
    let a = two_stage(&db, None, by).await;
    let b = two_stage(&db, None, by).await;
    let (ad, ai) = (a.definition.id, a.instance.id);
    let a_stage = a.first_stage.as_ref().unwrap().id;
    let b_stage = b.first_stage.as_ref().unwrap().id;
    let item = a.items[0].id;
    let reads: &dyn ReviewReads = &*db.repo;
    let nobody = DefinitionId::new_random();

    assert_eq!(
        missing(reads.definition(nobody, None).await.unwrap()),
        Some(Missing::Definition(nobody))
    );
    // The instance of another definition, the stage of another instance,
    // an item of another instance or stage: each is missing here.
    let bi = b.instance.id;
    assert_eq!(
        missing(reads.instance(ad, bi, None).await.unwrap()),
        Some(Missing::Instance(bi))
    );
    assert_eq!(
        missing(reads.stage(nobody, ai, a_stage, None).await.unwrap()),
        Some(Missing::Definition(nobody))
    );
    assert_eq!(
        missing(reads.stage(ad, ai, b_stage, None).await.unwrap()),
        Some(Missing::Stage(b_stage))
    );
    assert_eq!(
        missing(reads.item(ad, ai, Some(b_stage), item, None).await.unwrap()),
        Some(Missing::Stage(b_stage))
    );
    let b_item = b.items[0].id;
    assert_eq!(
        missing(reads.item(ad, ai, None, b_item, None).await.unwrap()),
        Some(Missing::DecisionItem(b_item))
    );
    let unknown = DecisionItemId::new_random();
    assert_eq!(
        missing(
            reads
                .item(ad, ai, Some(a_stage), unknown, None)
                .await
                .unwrap()
        ),
        Some(Missing::DecisionItem(unknown))
    );
    let other = InstanceId::new_random();
    assert_eq!(
        missing(
            reads
                .stages(ad, other, ListQuery::default(), None, None)
                .await
                .unwrap()
        ),
        Some(Missing::Instance(other))
    );
    let no_stage = StageId::new_random();
    assert_eq!(
        missing(
            reads
                .items(ad, ai, Some(no_stage), DecisionQuery::default(), None)
                .await
                .unwrap()
        ),
        Some(Missing::Stage(no_stage))
    );

    // Found: the objects themselves, and the creator for the rights.
    let (stage, access) = reads.stage(ad, ai, a_stage, None).await.unwrap().unwrap();
    assert_eq!(stage.id, a_stage);
    assert_eq!(access.created_by, a.definition.created_by.id);
    let (found, _) = reads
        .item(ad, ai, Some(a_stage), item, None)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(found.id, item);
    let (definition, _) = reads.definition(ad, None).await.unwrap().unwrap();
    assert_eq!(definition, a.definition);

    // An empty page of an existing path is a page, not a missing object.
    let completed = ListQuery {
        status: Some(ReviewStatus::Completed),
        ..ListQuery::default()
    };
    let (page, access) = reads
        .stages(ad, ai, completed.clone(), None, None)
        .await
        .unwrap()
        .unwrap();
    assert!(page.items.is_empty());
    assert_eq!(access.created_by, a.definition.created_by.id);
    let (page, _) = reads
        .instances(ad, completed, None, None)
        .await
        .unwrap()
        .unwrap();
    assert!(page.items.is_empty());
}

#[tokio::test]
async fn reads_tell_whether_the_caller_reviews_in_the_instance() {
    let db = Db::new().await;
    let by = user(&db, "reviewer").await;
    let stranger = user(&db, "stranger").await;
    let principals = members(&db, 2).await;
    let review = two_stage(&db, None, by).await;
    let (d, i) = (review.definition.id, review.instance.id);
    let stage = review.first_stage.as_ref().unwrap().id;
    let reads: &dyn ReviewReads = &*db.repo;

    for (who, reviewer) in [(by, true), (stranger, false)] {
        assert_eq!(
            reviews(reads.definition(d, Some(who)).await.unwrap()),
            reviewer
        );
        assert_eq!(
            reviews(reads.instance(d, i, Some(who)).await.unwrap()),
            reviewer
        );
        assert_eq!(
            reviews(reads.stage(d, i, stage, Some(who)).await.unwrap()),
            reviewer
        );
        let query = DecisionQuery::default();
        assert_eq!(
            reviews(reads.items(d, i, None, query, Some(who)).await.unwrap()),
            reviewer
        );
        // Not asked about: never a reviewer.
        assert!(!reviews(reads.instance(d, i, None).await.unwrap()));

        // filterByCurrentUser: the stages and instances the caller reviews.
        let (mine, _) = reads
            .stages(d, i, ListQuery::default(), Some(who), None)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(mine.items.len(), usize::from(reviewer));
        let (mine, _) = reads
            .instances(d, ListQuery::default(), Some(who), None)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(mine.items.len(), usize::from(reviewer));
    }

    // A decision list filters by the latest decision.
    db.repo
        .record(
            Phase::Stage(stage),
            &[review.items[0].id],
            &decided(by, Decision::Deny, db.clock.now()),
        )
        .await
        .unwrap();
    let denied = DecisionQuery {
        decision: Some(Decision::Deny),
        ..DecisionQuery::default()
    };
    let (page, _) = reads
        .items(d, i, Some(stage), denied, None)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        page.items
            .iter()
            .map(|i| i.principal.id)
            .collect::<Vec<_>>(),
        vec![principals[0]]
    );
}

#[tokio::test]
async fn a_stop_reads_the_directory_that_the_next_stages_reviewers_name() {
    let db = Db::new().await;
    let by = user(&db, "reviewer").await;
    let [a, b, c] = [
        user(&db, "a").await,
        user(&db, "b").await,
        user(&db, "c").await,
    ];
    members(&db, 2).await;
    let g = group_id();
    let nested = group(&db, "nested").await;
    let team = group(&db, "team").await;
    db.repo.add(team, Relation::Members, a).await.unwrap();
    db.repo.add(team, Relation::Members, nested).await.unwrap();
    db.repo.add(nested, Relation::Members, b).await.unwrap();
    db.repo.add(team, Relation::Owners, c).await.unwrap();

    let review = two_stage(&db, None, by).await;
    // The definition as stored: rewrite the second stage's reviewers to
    // name users and groups in every way a reviewer query can.
    let mut plan = review.definition.spec.stage_plan.stages().to_vec();
    plan[1].reviewers = vec![
        scope(&format!("/users/{a}")),
        scope(&format!("/groups/{team}/owners")),
        scope(&format!("/groups/{team}/members")),
        // Graph's segments and ids are case-insensitive.
        scope(&format!(" /Users/{}", c.to_string().to_uppercase())),
    ];
    plan[1].fallback_reviewers = vec![scope(&format!("/groups/{team}/transitiveMembers"))];
    let mut spec = review.definition.spec.clone();
    spec.stage_plan = StagePlan::new(plan).unwrap();
    let stored = db.create().execute(&admin(), spec).await.unwrap();
    let stored = stored.started().unwrap();

    let context = db
        .repo
        .stop_context(stored.definition.id, stored.instance.id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(context.definition, stored.definition);
    assert_eq!(context.instance, stored.instance);
    assert_eq!(context.stages, db.stages(stored.instance.id).await);
    let snapshot = context.reviewers;
    // The first stage names `by`; the second `a`, `c` and `team`.
    for id in [by, a, c, team] {
        assert!(snapshot.looked_up.contains(&id), "{id} looked up");
    }
    assert!(!snapshot.looked_up.contains(&g));
    assert_eq!(snapshot.users, [by, a, c].into_iter().collect());
    let users = &snapshot.groups[&team];
    let ids = |users: Vec<access_reviews_domain::directory::User>| {
        users
            .into_iter()
            .map(|u| u.id)
            .collect::<Vec<PrincipalId>>()
    };
    let membership = |transitive| MembershipQuery {
        group: team,
        transitive,
    };
    assert_eq!(users.owners, ids(db.repo.owner_users(team).await.unwrap()));
    assert_eq!(
        users.members,
        ids(db.repo.member_users(membership(false)).await.unwrap())
    );
    assert_eq!(
        users.transitive_members,
        ids(db.repo.member_users(membership(true)).await.unwrap())
    );
    // Both read the same functions; what they read, concretely.
    assert_eq!(users.owners, vec![c]);
    assert_eq!(users.members, vec![a]);
    assert_eq!(users.transitive_members, vec![a, b]);

    // The stop resolves the next stage's reviewers from it, as the
    // directory would.
    let first = stored.first_stage.as_ref().unwrap().id;
    let transition = db
        .stop()
        .execute(&admin(), stored.definition.id, stored.instance.id, first)
        .await
        .unwrap();
    let next = transition.started.unwrap().id;
    let rules = db.repo.rules(Phase::Stage(next)).await.unwrap().unwrap();
    // Stored as sets.
    let set = |ids: Vec<PrincipalId>| ids.into_iter().collect::<std::collections::HashSet<_>>();
    assert_eq!(set(rules.fixed), set(vec![a, c]));
    assert_eq!(set(rules.fallback), set(vec![a, b]));
}
