//! The hash chain of api.md §13.7: `hash = hex(sha256(prev_hash + "\n" + canonical))`, where
//! `canonical` is the event's JSON without `hash`, keys sorted, no whitespace, nulls kept, and
//! instants as RFC 3339 UTC with microseconds.

use serde_json::{json, Value};
use sha2::{Digest, Sha256};

use super::model::StoredEvent;

/// The `prev_hash` of the first event.
pub const GENESIS_HASH: &str = "0000000000000000000000000000000000000000000000000000000000000000";

pub fn canonical_json(event: &StoredEvent) -> String {
    // serde_json's map is ordered by key (no `preserve_order` feature), and `to_string` writes no
    // whitespace: together that is the canonical form.
    let value = json!({
        "seq": event.seq,
        "at": event.at.format("%Y-%m-%dT%H:%M:%S%.6fZ").to_string(),
        "actor_id": event.actor_id,
        "actor_roles": event.actor_roles,
        "action": event.action,
        "outcome": event.outcome,
        "entity_type": event.entity_type,
        "entity_id": event.entity_id,
        "participant_id": event.participant_id,
        "request_id": event.request_id,
        "ip": event.ip,
        "changed_fields": event.changed_fields,
        "details": event.details.clone().map(sort_keys).unwrap_or(Value::Null),
        "prev_hash": event.prev_hash,
    });
    value.to_string()
}

/// Nested objects are sorted too (already so with serde_json's default map; kept explicit in case
/// a dependency ever turns `preserve_order` on for the whole build).
fn sort_keys(value: Value) -> Value {
    match value {
        Value::Object(map) => {
            let mut entries: Vec<(String, Value)> =
                map.into_iter().map(|(k, v)| (k, sort_keys(v))).collect();
            entries.sort_by(|a, b| a.0.cmp(&b.0));
            Value::Object(entries.into_iter().collect())
        }
        Value::Array(items) => Value::Array(items.into_iter().map(sort_keys).collect()),
        other => other,
    }
}

pub fn chain_hash(prev_hash: &str, canonical: &str) -> String {
    let mut hasher = Sha256::new();
    hasher.update(prev_hash.as_bytes());
    hasher.update(b"\n");
    hasher.update(canonical.as_bytes());
    hex::encode(hasher.finalize())
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::NaiveDate;

    fn event() -> StoredEvent {
        StoredEvent {
            seq: 1,
            at: NaiveDate::from_ymd_opt(2026, 1, 15)
                .unwrap()
                .and_hms_micro_opt(9, 30, 0, 120)
                .unwrap(),
            actor_id: Some("a1".into()),
            actor_roles: vec!["manager".into()],
            action: "participant.read".into(),
            outcome: "allowed".into(),
            entity_type: Some("participant".into()),
            entity_id: Some("p1".into()),
            participant_id: Some("p1".into()),
            request_id: Some("r1".into()),
            ip: None,
            changed_fields: vec![],
            details: None,
            prev_hash: GENESIS_HASH.into(),
            hash: String::new(),
        }
    }

    #[test]
    fn canonical_form_sorts_keys_keeps_nulls_and_uses_microseconds() {
        let c = canonical_json(&event());
        assert_eq!(
            c,
            format!(
                "{{\"action\":\"participant.read\",\"actor_id\":\"a1\",\"actor_roles\":[\"manager\"],\
                 \"at\":\"2026-01-15T09:30:00.000120Z\",\"changed_fields\":[],\"details\":null,\
                 \"entity_id\":\"p1\",\"entity_type\":\"participant\",\"ip\":null,\"outcome\":\"allowed\",\
                 \"participant_id\":\"p1\",\"prev_hash\":\"{GENESIS_HASH}\",\"request_id\":\"r1\",\"seq\":1}}"
            )
        );
    }

    #[test]
    fn hash_is_sha256_of_prev_newline_canonical() {
        // `printf 'x\ny' | sha256sum`
        assert_eq!(
            chain_hash("x", "y"),
            "9ab9de25768ac172235e119b76362ecddad33878fe9a7792cdddbe47236f9a87"
        );
    }
}
