use std::sync::Arc;

use crate::actor::Actor;
use crate::definition::Definition;
use crate::ids::{DefinitionId, InstanceId, StageId};
use crate::instance::Instance;
use crate::ports::{
    DecisionRepository, DefinitionRepository, InstanceRepository, Phase, RepositoryError,
    StageRepository,
};
use crate::query::{ListQuery, Page};
use crate::stage::Stage;
use crate::use_cases::Ports;
use crate::use_cases::{Missing, find_definition, find_instance};

/// The reads: definitions, instances and stages, one or a page at a time.
pub struct ReadReviews {
    definitions: Arc<dyn DefinitionRepository>,
    instances: Arc<dyn InstanceRepository>,
    stages: Arc<dyn StageRepository>,
    decisions: Arc<dyn DecisionRepository>,
}

/// Why a read failed.
#[derive(Debug, thiserror::Error)]
pub enum ReadError {
    /// An object of the path does not exist under its parent.
    #[error("{0} not found")]
    NotFound(Missing),
    /// The caller may not read this review.
    #[error("the caller may not read this access review")]
    Forbidden,
    /// The store failed.
    #[error(transparent)]
    Repository(#[from] RepositoryError),
}

impl ReadReviews {
    /// Wires the use case.
    pub fn new(ports: &Ports) -> Self {
        Self {
            definitions: ports.definitions.clone(),
            instances: ports.instances.clone(),
            stages: ports.stages.clone(),
            decisions: ports.decisions.clone(),
        }
    }

    /// A read role, the creator, or (once decisions exist) a reviewer in
    /// the instance, or in any instance of the definition.
    async fn may_read(
        &self,
        actor: &Actor,
        definition: &Definition,
        instance: Option<InstanceId>,
    ) -> Result<bool, ReadError> {
        if actor.may_read(definition) {
            return Ok(true);
        }
        Ok(match instance {
            Some(id) => !self
                .decisions
                .phases_reviewed_by(id, actor.id())
                .await?
                .is_empty(),
            // Every instance, not a page of them.
            None => {
                self.decisions
                    .reviews_in_definition(definition.id, actor.id())
                    .await?
            }
        })
    }

    /// A page of definitions: all of them for a caller with a read role,
    /// else the ones the caller created.
    ///
    /// # Errors
    /// Only [`ReadError::Repository`].
    pub async fn definitions(
        &self,
        actor: &Actor,
        query: ListQuery,
    ) -> Result<Page<Definition>, ReadError> {
        let created_by = (!actor.may_read_all()).then(|| actor.id());
        Ok(self.definitions.list(query, created_by).await?)
    }

    /// One definition.
    ///
    /// # Errors
    /// [`ReadError::NotFound`], [`ReadError::Forbidden`],
    /// [`ReadError::Repository`].
    pub async fn definition(
        &self,
        actor: &Actor,
        id: DefinitionId,
    ) -> Result<Definition, ReadError> {
        let definition = find_definition(&*self.definitions, id).await?;
        if self.may_read(actor, &definition, None).await? {
            Ok(definition)
        } else {
            Err(ReadError::Forbidden)
        }
    }

    /// A page of a definition's instances; with `mine`, only those in
    /// which the caller reviews (`filterByCurrentUser(on='reviewer')`),
    /// which anyone may ask of an existing definition.
    ///
    /// # Errors
    /// As [`Self::definition`].
    pub async fn instances(
        &self,
        actor: &Actor,
        definition_id: DefinitionId,
        query: ListQuery,
        mine: bool,
    ) -> Result<Page<Instance>, ReadError> {
        if mine {
            find_definition(&*self.definitions, definition_id).await?;
            return Ok(self
                .instances
                .list_reviewed_by(definition_id, actor.id(), query)
                .await?);
        }
        self.definition(actor, definition_id).await?;
        Ok(self.instances.list(definition_id, query).await?)
    }

    /// `GET /definitions/filterByCurrentUser(on='reviewer')`: a page of the
    /// definitions in any of whose instances the caller reviews.
    ///
    /// # Errors
    /// Only [`ReadError::Repository`].
    pub async fn definitions_reviewed(
        &self,
        actor: &Actor,
        query: ListQuery,
    ) -> Result<Page<Definition>, ReadError> {
        Ok(self.definitions.list_reviewed_by(actor.id(), query).await?)
    }

    /// One instance.
    ///
    /// # Errors
    /// As [`Self::definition`].
    pub async fn instance(
        &self,
        actor: &Actor,
        definition_id: DefinitionId,
        instance_id: InstanceId,
    ) -> Result<Instance, ReadError> {
        let (definition, instance) = find_instance(
            &*self.definitions,
            &*self.instances,
            definition_id,
            instance_id,
        )
        .await?;
        if self.may_read(actor, &definition, Some(instance_id)).await? {
            Ok(instance)
        } else {
            Err(ReadError::Forbidden)
        }
    }

    /// A page of an instance's stages; with `mine`, only those in which the
    /// caller reviews (`filterByCurrentUser(on='reviewer')`).
    ///
    /// # Errors
    /// As [`Self::definition`].
    pub async fn stages(
        &self,
        actor: &Actor,
        definition_id: DefinitionId,
        instance_id: InstanceId,
        query: ListQuery,
        mine: bool,
    ) -> Result<Page<Stage>, ReadError> {
        self.instance(actor, definition_id, instance_id).await?;
        if !mine {
            return Ok(self.stages.list(instance_id, query).await?);
        }
        // At most three stages: filter and page in memory.
        let reviewed = self
            .decisions
            .phases_reviewed_by(instance_id, actor.id())
            .await?;
        let mine = self
            .stages
            .all(instance_id)
            .await?
            .into_iter()
            .filter(|s| reviewed.contains(&Phase::Stage(s.id)))
            .filter(|s| query.status.is_none_or(|status| status == s.status()));
        Ok(Page::of(mine, query.page))
    }

    /// One stage.
    ///
    /// # Errors
    /// As [`Self::definition`].
    pub async fn stage(
        &self,
        actor: &Actor,
        definition_id: DefinitionId,
        instance_id: InstanceId,
        stage_id: StageId,
    ) -> Result<Stage, ReadError> {
        let (definition, _) = find_instance(
            &*self.definitions,
            &*self.instances,
            definition_id,
            instance_id,
        )
        .await?;
        let stage = self
            .stages
            .get(instance_id, stage_id)
            .await?
            .ok_or(ReadError::NotFound(Missing::Stage(stage_id)))?;
        if self.may_read(actor, &definition, Some(instance_id)).await? {
            Ok(stage)
        } else {
            Err(ReadError::Forbidden)
        }
    }
}
