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
        committed_at -> Nullable<Timestamp>,
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

diesel::table! {
    participants (id) {
        id -> Text,
        status -> Text,
        first_name -> Text,
        last_name -> Text,
        first_name_key -> Text,
        last_name_key -> Text,
        first_last_key -> Text,
        last_first_key -> Text,
        pesel -> Nullable<Text>,
        id_document_kind -> Nullable<Text>,
        id_document_number -> Nullable<Text>,
        id_document_country -> Nullable<Text>,
        birth_date -> Date,
        sex -> Text,
        phone -> Nullable<Text>,
        email -> Nullable<Text>,
        address_street -> Nullable<Text>,
        address_postal_code -> Nullable<Text>,
        address_city -> Nullable<Text>,
        education_level -> Nullable<Text>,
        labour_status_at_entry -> Nullable<Text>,
        disability -> Nullable<Bool>,
        legal_rep_full_name -> Nullable<Text>,
        legal_rep_relation -> Nullable<Text>,
        legal_rep_phone -> Nullable<Text>,
        referral_source -> Text,
        referral_reference -> Nullable<Text>,
        referred_on -> Date,
        version -> BigInt,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    referrals (id) {
        id -> Text,
        participant_id -> Text,
        source -> Text,
        reference -> Nullable<Text>,
        referred_on -> Date,
        created_at -> Timestamp,
        created_by -> Text,
    }
}

diesel::table! {
    qualifications (id) {
        id -> Text,
        participant_id -> Text,
        decision -> Text,
        decided_on -> Date,
        reason -> Nullable<Text>,
        decided_by -> Text,
        created_at -> Timestamp,
    }
}

diesel::table! {
    participant_risk_groups (participant_id, risk_group_code) {
        participant_id -> Text,
        risk_group_code -> Text,
        evidence -> Text,
        evidence_date -> Nullable<Date>,
    }
}

diesel::table! {
    care_team_members (participant_id, staff_id) {
        participant_id -> Text,
        staff_id -> Text,
        lead -> Bool,
        last_name_key -> Text,
        first_name_key -> Text,
        last_name -> Text,
        first_name -> Text,
    }
}

diesel::table! {
    consents (id) {
        id -> Text,
        participant_id -> Text,
        purpose -> Text,
        description -> Nullable<Text>,
        granted_on -> Date,
        expires_on -> Nullable<Date>,
        document_reference -> Text,
        withdrawn_on -> Nullable<Date>,
        withdrawal_note -> Nullable<Text>,
        version -> BigInt,
        created_at -> Timestamp,
        created_by -> Text,
    }
}

diesel::table! {
    case_notes (id) {
        id -> Text,
        participant_id -> Text,
        body -> Text,
        confidentiality -> Text,
        corrects_note_id -> Nullable<Text>,
        author_id -> Text,
        created_at -> Timestamp,
    }
}

diesel::table! {
    programmes (id) {
        id -> Text,
        participant_id -> Text,
        start_date -> Date,
        planned_months -> Integer,
        planned_end_date -> Date,
        basis -> Text,
        basis_reference -> Nullable<Text>,
        extension_reason -> Nullable<Text>,
        exit_date -> Nullable<Date>,
        exit_reason -> Nullable<Text>,
        exit_note -> Nullable<Text>,
        version -> BigInt,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    follow_ups (id) {
        id -> Text,
        programme_id -> Text,
        participant_id -> Text,
        months_after_exit -> Integer,
        due_on -> Date,
        status -> Text,
        contacted_on -> Nullable<Date>,
        result -> Nullable<Text>,
        note -> Nullable<Text>,
        version -> BigInt,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    diagnoses (id) {
        id -> Text,
        participant_id -> Text,
        kind -> Text,
        status -> Text,
        performed_on -> Date,
        instrument -> Nullable<Text>,
        summary -> Nullable<Text>,
        findings -> Nullable<Text>,
        recommendations -> Nullable<Text>,
        score_r -> Nullable<Integer>,
        score_i -> Nullable<Integer>,
        score_a -> Nullable<Integer>,
        score_s -> Nullable<Integer>,
        score_e -> Nullable<Integer>,
        score_c -> Nullable<Integer>,
        author_id -> Text,
        author_role -> Text,
        finalized_at -> Nullable<Timestamp>,
        finalized_by -> Nullable<Text>,
        version -> BigInt,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    diagnosis_amendments (id) {
        id -> Text,
        diagnosis_id -> Text,
        reason -> Text,
        body -> Text,
        author_id -> Text,
        created_at -> Timestamp,
    }
}

diesel::table! {
    plans (id) {
        id -> Text,
        participant_id -> Text,
        programme_id -> Text,
        version_no -> Integer,
        status -> Text,
        revises_plan_id -> Nullable<Text>,
        accepted_on -> Nullable<Date>,
        accepted_by_participant -> Nullable<Bool>,
        activated_at -> Nullable<Timestamp>,
        activated_by -> Nullable<Text>,
        next_review_on -> Nullable<Date>,
        created_by -> Text,
        version -> BigInt,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    plan_goals (id) {
        id -> Text,
        plan_id -> Text,
        position -> Integer,
        area -> Text,
        title -> Text,
        description -> Nullable<Text>,
        indicator -> Text,
        target_date -> Date,
        status -> Text,
        achieved_on -> Nullable<Date>,
        progress_note -> Nullable<Text>,
        version -> BigInt,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    plan_goal_history (id) {
        id -> Text,
        goal_id -> Text,
        status -> Text,
        achieved_on -> Nullable<Date>,
        changed_by -> Text,
        changed_at -> Timestamp,
    }
}

diesel::table! {
    plan_actions (id) {
        id -> Text,
        plan_id -> Text,
        goal_id -> Text,
        position -> Integer,
        title -> Text,
        responsible_staff_id -> Text,
        due_date -> Date,
        activity_type_code -> Nullable<Text>,
        status -> Text,
        done_on -> Nullable<Date>,
        version -> BigInt,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    plan_reviews (id) {
        id -> Text,
        plan_id -> Text,
        reviewed_on -> Date,
        summary -> Text,
        next_review_on -> Date,
        reviewer_id -> Text,
        created_at -> Timestamp,
    }
}

diesel::table! {
    sessions (id) {
        id -> Text,
        activity_type_code -> Text,
        area -> Text,
        category -> Text,
        title -> Text,
        starts_at -> Timestamp,
        starts_on -> Date,
        duration_minutes -> Integer,
        location -> Nullable<Text>,
        status -> Text,
        cancel_reason -> Nullable<Text>,
        cancelled_at -> Nullable<Timestamp>,
        created_by -> Text,
        version -> BigInt,
        created_at -> Timestamp,
        updated_at -> Timestamp,
        attended_minutes -> BigInt,
    }
}

diesel::table! {
    session_facilitators (session_id, staff_id) {
        session_id -> Text,
        staff_id -> Text,
    }
}

diesel::table! {
    session_invitees (session_id, participant_id) {
        session_id -> Text,
        participant_id -> Text,
    }
}

diesel::table! {
    attendance (session_id, participant_id) {
        session_id -> Text,
        participant_id -> Text,
        programme_id -> Text,
        status -> Text,
        minutes -> Integer,
        note -> Nullable<Text>,
        recorded_by -> Text,
        recorded_at -> Timestamp,
    }
}

diesel::table! {
    outcomes (id) {
        id -> Text,
        participant_id -> Text,
        kind -> Text,
        category -> Text,
        achieved_on -> Date,
        employer -> Nullable<Text>,
        hours_per_week -> Nullable<Integer>,
        contract_end -> Nullable<Date>,
        name -> Nullable<Text>,
        institution -> Nullable<Text>,
        description -> Nullable<Text>,
        evidence_document_type -> Text,
        evidence_reference -> Text,
        note -> Nullable<Text>,
        status -> Text,
        recorded_by -> Text,
        verified_by -> Nullable<Text>,
        verified_at -> Nullable<Timestamp>,
        retracted_by -> Nullable<Text>,
        retracted_at -> Nullable<Timestamp>,
        retraction_reason -> Nullable<Text>,
        version -> BigInt,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::joinable!(referrals -> participants (participant_id));
diesel::joinable!(qualifications -> participants (participant_id));
diesel::joinable!(participant_risk_groups -> participants (participant_id));
diesel::joinable!(participant_risk_groups -> risk_groups (risk_group_code));
diesel::joinable!(care_team_members -> participants (participant_id));
diesel::joinable!(care_team_members -> staff (staff_id));
diesel::joinable!(consents -> participants (participant_id));
diesel::joinable!(case_notes -> participants (participant_id));
diesel::joinable!(programmes -> participants (participant_id));
diesel::joinable!(follow_ups -> programmes (programme_id));
diesel::joinable!(diagnoses -> participants (participant_id));
diesel::joinable!(diagnosis_amendments -> diagnoses (diagnosis_id));
diesel::joinable!(plans -> participants (participant_id));
diesel::joinable!(plan_goals -> plans (plan_id));
diesel::joinable!(plan_goal_history -> plan_goals (goal_id));
diesel::joinable!(plan_reviews -> plans (plan_id));
diesel::joinable!(session_facilitators -> sessions (session_id));
diesel::joinable!(session_invitees -> sessions (session_id));
diesel::joinable!(attendance -> sessions (session_id));
diesel::joinable!(attendance -> programmes (programme_id));
diesel::joinable!(outcomes -> participants (participant_id));

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
    participants,
    referrals,
    qualifications,
    participant_risk_groups,
    care_team_members,
    consents,
    case_notes,
    programmes,
    follow_ups,
    diagnoses,
    diagnosis_amendments,
    plans,
    plan_goals,
    plan_goal_history,
    plan_actions,
    plan_reviews,
    sessions,
    session_facilitators,
    session_invitees,
    attendance,
    outcomes,
);
