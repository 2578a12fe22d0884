//! Review history: `accessReviewHistoryDefinition`s, the report each one
//! runs (its one `accessReviewHistoryInstance`, as a definition without a
//! recurring schedule has), and the time-limited links that download it.

use chrono::{DateTime, Duration, Utc};

use crate::decision::{Decision, DecisionItem};
use crate::definition::{Creator, Definition, DisplayName, QueryScope};
use crate::ids::{HistoryDefinitionId, HistoryInstanceId};
use crate::instance::Instance;

/// How long a history definition and its report are kept (Graph: "each
/// instance and its data is available for 30 days").
pub const RETENTION: Duration = Duration::days(30);

/// How long a download link works (Graph: "each URI is valid for 24
/// hours").
pub const LINK_LIFETIME: Duration = Duration::hours(24);

/// A decision a report includes (`decisions`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum HistoryDecision {
    /// `approve`.
    Approve,
    /// `deny`.
    Deny,
    /// `dontKnow`.
    DontKnow,
    /// `notReviewed`.
    NotReviewed,
    /// `notNotified`: the reviewers were never told. This service sends no
    /// mail and counts every undecided item as `notReviewed`, so this
    /// value selects nothing.
    NotNotified,
}

impl HistoryDecision {
    /// Every value, in Graph's order; the default selection.
    pub const ALL: [HistoryDecision; 5] = [
        Self::Approve,
        Self::Deny,
        Self::DontKnow,
        Self::NotReviewed,
        Self::NotNotified,
    ];

    /// Graph's spelling.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Approve => "approve",
            Self::Deny => "deny",
            Self::DontKnow => "dontKnow",
            Self::NotReviewed => "notReviewed",
            Self::NotNotified => "notNotified",
        }
    }

    /// The value Graph spells `name`.
    pub fn parse(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|d| d.as_str() == name)
    }

    /// The value an item's latest decision counts as.
    pub fn of(decision: Decision) -> Self {
        match decision {
            Decision::Approve => Self::Approve,
            Decision::Deny => Self::Deny,
            Decision::DontKnow => Self::DontKnow,
            Decision::NotReviewed => Self::NotReviewed,
        }
    }
}

/// One of `scopes`: which access review definitions a report covers, as
/// Graph writes it: `/identityGovernance/accessReviews/definitions`,
/// optionally with `?$filter=contains(scope/query, '{text}')`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HistoryScope {
    /// As sent, answered as sent.
    pub scope: QueryScope,
    /// The text the reviewed definitions' scope query must contain; `None`
    /// for every definition.
    pub contains: Option<String>,
}

/// A history scope query that is not of the form Graph documents.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("not a definitions query with an optional contains(scope/query, '…') filter")]
pub struct UnsupportedHistoryScope;

impl HistoryScope {
    /// Reads `scope.query`.
    ///
    /// # Errors
    /// [`UnsupportedHistoryScope`] for any other form.
    pub fn parse(scope: QueryScope) -> Result<Self, UnsupportedHistoryScope> {
        const DEFINITIONS: &str = "/identityGovernance/accessReviews/definitions";
        let query = scope.query.trim();
        let rest = query
            .strip_prefix(DEFINITIONS)
            .ok_or(UnsupportedHistoryScope)?;
        let contains = if rest.is_empty() {
            None
        } else {
            let filter = rest
                .strip_prefix("?$filter=")
                .or_else(|| rest.strip_prefix("?%24filter="))
                .ok_or(UnsupportedHistoryScope)?;
            let inner = filter
                .trim()
                .strip_prefix("contains(")
                .and_then(|f| f.strip_suffix(')'))
                .ok_or(UnsupportedHistoryScope)?;
            let (property, text) = inner.split_once(',').ok_or(UnsupportedHistoryScope)?;
            if property.trim() != "scope/query" {
                return Err(UnsupportedHistoryScope);
            }
            let text = text
                .trim()
                .strip_prefix('\'')
                .and_then(|t| t.strip_suffix('\''))
                .filter(|t| !t.contains('\'') && !t.is_empty())
                .ok_or(UnsupportedHistoryScope)?;
            Some(text.to_owned())
        };
        Ok(Self { scope, contains })
    }

    /// Whether a definition with this review scope query is covered.
    pub fn covers(&self, review_scope_query: &str) -> bool {
        self.contains
            .as_deref()
            .is_none_or(|text| review_scope_query.contains(text))
    }
}

/// What a client asks for in `POST …/historyDefinitions`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewHistoryDefinition {
    /// `displayName`.
    pub display_name: DisplayName,
    /// `decisions`: which items the report holds, by their latest decision.
    pub decisions: Vec<HistoryDecision>,
    /// `reviewHistoryPeriodStartDateTime`: reviews starting on or after it.
    pub period_start: DateTime<Utc>,
    /// `reviewHistoryPeriodEndDateTime`: reviews starting on or before it.
    pub period_end: DateTime<Utc>,
    /// `scopes`: which reviews, by their scope.
    pub scopes: Vec<HistoryScope>,
}

impl NewHistoryDefinition {
    /// Whether an instance of a definition is in the report: its
    /// definition's scope is covered by a scope, and it started in the
    /// period (Graph's create page: reviews starting on or after the start
    /// and on or before the end).
    pub fn covers(&self, definition: &Definition, instance: &Instance) -> bool {
        self.scopes
            .iter()
            .any(|s| s.covers(&definition.spec.scope.query))
            && (self.period_start..=self.period_end).contains(&instance.start_date_time)
    }

    /// Whether an item's latest decision is one the report holds.
    pub fn selects(&self, item: &DecisionItem) -> bool {
        self.decisions
            .contains(&HistoryDecision::of(item.decision()))
    }
}

/// A stored history definition.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HistoryDefinition {
    /// `id`.
    pub id: HistoryDefinitionId,
    /// What the client asked for.
    pub spec: NewHistoryDefinition,
    /// `createdBy`.
    pub created_by: Creator,
    /// `createdDateTime`.
    pub created_date_time: DateTime<Utc>,
}

impl HistoryDefinition {
    /// Whether it is past its [`RETENTION`] at `now`: it is then gone for
    /// every reader.
    pub fn expired(&self, now: DateTime<Utc>) -> bool {
        now - self.created_date_time >= RETENTION
    }
}

/// A secret that lets anyone holding it download one report until it
/// expires, as Graph's download links do; 244 random bits.
#[derive(Clone, PartialEq, Eq)]
pub struct DownloadToken(String);

impl DownloadToken {
    /// A fresh random token.
    pub fn new_random() -> Self {
        Self(format!(
            "{}{}",
            uuid::Uuid::new_v4().simple(),
            uuid::Uuid::new_v4().simple()
        ))
    }

    /// A token from a download path; `None` unless it has the form of one.
    pub fn parse(raw: &str) -> Option<Self> {
        (raw.len() == 64
            && raw
                .bytes()
                .all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase()))
        .then(|| Self(raw.to_owned()))
    }

    /// Its text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for DownloadToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("DownloadToken(…)")
    }
}

/// The current download link of a report.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Download {
    /// Its secret.
    pub token: DownloadToken,
    /// When it stops working.
    pub expires: DateTime<Utc>,
}

impl Download {
    /// Whether the link still works at `now`.
    pub fn works_at(&self, now: DateTime<Utc>) -> bool {
        now < self.expires
    }
}

/// A run of a history definition: its report.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HistoryInstance {
    /// `id`.
    pub id: HistoryInstanceId,
    /// Its definition.
    pub definition_id: HistoryDefinitionId,
    /// `runDateTime`; also `fulfilledDateTime`: the report is ready as soon
    /// as it runs (its rows are read from the reviews when downloaded).
    pub run_date_time: DateTime<Utc>,
    /// The last download link generated, if any.
    pub download: Option<Download>,
}

impl HistoryInstance {
    /// `expirationDateTime`: when it and its data are gone.
    pub fn expiration(&self) -> DateTime<Utc> {
        self.run_date_time + RETENTION
    }
}

/// One row of a report: one decision item with its review.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HistoryRow {
    /// The reviewed definition.
    pub definition: Definition,
    /// The instance.
    pub instance: Instance,
    /// The item, with its latest decision.
    pub item: DecisionItem,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scope(query: &str) -> QueryScope {
        QueryScope {
            odata_type: None,
            query: query.into(),
            query_type: Some("MicrosoftGraph".into()),
            query_root: None,
        }
    }

    #[test]
    fn scopes_are_read_as_graph_writes_them() {
        let groups = HistoryScope::parse(scope(
            "/identityGovernance/accessReviews/definitions?$filter=contains(scope/query, '/groups')",
        ))
        .unwrap();
        assert_eq!(groups.contains.as_deref(), Some("/groups"));
        assert!(groups.covers("/groups/1/transitiveMembers"));
        assert!(!groups.covers("/identityGovernance/accessPackageAssignments"));
        let all =
            HistoryScope::parse(scope("/identityGovernance/accessReviews/definitions")).unwrap();
        assert!(all.covers("anything"));
        for bad in [
            "/groups",
            "/identityGovernance/accessReviews/definitions?$top=1",
            "/identityGovernance/accessReviews/definitions?$filter=contains(displayName, 'x')",
            "/identityGovernance/accessReviews/definitions?$filter=contains(scope/query, '')",
            "/identityGovernance/accessReviews/definitions?$filter=contains(scope/query, /groups)",
        ] {
            assert_eq!(
                HistoryScope::parse(scope(bad)),
                Err(UnsupportedHistoryScope),
                "{bad}"
            );
        }
    }

    #[test]
    fn tokens_are_64_lowercase_hex_digits_and_never_printed() {
        let token = DownloadToken::new_random();
        assert_eq!(DownloadToken::parse(token.as_str()), Some(token.clone()));
        assert_ne!(token, DownloadToken::new_random());
        assert_eq!(format!("{token:?}"), "DownloadToken(…)");
        assert_eq!(DownloadToken::parse("abc"), None);
        assert_eq!(DownloadToken::parse(&"A".repeat(64)), None);
    }

    #[test]
    fn every_graph_decision_value_round_trips() {
        for d in HistoryDecision::ALL {
            assert_eq!(HistoryDecision::parse(d.as_str()), Some(d));
        }
        assert_eq!(HistoryDecision::parse("Approve"), None);
    }
}
