//! Resolving reviewer scopes and review scopes against the directory.

use crate::decision::{DecisionItem, Identity, Resource, ReviewerRules};
use crate::definition::QueryScope;
use async_trait::async_trait;

use crate::directory::{DirectorySnapshot, User};
use crate::ids::{InstanceId, PrincipalId};
use crate::ports::{DirectoryRepository, RepositoryError};
use crate::queries::{MembershipQuery, ReviewerQuery};

/// Why a reviewer scope could not be resolved. `fallback` and `index` say
/// which entry of which list.
#[derive(Debug, thiserror::Error)]
pub(crate) enum ResolveError {
    #[error("unsupported reviewer query")]
    Unsupported { fallback: bool, index: usize },
    #[error("the reviewer query names an unknown user or group")]
    NotFound { fallback: bool, index: usize },
    #[error(transparent)]
    Repository(#[from] RepositoryError),
}

/// Where reviewer queries are resolved: the directory, or a snapshot of
/// it read with a stop (falling back to the directory for what it does
/// not answer).
#[async_trait]
pub(crate) trait ReviewerSource: Send + Sync {
    /// Whether the user exists.
    async fn user_exists(&self, id: PrincipalId) -> Result<bool, RepositoryError>;
    /// The group's owners and members as `query` names them; `None` when
    /// the group does not exist.
    async fn group_users(
        &self,
        group: PrincipalId,
        query: GroupUsersQuery,
    ) -> Result<Option<Vec<PrincipalId>>, RepositoryError>;
}

/// Which users of a group.
#[derive(Debug, Clone, Copy)]
pub(crate) enum GroupUsersQuery {
    Owners,
    Members { transitive: bool },
}

#[async_trait]
impl ReviewerSource for dyn DirectoryRepository {
    async fn user_exists(&self, id: PrincipalId) -> Result<bool, RepositoryError> {
        Ok(self.user(id).await?.is_some())
    }

    async fn group_users(
        &self,
        group: PrincipalId,
        query: GroupUsersQuery,
    ) -> Result<Option<Vec<PrincipalId>>, RepositoryError> {
        if self.group(group).await?.is_none() {
            return Ok(None);
        }
        let users = match query {
            GroupUsersQuery::Owners => self.owner_users(group).await?,
            GroupUsersQuery::Members { transitive } => {
                self.member_users(MembershipQuery { group, transitive })
                    .await?
            }
        };
        Ok(Some(ids(users)))
    }
}

/// A [`DirectorySnapshot`] in front of the directory.
pub(crate) struct Prefetched<'a> {
    pub(crate) snapshot: &'a DirectorySnapshot,
    pub(crate) directory: &'a (dyn DirectoryRepository + 'static),
}

#[async_trait]
impl ReviewerSource for Prefetched<'_> {
    async fn user_exists(&self, id: PrincipalId) -> Result<bool, RepositoryError> {
        if self.snapshot.looked_up.contains(&id) {
            return Ok(self.snapshot.users.contains(&id));
        }
        self.directory.user_exists(id).await
    }

    async fn group_users(
        &self,
        group: PrincipalId,
        query: GroupUsersQuery,
    ) -> Result<Option<Vec<PrincipalId>>, RepositoryError> {
        if !self.snapshot.looked_up.contains(&group) {
            return self.directory.group_users(group, query).await;
        }
        Ok(self.snapshot.groups.get(&group).map(|g| match query {
            GroupUsersQuery::Owners => g.owners.clone(),
            GroupUsersQuery::Members { transitive: false } => g.members.clone(),
            GroupUsersQuery::Members { transitive: true } => g.transitive_members.clone(),
        }))
    }
}

/// Resolves `reviewers` and `fallback` to rules: fixed users are looked up
/// now; `./manager` is resolved per item when items enter the phase.
pub(crate) async fn resolve_rules(
    directory: &(impl ReviewerSource + ?Sized),
    reviewers: &[QueryScope],
    fallback: &[QueryScope],
) -> Result<ReviewerRules, ResolveError> {
    let mut rules = ReviewerRules {
        self_review: reviewers.is_empty(),
        ..ReviewerRules::default()
    };
    for (is_fallback, scopes) in [(false, reviewers), (true, fallback)] {
        for (index, scope) in scopes.iter().enumerate() {
            let query = ReviewerQuery::parse(scope).map_err(|_| ResolveError::Unsupported {
                fallback: is_fallback,
                index,
            })?;
            let not_found = ResolveError::NotFound {
                fallback: is_fallback,
                index,
            };
            let users: Vec<PrincipalId> = match query {
                ReviewerQuery::Manager if is_fallback => {
                    return Err(ResolveError::Unsupported {
                        fallback: true,
                        index,
                    });
                }
                ReviewerQuery::Manager => {
                    rules.by_manager = true;
                    continue;
                }
                ReviewerQuery::User(id) => {
                    if !directory.user_exists(id).await? {
                        return Err(not_found);
                    }
                    vec![id]
                }
                ReviewerQuery::GroupOwners(group) => directory
                    .group_users(group, GroupUsersQuery::Owners)
                    .await?
                    .ok_or(not_found)?,
                ReviewerQuery::GroupMembers(query) => directory
                    .group_users(
                        query.group,
                        GroupUsersQuery::Members {
                            transitive: query.transitive,
                        },
                    )
                    .await?
                    .ok_or(not_found)?,
            };
            let target = if is_fallback {
                &mut rules.fallback
            } else {
                &mut rules.fixed
            };
            for user in users {
                if !target.contains(&user) {
                    target.push(user);
                }
            }
        }
    }
    Ok(rules)
}

fn ids(users: Vec<User>) -> Vec<PrincipalId> {
    users.into_iter().map(|u| u.id).collect()
}

/// Why a review scope could not be resolved.
#[derive(Debug, thiserror::Error)]
pub(crate) enum ScopeError {
    #[error("unsupported scope query")]
    Unsupported,
    #[error("the scope names an unknown group")]
    GroupNotFound(PrincipalId),
    #[error(transparent)]
    Repository(#[from] RepositoryError),
}

/// One decision item per user the scope names, with the group as resource.
pub(crate) async fn resolve_items(
    directory: &dyn DirectoryRepository,
    scope: &QueryScope,
    instance: InstanceId,
) -> Result<Vec<DecisionItem>, ScopeError> {
    let query = MembershipQuery::parse(scope).map_err(|_| ScopeError::Unsupported)?;
    let group = directory
        .group(query.group)
        .await?
        .ok_or(ScopeError::GroupNotFound(query.group))?;
    let resource = Resource {
        id: group.id,
        display_name: group.display_name,
    };
    Ok(directory
        .member_users(query)
        .await?
        .into_iter()
        .map(|user| {
            DecisionItem::new(
                instance,
                Identity {
                    id: user.id,
                    display_name: user.display_name,
                    user_principal_name: user.user_principal_name,
                },
                resource.clone(),
            )
        })
        .collect())
}

/// [`resolve_rules`] for a phase that starts on schedule: a reviewer query
/// that no longer resolves leaves the phase without those reviewers
/// instead of failing.
pub(crate) async fn resolve_rules_leniently(
    directory: &(impl ReviewerSource + ?Sized),
    reviewers: &[QueryScope],
    fallback: &[QueryScope],
) -> Result<ReviewerRules, RepositoryError> {
    match resolve_rules(directory, reviewers, fallback).await {
        Ok(rules) => Ok(rules),
        Err(ResolveError::Repository(e)) => Err(e),
        Err(ResolveError::Unsupported { .. } | ResolveError::NotFound { .. }) => {
            Ok(ReviewerRules::default())
        }
    }
}

/// [`resolve_items`] for an instance that starts on schedule: a scope
/// whose group is gone has nobody to review. The items are made for a
/// placeholder instance; the caller moves them to the one that starts.
pub(crate) async fn resolve_items_leniently(
    directory: &dyn DirectoryRepository,
    scope: &QueryScope,
) -> Result<Vec<DecisionItem>, RepositoryError> {
    match resolve_items(directory, scope, InstanceId::new_random()).await {
        Ok(items) => Ok(items),
        Err(ScopeError::Repository(e)) => Err(e),
        Err(ScopeError::Unsupported | ScopeError::GroupNotFound(_)) => Ok(Vec::new()),
    }
}
