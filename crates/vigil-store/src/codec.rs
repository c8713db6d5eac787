//! How a [`Record`]'s metadata is kept: a JSON object in the provenance row (`record`), so an
//! export gives back what the import read, field for field. Signals are not in it (they are
//! rows of their own).

use serde_json::{Map, Value, json};
use vigil_exchange::record::{Category, CategoryScheme, ContentType, Record, Timestamp};

pub(crate) fn scheme_name(s: &CategoryScheme) -> String {
    match s {
        CategoryScheme::VicsUs => "vics_us".into(),
        CategoryScheme::VicsLegacy => "vics_legacy".into(),
        CategoryScheme::Pytx => "pytx".into(),
        CategoryScheme::Ncmec => "ncmec".into(),
        CategoryScheme::Other(n) => format!("other:{n}"),
    }
}

pub(crate) fn scheme_from_name(s: &str) -> CategoryScheme {
    match s {
        "vics_us" => CategoryScheme::VicsUs,
        "vics_legacy" => CategoryScheme::VicsLegacy,
        "pytx" => CategoryScheme::Pytx,
        "ncmec" => CategoryScheme::Ncmec,
        other => CategoryScheme::Other(other.strip_prefix("other:").unwrap_or(other).to_string()),
    }
}

fn content_name(c: &ContentType) -> String {
    match c {
        ContentType::Photo => "photo".into(),
        ContentType::Video => "video".into(),
        ContentType::Other(n) => format!("other:{n}"),
    }
}

fn content_from_name(s: &str) -> ContentType {
    match s {
        "photo" => ContentType::Photo,
        "video" => ContentType::Video,
        other => ContentType::Other(other.strip_prefix("other:").unwrap_or(other).to_string()),
    }
}

/// The record without its signals, as JSON text.
pub(crate) fn record_json(r: &Record) -> String {
    let mut m = Map::new();
    let mut put = |k: &str, v: Value| {
        if !v.is_null() {
            m.insert(k.to_string(), v);
        }
    };
    if !r.ids.is_empty() {
        put("ids", json!(r.ids));
    }
    put("content", r.content.as_ref().map(content_name).into());
    put("uri", r.uri.clone().into());
    put("note", r.note.clone().into());
    if let Some(c) = &r.category {
        put(
            "category",
            json!({"scheme": scheme_name(&c.scheme), "value": c.value}),
        );
    }
    if !r.tags.is_empty() {
        put("tags", json!(r.tags));
    }
    put("source", r.source.clone().into());
    put("series", r.series.clone().into());
    put(
        "first_seen",
        r.first_seen.as_ref().map(|t| t.to_string()).into(),
    );
    put(
        "last_seen",
        r.last_seen.as_ref().map(|t| t.to_string()).into(),
    );
    put("updated", r.updated.as_ref().map(|t| t.to_string()).into());
    let flags: Map<String, Value> = r
        .flags
        .named()
        .iter()
        .filter_map(|(n, v)| v.map(|b| (n.to_string(), Value::Bool(b))))
        .collect();
    if !flags.is_empty() {
        put("flags", Value::Object(flags));
    }
    if !r.extra.is_empty() {
        put("extra", json!(r.extra));
    }
    Value::Object(m).to_string()
}

/// Fills `r`'s metadata from [`record_json`]'s text (unknown or malformed parts are skipped:
/// the text was written by this module).
pub(crate) fn apply_record_json(r: &mut Record, text: &str) {
    let Ok(Value::Object(m)) = serde_json::from_str::<Value>(text) else {
        return;
    };
    let s = |k: &str| m.get(k).and_then(Value::as_str).map(str::to_string);
    let strings = |k: &str| -> Vec<String> {
        m.get(k)
            .and_then(Value::as_array)
            .map(|a| {
                a.iter()
                    .filter_map(|v| v.as_str().map(str::to_string))
                    .collect()
            })
            .unwrap_or_default()
    };
    let ts = |k: &str| s(k).and_then(|t| Timestamp::parse(&t).ok());
    r.ids = strings("ids");
    r.content = s("content").map(|c| content_from_name(&c));
    r.uri = s("uri");
    r.note = s("note");
    r.category = m.get("category").and_then(|c| {
        Some(Category {
            scheme: scheme_from_name(c.get("scheme")?.as_str()?),
            value: c.get("value")?.as_str()?.to_string(),
        })
    });
    r.tags = strings("tags");
    r.source = s("source");
    r.series = s("series");
    r.first_seen = ts("first_seen");
    r.last_seen = ts("last_seen");
    r.updated = ts("updated");
    if let Some(Value::Object(f)) = m.get("flags") {
        for (name, v) in f {
            if let (Some(slot), Some(b)) = (r.flags.by_name_mut(name), v.as_bool()) {
                *slot = Some(b);
            }
        }
    }
    if let Some(Value::Object(e)) = m.get("extra") {
        r.extra = e
            .iter()
            .filter_map(|(k, v)| v.as_str().map(|v| (k.clone(), v.to_string())))
            .collect();
    }
}
