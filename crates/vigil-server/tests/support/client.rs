//! One call to the server under test, with an optional bearer key and JSON body: the HTTP
//! client the API test files share.

#![allow(dead_code)]

use serde_json::Value;

/// `method base+path` with `key` as a bearer token when given and an optional body of the
/// given content type: the status and the answer's text.
pub(crate) async fn send(
    http: &reqwest::Client,
    base: &str,
    key: Option<&str>,
    method: &str,
    path: &str,
    body: Option<(&str, String)>,
) -> (u16, String) {
    let mut req = http.request(method.parse().unwrap(), format!("{base}{path}"));
    if let Some(k) = key {
        req = req.header("authorization", format!("Bearer {k}"));
    }
    if let Some((ctype, b)) = body {
        req = req.header("content-type", ctype).body(b);
    }
    let r = req.send().await.unwrap();
    (r.status().as_u16(), r.text().await.unwrap())
}

/// `method base+path` with `key` as a bearer token when given and `body` as JSON when given:
/// the status and the answer as JSON (a JSON string when it is not JSON).
pub(crate) async fn call_json(
    http: &reqwest::Client,
    base: &str,
    key: Option<&str>,
    method: &str,
    path: &str,
    body: Option<&Value>,
) -> (u16, Value) {
    let body = body.map(|b| ("application/json", b.to_string()));
    let (status, text) = send(http, base, key, method, path, body).await;
    (
        status,
        serde_json::from_str(&text).unwrap_or(Value::String(text)),
    )
}
