//! Lookups the circular pages need besides the circulars themselves: the
//! circulars already issued for a date, and the people who issued them.

use chrono::{NaiveDate, NaiveDateTime};
use diesel::prelude::*;

use super::DbConnection;
use super::schema::{circulars, deliveries, users};
use crate::domain::DeliveryStatus;

/// Circulars issued for figures as of `as_of`: (id, number, issued at),
/// newest first.
pub fn issued_for(conn: &mut DbConnection, as_of: NaiveDate) -> QueryResult<Vec<(i32, String, NaiveDateTime)>> {
    circulars::table
        .filter(circulars::as_of.eq(as_of))
        .order(circulars::id.desc())
        .select((circulars::id, circulars::number, circulars::issued_at))
        .load(conn)
}

/// (username, display name) of the given users that exist.
pub fn display_names(conn: &mut DbConnection, usernames: &[String]) -> QueryResult<Vec<(String, String)>> {
    users::table
        .filter(users::username.eq_any(usernames))
        .select((users::username, users::display_name))
        .load(conn)
}

/// Per circular, its deliveries sent as .eml files (no mail server).
pub fn written_to_file(conn: &mut DbConnection, ids: &[i32]) -> QueryResult<Vec<(i32, i64)>> {
    let rows: Vec<(Option<i32>, i64)> = deliveries::table
        .filter(deliveries::circular_id.eq_any(ids))
        .filter(deliveries::status.eq(DeliveryStatus::Sent))
        .filter(deliveries::sent_via.eq("file"))
        .group_by(deliveries::circular_id)
        .select((deliveries::circular_id, diesel::dsl::count_star()))
        .load(conn)?;
    Ok(rows.into_iter().filter_map(|(c, n)| c.map(|c| (c, n))).collect())
}
