//! The Graph query strings of scopes and reviewer scopes that the service
//! can resolve against its directory.

use uuid::Uuid;

use crate::definition::QueryScope;
use crate::ids::PrincipalId;

/// What a review's `scope` names: the users in a group.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MembershipQuery {
    /// The group.
    pub group: PrincipalId,
    /// `transitiveMembers` (nested groups resolved) rather than `members`.
    pub transitive: bool,
}

/// What a reviewer scope names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReviewerQuery {
    /// `/users/{id}`.
    User(PrincipalId),
    /// `/groups/{id}/owners`.
    GroupOwners(PrincipalId),
    /// `/groups/{id}/members` or `/groups/{id}/transitiveMembers`.
    GroupMembers(MembershipQuery),
    /// `./manager` relative to each decision's principal.
    Manager,
}

/// A query the service cannot resolve.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unsupported query")]
pub struct UnsupportedQuery;

fn guid(segment: &str) -> Result<PrincipalId, UnsupportedQuery> {
    Uuid::parse_str(segment)
        .map(PrincipalId::from_uuid)
        .map_err(|_| UnsupportedQuery)
}

/// The path segments after a leading `/`, with Graph's optional user cast
/// (`/microsoft.graph.user`) removed from the end.
fn segments(query: &str) -> Vec<&str> {
    let mut parts: Vec<&str> = query.trim().trim_start_matches('/').split('/').collect();
    if parts.len() > 1
        && parts
            .last()
            .is_some_and(|p| p.eq_ignore_ascii_case("microsoft.graph.user"))
    {
        parts.pop();
    }
    parts
}

fn membership(parts: &[&str]) -> Result<MembershipQuery, UnsupportedQuery> {
    match parts {
        [groups, id, relation] if groups.eq_ignore_ascii_case("groups") => {
            let transitive = if relation.eq_ignore_ascii_case("transitiveMembers") {
                true
            } else if relation.eq_ignore_ascii_case("members") {
                false
            } else {
                return Err(UnsupportedQuery);
            };
            Ok(MembershipQuery {
                group: guid(id)?,
                transitive,
            })
        }
        _ => Err(UnsupportedQuery),
    }
}

impl MembershipQuery {
    /// Parses a review scope: `/groups/{id}/members` or
    /// `/groups/{id}/transitiveMembers`, optionally cast to users.
    ///
    /// # Errors
    /// [`UnsupportedQuery`] for anything else.
    pub fn parse(scope: &QueryScope) -> Result<Self, UnsupportedQuery> {
        membership(&segments(&scope.query))
    }
}

impl ReviewerQuery {
    /// Parses a reviewer scope.
    ///
    /// # Errors
    /// [`UnsupportedQuery`] for a form the service cannot resolve.
    pub fn parse(scope: &QueryScope) -> Result<Self, UnsupportedQuery> {
        let query = scope.query.trim();
        if query.eq_ignore_ascii_case("./manager") {
            return match scope.query_root.as_deref() {
                None => Ok(Self::Manager),
                Some(root) if root.eq_ignore_ascii_case("decisions") => Ok(Self::Manager),
                Some(_) => Err(UnsupportedQuery),
            };
        }
        let parts = segments(query);
        match parts.as_slice() {
            [users, id] if users.eq_ignore_ascii_case("users") => Ok(Self::User(guid(id)?)),
            [groups, id, owners]
                if groups.eq_ignore_ascii_case("groups")
                    && owners.eq_ignore_ascii_case("owners") =>
            {
                Ok(Self::GroupOwners(guid(id)?))
            }
            _ => membership(&parts).map(Self::GroupMembers),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const G: &str = "02f3bafb-448c-487c-88c2-5fd65ce49a41";

    fn scope(query: &str, root: Option<&str>) -> QueryScope {
        QueryScope {
            odata_type: None,
            query: query.into(),
            query_type: Some("MicrosoftGraph".into()),
            query_root: root.map(str::to_owned),
        }
    }

    fn group() -> PrincipalId {
        PrincipalId::from_uuid(Uuid::parse_str(G).unwrap())
    }

    #[test]
    fn review_scopes_name_a_groups_members_or_transitive_members() {
        for (query, transitive) in [
            (format!("/groups/{G}/transitiveMembers"), true),
            (
                format!("/groups/{G}/transitiveMembers/microsoft.graph.user"),
                true,
            ),
            (format!("/groups/{G}/members"), false),
            (format!("/groups/{G}/members/microsoft.graph.user"), false),
        ] {
            assert_eq!(
                MembershipQuery::parse(&scope(&query, None)),
                Ok(MembershipQuery {
                    group: group(),
                    transitive
                }),
                "{query}"
            );
        }
    }

    #[test]
    fn other_review_scopes_are_unsupported() {
        for query in [
            "/users".to_owned(),
            format!("/groups/{G}/owners"),
            "/groups/not-a-guid/members".to_owned(),
            format!("/groups/{G}/members/microsoft.graph.group"),
            "/identityGovernance/entitlementManagement/accessPackages".to_owned(),
        ] {
            assert_eq!(
                MembershipQuery::parse(&scope(&query, None)),
                Err(UnsupportedQuery),
                "{query}"
            );
        }
    }

    #[test]
    fn each_reviewer_query_form_parses() {
        assert_eq!(
            ReviewerQuery::parse(&scope(&format!("/users/{G}"), None)),
            Ok(ReviewerQuery::User(group()))
        );
        assert_eq!(
            ReviewerQuery::parse(&scope(&format!("/groups/{G}/owners"), None)),
            Ok(ReviewerQuery::GroupOwners(group()))
        );
        assert_eq!(
            ReviewerQuery::parse(&scope(&format!("/groups/{G}/transitiveMembers"), None)),
            Ok(ReviewerQuery::GroupMembers(MembershipQuery {
                group: group(),
                transitive: true
            }))
        );
        assert_eq!(
            ReviewerQuery::parse(&scope("./manager", Some("decisions"))),
            Ok(ReviewerQuery::Manager)
        );
        assert_eq!(
            ReviewerQuery::parse(&scope("./manager", None)),
            Ok(ReviewerQuery::Manager)
        );
        assert_eq!(
            ReviewerQuery::parse(&scope("./manager", Some("instance"))),
            Err(UnsupportedQuery)
        );
        assert_eq!(
            ReviewerQuery::parse(&scope("./sponsors", Some("decisions"))),
            Err(UnsupportedQuery)
        );
        assert_eq!(
            ReviewerQuery::parse(&scope("/users/bob", None)),
            Err(UnsupportedQuery)
        );
    }
}
