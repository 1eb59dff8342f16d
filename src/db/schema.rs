// Hand-kept in step with migrations/{sqlite,postgres}: same tables, same names.

diesel::table! {
    units (id) {
        id -> Integer,
        code -> Text,
        name -> Text,
        kind -> Text,
        created_at -> Timestamp,
    }
}

diesel::table! {
    plans (unit_id, year) {
        unit_id -> Integer,
        year -> Integer,
        target -> Integer,
        updated_at -> Timestamp,
        basis -> Text,
    }
}

diesel::table! {
    stations (id) {
        id -> Integer,
        unit_id -> Integer,
        name -> Text,
        host_business -> Text,
        credit_code -> Nullable<Text>,
        category -> Text,
        address -> Text,
        liaison_name -> Text,
        liaison_phone -> Text,
        standard_id -> Text,
        status -> Text,
        established_on -> Nullable<Date>,
        revoked_on -> Nullable<Date>,
        version -> Integer,
        created_at -> Timestamp,
        updated_at -> Timestamp,
        compliant -> Nullable<Bool>,
        last_visit_on -> Nullable<Date>,
        liaison_email -> Nullable<Text>,
    }
}

diesel::table! {
    station_status_changes (id) {
        id -> Integer,
        station_id -> Integer,
        from_status -> Text,
        to_status -> Text,
        reason -> Text,
        effective_on -> Date,
        created_at -> Timestamp,
        visit_id -> Nullable<Integer>,
    }
}

diesel::table! {
    visits (id) {
        id -> Integer,
        station_id -> Integer,
        kind -> Text,
        visited_on -> Date,
        inspector -> Text,
        summary -> Text,
        standard_id -> Text,
        standard_version -> Integer,
        score_bp -> Integer,
        compliant -> Bool,
        status_before -> Text,
        status_after -> Text,
        voided_at -> Nullable<Timestamp>,
        void_reason -> Nullable<Text>,
        created_at -> Timestamp,
        captured_at -> Nullable<Timestamp>,
        latitude -> Nullable<Double>,
        longitude -> Nullable<Double>,
        accuracy_m -> Nullable<Double>,
    }
}

diesel::table! {
    visit_items (visit_id, item_code) {
        visit_id -> Integer,
        item_code -> Text,
        position -> Integer,
        result -> Text,
        note -> Text,
    }
}

diesel::table! {
    station_items (station_id, item_code) {
        station_id -> Integer,
        item_code -> Text,
        visit_id -> Integer,
        visited_on -> Date,
        result -> Text,
        note -> Text,
    }
}

diesel::table! {
    guidance (id) {
        id -> Integer,
        station_id -> Integer,
        raised_by -> Integer,
        item_code -> Text,
        instruction -> Text,
        due_on -> Date,
        status -> Text,
        resolved_by -> Nullable<Integer>,
        resolved_on -> Nullable<Date>,
        created_at -> Timestamp,
        updated_at -> Timestamp,
        unit_id -> Nullable<Integer>,
    }
}

diesel::table! {
    evidence (id) {
        id -> Integer,
        visit_id -> Integer,
        item_code -> Text,
        sha256 -> Text,
        content_type -> Text,
        size_bytes -> BigInt,
        file_name -> Text,
        created_at -> Timestamp,
    }
}

diesel::table! {
    seed_runs (name) {
        name -> Text,
        loaded_at -> Timestamp,
    }
}

diesel::table! {
    users (id) {
        id -> Integer,
        username -> Text,
        display_name -> Text,
        email -> Nullable<Text>,
        role -> Text,
        password_hash -> Text,
        active -> Bool,
        failed_logins -> Integer,
        locked_until -> Nullable<Timestamp>,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    user_units (user_id, unit_id) {
        user_id -> Integer,
        unit_id -> Integer,
    }
}

diesel::table! {
    sessions (id) {
        id -> Integer,
        token_hash -> Text,
        user_id -> Integer,
        csrf_token -> Text,
        created_at -> Timestamp,
        expires_at -> Timestamp,
    }
}

diesel::table! {
    api_tokens (id) {
        id -> Integer,
        user_id -> Integer,
        name -> Text,
        token_hash -> Text,
        created_at -> Timestamp,
        last_used_at -> Nullable<Timestamp>,
        revoked_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    audit_log (id) {
        id -> Integer,
        at -> Timestamp,
        user_id -> Nullable<Integer>,
        username -> Text,
        action -> Text,
        entity -> Text,
        entity_id -> Text,
        before_value -> Nullable<Text>,
        after_value -> Nullable<Text>,
    }
}

diesel::table! {
    acknowledgements (id) {
        id -> Integer,
        kind -> Text,
        target_id -> Text,
        unit_id -> Integer,
        user_id -> Integer,
        comment -> Text,
        created_at -> Timestamp,
    }
}

diesel::table! {
    circular_serials (prefix, year) {
        prefix -> Text,
        year -> Integer,
        last_serial -> Integer,
    }
}

diesel::table! {
    circulars (id) {
        id -> Integer,
        number -> Text,
        prefix -> Text,
        year -> Integer,
        serial -> Integer,
        as_of -> Date,
        title -> Text,
        snapshot -> Text,
        subject -> Text,
        body_text -> Text,
        body_html -> Text,
        attachment_csv -> Text,
        issued_by -> Text,
        schedule_period -> Nullable<Text>,
        idempotency_key -> Nullable<Text>,
        issued_at -> Timestamp,
        idempotency_body_sha256 -> Nullable<Text>,
    }
}

diesel::table! {
    circular_documents (circular_id) {
        circular_id -> Integer,
        pdf -> Binary,
    }
}

diesel::table! {
    circular_renditions (id) {
        id -> Integer,
        circular_id -> Integer,
        unit_id -> Nullable<Integer>,
        subject -> Text,
        body_text -> Text,
        body_html -> Text,
    }
}

diesel::table! {
    deliveries (id) {
        id -> Integer,
        circular_id -> Nullable<Integer>,
        rendition_id -> Nullable<Integer>,
        recipient_name -> Text,
        recipient_email -> Text,
        unit_id -> Nullable<Integer>,
        copy -> Bool,
        status -> Text,
        attempts -> Integer,
        next_attempt_at -> Timestamp,
        claimed_until -> Nullable<Timestamp>,
        last_error -> Nullable<Text>,
        message_id -> Nullable<Text>,
        sent_at -> Nullable<Timestamp>,
        created_at -> Timestamp,
        updated_at -> Timestamp,
        kind -> Text,
        reference -> Text,
        notice_id -> Nullable<Integer>,
        sent_via -> Nullable<Text>,
    }
}

diesel::table! {
    notices (id) {
        id -> Integer,
        kind -> Text,
        subject -> Text,
        body_text -> Text,
        body_html -> Text,
        attachment_name -> Nullable<Text>,
        attachment -> Nullable<Binary>,
        unsubscribe_url -> Nullable<Text>,
        created_at -> Timestamp,
    }
}

diesel::table! {
    notice_sends (id) {
        id -> Integer,
        kind -> Text,
        recipient -> Text,
        period_key -> Text,
        delivery_id -> Nullable<Integer>,
        created_at -> Timestamp,
    }
}

diesel::table! {
    notice_optouts (user_id, kind) {
        user_id -> Integer,
        kind -> Text,
        created_at -> Timestamp,
    }
}

diesel::table! {
    server_keys (name) {
        name -> Text,
        secret -> Text,
        created_at -> Timestamp,
    }
}

diesel::table! {
    station_accounts (user_id) {
        user_id -> Integer,
        station_id -> Integer,
    }
}

diesel::table! {
    disputes (id) {
        id -> Integer,
        station_id -> Integer,
        channel -> Text,
        dispatch_ref -> Nullable<Text>,
        received_on -> Date,
        received_time -> Nullable<Text>,
        consumer_name -> Nullable<Text>,
        consumer_phone -> Nullable<Text>,
        subject -> Text,
        subject_kind -> Text,
        amount_fen -> Nullable<BigInt>,
        complaint -> Text,
        respond_by -> Date,
        close_by -> Date,
        responded_on -> Nullable<Date>,
        handling -> Nullable<Text>,
        handling_note -> Nullable<Text>,
        outcome -> Nullable<Text>,
        recovered_fen -> BigInt,
        handled_on -> Nullable<Date>,
        followed_up_on -> Nullable<Date>,
        satisfaction -> Nullable<Text>,
        status -> Text,
        created_by -> Text,
        erased_at -> Nullable<Timestamp>,
        version -> Integer,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::joinable!(plans -> units (unit_id));
diesel::joinable!(user_units -> users (user_id));
diesel::joinable!(user_units -> units (unit_id));
diesel::joinable!(sessions -> users (user_id));
diesel::joinable!(api_tokens -> users (user_id));
diesel::joinable!(acknowledgements -> users (user_id));
diesel::joinable!(circular_renditions -> circulars (circular_id));
diesel::joinable!(circular_documents -> circulars (circular_id));
diesel::joinable!(deliveries -> circulars (circular_id));
diesel::joinable!(deliveries -> circular_renditions (rendition_id));
diesel::joinable!(stations -> units (unit_id));
diesel::joinable!(station_status_changes -> stations (station_id));
diesel::joinable!(visits -> stations (station_id));
diesel::joinable!(visit_items -> visits (visit_id));
diesel::joinable!(guidance -> stations (station_id));
diesel::joinable!(evidence -> visits (visit_id));
diesel::joinable!(station_accounts -> users (user_id));
diesel::joinable!(station_accounts -> stations (station_id));
diesel::table! {
    visit_requests (idempotency_key) {
        idempotency_key -> Text,
        visit_id -> Integer,
        username -> Text,
        body_sha256 -> Text,
        created_at -> Timestamp,
    }
}

diesel::joinable!(disputes -> stations (station_id));
diesel::joinable!(visit_requests -> visits (visit_id));

diesel::allow_tables_to_appear_in_same_query!(
    units,
    plans,
    stations,
    station_status_changes,
    seed_runs,
    visits,
    visit_items,
    guidance,
    evidence,
    users,
    user_units,
    sessions,
    api_tokens,
    audit_log,
    acknowledgements,
    circular_serials,
    circulars,
    circular_renditions,
    circular_documents,
    deliveries,
    notices,
    notice_sends,
    notice_optouts,
    server_keys,
    station_accounts,
    disputes,
    visit_requests,
);
