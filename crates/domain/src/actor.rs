//! Who is calling, and what the directory lets them do with access reviews.
//!
//! The HTTP adapter checks the token's scope or app role (the API
//! permission) before anything is looked up; the rules here are the ones
//! that depend on the caller's directory roles and on the object itself
//! (the definition's creator).

use crate::decision::Identity;
use crate::definition::{Creator, Definition};
use crate::ids::PrincipalId;
use crate::ports::Access;
use uuid::Uuid;

/// Built-in Microsoft Entra roles that matter to access reviews.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DirectoryRole {
    /// Global Administrator.
    GlobalAdministrator,
    /// Identity Governance Administrator.
    IdentityGovernanceAdministrator,
    /// User Administrator.
    UserAdministrator,
    /// Privileged Role Administrator.
    PrivilegedRoleAdministrator,
    /// Security Administrator (read only for access reviews).
    SecurityAdministrator,
    /// Security Reader (read only).
    SecurityReader,
    /// Global Reader (read only).
    GlobalReader,
    /// Groups Administrator: manages groups, not access reviews.
    GroupsAdministrator,
    /// Reports Reader: reads audit logs, not access reviews.
    ReportsReader,
}

impl DirectoryRole {
    /// Whether the role may read any access review.
    pub const fn may_read(self) -> bool {
        !matches!(self, Self::GroupsAdministrator | Self::ReportsReader)
    }

    /// Whether the role may read the audit log (Graph's list of roles for
    /// `directoryAudits`).
    pub const fn may_read_audit_logs(self) -> bool {
        matches!(
            self,
            Self::GlobalAdministrator
                | Self::SecurityAdministrator
                | Self::SecurityReader
                | Self::ReportsReader
                | Self::GlobalReader
        )
    }

    /// Whether the role may create access reviews and act on any of them.
    pub const fn may_write(self) -> bool {
        match self {
            Self::GlobalAdministrator
            | Self::IdentityGovernanceAdministrator
            | Self::UserAdministrator
            | Self::PrivilegedRoleAdministrator => true,
            Self::SecurityAdministrator
            | Self::SecurityReader
            | Self::GlobalReader
            | Self::GroupsAdministrator
            | Self::ReportsReader => false,
        }
    }

    /// Whether the role may change users (`User` objects) or groups.
    pub const fn may_manage(self, kind: DirectoryKind) -> bool {
        matches!(
            (self, kind),
            (Self::GlobalAdministrator, _)
                | (Self::UserAdministrator, DirectoryKind::Users)
                | (Self::GroupsAdministrator, DirectoryKind::Groups)
        )
    }
}

/// The two halves of the directory, for the roles that manage them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DirectoryKind {
    /// Users and their managers.
    Users,
    /// Groups, their members and owners.
    Groups,
}

/// The service itself, as Graph shows it in `reviewedBy` and `appliedBy`
/// when the system decided or applied: the all-zero id, named
/// "Access Reviews", no sign-in name.
pub fn system_identity() -> Identity {
    Identity {
        id: PrincipalId::from_uuid(Uuid::nil()),
        display_name: SYSTEM_NAME.to_owned(),
        user_principal_name: String::new(),
    }
}

/// The display name of [`system_identity`].
pub const SYSTEM_NAME: &str = "Access Reviews";

/// The authenticated caller.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Actor {
    /// A signed-in user acting through an application (delegated token).
    User {
        /// The user's object id.
        id: PrincipalId,
        /// Display name, when the token carries one.
        display_name: Option<String>,
        /// User principal name, when the token carries one.
        user_principal_name: Option<String>,
        /// The user's directory roles.
        roles: Vec<DirectoryRole>,
    },
    /// An application acting as itself (app-only token). Its permission is
    /// entirely its app role, checked before the domain is reached.
    Application {
        /// The service principal's object id.
        id: PrincipalId,
        /// The application's name, when the token carries one.
        display_name: Option<String>,
    },
}

impl Actor {
    /// The service itself, acting on schedule: an application with the
    /// all-zero id, named as [`system_identity`].
    pub fn system() -> Self {
        let identity = system_identity();
        Self::Application {
            id: identity.id,
            display_name: Some(identity.display_name),
        }
    }

    /// The caller's object id.
    pub fn id(&self) -> PrincipalId {
        match self {
            Self::User { id, .. } | Self::Application { id, .. } => *id,
        }
    }

    /// Whether the caller may create access reviews.
    pub fn may_create(&self) -> bool {
        match self {
            Self::User { roles, .. } => roles.iter().any(|r| r.may_write()),
            Self::Application { .. } => true,
        }
    }

    /// Whether the caller may read every access review, not only its own.
    pub fn may_read_all(&self) -> bool {
        match self {
            Self::User { roles, .. } => roles.iter().any(|r| r.may_read()),
            Self::Application { .. } => true,
        }
    }

    /// Whether the caller may read this definition and what hangs off it:
    /// a read role, or being its creator.
    pub fn may_read(&self, definition: &Definition) -> bool {
        self.may_read_all() || self.is_creator_of(definition)
    }

    /// Whether the caller may read a review whose [`Access`] was read with
    /// it: a read role, being its creator, or reviewing in it.
    pub fn may_read_with(&self, access: &Access) -> bool {
        self.may_read_all() || access.reviews || self.is_user(access.created_by)
    }

    /// Whom a read must ask about reviewing ([`Access::reviews`]): the
    /// caller, unless a role lets it read everything anyway.
    pub fn reviewer_to_check(&self) -> Option<PrincipalId> {
        (!self.may_read_all()).then(|| self.id())
    }

    /// Whether the caller may act on this definition (stop a stage, ...): a
    /// write role, or being its creator.
    pub fn may_write(&self, definition: &Definition) -> bool {
        self.may_create() || self.is_creator_of(definition)
    }

    /// Only a delegated caller can be a creator in this sense: an
    /// application's rights come from its app role alone.
    fn is_creator_of(&self, definition: &Definition) -> bool {
        self.is_user(definition.created_by.id)
    }

    /// Whether the caller is the signed-in user `who` (never an
    /// application): what being an object's creator grants.
    pub fn is_user(&self, who: PrincipalId) -> bool {
        matches!(self, Self::User { id, .. } if *id == who)
    }

    /// Whether the caller may read the audit log: an application by its
    /// app role alone, a user by a directory role.
    pub fn may_read_audit_logs(&self) -> bool {
        match self {
            Self::User { roles, .. } => roles.iter().any(|r| r.may_read_audit_logs()),
            Self::Application { .. } => true,
        }
    }

    /// Whether the caller may change this half of the directory: an
    /// application by its app role alone, a user by a directory role.
    pub fn may_manage(&self, kind: DirectoryKind) -> bool {
        match self {
            Self::User { roles, .. } => roles.iter().any(|r| r.may_manage(kind)),
            Self::Application { .. } => true,
        }
    }

    /// How the caller appears as `createdBy`.
    pub fn as_creator(&self) -> Creator {
        match self {
            Self::User {
                id,
                display_name,
                user_principal_name,
                ..
            } => Creator {
                id: *id,
                display_name: display_name.clone(),
                user_principal_name: user_principal_name.clone(),
            },
            Self::Application { id, display_name } => Creator {
                id: *id,
                display_name: display_name.clone(),
                user_principal_name: None,
            },
        }
    }
}
