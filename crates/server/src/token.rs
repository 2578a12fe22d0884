//! Development tokens, signed with the configured HS256 secret, so that a
//! local service can be called with curl or a Graph SDK.

use chrono::Utc;
use jsonwebtoken::{EncodingKey, Header, encode};
use serde::Serialize;
use uuid::Uuid;

use crate::config::AuthConfig;

/// What a token says about its bearer.
#[derive(Debug, Clone)]
pub struct TokenRequest {
    /// Delegated scopes; `None` mints an application token.
    pub scp: Option<String>,
    /// Application roles.
    pub roles: Vec<String>,
    /// The caller's object id.
    pub oid: Uuid,
    /// Directory role template ids.
    pub wids: Vec<String>,
    /// Display name.
    pub name: Option<String>,
    /// Lifetime in seconds.
    pub ttl_seconds: i64,
}

#[derive(Serialize)]
struct Claims<'a> {
    iss: &'a str,
    aud: &'a str,
    iat: i64,
    nbf: i64,
    exp: i64,
    oid: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    scp: Option<&'a str>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    roles: &'a Vec<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    wids: &'a Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    name: Option<&'a str>,
}

/// Signs a token the service accepts.
///
/// # Errors
/// When signing fails (an unusable secret).
pub fn mint(auth: &AuthConfig, request: &TokenRequest) -> jsonwebtoken::errors::Result<String> {
    let now = Utc::now().timestamp();
    let claims = Claims {
        iss: &auth.issuer,
        aud: &auth.audience,
        iat: now,
        nbf: now,
        exp: now + request.ttl_seconds,
        oid: request.oid.to_string(),
        scp: request.scp.as_deref(),
        roles: &request.roles,
        wids: &request.wids,
        name: request.name.as_deref(),
    };
    encode(
        &Header::default(),
        &claims,
        &EncodingKey::from_secret(auth.hs256_secret.expose())?,
    )
}
