use std::sync::Arc;

use crate::actor::Actor;
use crate::decision::{ContactedReviewer, ReviewerOrder};
use crate::definition::Definition;
use crate::ids::{DefinitionId, InstanceId, StageId};
use crate::instance::Instance;
use crate::ports::{DefinitionRepository, Located, RepositoryError, ReviewReads};
use crate::query::{ListQuery, Page, PageRequest};
use crate::stage::Stage;
use crate::use_cases::Missing;
use crate::use_cases::Ports;

/// The reads: definitions, instances and stages, one or a page at a time,
/// each in one trip to the store (see [`ReviewReads`]).
pub struct ReadReviews {
    definitions: Arc<dyn DefinitionRepository>,
    reads: Arc<dyn ReviewReads>,
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

/// The object, once the path exists and the caller may read it: missing
/// objects are reported before missing rights.
pub(crate) fn visible<T>(actor: &Actor, located: Located<T>) -> Result<T, ReadError> {
    match located {
        Err(missing) => Err(ReadError::NotFound(missing)),
        Ok((object, access)) if actor.may_read_with(&access) => Ok(object),
        Ok(_) => Err(ReadError::Forbidden),
    }
}

impl ReadReviews {
    /// Wires the use case.
    pub fn new(ports: &Ports) -> Self {
        Self {
            definitions: ports.definitions.clone(),
            reads: ports.reads.clone(),
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

    /// One definition: a read role, its creator, or a reviewer in any of
    /// its instances may read it.
    ///
    /// # Errors
    /// [`ReadError::NotFound`], [`ReadError::Forbidden`],
    /// [`ReadError::Repository`].
    pub async fn definition(
        &self,
        actor: &Actor,
        id: DefinitionId,
    ) -> Result<Definition, ReadError> {
        let located = self.reads.definition(id, actor.reviewer_to_check()).await?;
        visible(actor, located)
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
            return match self
                .reads
                .instances(definition_id, query, Some(actor.id()), None)
                .await?
            {
                Ok((page, _)) => Ok(page),
                Err(missing) => Err(ReadError::NotFound(missing)),
            };
        }
        let located = self
            .reads
            .instances(definition_id, query, None, actor.reviewer_to_check())
            .await?;
        visible(actor, located)
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

    /// One instance: a read role, the creator, or a reviewer in it may
    /// read it.
    ///
    /// # Errors
    /// As [`Self::definition`].
    pub async fn instance(
        &self,
        actor: &Actor,
        definition_id: DefinitionId,
        instance_id: InstanceId,
    ) -> Result<Instance, ReadError> {
        let located = self
            .reads
            .instance(definition_id, instance_id, actor.reviewer_to_check())
            .await?;
        visible(actor, located)
    }

    /// `GET …/instances/{id}/contactedReviewers`: everyone who reviews in
    /// the instance, sorted by `order` (descending when `descending`),
    /// one page.
    ///
    /// # Errors
    /// As [`Self::instance`].
    pub async fn contacted_reviewers(
        &self,
        actor: &Actor,
        definition_id: DefinitionId,
        instance_id: InstanceId,
        order: ReviewerOrder,
        descending: bool,
        page: PageRequest,
    ) -> Result<Page<ContactedReviewer>, ReadError> {
        let instance = self.instance(actor, definition_id, instance_id).await?;
        let mut reviewers = self.reads.contacted_reviewers(instance.id).await?;
        order.sort(&mut reviewers, descending);
        Ok(Page::of(reviewers, page))
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
        let located = self
            .reads
            .stages(
                definition_id,
                instance_id,
                query,
                mine.then(|| actor.id()),
                actor.reviewer_to_check(),
            )
            .await?;
        visible(actor, located)
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
        let located = self
            .reads
            .stage(
                definition_id,
                instance_id,
                stage_id,
                actor.reviewer_to_check(),
            )
            .await?;
        visible(actor, located)
    }
}
