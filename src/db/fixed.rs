//! Statements of recording a visit whose SQL text never varies, written so
//! that diesel prepares each once per connection and keeps it. diesel never
//! keeps an UPDATE, an upsert or a `sql_query` (their text may depend on
//! the values), and preparing a statement costs more than running it: on
//! SQLite's one writer thread these two were a sixth of a visit's work.
//! Both run on the backend's own connection (see `native!`).

use chrono::NaiveDate;
use diesel::backend::Backend;
use diesel::expression::Expression;
use diesel::query_builder::{AstPass, Query, QueryFragment, QueryId};
use diesel::serialize::ToSql;
use diesel::sql_types::{Bool, Date, HasSqlType, Integer};
use diesel::{QueryResult, RunQueryDsl, Table};

use super::schema::stations;

/// `UPDATE stations SET compliant, last_visit_on … RETURNING` the row (see
/// `stations::record_verdict`).
#[derive(Debug, Clone, Copy)]
pub struct RecordVerdict {
    pub station_id: i32,
    pub compliant: bool,
    pub visited_on: NaiveDate,
}

impl QueryId for RecordVerdict {
    type QueryId = RecordVerdict;
    const HAS_STATIC_QUERY_ID: bool = true;
}

impl Query for RecordVerdict {
    type SqlType = <<stations::table as Table>::AllColumns as Expression>::SqlType;
}

impl<DB> QueryFragment<DB> for RecordVerdict
where
    DB: Backend + HasSqlType<Bool> + HasSqlType<Date> + HasSqlType<Integer>,
    bool: ToSql<Bool, DB>,
    NaiveDate: ToSql<Date, DB>,
    i32: ToSql<Integer, DB>,
    <stations::table as Table>::AllColumns: QueryFragment<DB>,
{
    fn walk_ast<'b>(&'b self, mut out: AstPass<'_, 'b, DB>) -> QueryResult<()> {
        out.push_sql("UPDATE stations SET compliant = ");
        out.push_bind_param::<Bool, _>(&self.compliant)?;
        out.push_sql(", last_visit_on = ");
        out.push_bind_param::<Date, _>(&self.visited_on)?;
        out.push_sql(" WHERE id = ");
        out.push_bind_param::<Integer, _>(&self.station_id)?;
        out.push_sql(" RETURNING ");
        // The columns as diesel names them, in the order `Station` reads.
        stations::all_columns.walk_ast(out.reborrow())
    }
}

impl<C> RunQueryDsl<C> for RecordVerdict {}

/// A just-recorded visit's items become the station's current ones,
/// replacing what an earlier visit left for the same items (see
/// `visits::set_current`). The WHERE clause also keeps SQLite's parser from
/// reading ON CONFLICT as a join constraint.
#[derive(Debug, Clone, Copy)]
pub struct SetCurrent {
    pub station_id: i32,
    pub visit_id: i32,
    pub visited_on: NaiveDate,
}

impl QueryId for SetCurrent {
    type QueryId = SetCurrent;
    const HAS_STATIC_QUERY_ID: bool = true;
}

impl<DB> QueryFragment<DB> for SetCurrent
where
    DB: Backend + HasSqlType<Date> + HasSqlType<Integer>,
    NaiveDate: ToSql<Date, DB>,
    i32: ToSql<Integer, DB>,
{
    fn walk_ast<'b>(&'b self, mut out: AstPass<'_, 'b, DB>) -> QueryResult<()> {
        out.push_sql("INSERT INTO station_items (station_id, item_code, visit_id, visited_on, result, note) SELECT ");
        out.push_bind_param::<Integer, _>(&self.station_id)?;
        out.push_sql(", item_code, visit_id, ");
        out.push_bind_param::<Date, _>(&self.visited_on)?;
        out.push_sql(", result, note FROM visit_items WHERE visit_id = ");
        out.push_bind_param::<Integer, _>(&self.visit_id)?;
        out.push_sql(
            " ON CONFLICT (station_id, item_code) DO UPDATE SET visit_id = excluded.visit_id, \
             visited_on = excluded.visited_on, result = excluded.result, note = excluded.note",
        );
        Ok(())
    }
}

impl<C> RunQueryDsl<C> for SetCurrent {}
