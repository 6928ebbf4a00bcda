// One diesel schema for both backends. Only portable column types: Text (UUIDs, enums as
// snake_case text, JSON documents), Integer/BigInt, Bool, Date, Timestamp (naive UTC).

diesel::table! {
    audit_events (seq) {
        seq -> BigInt,
        at -> Timestamp,
        actor_id -> Nullable<Text>,
        actor_roles -> Text,
        action -> Text,
        outcome -> Text,
        entity_type -> Nullable<Text>,
        entity_id -> Nullable<Text>,
        participant_id -> Nullable<Text>,
        request_id -> Nullable<Text>,
        ip -> Nullable<Text>,
        changed_fields -> Text,
        details -> Nullable<Text>,
        prev_hash -> Text,
        hash -> Text,
    }
}

diesel::table! {
    audit_chain_head (id) {
        id -> Integer,
        seq -> BigInt,
        hash -> Text,
    }
}
