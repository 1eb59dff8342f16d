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
    }
}

diesel::table! {
    seed_runs (name) {
        name -> Text,
        loaded_at -> Timestamp,
    }
}

diesel::joinable!(plans -> units (unit_id));
diesel::joinable!(stations -> units (unit_id));
diesel::joinable!(station_status_changes -> stations (station_id));

diesel::allow_tables_to_appear_in_same_query!(
    units,
    plans,
    stations,
    station_status_changes,
    seed_runs
);
