//! The configuration of each exchange kind: what is stored (JSON, never a secret), how it is
//! checked, and the credentials read from the environment at fetch time.

use std::collections::HashMap;
use std::fmt;
use std::path::PathBuf;

use reqwest::Url;
use serde::{Deserialize, Serialize};
use vigil_exchange::record::VicsScheme;

use crate::Error;
use crate::records::Format;

/// The VICS category scheme of a file exchange's files.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum VicsSchemeName {
    /// Project VIC US, 0–4.
    Us,
    /// Legacy, 0–5.
    Legacy,
}

impl VicsSchemeName {
    /// The scheme.
    pub fn scheme(self) -> VicsScheme {
        match self {
            VicsSchemeName::Us => VicsScheme::UsV2,
            VicsSchemeName::Legacy => VicsScheme::Legacy,
        }
    }
}

/// A `file` exchange: a hash-list file, or a directory of them (its files, recursively, sorted
/// by path; names starting with `.` are left out, so a file being written under a temporary
/// dot-name is not read half-way).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileConfig {
    /// The file or directory (absolute).
    pub path: PathBuf,
    /// The files' format.
    pub format: Format,
    /// VICS: the files' category scheme (needed unless the files declare the US model).
    #[serde(default)]
    pub vics_scheme: Option<VicsSchemeName>,
}

/// An `ncmec` exchange: the NCMEC hash sharing API v2.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NcmecConfig {
    /// The environment's base URL, e.g. `https://report.cybertip.org/hashsharing` (requests go
    /// to `{base_url}/v2/entries`). `https` unless the host is a loopback address; no user or
    /// password in it.
    pub base_url: String,
    /// The environment variable holding the user name (basic auth).
    #[serde(default)]
    pub user_env: Option<String>,
    /// The environment variable holding the password.
    #[serde(default)]
    pub password_env: Option<String>,
    /// Where the first fetch starts, in seconds since the Unix epoch.
    #[serde(default)]
    pub start: i64,
}

/// An exchange's configuration, by kind.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ExchangeConfig {
    /// `file`.
    File(FileConfig),
    /// `ncmec`.
    Ncmec(NcmecConfig),
}

impl ExchangeConfig {
    /// The kind's name: `file` or `ncmec`.
    pub fn kind(&self) -> &'static str {
        match self {
            ExchangeConfig::File(_) => "file",
            ExchangeConfig::Ncmec(_) => "ncmec",
        }
    }

    /// The configuration as stored (a JSON object).
    pub fn to_json(&self) -> String {
        match self {
            ExchangeConfig::File(c) => serde_json::to_string(c),
            ExchangeConfig::Ncmec(c) => serde_json::to_string(c),
        }
        .unwrap_or_else(|_| "{}".into())
    }

    /// Reads a stored configuration of `kind` and checks it.
    pub fn from_stored(exchange: &str, kind: &str, json: &str) -> Result<ExchangeConfig, Error> {
        let bad = |why: String| Error::Config {
            exchange: exchange.to_string(),
            why,
        };
        let config = match kind {
            "file" => ExchangeConfig::File(
                serde_json::from_str(json)
                    .map_err(|e| bad(format!("file configuration {json}: {e}")))?,
            ),
            "ncmec" => ExchangeConfig::Ncmec(
                serde_json::from_str(json)
                    .map_err(|e| bad(format!("ncmec configuration {json}: {e}")))?,
            ),
            other => return Err(bad(format!("unknown exchange kind {other:?}"))),
        };
        config.check(exchange)?;
        Ok(config)
    }

    /// Checks the configuration (done when an exchange is added and before each fetch).
    pub fn check(&self, exchange: &str) -> Result<(), Error> {
        let bad = |why: String| Error::Config {
            exchange: exchange.to_string(),
            why,
        };
        match self {
            ExchangeConfig::File(c) => {
                if !c.path.is_absolute() {
                    return Err(bad(format!("path {} is not absolute", c.path.display())));
                }
                if c.path.to_str().is_none() {
                    return Err(bad(format!("path {} is not UTF-8", c.path.display())));
                }
                if c.vics_scheme.is_some() && c.format != Format::Vics {
                    return Err(bad("a VICS scheme is only for the vics format".into()));
                }
            }
            ExchangeConfig::Ncmec(c) => {
                base_url(&c.base_url).map_err(bad)?;
                for var in [&c.user_env, &c.password_env].into_iter().flatten() {
                    if !env_name_ok(var) {
                        return Err(bad(format!(
                            "{var:?} is not an environment variable name (letters, digits, '_')"
                        )));
                    }
                }
                if c.user_env.is_some() != c.password_env.is_some() {
                    return Err(bad(
                        "give both the user and the password variable, or neither".into(),
                    ));
                }
                if c.start < 0 {
                    return Err(bad(format!("start {} is before 1970", c.start)));
                }
            }
        }
        Ok(())
    }
}

fn env_name_ok(s: &str) -> bool {
    let b = s.as_bytes();
    !b.is_empty()
        && b.len() <= 128
        && (b[0].is_ascii_alphabetic() || b[0] == b'_')
        && b.iter().all(|c| c.is_ascii_alphanumeric() || *c == b'_')
}

/// Whether the host of a URL is a loopback address (`127.0.0.0/8`, `::1`, `localhost`).
fn loopback(u: &Url) -> bool {
    match u.host() {
        Some(url::Host::Domain(d)) => d.eq_ignore_ascii_case("localhost"),
        Some(url::Host::Ipv4(a)) => a.is_loopback(),
        Some(url::Host::Ipv6(a)) => a.is_loopback(),
        None => false,
    }
}

/// Checks a base URL and returns it without a trailing `/`.
pub(crate) fn base_url(s: &str) -> Result<String, String> {
    let u = Url::parse(s).map_err(|e| format!("URL {:?}: {e}", shown_url(s)))?;
    if !u.username().is_empty() || u.password().is_some() {
        return Err(format!(
            "URL {}: holds a user or password; name environment variables for them instead \
             (credentials are never stored)",
            shown_url(s)
        ));
    }
    match u.scheme() {
        "https" => {}
        "http" if loopback(&u) => {}
        "http" => {
            return Err(format!(
                "URL {s}: plain http would send the credentials in clear; use https (http is \
                 accepted for loopback addresses only)"
            ));
        }
        other => return Err(format!("URL {s}: scheme {other:?}; use https")),
    }
    if u.query().is_some() || u.fragment().is_some() {
        return Err(format!("URL {s}: a base URL has no query or fragment"));
    }
    if u.host().is_none() {
        return Err(format!("URL {s}: no host"));
    }
    Ok(u.as_str().trim_end_matches('/').to_string())
}

/// A URL for messages: any user and password removed.
pub(crate) fn shown_url(s: &str) -> String {
    match Url::parse(s) {
        Ok(mut u) if u.has_host() => {
            let _ = u.set_username("");
            let _ = u.set_password(None);
            u.to_string()
        }
        // Not a URL with a host: keep only what cannot be a user part.
        _ => match s.rsplit_once('@') {
            Some((_, rest)) => format!("…@{rest}"),
            None => s.to_string(),
        },
    }
}

/// A secret value: its `Debug` shows `***`, and it has no `Display`.
#[derive(Clone, PartialEq, Eq)]
pub(crate) struct Secret(pub(crate) String);

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("***")
    }
}

/// Basic-auth credentials read from the environment.
#[derive(Clone, PartialEq, Eq)]
pub(crate) struct Credentials {
    pub(crate) user: String,
    pub(crate) password: Secret,
}

impl fmt::Debug for Credentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Credentials")
            .field("user", &self.user)
            .field("password", &self.password)
            .finish()
    }
}

/// Reads the credentials named by the configuration, from `vars` if given, else from the
/// process environment.
pub(crate) fn credentials(
    exchange: &str,
    c: &NcmecConfig,
    vars: Option<&HashMap<String, String>>,
) -> Result<Option<Credentials>, Error> {
    let (Some(user_env), Some(password_env)) = (&c.user_env, &c.password_env) else {
        return Ok(None);
    };
    let read = |var: &str, what: &'static str| -> Result<String, Error> {
        let v = match vars {
            Some(m) => m.get(var).cloned(),
            None => std::env::var(var).ok(),
        };
        v.filter(|v| !v.is_empty())
            .ok_or_else(|| Error::Credential {
                exchange: exchange.to_string(),
                var: var.to_string(),
                what,
            })
    };
    Ok(Some(Credentials {
        user: read(user_env, "user name")?,
        password: Secret(read(password_env, "password")?),
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base_urls() {
        assert_eq!(
            base_url("https://example.invalid/hashsharing/").unwrap(),
            "https://example.invalid/hashsharing"
        );
        assert_eq!(
            base_url("http://127.0.0.1:8080").unwrap(),
            "http://127.0.0.1:8080"
        );
        assert!(base_url("http://[::1]:1/x").is_ok());
        let e = base_url("http://example.invalid/x").unwrap_err();
        assert!(e.contains("https"), "{e}");
        let e = base_url("https://bob:hunter2@example.invalid/x").unwrap_err();
        assert!(!e.contains("hunter2"), "{e}");
        assert!(e.contains("environment"), "{e}");
        assert!(base_url("ftp://example.invalid").is_err());
        assert!(base_url("https://example.invalid/x?a=1").is_err());
        assert!(base_url("not a url").is_err());
        assert_eq!(
            shown_url("https://bob:hunter2@example.invalid/x"),
            "https://example.invalid/x"
        );
        assert!(!shown_url("bob:hunter2@nowhere").contains("hunter2"));
    }

    #[test]
    fn secrets_are_not_shown() {
        let c = Credentials {
            user: "alice".into(),
            password: Secret("hunter2".into()),
        };
        let d = format!("{c:?}");
        assert!(d.contains("alice") && !d.contains("hunter2"), "{d}");
    }

    #[test]
    fn configs_round_trip_and_are_checked() {
        let c = ExchangeConfig::Ncmec(NcmecConfig {
            base_url: "https://example.invalid/npo".into(),
            user_env: Some("NCMEC_USER".into()),
            password_env: Some("NCMEC_PASSWORD".into()),
            start: 5,
        });
        let back = ExchangeConfig::from_stored("x", "ncmec", &c.to_json()).unwrap();
        assert_eq!(back, c);
        assert!(
            ExchangeConfig::from_stored(
                "x",
                "ncmec",
                r#"{"base_url":"https://a.invalid","user_env":"U"}"#
            )
            .is_err()
        );
        assert!(
            ExchangeConfig::from_stored(
                "x",
                "ncmec",
                r#"{"base_url":"https://a.invalid","password":"p"}"#
            )
            .is_err()
        );
        assert!(
            ExchangeConfig::from_stored(
                "x",
                "ncmec",
                r#"{"base_url":"https://a.invalid","user_env":"A B","password_env":"P"}"#
            )
            .is_err()
        );
        let f = ExchangeConfig::File(FileConfig {
            path: "/srv/lists".into(),
            format: Format::PytxCsv,
            vics_scheme: None,
        });
        assert_eq!(
            f.to_json(),
            r#"{"path":"/srv/lists","format":"pytx-csv","vics_scheme":null}"#
        );
        assert_eq!(
            ExchangeConfig::from_stored("x", "file", &f.to_json()).unwrap(),
            f
        );
        assert!(
            ExchangeConfig::from_stored("x", "file", r#"{"path":"rel","format":"plain"}"#).is_err()
        );
        assert!(ExchangeConfig::from_stored("x", "other", "{}").is_err());
    }
}
