//! Configuration from the environment, checked once at start-up. Each
//! problem is reported as one line naming the variable.

use std::fmt;
use std::net::SocketAddr;

/// Where a value comes from: [`Settings`] (the environment, through clap)
/// in production, a map in tests.
pub trait Env {
    /// The variable's value, if set and not empty.
    fn get(&self, name: &str) -> Option<String>;
}

impl<F: Fn(&str) -> Option<String>> Env for F {
    fn get(&self, name: &str) -> Option<String> {
        self(name)
    }
}

/// Every setting, as clap reads it: from its environment variable, or from
/// the matching flag (`--database-url`, …; `access-reviews --help` lists
/// them with their variables). Values are only collected here; the
/// `from_env` readers check them and report one line naming the variable.
/// Values never show in the help text or in `Debug` output.
#[derive(Clone, Default, clap::Args)]
pub struct Settings {
    /// The PostgreSQL URL.
    #[arg(long, global = true, env = "DATABASE_URL", hide_env_values = true)]
    database_url: Option<String>,
    /// Where to listen (default 0.0.0.0:8080).
    #[arg(long, global = true, env = "LISTEN_ADDR")]
    listen_addr: Option<String>,
    /// The `iss` values accepted, comma separated.
    #[arg(long, global = true, env = "AUTH_ISSUER")]
    auth_issuer: Option<String>,
    /// The `aud` values accepted, comma separated.
    #[arg(long, global = true, env = "AUTH_AUDIENCE")]
    auth_audience: Option<String>,
    /// The HS256 key (at least 32 bytes).
    #[arg(long, global = true, env = "AUTH_HS256_SECRET", hide_env_values = true)]
    auth_hs256_secret: Option<String>,
    /// The RS256 key set's URL (an OpenID provider's `jwks_uri`).
    #[arg(long, global = true, env = "AUTH_JWKS_URL")]
    auth_jwks_url: Option<String>,
    /// The RS256 key set as a file.
    #[arg(long, global = true, env = "AUTH_JWKS_FILE")]
    auth_jwks_file: Option<String>,
    /// `pretty` (default) or `json`.
    #[arg(long, global = true, env = "LOG_FORMAT")]
    log_format: Option<String>,
    /// `enabled` (default) or `disabled`.
    #[arg(long, global = true, env = "SCHEDULER")]
    scheduler: Option<String>,
    /// Seconds between two scheduler passes (default 10).
    #[arg(long, global = true, env = "SCHEDULER_INTERVAL_SECONDS")]
    scheduler_interval_seconds: Option<String>,
    /// `disabled` (default) or `enabled`: the test clock.
    #[arg(long, global = true, env = "CLOCK_CONTROL")]
    clock_control: Option<String>,
    /// Requests per caller in any 10 s (default: unlimited).
    #[arg(long, global = true, env = "THROTTLE_REQUESTS_PER_10S")]
    throttle_requests_per_10s: Option<String>,
}

impl fmt::Debug for Settings {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Settings(..)")
    }
}

impl Env for Settings {
    fn get(&self, name: &str) -> Option<String> {
        let value = match name {
            "DATABASE_URL" => &self.database_url,
            "LISTEN_ADDR" => &self.listen_addr,
            "AUTH_ISSUER" => &self.auth_issuer,
            "AUTH_AUDIENCE" => &self.auth_audience,
            "AUTH_HS256_SECRET" => &self.auth_hs256_secret,
            "AUTH_JWKS_URL" => &self.auth_jwks_url,
            "AUTH_JWKS_FILE" => &self.auth_jwks_file,
            "LOG_FORMAT" => &self.log_format,
            "SCHEDULER" => &self.scheduler,
            "SCHEDULER_INTERVAL_SECONDS" => &self.scheduler_interval_seconds,
            "CLOCK_CONTROL" => &self.clock_control,
            "THROTTLE_REQUESTS_PER_10S" => &self.throttle_requests_per_10s,
            _ => &None,
        };
        value.clone().filter(|v| !v.trim().is_empty())
    }
}

/// A setting that is missing or malformed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ConfigError {
    /// A required variable is not set.
    #[error("configuration: {0} is required but not set")]
    Missing(&'static str),
    /// A variable is set to something unusable.
    #[error("configuration: {name} is invalid: {why}")]
    Invalid {
        /// The variable.
        name: &'static str,
        /// What is wrong, in a few words.
        why: String,
    },
}

fn required(env: &dyn Env, name: &'static str) -> Result<String, ConfigError> {
    env.get(name).ok_or(ConfigError::Missing(name))
}

/// A secret that never shows in logs or `Debug` output.
#[derive(Clone)]
pub struct Secret(String);

impl Secret {
    /// The secret's bytes.
    pub fn expose(&self) -> &[u8] {
        self.0.as_bytes()
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(***)")
    }
}

/// Where the RS256 key set is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KeySetLocation {
    /// `AUTH_JWKS_URL`.
    Url(String),
    /// `AUTH_JWKS_FILE`.
    File(std::path::PathBuf),
}

/// How tokens are checked and minted.
#[derive(Debug, Clone)]
pub struct AuthConfig {
    /// `AUTH_ISSUER`: the `iss` values accepted (Microsoft Entra ID's v1
    /// and v2 issuers of a tenant differ, so both may be listed).
    pub issuers: Vec<String>,
    /// `AUTH_AUDIENCE`: the `aud` values accepted.
    pub audiences: Vec<String>,
    /// `AUTH_HS256_SECRET`, when HS256 tokens are accepted.
    pub hs256_secret: Option<Secret>,
    /// `AUTH_JWKS_URL` or `AUTH_JWKS_FILE`, when RS256 tokens are accepted.
    pub key_set: Option<KeySetLocation>,
}

/// Shortest HS256 secret accepted: RFC 7518 asks for at least the hash
/// size, 256 bits.
const MIN_SECRET_BYTES: usize = 32;

/// The first `AUTH_ISSUER` and `AUTH_AUDIENCE`, for minting tokens.
///
/// # Errors
/// When either is missing or malformed.
pub fn first_issuer_and_audience(env: &dyn Env) -> Result<(String, String), ConfigError> {
    let first = |name| list(env, name).map(|mut values| values.swap_remove(0));
    Ok((first("AUTH_ISSUER")?, first("AUTH_AUDIENCE")?))
}

/// A comma-separated list of non-empty values.
fn list(env: &dyn Env, name: &'static str) -> Result<Vec<String>, ConfigError> {
    let raw = required(env, name)?;
    let values: Vec<String> = raw.split(',').map(|v| v.trim().to_owned()).collect();
    if values.iter().any(String::is_empty) {
        return Err(ConfigError::Invalid {
            name,
            why: "a comma-separated list must not hold an empty value".into(),
        });
    }
    Ok(values)
}

impl AuthConfig {
    /// Reads `AUTH_ISSUER`, `AUTH_AUDIENCE`, and `AUTH_HS256_SECRET` or
    /// a key set (`AUTH_JWKS_URL` or `AUTH_JWKS_FILE`), or both.
    ///
    /// # Errors
    /// The first missing or malformed setting.
    pub fn from_env(env: &dyn Env) -> Result<Self, ConfigError> {
        let issuers = list(env, "AUTH_ISSUER")?;
        let audiences = list(env, "AUTH_AUDIENCE")?;
        let key_set = match (env.get("AUTH_JWKS_URL"), env.get("AUTH_JWKS_FILE")) {
            (Some(_), Some(_)) => {
                return Err(ConfigError::Invalid {
                    name: "AUTH_JWKS_URL",
                    why: "set AUTH_JWKS_URL or AUTH_JWKS_FILE, not both".into(),
                });
            }
            (Some(url), None) => {
                let local = url.starts_with("http://127.0.0.1")
                    || url.starts_with("http://localhost")
                    || url.starts_with("http://[::1]");
                if !url.starts_with("https://") && !local {
                    return Err(ConfigError::Invalid {
                        name: "AUTH_JWKS_URL",
                        why: "must be an https:// URL (http:// only to this machine)".into(),
                    });
                }
                Some(KeySetLocation::Url(url))
            }
            (None, Some(file)) => Some(KeySetLocation::File(file.into())),
            (None, None) => None,
        };
        let hs256_secret = match env.get("AUTH_HS256_SECRET") {
            Some(secret) if secret.len() < MIN_SECRET_BYTES => {
                return Err(ConfigError::Invalid {
                    name: "AUTH_HS256_SECRET",
                    why: format!("must be at least {MIN_SECRET_BYTES} bytes long"),
                });
            }
            Some(secret) => Some(Secret(secret)),
            None if key_set.is_some() => None,
            None => return Err(ConfigError::Missing("AUTH_HS256_SECRET")),
        };
        Ok(Self {
            issuers,
            audiences,
            hs256_secret,
            key_set,
        })
    }
}

/// How logs are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogFormat {
    /// One JSON object per line, for collectors.
    Json,
    /// Human-readable lines.
    Pretty,
}

impl LogFormat {
    /// Reads `LOG_FORMAT` (default `pretty`).
    ///
    /// # Errors
    /// A value other than `json` or `pretty`.
    pub fn from_env(env: &dyn Env) -> Result<Self, ConfigError> {
        match env.get("LOG_FORMAT").as_deref() {
            None | Some("pretty") => Ok(Self::Pretty),
            Some("json") => Ok(Self::Json),
            Some(other) => Err(ConfigError::Invalid {
                name: "LOG_FORMAT",
                why: format!("'{other}' is neither json nor pretty"),
            }),
        }
    }
}

/// Everything `serve` needs.
#[derive(Debug, Clone)]
pub struct ServeConfig {
    /// `DATABASE_URL`.
    pub database_url: Secret,
    /// `LISTEN_ADDR` (default `0.0.0.0:8080`).
    pub listen_addr: SocketAddr,
    /// Token settings.
    pub auth: AuthConfig,
    /// `SCHEDULER` (default `enabled`) and `SCHEDULER_INTERVAL_SECONDS`
    /// (default 10): how often this replica runs the scheduler's pass;
    /// `None` when disabled.
    pub scheduler_interval: Option<std::time::Duration>,
    /// `CLOCK_CONTROL=enabled` (default `disabled`): the test clock.
    pub clock_control: bool,
    /// `THROTTLE_REQUESTS_PER_10S` (default: no throttling): requests each
    /// caller may send in any 10 seconds, in this replica.
    pub throttle_per_10s: Option<std::num::NonZeroU32>,
}

/// Reads `THROTTLE_REQUESTS_PER_10S`: unset (or `0`) is no throttling.
fn throttle(env: &dyn Env) -> Result<Option<std::num::NonZeroU32>, ConfigError> {
    let Some(value) = env.get("THROTTLE_REQUESTS_PER_10S") else {
        return Ok(None);
    };
    match value.trim().parse::<u32>() {
        Ok(n) if n <= 1_000_000 => Ok(std::num::NonZeroU32::new(n)),
        _ => Err(ConfigError::Invalid {
            name: "THROTTLE_REQUESTS_PER_10S",
            why: format!("'{value}' is not a whole number from 0 (off) to 1000000"),
        }),
    }
}

fn switch(env: &dyn Env, name: &'static str, default: bool) -> Result<bool, ConfigError> {
    match env.get(name).as_deref() {
        None => Ok(default),
        Some("enabled") => Ok(true),
        Some("disabled") => Ok(false),
        Some(other) => Err(ConfigError::Invalid {
            name,
            why: format!("'{other}' is neither enabled nor disabled"),
        }),
    }
}

/// Longest scheduler interval accepted: a day.
const MAX_INTERVAL_SECONDS: u64 = 86_400;

fn scheduler_interval(env: &dyn Env) -> Result<Option<std::time::Duration>, ConfigError> {
    let seconds = match env.get("SCHEDULER_INTERVAL_SECONDS") {
        None => 10,
        Some(raw) => raw
            .parse::<u64>()
            .ok()
            .filter(|s| (1..=MAX_INTERVAL_SECONDS).contains(s))
            .ok_or_else(|| ConfigError::Invalid {
                name: "SCHEDULER_INTERVAL_SECONDS",
                why: format!(
                    "'{raw}' is not a whole number of seconds from 1 to {MAX_INTERVAL_SECONDS}"
                ),
            })?,
    };
    Ok(switch(env, "SCHEDULER", true)?.then(|| std::time::Duration::from_secs(seconds)))
}

/// Reads and checks `DATABASE_URL`.
///
/// # Errors
/// Missing, or not a `postgres://` / `postgresql://` URL.
pub fn database_url(env: &dyn Env) -> Result<Secret, ConfigError> {
    let url = required(env, "DATABASE_URL")?;
    if url.starts_with("postgres://") || url.starts_with("postgresql://") {
        Ok(Secret(url))
    } else {
        Err(ConfigError::Invalid {
            name: "DATABASE_URL",
            why: "must be a postgres:// URL".into(),
        })
    }
}

/// Reads `LISTEN_ADDR` (default `0.0.0.0:8080`).
///
/// # Errors
/// When it is not an address.
pub fn listen_addr(env: &dyn Env) -> Result<SocketAddr, ConfigError> {
    match env.get("LISTEN_ADDR") {
        None => Ok(SocketAddr::from(([0, 0, 0, 0], 8080))),
        Some(raw) => raw.parse().map_err(|_| ConfigError::Invalid {
            name: "LISTEN_ADDR",
            why: format!("'{raw}' is not an address such as 0.0.0.0:8080"),
        }),
    }
}

impl ServeConfig {
    /// Reads every setting `serve` needs.
    ///
    /// # Errors
    /// The first missing or malformed setting.
    pub fn from_env(env: &dyn Env) -> Result<Self, ConfigError> {
        let database_url = database_url(env)?;
        let listen_addr = listen_addr(env)?;
        Ok(Self {
            database_url,
            listen_addr,
            auth: AuthConfig::from_env(env)?,
            scheduler_interval: scheduler_interval(env)?,
            clock_control: switch(env, "CLOCK_CONTROL", false)?,
            throttle_per_10s: throttle(env)?,
        })
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::*;

    #[derive(clap::Parser)]
    struct Probe {
        #[command(flatten)]
        settings: Settings,
    }

    #[test]
    fn settings_come_from_clap_and_the_secret_never_shows() {
        use clap::{CommandFactory, Parser};

        let secret = "a-secret-that-must-never-be-printed";
        let probe = Probe::try_parse_from([
            "access-reviews",
            "--database-url",
            "postgres://u:p@db/reviews",
            "--auth-issuer",
            "https://issuer.test",
            "--auth-audience",
            "api://reviews",
            "--auth-hs256-secret",
            secret,
            "--scheduler",
            "",
        ])
        .unwrap();
        let settings = probe.settings;
        let auth = AuthConfig::from_env(&settings).unwrap();
        assert_eq!(auth.issuers, ["https://issuer.test"]);
        assert_eq!(
            auth.hs256_secret.as_ref().map(Secret::expose),
            Some(secret.as_bytes())
        );
        // An empty value is no value: the default applies.
        assert_eq!(settings.get("SCHEDULER"), None);
        assert!(!format!("{settings:?} {auth:?}").contains(secret));
        let help = Probe::command().render_long_help().to_string();
        for name in [
            "DATABASE_URL",
            "AUTH_HS256_SECRET",
            "SCHEDULER_INTERVAL_SECONDS",
        ] {
            assert!(help.contains(name), "{name} in the help");
        }
    }

    #[test]
    fn throttling_is_off_unless_a_positive_limit_is_set() {
        let base = [
            ("DATABASE_URL", "postgres://u:p@db/r"),
            ("AUTH_ISSUER", "https://issuer.test"),
            ("AUTH_AUDIENCE", "api://reviews"),
            ("AUTH_HS256_SECRET", "a-secret-of-at-least-thirty-two-bytes"),
        ];
        let with = |value: Option<&str>| {
            let mut pairs = base.to_vec();
            pairs.extend(value.map(|v| ("THROTTLE_REQUESTS_PER_10S", v)));
            ServeConfig::from_env(&env(&pairs))
        };
        assert_eq!(with(None).unwrap().throttle_per_10s, None);
        assert_eq!(with(Some("0")).unwrap().throttle_per_10s, None);
        assert_eq!(
            with(Some("100")).unwrap().throttle_per_10s,
            std::num::NonZeroU32::new(100)
        );
        for bad in ["-1", "ten", "2000000"] {
            let err = with(Some(bad)).unwrap_err().to_string();
            assert!(err.contains("THROTTLE_REQUESTS_PER_10S"), "{err}");
            assert!(!err.contains('\n'), "one line: {err}");
        }
    }

    fn env(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
        let map: HashMap<String, String> = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        move |name| map.get(name).cloned()
    }

    const GOOD: &[(&str, &str)] = &[
        ("DATABASE_URL", "postgres://app:pw@db:5432/app"),
        ("AUTH_ISSUER", "https://issuer"),
        ("AUTH_AUDIENCE", "https://graph"),
        ("AUTH_HS256_SECRET", "0123456789abcdef0123456789abcdef"),
    ];

    fn without(name: &str) -> Vec<(&'static str, &'static str)> {
        GOOD.iter().copied().filter(|(k, _)| *k != name).collect()
    }

    #[test]
    fn a_complete_environment_is_accepted_with_the_default_address() {
        let config = ServeConfig::from_env(&env(GOOD)).unwrap();
        assert_eq!(config.listen_addr.to_string(), "0.0.0.0:8080");
        assert_eq!(config.auth.issuers, ["https://issuer"]);
        assert_eq!(config.auth.key_set, None);
    }

    #[test]
    fn each_required_setting_is_named_when_missing() {
        for name in [
            "DATABASE_URL",
            "AUTH_ISSUER",
            "AUTH_AUDIENCE",
            "AUTH_HS256_SECRET",
        ] {
            let err = ServeConfig::from_env(&env(&without(name))).unwrap_err();
            assert_eq!(err, ConfigError::Missing(name));
            assert_eq!(
                err.to_string(),
                format!("configuration: {name} is required but not set")
            );
        }
    }

    #[test]
    fn malformed_settings_are_refused_with_one_line() {
        let cases = [
            ("LISTEN_ADDR", "localhost"),
            ("DATABASE_URL", "mysql://x"),
            ("AUTH_HS256_SECRET", "short"),
        ];
        for (name, value) in cases {
            let mut pairs = without(name);
            pairs.push((name, value));
            let err = ServeConfig::from_env(&env(&pairs)).unwrap_err();
            assert!(
                matches!(err, ConfigError::Invalid { name: n, .. } if n == name),
                "{err}"
            );
            assert!(!err.to_string().contains('\n'));
        }
        let err = LogFormat::from_env(&env(&[("LOG_FORMAT", "xml")])).unwrap_err();
        assert!(err.to_string().contains("LOG_FORMAT"));
    }

    #[test]
    fn the_scheduler_is_on_every_ten_seconds_and_the_clock_control_off_by_default() {
        let config = ServeConfig::from_env(&env(GOOD)).unwrap();
        assert_eq!(
            config.scheduler_interval,
            Some(std::time::Duration::from_secs(10))
        );
        assert!(!config.clock_control);
        let mut pairs = GOOD.to_vec();
        pairs.extend([
            ("SCHEDULER", "disabled"),
            ("SCHEDULER_INTERVAL_SECONDS", "2"),
            ("CLOCK_CONTROL", "enabled"),
        ]);
        let config = ServeConfig::from_env(&env(&pairs)).unwrap();
        assert_eq!(config.scheduler_interval, None);
        assert!(config.clock_control);
        for (name, value) in [
            ("SCHEDULER", "on"),
            ("SCHEDULER_INTERVAL_SECONDS", "0"),
            ("SCHEDULER_INTERVAL_SECONDS", "ten"),
            ("CLOCK_CONTROL", "yes"),
        ] {
            let mut pairs = GOOD.to_vec();
            pairs.push((name, value));
            let err = ServeConfig::from_env(&env(&pairs)).unwrap_err();
            assert!(
                matches!(err, ConfigError::Invalid { name: n, .. } if n == name),
                "{err}"
            );
        }
    }

    #[test]
    fn entra_ids_issuers_and_audiences_are_lists_and_a_key_set_may_replace_the_secret() {
        let tenant = "72f988bf-86f1-41af-91ab-2d7cd011db47";
        let v1 = format!("https://sts.windows.net/{tenant}/");
        let v2 = format!("https://login.microsoftonline.com/{tenant}/v2.0");
        let issuers = format!("{v1}, {v2}");
        let keys = format!("https://login.microsoftonline.com/{tenant}/discovery/v2.0/keys");
        let mut pairs = without("AUTH_HS256_SECRET");
        pairs.retain(|(k, _)| !k.starts_with("AUTH_"));
        pairs.extend([
            ("AUTH_ISSUER", issuers.as_str()),
            (
                "AUTH_AUDIENCE",
                "https://graph.microsoft.com,00000003-0000-0000-c000-000000000000",
            ),
            ("AUTH_JWKS_URL", keys.as_str()),
        ]);
        let auth = ServeConfig::from_env(&env(&pairs)).unwrap().auth;
        assert_eq!(auth.issuers, [v1, v2]);
        assert_eq!(
            auth.audiences,
            [
                "https://graph.microsoft.com",
                "00000003-0000-0000-c000-000000000000"
            ]
        );
        assert!(auth.hs256_secret.is_none());
        assert_eq!(auth.key_set, Some(KeySetLocation::Url(keys)));

        let mut both = GOOD.to_vec();
        both.push(("AUTH_JWKS_FILE", "/etc/keys.json"));
        let auth = ServeConfig::from_env(&env(&both)).unwrap().auth;
        assert!(auth.hs256_secret.is_some());
        assert_eq!(
            auth.key_set,
            Some(KeySetLocation::File("/etc/keys.json".into()))
        );

        for (name, value, extra) in [
            ("AUTH_JWKS_URL", "ftp://keys", None),
            ("AUTH_JWKS_URL", "http://idp.example/keys", None),
            (
                "AUTH_JWKS_URL",
                "https://idp/keys",
                Some(("AUTH_JWKS_FILE", "/k.json")),
            ),
            ("AUTH_ISSUER", "https://a,,https://b", None),
            ("AUTH_AUDIENCE", "api://x,", None),
        ] {
            let mut pairs = GOOD.to_vec();
            pairs.retain(|(k, _)| *k != name);
            pairs.push((name, value));
            pairs.extend(extra);
            let err = ServeConfig::from_env(&env(&pairs)).unwrap_err();
            assert!(
                matches!(err, ConfigError::Invalid { name: n, .. } if n == name),
                "{name}={value}: {err}"
            );
            assert!(!err.to_string().contains('\n'));
        }
    }

    #[test]
    fn secrets_do_not_show_in_debug_output() {
        let config = ServeConfig::from_env(&env(GOOD)).unwrap();
        let debug = format!("{config:?}");
        assert!(!debug.contains("0123456789abcdef"));
        assert!(!debug.contains("app:pw"));
    }
}
