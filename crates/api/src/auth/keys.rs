//! RS256 verification keys from a JSON Web Key Set (an OpenID Connect
//! provider's `jwks_uri`, such as Microsoft Entra ID's, or a file).
//!
//! The set is cached. A token naming a `kid` the cache lacks triggers one
//! refresh, and refreshes are at most one per `min_refresh`, so a flood of
//! forged `kid`s costs the key server one request a minute. A set older
//! than `max_age` is refreshed on the next use (that is how a withdrawn key
//! stops being accepted); when a refresh fails the cached keys stay.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, RwLock};
use std::time::Duration;

use async_trait::async_trait;
use jsonwebtoken::DecodingKey;
use serde::Deserialize;
use tokio::time::Instant;

/// Smallest RSA modulus accepted, in bytes (2,048 bits, NIST SP 800-57).
const MIN_MODULUS_BYTES: usize = 256;

/// Where a key set document comes from.
#[async_trait]
pub trait KeySource: Send + Sync {
    /// The document's text.
    async fn fetch(&self) -> Result<String, KeySetError>;
    /// Where it comes from, for logs.
    fn describe(&self) -> String;
}

/// Why no usable key set could be had.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum KeySetError {
    /// The source did not answer with a document.
    #[error("cannot fetch the key set from {source_name}: {why}")]
    Unreachable {
        /// The URL or file.
        source_name: String,
        /// What went wrong.
        why: String,
    },
    /// The document is not a key set.
    #[error("the key set is not a JSON Web Key Set: {0}")]
    NotAKeySet(String),
    /// No key in it can verify RS256 signatures.
    #[error("the key set holds no usable RS256 key ({0})")]
    NoUsableKey(String),
}

/// A key set in a file, read again at each refresh.
pub struct KeyFile(pub PathBuf);

#[async_trait]
impl KeySource for KeyFile {
    async fn fetch(&self) -> Result<String, KeySetError> {
        tokio::fs::read_to_string(&self.0)
            .await
            .map_err(|e| KeySetError::Unreachable {
                source_name: self.describe(),
                why: e.to_string(),
            })
    }

    fn describe(&self) -> String {
        self.0.display().to_string()
    }
}

/// A key set served over HTTP(S).
pub struct KeyUrl {
    url: String,
    client: reqwest::Client,
}

/// Longest wait for the key server: a request waiting on it holds its
/// caller for at most this.
const FETCH_TIMEOUT: Duration = Duration::from_secs(5);

impl KeyUrl {
    /// The key set at `url`.
    ///
    /// # Errors
    /// When no HTTP client can be built.
    pub fn new(url: &str) -> Result<Self, KeySetError> {
        let client = reqwest::Client::builder()
            .timeout(FETCH_TIMEOUT)
            .build()
            .map_err(|e| KeySetError::Unreachable {
                source_name: url.to_owned(),
                why: e.to_string(),
            })?;
        Ok(Self {
            url: url.to_owned(),
            client,
        })
    }
}

#[async_trait]
impl KeySource for KeyUrl {
    async fn fetch(&self) -> Result<String, KeySetError> {
        let unreachable = |why: String| KeySetError::Unreachable {
            source_name: self.url.clone(),
            why,
        };
        let response = self
            .client
            .get(&self.url)
            .send()
            .await
            .map_err(|e| unreachable(e.to_string()))?;
        if !response.status().is_success() {
            return Err(unreachable(format!("HTTP {}", response.status())));
        }
        response
            .text()
            .await
            .map_err(|e| unreachable(e.to_string()))
    }

    fn describe(&self) -> String {
        self.url.clone()
    }
}

/// How often the set may and must be fetched again.
#[derive(Debug, Clone, Copy)]
pub struct RefreshPolicy {
    /// Least time between two fetches.
    pub min_refresh: Duration,
    /// Age after which the next use refreshes the set.
    pub max_age: Duration,
}

impl Default for RefreshPolicy {
    /// One fetch a minute at most; a day's keys at most.
    fn default() -> Self {
        Self {
            min_refresh: Duration::from_secs(60),
            max_age: Duration::from_secs(24 * 60 * 60),
        }
    }
}

/// What a token's `kid` found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lookup {
    /// No key has this id, even after a refresh (or none was allowed yet).
    UnknownKey,
    /// No key set could be had at all.
    Unavailable,
}

/// The cached key set.
pub struct KeySet {
    source: Box<dyn KeySource>,
    policy: RefreshPolicy,
    keys: RwLock<Cached>,
    /// Held while fetching, so that concurrent misses share one fetch.
    refresh: tokio::sync::Mutex<Refresh>,
}

#[derive(Default)]
struct Cached {
    keys: HashMap<String, Arc<DecodingKey>>,
    loaded_at: Option<Instant>,
}

#[derive(Default)]
struct Refresh {
    last_attempt: Option<Instant>,
    /// The last fetch failed: its reason was logged, not to be repeated.
    failing: bool,
}

impl KeySet {
    /// A set read from `source` when first needed.
    pub fn new(source: Box<dyn KeySource>, policy: RefreshPolicy) -> Self {
        Self {
            source,
            policy,
            keys: RwLock::new(Cached::default()),
            refresh: tokio::sync::Mutex::new(Refresh::default()),
        }
    }

    /// Fetches the set now, for a check at start-up.
    ///
    /// # Errors
    /// Why the set is unusable.
    pub async fn load(&self) -> Result<usize, KeySetError> {
        let mut refresh = self.refresh.lock().await;
        self.fetch(&mut refresh).await
    }

    /// The key with this id.
    pub(crate) async fn key(&self, kid: &str) -> Result<Arc<DecodingKey>, Lookup> {
        let (found, fresh) = self.cached(kid);
        if let (Some(key), true) = (&found, fresh) {
            return Ok(key.clone());
        }
        let mut refresh = self.refresh.lock().await;
        // Another request may have refreshed while this one waited.
        let (again, fresh) = self.cached(kid);
        if let (Some(key), true) = (&again, fresh) {
            return Ok(key.clone());
        }
        let allowed = refresh
            .last_attempt
            .is_none_or(|at| at.elapsed() >= self.policy.min_refresh);
        if allowed {
            let _ = self.fetch(&mut refresh).await;
        }
        drop(refresh);
        match self.cached(kid) {
            (Some(key), _) => Ok(key),
            (None, _) if self.is_empty() => Err(Lookup::Unavailable),
            (None, _) => Err(Lookup::UnknownKey),
        }
    }

    fn cached(&self, kid: &str) -> (Option<Arc<DecodingKey>>, bool) {
        let cached = self
            .keys
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let fresh = cached
            .loaded_at
            .is_some_and(|at| at.elapsed() < self.policy.max_age);
        (cached.keys.get(kid).cloned(), fresh)
    }

    fn is_empty(&self) -> bool {
        self.keys
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .keys
            .is_empty()
    }

    async fn fetch(&self, refresh: &mut Refresh) -> Result<usize, KeySetError> {
        refresh.last_attempt = Some(Instant::now());
        metrics::counter!("auth_key_set_fetches_total").increment(1);
        let parsed = match self.source.fetch().await {
            Ok(text) => parse(&text),
            Err(e) => Err(e),
        };
        match parsed {
            Ok((keys, skipped)) => {
                let count = keys.len();
                if refresh.failing || !skipped.is_empty() {
                    tracing::info!(
                        source = %self.source.describe(),
                        keys = count,
                        skipped = %skipped.join("; "),
                        "key set loaded"
                    );
                }
                refresh.failing = false;
                *self
                    .keys
                    .write()
                    .unwrap_or_else(std::sync::PoisonError::into_inner) = Cached {
                    keys,
                    loaded_at: Some(Instant::now()),
                };
                Ok(count)
            }
            Err(error) => {
                metrics::counter!("auth_key_set_fetch_failures_total").increment(1);
                if !refresh.failing {
                    tracing::warn!(
                        error = %error,
                        "the key set cannot be had; RS256 tokens it does not already hold are refused until it can"
                    );
                }
                refresh.failing = true;
                Err(error)
            }
        }
    }
}

#[derive(Deserialize)]
struct Document {
    keys: Vec<serde_json::Value>,
}

/// The fields of a JSON Web Key this service reads (RFC 7517, 7518).
#[derive(Deserialize)]
struct Jwk {
    kty: String,
    kid: Option<String>,
    #[serde(rename = "use")]
    usage: Option<String>,
    alg: Option<String>,
    n: Option<String>,
    e: Option<String>,
}

type Keys = HashMap<String, Arc<DecodingKey>>;

/// The RS256 keys of a document, and why any other key was skipped. Keys
/// of other types are normal in a provider's set (and skipped); a set
/// with no usable key at all is an error.
fn parse(text: &str) -> Result<(Keys, Vec<String>), KeySetError> {
    let document: Document =
        serde_json::from_str(text).map_err(|e| KeySetError::NotAKeySet(e.to_string()))?;
    let mut keys = HashMap::new();
    let mut skipped = Vec::new();
    for (index, value) in document.keys.into_iter().enumerate() {
        match usable(value) {
            Ok((kid, key)) => {
                keys.insert(kid, Arc::new(key));
            }
            Err(why) => skipped.push(format!("key {index}: {why}")),
        }
    }
    if keys.is_empty() {
        let why = if skipped.is_empty() {
            "it is empty".to_owned()
        } else {
            skipped.join("; ")
        };
        return Err(KeySetError::NoUsableKey(why));
    }
    Ok((keys, skipped))
}

fn usable(value: serde_json::Value) -> Result<(String, DecodingKey), String> {
    use base64::Engine as _;
    let jwk: Jwk = serde_json::from_value(value).map_err(|e| format!("not a JSON Web Key: {e}"))?;
    let kid = jwk.kid.ok_or("no kid")?;
    if jwk.kty != "RSA" {
        return Err(format!("kid {kid}: type {} is not RSA", jwk.kty));
    }
    if jwk.usage.as_deref().is_some_and(|u| u != "sig") {
        return Err(format!("kid {kid}: not a signing key"));
    }
    if jwk.alg.as_deref().is_some_and(|a| a != "RS256") {
        return Err(format!(
            "kid {kid}: for {}, not RS256",
            jwk.alg.unwrap_or_default()
        ));
    }
    let (Some(n), Some(e)) = (jwk.n, jwk.e) else {
        return Err(format!("kid {kid}: no modulus or exponent"));
    };
    let decode =
        |s: &str| base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(s.trim_end_matches('='));
    let (Ok(modulus), Ok(exponent)) = (decode(&n), decode(&e)) else {
        return Err(format!("kid {kid}: modulus or exponent is not base64url"));
    };
    let significant = modulus.iter().skip_while(|b| **b == 0).count();
    if significant < MIN_MODULUS_BYTES {
        return Err(format!(
            "kid {kid}: a {}-bit key is shorter than 2048 bits",
            significant * 8
        ));
    }
    if exponent.is_empty() {
        return Err(format!("kid {kid}: empty exponent"));
    }
    Ok((
        kid,
        DecodingKey::from_rsa_raw_components(&modulus, &exponent),
    ))
}

#[cfg(test)]
mod tests {
    use std::sync::LazyLock;
    use std::sync::atomic::{AtomicUsize, Ordering};

    use access_reviews_test_support::keys::{TestKey, key_set};
    use serde_json::json;

    use super::*;

    static A: LazyLock<TestKey> = LazyLock::new(|| TestKey::generate("key-a"));
    static B: LazyLock<TestKey> = LazyLock::new(|| TestKey::generate("key-b"));

    /// A source whose document the test changes, counting fetches.
    #[derive(Clone, Default)]
    struct Fake {
        document: Arc<std::sync::Mutex<Option<String>>>,
        fetches: Arc<AtomicUsize>,
    }

    impl Fake {
        fn serving(document: serde_json::Value) -> Self {
            let fake = Self::default();
            fake.serve(Some(document));
            fake
        }
        fn serve(&self, document: Option<serde_json::Value>) {
            *self.document.lock().unwrap() = document.map(|d| d.to_string());
        }
        fn fetches(&self) -> usize {
            self.fetches.load(Ordering::SeqCst)
        }
        fn key_set(&self) -> KeySet {
            KeySet::new(Box::new(self.clone()), RefreshPolicy::default())
        }
    }

    #[async_trait]
    impl KeySource for Fake {
        async fn fetch(&self) -> Result<String, KeySetError> {
            self.fetches.fetch_add(1, Ordering::SeqCst);
            self.document
                .lock()
                .unwrap()
                .clone()
                .ok_or_else(|| KeySetError::Unreachable {
                    source_name: "fake".into(),
                    why: "down".into(),
                })
        }
        fn describe(&self) -> String {
            "fake".into()
        }
    }

    #[tokio::test(start_paused = true)]
    async fn a_flood_of_unknown_kids_costs_one_fetch_a_minute() {
        let source = Fake::serving(key_set(&[&A]));
        let keys = Arc::new(source.key_set());
        assert!(keys.key("key-a").await.is_ok());
        assert_eq!(source.fetches(), 1);

        let flood = (0..200).map(|i| {
            let keys = keys.clone();
            tokio::spawn(async move { keys.key(&format!("forged-{i}")).await })
        });
        for answer in futures_join(flood).await {
            assert_eq!(answer.err(), Some(Lookup::UnknownKey));
        }
        assert_eq!(source.fetches(), 1, "within the minute of the first fetch");

        tokio::time::advance(Duration::from_secs(61)).await;
        let flood = (0..200).map(|i| {
            let keys = keys.clone();
            tokio::spawn(async move { keys.key(&format!("forged-again-{i}")).await })
        });
        for answer in futures_join(flood).await {
            assert_eq!(answer.err(), Some(Lookup::UnknownKey));
        }
        assert_eq!(source.fetches(), 2, "one more fetch for the whole flood");
        assert!(keys.key("key-a").await.is_ok(), "known keys stay usable");
        assert_eq!(source.fetches(), 2);
    }

    async fn futures_join<T>(tasks: impl Iterator<Item = tokio::task::JoinHandle<T>>) -> Vec<T> {
        let mut out = Vec::new();
        for task in tasks {
            out.push(task.await.unwrap());
        }
        out
    }

    #[tokio::test(start_paused = true)]
    async fn a_rotated_key_is_accepted_after_one_refresh() {
        let source = Fake::serving(key_set(&[&A]));
        let keys = source.key_set();
        assert!(keys.key("key-a").await.is_ok());

        // The provider publishes B next to A, and signs with B.
        source.serve(Some(key_set(&[&A, &B])));
        tokio::time::advance(Duration::from_secs(60)).await;
        assert!(keys.key("key-b").await.is_ok());
        assert_eq!(source.fetches(), 2);
        assert!(keys.key("key-a").await.is_ok());
        assert!(keys.key("key-b").await.is_ok());
        assert_eq!(source.fetches(), 2, "both now cached");
    }

    #[tokio::test(start_paused = true)]
    async fn a_withdrawn_key_stops_working_once_the_set_is_a_day_old() {
        let source = Fake::serving(key_set(&[&A, &B]));
        let keys = source.key_set();
        assert!(keys.key("key-a").await.is_ok());
        source.serve(Some(key_set(&[&B])));
        tokio::time::advance(Duration::from_secs(3600)).await;
        assert!(keys.key("key-a").await.is_ok(), "still cached");
        tokio::time::advance(Duration::from_secs(24 * 3600)).await;
        assert_eq!(keys.key("key-a").await.err(), Some(Lookup::UnknownKey));
        assert!(keys.key("key-b").await.is_ok());
    }

    #[tokio::test(start_paused = true)]
    async fn an_unreachable_key_server_is_unavailable_then_recovers() {
        let source = Fake::default();
        let keys = source.key_set();
        assert_eq!(keys.key("key-a").await.err(), Some(Lookup::Unavailable));
        assert_eq!(keys.key("key-a").await.err(), Some(Lookup::Unavailable));
        assert_eq!(source.fetches(), 1, "no retry within the minute");

        source.serve(Some(key_set(&[&A])));
        tokio::time::advance(Duration::from_secs(60)).await;
        assert!(keys.key("key-a").await.is_ok());

        // Down again after a day: the cached keys keep working.
        source.serve(None);
        tokio::time::advance(Duration::from_secs(25 * 3600)).await;
        assert!(keys.key("key-a").await.is_ok());
        assert_eq!(source.fetches(), 3);
    }

    #[test]
    fn a_document_that_is_not_a_key_set_is_refused_with_its_reason() {
        assert!(matches!(parse("not json"), Err(KeySetError::NotAKeySet(_))));
        assert!(matches!(
            parse(r#"{"keys": {}}"#),
            Err(KeySetError::NotAKeySet(_))
        ));
        assert!(matches!(
            parse(r#"{"kty": "RSA"}"#),
            Err(KeySetError::NotAKeySet(_))
        ));
        assert_eq!(
            parse(r#"{"keys": []}"#).err(),
            Some(KeySetError::NoUsableKey("it is empty".into()))
        );
    }

    #[test]
    fn keys_of_the_wrong_type_size_or_use_are_skipped_with_their_reason() {
        let mut small = A.jwk.clone();
        small["kid"] = "small".into();
        small["n"] = "AQAB".repeat(40).into(); // 1,280 bits
        let mut encryption = A.jwk.clone();
        encryption["kid"] = "enc".into();
        encryption["use"] = "enc".into();
        let mut rs512 = A.jwk.clone();
        rs512["kid"] = "rs512".into();
        rs512["alg"] = "RS512".into();
        let mut no_kid = A.jwk.clone();
        no_kid.as_object_mut().unwrap().remove("kid");
        let bad = [
            json!({"kty": "oct", "kid": "hs", "k": "c2VjcmV0"}),
            json!({"kty": "EC", "kid": "ec", "crv": "P-256", "x": "AA", "y": "AA"}),
            json!({"kty": "RSA", "kid": "partial", "n": A.jwk["n"]}),
            json!({"kty": "RSA", "kid": "not-b64", "n": "***", "e": "AQAB"}),
            small,
            encryption,
            rs512,
            no_kid,
            json!("a string"),
        ];
        let Err(KeySetError::NoUsableKey(why)) = parse(&json!({ "keys": bad }).to_string()) else {
            panic!("a set of unusable keys is an error");
        };
        for reason in [
            "kid hs: type oct is not RSA",
            "kid ec: type EC is not RSA",
            "kid partial: no modulus or exponent",
            "kid not-b64: modulus or exponent is not base64url",
            "kid small: a 960-bit key is shorter than 2048 bits",
            "kid enc: not a signing key",
            "kid rs512: for RS512, not RS256",
            "key 7: no kid",
            "key 8: not a JSON Web Key",
        ] {
            assert!(why.contains(reason), "{reason} in {why}");
        }

        let mut with_good = bad.to_vec();
        with_good.push(A.jwk.clone());
        let (keys, skipped) = parse(&json!({ "keys": with_good }).to_string()).unwrap();
        assert_eq!(keys.keys().collect::<Vec<_>>(), ["key-a"]);
        assert_eq!(skipped.len(), 9);
    }
}
