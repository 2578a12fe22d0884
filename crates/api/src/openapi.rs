//! The OpenAPI 3.1 description served at `/openapi.json`, and the router's
//! routes, both built from one table of operations: each entry names its
//! handler, so a route exists exactly when the document describes it. The
//! schemas are derived (utoipa) from the wire types that read and write
//! the bodies, so a property exists exactly when the document lists it.

use axum::handler::Handler;
use axum::routing::{MethodFilter, MethodRouter};
use serde_json::{Map, Value, json};
use utoipa::ToSchema;

use crate::AppState;
use crate::handlers::{
    audit_logs, decisions, definitions, directory, health, history, instances, stages, testing,
};

const DEFINITIONS: &str = "/v1.0/identityGovernance/accessReviews/definitions";
const HISTORY: &str = "/v1.0/identityGovernance/accessReviews/historyDefinitions";

/// One operation of the API.
pub struct Operation {
    /// HTTP method, lower case.
    pub method: &'static str,
    /// Path template; `{name}` segments are GUIDs.
    pub path: String,
    id: &'static str,
    summary: &'static str,
    /// Request body schema, if any.
    body: Option<&'static str>,
    /// Success status.
    status: u16,
    /// Response schema; a collection of it when `collection`.
    schema: Option<&'static str>,
    collection: bool,
    /// Needs a bearer token (everything under `/v1.0`, and the test clock).
    pub secured: bool,
    /// Its handler: the router is built from this table.
    pub(crate) route: MethodRouter<AppState>,
}

/// An operation's HTTP method.
#[derive(Clone, Copy)]
enum Verb {
    Get,
    Post,
    Put,
    Patch,
    Delete,
}

impl Verb {
    /// As the document spells it.
    const fn as_str(self) -> &'static str {
        match self {
            Self::Get => "get",
            Self::Post => "post",
            Self::Put => "put",
            Self::Patch => "patch",
            Self::Delete => "delete",
        }
    }

    const fn filter(self) -> MethodFilter {
        match self {
            Self::Get => MethodFilter::GET,
            Self::Post => MethodFilter::POST,
            Self::Put => MethodFilter::PUT,
            Self::Patch => MethodFilter::PATCH,
            Self::Delete => MethodFilter::DELETE,
        }
    }
}

fn op<H, T>(
    verb: Verb,
    path: String,
    id: &'static str,
    summary: &'static str,
    handler: H,
) -> Operation
where
    H: Handler<T, AppState>,
    T: 'static,
{
    Operation {
        method: verb.as_str(),
        secured: path.starts_with("/v1.0"),
        path,
        id,
        summary,
        body: None,
        status: 200,
        schema: None,
        collection: false,
        route: axum::routing::on(verb.filter(), handler),
    }
}

impl Operation {
    fn returns(mut self, schema: &'static str) -> Self {
        self.schema = Some(schema);
        self
    }

    fn lists(mut self, schema: &'static str) -> Self {
        self.schema = Some(schema);
        self.collection = true;
        self
    }

    fn takes(mut self, schema: &'static str) -> Self {
        self.body = Some(schema);
        self
    }

    fn status(mut self, status: u16) -> Self {
        self.status = status;
        self
    }

    fn secured(mut self) -> Self {
        self.secured = true;
        self
    }
}

/// Every operation the service offers.
pub fn operations() -> Vec<Operation> {
    let d = format!("{DEFINITIONS}/{{definition}}");
    let i = format!("{d}/instances/{{instance}}");
    let s = format!("{i}/stages/{{stage}}");
    let mine = "filterByCurrentUser(on='reviewer')";
    vec![
        op(
            Verb::Get,
            DEFINITIONS.into(),
            "listDefinitions",
            "List access review definitions",
            definitions::list_definitions,
        )
        .lists("accessReviewScheduleDefinition"),
        op(
            Verb::Post,
            DEFINITIONS.into(),
            "createDefinition",
            "Create a definition; its first instance and stage start at once",
            definitions::create_definition,
        )
        .takes("accessReviewScheduleDefinition")
        .returns("accessReviewScheduleDefinition")
        .status(201),
        op(
            Verb::Get,
            format!("{DEFINITIONS}/{mine}"),
            "listMyDefinitions",
            "List the definitions in which the caller reviews",
            definitions::list_definitions,
        )
        .lists("accessReviewScheduleDefinition"),
        op(
            Verb::Get,
            format!("{d}/instances/{mine}"),
            "listMyInstances",
            "List a definition's instances in which the caller reviews",
            instances::list_instances,
        )
        .lists("accessReviewInstance"),
        op(
            Verb::Get,
            d.clone(),
            "getDefinition",
            "Get a definition",
            definitions::get_definition,
        )
        .returns("accessReviewScheduleDefinition"),
        op(
            Verb::Get,
            format!("{d}/instances"),
            "listInstances",
            "List a definition's instances",
            instances::list_instances,
        )
        .lists("accessReviewInstance"),
        op(
            Verb::Get,
            i.clone(),
            "getInstance",
            "Get an instance",
            instances::get_instance,
        )
        .returns("accessReviewInstance"),
        op(
            Verb::Get,
            format!("{i}/stages"),
            "listStages",
            "List an instance's stages",
            stages::list_stages,
        )
        .lists("accessReviewStage"),
        op(
            Verb::Get,
            format!("{i}/stages/{mine}"),
            "listMyStages",
            "List the stages in which the caller reviews",
            stages::list_stages,
        )
        .lists("accessReviewStage"),
        op(
            Verb::Get,
            s.clone(),
            "getStage",
            "Get a stage",
            stages::get_stage,
        )
        .returns("accessReviewStage"),
        op(
            Verb::Patch,
            s.clone(),
            "updateStage",
            "Change the reviewers of a stage in progress (fallback reviewers can only be added)",
            stages::update_stage,
        )
        .takes("accessReviewStage")
        .returns("accessReviewStage"),
        op(
            Verb::Post,
            format!("{s}/stop"),
            "stopStage",
            "Stop a stage that is InProgress",
            stages::stop_stage,
        )
        .status(204),
        op(
            Verb::Post,
            format!("{i}/stop"),
            "stopInstance",
            "End an instance now: its stage in progress completes, the end rules run",
            instances::stop_instance,
        )
        .status(204),
        op(
            Verb::Put,
            i.clone(),
            "updateInstance",
            "Change the reviewers of an instance in progress (scope required, not changed)",
            instances::update_instance,
        )
        .takes("accessReviewInstance")
        .returns("accessReviewInstance"),
        op(
            Verb::Get,
            format!("{i}/contactedReviewers"),
            "listContactedReviewers",
            "List everyone who reviews in an instance",
            instances::contacted_reviewers,
        )
        .lists("accessReviewReviewer"),
        op(
            Verb::Post,
            format!("{i}/acceptRecommendations"),
            "acceptRecommendations",
            "The caller's undecided items take their recommendation (delegated callers only)",
            decisions::accept_recommendations,
        )
        .status(204),
        op(
            Verb::Post,
            format!("{i}/applyDecisions"),
            "applyDecisions",
            "Apply the decisions of a completed instance to the directory",
            instances::apply_decisions,
        )
        .status(204),
        op(
            Verb::Post,
            format!("{i}/sendReminder"),
            "sendReminder",
            "Remind the reviewers of an instance in progress (recorded; no mail)",
            instances::send_reminder,
        )
        .status(204),
        op(
            Verb::Put,
            d.clone(),
            "updateDefinition",
            "Replace a definition's names, reviewers and settings for its later instances",
            definitions::update_definition,
        )
        .takes("accessReviewScheduleDefinition")
        .status(204),
        op(
            Verb::Delete,
            d.clone(),
            "deleteDefinition",
            "Delete a definition with its instances, stages and decision items",
            definitions::delete_definition,
        )
        .status(204),
        op(
            Verb::Post,
            format!("{d}/stop"),
            "stopDefinition",
            "End a definition: its instance in progress and its recurrence",
            definitions::stop_definition,
        )
        .status(204),
        op(
            Verb::Get,
            format!("{i}/decisions"),
            "listDecisions",
            "List an instance's decision items",
            decisions::list_instance_decisions,
        )
        .lists("accessReviewInstanceDecisionItem"),
        op(
            Verb::Get,
            format!("{i}/decisions/{mine}"),
            "listMyDecisions",
            "List the items the caller reviews",
            decisions::list_instance_decisions,
        )
        .lists("accessReviewInstanceDecisionItem"),
        op(
            Verb::Get,
            format!("{i}/decisions/{{item}}"),
            "getDecision",
            "Get a decision item",
            decisions::get_instance_decision,
        )
        .returns("accessReviewInstanceDecisionItem"),
        op(
            Verb::Patch,
            format!("{i}/decisions/{{item}}"),
            "recordDecision",
            "Record a decision in the current stage",
            decisions::record_instance_decision,
        )
        .takes("decision")
        .status(204),
        op(
            Verb::Post,
            format!("{i}/batchRecordDecisions"),
            "batchRecordDecisions",
            "Record one decision on every item the caller reviews",
            decisions::batch_instance,
        )
        .takes("batchRecordDecisions")
        .status(204),
        op(
            Verb::Post,
            format!("{i}/resetDecisions"),
            "resetDecisions",
            "Reset every item to NotReviewed",
            decisions::reset,
        )
        .status(204),
        op(
            Verb::Get,
            format!("{s}/decisions"),
            "listStageDecisions",
            "List the items that entered a stage",
            decisions::list_stage_decisions,
        )
        .lists("accessReviewInstanceDecisionItem"),
        op(
            Verb::Get,
            format!("{s}/decisions/{mine}"),
            "listMyStageDecisions",
            "List the stage's items the caller reviews",
            decisions::list_stage_decisions,
        )
        .lists("accessReviewInstanceDecisionItem"),
        op(
            Verb::Get,
            format!("{s}/decisions/{{item}}"),
            "getStageDecision",
            "Get a decision item of a stage",
            decisions::get_stage_decision,
        )
        .returns("accessReviewInstanceDecisionItem"),
        op(
            Verb::Patch,
            format!("{s}/decisions/{{item}}"),
            "recordStageDecision",
            "Record a decision in a stage",
            decisions::record_stage_decision,
        )
        .takes("decision")
        .status(204),
        op(
            Verb::Post,
            format!("{s}/batchRecordDecisions"),
            "batchRecordStageDecisions",
            "Record one decision on every item of the stage the caller reviews",
            decisions::batch_stage,
        )
        .takes("batchRecordDecisions")
        .status(204),
        op(
            Verb::Get,
            "/v1.0/auditLogs/directoryAudits".into(),
            "listDirectoryAudits",
            "List the audit log: every access review write, newest first",
            audit_logs::list,
        )
        .lists("directoryAudit"),
        op(
            Verb::Get,
            "/v1.0/auditLogs/directoryAudits/{id}".into(),
            "getDirectoryAudit",
            "Get one audit record",
            audit_logs::get,
        )
        .returns("directoryAudit"),
        op(
            Verb::Get,
            "/v1.0/users".into(),
            "listUsers",
            "List users",
            directory::list_users,
        )
        .lists("user"),
        op(
            Verb::Post,
            "/v1.0/users".into(),
            "createUser",
            "Create a user",
            directory::create_user,
        )
        .takes("user")
        .returns("user")
        .status(201),
        op(
            Verb::Get,
            "/v1.0/users/{user}".into(),
            "getUser",
            "Get a user",
            directory::get_user,
        )
        .returns("user"),
        op(
            Verb::Get,
            "/v1.0/users/{user}/manager".into(),
            "getManager",
            "Get a user's manager",
            directory::get_manager,
        )
        .returns("directoryObject"),
        op(
            Verb::Put,
            "/v1.0/users/{user}/manager/$ref".into(),
            "setManager",
            "Set a user's manager",
            directory::set_manager,
        )
        .takes("reference")
        .status(204),
        op(
            Verb::Get,
            "/v1.0/groups".into(),
            "listGroups",
            "List groups",
            directory::list_groups,
        )
        .lists("group"),
        op(
            Verb::Post,
            "/v1.0/groups".into(),
            "createGroup",
            "Create a group",
            directory::create_group,
        )
        .takes("group")
        .returns("group")
        .status(201),
        op(
            Verb::Get,
            "/v1.0/groups/{group}".into(),
            "getGroup",
            "Get a group",
            directory::get_group,
        )
        .returns("group"),
        op(
            Verb::Get,
            "/v1.0/groups/{group}/members".into(),
            "listMembers",
            "List a group's direct members",
            directory::members,
        )
        .lists("directoryObject"),
        op(
            Verb::Post,
            "/v1.0/groups/{group}/members/$ref".into(),
            "addMember",
            "Add a member",
            directory::add_member,
        )
        .takes("reference")
        .status(204),
        op(
            Verb::Delete,
            "/v1.0/groups/{group}/members/{member}/$ref".into(),
            "removeMember",
            "Remove a member",
            directory::remove_member,
        )
        .status(204),
        op(
            Verb::Get,
            "/v1.0/groups/{group}/owners".into(),
            "listOwners",
            "List a group's owners",
            directory::owners,
        )
        .lists("directoryObject"),
        op(
            Verb::Post,
            "/v1.0/groups/{group}/owners/$ref".into(),
            "addOwner",
            "Add an owner",
            directory::add_owner,
        )
        .takes("reference")
        .status(204),
        op(
            Verb::Get,
            "/v1.0/groups/{group}/transitiveMembers".into(),
            "listTransitiveMembers",
            "List a group's members, nested groups resolved",
            directory::transitive_members,
        )
        .lists("directoryObject"),
        op(
            Verb::Get,
            "/testing/clock".into(),
            "getTestClock",
            "The test clock's time (CLOCK_CONTROL=enabled only)",
            testing::get_clock,
        )
        .returns("testClock")
        .secured(),
        op(
            Verb::Post,
            "/testing/clock".into(),
            "advanceTestClock",
            "Move the test clock forward; answers once every due transition has committed",
            testing::advance_clock,
        )
        .takes("testClockAdvance")
        .returns("testClock")
        .secured(),
        op(
            Verb::Post,
            HISTORY.into(),
            "createHistoryDefinition",
            "Create a review history definition; its report is collected at once",
            history::create,
        )
        .takes("accessReviewHistoryDefinition")
        .returns("accessReviewHistoryDefinition")
        .status(201),
        op(
            Verb::Get,
            HISTORY.into(),
            "listHistoryDefinitions",
            "List the review history definitions of the last 30 days",
            history::list,
        )
        .lists("accessReviewHistoryDefinition"),
        op(
            Verb::Get,
            format!("{HISTORY}/{{history}}"),
            "getHistoryDefinition",
            "Get a review history definition",
            history::get,
        )
        .returns("accessReviewHistoryDefinition"),
        op(
            Verb::Get,
            format!("{HISTORY}/{{history}}/instances"),
            "listHistoryInstances",
            "List a review history definition's instances",
            history::instances,
        )
        .lists("accessReviewHistoryInstance"),
        op(
            Verb::Post,
            format!("{HISTORY}/{{history}}/instances/{{instance}}/generateDownloadUri"),
            "generateDownloadUri",
            "A link, valid for 24 hours and needing no token, that downloads the report as CSV",
            history::generate_download_uri,
        )
        .returns("accessReviewHistoryInstance"),
        op(
            Verb::Get,
            "/healthz".into(),
            "healthz",
            "The process answers",
            health::healthz,
        )
        .status(204),
        op(
            Verb::Get,
            "/readyz".into(),
            "readyz",
            "The process can reach its database",
            health::readyz,
        )
        .status(204),
        op(
            Verb::Get,
            "/metrics".into(),
            "metrics",
            "Prometheus metrics",
            health::metrics,
        ),
        op(
            Verb::Get,
            "/openapi.json".into(),
            "openapi",
            "This document",
            health::openapi,
        ),
    ]
}

fn schema_ref(name: &str) -> Value {
    json!({"$ref": format!("#/components/schemas/{name}")})
}

/// Adds `T`'s schema, and the schemas it refers to, each under its Graph
/// name: the document's properties are the wire types'.
fn component<T: ToSchema>(schemas: &mut Map<String, Value>) {
    let mut referred = Vec::new();
    T::schemas(&mut referred);
    for (name, schema) in referred {
        schemas.insert(name, json!(schema));
    }
    schemas.insert(T::name().into_owned(), json!(T::schema()));
}

/// The schemas, each derived from the type that reads or writes it.
fn schemas() -> Value {
    use crate::handlers::testing::{AdvanceBody, ClockDto};
    use crate::wire::audit::DirectoryAuditDto;
    use crate::wire::decisions::{BatchBody, DecisionItemDto, RecordBody};
    use crate::wire::directory::{DirectoryObjectDto, GroupDto, ReferenceBody, UserDto};
    use crate::wire::history::{HistoryDefinitionDto, HistoryInstanceDto};
    use crate::wire::{
        DefinitionDto, IdentityDto, InstanceDto, ReviewerDto, ScopeDto, StageDto, StageSettingsDto,
    };

    let mut schemas = Map::new();
    let all = &mut schemas;
    component::<ScopeDto>(all);
    component::<IdentityDto>(all);
    component::<StageSettingsDto>(all);
    component::<DefinitionDto>(all);
    component::<HistoryDefinitionDto>(all);
    component::<HistoryInstanceDto>(all);
    component::<InstanceDto>(all);
    component::<StageDto>(all);
    component::<DecisionItemDto>(all);
    component::<RecordBody>(all);
    component::<BatchBody>(all);
    component::<UserDto>(all);
    component::<GroupDto>(all);
    component::<DirectoryObjectDto>(all);
    component::<ReferenceBody>(all);
    component::<ReviewerDto>(all);
    component::<DirectoryAuditDto>(all);
    component::<ClockDto>(all);
    component::<AdvanceBody>(all);
    schemas.insert(
        "odataError".to_owned(),
        json!({"type": "object", "properties": {"error": {"type": "object", "properties": {
            "code": {"type": "string"}, "message": {"type": "string"},
            "innerError": {"type": "object"}}}}}),
    );
    Value::Object(schemas)
}

fn parameters(operation: &Operation) -> Vec<Value> {
    let mut parameters: Vec<Value> = operation
        .path
        .split('/')
        .filter_map(|segment| segment.strip_prefix('{')?.strip_suffix('}'))
        .map(|name| json!({"name": name, "in": "path", "required": true, "schema": {"type": "string", "format": "uuid"}}))
        .collect();
    if operation.collection {
        for (name, schema) in [
            ("$filter", json!({"type": "string"})),
            (
                "$top",
                json!({"type": "integer", "minimum": 1, "maximum": 999}),
            ),
            ("$skip", json!({"type": "integer", "minimum": 0})),
            ("$select", json!({"type": "string"})),
        ] {
            parameters
                .push(json!({"name": name, "in": "query", "required": false, "schema": schema}));
        }
    }
    parameters
}

fn response(operation: &Operation) -> Value {
    let description = match operation.status {
        201 => "Created",
        204 => "No Content",
        _ => "OK",
    };
    match operation.schema {
        None => json!({"description": description}),
        Some(schema) => {
            let schema = if operation.collection {
                json!({"type": "object", "properties": {
                    "@odata.context": {"type": "string"},
                    "@odata.nextLink": {"type": "string"},
                    "value": {"type": "array", "items": schema_ref(schema)}}})
            } else {
                schema_ref(schema)
            };
            json!({"description": description, "content": {"application/json": {"schema": schema}}})
        }
    }
}

/// The whole document.
pub fn document() -> Value {
    let mut paths = Map::new();
    for operation in operations() {
        let mut entry = json!({
            "operationId": operation.id,
            "summary": operation.summary,
            "parameters": parameters(&operation),
            "responses": {
                operation.status.to_string(): response(&operation),
                "default": {"description": "Graph's error body", "content": {"application/json": {"schema": schema_ref("odataError")}}}
            }
        });
        if let Some(body) = operation.body {
            entry["requestBody"] = json!({"required": true, "content": {"application/json": {"schema": schema_ref(body)}}});
        }
        if !operation.secured {
            entry["security"] = json!([]);
        }
        let path = paths
            .entry(operation.path.clone())
            .or_insert_with(|| Value::Object(Map::new()));
        path[operation.method] = entry;
    }
    json!({
        "openapi": "3.1.0",
        "info": {
            "title": "access-reviews",
            "version": env!("CARGO_PKG_VERSION"),
            "description": "Microsoft Graph v1.0 compatible access reviews: definitions, instances, stages and their stop action, decision items and a directory."
        },
        "servers": [{"url": "/"}],
        "security": [{"bearer": []}],
        "paths": paths,
        "components": {
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"}},
            "schemas": schemas()
        }
    })
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_definition_s_schema_lists_its_properties_and_refers_to_its_parts() {
        let document = super::document();
        let definition = &document["components"]["schemas"]["accessReviewScheduleDefinition"];
        let properties = definition["properties"].as_object().unwrap();
        for name in [
            "id",
            "displayName",
            "scope",
            "settings",
            "stageSettings",
            "createdBy",
        ] {
            assert!(properties.contains_key(name), "{name}: {definition}");
        }
        assert_eq!(
            properties["settings"]["$ref"],
            "#/components/schemas/accessReviewScheduleSettings"
        );
    }
}
