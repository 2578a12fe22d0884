//! RSA signing keys made in the test, with the key set that publishes them,
//! for the RS256 paths: nothing about them is checked in.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use pkcs8::{EncodePrivateKey, LineEnding};
use rsa::Generate as _;
use rsa::traits::PublicKeyParts;
use serde_json::{Value, json};

/// A fresh RSA key and its key id.
pub struct TestKey {
    /// The `kid` tokens signed with it carry.
    pub kid: String,
    /// PKCS#8 PEM, as `jsonwebtoken::EncodingKey::from_rsa_pem` reads it.
    pub private_pem: String,
    /// The public half as a JSON Web Key, in Microsoft Entra ID's form.
    pub jwk: Value,
}

impl TestKey {
    /// Generates a 3,072-bit key (well under a second: the crypto crates
    /// are optimised even in test builds).
    pub fn generate(kid: &str) -> Self {
        let key = rsa::PrivateKey::generate();
        let private_pem = key
            .to_pkcs8_pem(LineEnding::LF)
            .expect("PKCS#8 encoding")
            .to_string();
        let jwk = json!({
            "kty": "RSA",
            "use": "sig",
            "kid": kid,
            "x5t": kid,
            "n": URL_SAFE_NO_PAD.encode(key.n_bytes()),
            "e": URL_SAFE_NO_PAD.encode(key.e_bytes()),
        });
        Self {
            kid: kid.to_owned(),
            private_pem,
            jwk,
        }
    }
}

/// A key set document holding `keys`.
pub fn key_set(keys: &[&TestKey]) -> Value {
    json!({ "keys": keys.iter().map(|k| k.jwk.clone()).collect::<Vec<_>>() })
}
