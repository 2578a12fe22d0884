//! In-memory fakes of the ports, for tests of the use cases and of the HTTP
//! adapter. They keep the ports' contracts (all-or-nothing writes, the
//! guarded stop) so tests written against them hold for the real adapter.

use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use async_trait::async_trait;
use chrono::{DateTime, TimeZone, Utc};

use crate::definition::Definition;
use crate::ids::{DefinitionId, InstanceId, PrincipalId, StageId};
use crate::instance::Instance;
use crate::ports::{
    Clock, DefinitionRepository, InstanceRepository, RepositoryError, StageRepository,
    StartedReview, StopOutcome,
};
use crate::query::{ListQuery, Page};
use crate::stage::Stage;
use crate::status::ReviewStatus;
use crate::stop::{StopAudit, StopTransition};

#[derive(Default)]
struct Store {
    definitions: Vec<Definition>,
    instances: Vec<Instance>,
    stages: Vec<Stage>,
    audit: Vec<StopAudit>,
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

    /// The audit records written so far.
    pub fn audit(&self) -> Vec<StopAudit> {
        self.store
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .audit
            .clone()
    }

    /// Inserts a stage directly, bypassing the use cases (to set up states
    /// the API cannot reach).
    pub fn put_stage(&self, stage: Stage) {
        let mut store = self.store.lock().unwrap_or_else(PoisonError::into_inner);
        store.stages.retain(|s| s.id != stage.id);
        store.stages.push(stage);
    }
}

fn page<'a, T: Clone + 'a>(items: impl Iterator<Item = &'a T>, query: ListQuery) -> Page<T> {
    let skip = usize::try_from(query.page.skip()).unwrap_or(usize::MAX);
    let top = usize::from(query.page.top());
    let mut items: Vec<T> = items.skip(skip).take(top + 1).cloned().collect();
    let has_more = items.len() > top;
    items.truncate(top);
    Page { items, has_more }
}

fn status_matches(query: ListQuery, status: ReviewStatus) -> bool {
    query.status.is_none_or(|wanted| wanted == status)
}

#[async_trait]
impl DefinitionRepository for InMemoryRepository {
    async fn create(&self, review: &StartedReview) -> Result<(), RepositoryError> {
        let mut store = self.store()?;
        store.definitions.push(review.definition.clone());
        store.instances.push(review.instance.clone());
        store.stages.extend(review.first_stage.clone());
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

    async fn list(
        &self,
        query: ListQuery,
        created_by: Option<PrincipalId>,
    ) -> Result<Page<Definition>, RepositoryError> {
        let store = self.store()?;
        Ok(page(
            store.definitions.iter().filter(|d| {
                status_matches(query, d.status) && created_by.is_none_or(|c| c == d.created_by.id)
            }),
            query,
        ))
    }
}

#[async_trait]
impl InstanceRepository for InMemoryRepository {
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
                .filter(|i| i.definition_id == definition_id && status_matches(query, i.status())),
            query,
        ))
    }
}

#[async_trait]
impl StageRepository for InMemoryRepository {
    async fn get(
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

    async fn list(
        &self,
        instance_id: InstanceId,
        query: ListQuery,
    ) -> Result<Page<Stage>, RepositoryError> {
        let store = self.store()?;
        Ok(page(
            store
                .stages
                .iter()
                .filter(|s| s.instance_id == instance_id && status_matches(query, s.status())),
            query,
        ))
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
        if let Some(instance) = store
            .instances
            .iter_mut()
            .find(|i| i.id == transition.instance.id)
        {
            *instance = transition.instance.clone();
        }
        if transition.definition_completed
            && let Some(definition) = store
                .definitions
                .iter_mut()
                .find(|d| d.id == transition.audit.definition_id)
        {
            definition.status = ReviewStatus::Completed;
            definition.last_modified_date_time = transition.audit.at;
        }
        store.audit.push(transition.audit.clone());
        Ok(StopOutcome::Committed)
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

impl Clock for FixedClock {
    fn now(&self) -> DateTime<Utc> {
        *self.0.lock().unwrap_or_else(PoisonError::into_inner)
    }
}
