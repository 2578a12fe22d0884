//! The directory: the users and groups a review is about and the people
//! who review. Graph's `users` and `groups`, reduced to what reviews need.

use crate::ids::PrincipalId;

/// A directory user.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct User {
    /// Object id.
    pub id: PrincipalId,
    /// Display name.
    pub display_name: String,
    /// Sign-in name, unique in the directory (compared case-insensitively).
    pub user_principal_name: String,
    /// Mail address.
    pub mail: Option<String>,
    /// Mail alias.
    pub mail_nickname: String,
    /// Whether the account can sign in.
    pub account_enabled: bool,
}

/// A directory group.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Group {
    /// Object id.
    pub id: PrincipalId,
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

/// A member or owner of a group: a user or a (nested) group.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DirectoryObject {
    /// A user.
    User(User),
    /// A group.
    Group(Group),
}

impl DirectoryObject {
    /// Its object id.
    pub fn id(&self) -> PrincipalId {
        match self {
            Self::User(u) => u.id,
            Self::Group(g) => g.id,
        }
    }
}

/// Which relation of a group.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Relation {
    /// `members`.
    Members,
    /// `owners`.
    Owners,
}
