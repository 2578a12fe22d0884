use std::collections::HashSet;
use std::sync::Arc;

use crate::actor::Actor;
use crate::definition::Definition;
use crate::history::{
    Download, DownloadToken, HistoryDefinition, HistoryInstance, HistoryRow, LINK_LIFETIME,
    NewHistoryDefinition,
};
use crate::ids::{HistoryDefinitionId, HistoryInstanceId};
use crate::ports::{
    Clock, DecisionQuery, DefinitionRepository, DirectoryRepository, HistoryRepository,
    InstanceRepository, RepositoryError, ReviewReads,
};
use crate::query::{ListQuery, Page, PageRequest};
use crate::use_cases::Ports;

/// Review history: definitions of reports, their instances, download
/// links, and the reports themselves.
pub struct History {
    history: Arc<dyn HistoryRepository>,
    definitions: Arc<dyn DefinitionRepository>,
    instances: Arc<dyn InstanceRepository>,
    reads: Arc<dyn ReviewReads>,
    directory: Arc<dyn DirectoryRepository>,
    clock: Arc<dyn Clock>,
}

/// Why a history request was refused.
#[derive(Debug, thiserror::Error)]
pub enum HistoryError {
    /// No such history definition or instance (or it is past its
    /// retention).
    #[error("the history definition or instance was not found")]
    NotFound,
    /// The caller may not do this.
    #[error("the caller may not read or change this review history")]
    Forbidden,
    /// `reviewHistoryPeriodEndDateTime` before the start.
    #[error("the period ends before it starts")]
    PeriodReversed,
    /// The download link is unknown or has expired.
    #[error("the download link is unknown or has expired")]
    LinkExpired,
    /// The store failed.
    #[error(transparent)]
    Repository(#[from] RepositoryError),
}

/// A report as downloaded: its definition and rows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Report {
    /// The history definition.
    pub definition: HistoryDefinition,
    /// One per decision item it covers, by review then item.
    pub rows: Vec<HistoryRow>,
}

/// Pages through a listing until it ends.
const PAGE: i64 = PageRequest::MAX_TOP as i64;

impl History {
    /// Wires the use case.
    pub fn new(ports: &Ports) -> Self {
        Self {
            history: ports.history.clone(),
            definitions: ports.definitions.clone(),
            instances: ports.instances.clone(),
            reads: ports.reads.clone(),
            directory: ports.directory.clone(),
            clock: ports.clock.clone(),
        }
    }

    /// `POST …/historyDefinitions`: stores the definition and runs its
    /// report at once (its one instance is `done`).
    ///
    /// # Errors
    /// [`HistoryError::Forbidden`] unless the caller may read every access
    /// review (Graph: the report needs "a directory role that permits them
    /// to read an access review"); [`HistoryError::PeriodReversed`].
    pub async fn create(
        &self,
        actor: &Actor,
        spec: NewHistoryDefinition,
    ) -> Result<(HistoryDefinition, HistoryInstance), HistoryError> {
        if !actor.may_read_all() {
            return Err(HistoryError::Forbidden);
        }
        if spec.period_end < spec.period_start {
            return Err(HistoryError::PeriodReversed);
        }
        let now = self.clock.now().await?;
        let mut created_by = actor.as_creator();
        if let Some(user) = self.directory.user(actor.id()).await? {
            created_by.display_name = Some(user.display_name);
            created_by.user_principal_name = Some(user.user_principal_name);
        }
        let definition = HistoryDefinition {
            id: HistoryDefinitionId::new_random(),
            spec,
            created_by,
            created_date_time: now,
        };
        let instance = HistoryInstance {
            id: HistoryInstanceId::new_random(),
            definition_id: definition.id,
            run_date_time: now,
            download: None,
        };
        self.history.create_history(&definition, &instance).await?;
        Ok((definition, instance))
    }

    /// `GET …/historyDefinitions`: those of the last 30 days; a caller
    /// who may not read every review sees only its own.
    ///
    /// # Errors
    /// Only the store's.
    pub async fn list(
        &self,
        actor: &Actor,
        page: PageRequest,
    ) -> Result<Page<HistoryDefinition>, HistoryError> {
        let now = self.clock.now().await?;
        let mine = (!actor.may_read_all()).then(|| actor.id());
        Ok(self
            .history
            .histories(page, now - crate::history::RETENTION, mine)
            .await?)
    }

    /// `GET …/historyDefinitions/{id}`.
    ///
    /// # Errors
    /// [`HistoryError::NotFound`] also once it is 30 days old;
    /// [`HistoryError::Forbidden`] for another's, without a read role.
    pub async fn get(
        &self,
        actor: &Actor,
        id: HistoryDefinitionId,
    ) -> Result<HistoryDefinition, HistoryError> {
        let now = self.clock.now().await?;
        let definition = self
            .history
            .history(id)
            .await?
            .filter(|d| !d.expired(now))
            .ok_or(HistoryError::NotFound)?;
        if !actor.may_read_all() && !actor.is_user(definition.created_by.id) {
            return Err(HistoryError::Forbidden);
        }
        Ok(definition)
    }

    /// `GET …/historyDefinitions/{id}/instances`, each with its download
    /// link while that works.
    ///
    /// # Errors
    /// As [`Self::get`].
    pub async fn instances(
        &self,
        actor: &Actor,
        id: HistoryDefinitionId,
    ) -> Result<(HistoryDefinition, Vec<HistoryInstance>), HistoryError> {
        let definition = self.get(actor, id).await?;
        let now = self.clock.now().await?;
        let mut instances = self.history.history_instances(id).await?;
        for instance in &mut instances {
            instance.download = instance.download.take().filter(|d| d.works_at(now));
        }
        Ok((definition, instances))
    }

    /// `POST …/instances/{id}/generateDownloadUri`: a new link, valid for
    /// 24 hours; the previous one stops working.
    ///
    /// # Errors
    /// As [`Self::get`]; [`HistoryError::Forbidden`] unless the caller has
    /// a write role or created the definition.
    pub async fn generate_download(
        &self,
        actor: &Actor,
        id: HistoryDefinitionId,
        instance_id: HistoryInstanceId,
    ) -> Result<(HistoryDefinition, HistoryInstance), HistoryError> {
        let (definition, instances) = self.instances(actor, id).await?;
        if !actor.may_create() && !actor.is_user(definition.created_by.id) {
            return Err(HistoryError::Forbidden);
        }
        let mut instance = instances
            .into_iter()
            .find(|i| i.id == instance_id)
            .ok_or(HistoryError::NotFound)?;
        let now = self.clock.now().await?;
        let download = Download {
            token: DownloadToken::new_random(),
            expires: now + LINK_LIFETIME,
        };
        if !self
            .history
            .set_download(id, instance_id, &download)
            .await?
        {
            return Err(HistoryError::NotFound);
        }
        instance.download = Some(download);
        Ok((definition, instance))
    }

    /// The report a download link names, read from the reviews now.
    ///
    /// # Errors
    /// [`HistoryError::LinkExpired`] for an unknown, replaced or expired
    /// link, or a report past its retention.
    pub async fn download(&self, token: &DownloadToken) -> Result<Report, HistoryError> {
        let now = self.clock.now().await?;
        let Some((definition, _)) = self.history.by_download(token).await?.filter(|(d, i)| {
            !d.expired(now) && i.download.as_ref().is_some_and(|l| l.works_at(now))
        }) else {
            return Err(HistoryError::LinkExpired);
        };
        let rows = self.rows(&definition.spec).await?;
        Ok(Report { definition, rows })
    }

    /// Every item of every covered instance whose decision is selected.
    async fn rows(&self, spec: &NewHistoryDefinition) -> Result<Vec<HistoryRow>, HistoryError> {
        let mut reviews: Vec<Definition> = Vec::new();
        let mut seen = HashSet::new();
        for scope in &spec.scopes {
            let mut skip = 0;
            loop {
                let query = ListQuery {
                    page: page(skip),
                    scope_contains: scope.contains.clone(),
                    ..ListQuery::default()
                };
                let found = self.definitions.list(query, None).await?;
                skip += found.items.len() as u64;
                for definition in found.items {
                    if seen.insert(definition.id) {
                        reviews.push(definition);
                    }
                }
                if !found.has_more {
                    break;
                }
            }
        }
        let mut rows = Vec::new();
        for definition in reviews {
            let mut skip = 0;
            loop {
                let query = ListQuery {
                    page: page(skip),
                    ..ListQuery::default()
                };
                let instances = self.instances.list(definition.id, query).await?;
                skip += instances.items.len() as u64;
                for instance in instances.items {
                    if spec.covers(&definition, &instance) {
                        self.items_of(spec, &definition, &instance, &mut rows)
                            .await?;
                    }
                }
                if !instances.has_more {
                    break;
                }
            }
        }
        Ok(rows)
    }

    async fn items_of(
        &self,
        spec: &NewHistoryDefinition,
        definition: &Definition,
        instance: &crate::instance::Instance,
        rows: &mut Vec<HistoryRow>,
    ) -> Result<(), HistoryError> {
        let mut skip = 0;
        loop {
            let query = DecisionQuery {
                page: page(skip),
                ..DecisionQuery::default()
            };
            let Ok((items, _)) = self
                .reads
                .items(definition.id, instance.id, None, query, None)
                .await?
            else {
                // Deleted meanwhile: nothing to report.
                return Ok(());
            };
            skip += items.items.len() as u64;
            rows.extend(
                items
                    .items
                    .into_iter()
                    .filter(|item| spec.selects(item))
                    .map(|item| HistoryRow {
                        definition: definition.clone(),
                        instance: instance.clone(),
                        item,
                    }),
            );
            if !items.has_more {
                return Ok(());
            }
        }
    }
}

fn page(skip: u64) -> PageRequest {
    PageRequest::new(Some(PAGE), skip).unwrap_or_default()
}
