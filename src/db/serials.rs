//! Circular serials (发文字号): per agency code and year, taken in the
//! transaction that writes the circular; the register's next serial can be
//! set.

use diesel::prelude::*;

use super::DbConnection;
use super::schema::{circular_serials, circulars};

/// Takes the next serial for `prefix` and `year`. Called inside the
/// transaction that writes the circular, so a rolled-back issue leaves no
/// gap; the row lock (PostgreSQL) or the write lock (SQLite) makes two
/// concurrent issues wait for each other instead of sharing a number.
pub fn next_serial(conn: &mut DbConnection, prefix: &str, year: i32) -> QueryResult<i32> {
    let key = circular_serials::table.find((prefix, year));
    let bumped = diesel::update(key)
        .set(circular_serials::last_serial.eq(circular_serials::last_serial + 1))
        .execute(conn)?;
    if bumped == 0 {
        // First circular of the year. Another instance may insert the same
        // row at the same moment: do it in a savepoint and bump on conflict.
        let inserted = conn.transaction(|c| {
            diesel::insert_into(circular_serials::table)
                .values((
                    circular_serials::prefix.eq(prefix),
                    circular_serials::year.eq(year),
                    circular_serials::last_serial.eq(1),
                ))
                .execute(c)
        });
        match inserted {
            Ok(_) => {}
            Err(diesel::result::Error::DatabaseError(diesel::result::DatabaseErrorKind::UniqueViolation, _)) => {
                diesel::update(key)
                    .set(circular_serials::last_serial.eq(circular_serials::last_serial + 1))
                    .execute(conn)?;
            }
            Err(e) => return Err(e),
        }
    }
    key.select(circular_serials::last_serial).first(conn)
}

/// The serial the next circular would get (for a preview; not reserved).
pub fn peek_serial(conn: &mut DbConnection, prefix: &str, year: i32) -> QueryResult<i32> {
    let last: Option<i32> = circular_serials::table
        .find((prefix, year))
        .select(circular_serials::last_serial)
        .first(conn)
        .optional()?;
    Ok(last.unwrap_or(0) + 1)
}

/// The highest serial issued for `prefix` and `year` (0 when none).
pub fn max_issued_serial(conn: &mut DbConnection, prefix: &str, year: i32) -> QueryResult<i32> {
    let max: Option<i32> = circulars::table
        .filter(circulars::prefix.eq(prefix).and(circulars::year.eq(year)))
        .select(diesel::dsl::max(circulars::serial))
        .first(conn)?;
    Ok(max.unwrap_or(0))
}

/// Makes `next` the serial the next circular of `prefix` and `year` gets.
/// The caller has checked that no issued circular has `next` or above.
pub fn set_next_serial(conn: &mut DbConnection, prefix: &str, year: i32, next: i32) -> QueryResult<()> {
    let key = circular_serials::table.find((prefix, year));
    let n = diesel::update(key)
        .set(circular_serials::last_serial.eq(next - 1))
        .execute(conn)?;
    if n == 0 {
        diesel::insert_into(circular_serials::table)
            .values((
                circular_serials::prefix.eq(prefix),
                circular_serials::year.eq(year),
                circular_serials::last_serial.eq(next - 1),
            ))
            .execute(conn)?;
    }
    Ok(())
}
