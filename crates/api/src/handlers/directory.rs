//! `/users`, `/groups`, memberships and managers.

use access_reviews_domain::directory::{DirectoryObject, Relation};
use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::{StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use serde_json::Value;

use super::{group_id, listing, object_id, options, user_id};
use crate::AppState;
use crate::auth::{Caller, Permission};
use crate::error::ApiError;
use crate::odata::{self, EntityOptions, Filterable, ServiceRoot};
use crate::wire::directory::{
    DirectoryObjectDto, GROUP_PROPERTIES, GroupDto, NewGroupBody, NewUserBody, OBJECT_PROPERTIES,
    ReferenceBody, USER_PROPERTIES, UserDto,
};
use crate::wire::parse_json;

fn created(root: &ServiceRoot, collection: &str, id: String, body: Value) -> Response {
    let location = root.url(&format!("/v1.0/{collection}/{id}"));
    (
        StatusCode::CREATED,
        [(header::LOCATION, location)],
        Json(body),
    )
        .into_response()
}

/// `POST /users`.
pub async fn create_user(
    caller: Caller,
    root: ServiceRoot,
    State(state): State<AppState>,
    body: Bytes,
) -> Result<Response, ApiError> {
    let actor = caller.require(Permission::UserWrite)?;
    let new = parse_json::<NewUserBody>(&body)?.into_domain()?;
    let user = state.use_cases.directory.create_user(actor, new).await?;
    let body = odata::entity(root.context("users/$entity"), &UserDto::from(&user), None);
    Ok(created(&root, "users", user.id.to_string(), body))
}

/// `GET /users`.
pub async fn list_users(
    caller: Caller,
    root: ServiceRoot,
    State(state): State<AppState>,
    uri: Uri,
    query: RawQuery,
) -> Result<Json<Value>, ApiError> {
    caller.require(Permission::UserRead)?;
    let listing = listing(root, uri, query, USER_PROPERTIES, Filterable::Nothing)?;
    let page = state
        .use_cases
        .directory
        .users(listing.options.page)
        .await?;
    let items: Vec<_> = page.items.iter().map(UserDto::from).collect();
    Ok(listing.answer("users", &items, page.has_more))
}

/// `GET /users/{id}`.
pub async fn get_user(
    caller: Caller,
    root: ServiceRoot,
    State(state): State<AppState>,
    Path(id): Path<String>,
    query: RawQuery,
) -> Result<Json<Value>, ApiError> {
    caller.require(Permission::UserRead)?;
    let id = user_id(&id)?;
    let options = EntityOptions::parse(&options(query)?, USER_PROPERTIES)?;
    let user = state.use_cases.directory.user(id).await?;
    Ok(Json(odata::entity(
        root.context("users/$entity"),
        &UserDto::from(&user),
        options.select.as_deref(),
    )))
}

/// `PUT /users/{id}/manager/$ref`.
pub async fn set_manager(
    caller: Caller,
    State(state): State<AppState>,
    Path(id): Path<String>,
    body: Bytes,
) -> Result<StatusCode, ApiError> {
    let actor = caller.require(Permission::UserWrite)?;
    let user = user_id(&id)?;
    let manager = parse_json::<ReferenceBody>(&body)?.object_id()?;
    state
        .use_cases
        .directory
        .set_manager(actor, user, manager)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// `GET /users/{id}/manager`.
pub async fn get_manager(
    caller: Caller,
    root: ServiceRoot,
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    caller.require(Permission::UserRead)?;
    let manager = state.use_cases.directory.manager(user_id(&id)?).await?;
    Ok(Json(odata::entity(
        root.context("directoryObjects/$entity"),
        &DirectoryObjectDto::from(&DirectoryObject::User(manager)),
        None,
    )))
}

/// `POST /groups`.
pub async fn create_group(
    caller: Caller,
    root: ServiceRoot,
    State(state): State<AppState>,
    body: Bytes,
) -> Result<Response, ApiError> {
    let actor = caller.require(Permission::GroupWrite)?;
    let new = parse_json::<NewGroupBody>(&body)?.into_domain()?;
    let group = state.use_cases.directory.create_group(actor, new).await?;
    let body = odata::entity(
        root.context("groups/$entity"),
        &GroupDto::from(&group),
        None,
    );
    Ok(created(&root, "groups", group.id.to_string(), body))
}

/// `GET /groups`.
pub async fn list_groups(
    caller: Caller,
    root: ServiceRoot,
    State(state): State<AppState>,
    uri: Uri,
    query: RawQuery,
) -> Result<Json<Value>, ApiError> {
    caller.require(Permission::GroupRead)?;
    let listing = listing(root, uri, query, GROUP_PROPERTIES, Filterable::Nothing)?;
    let page = state
        .use_cases
        .directory
        .groups(listing.options.page)
        .await?;
    let items: Vec<_> = page.items.iter().map(GroupDto::from).collect();
    Ok(listing.answer("groups", &items, page.has_more))
}

/// `GET /groups/{id}`.
pub async fn get_group(
    caller: Caller,
    root: ServiceRoot,
    State(state): State<AppState>,
    Path(id): Path<String>,
    query: RawQuery,
) -> Result<Json<Value>, ApiError> {
    caller.require(Permission::GroupRead)?;
    let id = group_id(&id)?;
    let options = EntityOptions::parse(&options(query)?, GROUP_PROPERTIES)?;
    let group = state.use_cases.directory.group(id).await?;
    Ok(Json(odata::entity(
        root.context("groups/$entity"),
        &GroupDto::from(&group),
        options.select.as_deref(),
    )))
}

async fn add(
    caller: Caller,
    state: AppState,
    id: String,
    relation: Relation,
    body: Bytes,
) -> Result<StatusCode, ApiError> {
    let actor = caller.require(Permission::GroupWrite)?;
    let group = group_id(&id)?;
    let object = parse_json::<ReferenceBody>(&body)?.object_id()?;
    state
        .use_cases
        .directory
        .add(actor, group, relation, object)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// `POST /groups/{id}/members/$ref`.
pub async fn add_member(
    caller: Caller,
    State(state): State<AppState>,
    Path(id): Path<String>,
    body: Bytes,
) -> Result<StatusCode, ApiError> {
    add(caller, state, id, Relation::Members, body).await
}

/// `POST /groups/{id}/owners/$ref`.
pub async fn add_owner(
    caller: Caller,
    State(state): State<AppState>,
    Path(id): Path<String>,
    body: Bytes,
) -> Result<StatusCode, ApiError> {
    add(caller, state, id, Relation::Owners, body).await
}

/// `DELETE /groups/{id}/members/{memberId}/$ref`.
pub async fn remove_member(
    caller: Caller,
    State(state): State<AppState>,
    Path((group, member)): Path<(String, String)>,
) -> Result<StatusCode, ApiError> {
    let actor = caller.require(Permission::GroupWrite)?;
    let (group, member) = (group_id(&group)?, object_id(&member)?);
    state
        .use_cases
        .directory
        .remove_member(actor, group, member)
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
    caller: Caller,
    root: ServiceRoot,
    state: AppState,
    id: String,
    uri: Uri,
    query: RawQuery,
    listed: Listed,
) -> Result<Json<Value>, ApiError> {
    caller.require(Permission::GroupRead)?;
    let group = group_id(&id)?;
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
    Ok(listing.answer("directoryObjects", &items, page.has_more))
}

/// `GET /groups/{id}/members`.
pub async fn members(
    caller: Caller,
    root: ServiceRoot,
    State(state): State<AppState>,
    Path(id): Path<String>,
    uri: Uri,
    query: RawQuery,
) -> Result<Json<Value>, ApiError> {
    let listed = Listed::Relation(Relation::Members);
    list_related(caller, root, state, id, uri, query, listed).await
}

/// `GET /groups/{id}/owners`.
pub async fn owners(
    caller: Caller,
    root: ServiceRoot,
    State(state): State<AppState>,
    Path(id): Path<String>,
    uri: Uri,
    query: RawQuery,
) -> Result<Json<Value>, ApiError> {
    let listed = Listed::Relation(Relation::Owners);
    list_related(caller, root, state, id, uri, query, listed).await
}

/// `GET /groups/{id}/transitiveMembers`.
pub async fn transitive_members(
    caller: Caller,
    root: ServiceRoot,
    State(state): State<AppState>,
    Path(id): Path<String>,
    uri: Uri,
    query: RawQuery,
) -> Result<Json<Value>, ApiError> {
    list_related(caller, root, state, id, uri, query, Listed::Transitive).await
}
