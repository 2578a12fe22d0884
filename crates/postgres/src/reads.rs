//! [`ReviewReads`] over PostgreSQL: each read is one statement that walks
//! the path (definition, instance, stage, item) and returns, on every row,
//! what the caller's rights depend on ([`Access`]). Only when it returns
//! no row does [`PgRepository::locate`] ask, in a second statement, which
//! object of the path is missing (or, for a list, whether the page is
//! simply empty).

use access_reviews_domain::decision::{
    ApplyResult, ContactedReviewer, Decision, DecisionItem, Recommendation,
};
use access_reviews_domain::definition::Definition;
use access_reviews_domain::ids::{DecisionItemId, DefinitionId, InstanceId, PrincipalId, StageId};
use access_reviews_domain::instance::Instance;
use access_reviews_domain::ports::{
    Access, DecisionQuery, Located, Missing, RepositoryError, ReviewReads,
};
use access_reviews_domain::query::{ListQuery, Page, PageRequest};
use access_reviews_domain::stage::Stage;
use access_reviews_domain::status::ReviewStatus;
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use sqlx::Postgres;
use sqlx::postgres::{PgArguments, PgRow};
use sqlx::query::QueryAs;
use sqlx::{FromRow, Row};
use std::sync::LazyLock;
use uuid::Uuid;

use crate::decisions::{ITEM_COLUMNS, ItemRow};
use crate::definitions::{DEFINITION_COLUMNS, DefinitionRow};
use crate::error::{CorruptRow, map_sqlx};
use crate::instances::{INSTANCE_COLUMNS, InstanceRow};
use crate::paging::{bind, limits, paged, total};
use crate::repository::PgRepository;
use crate::rules::REVIEWS;
use crate::stages::{STAGE_COLUMNS, StageRow};

/// A row of the object read, with the [`Access`] columns of [`access`].
struct WithAccess<R> {
    row: R,
    access: Access,
}

impl<'r, R: FromRow<'r, PgRow>> FromRow<'r, PgRow> for WithAccess<R> {
    fn from_row(row: &'r PgRow) -> Result<Self, sqlx::Error> {
        Ok(Self {
            row: R::from_row(row)?,
            access: Access {
                created_by: PrincipalId::from_uuid(row.try_get("access_created_by")?),
                reviews: row.try_get("access_reviews")?,
            },
        })
    }
}

/// The filters of a decision list on items `i`, given its parameters: the
/// phase the items entered (`NULL`: any), the latest decision (`NULL`:
/// any), the reviewer (`NULL`: anyone; else the items that reviewer
/// reviews, in that phase or any), and `NotReviewed`.
fn item_filters([phase, decision, reviewer, not_reviewed]: [&str; 4]) -> String {
    let reviews = REVIEWS.replace("$who", reviewer);
    format!(
        "({phase}::uuid IS NULL OR EXISTS (SELECT 1 FROM phase_items x \
              WHERE x.item_id = i.id AND x.phase_id = {phase})) \
         AND ({decision}::text IS NULL OR coalesce(i.decision, {not_reviewed}) = {decision}) \
         AND ({reviewer}::uuid IS NULL OR EXISTS (SELECT 1 FROM phase_items pi \
              JOIN review_phases rp ON rp.id = pi.phase_id \
              WHERE pi.item_id = i.id AND ({phase}::uuid IS NULL OR pi.phase_id = {phase}) \
              AND {reviews}))"
    )
}

/// Whether the statement asks about reviewer `$3`, one variant each: a
/// parameter that decides the plan (`$3 IS NULL`) would make PostgreSQL
/// plan the statement again at every execution, since its plan with the
/// value folded in always looks cheaper than the prepared one; planning
/// these joins costs ten times running them.
#[derive(Clone, Copy)]
enum Asks {
    /// `$3` is `NULL`: the caller's role already decides.
    Nobody,
    /// `$3` is the caller, who may be a reviewer.
    Reviewer,
}

impl Asks {
    const BOTH: [Self; 2] = [Self::Nobody, Self::Reviewer];

    /// This variant's statement of `variants`.
    fn of(reviewer: Option<PrincipalId>, variants: &'static [String; 2]) -> &'static str {
        let asks = if reviewer.is_some() {
            Self::Reviewer
        } else {
            Self::Nobody
        };
        &variants[asks as usize]
    }

    /// Whether `$3` reviews an item of the instances that `scope` (a
    /// condition on `rp.instance_id`) selects; false, whatever the plan,
    /// when nobody is asked about.
    fn reviews_in(self, scope: &str) -> String {
        match self {
            // `$3` stays in the statement so that it keeps its type.
            Self::Nobody => "(false AND $3::uuid IS NULL)".to_owned(),
            Self::Reviewer => {
                let reviews = REVIEWS.replace("$who", "$3");
                format!(
                    "EXISTS (SELECT 1 FROM review_phases rp \
                       JOIN phase_items pi ON pi.phase_id = rp.id \
                       JOIN decision_items i ON i.id = pi.item_id \
                       WHERE {scope} AND {reviews})"
                )
            }
        }
    }
}

/// One statement per [`Asks`], built once.
type Variants = LazyLock<[String; 2]>;

/// The CTE `access`: one row when definition `$1` exists (and, with
/// `instance`, its instance `$2`; without, `$2` is `NULL`), with the definition's creator and
/// whether reviewer `$3` reviews in the instance (in any instance, for a
/// definition).
fn access(instance: bool, asks: Asks) -> String {
    if instance {
        let reviews = asks.reviews_in("rp.instance_id = $2");
        format!(
            "access AS (SELECT d.created_by_id AS access_created_by, {reviews} AS access_reviews \
             FROM access_review_definitions d \
             JOIN access_review_instances x ON x.id = $2 AND x.definition_id = d.id \
             WHERE d.id = $1)"
        )
    } else {
        let reviews = asks.reviews_in(
            "rp.instance_id IN (SELECT id FROM access_review_instances WHERE definition_id = $1)",
        );
        format!(
            "access AS (SELECT d.created_by_id AS access_created_by, {reviews} AS access_reviews \
             FROM access_review_definitions d WHERE d.id = $1 AND $2::uuid IS NULL)"
        )
    }
}

// Each read's statement, built once.

static DEFINITION: Variants = LazyLock::new(|| {
    Asks::BOTH.map(|asks| {
        let access = access(false, asks);
        format!(
            "WITH {access} SELECT {DEFINITION_COLUMNS}, a.* FROM access a \
         JOIN access_review_definitions ON id = $1"
        )
    })
});

static INSTANCE: Variants = LazyLock::new(|| {
    Asks::BOTH.map(|asks| {
        let access = access(true, asks);
        format!(
            "WITH {access} SELECT {INSTANCE_COLUMNS}, a.* FROM access a \
         JOIN access_review_instances ON id = $2"
        )
    })
});

static STAGE: Variants = LazyLock::new(|| {
    Asks::BOTH.map(|asks| {
        let access = access(true, asks);
        format!(
            "WITH {access} SELECT {STAGE_COLUMNS}, a.* FROM access a \
         JOIN access_review_stages ON id = $4 AND instance_id = $2"
        )
    })
});

/// Read by the instance (`$5` is `NULL`), or by a stage `$5`: the stage is
/// the instance's and the item entered it. One statement each, for the
/// reason of [`Asks`].
static ITEM: LazyLock<[[String; 2]; 2]> = LazyLock::new(|| {
    [
        "$5::uuid IS NULL",
        "EXISTS (SELECT 1 FROM access_review_stages s \
             JOIN phase_items x ON x.phase_id = s.id AND x.item_id = i.id \
             WHERE s.id = $5 AND s.instance_id = $2)",
    ]
    .map(|of_stage| {
        Asks::BOTH.map(|asks| {
            let access = access(true, asks);
            format!(
                "WITH {access} SELECT {ITEM_COLUMNS}, a.* FROM access a \
                 JOIN decision_items i ON i.id = $4 AND i.instance_id = $2 \
                 WHERE {of_stage}"
            )
        })
    })
});

static INSTANCES: Variants = LazyLock::new(|| {
    Asks::BOTH.map(|asks| {
        let access = access(false, asks);
        let mine = REVIEWS.replace("$who", "$5");
        format!(
            "WITH {access} SELECT {INSTANCE_COLUMNS}, a.* FROM access a \
         JOIN access_review_instances ri ON ri.definition_id = $1 \
         WHERE ($4::text IS NULL OR ri.status = $4) \
         AND ($5::uuid IS NULL OR EXISTS (SELECT 1 FROM review_phases rp \
             JOIN phase_items pi ON pi.phase_id = rp.id \
             JOIN decision_items i ON i.id = pi.item_id \
             WHERE rp.instance_id = ri.id AND {mine})) \
         ORDER BY ri.seq LIMIT $6 OFFSET $7"
        )
    })
});

static STAGES: Variants = LazyLock::new(|| {
    Asks::BOTH.map(|asks| {
        let access = access(true, asks);
        let mine = REVIEWS.replace("$who", "$5");
        format!(
            "WITH {access} SELECT {STAGE_COLUMNS}, a.* FROM access a \
         JOIN access_review_stages s ON s.instance_id = $2 \
         WHERE ($4::text IS NULL OR s.status = $4) \
         AND ($5::uuid IS NULL OR EXISTS (SELECT 1 FROM review_phases rp \
             JOIN phase_items pi ON pi.phase_id = rp.id \
             JOIN decision_items i ON i.id = pi.item_id \
             WHERE rp.id = s.id AND {mine})) \
         ORDER BY s.seq LIMIT $6 OFFSET $7"
        )
    })
});

/// A stage's phase has the stage's id; a stage of another instance has no
/// items of this one. One statement per order: creation, then
/// `reviewedDateTime` ascending and descending (never-reviewed items last),
/// each in both [`Asks`] variants.
static ITEMS: LazyLock<[[String; 2]; 3]> = LazyLock::new(|| {
    let filters = item_filters(["$4", "$5", "$6", "$9"]);
    [
        "i.seq",
        "i.reviewed_date_time NULLS LAST, i.seq",
        "i.reviewed_date_time DESC NULLS LAST, i.seq DESC",
    ]
    .map(|order| {
        Asks::BOTH.map(|asks| {
            let access = access(true, asks);
            format!(
                "WITH {access} SELECT {ITEM_COLUMNS}, a.* FROM access a \
                 JOIN decision_items i ON i.instance_id = $2 \
                 WHERE {filters} \
                 AND ($10::text IS NULL OR i.recommendation = $10) \
                 AND ($11::text IS NULL OR coalesce(i.apply_result, 'New') = $11) \
                 ORDER BY {order} LIMIT $7 OFFSET $8"
            )
        })
    })
});

static LOCATE: Variants = LazyLock::new(|| {
    Asks::BOTH.map(|asks| {
        let reviews = asks.reviews_in("rp.instance_id = x.id");
        format!(
            "SELECT d.created_by_id, {reviews} AS reviews, x.id IS NOT NULL AS instance_found, \
         EXISTS (SELECT 1 FROM access_review_stages s WHERE s.id = $4 \
                 AND s.instance_id = x.id) AS stage_found \
         FROM access_review_definitions d \
         LEFT JOIN access_review_instances x ON x.id = $2 AND x.definition_id = d.id \
         WHERE d.id = $1"
        )
    })
});

/// The path a read walks down to the object's parent, and whom it asks
/// about reviewing.
struct ReadPath {
    definition: DefinitionId,
    /// `None` at the definition's level.
    instance: Option<InstanceId>,
    /// The stage, when the object is a stage's decision item.
    stage: Option<StageId>,
    /// `None`: nobody is asked about.
    reviewer: Option<PrincipalId>,
}

impl ReadPath {
    /// The path's arguments: `$1` the definition, `$2` the instance (or
    /// `NULL`), `$3` the reviewer (or `NULL`); a list adds its own.
    fn args(&self) -> Result<PgArguments, RepositoryError> {
        let mut args = PgArguments::default();
        bind(&mut args, self.definition.as_uuid())?;
        bind(&mut args, self.instance.map(|i| i.as_uuid()))?;
        bind(&mut args, self.reviewer.map(|r| r.as_uuid()))?;
        Ok(args)
    }

    /// The statement of `variants` for this path's [`Asks`].
    fn variant(&self, variants: &'static [String; 2]) -> &'static str {
        Asks::of(self.reviewer, variants)
    }

    /// `sql` with the path bound: `$1` the definition, `$2` the instance
    /// (or `NULL`), `$3` the reviewer (or `NULL`).
    fn query<R>(&self, sql: &'static [String; 2]) -> QueryAs<'static, Postgres, R, PgArguments>
    where
        R: for<'r> FromRow<'r, PgRow>,
    {
        sqlx::query_as(sqlx::AssertSqlSafe(self.variant(sql)))
            .bind(self.definition.as_uuid())
            .bind(self.instance.map(|i| i.as_uuid()))
            .bind(self.reviewer.map(|r| r.as_uuid()))
    }
}

/// What [`PgRepository::locate`] found of a path that a read found empty.
enum PathEnd {
    /// The path exists down to the object's parent.
    Parent(Access),
    /// This object of the path does not exist.
    Missing(Missing),
}

type Read<R> = QueryAs<'static, Postgres, WithAccess<R>, PgArguments>;

impl PgRepository {
    /// The second statement of a read that found nothing: which object of
    /// the path is missing, or the parent's [`Access`] when the whole path
    /// exists.
    async fn locate(&self, path: &ReadPath) -> Result<PathEnd, RepositoryError> {
        let mut lease = self.lease().await.map_err(map_sqlx)?;
        let row: Option<(Uuid, bool, bool, bool)> = path
            .query(&LOCATE)
            .bind(path.stage.map(|s| s.as_uuid()))
            .fetch_optional(&mut *lease)
            .await
            .map_err(map_sqlx)?;
        lease.finished();
        let Some((created_by, reviews, instance_found, stage_found)) = row else {
            return Ok(PathEnd::Missing(Missing::Definition(path.definition)));
        };
        if let Some(instance) = path.instance.filter(|_| !instance_found) {
            return Ok(PathEnd::Missing(Missing::Instance(instance)));
        }
        if let Some(stage) = path.stage.filter(|_| !stage_found) {
            return Ok(PathEnd::Missing(Missing::Stage(stage)));
        }
        Ok(PathEnd::Parent(Access {
            created_by: PrincipalId::from_uuid(created_by),
            reviews,
        }))
    }

    /// One object: the row `read` finds, or what is missing (`object` when
    /// the path down to its parent exists).
    async fn one<R, T>(
        &self,
        read: Read<R>,
        path: &ReadPath,
        object: Missing,
        convert: impl Fn(R) -> Result<T, CorruptRow>,
    ) -> Result<Located<T>, RepositoryError>
    where
        R: for<'r> FromRow<'r, PgRow> + Send + Unpin,
    {
        let mut lease = self.lease().await.map_err(map_sqlx)?;
        let row = read.fetch_optional(&mut *lease).await.map_err(map_sqlx)?;
        lease.finished();
        if let Some(found) = row {
            return Ok(Ok((convert(found.row)?, found.access)));
        }
        Ok(Err(match self.locate(path).await? {
            PathEnd::Missing(missing) => missing,
            PathEnd::Parent(_) => object,
        }))
    }

    /// A page: the rows `sql` finds with `args`, or, when there are none,
    /// an empty page once the path is known to exist; with the whole
    /// collection's count when the page asks (a second statement).
    async fn page<R, T>(
        &self,
        sql: &'static str,
        args: PgArguments,
        page: PageRequest,
        path: &ReadPath,
        convert: impl Fn(R) -> Result<T, CorruptRow>,
    ) -> Result<Located<Page<T>>, RepositoryError>
    where
        R: for<'r> FromRow<'r, PgRow> + Send + Unpin,
    {
        let mut lease = self.lease().await.map_err(map_sqlx)?;
        let rows: Vec<WithAccess<R>> = sqlx::query_as_with(sqlx::AssertSqlSafe(sql), args.clone())
            .fetch_all(&mut *lease)
            .await
            .map_err(map_sqlx)?;
        lease.finished();
        let found = if let Some(access) = rows.first().map(|r| r.access) {
            let rows = rows.into_iter().map(|r| r.row).collect();
            (paged(rows, page, convert)?, access)
        } else {
            match self.locate(path).await? {
                PathEnd::Missing(missing) => return Ok(Err(missing)),
                PathEnd::Parent(access) => (Page::of(std::iter::empty(), page), access),
            }
        };
        let (mut items, access) = found;
        if page.count() {
            items.total = Some(total(self.pool(), sql, args).await?);
        }
        Ok(Ok((items, access)))
    }
}

#[async_trait]
impl ReviewReads for PgRepository {
    async fn contacted_reviewers(
        &self,
        instance: InstanceId,
    ) -> Result<Vec<ContactedReviewer>, RepositoryError> {
        #[derive(sqlx::FromRow)]
        struct ReviewerRow {
            id: Uuid,
            since: DateTime<Utc>,
            display_name: Option<String>,
            user_principal_name: Option<String>,
        }
        let rows: Vec<ReviewerRow> = sqlx::query_as(crate::rules::CONTACTED_REVIEWERS)
            .bind(instance.as_uuid())
            .fetch_all(self.pool())
            .await
            .map_err(map_sqlx)?;
        Ok(rows
            .into_iter()
            .map(|r| ContactedReviewer {
                id: PrincipalId::from_uuid(r.id),
                display_name: r.display_name,
                user_principal_name: r.user_principal_name,
                since: r.since,
            })
            .collect())
    }

    async fn definition(
        &self,
        id: DefinitionId,
        reviewer: Option<PrincipalId>,
    ) -> Result<Located<Definition>, RepositoryError> {
        let path = ReadPath {
            definition: id,
            instance: None,
            stage: None,
            reviewer,
        };
        let read = path.query::<WithAccess<DefinitionRow>>(&DEFINITION);
        self.one(read, &path, Missing::Definition(id), Definition::try_from)
            .await
    }

    async fn instance(
        &self,
        definition_id: DefinitionId,
        instance_id: InstanceId,
        reviewer: Option<PrincipalId>,
    ) -> Result<Located<Instance>, RepositoryError> {
        let path = ReadPath {
            definition: definition_id,
            instance: Some(instance_id),
            stage: None,
            reviewer,
        };
        let read = path.query::<WithAccess<InstanceRow>>(&INSTANCE);
        let missing = Missing::Instance(instance_id);
        self.one(read, &path, missing, Instance::try_from).await
    }

    async fn stage(
        &self,
        definition_id: DefinitionId,
        instance_id: InstanceId,
        stage_id: StageId,
        reviewer: Option<PrincipalId>,
    ) -> Result<Located<Stage>, RepositoryError> {
        let path = ReadPath {
            definition: definition_id,
            instance: Some(instance_id),
            stage: None,
            reviewer,
        };
        let read = path
            .query::<WithAccess<StageRow>>(&STAGE)
            .bind(stage_id.as_uuid());
        self.one(read, &path, Missing::Stage(stage_id), Stage::try_from)
            .await
    }

    async fn item(
        &self,
        definition_id: DefinitionId,
        instance_id: InstanceId,
        stage_id: Option<StageId>,
        item_id: DecisionItemId,
        reviewer: Option<PrincipalId>,
    ) -> Result<Located<DecisionItem>, RepositoryError> {
        let path = ReadPath {
            definition: definition_id,
            instance: Some(instance_id),
            stage: stage_id,
            reviewer,
        };
        let read = path
            .query::<WithAccess<ItemRow>>(&ITEM[usize::from(stage_id.is_some())])
            .bind(item_id.as_uuid())
            .bind(stage_id.map(|s| s.as_uuid()));
        let missing = Missing::DecisionItem(item_id);
        self.one(read, &path, missing, DecisionItem::try_from).await
    }

    async fn instances(
        &self,
        definition_id: DefinitionId,
        query: ListQuery,
        mine: Option<PrincipalId>,
        reviewer: Option<PrincipalId>,
    ) -> Result<Located<Page<Instance>>, RepositoryError> {
        let path = ReadPath {
            definition: definition_id,
            instance: None,
            stage: None,
            reviewer,
        };
        let (limit, offset) = limits(query.page);
        let mut args = path.args()?;
        bind(&mut args, query.status.map(ReviewStatus::as_str))?;
        bind(&mut args, mine.map(|m| m.as_uuid()))?;
        bind(&mut args, limit)?;
        bind(&mut args, offset)?;
        self.page::<InstanceRow, _>(
            path.variant(&INSTANCES),
            args,
            query.page,
            &path,
            Instance::try_from,
        )
        .await
    }

    async fn stages(
        &self,
        definition_id: DefinitionId,
        instance_id: InstanceId,
        query: ListQuery,
        mine: Option<PrincipalId>,
        reviewer: Option<PrincipalId>,
    ) -> Result<Located<Page<Stage>>, RepositoryError> {
        let path = ReadPath {
            definition: definition_id,
            instance: Some(instance_id),
            stage: None,
            reviewer,
        };
        let (limit, offset) = limits(query.page);
        let mut args = path.args()?;
        bind(&mut args, query.status.map(ReviewStatus::as_str))?;
        bind(&mut args, mine.map(|m| m.as_uuid()))?;
        bind(&mut args, limit)?;
        bind(&mut args, offset)?;
        self.page::<StageRow, _>(
            path.variant(&STAGES),
            args,
            query.page,
            &path,
            Stage::try_from,
        )
        .await
    }

    async fn items(
        &self,
        definition_id: DefinitionId,
        instance_id: InstanceId,
        stage_id: Option<StageId>,
        query: DecisionQuery,
        reviewer: Option<PrincipalId>,
    ) -> Result<Located<Page<DecisionItem>>, RepositoryError> {
        let path = ReadPath {
            definition: definition_id,
            instance: Some(instance_id),
            stage: stage_id,
            reviewer,
        };
        let (limit, offset) = limits(query.page);
        let mut args = path.args()?;
        bind(&mut args, stage_id.map(|s| s.as_uuid()))?;
        bind(&mut args, query.decision.map(Decision::as_str))?;
        bind(&mut args, query.reviewer.map(|r| r.as_uuid()))?;
        bind(&mut args, limit)?;
        bind(&mut args, offset)?;
        bind(&mut args, Decision::NotReviewed.as_str())?;
        bind(&mut args, query.recommendation.map(Recommendation::as_str))?;
        bind(&mut args, query.apply_result.map(ApplyResult::as_str))?;
        let sql = path.variant(match query.order {
            None => &ITEMS[0],
            Some(order) if !order.descending => &ITEMS[1],
            Some(_) => &ITEMS[2],
        });
        self.page::<ItemRow, _>(sql, args, query.page, &path, DecisionItem::try_from)
            .await
    }
}
