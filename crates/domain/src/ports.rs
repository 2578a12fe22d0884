//! The ports: what the domain needs from the outside world. Adapters
//! implement them; use cases hold them as `Arc<dyn …>`.

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use uuid::Uuid;

use crate::decision::{Decision, DecisionItem, Identity, Review, ReviewerRules};
use crate::definition::Definition;
use crate::directory::{DirectoryObject, DirectorySnapshot, Group, Relation, User};
use crate::ids::{DecisionItemId, DefinitionId, InstanceId, PrincipalId, StageId};
use crate::instance::Instance;
use crate::lifecycle::{ActionAudit, EndTransition};
use crate::queries::MembershipQuery;
use crate::query::{ListQuery, Page, PageRequest};
use crate::stage::Stage;
use crate::stop::StopTransition;

/// An infrastructure failure, opaque to the domain.
pub type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// Why a repository call failed. The cause is kept for logs and never shown
/// to clients.
#[derive(Debug, thiserror::Error)]
pub enum RepositoryError {
    /// The store cannot be reached or has no free connection; worth a retry.
    #[error("the store is unavailable")]
    Unavailable(#[source] BoxError),
    /// Anything else: a bug, corrupt data, a constraint that should hold.
    #[error("the store failed")]
    Failed(#[source] BoxError),
}

/// The object of a request that does not exist (or not under the parent the
/// path names).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Missing {
    /// The definition.
    Definition(DefinitionId),
    /// The instance, under its definition.
    Instance(InstanceId),
    /// The stage, under its instance.
    Stage(StageId),
    /// The decision item, under its instance or stage.
    DecisionItem(DecisionItemId),
    /// The user.
    User(PrincipalId),
    /// The group.
    Group(PrincipalId),
    /// The user or group.
    DirectoryObject(PrincipalId),
    /// The user's manager (the user has none).
    Manager(PrincipalId),
}

impl std::fmt::Display for Missing {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Definition(id) => write!(f, "access review definition {id}"),
            Self::Instance(id) => write!(f, "access review instance {id}"),
            Self::Stage(id) => write!(f, "access review stage {id}"),
            Self::DecisionItem(id) => write!(f, "decision item {id}"),
            Self::User(id) => write!(f, "user {id}"),
            Self::Group(id) => write!(f, "group {id}"),
            Self::DirectoryObject(id) => write!(f, "directory object {id}"),
            Self::Manager(id) => write!(f, "manager of user {id}"),
        }
    }
}

/// Where decisions are recorded: a stage of a multi-stage review, or the
/// instance itself when the review has no stages.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Phase {
    /// A stage.
    Stage(StageId),
    /// An instance without stages.
    Instance(InstanceId),
}

impl Phase {
    /// The id of the stage or instance.
    pub fn id(self) -> Uuid {
        match self {
            Self::Stage(id) => id.as_uuid(),
            Self::Instance(id) => id.as_uuid(),
        }
    }
}

/// A definition as created: its first instance, that instance's decision
/// items, and its first stage when the definition has stage settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StartedReview {
    /// The definition.
    pub definition: Definition,
    /// Its first instance, started at creation.
    pub instance: Instance,
    /// The instance's first stage, if the definition has stages.
    pub first_stage: Option<Stage>,
    /// One item per principal of the scope; all enter the first phase.
    pub items: Vec<DecisionItem>,
    /// Who reviews in the first phase (the first stage, or the instance).
    pub first_reviewers: ReviewerRules,
}

impl StartedReview {
    /// The phase the items start in.
    pub fn first_phase(&self) -> Phase {
        self.first_stage
            .as_ref()
            .map_or(Phase::Instance(self.instance.id), |s| Phase::Stage(s.id))
    }
}

/// What a stop plans from ([`StageRepository::stop_context`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StopContext {
    /// The definition.
    pub definition: Definition,
    /// The instance.
    pub instance: Instance,
    /// Its stages, in the order they were created.
    pub stages: Vec<Stage>,
    /// The directory as the definition's stage reviewers name it; may
    /// answer for nothing, in which case the directory is asked.
    pub reviewers: DirectorySnapshot,
}

/// What the rights on a review depend on, read with the object asked for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Access {
    /// Who created the definition.
    pub created_by: PrincipalId,
    /// Whether the reviewer asked about reviews an item of the instance (of
    /// any instance, for a definition); false when nobody was asked about.
    pub reviews: bool,
}

/// An object read along its path with its [`Access`], or the first object
/// of the path that does not exist.
pub type Located<T> = Result<(T, Access), Missing>;

/// Reads along a review's path in one trip to the store: each checks the
/// whole path (definition, instance, stage or item) and loads the
/// [`Access`] with the object. `reviewer`: the caller, when its rights may
/// depend on reviewing; `None` skips that check. Only when nothing is
/// found may a second trip tell what is missing.
#[async_trait]
pub trait ReviewReads: Send + Sync {
    /// Everyone who reviews an item of the instance in any of its phases,
    /// each once, since the start of the first such phase
    /// ([`ReviewerRules::reviewers_of`]); read after the instance itself.
    async fn contacted_reviewers(
        &self,
        instance: InstanceId,
    ) -> Result<Vec<crate::decision::ContactedReviewer>, RepositoryError>;

    /// A definition.
    async fn definition(
        &self,
        id: DefinitionId,
        reviewer: Option<PrincipalId>,
    ) -> Result<Located<Definition>, RepositoryError>;

    /// An instance of a definition.
    async fn instance(
        &self,
        definition_id: DefinitionId,
        instance_id: InstanceId,
        reviewer: Option<PrincipalId>,
    ) -> Result<Located<Instance>, RepositoryError>;

    /// A stage of an instance.
    async fn stage(
        &self,
        definition_id: DefinitionId,
        instance_id: InstanceId,
        stage_id: StageId,
        reviewer: Option<PrincipalId>,
    ) -> Result<Located<Stage>, RepositoryError>;

    /// A decision item of an instance, or of one of its stages.
    async fn item(
        &self,
        definition_id: DefinitionId,
        instance_id: InstanceId,
        stage_id: Option<StageId>,
        item_id: DecisionItemId,
        reviewer: Option<PrincipalId>,
    ) -> Result<Located<DecisionItem>, RepositoryError>;

    /// A page of a definition's instances; with `mine`, those in which the
    /// caller reviews.
    async fn instances(
        &self,
        definition_id: DefinitionId,
        query: ListQuery,
        mine: Option<PrincipalId>,
        reviewer: Option<PrincipalId>,
    ) -> Result<Located<Page<Instance>>, RepositoryError>;

    /// A page of an instance's stages; with `mine`, those in which the
    /// caller reviews.
    async fn stages(
        &self,
        definition_id: DefinitionId,
        instance_id: InstanceId,
        query: ListQuery,
        mine: Option<PrincipalId>,
        reviewer: Option<PrincipalId>,
    ) -> Result<Located<Page<Stage>>, RepositoryError>;

    /// A page of an instance's decision items, or of one stage's, oldest
    /// first.
    ///
    /// # Errors
    /// With [`DecisionQuery::reviewer`], MUST apply [`ReviewerRules::reviews`]
    /// exactly.
    async fn items(
        &self,
        definition_id: DefinitionId,
        instance_id: InstanceId,
        stage_id: Option<StageId>,
        query: DecisionQuery,
        reviewer: Option<PrincipalId>,
    ) -> Result<Located<Page<DecisionItem>>, RepositoryError>;
}

/// How a committed stop ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StopOutcome {
    /// Every change of the transition was written.
    Committed,
    /// The stage was no longer `InProgress` when the write was attempted (a
    /// concurrent stop won); nothing was written.
    StageNoLongerInProgress,
}

/// Stores definitions.
#[async_trait]
pub trait DefinitionRepository: Send + Sync {
    /// Stores a new definition with its first instance and stage.
    ///
    /// # Errors
    /// MUST write all of it or nothing.
    async fn create(&self, review: &StartedReview) -> Result<(), RepositoryError>;

    /// Stores a new definition whose first instance starts later
    /// (`NotStarted`, its schedule's `next_start` set).
    async fn create_scheduled(&self, definition: &Definition) -> Result<(), RepositoryError>;

    /// The definition with this id, if any.
    async fn get(&self, id: DefinitionId) -> Result<Option<Definition>, RepositoryError>;

    /// The definition as its instance `instance` runs it: with the
    /// settings, reviewers and stage settings it had when that instance
    /// started, whatever [`Self::update`] changed since. The definition as
    /// it is when the instance does not exist under it.
    async fn get_for_instance(
        &self,
        id: DefinitionId,
        instance: InstanceId,
    ) -> Result<Option<Definition>, RepositoryError>;

    /// Replaces the definition's spec and `lastModifiedDateTime`. Its
    /// instances not yet `Completed` keep running on the spec they
    /// started with ([`Self::get_for_instance`]), all in one write; false
    /// when the definition is gone.
    async fn update(&self, definition: &Definition) -> Result<bool, RepositoryError>;

    /// Deletes the definition and everything below it (instances, stages,
    /// decision items and their history), all or nothing; the audit
    /// records stay. False when it was gone already.
    async fn delete(&self, id: DefinitionId) -> Result<bool, RepositoryError>;

    /// A page of definitions, oldest first; only those created by
    /// `created_by` when it is given.
    async fn list(
        &self,
        query: ListQuery,
        created_by: Option<PrincipalId>,
    ) -> Result<Page<Definition>, RepositoryError>;

    /// A page of the definitions in any of whose instances `who` reviews
    /// an item ([`ReviewerRules::reviews`]), oldest first.
    async fn list_reviewed_by(
        &self,
        who: PrincipalId,
        query: ListQuery,
    ) -> Result<Page<Definition>, RepositoryError>;
}

/// Stores instances.
#[async_trait]
pub trait InstanceRepository: Send + Sync {
    /// Replaces the reviewers of instance `instance.id` (its scopes, from
    /// `instance`) and, for an instance without stages, the rules of its
    /// phase (`rules`), all or nothing, under its lock; `false`, writing
    /// nothing, when it is no longer `InProgress`.
    async fn update_reviewers(
        &self,
        instance: &Instance,
        rules: Option<&ReviewerRules>,
    ) -> Result<bool, RepositoryError>;

    /// The instance, if it exists under that definition.
    async fn get(
        &self,
        definition_id: DefinitionId,
        instance_id: InstanceId,
    ) -> Result<Option<Instance>, RepositoryError>;

    /// A page of the definition's instances, oldest first.
    async fn list(
        &self,
        definition_id: DefinitionId,
        query: ListQuery,
    ) -> Result<Page<Instance>, RepositoryError>;
}

/// Stores stages, and commits stops.
#[async_trait]
pub trait StageRepository: Send + Sync {
    /// The stage, if it exists under that instance.
    async fn get(
        &self,
        instance_id: InstanceId,
        stage_id: StageId,
    ) -> Result<Option<Stage>, RepositoryError>;

    /// Every stage the instance has, in the order they were created.
    async fn all(&self, instance_id: InstanceId) -> Result<Vec<Stage>, RepositoryError>;

    /// What a stop plans from, read at once: the definition, the instance,
    /// its stages, and the directory objects its stage reviewers name.
    async fn stop_context(
        &self,
        definition_id: DefinitionId,
        instance_id: InstanceId,
    ) -> Result<Result<StopContext, Missing>, RepositoryError>;

    /// Replaces the reviewers of stage `stage.id` (its scopes, from
    /// `stage`) and the rules of its phase, all or nothing, under its
    /// instance's lock; `false`, writing nothing, when the stage is no
    /// longer `InProgress`.
    async fn update_reviewers(
        &self,
        stage: &Stage,
        rules: &ReviewerRules,
    ) -> Result<bool, RepositoryError>;

    /// Writes a planned stop: the stopped stage, the created stage and its
    /// carry-over, the instance and definition status, the audit record,
    /// and the request's record when the transition carries one.
    ///
    /// # Errors
    /// MUST write all of it or nothing. MUST return
    /// [`StopOutcome::StageNoLongerInProgress`], writing nothing, when the
    /// stage is not `InProgress` in the store at the time of the write, so
    /// that of concurrent stops exactly one commits.
    async fn commit_stop(
        &self,
        transition: &StopTransition,
    ) -> Result<StopOutcome, RepositoryError>;
}

/// What a directory write found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Added {
    /// Written.
    Added,
    /// It was there already; nothing written.
    AlreadyPresent,
}

/// Stores users and groups.
#[async_trait]
pub trait DirectoryRepository: Send + Sync {
    /// Stores a user.
    ///
    /// # Errors
    /// MUST return [`Added::AlreadyPresent`], writing nothing, when a user
    /// with the same user principal name (case-insensitively) exists.
    async fn create_user(&self, user: &User) -> Result<Added, RepositoryError>;

    /// The user, if any.
    async fn user(&self, id: PrincipalId) -> Result<Option<User>, RepositoryError>;

    /// A page of users, oldest first.
    async fn users(&self, page: PageRequest) -> Result<Page<User>, RepositoryError>;

    /// Stores a group.
    async fn create_group(&self, group: &Group) -> Result<(), RepositoryError>;

    /// The group, if any.
    async fn group(&self, id: PrincipalId) -> Result<Option<Group>, RepositoryError>;

    /// A page of groups, oldest first.
    async fn groups(&self, page: PageRequest) -> Result<Page<Group>, RepositoryError>;

    /// The user or group with this id, if any.
    async fn object(&self, id: PrincipalId) -> Result<Option<DirectoryObject>, RepositoryError>;

    /// Adds `object` (which exists) to the group's members or owners.
    async fn add(
        &self,
        group: PrincipalId,
        relation: Relation,
        object: PrincipalId,
    ) -> Result<Added, RepositoryError>;

    /// Removes a member; false when it was not one.
    async fn remove_member(
        &self,
        group: PrincipalId,
        member: PrincipalId,
    ) -> Result<bool, RepositoryError>;

    /// A page of the group's direct members or owners, in the order added.
    async fn related(
        &self,
        group: PrincipalId,
        relation: Relation,
        page: PageRequest,
    ) -> Result<Page<DirectoryObject>, RepositoryError>;

    /// A page of every member of the group and of the groups nested in it,
    /// each once; cycles end the walk.
    async fn transitive_members(
        &self,
        group: PrincipalId,
        page: PageRequest,
    ) -> Result<Page<DirectoryObject>, RepositoryError>;

    /// All users a membership query names (direct or transitive), each once,
    /// in a stable order.
    async fn member_users(&self, query: MembershipQuery) -> Result<Vec<User>, RepositoryError>;

    /// All users that own the group.
    async fn owner_users(&self, group: PrincipalId) -> Result<Vec<User>, RepositoryError>;

    /// Sets the user's manager (both exist).
    async fn set_manager(
        &self,
        user: PrincipalId,
        manager: PrincipalId,
    ) -> Result<(), RepositoryError>;

    /// The user's manager, if any.
    async fn manager(&self, user: PrincipalId) -> Result<Option<User>, RepositoryError>;
}

/// An item as it entered a phase, with the principal's manager as resolved
/// then (for `./manager` reviewers).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PhaseItem {
    /// The item, showing its latest decision.
    pub item: DecisionItem,
    /// The principal's manager when the item entered the phase.
    pub manager: Option<PrincipalId>,
}

/// What a decision list asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct DecisionQuery {
    /// Only items whose latest decision is this.
    pub decision: Option<Decision>,
    /// Only items with this recommendation.
    pub recommendation: Option<crate::decision::Recommendation>,
    /// Only items whose `applyResult` is this (`New` until applied).
    pub apply_result: Option<crate::decision::ApplyResult>,
    /// `$orderby=reviewedDateTime [desc]`; creation order when `None`.
    pub order: Option<crate::query::Order>,
    /// Only items this person reviews (in the listed phase, or in any phase
    /// of the instance).
    pub reviewer: Option<PrincipalId>,
    /// Which page.
    pub page: PageRequest,
}

/// How a decision write ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RecordOutcome {
    /// Written.
    Recorded,
    /// The phase was not `InProgress` when the write was attempted (a stop
    /// committed first); nothing was written.
    NotInProgress,
}

/// Stores decision items and the decisions recorded on them.
#[async_trait]
pub trait DecisionRepository: Send + Sync {
    /// Who reviews in this phase; `None` if the phase does not exist.
    async fn rules(&self, phase: Phase) -> Result<Option<ReviewerRules>, RepositoryError>;

    /// The item in the phase, if it entered that phase.
    async fn phase_item(
        &self,
        phase: Phase,
        item: DecisionItemId,
    ) -> Result<Option<PhaseItem>, RepositoryError>;

    /// Every item that entered the phase.
    async fn phase_items(&self, phase: Phase) -> Result<Vec<PhaseItem>, RepositoryError>;

    /// The instance's item, if any.
    async fn item(
        &self,
        instance: InstanceId,
        item: DecisionItemId,
    ) -> Result<Option<DecisionItem>, RepositoryError>;

    /// Of `items` in `phase`, those still `NotReviewed` whose
    /// recommendation is a decision take it ([`Recommendation::as_decision`]),
    /// by `review`'s reviewer, time and justification, with their history,
    /// all in one transaction; the same guard as [`Self::record`].
    ///
    /// [`Recommendation::as_decision`]: crate::decision::Recommendation::as_decision
    async fn accept_recommendations(
        &self,
        phase: Phase,
        items: &[DecisionItemId],
        review: &Review,
    ) -> Result<RecordOutcome, RepositoryError>;

    /// Records `review` on each item in the phase: kept in the history of
    /// the phase and shown as the items' latest decision.
    ///
    /// # Errors
    /// MUST write nothing and return [`RecordOutcome::NotInProgress`] when
    /// the phase is not `InProgress` at the time of the write, and MUST
    /// serialise with [`StageRepository::commit_stop`], so that a decision
    /// is either committed before a stop (and carried over by it) or refused.
    async fn record(
        &self,
        phase: Phase,
        items: &[DecisionItemId],
        review: &Review,
    ) -> Result<RecordOutcome, RepositoryError>;

    /// Clears the latest decision of every item of the instance (the
    /// history stays).
    ///
    /// # Errors
    /// MUST write nothing and return [`RecordOutcome::NotInProgress`] when
    /// the instance is not `InProgress` at the time of the write.
    async fn reset(&self, instance: InstanceId) -> Result<RecordOutcome, RepositoryError>;
}

/// The time. A port so that tests, and people testing their automation
/// against this service, control it.
#[async_trait]
pub trait Clock: Send + Sync {
    /// Now, in UTC, at the precision the store keeps.
    ///
    /// # Errors
    /// When the time lives in the store (a test clock) and it fails.
    async fn now(&self) -> Result<DateTime<Utc>, RepositoryError>;
}

/// Moves a test clock forward, for every replica at once.
#[async_trait]
pub trait ClockControl: Send + Sync {
    /// Moves the clock forward by `by` (positive) and returns the new now.
    async fn advance(&self, by: chrono::Duration) -> Result<DateTime<Utc>, RepositoryError>;
}

/// Work the schedule makes due, found by [`LifecycleRepository::due`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DueWork {
    /// A stage `InProgress` whose `endDateTime` has passed.
    Stage {
        /// Its definition.
        definition: DefinitionId,
        /// Its instance.
        instance: InstanceId,
        /// The stage.
        stage: StageId,
    },
    /// An instance without stages, `InProgress`, whose `endDateTime` has
    /// passed.
    Instance {
        /// Its definition.
        definition: DefinitionId,
        /// The instance.
        instance: InstanceId,
    },
    /// A definition whose next instance is due.
    Definition {
        /// The definition.
        definition: DefinitionId,
    },
}

/// How a claim on a definition's next start ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StartOutcome {
    /// Written.
    Committed,
    /// The definition's next start was no longer the one planned for (a
    /// concurrent pass, or a stop, came first); nothing was written.
    Lost,
}

/// How a scheduler pass claims due work.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Claim {
    /// Skip work another pass has leased, and lease what is returned: the
    /// background passes of several replicas share the work.
    Lease,
    /// Take all due work: a pass that must not return before everything
    /// due has committed (the test clock's).
    All,
}

/// How an attempt to end an instance, or to complete a definition, ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EndOutcome {
    /// Every change was written.
    Committed,
    /// It was no longer `InProgress` at the time of the write (a concurrent
    /// stop or scheduler won); nothing was written.
    NoLongerInProgress,
}

/// The review in time: finding due work, ending instances, applying
/// decisions, and the audit records of these actions.
#[async_trait]
pub trait LifecycleRepository: Send + Sync {
    /// Up to `limit` pieces of work due at `now`, the longest overdue first.
    ///
    /// With [`Claim::Lease`], only work no other pass holds a live lease on,
    /// and leases what it returns (so replicas share the work); with
    /// [`Claim::All`], all due work, leased or not.
    async fn due(
        &self,
        now: DateTime<Utc>,
        limit: u32,
        claim: Claim,
    ) -> Result<Vec<DueWork>, RepositoryError>;

    /// Writes the end of an instance: its stage in progress, the instance,
    /// the default decisions, applying them when asked, the definition's
    /// status and the audit record.
    ///
    /// # Errors
    /// MUST write all of it or nothing; MUST return
    /// [`EndOutcome::NoLongerInProgress`], writing nothing, when the
    /// instance is not `InProgress` at the time of the write, and MUST
    /// serialise with [`StageRepository::commit_stop`] and
    /// [`DecisionRepository::record`] on the same instance.
    async fn commit_end(&self, transition: &EndTransition) -> Result<EndOutcome, RepositoryError>;

    /// Applies the decisions of a completed instance that are not applied
    /// yet ([`crate::lifecycle::ApplyResult::of`]): removes denied direct
    /// memberships and marks every item applied by `by` at `at`, all in one
    /// transaction, with the audit record. Returns how many items it
    /// applied; a second call applies none.
    async fn apply(
        &self,
        instance: InstanceId,
        by: &Identity,
        audit: &ActionAudit,
    ) -> Result<u64, RepositoryError>;

    /// Starts a definition's next instance: stores the instance of
    /// `review` with its first stage, phase and items, the definition's new
    /// schedule and status, and the audit record.
    ///
    /// # Errors
    /// MUST write all of it or nothing, and MUST return
    /// [`StartOutcome::Lost`], writing nothing, unless the definition's
    /// `next_start` in the store is still `expected_next`, so that each
    /// period starts one instance however many passes race.
    async fn start_instance(
        &self,
        review: &StartedReview,
        expected_next: DateTime<Utc>,
        audit: &ActionAudit,
    ) -> Result<StartOutcome, RepositoryError>;

    /// Ends a definition's recurrence: no instance is to come. It completes
    /// unless an instance is still in progress (it then completes with
    /// that instance).
    ///
    /// # Errors
    /// As [`Self::start_instance`], on `expected_next`.
    async fn end_recurrence(
        &self,
        definition: DefinitionId,
        expected_next: DateTime<Utc>,
        at: DateTime<Utc>,
    ) -> Result<StartOutcome, RepositoryError>;

    /// Completes a definition that has no instance in progress, and ends
    /// its recurrence.
    ///
    /// # Errors
    /// MUST return [`EndOutcome::NoLongerInProgress`], writing nothing,
    /// when the definition is already `Completed`.
    async fn complete_definition(&self, audit: &ActionAudit)
    -> Result<EndOutcome, RepositoryError>;

    /// Writes an audit record.
    async fn record_action(&self, audit: &ActionAudit) -> Result<(), RepositoryError>;
}

/// The audit log, append-only.
#[async_trait]
pub trait AuditTrail: Send + Sync {
    /// Appends a record.
    async fn record(&self, entry: &crate::audit::AuditEntry) -> Result<(), RepositoryError>;
    /// A page of records, newest first unless asked otherwise.
    async fn audits(
        &self,
        query: &crate::audit::AuditQuery,
    ) -> Result<Page<crate::audit::AuditEntry>, RepositoryError>;
    /// One record.
    async fn audit(
        &self,
        id: crate::ids::AuditId,
    ) -> Result<Option<crate::audit::AuditEntry>, RepositoryError>;
}

/// Stores review history definitions and their reports.
#[async_trait]
pub trait HistoryRepository: Send + Sync {
    /// Stores a definition with its one instance, both or neither.
    async fn create_history(
        &self,
        definition: &crate::history::HistoryDefinition,
        instance: &crate::history::HistoryInstance,
    ) -> Result<(), RepositoryError>;

    /// The definition, if any.
    async fn history(
        &self,
        id: crate::ids::HistoryDefinitionId,
    ) -> Result<Option<crate::history::HistoryDefinition>, RepositoryError>;

    /// A page of the definitions created after `since`, oldest first; only
    /// those created by `created_by` when it is given.
    async fn histories(
        &self,
        page: PageRequest,
        since: DateTime<Utc>,
        created_by: Option<PrincipalId>,
    ) -> Result<Page<crate::history::HistoryDefinition>, RepositoryError>;

    /// The definition's instances.
    async fn history_instances(
        &self,
        id: crate::ids::HistoryDefinitionId,
    ) -> Result<Vec<crate::history::HistoryInstance>, RepositoryError>;

    /// Sets the instance's download link (the previous one stops
    /// working); false when the instance is not under that definition.
    async fn set_download(
        &self,
        definition: crate::ids::HistoryDefinitionId,
        instance: crate::ids::HistoryInstanceId,
        download: &crate::history::Download,
    ) -> Result<bool, RepositoryError>;

    /// The definition and instance whose current link has this token,
    /// expired or not.
    async fn by_download(
        &self,
        token: &crate::history::DownloadToken,
    ) -> Result<
        Option<(
            crate::history::HistoryDefinition,
            crate::history::HistoryInstance,
        )>,
        RepositoryError,
    >;
}
