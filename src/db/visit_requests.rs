//! Idempotency keys of recorded visits (`visit_requests`).

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::DbConnection;
use super::schema::visit_requests;

#[derive(Debug, Clone, Queryable, Insertable, PartialEq)]
#[diesel(table_name = visit_requests)]
pub struct VisitRequest {
    pub idempotency_key: String,
    pub visit_id: i32,
    pub username: String,
    pub body_sha256: String,
    pub created_at: NaiveDateTime,
}

/// The visit recorded with `key`, if any.
pub fn by_key(conn: &mut DbConnection, key: &str) -> QueryResult<Option<VisitRequest>> {
    visit_requests::table
        .filter(visit_requests::idempotency_key.eq(key))
        .first(conn)
        .optional()
}

pub fn insert(conn: &mut DbConnection, row: &VisitRequest) -> QueryResult<()> {
    diesel::insert_into(visit_requests::table)
        .values(row)
        .execute(conn)
        .map(|_| ())
}
