//! OData query options (`$filter`, `$top`, `$skip`, `$select`), context
//! URLs and next links, as Graph uses them.

use std::convert::Infallible;

use access_reviews_domain::audit::{AuditFilter, AuditQuery};
use access_reviews_domain::decision::{ApplyResult, Decision, Recommendation};
use access_reviews_domain::ports::DecisionQuery;
use access_reviews_domain::query::{ListQuery, Order, OrderKey, PageRequest};
use access_reviews_domain::status::ReviewStatus;
use axum::extract::FromRequestParts;
use axum::http::HeaderValue;
use axum::http::header::{CONTENT_TYPE, HOST};
use axum::http::request::Parts;
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Utc};
use serde::Serialize;
use serde_json::{Map, Value};
use uuid::Uuid;

use crate::error::ApiError;

/// The scheme and authority clients reach this service at, for the full
/// URLs Graph puts in `@odata.context` and `@odata.nextLink`.
#[derive(Debug, Clone)]
pub struct ServiceRoot(String);

impl ServiceRoot {
    /// The full URL of `path` (which starts with `/`).
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.0)
    }

    /// `{root}/v1.0/$metadata#{path}`.
    pub fn context(&self, path: &str) -> String {
        format!("{}/v1.0/$metadata#{path}", self.0)
    }
}

impl<S: Send + Sync> FromRequestParts<S> for ServiceRoot {
    type Rejection = Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Infallible> {
        let header = |name: &str| {
            parts
                .headers
                .get(name)
                .and_then(|v| v.to_str().ok())
                .filter(|v| !v.is_empty() && !v.contains(['/', ' ', '"']))
                .map(str::to_owned)
        };
        let host = header(HOST.as_str()).unwrap_or_else(|| "localhost".to_owned());
        let scheme = header("x-forwarded-proto")
            .filter(|s| s == "https" || s == "http")
            .unwrap_or_else(|| "http".to_owned());
        Ok(Self(format!("{scheme}://{host}")))
    }
}

/// The raw query string's pairs, decoded.
pub type RawOptions = Vec<(String, String)>;

/// Which `$filter` conditions and `$orderby` properties a collection
/// supports.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Filterable {
    /// No `$filter` at all.
    Nothing,
    /// `status eq '…'` (instances, stages).
    Status,
    /// `status eq '…'` and `contains(scope/microsoft.graph.accessReviewQueryScope/query, '…')`;
    /// `$orderby` on `displayName` and `createdDateTime` (definitions).
    Definition,
    /// `decision`, `recommendation` and `applyResult eq '…'`; `$orderby`
    /// on `reviewedDateTime` (decision items).
    Decision,
}

impl Filterable {
    /// The `$orderby` properties, as Graph spells them.
    const fn orderable(self) -> &'static [&'static str] {
        match self {
            Self::Definition => &["displayName", "createdDateTime"],
            Self::Decision => &["reviewedDateTime"],
            Self::Nothing | Self::Status => &[],
        }
    }

    /// The `eq` properties.
    const fn comparable(self) -> &'static [&'static str] {
        match self {
            Self::Nothing => &[],
            Self::Status | Self::Definition => &["status"],
            Self::Decision => &["decision", "recommendation", "applyResult"],
        }
    }
}

/// A parsed `$filter`: its conditions, all of which must hold.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Filter {
    /// `status eq '…'`.
    pub status: Option<ReviewStatus>,
    /// `decision eq '…'`.
    pub decision: Option<Decision>,
    /// `recommendation eq '…'`.
    pub recommendation: Option<Recommendation>,
    /// `applyResult eq '…'`.
    pub apply_result: Option<ApplyResult>,
    /// `contains(scope/microsoft.graph.accessReviewQueryScope/query, '…')`.
    pub scope_contains: Option<String>,
}

/// What a collection request asked for.
#[derive(Debug, Clone)]
pub struct CollectionOptions {
    /// The page.
    pub page: PageRequest,
    /// The filter's conditions (none when there is no `$filter`).
    pub filter: Filter,
    /// `$orderby`, if given.
    pub order: Option<Order>,
    /// `$select`, when given.
    pub select: Option<Vec<&'static str>>,
}

/// What a single-entity request asked for.
#[derive(Debug, Clone)]
pub struct EntityOptions {
    /// `$select`, when given.
    pub select: Option<Vec<&'static str>>,
}

fn option<'a>(raw: &'a RawOptions, name: &str) -> Result<Option<&'a str>, ApiError> {
    let mut values = raw
        .iter()
        .filter(|(k, _)| k.eq_ignore_ascii_case(name))
        .map(|(_, v)| v.as_str());
    let first = values.next();
    if values.next().is_some() {
        return Err(ApiError::invalid(
            "invalidQueryOption",
            format!("The query option {name} is given more than once."),
        ));
    }
    Ok(first)
}

/// Refuses any `$` option this resource does not support: an ignored
/// option would silently give the client something it did not ask for.
fn only(raw: &RawOptions, supported: &[&str]) -> Result<(), ApiError> {
    match raw
        .iter()
        .find(|(k, _)| k.starts_with('$') && !supported.iter().any(|s| s.eq_ignore_ascii_case(k)))
    {
        Some((k, _)) => Err(ApiError::invalid(
            "invalidQueryOption",
            format!(
                "The query option {k} is not supported here; supported: {}.",
                supported.join(", ")
            ),
        )),
        None => Ok(()),
    }
}

fn parse_select(
    raw: Option<&str>,
    properties: &'static [&'static str],
) -> Result<Option<Vec<&'static str>>, ApiError> {
    let Some(raw) = raw else { return Ok(None) };
    raw.split(',')
        .map(str::trim)
        .map(|name| {
            properties
                .iter()
                .find(|p| p.eq_ignore_ascii_case(name))
                .copied()
                .ok_or_else(|| {
                    ApiError::invalid(
                        "invalidQueryOption",
                        format!("$select names an unknown property '{name}'."),
                    )
                })
        })
        .collect::<Result<Vec<_>, _>>()
        .map(Some)
}

/// `$filter`: conditions joined by `and`, each `<property> eq '<value>'`
/// over the collection's [`Filterable::comparable`] properties, or (on
/// definitions) the scope query's `contains`; each property at most once.
fn parse_filter(raw: &str, filterable: Filterable) -> Result<Filter, ApiError> {
    let comparable = filterable.comparable();
    if comparable.is_empty() {
        return Err(ApiError::invalid(
            "invalidQueryOption",
            "$filter is not supported on this collection.",
        ));
    }
    let mut filter = Filter::default();
    for condition in split_and(raw) {
        let condition = condition.trim();
        let unsupported = || {
            let mut forms: Vec<String> = comparable
                .iter()
                .map(|p| format!("{p} eq '<value>'"))
                .collect();
            if filterable == Filterable::Definition {
                forms.push(format!("contains({SCOPE_QUERY}, '<text>')"));
            }
            ApiError::invalid(
                "invalidQueryOption",
                format!(
                    "$filter '{condition}' is not supported; use {}, joined by and.",
                    forms.join(", ")
                ),
            )
        };
        let twice = |name: &str| {
            ApiError::invalid(
                "invalidQueryOption",
                format!("$filter names {name} more than once."),
            )
        };
        if filterable == Filterable::Definition
            && let Some(args) = condition
                .strip_prefix("contains(")
                .and_then(|c| c.strip_suffix(')'))
        {
            let (target, text) = args.split_once(',').ok_or_else(unsupported)?;
            if target.trim() != SCOPE_QUERY {
                return Err(unsupported());
            }
            let text = string_literal(text).ok_or_else(unsupported)?;
            if filter.scope_contains.replace(text).is_some() {
                return Err(twice("contains"));
            }
            continue;
        }
        let mut words = condition.splitn(3, char::is_whitespace);
        let (Some(property), Some(operator), Some(value)) =
            (words.next(), words.next(), words.next())
        else {
            return Err(unsupported());
        };
        let Some(name) = comparable.iter().find(|p| p.eq_ignore_ascii_case(property)) else {
            return Err(unsupported());
        };
        if !operator.eq_ignore_ascii_case("eq") {
            return Err(unsupported());
        }
        let value = string_literal(value).ok_or_else(unsupported)?;
        let unknown = || {
            ApiError::invalid(
                "invalidQueryOption",
                format!("$filter compares {name} with '{value}', which is not a {name} value."),
            )
        };
        let fresh = match *name {
            "status" => filter
                .status
                .replace(value.parse().map_err(|_| unknown())?)
                .is_none(),
            "decision" => filter
                .decision
                .replace(value.parse().map_err(|_| unknown())?)
                .is_none(),
            "recommendation" => filter
                .recommendation
                .replace(value.parse().map_err(|_| unknown())?)
                .is_none(),
            _ => filter
                .apply_result
                .replace(value.parse().map_err(|_| unknown())?)
                .is_none(),
        };
        if !fresh {
            return Err(twice(name));
        }
    }
    Ok(filter)
}

/// What `contains` on definitions may search.
const SCOPE_QUERY: &str = "scope/microsoft.graph.accessReviewQueryScope/query";

impl CollectionOptions {
    /// Parses `$filter` (as `filterable` allows), `$top`, `$skip` and
    /// `$select` (over `properties`).
    ///
    /// # Errors
    /// 400 `invalidRequest` / `invalidQueryOption`, naming the option.
    pub fn parse(
        raw: &RawOptions,
        properties: &'static [&'static str],
        filterable: Filterable,
    ) -> Result<Self, ApiError> {
        only(
            raw,
            &["$filter", "$top", "$skip", "$select", "$count", "$orderby"],
        )?;
        let top = option(raw, "$top")?
            .map(|v| {
                v.parse::<i64>().map_err(|_| {
                    ApiError::invalid("invalidQueryOption", format!("$top '{v}' is not a number."))
                })
            })
            .transpose()?;
        let skip = option(raw, "$skip")?
            .map(|v| {
                v.parse::<u64>().map_err(|_| {
                    ApiError::invalid(
                        "invalidQueryOption",
                        format!("$skip '{v}' is not a whole number of zero or more."),
                    )
                })
            })
            .transpose()?
            .unwrap_or(0);
        let page = PageRequest::new(top, skip).map_err(|_| {
            ApiError::invalid(
                "invalidQueryOption",
                format!("$top must be between 1 and {}.", PageRequest::MAX_TOP),
            )
        })?;
        let page = match option(raw, "$count")? {
            None => page,
            Some(v) if v.eq_ignore_ascii_case("false") => page,
            Some(v) if v.eq_ignore_ascii_case("true") => page.counted(),
            Some(v) => {
                return Err(ApiError::invalid(
                    "invalidQueryOption",
                    format!("$count '{v}' is neither true nor false."),
                ));
            }
        };
        let filter = option(raw, "$filter")?
            .map(|f| parse_filter(f, filterable))
            .transpose()?
            .unwrap_or_default();
        let order = match (option(raw, "$orderby")?, filterable.orderable()) {
            (None, _) => None,
            (Some(_), []) => {
                return Err(ApiError::invalid(
                    "invalidQueryOption",
                    "$orderby is not supported on this collection.",
                ));
            }
            (Some(_), allowed) => split_order_by(raw, allowed)?
                .0
                .map(|(name, descending)| Order {
                    key: match name {
                        "displayName" => OrderKey::DisplayName,
                        "createdDateTime" => OrderKey::Created,
                        _ => OrderKey::Reviewed,
                    },
                    descending,
                }),
        };
        Ok(Self {
            page,
            filter,
            order,
            select: parse_select(option(raw, "$select")?, properties)?,
        })
    }

    /// The page and status filter, for collections filtered on `status`.
    pub fn list_query(&self) -> ListQuery {
        ListQuery {
            status: self.filter.status,
            page: self.page,
            order: self.order,
            scope_contains: self.filter.scope_contains.clone(),
        }
    }

    /// The query of a decision item collection (any reviewer).
    pub fn decision_query(&self) -> DecisionQuery {
        DecisionQuery {
            decision: self.filter.decision,
            recommendation: self.filter.recommendation,
            apply_result: self.filter.apply_result,
            order: self.order,
            reviewer: None,
            page: self.page,
        }
    }

    /// The link to the next page: this request's URL with `$skip` moved on.
    pub fn next_link(&self, root: &ServiceRoot, path: &str, raw: &RawOptions) -> String {
        next_link(self.page, root, path, raw)
    }
}

/// The link to the page after `page`: the request's URL with `$skip` moved
/// on.
pub fn next_link(page: PageRequest, root: &ServiceRoot, path: &str, raw: &RawOptions) -> String {
    {
        let next = page.next();
        let mut pairs: Vec<(&str, String)> = raw
            .iter()
            .filter(|(k, _)| !k.eq_ignore_ascii_case("$top") && !k.eq_ignore_ascii_case("$skip"))
            .map(|(k, v)| (k.as_str(), v.clone()))
            .collect();
        pairs.push(("$top", next.top().to_string()));
        pairs.push(("$skip", next.skip().to_string()));
        let query = serde_urlencoded::to_string(&pairs).unwrap_or_default();
        root.url(&format!("{path}?{query}"))
    }
}

impl EntityOptions {
    /// Parses `$select` (over `properties`); refuses any other option.
    ///
    /// # Errors
    /// 400 `invalidRequest` / `invalidQueryOption`, naming the option.
    pub fn parse(raw: &RawOptions, properties: &'static [&'static str]) -> Result<Self, ApiError> {
        only(raw, &["$select"])?;
        Ok(Self {
            select: parse_select(option(raw, "$select")?, properties)?,
        })
    }
}

fn to_object(item: &impl Serialize, select: Option<&[&'static str]>) -> Map<String, Value> {
    let mut object = match serde_json::to_value(item) {
        Ok(Value::Object(object)) => object,
        _ => Map::new(),
    };
    if let Some(select) = select {
        object.retain(|key, _| select.contains(&key.as_str()));
    }
    object
}

/// A single entity's body: `@odata.context`, then its properties (those
/// of `$select`, when given), as it is answered.
pub struct Entity(Result<Vec<u8>, serde_json::Error>);

/// An entity without `$select`: written straight from its wire type, with
/// no `serde_json::Value` built in between (a read's largest cost in JSON).
#[derive(Serialize)]
struct Whole<'a, T> {
    #[serde(rename = "@odata.context")]
    context: &'a str,
    #[serde(flatten)]
    item: &'a T,
}

/// A single entity: its properties plus `@odata.context`.
pub fn entity(context: String, item: &impl Serialize, select: Option<&[&'static str]>) -> Entity {
    Entity(match select {
        None => serde_json::to_vec(&Whole {
            context: &context,
            item,
        }),
        Some(select) => {
            let mut object = Map::new();
            object.insert("@odata.context".into(), context.into());
            object.extend(to_object(item, Some(select)));
            serde_json::to_vec(&object)
        }
    })
}

impl IntoResponse for Entity {
    fn into_response(self) -> Response {
        match self.0 {
            Ok(body) => (
                [(CONTENT_TYPE, HeaderValue::from_static("application/json"))],
                body,
            )
                .into_response(),
            Err(_) => ApiError::internal().into_response(),
        }
    }
}

/// A collection page: `@odata.context`, `value`, and `@odata.nextLink` when
/// more follow.
pub fn collection<T: Serialize>(
    context: String,
    items: &[T],
    select: Option<&[&'static str]>,
    next_link: Option<String>,
    total: Option<u64>,
) -> Value {
    let mut object = Map::new();
    object.insert("@odata.context".into(), context.into());
    if let Some(total) = total {
        object.insert("@odata.count".into(), total.into());
    }
    if let Some(next) = next_link {
        object.insert("@odata.nextLink".into(), next.into());
    }
    object.insert(
        "value".into(),
        Value::Array(
            items
                .iter()
                .map(|item| Value::Object(to_object(item, select)))
                .collect(),
        ),
    );
    Value::Object(object)
}

/// An `$orderby`: the property (as Graph spells it) and whether descending.
pub type OrderBy = (&'static str, bool);

/// `$orderby=<property> [asc|desc]` over one of `allowed`, and the other
/// options.
///
/// # Errors
/// 400 `invalidQueryOption` for another property or form.
pub fn split_order_by(
    raw: &RawOptions,
    allowed: &[&'static str],
) -> Result<(Option<OrderBy>, RawOptions), ApiError> {
    let order = option(raw, "$orderby")?
        .map(|o| {
            let words: Vec<&str> = o.split_whitespace().collect();
            let (name, direction) = match words[..] {
                [name] => (name, "asc"),
                [name, direction] => (name, direction),
                _ => ("", ""),
            };
            let property = allowed.iter().find(|p| p.eq_ignore_ascii_case(name));
            match (property, direction.to_ascii_lowercase().as_str()) {
                (Some(p), "asc") => Ok((*p, false)),
                (Some(p), "desc") => Ok((*p, true)),
                _ => Err(ApiError::invalid(
                    "invalidQueryOption",
                    format!(
                        "$orderby '{o}' is not supported; use one of {} with asc or desc.",
                        allowed.join(", ")
                    ),
                )),
            }
        })
        .transpose()?;
    let rest = raw
        .iter()
        .filter(|(k, _)| !k.eq_ignore_ascii_case("$orderby"))
        .cloned()
        .collect();
    Ok((order, rest))
}

/// The query of `GET /auditLogs/directoryAudits`: `$filter` (conditions
/// joined by `and`: `activityDateTime ge|le <time>`, `loggedByService`,
/// `category` or `activityDisplayName eq '<text>'`,
/// `targetResources/any(t: t/id eq '<guid>')`), `$orderby=activityDateTime
/// [asc|desc]`, `$top`, `$skip`.
///
/// # Errors
/// 400 `invalidQueryOption` naming what is not supported.
pub fn audit_query(raw: &RawOptions) -> Result<(AuditQuery, PageRequest), ApiError> {
    only(raw, &["$filter", "$top", "$skip", "$orderby", "$count"])?;
    let page = CollectionOptions::parse(
        &raw.iter()
            .filter(|(k, _)| {
                ["$top", "$skip", "$count"]
                    .iter()
                    .any(|o| k.eq_ignore_ascii_case(o))
            })
            .cloned()
            .collect(),
        &[],
        Filterable::Nothing,
    )?
    .page;
    let oldest_first = match option(raw, "$orderby")?.map(|o| {
        o.split_whitespace()
            .map(str::to_ascii_lowercase)
            .collect::<Vec<_>>()
    }) {
        None => false,
        Some(words) => match words.iter().map(String::as_str).collect::<Vec<_>>()[..] {
            ["activitydatetime"] | ["activitydatetime", "asc"] => true,
            ["activitydatetime", "desc"] => false,
            _ => {
                return Err(ApiError::invalid(
                    "invalidQueryOption",
                    "$orderby supports only activityDateTime asc or desc.",
                ));
            }
        },
    };
    let mut filter = AuditFilter::default();
    if let Some(raw_filter) = option(raw, "$filter")? {
        for condition in split_and(raw_filter) {
            audit_condition(condition.trim(), &mut filter)?;
        }
    }
    Ok((
        AuditQuery {
            filter,
            oldest_first,
            page,
        },
        page,
    ))
}

/// Splits at ` and ` outside quoted strings.
fn split_and(raw: &str) -> Vec<&str> {
    let mut parts = Vec::new();
    let (mut start, mut quoted) = (0, false);
    let bytes = raw.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'\'' {
            quoted = !quoted;
        } else if !quoted
            && bytes[i].is_ascii_whitespace()
            && raw[i..].len() >= 5
            && raw[i + 1..]
                .get(..3)
                .is_some_and(|w| w.eq_ignore_ascii_case("and"))
            && raw[i + 4..].starts_with(|c: char| c.is_ascii_whitespace())
        {
            parts.push(&raw[start..i]);
            start = i + 4;
            i += 4;
            continue;
        }
        i += 1;
    }
    parts.push(&raw[start..]);
    parts
}

/// An OData string literal: quoted, `''` for a quote.
fn string_literal(raw: &str) -> Option<String> {
    let inner = raw.trim().strip_prefix('\'')?.strip_suffix('\'')?;
    if inner.replace("''", "").contains('\'') {
        return None;
    }
    Some(inner.replace("''", "'"))
}

fn audit_condition(condition: &str, filter: &mut AuditFilter) -> Result<(), ApiError> {
    let unsupported = || {
        ApiError::invalid(
            "invalidQueryOption",
            format!(
                "$filter condition '{condition}' is not supported; use activityDateTime ge|le, \
                 loggedByService, category or activityDisplayName eq '…', or \
                 targetResources/any(t: t/id eq '…'), joined by and."
            ),
        )
    };
    if let Some(lambda) = condition
        .strip_prefix("targetResources/any(")
        .and_then(|rest| rest.strip_suffix(')'))
    {
        let (variable, body) = lambda.split_once(':').ok_or_else(unsupported)?;
        let body = body.trim();
        let rest = body
            .strip_prefix(variable.trim())
            .and_then(|r| r.strip_prefix("/id"))
            .and_then(|r| r.trim_start().strip_prefix("eq"))
            .ok_or_else(unsupported)?;
        let id = string_literal(rest)
            .and_then(|v| Uuid::parse_str(&v).ok())
            .ok_or_else(|| {
                ApiError::invalid(
                    "invalidQueryOption",
                    format!("$filter '{condition}' compares a target id with something that is not a GUID."),
                )
            })?;
        filter.target = Some(id);
        return Ok(());
    }
    let mut words = condition.splitn(3, char::is_whitespace);
    let (Some(property), Some(operator), Some(value)) = (words.next(), words.next(), words.next())
    else {
        return Err(unsupported());
    };
    let operator = operator.to_ascii_lowercase();
    match (property, operator.as_str()) {
        ("activityDateTime", "ge" | "le") => {
            let raw_time = value.trim().trim_matches('\'');
            let time = DateTime::parse_from_rfc3339(raw_time)
                .map_err(|_| {
                    ApiError::invalid(
                        "invalidQueryOption",
                        format!("$filter compares activityDateTime with '{raw_time}', which is not a date and time such as 2026-01-31T00:00:00Z."),
                    )
                })?
                .with_timezone(&Utc);
            if operator == "ge" {
                filter.from = Some(time);
            } else {
                filter.to = Some(time);
            }
        }
        ("loggedByService" | "category" | "activityDisplayName", "eq") => {
            let text = string_literal(value).ok_or_else(unsupported)?;
            let slot = match property {
                "loggedByService" => &mut filter.logged_by,
                "category" => &mut filter.category,
                _ => &mut filter.activity,
            };
            *slot = Some(text);
        }
        _ => return Err(unsupported()),
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    const PROPS: &[&str] = &["id", "status", "startDateTime"];

    #[derive(Serialize)]
    #[serde(rename_all = "camelCase")]
    struct Wire {
        id: &'static str,
        status: &'static str,
        start_date_time: Option<&'static str>,
    }

    /// The body as text, and as the order of its keys.
    async fn body(entity: Entity) -> (axum::http::StatusCode, String) {
        let response = entity.into_response();
        let status = response.status();
        let bytes = axum::body::to_bytes(response.into_body(), 1 << 16)
            .await
            .unwrap();
        (status, String::from_utf8(bytes.to_vec()).unwrap())
    }

    #[tokio::test]
    async fn an_entity_is_its_context_then_its_properties_in_order_or_only_those_selected() {
        let wire = Wire {
            id: "1",
            status: "InProgress",
            start_date_time: None,
        };
        let context = "https://graph.test/v1.0/$metadata#x/$entity";
        assert_eq!(
            body(entity(context.into(), &wire, None)).await,
            (
                axum::http::StatusCode::OK,
                format!(
                    r#"{{"@odata.context":"{context}","id":"1","status":"InProgress","startDateTime":null}}"#
                )
            )
        );
        assert_eq!(
            body(entity(
                context.into(),
                &wire,
                Some(&["startDateTime", "id"])
            ))
            .await,
            (
                axum::http::StatusCode::OK,
                format!(r#"{{"@odata.context":"{context}","id":"1","startDateTime":null}}"#)
            )
        );
    }

    fn raw(pairs: &[(&str, &str)]) -> RawOptions {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn filter_top_skip_and_select_parse() {
        let options = CollectionOptions::parse(
            &raw(&[
                ("$filter", "status eq 'InProgress'"),
                ("$top", "5"),
                ("$skip", "10"),
                ("$select", "id,Status"),
            ]),
            PROPS,
            Filterable::Status,
        )
        .unwrap();
        assert_eq!(options.list_query().status, Some(ReviewStatus::InProgress));
        assert_eq!((options.page.top(), options.page.skip()), (5, 10));
        assert_eq!(options.select, Some(vec!["id", "status"]));
    }

    #[test]
    fn malformed_or_unsupported_options_are_refused() {
        for pairs in [
            vec![("$top", "0")],
            vec![("$top", "1000")],
            vec![("$top", "ten")],
            vec![("$skip", "-1")],
            vec![("$filter", "status eq InProgress")],
            vec![("$filter", "status ne 'InProgress'")],
            vec![("$filter", "displayName eq 'x'")],
            vec![("$filter", "status eq 'Done'")],
            vec![("$select", "id,nope")],
            vec![("$orderby", "status")],
            vec![("$count", "yes")],
            vec![("$count", "true"), ("$count", "false")],
            vec![("$top", "1"), ("$top", "2")],
        ] {
            assert!(
                CollectionOptions::parse(&raw(&pairs), PROPS, Filterable::Status).is_err(),
                "{pairs:?}"
            );
        }
        assert!(EntityOptions::parse(&raw(&[("$top", "1")]), PROPS).is_err());
        assert!(EntityOptions::parse(&raw(&[("$count", "true")]), PROPS).is_err());
    }

    #[test]
    fn count_true_counts_the_collection_and_false_does_not() {
        let parse = |v: &str| {
            CollectionOptions::parse(&raw(&[("$count", v)]), PROPS, Filterable::Status)
                .unwrap()
                .page
                .count()
        };
        assert!(parse("true") && parse("TRUE"));
        assert!(!parse("false"));
    }

    #[test]
    fn each_collection_filters_only_on_its_own_property() {
        let decision = raw(&[("$filter", "decision eq 'Deny'")]);
        let options = CollectionOptions::parse(&decision, PROPS, Filterable::Decision).unwrap();
        assert_eq!(options.decision_query().decision, Some(Decision::Deny));
        assert!(CollectionOptions::parse(&decision, PROPS, Filterable::Status).is_err());
        assert!(CollectionOptions::parse(&decision, PROPS, Filterable::Nothing).is_err());
        let bad = raw(&[("$filter", "decision eq 'Maybe'")]);
        assert!(CollectionOptions::parse(&bad, PROPS, Filterable::Decision).is_err());
    }

    #[test]
    fn conditions_join_with_and_and_each_property_comes_once() {
        let parse = |filter: &str, filterable| {
            CollectionOptions::parse(&raw(&[("$filter", filter)]), PROPS, filterable)
        };
        let both = parse(
            "recommendation eq 'Deny' and applyResult eq 'New' AND decision eq 'NotReviewed'",
            Filterable::Decision,
        )
        .unwrap()
        .decision_query();
        assert_eq!(both.recommendation, Some(Recommendation::Deny));
        assert_eq!(both.apply_result, Some(ApplyResult::New));
        assert_eq!(both.decision, Some(Decision::NotReviewed));
        let members = parse(
            "contains(scope/microsoft.graph.accessReviewQueryScope/query, './members') and status eq 'InProgress'",
            Filterable::Definition,
        )
        .unwrap()
        .list_query();
        assert_eq!(members.scope_contains.as_deref(), Some("./members"));
        assert_eq!(members.status, Some(ReviewStatus::InProgress));
        for (filter, filterable) in [
            (
                "decision eq 'Deny' and decision eq 'Approve'",
                Filterable::Decision,
            ),
            ("recommendation eq 'Maybe'", Filterable::Decision),
            ("applyResult ne 'New'", Filterable::Decision),
            (
                "decision eq 'Deny' or decision eq 'Approve'",
                Filterable::Decision,
            ),
            ("contains(displayName, 'x')", Filterable::Definition),
            (
                "contains(scope/microsoft.graph.accessReviewQueryScope/query, './members')",
                Filterable::Status,
            ),
            ("status eq 'InProgress' and", Filterable::Status),
        ] {
            assert!(parse(filter, filterable).is_err(), "{filter}");
        }
    }

    #[test]
    fn orderby_is_on_the_collection_s_own_properties() {
        let parse = |order: &str, filterable| {
            CollectionOptions::parse(&raw(&[("$orderby", order)]), PROPS, filterable)
        };
        let by_name = parse("displayName desc", Filterable::Definition).unwrap();
        assert_eq!(
            by_name.order,
            Some(Order {
                key: OrderKey::DisplayName,
                descending: true
            })
        );
        let reviewed = parse("reviewedDateTime", Filterable::Decision).unwrap();
        assert_eq!(
            reviewed.decision_query().order.map(|o| o.descending),
            Some(false)
        );
        for (order, filterable) in [
            ("reviewedDateTime", Filterable::Definition),
            ("displayName", Filterable::Decision),
            ("status", Filterable::Status),
            ("createdDateTime sideways", Filterable::Definition),
        ] {
            assert!(parse(order, filterable).is_err(), "{order}");
        }
    }

    #[test]
    fn the_next_link_keeps_the_other_options_and_moves_skip_on() {
        let pairs = raw(&[("$filter", "status eq 'Completed'"), ("$top", "2")]);
        let options = CollectionOptions::parse(&pairs, PROPS, Filterable::Status).unwrap();
        let link = options.next_link(&ServiceRoot("http://h:1".into()), "/v1.0/x", &pairs);
        assert_eq!(
            link,
            "http://h:1/v1.0/x?%24filter=status+eq+%27Completed%27&%24top=2&%24skip=2"
        );
    }
}
