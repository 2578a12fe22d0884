//! In-memory fakes of the ports, for tests of the use cases and of the HTTP
//! adapter. They keep the ports' contracts (all-or-nothing writes, the
//! guarded stop) so tests written against them hold for the real adapter.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use async_trait::async_trait;
use chrono::{DateTime, TimeZone, Utc};

use crate::actor::system_identity;
use crate::decision::{Applied, Decision, DecisionItem, Identity, Review, ReviewerRules};
use crate::decision::{ApplyResult, Membership};
use crate::definition::{Definition, NewDefinition};
use crate::directory::DirectorySnapshot;
use crate::directory::{DirectoryObject, Group, Relation, User};
use crate::ids::{DecisionItemId, DefinitionId, InstanceId, PrincipalId, StageId};
use crate::instance::Instance;
use crate::lifecycle::{ActionAudit, DEFAULT_DECISION_JUSTIFICATION, EndTransition, InstanceEnd};
use crate::ports::{
    Access, Added, Claim, Clock, ClockControl, DecisionQuery, DecisionRepository,
    DefinitionRepository, DirectoryRepository, DueWork, EndOutcome, InstanceRepository,
    LifecycleRepository, Located, Missing, Phase, PhaseItem, RecordOutcome, RepositoryError,
    ReviewReads, StageRepository, StartOutcome, StartedReview, StopContext, StopOutcome,
};
use crate::queries::MembershipQuery;
use crate::query::{ListQuery, Page, PageRequest};
use crate::stage::Stage;
use crate::status::ReviewStatus;
use crate::stop::{StopAudit, StopTransition};

#[derive(Default)]
struct Store {
    definitions: Vec<Definition>,
    instances: Vec<Instance>,
    stages: Vec<Stage>,
    audit: Vec<StopAudit>,
    actions: Vec<ActionAudit>,
    users: Vec<User>,
    managers: HashMap<PrincipalId, PrincipalId>,
    groups: Vec<Group>,
    relations: Vec<(PrincipalId, Relation, PrincipalId)>,
    items: Vec<DecisionItem>,
    phases: Vec<(Phase, InstanceId, ReviewerRules)>,
    phase_items: Vec<(Phase, DecisionItemId, Option<PrincipalId>)>,
    history: Vec<(Phase, DecisionItemId, Review)>,
    audits: Vec<crate::audit::AuditEntry>,
    /// The spec an instance started with, kept when its definition
    /// changed while it ran.
    pinned: HashMap<InstanceId, NewDefinition>,
    histories: Vec<crate::history::HistoryDefinition>,
    history_instances: Vec<crate::history::HistoryInstance>,
}

impl Store {
    /// Completes the definition and ends its recurrence, as the adapter's
    /// `complete_definition` does; false when it was `Completed` already.
    fn complete_definition(&mut self, id: DefinitionId, at: DateTime<Utc>) -> bool {
        let Some(definition) = self
            .definitions
            .iter_mut()
            .find(|d| d.id == id && d.status != ReviewStatus::Completed)
        else {
            return false;
        };
        definition.status = ReviewStatus::Completed;
        definition.last_modified_date_time = at;
        definition.schedule.next_start = None;
        true
    }

    /// A started instance with its first stage, items and phase.
    fn add_review(&mut self, review: &StartedReview) {
        self.instances.push(review.instance.clone());
        self.stages.extend(review.first_stage.clone());
        self.items.extend(review.items.iter().cloned());
        let ids: Vec<_> = review.items.iter().map(|i| i.id).collect();
        self.enter(
            review.first_phase(),
            review.instance.id,
            review.first_reviewers.clone(),
            &ids,
        );
    }

    fn object(&self, id: PrincipalId) -> Option<DirectoryObject> {
        self.users
            .iter()
            .find(|u| u.id == id)
            .cloned()
            .map(DirectoryObject::User)
            .or_else(|| {
                self.groups
                    .iter()
                    .find(|g| g.id == id)
                    .cloned()
                    .map(DirectoryObject::Group)
            })
    }

    fn related(&self, group: PrincipalId, relation: Relation) -> Vec<DirectoryObject> {
        self.relations
            .iter()
            .filter(|(g, r, _)| *g == group && *r == relation)
            .filter_map(|(_, _, o)| self.object(*o))
            .collect()
    }

    fn transitive(&self, group: PrincipalId) -> Vec<DirectoryObject> {
        let mut seen = HashSet::from([group]);
        let mut queue = vec![group];
        let mut found = Vec::new();
        while let Some(next) = queue.pop() {
            for object in self.related(next, Relation::Members) {
                if seen.insert(object.id()) {
                    if let DirectoryObject::Group(g) = &object {
                        queue.push(g.id);
                    }
                    found.push(object);
                }
            }
        }
        found
    }

    fn enter(
        &mut self,
        phase: Phase,
        instance: InstanceId,
        rules: ReviewerRules,
        items: &[DecisionItemId],
    ) {
        self.phases.push((phase, instance, rules));
        for item in items {
            let principal = self
                .items
                .iter()
                .find(|i| i.id == *item)
                .map(|i| i.principal.id);
            let manager = principal.and_then(|p| self.managers.get(&p).copied());
            self.phase_items.push((phase, *item, manager));
        }
    }

    fn phase_status(&self, phase: Phase) -> Option<ReviewStatus> {
        match phase {
            Phase::Stage(id) => self.stages.iter().find(|s| s.id == id).map(Stage::status),
            Phase::Instance(id) => self
                .instances
                .iter()
                .find(|i| i.id == id)
                .map(Instance::status),
        }
    }

    fn phase_entries(&self, phase: Phase) -> Vec<PhaseItem> {
        self.phase_items
            .iter()
            .filter(|(p, _, _)| *p == phase)
            .filter_map(|(_, item, manager)| {
                self.items
                    .iter()
                    .find(|i| i.id == *item)
                    .map(|i| PhaseItem {
                        item: i.clone(),
                        manager: *manager,
                    })
            })
            .collect()
    }

    /// Whether `who` reviews an item in any phase of the instance.
    fn reviews_in(&self, instance: InstanceId, who: PrincipalId) -> bool {
        self.phases
            .iter()
            .filter(|(_, i, _)| *i == instance)
            .any(|(phase, _, rules)| {
                self.phase_entries(*phase)
                    .iter()
                    .any(|e| rules.reviews(who, e.item.principal.id, e.manager))
            })
    }

    /// Replaces the rules of `phase`, as the adapter's reviewer updates do.
    fn set_rules(&mut self, phase: Phase, rules: &ReviewerRules) {
        for (p, _, phase_rules) in &mut self.phases {
            if *p == phase {
                *phase_rules = rules.clone();
            }
        }
    }

    fn rules(&self, phase: Phase) -> Option<ReviewerRules> {
        self.phases
            .iter()
            .find(|(p, _, _)| *p == phase)
            .map(|(_, _, r)| r.clone())
    }
}

/// A repository in memory, implementing every repository port.
#[derive(Clone, Default)]
pub struct InMemoryRepository {
    store: Arc<Mutex<Store>>,
    outage: Arc<Mutex<Option<Outage>>>,
}

/// How a switched-off store fails.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outage {
    /// As an unreachable database: [`RepositoryError::Unavailable`].
    Unavailable,
    /// As a broken one: [`RepositoryError::Failed`].
    Broken,
}

impl InMemoryRepository {
    /// An empty repository.
    pub fn new() -> Self {
        Self::default()
    }

    fn store(&self) -> Result<MutexGuard<'_, Store>, RepositoryError> {
        match *self.outage.lock().unwrap_or_else(PoisonError::into_inner) {
            Some(Outage::Unavailable) => {
                return Err(RepositoryError::Unavailable("connection refused".into()));
            }
            Some(Outage::Broken) => {
                return Err(RepositoryError::Failed(
                    "relation \"secret_internal_table\" does not exist".into(),
                ));
            }
            None => {}
        }
        Ok(self.store.lock().unwrap_or_else(PoisonError::into_inner))
    }

    /// Makes every later call fail in the given way.
    pub fn fail(&self, outage: Outage) {
        *self.outage.lock().unwrap_or_else(PoisonError::into_inner) = Some(outage);
    }

    /// Removes a user from the directory, as a deletion in the tenant would.
    pub fn forget_user(&self, id: PrincipalId) {
        let mut store = self.store.lock().unwrap_or_else(PoisonError::into_inner);
        store.users.retain(|u| u.id != id);
        store.relations.retain(|(_, _, o)| *o != id);
    }

    /// The audit records of actions other than stage stops.
    pub fn actions(&self) -> Vec<ActionAudit> {
        self.store
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .actions
            .clone()
    }

    /// The audit records written so far.
    pub fn audit(&self) -> Vec<StopAudit> {
        self.store
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .audit
            .clone()
    }
}

fn page<'a, T: Clone + 'a>(items: impl Iterator<Item = &'a T>, query: &ListQuery) -> Page<T> {
    Page::of(items.cloned(), query.page)
}

/// Definitions as the adapter lists them: the scope filter, then the
/// order (creation order breaks ties; they are stored in it).
fn definitions_page<'a>(
    items: impl Iterator<Item = &'a Definition>,
    query: &ListQuery,
) -> Page<Definition> {
    let mut found: Vec<Definition> = items
        .filter(|d| {
            query
                .scope_contains
                .as_ref()
                .is_none_or(|text| d.spec.scope.query.contains(text.as_str()))
        })
        .cloned()
        .collect();
    if let Some(order) = query.order {
        found.sort_by(|a, b| {
            let by = match order.key {
                crate::query::OrderKey::DisplayName => a
                    .spec
                    .display_name
                    .as_str()
                    .to_lowercase()
                    .cmp(&b.spec.display_name.as_str().to_lowercase()),
                _ => a.created_date_time.cmp(&b.created_date_time),
            };
            if order.descending { by.reverse() } else { by }
        });
    }
    Page::of(found, query.page)
}

/// Drives a future of these fakes to its end on the calling thread: they
/// never wait, so no runtime is needed (handy in synchronous test setup).
pub fn block_on<F: std::future::Future>(future: F) -> F::Output {
    let mut context = std::task::Context::from_waker(std::task::Waker::noop());
    let mut future = std::pin::pin!(future);
    loop {
        if let std::task::Poll::Ready(output) = future.as_mut().poll(&mut context) {
            return output;
        }
    }
}

fn status_matches(query: &ListQuery, status: ReviewStatus) -> bool {
    query.status.is_none_or(|wanted| wanted == status)
}

#[async_trait]
impl DefinitionRepository for InMemoryRepository {
    async fn create(&self, review: &StartedReview) -> Result<(), RepositoryError> {
        let mut store = self.store()?;
        store.definitions.push(review.definition.clone());
        store.add_review(review);
        Ok(())
    }

    async fn list_reviewed_by(
        &self,
        who: PrincipalId,
        query: ListQuery,
    ) -> Result<Page<Definition>, RepositoryError> {
        let store = self.store()?;
        Ok(definitions_page(
            store.definitions.iter().filter(|d| {
                status_matches(&query, d.status)
                    && store
                        .instances
                        .iter()
                        .any(|i| i.definition_id == d.id && store.reviews_in(i.id, who))
            }),
            &query,
        ))
    }

    async fn create_scheduled(&self, definition: &Definition) -> Result<(), RepositoryError> {
        self.store()?.definitions.push(definition.clone());
        Ok(())
    }

    async fn get(&self, id: DefinitionId) -> Result<Option<Definition>, RepositoryError> {
        Ok(self
            .store()?
            .definitions
            .iter()
            .find(|d| d.id == id)
            .cloned())
    }

    async fn get_for_instance(
        &self,
        id: DefinitionId,
        instance: InstanceId,
    ) -> Result<Option<Definition>, RepositoryError> {
        let store = self.store()?;
        let Some(mut definition) = store.definitions.iter().find(|d| d.id == id).cloned() else {
            return Ok(None);
        };
        let under = store
            .instances
            .iter()
            .any(|i| i.id == instance && i.definition_id == id);
        if let (true, Some(spec)) = (under, store.pinned.get(&instance)) {
            definition.spec.clone_from(spec);
        }
        Ok(Some(definition))
    }

    async fn update(&self, definition: &Definition) -> Result<bool, RepositoryError> {
        let mut guard = self.store()?;
        let store = &mut *guard;
        let Some(stored) = store.definitions.iter_mut().find(|d| d.id == definition.id) else {
            return Ok(false);
        };
        for instance in store
            .instances
            .iter()
            .filter(|i| i.definition_id == definition.id && i.status() != ReviewStatus::Completed)
        {
            store
                .pinned
                .entry(instance.id)
                .or_insert_with(|| stored.spec.clone());
        }
        stored.spec.clone_from(&definition.spec);
        stored.last_modified_date_time = definition.last_modified_date_time;
        Ok(true)
    }

    async fn delete(&self, id: DefinitionId) -> Result<bool, RepositoryError> {
        let mut store = self.store()?;
        let before = store.definitions.len();
        store.definitions.retain(|d| d.id != id);
        if store.definitions.len() == before {
            return Ok(false);
        }
        let instances: Vec<InstanceId> = store
            .instances
            .iter()
            .filter(|i| i.definition_id == id)
            .map(|i| i.id)
            .collect();
        store.instances.retain(|i| i.definition_id != id);
        store.stages.retain(|s| !instances.contains(&s.instance_id));
        let items: Vec<DecisionItemId> = store
            .items
            .iter()
            .filter(|i| instances.contains(&i.instance_id))
            .map(|i| i.id)
            .collect();
        store.items.retain(|i| !instances.contains(&i.instance_id));
        store
            .phases
            .retain(|(_, instance, _)| !instances.contains(instance));
        store
            .phase_items
            .retain(|(_, item, _)| !items.contains(item));
        store.history.retain(|(_, item, _)| !items.contains(item));
        Ok(true)
    }

    async fn list(
        &self,
        query: ListQuery,
        created_by: Option<PrincipalId>,
    ) -> Result<Page<Definition>, RepositoryError> {
        let store = self.store()?;
        Ok(definitions_page(
            store.definitions.iter().filter(|d| {
                status_matches(&query, d.status) && created_by.is_none_or(|c| c == d.created_by.id)
            }),
            &query,
        ))
    }
}

#[async_trait]
impl InstanceRepository for InMemoryRepository {
    async fn update_reviewers(
        &self,
        instance: &Instance,
        rules: Option<&ReviewerRules>,
    ) -> Result<bool, RepositoryError> {
        let mut store = self.store()?;
        let Some(stored) = store
            .instances
            .iter_mut()
            .find(|i| i.id == instance.id && i.status() == ReviewStatus::InProgress)
        else {
            return Ok(false);
        };
        stored.reviewers = instance.reviewers.clone();
        stored.fallback_reviewers = instance.fallback_reviewers.clone();
        if let Some(rules) = rules {
            store.set_rules(Phase::Instance(instance.id), rules);
        }
        Ok(true)
    }

    async fn get(
        &self,
        definition_id: DefinitionId,
        instance_id: InstanceId,
    ) -> Result<Option<Instance>, RepositoryError> {
        Ok(self
            .store()?
            .instances
            .iter()
            .find(|i| i.id == instance_id && i.definition_id == definition_id)
            .cloned())
    }

    async fn list(
        &self,
        definition_id: DefinitionId,
        query: ListQuery,
    ) -> Result<Page<Instance>, RepositoryError> {
        let store = self.store()?;
        Ok(page(
            store
                .instances
                .iter()
                .filter(|i| i.definition_id == definition_id && status_matches(&query, i.status())),
            &query,
        ))
    }
}

#[async_trait]
impl StageRepository for InMemoryRepository {
    async fn update_reviewers(
        &self,
        stage: &Stage,
        rules: &ReviewerRules,
    ) -> Result<bool, RepositoryError> {
        let mut store = self.store()?;
        let Some(stored) = store
            .stages
            .iter_mut()
            .find(|s| s.id == stage.id && s.status() == ReviewStatus::InProgress)
        else {
            return Ok(false);
        };
        stored.reviewers = stage.reviewers.clone();
        stored.fallback_reviewers = stage.fallback_reviewers.clone();
        store.set_rules(Phase::Stage(stage.id), rules);
        Ok(true)
    }

    async fn get(
        &self,
        instance_id: InstanceId,
        stage_id: StageId,
    ) -> Result<Option<Stage>, RepositoryError> {
        self.find_stage(instance_id, stage_id).await
    }

    async fn all(&self, instance_id: InstanceId) -> Result<Vec<Stage>, RepositoryError> {
        Ok(self
            .store()?
            .stages
            .iter()
            .filter(|s| s.instance_id == instance_id)
            .cloned()
            .collect())
    }

    /// With an empty snapshot: the use case then asks the directory.
    async fn stop_context(
        &self,
        definition_id: DefinitionId,
        instance_id: InstanceId,
    ) -> Result<Result<StopContext, Missing>, RepositoryError> {
        let Some(definition) = self.get_for_instance(definition_id, instance_id).await? else {
            return Ok(Err(Missing::Definition(definition_id)));
        };
        let Some(instance) = InstanceRepository::get(self, definition_id, instance_id).await?
        else {
            return Ok(Err(Missing::Instance(instance_id)));
        };
        Ok(Ok(StopContext {
            definition,
            instance,
            stages: self.all(instance_id).await?,
            reviewers: DirectorySnapshot::default(),
        }))
    }

    async fn commit_stop(
        &self,
        transition: &StopTransition,
    ) -> Result<StopOutcome, RepositoryError> {
        let mut store = self.store()?;
        let Some(stage) = store
            .stages
            .iter_mut()
            .find(|s| s.id == transition.stopped.id && s.status() == ReviewStatus::InProgress)
        else {
            return Ok(StopOutcome::StageNoLongerInProgress);
        };
        *stage = transition.stopped.clone();
        store.stages.extend(transition.started.clone());
        if let Some(carry) = &transition.carry_over {
            let moving: Vec<_> = store
                .phase_entries(Phase::Stage(carry.from))
                .into_iter()
                .filter(|e| carry.rule.moves(e.item.decision(), e.item.recommendation))
                .map(|e| e.item.id)
                .collect();
            store.enter(
                Phase::Stage(carry.to),
                transition.instance.id,
                carry.reviewers.clone(),
                &moving,
            );
        }
        if let Some(instance) = store
            .instances
            .iter_mut()
            .find(|i| i.id == transition.instance.id)
        {
            *instance = transition.instance.clone();
        }
        if transition.definition_completed {
            store.complete_definition(transition.audit.definition_id, transition.audit.at);
        }
        if let Some(end) = &transition.instance_end {
            store.finish(
                transition.instance.id,
                Phase::Stage(transition.stopped.id),
                end,
            );
        }
        store.audit.push(transition.audit.clone());
        store.audits.extend(transition.record.clone());
        Ok(StopOutcome::Committed)
    }
}

fn page_of<T: Clone>(items: &[T], page: PageRequest) -> Page<T> {
    Page::of(items.iter().cloned(), page)
}

#[async_trait]
impl DirectoryRepository for InMemoryRepository {
    async fn create_user(&self, user: &User) -> Result<Added, RepositoryError> {
        let mut store = self.store()?;
        let upn = user.user_principal_name.to_lowercase();
        if store
            .users
            .iter()
            .any(|u| u.user_principal_name.to_lowercase() == upn)
        {
            return Ok(Added::AlreadyPresent);
        }
        store.users.push(user.clone());
        Ok(Added::Added)
    }

    async fn user(&self, id: PrincipalId) -> Result<Option<User>, RepositoryError> {
        Ok(self.store()?.users.iter().find(|u| u.id == id).cloned())
    }

    async fn users(&self, page: PageRequest) -> Result<Page<User>, RepositoryError> {
        Ok(page_of(&self.store()?.users, page))
    }

    async fn create_group(&self, group: &Group) -> Result<(), RepositoryError> {
        self.store()?.groups.push(group.clone());
        Ok(())
    }

    async fn group(&self, id: PrincipalId) -> Result<Option<Group>, RepositoryError> {
        Ok(self.store()?.groups.iter().find(|g| g.id == id).cloned())
    }

    async fn groups(&self, page: PageRequest) -> Result<Page<Group>, RepositoryError> {
        Ok(page_of(&self.store()?.groups, page))
    }

    async fn object(&self, id: PrincipalId) -> Result<Option<DirectoryObject>, RepositoryError> {
        Ok(self.store()?.object(id))
    }

    async fn add(
        &self,
        group: PrincipalId,
        relation: Relation,
        object: PrincipalId,
    ) -> Result<Added, RepositoryError> {
        let mut store = self.store()?;
        let entry = (group, relation, object);
        if store.relations.contains(&entry) {
            return Ok(Added::AlreadyPresent);
        }
        store.relations.push(entry);
        Ok(Added::Added)
    }

    async fn remove_member(
        &self,
        group: PrincipalId,
        member: PrincipalId,
    ) -> Result<bool, RepositoryError> {
        let mut store = self.store()?;
        let before = store.relations.len();
        store
            .relations
            .retain(|e| *e != (group, Relation::Members, member));
        Ok(store.relations.len() < before)
    }

    async fn related(
        &self,
        group: PrincipalId,
        relation: Relation,
        page: PageRequest,
    ) -> Result<Page<DirectoryObject>, RepositoryError> {
        Ok(page_of(&self.store()?.related(group, relation), page))
    }

    async fn transitive_members(
        &self,
        group: PrincipalId,
        page: PageRequest,
    ) -> Result<Page<DirectoryObject>, RepositoryError> {
        Ok(page_of(&self.store()?.transitive(group), page))
    }

    async fn member_users(&self, query: MembershipQuery) -> Result<Vec<User>, RepositoryError> {
        let store = self.store()?;
        let objects = if query.transitive {
            store.transitive(query.group)
        } else {
            store.related(query.group, Relation::Members)
        };
        Ok(objects
            .into_iter()
            .filter_map(|o| match o {
                DirectoryObject::User(u) => Some(u),
                DirectoryObject::Group(_) => None,
            })
            .collect())
    }

    async fn owner_users(&self, group: PrincipalId) -> Result<Vec<User>, RepositoryError> {
        Ok(self
            .store()?
            .related(group, Relation::Owners)
            .into_iter()
            .filter_map(|o| match o {
                DirectoryObject::User(u) => Some(u),
                DirectoryObject::Group(_) => None,
            })
            .collect())
    }

    async fn set_manager(
        &self,
        user: PrincipalId,
        manager: PrincipalId,
    ) -> Result<(), RepositoryError> {
        self.store()?.managers.insert(user, manager);
        Ok(())
    }

    async fn manager(&self, user: PrincipalId) -> Result<Option<User>, RepositoryError> {
        let store = self.store()?;
        Ok(store
            .managers
            .get(&user)
            .and_then(|m| store.users.iter().find(|u| u.id == *m))
            .cloned())
    }
}

#[async_trait]
impl DecisionRepository for InMemoryRepository {
    async fn rules(&self, phase: Phase) -> Result<Option<ReviewerRules>, RepositoryError> {
        Ok(self.store()?.rules(phase))
    }

    async fn phase_item(
        &self,
        phase: Phase,
        item: DecisionItemId,
    ) -> Result<Option<PhaseItem>, RepositoryError> {
        Ok(self
            .store()?
            .phase_entries(phase)
            .into_iter()
            .find(|e| e.item.id == item))
    }

    async fn phase_items(&self, phase: Phase) -> Result<Vec<PhaseItem>, RepositoryError> {
        Ok(self.store()?.phase_entries(phase))
    }

    async fn item(
        &self,
        instance: InstanceId,
        item: DecisionItemId,
    ) -> Result<Option<DecisionItem>, RepositoryError> {
        Ok(self
            .store()?
            .items
            .iter()
            .find(|i| i.id == item && i.instance_id == instance)
            .cloned())
    }

    async fn record(
        &self,
        phase: Phase,
        items: &[DecisionItemId],
        review: &Review,
    ) -> Result<RecordOutcome, RepositoryError> {
        let mut store = self.store()?;
        if store.phase_status(phase) != Some(ReviewStatus::InProgress) {
            return Ok(RecordOutcome::NotInProgress);
        }
        for id in items {
            if let Some(item) = store.items.iter_mut().find(|i| i.id == *id) {
                item.latest = Some(review.clone());
            }
            store.history.push((phase, *id, review.clone()));
        }
        Ok(RecordOutcome::Recorded)
    }

    async fn accept_recommendations(
        &self,
        phase: Phase,
        items: &[DecisionItemId],
        review: &Review,
    ) -> Result<RecordOutcome, RepositoryError> {
        let mut store = self.store()?;
        if store.phase_status(phase) != Some(ReviewStatus::InProgress) {
            return Ok(RecordOutcome::NotInProgress);
        }
        let mut accepted = Vec::new();
        for item in store.items.iter_mut().filter(|i| items.contains(&i.id)) {
            if let (Decision::NotReviewed, Some(decision)) =
                (item.decision(), item.recommendation.as_decision())
            {
                let taken = Review {
                    decision,
                    ..review.clone()
                };
                item.latest = Some(taken.clone());
                accepted.push((phase, item.id, taken));
            }
        }
        store.history.extend(accepted);
        Ok(RecordOutcome::Recorded)
    }

    async fn reset(&self, instance: InstanceId) -> Result<RecordOutcome, RepositoryError> {
        let mut store = self.store()?;
        if store.phase_status(Phase::Instance(instance)) != Some(ReviewStatus::InProgress) {
            return Ok(RecordOutcome::NotInProgress);
        }
        for item in store.items.iter_mut().filter(|i| i.instance_id == instance) {
            item.latest = None;
        }
        Ok(RecordOutcome::Recorded)
    }
}

impl InMemoryRepository {
    /// Gives an item a recommendation (the service has no sign-in data to
    /// make one), for tests of what follows from recommendations.
    pub fn recommend(&self, item: DecisionItemId, recommendation: crate::decision::Recommendation) {
        let mut store = self.store.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(found) = store.items.iter_mut().find(|i| i.id == item) {
            found.recommendation = recommendation;
        }
    }

    /// Every decision recorded so far, oldest first: the phase, the item and
    /// the decision.
    pub fn history(&self) -> Vec<(Phase, DecisionItemId, Decision)> {
        self.store
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .history
            .iter()
            .map(|(p, i, r)| (*p, *i, r.decision))
            .collect()
    }
}

/// A clock that says what the test tells it.
#[derive(Clone)]
pub struct FixedClock(Arc<Mutex<DateTime<Utc>>>);

impl FixedClock {
    /// A clock at 2026-11-02 09:00:00 UTC.
    pub fn new() -> Self {
        Self::at(
            Utc.with_ymd_and_hms(2026, 11, 2, 9, 0, 0)
                .single()
                .unwrap_or_default(),
        )
    }

    /// A clock at `now`.
    pub fn at(now: DateTime<Utc>) -> Self {
        Self(Arc::new(Mutex::new(now)))
    }

    /// Moves the clock forward.
    pub fn advance(&self, by: chrono::Duration) {
        let mut now = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        *now += by;
    }
}

impl Default for FixedClock {
    fn default() -> Self {
        Self::new()
    }
}

impl FixedClock {
    /// What the clock says.
    pub fn now(&self) -> DateTime<Utc> {
        *self.0.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

#[async_trait]
impl Clock for FixedClock {
    async fn now(&self) -> Result<DateTime<Utc>, RepositoryError> {
        Ok(FixedClock::now(self))
    }
}

#[async_trait]
impl ClockControl for FixedClock {
    async fn advance(&self, by: chrono::Duration) -> Result<DateTime<Utc>, RepositoryError> {
        FixedClock::advance(self, by);
        Ok(FixedClock::now(self))
    }
}

impl Store {
    /// The end of an instance: default decisions (recorded in `phase`),
    /// then applying them when asked.
    fn finish(&mut self, instance: InstanceId, phase: Phase, end: &InstanceEnd) {
        if let Some(default) = end.default_decision {
            let review = |decision| Review {
                decision,
                justification: Some(DEFAULT_DECISION_JUSTIFICATION.to_owned()),
                reviewed_by: system_identity(),
                reviewed_date_time: end.at,
            };
            let mut recorded = Vec::new();
            for item in self
                .items
                .iter_mut()
                .filter(|i| i.instance_id == instance && i.decision() == Decision::NotReviewed)
            {
                if let Some(decision) = default.decision_for(item.recommendation) {
                    item.latest = Some(review(decision));
                    recorded.push((phase, item.id, review(decision)));
                }
            }
            self.history.extend(recorded);
        }
        if end.auto_apply {
            self.apply(instance, &system_identity(), end.at);
        }
    }

    /// [`ApplyResult::of`] on every item of the instance not applied yet.
    fn apply(&mut self, instance: InstanceId, by: &Identity, at: DateTime<Utc>) -> u64 {
        let pending: Vec<(DecisionItemId, Decision, PrincipalId, PrincipalId)> = self
            .items
            .iter()
            .filter(|i| i.instance_id == instance && i.applied.is_none())
            .map(|i| (i.id, i.decision(), i.principal.id, i.resource.id))
            .collect();
        for (id, decision, principal, group) in &pending {
            let direct = self
                .relations
                .contains(&(*group, Relation::Members, *principal));
            let membership = if direct {
                Membership::Direct
            } else if self.transitive(*group).iter().any(|o| o.id() == *principal) {
                Membership::Nested
            } else {
                Membership::Gone
            };
            let result = ApplyResult::of(*decision, membership);
            if *decision == Decision::Deny && membership == Membership::Direct {
                self.relations
                    .retain(|r| *r != (*group, Relation::Members, *principal));
            }
            if let Some(item) = self.items.iter_mut().find(|i| i.id == *id) {
                item.applied = Some(Applied {
                    result,
                    by: by.clone(),
                    at,
                });
            }
        }
        pending.len() as u64
    }
}

#[async_trait]
impl LifecycleRepository for InMemoryRepository {
    /// Leases are not kept: one process has nobody to share work with.
    async fn due(
        &self,
        now: DateTime<Utc>,
        limit: u32,
        _claim: Claim,
    ) -> Result<Vec<DueWork>, RepositoryError> {
        let store = self.store()?;
        let definition_of = |instance: InstanceId| {
            store
                .instances
                .iter()
                .find(|i| i.id == instance)
                .map(|i| i.definition_id)
        };
        let mut due: Vec<(DateTime<Utc>, DueWork)> = store
            .stages
            .iter()
            .filter(|s| s.status() == ReviewStatus::InProgress && s.end_date_time <= now)
            .filter_map(|s| {
                definition_of(s.instance_id).map(|definition| {
                    (
                        s.end_date_time,
                        DueWork::Stage {
                            definition,
                            instance: s.instance_id,
                            stage: s.id,
                        },
                    )
                })
            })
            .collect();
        due.extend(
            store
                .instances
                .iter()
                .filter(|i| i.status() == ReviewStatus::InProgress && i.end_date_time <= now)
                .filter(|i| !store.stages.iter().any(|s| s.instance_id == i.id))
                .map(|i| {
                    (
                        i.end_date_time,
                        DueWork::Instance {
                            definition: i.definition_id,
                            instance: i.id,
                        },
                    )
                }),
        );
        due.extend(
            store
                .definitions
                .iter()
                .filter(|d| d.status != ReviewStatus::Completed)
                .filter_map(|d| {
                    d.schedule
                        .next_start
                        .filter(|next| *next <= now)
                        .map(|next| (next, DueWork::Definition { definition: d.id }))
                }),
        );
        due.sort_by_key(|(at, _)| *at);
        Ok(due
            .into_iter()
            .take(limit as usize)
            .map(|(_, w)| w)
            .collect())
    }

    async fn commit_end(&self, transition: &EndTransition) -> Result<EndOutcome, RepositoryError> {
        let mut store = self.store()?;
        let Some(instance) = store
            .instances
            .iter_mut()
            .find(|i| i.id == transition.instance.id && i.status() == ReviewStatus::InProgress)
        else {
            return Ok(EndOutcome::NoLongerInProgress);
        };
        *instance = transition.instance.clone();
        let mut phase = Phase::Instance(transition.instance.id);
        if let Some(stopped) = &transition.stopped_stage
            && let Some(stage) = store
                .stages
                .iter_mut()
                .find(|s| s.id == stopped.id && s.status() == ReviewStatus::InProgress)
        {
            *stage = stopped.clone();
            phase = Phase::Stage(stopped.id);
        }
        store.finish(transition.instance.id, phase, &transition.end);
        if transition.definition_completed {
            store.complete_definition(transition.audit.definition_id, transition.audit.at);
        }
        store.actions.push(transition.audit.clone());
        Ok(EndOutcome::Committed)
    }

    async fn apply(
        &self,
        instance: InstanceId,
        by: &Identity,
        audit: &ActionAudit,
    ) -> Result<u64, RepositoryError> {
        let mut store = self.store()?;
        let applied = store.apply(instance, by, audit.at);
        store.actions.push(audit.clone());
        Ok(applied)
    }

    async fn start_instance(
        &self,
        review: &StartedReview,
        expected_next: DateTime<Utc>,
        audit: &ActionAudit,
    ) -> Result<StartOutcome, RepositoryError> {
        let mut store = self.store()?;
        let Some(definition) = store.definitions.iter_mut().find(|d| {
            d.id == review.definition.id
                && d.status != ReviewStatus::Completed
                && d.schedule.next_start == Some(expected_next)
        }) else {
            return Ok(StartOutcome::Lost);
        };
        *definition = review.definition.clone();
        store.add_review(review);
        store.actions.push(audit.clone());
        Ok(StartOutcome::Committed)
    }

    async fn end_recurrence(
        &self,
        definition: DefinitionId,
        expected_next: DateTime<Utc>,
        at: DateTime<Utc>,
    ) -> Result<StartOutcome, RepositoryError> {
        let mut store = self.store()?;
        let running = store
            .instances
            .iter()
            .any(|i| i.definition_id == definition && i.status() == ReviewStatus::InProgress);
        let Some(found) = store
            .definitions
            .iter_mut()
            .find(|d| d.id == definition && d.schedule.next_start == Some(expected_next))
        else {
            return Ok(StartOutcome::Lost);
        };
        found.schedule.next_start = None;
        if !running {
            found.status = ReviewStatus::Completed;
            found.last_modified_date_time = at;
        }
        Ok(StartOutcome::Committed)
    }

    async fn complete_definition(
        &self,
        audit: &ActionAudit,
    ) -> Result<EndOutcome, RepositoryError> {
        let mut store = self.store()?;
        if !store.complete_definition(audit.definition_id, audit.at) {
            return Ok(EndOutcome::NoLongerInProgress);
        }
        store.actions.push(audit.clone());
        Ok(EndOutcome::Committed)
    }

    async fn record_action(&self, audit: &ActionAudit) -> Result<(), RepositoryError> {
        self.store()?.actions.push(audit.clone());
        Ok(())
    }
}

impl InMemoryRepository {
    /// The definition's [`Access`], or that it is missing.
    async fn access(
        &self,
        definition_id: DefinitionId,
        instance_id: Option<InstanceId>,
        reviewer: Option<PrincipalId>,
    ) -> Result<Result<Access, Missing>, RepositoryError> {
        let Some(definition) = DefinitionRepository::get(self, definition_id).await? else {
            return Ok(Err(Missing::Definition(definition_id)));
        };
        let reviews = match (instance_id, reviewer) {
            (Some(instance_id), reviewer) => {
                if InstanceRepository::get(self, definition_id, instance_id)
                    .await?
                    .is_none()
                {
                    return Ok(Err(Missing::Instance(instance_id)));
                }
                match reviewer {
                    Some(who) => !self.phases_reviewed_by(instance_id, who).await?.is_empty(),
                    None => false,
                }
            }
            (None, Some(who)) => self.reviews_in_definition(definition_id, who).await?,
            (None, None) => false,
        };
        Ok(Ok(Access {
            created_by: definition.created_by.id,
            reviews,
        }))
    }
}

/// Which decision items an in-memory list holds.
#[derive(Debug, Clone, Copy)]
enum ItemScope {
    /// All of the instance's items.
    Instance(InstanceId),
    /// The items that entered this phase.
    Phase(Phase),
}

/// Reads the in-memory [`ReviewReads`] composes.
impl InMemoryRepository {
    /// A page of the items in `scope`, as [`ReviewReads::items`] lists them.
    fn list_items(
        &self,
        scope: ItemScope,
        query: DecisionQuery,
    ) -> Result<Page<DecisionItem>, RepositoryError> {
        let store = self.store()?;
        let phases: Vec<Phase> = match scope {
            ItemScope::Phase(phase) => vec![phase],
            ItemScope::Instance(instance) => store
                .phases
                .iter()
                .filter(|(_, i, _)| *i == instance)
                .map(|(p, _, _)| *p)
                .collect(),
        };
        let reviews = |item: &DecisionItem| {
            query.reviewer.is_none_or(|who| {
                phases.iter().any(|phase| {
                    let rules = store.rules(*phase).unwrap_or_default();
                    store
                        .phase_items
                        .iter()
                        .filter(|(p, i, _)| p == phase && *i == item.id)
                        .any(|(_, _, manager)| rules.reviews(who, item.principal.id, *manager))
                })
            })
        };
        let in_scope = |item: &DecisionItem| match scope {
            ItemScope::Instance(instance) => item.instance_id == instance,
            ItemScope::Phase(phase) => store
                .phase_items
                .iter()
                .any(|(p, i, _)| *p == phase && *i == item.id),
        };
        let matching: Vec<DecisionItem> = store
            .items
            .iter()
            .filter(|i| in_scope(i))
            .filter(|i| query.decision.is_none_or(|d| d == i.decision()))
            .filter(|i| query.recommendation.is_none_or(|r| r == i.recommendation))
            .filter(|i| query.apply_result.is_none_or(|r| r == i.apply_result()))
            .filter(|i| reviews(i))
            .cloned()
            .collect();
        let mut matching = matching;
        if let Some(order) = query.order {
            // Never-reviewed items last, either way.
            matching.sort_by(|a, b| {
                let (x, y) = (
                    a.latest.as_ref().map(|r| r.reviewed_date_time),
                    b.latest.as_ref().map(|r| r.reviewed_date_time),
                );
                match (x, y) {
                    (Some(x), Some(y)) if order.descending => y.cmp(&x),
                    (Some(x), Some(y)) => x.cmp(&y),
                    (Some(_), None) => std::cmp::Ordering::Less,
                    (None, Some(_)) => std::cmp::Ordering::Greater,
                    (None, None) => std::cmp::Ordering::Equal,
                }
            });
        }
        Ok(page_of(&matching, query.page))
    }

    async fn find_stage(
        &self,
        instance_id: InstanceId,
        stage_id: StageId,
    ) -> Result<Option<Stage>, RepositoryError> {
        Ok(self
            .store()?
            .stages
            .iter()
            .find(|s| s.id == stage_id && s.instance_id == instance_id)
            .cloned())
    }

    async fn stages_page(
        &self,
        instance_id: InstanceId,
        query: ListQuery,
    ) -> Result<Page<Stage>, RepositoryError> {
        let store = self.store()?;
        Ok(page(
            store
                .stages
                .iter()
                .filter(|s| s.instance_id == instance_id && status_matches(&query, s.status())),
            &query,
        ))
    }

    async fn instances_reviewed_by(
        &self,
        definition_id: DefinitionId,
        who: PrincipalId,
        query: ListQuery,
    ) -> Result<Page<Instance>, RepositoryError> {
        let store = self.store()?;
        Ok(page(
            store.instances.iter().filter(|i| {
                i.definition_id == definition_id
                    && status_matches(&query, i.status())
                    && store.reviews_in(i.id, who)
            }),
            &query,
        ))
    }

    async fn phases_reviewed_by(
        &self,
        instance: InstanceId,
        who: PrincipalId,
    ) -> Result<Vec<Phase>, RepositoryError> {
        let store = self.store()?;
        Ok(store
            .phases
            .iter()
            .filter(|(_, i, _)| *i == instance)
            .filter(|(phase, _, rules)| {
                store
                    .phase_entries(*phase)
                    .iter()
                    .any(|e| rules.reviews(who, e.item.principal.id, e.manager))
            })
            .map(|(p, _, _)| *p)
            .collect())
    }

    async fn reviews_in_definition(
        &self,
        definition: DefinitionId,
        who: PrincipalId,
    ) -> Result<bool, RepositoryError> {
        let store = self.store()?;
        Ok(store.phases.iter().any(|(phase, instance, rules)| {
            store
                .instances
                .iter()
                .any(|i| i.id == *instance && i.definition_id == definition)
                && store
                    .phase_entries(*phase)
                    .iter()
                    .any(|e| rules.reviews(who, e.item.principal.id, e.manager))
        }))
    }
}

/// Pairs an object with its access, or names what is missing.
fn locate<T>(access: Result<Access, Missing>, object: Option<T>, missing: Missing) -> Located<T> {
    let access = access?;
    object.map(|o| (o, access)).ok_or(missing)
}

#[async_trait]
impl ReviewReads for InMemoryRepository {
    async fn contacted_reviewers(
        &self,
        instance: InstanceId,
    ) -> Result<Vec<crate::decision::ContactedReviewer>, RepositoryError> {
        let store = self.store()?;
        let mut since: HashMap<PrincipalId, DateTime<Utc>> = HashMap::new();
        for (phase, owner, rules) in store.phases.iter().filter(|(_, i, _)| *i == instance) {
            let started = match phase {
                Phase::Stage(id) => store
                    .stages
                    .iter()
                    .find(|s| s.id == *id)
                    .map(|s| s.start_date_time),
                Phase::Instance(_) => store
                    .instances
                    .iter()
                    .find(|i| i.id == *owner)
                    .map(|i| i.start_date_time),
            };
            let Some(started) = started else { continue };
            for (_, item, manager) in store.phase_items.iter().filter(|(p, _, _)| p == phase) {
                let Some(principal) = store
                    .items
                    .iter()
                    .find(|i| i.id == *item)
                    .map(|i| i.principal.id)
                else {
                    continue;
                };
                for reviewer in rules.reviewers_of(principal, *manager) {
                    let entry = since.entry(reviewer).or_insert(started);
                    *entry = (*entry).min(started);
                }
            }
        }
        Ok(since
            .into_iter()
            .map(|(id, since)| {
                let user = store.users.iter().find(|u| u.id == id);
                crate::decision::ContactedReviewer {
                    id,
                    display_name: user.map(|u| u.display_name.clone()),
                    user_principal_name: user.map(|u| u.user_principal_name.clone()),
                    since,
                }
            })
            .collect())
    }

    async fn definition(
        &self,
        id: DefinitionId,
        reviewer: Option<PrincipalId>,
    ) -> Result<Located<Definition>, RepositoryError> {
        let access = self.access(id, None, reviewer).await?;
        let definition = DefinitionRepository::get(self, id).await?;
        Ok(locate(access, definition, Missing::Definition(id)))
    }

    async fn instance(
        &self,
        definition_id: DefinitionId,
        instance_id: InstanceId,
        reviewer: Option<PrincipalId>,
    ) -> Result<Located<Instance>, RepositoryError> {
        let access = self
            .access(definition_id, Some(instance_id), reviewer)
            .await?;
        let instance = InstanceRepository::get(self, definition_id, instance_id).await?;
        Ok(locate(access, instance, Missing::Instance(instance_id)))
    }

    async fn stage(
        &self,
        definition_id: DefinitionId,
        instance_id: InstanceId,
        stage_id: StageId,
        reviewer: Option<PrincipalId>,
    ) -> Result<Located<Stage>, RepositoryError> {
        let access = self
            .access(definition_id, Some(instance_id), reviewer)
            .await?;
        let stage = self.find_stage(instance_id, stage_id).await?;
        Ok(locate(access, stage, Missing::Stage(stage_id)))
    }

    async fn item(
        &self,
        definition_id: DefinitionId,
        instance_id: InstanceId,
        stage_id: Option<StageId>,
        item_id: DecisionItemId,
        reviewer: Option<PrincipalId>,
    ) -> Result<Located<DecisionItem>, RepositoryError> {
        let access = self
            .access(definition_id, Some(instance_id), reviewer)
            .await?;
        let item = match stage_id {
            Some(stage_id) => {
                if access.is_ok() && self.find_stage(instance_id, stage_id).await?.is_none() {
                    return Ok(Err(Missing::Stage(stage_id)));
                }
                self.phase_item(Phase::Stage(stage_id), item_id)
                    .await?
                    .map(|e| e.item)
            }
            None => DecisionRepository::item(self, instance_id, item_id).await?,
        };
        Ok(locate(access, item, Missing::DecisionItem(item_id)))
    }

    async fn instances(
        &self,
        definition_id: DefinitionId,
        query: ListQuery,
        mine: Option<PrincipalId>,
        reviewer: Option<PrincipalId>,
    ) -> Result<Located<Page<Instance>>, RepositoryError> {
        let access = self.access(definition_id, None, reviewer).await?;
        let page = match mine {
            Some(who) => {
                self.instances_reviewed_by(definition_id, who, query)
                    .await?
            }
            None => InstanceRepository::list(self, definition_id, query).await?,
        };
        Ok(locate(
            access,
            Some(page),
            Missing::Definition(definition_id),
        ))
    }

    async fn stages(
        &self,
        definition_id: DefinitionId,
        instance_id: InstanceId,
        query: ListQuery,
        mine: Option<PrincipalId>,
        reviewer: Option<PrincipalId>,
    ) -> Result<Located<Page<Stage>>, RepositoryError> {
        let access = self
            .access(definition_id, Some(instance_id), reviewer)
            .await?;
        let page = match mine {
            None => self.stages_page(instance_id, query).await?,
            Some(who) => {
                let reviewed = self.phases_reviewed_by(instance_id, who).await?;
                let mine = self
                    .all(instance_id)
                    .await?
                    .into_iter()
                    .filter(|s| reviewed.contains(&Phase::Stage(s.id)))
                    .filter(|s| query.status.is_none_or(|status| status == s.status()));
                Page::of(mine, query.page)
            }
        };
        Ok(locate(access, Some(page), Missing::Instance(instance_id)))
    }

    async fn items(
        &self,
        definition_id: DefinitionId,
        instance_id: InstanceId,
        stage_id: Option<StageId>,
        query: DecisionQuery,
        reviewer: Option<PrincipalId>,
    ) -> Result<Located<Page<DecisionItem>>, RepositoryError> {
        let access = self
            .access(definition_id, Some(instance_id), reviewer)
            .await?;
        let scope = match stage_id {
            Some(stage_id) => {
                if access.is_ok() && self.find_stage(instance_id, stage_id).await?.is_none() {
                    return Ok(Err(Missing::Stage(stage_id)));
                }
                ItemScope::Phase(Phase::Stage(stage_id))
            }
            None => ItemScope::Instance(instance_id),
        };
        let page = self.list_items(scope, query)?;
        Ok(locate(access, Some(page), Missing::Instance(instance_id)))
    }
}

#[async_trait]
impl crate::ports::AuditTrail for InMemoryRepository {
    async fn record(&self, entry: &crate::audit::AuditEntry) -> Result<(), RepositoryError> {
        self.store()?.audits.push(entry.clone());
        Ok(())
    }

    async fn audits(
        &self,
        query: &crate::audit::AuditQuery,
    ) -> Result<Page<crate::audit::AuditEntry>, RepositoryError> {
        let f = &query.filter;
        let store = self.store()?;
        let mut found: Vec<_> = store
            .audits
            .iter()
            .filter(|e| {
                f.from.is_none_or(|from| e.at >= from)
                    && f.to.is_none_or(|to| e.at <= to)
                    && f.category.as_ref().is_none_or(|c| *c == e.category)
                    && f.activity.as_ref().is_none_or(|a| *a == e.activity)
                    && f.logged_by
                        .as_ref()
                        .is_none_or(|l| l == crate::audit::LOGGED_BY)
                    && f.target.is_none_or(|t| e.targets.iter().any(|x| x.id == t))
            })
            .cloned()
            .collect();
        // Appended in time order; ties keep it.
        if !query.oldest_first {
            found.reverse();
        }
        Ok(Page::of(found, query.page))
    }

    async fn audit(
        &self,
        id: crate::ids::AuditId,
    ) -> Result<Option<crate::audit::AuditEntry>, RepositoryError> {
        Ok(self.store()?.audits.iter().find(|e| e.id == id).cloned())
    }
}

#[async_trait]
impl crate::ports::HistoryRepository for InMemoryRepository {
    async fn create_history(
        &self,
        definition: &crate::history::HistoryDefinition,
        instance: &crate::history::HistoryInstance,
    ) -> Result<(), RepositoryError> {
        let mut store = self.store()?;
        store.histories.push(definition.clone());
        store.history_instances.push(instance.clone());
        Ok(())
    }

    async fn history(
        &self,
        id: crate::ids::HistoryDefinitionId,
    ) -> Result<Option<crate::history::HistoryDefinition>, RepositoryError> {
        Ok(self.store()?.histories.iter().find(|h| h.id == id).cloned())
    }

    async fn histories(
        &self,
        page: PageRequest,
        since: DateTime<Utc>,
        created_by: Option<PrincipalId>,
    ) -> Result<Page<crate::history::HistoryDefinition>, RepositoryError> {
        let store = self.store()?;
        Ok(Page::of(
            store
                .histories
                .iter()
                .filter(|h| {
                    h.created_date_time > since && created_by.is_none_or(|c| c == h.created_by.id)
                })
                .cloned(),
            page,
        ))
    }

    async fn history_instances(
        &self,
        id: crate::ids::HistoryDefinitionId,
    ) -> Result<Vec<crate::history::HistoryInstance>, RepositoryError> {
        Ok(self
            .store()?
            .history_instances
            .iter()
            .filter(|i| i.definition_id == id)
            .cloned()
            .collect())
    }

    async fn set_download(
        &self,
        definition: crate::ids::HistoryDefinitionId,
        instance: crate::ids::HistoryInstanceId,
        download: &crate::history::Download,
    ) -> Result<bool, RepositoryError> {
        let mut store = self.store()?;
        match store
            .history_instances
            .iter_mut()
            .find(|i| i.id == instance && i.definition_id == definition)
        {
            Some(found) => {
                found.download = Some(download.clone());
                Ok(true)
            }
            None => Ok(false),
        }
    }

    async fn by_download(
        &self,
        token: &crate::history::DownloadToken,
    ) -> Result<
        Option<(
            crate::history::HistoryDefinition,
            crate::history::HistoryInstance,
        )>,
        RepositoryError,
    > {
        let store = self.store()?;
        let Some(instance) = store
            .history_instances
            .iter()
            .find(|i| i.download.as_ref().is_some_and(|d| d.token == *token))
        else {
            return Ok(None);
        };
        Ok(store
            .histories
            .iter()
            .find(|h| h.id == instance.definition_id)
            .map(|h| (h.clone(), instance.clone())))
    }
}
