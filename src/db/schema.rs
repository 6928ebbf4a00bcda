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

diesel::table! {
    staff (id) {
        id -> Text,
        email -> Text,
        full_name -> Text,
        full_name_key -> Text,
        password_hash -> Text,
        active -> Bool,
        active_until -> Nullable<Date>,
        must_change_password -> Bool,
        token_version -> BigInt,
        version -> BigInt,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    staff_roles (staff_id, role) {
        staff_id -> Text,
        role -> Text,
    }
}

diesel::table! {
    refresh_tokens (id) {
        id -> Text,
        family_id -> Text,
        staff_id -> Text,
        token_hash -> Text,
        family_started_at -> Timestamp,
        issued_at -> Timestamp,
        expires_at -> Timestamp,
        used_at -> Nullable<Timestamp>,
        revoked_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    login_failures (id) {
        id -> Text,
        email_key -> Text,
        failed_at -> Timestamp,
    }
}

diesel::table! {
    settings (id) {
        id -> Integer,
        unit_name -> Text,
        unit_kind -> Text,
        programme_months -> Integer,
        follow_up_months -> Text,
        retention_years -> Integer,
        project_retention_until -> Nullable<Date>,
        review_interval_days -> Integer,
        version -> BigInt,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    risk_groups (code) {
        code -> Text,
        label_en -> Text,
        label_pl -> Text,
        legal_basis -> Nullable<Text>,
        evidence_hint -> Nullable<Text>,
        statutory -> Bool,
        active -> Bool,
        version -> BigInt,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    activity_types (code) {
        code -> Text,
        label_en -> Text,
        label_pl -> Text,
        area -> Text,
        category -> Text,
        active -> Bool,
        version -> BigInt,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    idempotency_keys (staff_id, idem_key) {
        staff_id -> Text,
        idem_key -> Text,
        method -> Text,
        path -> Text,
        request_hash -> Text,
        status -> Nullable<Integer>,
        response_body -> Nullable<Text>,
        location -> Nullable<Text>,
        etag -> Nullable<Text>,
        created_at -> Timestamp,
    }
}

diesel::table! {
    service_locks (name) {
        name -> Text,
        counter -> BigInt,
    }
}

diesel::joinable!(staff_roles -> staff (staff_id));
diesel::joinable!(refresh_tokens -> staff (staff_id));

diesel::allow_tables_to_appear_in_same_query!(
    audit_events,
    audit_chain_head,
    staff,
    staff_roles,
    refresh_tokens,
    login_failures,
    settings,
    risk_groups,
    activity_types,
    idempotency_keys,
    service_locks,
);
