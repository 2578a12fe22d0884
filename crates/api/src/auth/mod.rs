//! Bearer tokens: verification, the caller they describe, and the API
//! permission (scope or app role) each operation needs.
//!
//! Directory-role and creator rules depend on the object and live in the
//! domain ([`access_reviews_domain::actor`]); this module only turns a token
//! into an [`Actor`] and checks the permission that comes before any lookup.

use std::collections::HashSet;

use access_reviews_domain::actor::{Actor, DirectoryRole};
use access_reviews_domain::ids::PrincipalId;
use axum::extract::FromRequestParts;
use axum::http::header::AUTHORIZATION;
use axum::http::request::Parts;
use jsonwebtoken::{Algorithm, DecodingKey, Validation, decode};
use serde::Deserialize;
use uuid::Uuid;

use crate::AppState;
use crate::error::ApiError;

mod keys;

pub use keys::{KeyFile, KeySet, KeySetError, KeySource, KeyUrl, RefreshPolicy};

/// Clock skew tolerated on `exp` and `nbf`, in seconds.
const LEEWAY_SECONDS: u64 = 60;

/// Checks signature, algorithm, issuer, audience and lifetime of tokens.
/// Each token is checked against what its `alg` names: HS256 against the
/// shared secret, RS256 against the key set; any other algorithm, or one
/// not configured, is refused.
pub struct TokenVerifier {
    hs256: Option<(DecodingKey, Validation)>,
    rs256: Option<(KeySet, Validation)>,
    /// Accepted issuers and audiences, for the validations added later.
    accepted: Validation,
}

/// A shared secret that cannot verify anything.
#[derive(Debug, thiserror::Error)]
#[error("the HS256 secret is empty")]
pub struct EmptySecret;

impl TokenVerifier {
    /// Accepts tokens from any of `issuers` for any of `audiences`, once
    /// a way to check their signatures is added.
    pub fn new(issuers: &[String], audiences: &[String]) -> Self {
        let mut accepted = Validation::new(Algorithm::HS256);
        accepted.set_issuer(issuers);
        accepted.set_audience(audiences);
        accepted.set_required_spec_claims(&["exp", "iss", "aud"]);
        accepted.validate_nbf = true;
        accepted.leeway = LEEWAY_SECONDS;
        Self {
            hs256: None,
            rs256: None,
            accepted,
        }
    }

    /// Verifies HS256 tokens signed with `secret` that carry exactly this
    /// issuer and audience.
    ///
    /// # Errors
    /// [`EmptySecret`] for an empty secret.
    pub fn hs256(secret: &[u8], issuer: &str, audience: &str) -> Result<Self, EmptySecret> {
        Self::new(&[issuer.to_owned()], &[audience.to_owned()]).with_hs256(secret)
    }

    /// Also accepts HS256 tokens signed with `secret`.
    ///
    /// # Errors
    /// [`EmptySecret`] for an empty secret.
    pub fn with_hs256(mut self, secret: &[u8]) -> Result<Self, EmptySecret> {
        let key = DecodingKey::from_secret(secret).map_err(|_| EmptySecret)?;
        self.hs256 = Some((key, self.validation(Algorithm::HS256)));
        Ok(self)
    }

    /// Also accepts RS256 tokens signed with a key of `keys`.
    #[must_use]
    pub fn with_key_set(mut self, keys: KeySet) -> Self {
        self.rs256 = Some((keys, self.validation(Algorithm::RS256)));
        self
    }

    fn validation(&self, algorithm: Algorithm) -> Validation {
        let mut validation = self.accepted.clone();
        validation.algorithms = vec![algorithm];
        validation
    }

    async fn verify(&self, token: &str) -> Result<Claims, ApiError> {
        let header = jsonwebtoken::decode_header(token)
            .map_err(|_| ApiError::unauthenticated("The token is malformed."))?;
        let refused = || ApiError::unauthenticated("The token's algorithm is not accepted.");
        match header.alg {
            Algorithm::HS256 => {
                let (key, validation) = self.hs256.as_ref().ok_or_else(refused)?;
                check(token, key, validation)
            }
            Algorithm::RS256 => {
                let (keys, validation) = self.rs256.as_ref().ok_or_else(refused)?;
                let kid = header.kid.ok_or_else(|| {
                    ApiError::unauthenticated("The token names no signing key (kid).")
                })?;
                let key = keys.key(&kid).await.map_err(|lookup| {
                    ApiError::unauthenticated(match lookup {
                        keys::Lookup::UnknownKey => "The token's signing key is not known.",
                        keys::Lookup::Unavailable => {
                            "The signing keys cannot be had right now; try again later."
                        }
                    })
                })?;
                check(token, &key, validation)
            }
            _ => Err(refused()),
        }
    }
}

fn check(token: &str, key: &DecodingKey, validation: &Validation) -> Result<Claims, ApiError> {
    decode::<Claims>(token, key, validation)
        .map(|data| data.claims)
        .map_err(|e| {
            use jsonwebtoken::errors::ErrorKind;
            let reason = match e.kind() {
                ErrorKind::ExpiredSignature => "The token has expired.",
                ErrorKind::ImmatureSignature => "The token is not valid yet.",
                ErrorKind::InvalidIssuer => "The token's issuer is not accepted.",
                ErrorKind::InvalidAudience => "The token's audience is not accepted.",
                ErrorKind::InvalidSignature => "The token's signature is invalid.",
                ErrorKind::InvalidAlgorithm => "The token's algorithm is not accepted.",
                ErrorKind::MissingRequiredClaim(_) => "The token lacks a required claim.",
                _ => "The token is malformed.",
            };
            ApiError::unauthenticated(reason)
        })
}

/// The claims this service reads; Microsoft Entra ID's names.
#[derive(Debug, Deserialize)]
struct Claims {
    /// Delegated scopes, space separated.
    scp: Option<String>,
    /// Application roles.
    roles: Option<Vec<String>>,
    /// Object id of the user or service principal.
    oid: Option<String>,
    /// Directory role template ids of the user.
    #[serde(default)]
    wids: Vec<String>,
    name: Option<String>,
    preferred_username: Option<String>,
    upn: Option<String>,
    app_displayname: Option<String>,
    /// The application's id: `appid` in v1 tokens, `azp` in v2.
    appid: Option<String>,
    azp: Option<String>,
}

/// The API permissions operations need. Each accepts several scopes (or
/// app roles); the first is the least privileged.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Permission {
    /// Reading access reviews.
    AccessReviewRead,
    /// Creating and acting on access reviews, recording decisions.
    AccessReviewWrite,
    /// Reading users.
    UserRead,
    /// Creating users, setting managers.
    UserWrite,
    /// Reading groups and their members and owners.
    GroupRead,
    /// Creating groups, changing members and owners.
    GroupWrite,
    /// Reading the audit log.
    AuditLogRead,
}

impl Permission {
    /// The scopes or app roles that grant it, least privileged first.
    pub const fn accepted(self) -> &'static [&'static str] {
        match self {
            Self::AccessReviewRead => &["AccessReview.Read.All", "AccessReview.ReadWrite.All"],
            Self::AccessReviewWrite => &["AccessReview.ReadWrite.All"],
            Self::UserRead => &[
                "User.Read.All",
                "User.ReadWrite.All",
                "Directory.Read.All",
                "Directory.ReadWrite.All",
            ],
            Self::UserWrite => &["User.ReadWrite.All", "Directory.ReadWrite.All"],
            Self::GroupRead => &[
                "Group.Read.All",
                "Group.ReadWrite.All",
                "Directory.Read.All",
                "Directory.ReadWrite.All",
            ],
            Self::GroupWrite => &["Group.ReadWrite.All", "Directory.ReadWrite.All"],
            Self::AuditLogRead => &["AuditLog.Read.All"],
        }
    }
}

/// The authenticated caller and the permissions its token grants.
#[derive(Debug)]
pub struct Caller {
    actor: Actor,
    /// Whom throttling counts: the user's `oid`, or the application's id.
    throttle_key: String,
    /// Scopes (delegated) or app roles (application).
    grants: HashSet<String>,
}

impl Caller {
    /// The caller, when its token grants `needed`.
    ///
    /// # Errors
    /// 403 `accessDenied` otherwise.
    pub fn require(&self, needed: Permission) -> Result<&Actor, ApiError> {
        let accepted = needed.accepted();
        if accepted
            .iter()
            .any(|name| self.grants.contains(&name.to_ascii_lowercase()))
        {
            return Ok(&self.actor);
        }
        let kind = match self.actor {
            Actor::User { .. } => "scope",
            Actor::Application { .. } => "app role",
        };
        Err(ApiError::access_denied(format!(
            "The token lacks a {kind} this operation needs: one of {}.",
            accepted.join(", ")
        )))
    }
}

/// Microsoft Entra built-in role template ids (the `wids` claim).
fn directory_role(template_id: &str) -> Option<DirectoryRole> {
    let id = Uuid::parse_str(template_id).ok()?;
    Some(match id.as_hyphenated().to_string().as_str() {
        "62e90394-69f5-4237-9190-012177145e10" => DirectoryRole::GlobalAdministrator,
        "45d8d3c5-c802-45c6-b32a-1d70b5e1e86e" => DirectoryRole::IdentityGovernanceAdministrator,
        "fe930be7-5e62-47db-91af-98c3a49a38b1" => DirectoryRole::UserAdministrator,
        "e8611ab8-c189-46e8-94e1-60213ab1f814" => DirectoryRole::PrivilegedRoleAdministrator,
        "194ae4cb-b126-40b2-bd5b-6091b380977d" => DirectoryRole::SecurityAdministrator,
        "5d6b6bb7-de71-4623-b4af-96380a352509" => DirectoryRole::SecurityReader,
        "f2ef992c-3afb-46b9-b7cf-a126ee74c451" => DirectoryRole::GlobalReader,
        "fdd7a751-b60b-444a-984c-02652fe8fa1c" => DirectoryRole::GroupsAdministrator,
        "4a5d8f65-41da-4de4-8968-e035b65339cf" => DirectoryRole::ReportsReader,
        _ => return None,
    })
}

impl Caller {
    fn from_claims(claims: Claims) -> Result<Self, ApiError> {
        let oid = claims
            .oid
            .as_deref()
            .and_then(|oid| Uuid::parse_str(oid).ok())
            .map(PrincipalId::from_uuid)
            .ok_or_else(|| {
                ApiError::unauthenticated("The token's oid claim is missing or not a GUID.")
            })?;
        let lower = |s: &str| s.to_ascii_lowercase();
        let app = claims.appid.or(claims.azp);
        Ok(match claims.scp {
            Some(scp) => Self {
                throttle_key: oid.to_string(),
                grants: scp.split_whitespace().map(lower).collect(),
                actor: Actor::User {
                    id: oid,
                    display_name: claims.name,
                    user_principal_name: claims.upn.or(claims.preferred_username),
                    roles: claims
                        .wids
                        .iter()
                        .filter_map(|w| directory_role(w))
                        .collect(),
                },
            },
            None => Self {
                throttle_key: app.unwrap_or_else(|| oid.to_string()),
                grants: claims
                    .roles
                    .unwrap_or_default()
                    .iter()
                    .map(|r| lower(r))
                    .collect(),
                actor: Actor::Application {
                    id: oid,
                    display_name: claims.app_displayname,
                },
            },
        })
    }
}

impl FromRequestParts<AppState> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let header = parts
            .headers
            .get(AUTHORIZATION)
            .ok_or_else(|| ApiError::unauthenticated("The Authorization header is missing."))?;
        let token = header
            .to_str()
            .ok()
            .and_then(|value| {
                let (scheme, token) = value.split_once(' ')?;
                scheme.eq_ignore_ascii_case("bearer").then(|| token.trim())
            })
            .filter(|token| !token.is_empty())
            .ok_or_else(|| {
                ApiError::unauthenticated("The Authorization header must be 'Bearer <token>'.")
            })?;
        let caller = Caller::from_claims(state.tokens.verify(token).await?)?;
        if let Some(throttle) = &state.throttle
            && let Err(wait) = throttle.admit(&caller.throttle_key)
        {
            metrics::counter!("http_requests_throttled_total").increment(1);
            return Err(ApiError::too_many_requests(wait));
        }
        if let Some(slot) = parts.extensions.get::<crate::audit::RecordSlot>() {
            slot.set(&caller.actor);
        }
        Ok(caller)
    }
}

/// A permission as a type, for [`Authorized`].
pub trait Needs: Send + Sync {
    /// The permission.
    const PERMISSION: Permission;
}

macro_rules! needs {
    ($($(#[$doc:meta])* $name:ident => $permission:ident),* $(,)?) => {$(
        $(#[$doc])*
        pub struct $name;

        impl Needs for $name {
            const PERMISSION: Permission = Permission::$permission;
        }
    )*};
}

needs! {
    /// [`Permission::AccessReviewRead`].
    ReviewRead => AccessReviewRead,
    /// [`Permission::AccessReviewWrite`].
    ReviewWrite => AccessReviewWrite,
    /// [`Permission::UserRead`].
    UserRead => UserRead,
    /// [`Permission::UserWrite`].
    UserWrite => UserWrite,
    /// [`Permission::GroupRead`].
    GroupRead => GroupRead,
    /// [`Permission::GroupWrite`].
    GroupWrite => GroupWrite,
    /// [`Permission::AuditLogRead`].
    AuditRead => AuditLogRead,
}

/// The caller, whose token grants the permission `N`: an extractor, so a
/// handler that takes one runs only for such callers. Placed before the
/// path extractors, it keeps Graph's order: 401, then 403 (before any id
/// is parsed or looked up), then 400 for a malformed id.
pub struct Authorized<N> {
    actor: Actor,
    needs: std::marker::PhantomData<N>,
}

impl<N> Authorized<N> {
    /// Who calls.
    pub fn actor(&self) -> &Actor {
        &self.actor
    }
}

impl<N: Needs> FromRequestParts<AppState> for Authorized<N> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let caller = Caller::from_request_parts(parts, state).await?;
        caller.require(N::PERMISSION)?;
        Ok(Self {
            actor: caller.actor,
            needs: std::marker::PhantomData,
        })
    }
}

/// A caller who may read access reviews.
pub type Reader = Authorized<ReviewRead>;
/// A caller who may write access reviews.
pub type Writer = Authorized<ReviewWrite>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_documented_role_template_id_maps_to_its_role() {
        let table = [
            (
                "62e90394-69f5-4237-9190-012177145e10",
                DirectoryRole::GlobalAdministrator,
            ),
            (
                "45d8d3c5-c802-45c6-b32a-1d70b5e1e86e",
                DirectoryRole::IdentityGovernanceAdministrator,
            ),
            (
                "fe930be7-5e62-47db-91af-98c3a49a38b1",
                DirectoryRole::UserAdministrator,
            ),
            (
                "e8611ab8-c189-46e8-94e1-60213ab1f814",
                DirectoryRole::PrivilegedRoleAdministrator,
            ),
            (
                "194ae4cb-b126-40b2-bd5b-6091b380977d",
                DirectoryRole::SecurityAdministrator,
            ),
            (
                "5d6b6bb7-de71-4623-b4af-96380a352509",
                DirectoryRole::SecurityReader,
            ),
            (
                "F2EF992C-3AFB-46B9-B7CF-A126EE74C451",
                DirectoryRole::GlobalReader,
            ),
        ];
        for (id, role) in table {
            assert_eq!(directory_role(id), Some(role), "{id}");
        }
        assert_eq!(
            directory_role("fdd7a751-b60b-444a-984c-02652fe8fa1c"),
            Some(DirectoryRole::GroupsAdministrator)
        );
        assert_eq!(
            directory_role("4a5d8f65-41da-4de4-8968-e035b65339cf"),
            Some(DirectoryRole::ReportsReader)
        );
        assert_eq!(directory_role("88d8e3e3-8f55-4a1e-953a-9b9898b8876b"), None);
        assert_eq!(directory_role("not-a-guid"), None);
    }
}
