//! Development tokens, so that a local service can be called with curl or a
//! Graph SDK: signed with the configured HS256 secret, or with an RSA
//! private key whose key set (`--print-jwks`) the service is given, to try
//! the RS256 path without a tenant.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::Utc;
use jsonwebtoken::{Algorithm, EncodingKey, Header, encode};
use rsa::sha2::{Digest, Sha256};
use rsa::traits::PublicKeyParts;
use serde::Serialize;
use serde_json::{Value, json};
use uuid::Uuid;

/// What a token says about its bearer.
#[derive(Debug, Clone)]
pub struct TokenRequest {
    /// `iss`.
    pub issuer: String,
    /// `aud`.
    pub audience: String,
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

/// How a token is signed.
pub enum Signer {
    /// HS256 with the shared secret.
    Hs256(Vec<u8>),
    /// RS256 with an RSA private key.
    Rs256(Box<RsaSigner>),
}

/// An RSA private key and the key id its tokens name.
pub struct RsaSigner {
    key: rsa::PrivateKey,
    encoding: EncodingKey,
    kid: String,
}

/// A private key file that cannot sign.
#[derive(Debug, thiserror::Error)]
#[error("the private key is not an RSA key in PEM (PKCS#8 or PKCS#1)")]
pub struct NotAnRsaKey;

impl RsaSigner {
    /// Reads a PEM private key (`openssl genpkey -algorithm RSA`). Without
    /// `kid`, the key's RFC 7638 thumbprint names it.
    ///
    /// # Errors
    /// [`NotAnRsaKey`].
    pub fn from_pem(pem: &str, kid: Option<String>) -> Result<Self, NotAnRsaKey> {
        use pkcs1::DecodeRsaPrivateKey as _;
        use pkcs8::DecodePrivateKey as _;
        let key = rsa::PrivateKey::from_pkcs8_pem(pem)
            .or_else(|_| rsa::PrivateKey::from_pkcs1_pem(pem))
            .map_err(|_| NotAnRsaKey)?;
        let encoding = EncodingKey::from_rsa_pem(pem.as_bytes()).map_err(|_| NotAnRsaKey)?;
        let (n, e) = (
            URL_SAFE_NO_PAD.encode(key.n_bytes()),
            URL_SAFE_NO_PAD.encode(key.e_bytes()),
        );
        let kid = kid.unwrap_or_else(|| {
            // The members in lexicographic order, no spaces (RFC 7638 §3).
            let canonical = format!(r#"{{"e":"{e}","kty":"RSA","n":"{n}"}}"#);
            URL_SAFE_NO_PAD.encode(Sha256::digest(canonical.as_bytes()))
        });
        Ok(Self { key, encoding, kid })
    }

    /// The key set that publishes the public half, as an OpenID provider
    /// serves it.
    pub fn key_set(&self) -> Value {
        json!({ "keys": [{
            "kty": "RSA",
            "use": "sig",
            "alg": "RS256",
            "kid": self.kid,
            "n": URL_SAFE_NO_PAD.encode(self.key.n_bytes()),
            "e": URL_SAFE_NO_PAD.encode(self.key.e_bytes()),
        }]})
    }
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
/// When signing fails (an unusable key).
pub fn mint(signer: &Signer, request: &TokenRequest) -> jsonwebtoken::errors::Result<String> {
    let now = Utc::now().timestamp();
    let claims = Claims {
        iss: &request.issuer,
        aud: &request.audience,
        iat: now,
        nbf: now,
        exp: now + request.ttl_seconds,
        oid: request.oid.to_string(),
        scp: request.scp.as_deref(),
        roles: &request.roles,
        wids: &request.wids,
        name: request.name.as_deref(),
    };
    match signer {
        Signer::Hs256(secret) => encode(
            &Header::default(),
            &claims,
            &EncodingKey::from_secret(secret)?,
        ),
        Signer::Rs256(rsa) => {
            let mut header = Header::new(Algorithm::RS256);
            header.kid = Some(rsa.kid.clone());
            encode(&header, &claims, &rsa.encoding)
        }
    }
}
