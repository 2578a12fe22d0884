use std::sync::Arc;

use crate::actor::Actor;
use crate::decision::{DecisionItem, ReviewerRules};
use crate::definition::{Creator, Definition, NewDefinition};
use crate::ids::InstanceId;
use crate::ids::{DefinitionId, PrincipalId};
use crate::instance::Instance;
use crate::ports::{
    Clock, DefinitionRepository, DirectoryRepository, RepositoryError, StartedReview,
};
use crate::queries::ReviewerQuery;
use crate::schedule::{Schedule, Start};
use crate::stage::Stage;
use crate::status::ReviewStatus;
use crate::use_cases::reviewers::{ResolveError, ScopeError, resolve_items, resolve_rules};
use crate::use_cases::{Missing, Ports};
use chrono::{DateTime, Utc};

/// Creates a definition. When its start date has come (or it has none) its
/// first instance starts at once: its decision items (one per user in the
/// scope) and its first stage; otherwise it waits, `NotStarted`, for the
/// scheduler.
pub struct CreateDefinition {
    definitions: Arc<dyn DefinitionRepository>,
    directory: Arc<dyn DirectoryRepository>,
    clock: Arc<dyn Clock>,
}

/// Which reviewer list entry: of the definition (`stage` is `None`) or of a
/// stage (its index in `stageSettings`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReviewerField {
    /// The stage's index in `stageSettings`, or `None` for the definition.
    pub stage: Option<usize>,
    /// `fallbackReviewers` rather than `reviewers`.
    pub fallback: bool,
    /// The entry's index in its list.
    pub index: usize,
}

/// Why a definition was not created.
#[derive(Debug, thiserror::Error)]
pub enum CreateDefinitionError {
    /// The caller holds no role that may create access reviews.
    #[error("the caller may not create access reviews")]
    Forbidden,
    /// An instance lasts longer than one period of the recurrence (Graph:
    /// the stages' total "can't exceed the length of one recurrence").
    #[error("an instance of {days} days does not fit in a recurrence period of {period_days} days")]
    InstanceLongerThanPeriod {
        /// How long an instance lasts.
        days: i64,
        /// The shortest period.
        period_days: i64,
        /// Whether the length is the stages' total.
        staged: bool,
    },
    /// The scope's query is not one the service can resolve.
    #[error("the scope query is not supported")]
    ScopeNotSupported,
    /// The scope names a group that does not exist.
    #[error("the scope names an unknown group")]
    ScopeGroupNotFound(PrincipalId),
    /// A reviewer query is not one the service can resolve.
    #[error("a reviewer query is not supported")]
    ReviewerNotSupported(ReviewerField),
    /// A reviewer query names a user or group that does not exist.
    #[error("a reviewer query names an unknown user or group")]
    ReviewerNotFound(ReviewerField),
    /// An update names a definition that does not exist.
    #[error("{0} not found")]
    NotFound(Missing),
    /// An update changes a property that is fixed once the definition is
    /// created.
    #[error("{0:?} cannot be changed")]
    Fixed(FixedProperty),
    /// An update changes the reviewers, but they are not (or would not be)
    /// individual users: Graph updates reviewers "only if individual users
    /// are assigned as reviewers".
    #[error("reviewers change only between individual users")]
    ReviewersNotIndividualUsers,
    /// The store failed.
    #[error(transparent)]
    Repository(#[from] RepositoryError),
}

/// A property of a definition that a `PUT` may not change. Graph's update
/// page leaves `scope` and `instanceEnumerationScope` out of what may
/// change; a new recurrence would re-plan a series under way, which this
/// service refuses rather than guess.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FixedProperty {
    /// `scope`.
    Scope,
    /// `instanceEnumerationScope`.
    InstanceEnumerationScope,
    /// `settings.recurrence`.
    Recurrence,
}

fn reviewer_error(stage: Option<usize>, error: ResolveError) -> CreateDefinitionError {
    match error {
        ResolveError::Unsupported { fallback, index } => {
            CreateDefinitionError::ReviewerNotSupported(ReviewerField {
                stage,
                fallback,
                index,
            })
        }
        ResolveError::NotFound { fallback, index } => {
            CreateDefinitionError::ReviewerNotFound(ReviewerField {
                stage,
                fallback,
                index,
            })
        }
        ResolveError::Repository(e) => e.into(),
    }
}

impl CreateDefinition {
    /// Wires the use case.
    pub fn new(ports: &Ports) -> Self {
        Self {
            definitions: ports.definitions.clone(),
            directory: ports.directory.clone(),
            clock: ports.clock.clone(),
        }
    }

    /// Creates the definition; returns it with its first instance, if that
    /// started.
    ///
    /// Every reviewer scope and the review scope are resolved now, so that a
    /// review cannot fail later on a query the service does not understand;
    /// the first phase's reviewers are kept, later stages (and later
    /// instances) resolve theirs when they start.
    ///
    /// # Errors
    /// See [`CreateDefinitionError`].
    pub async fn execute(
        &self,
        actor: &Actor,
        mut spec: NewDefinition,
    ) -> Result<Created, CreateDefinitionError> {
        if !actor.may_create() {
            return Err(CreateDefinitionError::Forbidden);
        }
        let now = self.clock.now().await?;
        let today = now.date_naive();
        if let Some(recurrence) = &mut spec.settings.recurrence {
            recurrence.range.start_date.get_or_insert(today);
        }
        fits_its_period(&spec, today)?;
        let (instance_level, stage_rules) = self.resolve_reviewers(&spec).await?;
        let directory = &*self.directory;
        let items = resolve_items(directory, &spec.scope, InstanceId::new_random())
            .await
            .map_err(|e| match e {
                ScopeError::Unsupported => CreateDefinitionError::ScopeNotSupported,
                ScopeError::GroupNotFound(group) => {
                    CreateDefinitionError::ScopeGroupNotFound(group)
                }
                ScopeError::Repository(e) => e.into(),
            })?;

        let start = spec.settings.recurrence.as_ref().map_or(
            Start::Now {
                at: now,
                next: None,
            },
            |r| r.first(today, now),
        );
        let (status, next_start, instances_started) = match start {
            Start::Later(at) => (ReviewStatus::NotStarted, Some(at), 0),
            Start::Now { next, .. } => (ReviewStatus::InProgress, next, 1),
            // Only when date arithmetic overflows: the review runs once.
            Start::Over => (ReviewStatus::InProgress, None, 1),
        };
        let schedule = Schedule {
            next_start,
            instances_started,
        };
        let definition = Definition {
            id: DefinitionId::new_random(),
            created_by: self.creator(actor).await?,
            created_date_time: now,
            last_modified_date_time: now,
            status,
            schedule,
            spec,
        };
        if status == ReviewStatus::NotStarted {
            self.definitions.create_scheduled(&definition).await?;
            return Ok(Created::Scheduled(Box::new(definition)));
        }
        let first_reviewers = stage_rules.into_iter().next().unwrap_or(instance_level);
        let review = start_review(definition, now, items, first_reviewers);
        self.definitions.create(&review).await?;
        Ok(Created::Started(Box::new(review)))
    }
}

impl CreateDefinition {
    /// `PUT …/definitions/{id}`: replaces what Graph lets change (names,
    /// descriptions, reviewers, settings, stage settings). Instances
    /// already started keep running on the settings they started with;
    /// the change applies to instances (and their stages) started after
    /// it. Returns the definition as now stored. `stages_sent`: whether
    /// the body named `stageSettings`; when it did not, they stay as they
    /// are (Graph's update page does not list them among what changes).
    ///
    /// # Errors
    /// [`CreateDefinitionError::Fixed`] for a changed scope, enumeration
    /// scope or recurrence; [`CreateDefinitionError::ReviewersNotIndividualUsers`];
    /// the create's checks of reviewers and durations; `NotFound`, also
    /// when a concurrent delete won.
    pub async fn update(
        &self,
        actor: &Actor,
        id: DefinitionId,
        mut spec: NewDefinition,
        stages_sent: bool,
    ) -> Result<Definition, CreateDefinitionError> {
        let current = self
            .definitions
            .get(id)
            .await?
            .ok_or(CreateDefinitionError::NotFound(Missing::Definition(id)))?;
        if !actor.may_write(&current) {
            return Err(CreateDefinitionError::Forbidden);
        }
        let was = &current.spec;
        if !stages_sent {
            spec.stage_plan.clone_from(&was.stage_plan);
            spec.annotations.stages.clone_from(&was.annotations.stages);
        }
        if spec.scope != was.scope {
            return Err(CreateDefinitionError::Fixed(FixedProperty::Scope));
        }
        // A full object is expected, but leaving out what cannot change
        // changes nothing.
        let enumeration = &mut spec.annotations.instance_enumeration_scope;
        if enumeration.is_none() {
            enumeration.clone_from(&was.annotations.instance_enumeration_scope);
        }
        if *enumeration != was.annotations.instance_enumeration_scope {
            return Err(CreateDefinitionError::Fixed(
                FixedProperty::InstanceEnumerationScope,
            ));
        }
        if let (Some(new), Some(old)) = (&mut spec.settings.recurrence, &was.settings.recurrence)
            && new.range.start_date.is_none()
        {
            new.range.start_date = old.range.start_date;
        }
        if spec.settings.recurrence != was.settings.recurrence {
            return Err(CreateDefinitionError::Fixed(FixedProperty::Recurrence));
        }
        if spec.reviewers != was.reviewers
            && !(individual_users(&was.reviewers) && individual_users(&spec.reviewers))
        {
            return Err(CreateDefinitionError::ReviewersNotIndividualUsers);
        }
        fits_its_period(&spec, current.created_date_time.date_naive())?;
        self.resolve_reviewers(&spec).await?;
        let now = self.clock.now().await?;
        let updated = Definition {
            spec,
            last_modified_date_time: now,
            ..current
        };
        if self.definitions.update(&updated).await? {
            Ok(updated)
        } else {
            Err(CreateDefinitionError::NotFound(Missing::Definition(id)))
        }
    }

    /// Resolves every reviewer list of `spec`, so that a review cannot
    /// fail later on a query the service does not understand: the
    /// definition's rules, then each stage's.
    async fn resolve_reviewers(
        &self,
        spec: &NewDefinition,
    ) -> Result<(ReviewerRules, Vec<ReviewerRules>), CreateDefinitionError> {
        let directory = &*self.directory;
        let instance_level = resolve_rules(directory, &spec.reviewers, &spec.fallback_reviewers)
            .await
            .map_err(|e| reviewer_error(None, e))?;
        let mut stage_rules = Vec::new();
        for (index, stage) in spec.stage_plan.stages().iter().enumerate() {
            stage_rules.push(
                resolve_rules(directory, &stage.reviewers, &stage.fallback_reviewers)
                    .await
                    .map_err(|e| reviewer_error(Some(index), e))?,
            );
        }
        Ok((instance_level, stage_rules))
    }

    /// How the caller appears as `createdBy`: with its names from the
    /// directory when it is a user there, else from its token.
    async fn creator(&self, actor: &Actor) -> Result<Creator, RepositoryError> {
        let mut creator = actor.as_creator();
        if let Actor::User { id, .. } = actor
            && let Some(user) = self.directory.user(*id).await?
        {
            creator.display_name = Some(user.display_name);
            creator.user_principal_name = Some(user.user_principal_name);
        }
        Ok(creator)
    }
}

/// An instance must fit in one period of the recurrence (Graph: the
/// stages' total "can't exceed the length of one recurrence").
fn fits_its_period(
    spec: &NewDefinition,
    from: chrono::NaiveDate,
) -> Result<(), CreateDefinitionError> {
    let staged = !spec.stage_plan.is_empty();
    let days = spec
        .stage_plan
        .total_days()
        .unwrap_or_else(|| i64::from(spec.settings.instance_duration_in_days.days()));
    match spec
        .settings
        .recurrence
        .as_ref()
        .and_then(|r| r.shortest_period_days(from))
        .filter(|period| days > *period)
    {
        Some(period_days) => Err(CreateDefinitionError::InstanceLongerThanPeriod {
            days,
            period_days,
            staged,
        }),
        None => Ok(()),
    }
}

/// Whether every reviewer is one user named by id (none is allowed: the
/// review is then a self-review).
fn individual_users(reviewers: &[crate::definition::QueryScope]) -> bool {
    reviewers
        .iter()
        .all(|r| matches!(ReviewerQuery::parse(r), Ok(ReviewerQuery::User(_))))
}

/// A definition as created.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Created {
    /// Its first instance started at once.
    Started(Box<StartedReview>),
    /// It is `NotStarted`; its first instance starts at
    /// `schedule.next_start`.
    Scheduled(Box<Definition>),
}

impl Created {
    /// The definition.
    pub fn definition(&self) -> &Definition {
        match self {
            Self::Started(review) => &review.definition,
            Self::Scheduled(definition) => definition,
        }
    }

    /// The definition with its first instance, if that started.
    pub fn started(self) -> Option<StartedReview> {
        match self {
            Self::Started(review) => Some(*review),
            Self::Scheduled(_) => None,
        }
    }
}

/// An instance of `definition` starting `at`: its items (made for another
/// instance id, they are moved to this one), its first stage, the first
/// phase's reviewers.
pub(crate) fn start_review(
    definition: Definition,
    at: DateTime<Utc>,
    items: Vec<DecisionItem>,
    first_reviewers: ReviewerRules,
) -> StartedReview {
    let instance = Instance::start(
        definition.id,
        definition.spec.scope.clone(),
        definition.spec.reviewers.clone(),
        definition.spec.fallback_reviewers.clone(),
        at,
        definition.instance_duration(),
    );
    let items = items
        .into_iter()
        .map(|mut item| {
            item.instance_id = instance.id;
            item
        })
        .collect();
    let first_stage = definition
        .spec
        .stage_plan
        .stages()
        .first()
        .map(|settings| Stage::start(instance.id, settings, at));
    StartedReview {
        definition,
        instance,
        first_stage,
        items,
        first_reviewers,
    }
}
