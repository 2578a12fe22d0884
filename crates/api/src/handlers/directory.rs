//! `/users`, `/groups`, memberships and managers.

use access_reviews_domain::directory::{DirectoryObject, Relation};
use axum::Json;
use axum::body::Bytes;
use axum::extract::{RawQuery, State};
use axum::http::{StatusCode, Uri};
use axum::response::Response;
use serde_json::Value;

use super::paths::{GroupMemberPath, GroupPath, UserPath};
use super::{listing, options};
use crate::AppState;
use crate::auth::{self, Authorized};
use crate::error::ApiError;
use crate::odata::{self, EntityOptions, Filterable, ServiceRoot};
use crate::wire::directory::{
    DirectoryObjectDto, GROUP_PROPERTIES, GroupDto, NewGroupBody, NewUserBody, OBJECT_PROPERTIES,
    ReferenceBody, USER_PROPERTIES, UserDto,
};
use crate::wire::parse_json;

type UserReader = Authorized<auth::UserRead>;
type UserWriter = Authorized<auth::UserWrite>;
type GroupReader = Authorized<auth::GroupRead>;
type GroupWriter = Authorized<auth::GroupWrite>;

fn created(root: &ServiceRoot, collection: &str, id: String, body: odata::Entity) -> Response {
    super::created(root.url(&format!("/v1.0/{collection}/{id}")), body)
}

/// `POST /users`.
pub async fn create_user(
    caller: UserWriter,
    root: ServiceRoot,
    State(state): State<AppState>,
    body: Bytes,
) -> Result<Response, ApiError> {
    let new = parse_json::<NewUserBody>(&body)?.into_domain()?;
    let user = state
        .use_cases
        .directory
        .create_user(caller.actor(), new)
        .await?;
    let body = odata::entity(root.context("users/$entity"), &UserDto::from(&user), None);
    Ok(created(&root, "users", user.id.to_string(), body))
}

/// `GET /users`.
pub async fn list_users(
    _caller: UserReader,
    root: ServiceRoot,
    State(state): State<AppState>,
    uri: Uri,
    query: RawQuery,
) -> Result<Json<Value>, ApiError> {
    let listing = listing(root, uri, query, USER_PROPERTIES, Filterable::Nothing)?;
    let page = state
        .use_cases
        .directory
        .users(listing.options.page)
        .await?;
    let items: Vec<_> = page.items.iter().map(UserDto::from).collect();
    Ok(listing.answer("users", &items, page.has_more, page.total))
}

/// `GET /users/{id}`.
pub async fn get_user(
    _caller: UserReader,
    path: UserPath,
    root: ServiceRoot,
    State(state): State<AppState>,
    query: RawQuery,
) -> Result<odata::Entity, ApiError> {
    let options = EntityOptions::parse(&options(query)?, USER_PROPERTIES)?;
    let user = state.use_cases.directory.user(path.user).await?;
    Ok(odata::entity(
        root.context("users/$entity"),
        &UserDto::from(&user),
        options.select.as_deref(),
    ))
}

/// `PUT /users/{id}/manager/$ref`.
pub async fn set_manager(
    caller: UserWriter,
    path: UserPath,
    root: ServiceRoot,
    State(state): State<AppState>,
    body: Bytes,
) -> Result<StatusCode, ApiError> {
    let manager = parse_json::<ReferenceBody>(&body)?.object_id(&root)?;
    state
        .use_cases
        .directory
        .set_manager(caller.actor(), path.user, manager)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// `GET /users/{id}/manager`.
pub async fn get_manager(
    _caller: UserReader,
    path: UserPath,
    root: ServiceRoot,
    State(state): State<AppState>,
) -> Result<odata::Entity, ApiError> {
    let manager = state.use_cases.directory.manager(path.user).await?;
    Ok(odata::entity(
        root.context("directoryObjects/$entity"),
        &DirectoryObjectDto::from(&DirectoryObject::User(manager)),
        None,
    ))
}

/// `POST /groups`.
pub async fn create_group(
    caller: GroupWriter,
    root: ServiceRoot,
    State(state): State<AppState>,
    body: Bytes,
) -> Result<Response, ApiError> {
    let new = parse_json::<NewGroupBody>(&body)?.into_domain()?;
    let group = state
        .use_cases
        .directory
        .create_group(caller.actor(), new)
        .await?;
    let body = odata::entity(
        root.context("groups/$entity"),
        &GroupDto::from(&group),
        None,
    );
    Ok(created(&root, "groups", group.id.to_string(), body))
}

/// `GET /groups`.
pub async fn list_groups(
    _caller: GroupReader,
    root: ServiceRoot,
    State(state): State<AppState>,
    uri: Uri,
    query: RawQuery,
) -> Result<Json<Value>, ApiError> {
    let listing = listing(root, uri, query, GROUP_PROPERTIES, Filterable::Nothing)?;
    let page = state
        .use_cases
        .directory
        .groups(listing.options.page)
        .await?;
    let items: Vec<_> = page.items.iter().map(GroupDto::from).collect();
    Ok(listing.answer("groups", &items, page.has_more, page.total))
}

/// `GET /groups/{id}`.
pub async fn get_group(
    _caller: GroupReader,
    path: GroupPath,
    root: ServiceRoot,
    State(state): State<AppState>,
    query: RawQuery,
) -> Result<odata::Entity, ApiError> {
    let options = EntityOptions::parse(&options(query)?, GROUP_PROPERTIES)?;
    let group = state.use_cases.directory.group(path.group).await?;
    Ok(odata::entity(
        root.context("groups/$entity"),
        &GroupDto::from(&group),
        options.select.as_deref(),
    ))
}

async fn add(
    caller: GroupWriter,
    (path, root): (GroupPath, ServiceRoot),
    state: AppState,
    relation: Relation,
    body: Bytes,
) -> Result<StatusCode, ApiError> {
    let object = parse_json::<ReferenceBody>(&body)?.object_id(&root)?;
    state
        .use_cases
        .directory
        .add(caller.actor(), path.group, relation, object)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// `POST /groups/{id}/members/$ref`.
pub async fn add_member(
    caller: GroupWriter,
    path: GroupPath,
    root: ServiceRoot,
    State(state): State<AppState>,
    body: Bytes,
) -> Result<StatusCode, ApiError> {
    add(caller, (path, root), state, Relation::Members, body).await
}

/// `POST /groups/{id}/owners/$ref`.
pub async fn add_owner(
    caller: GroupWriter,
    path: GroupPath,
    root: ServiceRoot,
    State(state): State<AppState>,
    body: Bytes,
) -> Result<StatusCode, ApiError> {
    add(caller, (path, root), state, Relation::Owners, body).await
}

/// `DELETE /groups/{id}/members/{memberId}/$ref`.
pub async fn remove_member(
    caller: GroupWriter,
    path: GroupMemberPath,
    State(state): State<AppState>,
) -> Result<StatusCode, ApiError> {
    state
        .use_cases
        .directory
        .remove_member(caller.actor(), path.group, path.member)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Which list of a group a read asks for.
#[derive(Clone, Copy)]
enum Listed {
    Relation(Relation),
    Transitive,
}

async fn list_related(
    path: GroupPath,
    root: ServiceRoot,
    state: AppState,
    uri: Uri,
    query: RawQuery,
    listed: Listed,
) -> Result<Json<Value>, ApiError> {
    let group = path.group;
    let listing = listing(root, uri, query, OBJECT_PROPERTIES, Filterable::Nothing)?;
    let directory = &state.use_cases.directory;
    let page = match listed {
        Listed::Relation(relation) => {
            directory
                .related(group, relation, listing.options.page)
                .await?
        }
        Listed::Transitive => {
            directory
                .transitive_members(group, listing.options.page)
                .await?
        }
    };
    let items: Vec<_> = page.items.iter().map(DirectoryObjectDto::from).collect();
    Ok(listing.answer("directoryObjects", &items, page.has_more, page.total))
}

/// `GET /groups/{id}/members`.
pub async fn members(
    _caller: GroupReader,
    path: GroupPath,
    root: ServiceRoot,
    State(state): State<AppState>,
    uri: Uri,
    query: RawQuery,
) -> Result<Json<Value>, ApiError> {
    let listed = Listed::Relation(Relation::Members);
    list_related(path, root, state, uri, query, listed).await
}

/// `GET /groups/{id}/owners`.
pub async fn owners(
    _caller: GroupReader,
    path: GroupPath,
    root: ServiceRoot,
    State(state): State<AppState>,
    uri: Uri,
    query: RawQuery,
) -> Result<Json<Value>, ApiError> {
    let listed = Listed::Relation(Relation::Owners);
    list_related(path, root, state, uri, query, listed).await
}

/// `GET /groups/{id}/transitiveMembers`.
pub async fn transitive_members(
    _caller: GroupReader,
    path: GroupPath,
    root: ServiceRoot,
    State(state): State<AppState>,
    uri: Uri,
    query: RawQuery,
) -> Result<Json<Value>, ApiError> {
    list_related(path, root, state, uri, query, Listed::Transitive).await
}
