use std::sync::Arc;

use crate::actor::{Actor, DirectoryKind};
use crate::directory::{DirectoryObject, Group, Relation, User};
use crate::ids::PrincipalId;
use crate::ports::{Added, DirectoryRepository, RepositoryError};
use crate::query::{Page, PageRequest};
use crate::use_cases::Missing;
use crate::use_cases::Ports;

/// The directory's operations. Writes need a directory role (delegated
/// callers) on top of the API permission; reads need only the permission.
pub struct ManageDirectory {
    directory: Arc<dyn DirectoryRepository>,
}

/// A user to create.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewUser {
    /// Display name.
    pub display_name: String,
    /// Sign-in name, `alias@domain`.
    pub user_principal_name: String,
    /// Mail address.
    pub mail: Option<String>,
    /// Mail alias.
    pub mail_nickname: String,
    /// Whether the account can sign in.
    pub account_enabled: bool,
}

/// A group to create.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewGroup {
    /// Display name.
    pub display_name: String,
    /// Free text.
    pub description: Option<String>,
    /// Mail alias.
    pub mail_nickname: String,
    /// Whether the group has mail.
    pub mail_enabled: bool,
    /// Whether it is a security group.
    pub security_enabled: bool,
}

/// Why a directory operation failed.
#[derive(Debug, thiserror::Error)]
pub enum DirectoryError {
    /// The caller holds no role that may change this part of the directory.
    #[error("the caller may not change the directory")]
    Forbidden,
    /// An object named in the path or body does not exist.
    #[error("{0} not found")]
    NotFound(Missing),
    /// Another user has this user principal name.
    #[error("the user principal name is taken")]
    DuplicateUserPrincipalName,
    /// The user principal name is not of the form `alias@domain`.
    #[error("the user principal name is malformed")]
    MalformedUserPrincipalName,
    /// The object is a member (or owner) already.
    #[error("the object is already related to the group")]
    AlreadyRelated(Relation),
    /// Only users can own groups.
    #[error("only users can own groups")]
    OwnerMustBeUser,
    /// A user cannot be their own manager.
    #[error("a user cannot manage themselves")]
    OwnManager,
    /// A group cannot be its own member.
    #[error("a group cannot contain itself")]
    OwnMember,
    /// The store failed.
    #[error(transparent)]
    Repository(#[from] RepositoryError),
}

fn well_formed_upn(upn: &str) -> bool {
    matches!(upn.split_once('@'), Some((alias, domain))
        if !alias.is_empty() && !domain.is_empty() && !domain.contains('@')
            && !upn.chars().any(char::is_whitespace))
}

impl ManageDirectory {
    /// Wires the use case.
    pub fn new(ports: &Ports) -> Self {
        Self {
            directory: ports.directory.clone(),
        }
    }

    fn require(actor: &Actor, kind: DirectoryKind) -> Result<(), DirectoryError> {
        if actor.may_manage(kind) {
            Ok(())
        } else {
            Err(DirectoryError::Forbidden)
        }
    }

    /// Creates a user.
    ///
    /// # Errors
    /// Forbidden, a malformed or taken user principal name, or the store.
    pub async fn create_user(&self, actor: &Actor, new: NewUser) -> Result<User, DirectoryError> {
        Self::require(actor, DirectoryKind::Users)?;
        if !well_formed_upn(&new.user_principal_name) {
            return Err(DirectoryError::MalformedUserPrincipalName);
        }
        let user = User {
            id: PrincipalId::new_random(),
            display_name: new.display_name,
            user_principal_name: new.user_principal_name,
            mail: new.mail,
            mail_nickname: new.mail_nickname,
            account_enabled: new.account_enabled,
        };
        match self.directory.create_user(&user).await? {
            Added::Added => Ok(user),
            Added::AlreadyPresent => Err(DirectoryError::DuplicateUserPrincipalName),
        }
    }

    /// One user.
    ///
    /// # Errors
    /// Not found, or the store.
    pub async fn user(&self, id: PrincipalId) -> Result<User, DirectoryError> {
        self.directory
            .user(id)
            .await?
            .ok_or(DirectoryError::NotFound(Missing::User(id)))
    }

    /// A page of users.
    ///
    /// # Errors
    /// The store.
    pub async fn users(&self, page: PageRequest) -> Result<Page<User>, DirectoryError> {
        Ok(self.directory.users(page).await?)
    }

    /// Creates a group.
    ///
    /// # Errors
    /// Forbidden, or the store.
    pub async fn create_group(
        &self,
        actor: &Actor,
        new: NewGroup,
    ) -> Result<Group, DirectoryError> {
        Self::require(actor, DirectoryKind::Groups)?;
        let group = Group {
            id: PrincipalId::new_random(),
            display_name: new.display_name,
            description: new.description,
            mail_nickname: new.mail_nickname,
            mail_enabled: new.mail_enabled,
            security_enabled: new.security_enabled,
        };
        self.directory.create_group(&group).await?;
        Ok(group)
    }

    /// One group.
    ///
    /// # Errors
    /// Not found, or the store.
    pub async fn group(&self, id: PrincipalId) -> Result<Group, DirectoryError> {
        self.directory
            .group(id)
            .await?
            .ok_or(DirectoryError::NotFound(Missing::Group(id)))
    }

    /// A page of groups.
    ///
    /// # Errors
    /// The store.
    pub async fn groups(&self, page: PageRequest) -> Result<Page<Group>, DirectoryError> {
        Ok(self.directory.groups(page).await?)
    }

    /// Adds a member or owner to a group.
    ///
    /// # Errors
    /// Forbidden, unknown group or object, a duplicate, a group as owner or
    /// as its own member, or the store.
    pub async fn add(
        &self,
        actor: &Actor,
        group: PrincipalId,
        relation: Relation,
        object: PrincipalId,
    ) -> Result<(), DirectoryError> {
        Self::require(actor, DirectoryKind::Groups)?;
        self.group(group).await?;
        let found = self
            .directory
            .object(object)
            .await?
            .ok_or(DirectoryError::NotFound(Missing::DirectoryObject(object)))?;
        match (relation, &found) {
            (Relation::Owners, DirectoryObject::Group(_)) => {
                return Err(DirectoryError::OwnerMustBeUser);
            }
            (Relation::Members, DirectoryObject::Group(g)) if g.id == group => {
                return Err(DirectoryError::OwnMember);
            }
            _ => {}
        }
        match self.directory.add(group, relation, object).await? {
            Added::Added => Ok(()),
            Added::AlreadyPresent => Err(DirectoryError::AlreadyRelated(relation)),
        }
    }

    /// Removes a member from a group.
    ///
    /// # Errors
    /// Forbidden, unknown group, not a member, or the store.
    pub async fn remove_member(
        &self,
        actor: &Actor,
        group: PrincipalId,
        member: PrincipalId,
    ) -> Result<(), DirectoryError> {
        Self::require(actor, DirectoryKind::Groups)?;
        self.group(group).await?;
        if self.directory.remove_member(group, member).await? {
            Ok(())
        } else {
            Err(DirectoryError::NotFound(Missing::DirectoryObject(member)))
        }
    }

    /// A page of a group's direct members or owners.
    ///
    /// # Errors
    /// Unknown group, or the store.
    pub async fn related(
        &self,
        group: PrincipalId,
        relation: Relation,
        page: PageRequest,
    ) -> Result<Page<DirectoryObject>, DirectoryError> {
        self.group(group).await?;
        Ok(self.directory.related(group, relation, page).await?)
    }

    /// A page of a group's members, nested groups resolved.
    ///
    /// # Errors
    /// Unknown group, or the store.
    pub async fn transitive_members(
        &self,
        group: PrincipalId,
        page: PageRequest,
    ) -> Result<Page<DirectoryObject>, DirectoryError> {
        self.group(group).await?;
        Ok(self.directory.transitive_members(group, page).await?)
    }

    /// Sets a user's manager.
    ///
    /// # Errors
    /// Forbidden, unknown user or manager, the user themselves, or the store.
    pub async fn set_manager(
        &self,
        actor: &Actor,
        user: PrincipalId,
        manager: PrincipalId,
    ) -> Result<(), DirectoryError> {
        Self::require(actor, DirectoryKind::Users)?;
        self.user(user).await?;
        if user == manager {
            return Err(DirectoryError::OwnManager);
        }
        self.directory
            .user(manager)
            .await?
            .ok_or(DirectoryError::NotFound(Missing::DirectoryObject(manager)))?;
        Ok(self.directory.set_manager(user, manager).await?)
    }

    /// A user's manager.
    ///
    /// # Errors
    /// Unknown user, no manager, or the store.
    pub async fn manager(&self, user: PrincipalId) -> Result<User, DirectoryError> {
        self.user(user).await?;
        self.directory
            .manager(user)
            .await?
            .ok_or(DirectoryError::NotFound(Missing::Manager(user)))
    }
}
