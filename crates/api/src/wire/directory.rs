//! Graph's `user`, `group` and `directoryObject` shapes.

use access_reviews_domain::directory::{DirectoryObject, Group, User};
use access_reviews_domain::ids::PrincipalId;
use access_reviews_domain::use_cases::{NewGroup, NewUser};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::error::ApiError;
use crate::odata::ServiceRoot;
use crate::wire::{invalid, missing};

/// `user`.
#[derive(Debug, Serialize, utoipa::ToSchema)]
#[schema(as = user)]
#[serde(rename_all = "camelCase")]
pub struct UserDto {
    #[serde(rename = "@odata.type", skip_serializing_if = "Option::is_none")]
    odata_type: Option<&'static str>,
    id: String,
    display_name: String,
    user_principal_name: String,
    mail: Option<String>,
    mail_nickname: String,
    account_enabled: bool,
}

/// The properties `$select` may name on a user.
pub const USER_PROPERTIES: &[&str] = &[
    "id",
    "displayName",
    "userPrincipalName",
    "mail",
    "mailNickname",
    "accountEnabled",
];

impl From<&User> for UserDto {
    fn from(u: &User) -> Self {
        Self {
            odata_type: None,
            id: u.id.to_string(),
            display_name: u.display_name.clone(),
            user_principal_name: u.user_principal_name.clone(),
            mail: u.mail.clone(),
            mail_nickname: u.mail_nickname.clone(),
            account_enabled: u.account_enabled,
        }
    }
}

/// `group`.
#[derive(Debug, Serialize, utoipa::ToSchema)]
#[schema(as = group)]
#[serde(rename_all = "camelCase")]
pub struct GroupDto {
    #[serde(rename = "@odata.type", skip_serializing_if = "Option::is_none")]
    odata_type: Option<&'static str>,
    id: String,
    display_name: String,
    description: Option<String>,
    mail_nickname: String,
    mail_enabled: bool,
    security_enabled: bool,
}

/// The properties `$select` may name on a group.
pub const GROUP_PROPERTIES: &[&str] = &[
    "id",
    "displayName",
    "description",
    "mailNickname",
    "mailEnabled",
    "securityEnabled",
];

impl From<&Group> for GroupDto {
    fn from(g: &Group) -> Self {
        Self {
            odata_type: None,
            id: g.id.to_string(),
            display_name: g.display_name.clone(),
            description: g.description.clone(),
            mail_nickname: g.mail_nickname.clone(),
            mail_enabled: g.mail_enabled,
            security_enabled: g.security_enabled,
        }
    }
}

/// A member or owner: a user or a group, naming its type as Graph does.
#[derive(Debug, Serialize, utoipa::ToSchema)]
#[schema(as = directoryObject)]
#[serde(untagged)]
pub enum DirectoryObjectDto {
    /// A user.
    User(UserDto),
    /// A group.
    Group(GroupDto),
}

/// The properties `$select` may name on a member list.
pub const OBJECT_PROPERTIES: &[&str] = &[
    "@odata.type",
    "id",
    "displayName",
    "userPrincipalName",
    "mail",
    "mailNickname",
    "accountEnabled",
    "description",
    "mailEnabled",
    "securityEnabled",
];

impl From<&DirectoryObject> for DirectoryObjectDto {
    fn from(o: &DirectoryObject) -> Self {
        match o {
            DirectoryObject::User(u) => Self::User(UserDto {
                odata_type: Some("#microsoft.graph.user"),
                ..UserDto::from(u)
            }),
            DirectoryObject::Group(g) => Self::Group(GroupDto {
                odata_type: Some("#microsoft.graph.group"),
                ..GroupDto::from(g)
            }),
        }
    }
}

/// Graph's v1.0 service root, as references name it.
const GRAPH_V1: &str = "https://graph.microsoft.com/v1.0/";

/// The body of `POST /users`. The password is required, as Graph requires
/// it, and then dropped: this directory has no sign-in.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct NewUserBody {
    account_enabled: Option<bool>,
    display_name: Option<String>,
    mail_nickname: Option<String>,
    user_principal_name: Option<String>,
    mail: Option<String>,
    password_profile: Option<serde_json::Value>,
}

fn text(value: Option<String>, field: &str) -> Result<String, ApiError> {
    let value = value.ok_or_else(|| missing(field))?;
    if value.trim().is_empty() {
        Err(invalid(field, "must not be blank"))
    } else {
        Ok(value)
    }
}

impl NewUserBody {
    /// Checks Graph's required properties.
    ///
    /// # Errors
    /// 400 naming the first missing or blank one.
    pub fn into_domain(self) -> Result<NewUser, ApiError> {
        let account_enabled = self
            .account_enabled
            .ok_or_else(|| missing("accountEnabled"))?;
        let display_name = text(self.display_name, "displayName")?;
        let mail_nickname = text(self.mail_nickname, "mailNickname")?;
        let user_principal_name = text(self.user_principal_name, "userPrincipalName")?;
        if !self
            .password_profile
            .as_ref()
            .is_some_and(|p| p.is_object())
        {
            return Err(missing("passwordProfile"));
        }
        Ok(NewUser {
            display_name,
            user_principal_name,
            mail: self.mail,
            mail_nickname,
            account_enabled,
        })
    }
}

/// The body of `POST /groups`.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct NewGroupBody {
    display_name: Option<String>,
    description: Option<String>,
    mail_enabled: Option<bool>,
    mail_nickname: Option<String>,
    security_enabled: Option<bool>,
}

impl NewGroupBody {
    /// Checks Graph's required properties.
    ///
    /// # Errors
    /// 400 naming the first missing or blank one.
    pub fn into_domain(self) -> Result<NewGroup, ApiError> {
        Ok(NewGroup {
            display_name: text(self.display_name, "displayName")?,
            description: self.description,
            mail_enabled: self.mail_enabled.ok_or_else(|| missing("mailEnabled"))?,
            mail_nickname: text(self.mail_nickname, "mailNickname")?,
            security_enabled: self
                .security_enabled
                .ok_or_else(|| missing("securityEnabled"))?,
        })
    }
}

/// The body of the `$ref` writes:
/// `{"@odata.id": "https://graph.microsoft.com/v1.0/directoryObjects/{id}"}`.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[schema(as = reference)]
pub struct ReferenceBody {
    #[serde(rename = "@odata.id")]
    odata_id: Option<String>,
}

impl ReferenceBody {
    /// The object id of the reference URL: Graph's
    /// `https://graph.microsoft.com/v1.0/{directoryObjects|users|groups}/{id}`
    /// or the same under this service's own base URL; a reference to any
    /// other host is refused, as it names no object of this directory.
    ///
    /// # Errors
    /// 400 naming `@odata.id`.
    pub fn object_id(self, root: &ServiceRoot) -> Result<PrincipalId, ApiError> {
        let reference = self.odata_id.ok_or_else(|| missing("@odata.id"))?;
        let own = root.url("/v1.0/");
        let rest = [GRAPH_V1, own.as_str()]
            .into_iter()
            .find_map(|base| {
                reference
                    .get(..base.len())
                    .filter(|head| head.eq_ignore_ascii_case(base))
                    .map(|_| &reference[base.len()..])
            })
            .ok_or_else(|| {
                invalid(
                    "@odata.id",
                    &format!(
                        "must be {GRAPH_V1}directoryObjects/{{id}} or the same URL on this service"
                    ),
                )
            })?;
        let (collection, id) = rest
            .trim_end_matches('/')
            .split_once('/')
            .unwrap_or(("", rest));
        if !["directoryObjects", "users", "groups"].contains(&collection) || id.contains('/') {
            return Err(invalid(
                "@odata.id",
                "must be a URL ending in /directoryObjects/{id}",
            ));
        }
        Uuid::parse_str(id)
            .map(PrincipalId::from_uuid)
            .map_err(|_| invalid("@odata.id", &format!("'{id}' is not a valid GUID")))
    }
}
