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

/// The part of the directory that a definition's stage reviewers name,
/// read together with the rest of a stop, so that resolving the next
/// stage's reviewers needs no further trip to the store. It answers only
/// for the ids in [`looked_up`](Self::looked_up); for any other id the
/// directory itself is asked.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DirectorySnapshot {
    /// Every user or group id the snapshot answers for, present or not.
    pub looked_up: std::collections::HashSet<PrincipalId>,
    /// The looked-up ids that are users.
    pub users: std::collections::HashSet<PrincipalId>,
    /// The looked-up ids that are groups, with their users.
    pub groups: std::collections::HashMap<PrincipalId, GroupUsers>,
}

/// A group's users, each list in the directory's order.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct GroupUsers {
    /// Its owners.
    pub owners: Vec<PrincipalId>,
    /// Its direct members that are users.
    pub members: Vec<PrincipalId>,
    /// Its users, nested groups resolved.
    pub transitive_members: Vec<PrincipalId>,
}
