use std::sync::Arc;

use crate::actor::Actor;
use crate::definition::Definition;
use crate::ids::{DefinitionId, InstanceId, StageId};
use crate::instance::Instance;
use crate::ports::{DefinitionRepository, InstanceRepository, RepositoryError, StageRepository};
use crate::query::{ListQuery, Page};
use crate::stage::Stage;
use crate::use_cases::Missing;

/// The reads: definitions, instances and stages, one or a page at a time.
pub struct ReadReviews {
    definitions: Arc<dyn DefinitionRepository>,
    instances: Arc<dyn InstanceRepository>,
    stages: Arc<dyn StageRepository>,
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
    pub fn new(
        definitions: Arc<dyn DefinitionRepository>,
        instances: Arc<dyn InstanceRepository>,
        stages: Arc<dyn StageRepository>,
    ) -> Self {
        Self {
            definitions,
            instances,
            stages,
        }
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
        let definition = self
            .definitions
            .get(id)
            .await?
            .ok_or(ReadError::NotFound(Missing::Definition(id)))?;
        if actor.may_read(&definition) {
            Ok(definition)
        } else {
            Err(ReadError::Forbidden)
        }
    }

    /// A page of a definition's instances.
    ///
    /// # Errors
    /// As [`Self::definition`].
    pub async fn instances(
        &self,
        actor: &Actor,
        definition_id: DefinitionId,
        query: ListQuery,
    ) -> Result<Page<Instance>, ReadError> {
        self.definition(actor, definition_id).await?;
        Ok(self.instances.list(definition_id, query).await?)
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
        let definition = self
            .definitions
            .get(definition_id)
            .await?
            .ok_or(ReadError::NotFound(Missing::Definition(definition_id)))?;
        let instance = self
            .instances
            .get(definition_id, instance_id)
            .await?
            .ok_or(ReadError::NotFound(Missing::Instance(instance_id)))?;
        if actor.may_read(&definition) {
            Ok(instance)
        } else {
            Err(ReadError::Forbidden)
        }
    }

    /// A page of an instance's stages.
    ///
    /// # Errors
    /// As [`Self::definition`].
    pub async fn stages(
        &self,
        actor: &Actor,
        definition_id: DefinitionId,
        instance_id: InstanceId,
        query: ListQuery,
    ) -> Result<Page<Stage>, ReadError> {
        self.instance(actor, definition_id, instance_id).await?;
        Ok(self.stages.list(instance_id, query).await?)
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
        let definition = self
            .definitions
            .get(definition_id)
            .await?
            .ok_or(ReadError::NotFound(Missing::Definition(definition_id)))?;
        self.instances
            .get(definition_id, instance_id)
            .await?
            .ok_or(ReadError::NotFound(Missing::Instance(instance_id)))?;
        let stage = self
            .stages
            .get(instance_id, stage_id)
            .await?
            .ok_or(ReadError::NotFound(Missing::Stage(stage_id)))?;
        if actor.may_read(&definition) {
            Ok(stage)
        } else {
            Err(ReadError::Forbidden)
        }
    }
}
