//! The dispute ledger (台账): cases per station, their list and figures,
//! and the erasure of personal information after the retention period.

use chrono::{NaiveDate, NaiveDateTime};
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Date, Integer};

use super::DbConnection;
use super::schema::{disputes, station_accounts, stations};
use crate::domain::dispute::{Channel, DisputeStatus, Handling, Outcome, Satisfaction, SubjectKind};
use crate::domain::dispute_figures::Counts;

#[derive(Debug, Clone, Queryable, Selectable, PartialEq)]
#[diesel(table_name = disputes)]
pub struct Dispute {
    pub id: i32,
    pub station_id: i32,
    pub channel: Channel,
    pub dispatch_ref: Option<String>,
    pub received_on: NaiveDate,
    pub received_time: Option<String>,
    pub consumer_name: Option<String>,
    pub consumer_phone: Option<String>,
    pub subject: String,
    pub subject_kind: SubjectKind,
    pub amount_fen: Option<i64>,
    pub complaint: String,
    pub respond_by: NaiveDate,
    pub close_by: NaiveDate,
    pub responded_on: Option<NaiveDate>,
    pub handling: Option<Handling>,
    pub handling_note: Option<String>,
    pub outcome: Option<Outcome>,
    pub recovered_fen: i64,
    pub handled_on: Option<NaiveDate>,
    pub followed_up_on: Option<NaiveDate>,
    pub satisfaction: Option<Satisfaction>,
    pub status: DisputeStatus,
    pub created_by: String,
    pub erased_at: Option<NaiveDateTime>,
    pub version: i32,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
}

/// Every field a case is written with (create and edit write them all).
#[derive(Debug, Clone, Insertable, AsChangeset)]
#[diesel(table_name = disputes, treat_none_as_null = true)]
pub struct DisputeFields {
    pub channel: Channel,
    pub dispatch_ref: Option<String>,
    pub received_on: NaiveDate,
    pub received_time: Option<String>,
    pub consumer_name: Option<String>,
    pub consumer_phone: Option<String>,
    pub subject: String,
    pub subject_kind: SubjectKind,
    pub amount_fen: Option<i64>,
    pub complaint: String,
    pub respond_by: NaiveDate,
    pub close_by: NaiveDate,
    pub responded_on: Option<NaiveDate>,
    pub handling: Option<Handling>,
    pub handling_note: Option<String>,
    pub outcome: Option<Outcome>,
    pub recovered_fen: i64,
    pub handled_on: Option<NaiveDate>,
    pub followed_up_on: Option<NaiveDate>,
    pub satisfaction: Option<Satisfaction>,
    pub status: DisputeStatus,
}

pub fn insert(
    conn: &mut DbConnection,
    station_id: i32,
    f: &DisputeFields,
    created_by: &str,
    at: NaiveDateTime,
) -> QueryResult<Dispute> {
    diesel::insert_into(disputes::table)
        .values((
            disputes::station_id.eq(station_id),
            f,
            disputes::created_by.eq(created_by),
            disputes::version.eq(1),
            disputes::created_at.eq(at),
            disputes::updated_at.eq(at),
        ))
        .returning(disputes::all_columns)
        .get_result(conn)
}

pub fn get(conn: &mut DbConnection, id: i32) -> QueryResult<Option<Dispute>> {
    disputes::table
        .find(id)
        .select(disputes::all_columns)
        .first(conn)
        .optional()
}

/// Writes `f` if the stored version is still `version`; `None` when someone
/// else changed the case first.
pub fn update_if_version(
    conn: &mut DbConnection,
    id: i32,
    version: i32,
    f: &DisputeFields,
    at: NaiveDateTime,
) -> QueryResult<Option<Dispute>> {
    let n = diesel::update(
        disputes::table
            .filter(disputes::id.eq(id))
            .filter(disputes::version.eq(version)),
    )
    .set((f, disputes::version.eq(version + 1), disputes::updated_at.eq(at)))
    .execute(conn)?;
    if n == 0 { Ok(None) } else { get(conn, id) }
}

/// A case with the unit of its station.
pub type WithUnit = (Dispute, i32);

#[derive(Debug, Default, Clone)]
pub struct Filter {
    /// Only these units (the reader's scope); None = all.
    pub units: Option<Vec<i32>>,
    /// Only this station (a station account's own, or a filter).
    pub station_id: Option<i32>,
    pub unit_id: Option<i32>,
    pub channel: Option<Channel>,
    pub status: Option<DisputeStatus>,
    pub from: Option<NaiveDate>,
    pub to: Option<NaiveDate>,
    /// Open dispatches past their deadline at this date.
    pub overdue_at: Option<NaiveDate>,
}

type Boxed<'a> = diesel::helper_types::IntoBoxed<
    'a,
    diesel::helper_types::InnerJoin<disputes::table, stations::table>,
    super::MultiBackend,
>;

fn filtered(f: &Filter) -> Boxed<'_> {
    let mut q = disputes::table.inner_join(stations::table).into_boxed();
    if let Some(units) = &f.units {
        q = q.filter(stations::unit_id.eq_any(units.clone()));
    }
    if let Some(s) = f.station_id {
        q = q.filter(disputes::station_id.eq(s));
    }
    if let Some(u) = f.unit_id {
        q = q.filter(stations::unit_id.eq(u));
    }
    if let Some(c) = f.channel {
        q = q.filter(disputes::channel.eq(c));
    }
    if let Some(s) = f.status {
        q = q.filter(disputes::status.eq(s));
    }
    if let Some(d) = f.from {
        q = q.filter(disputes::received_on.ge(d));
    }
    if let Some(d) = f.to {
        q = q.filter(disputes::received_on.le(d));
    }
    if let Some(d) = f.overdue_at {
        q = q.filter(disputes::channel.eq(Channel::Dispatch)).filter(
            disputes::status
                .ne(DisputeStatus::Closed)
                .and(disputes::close_by.lt(d))
                .or(disputes::responded_on.is_null().and(disputes::respond_by.lt(d))),
        );
    }
    q
}

/// One page of cases, newest received first, and how many match.
pub fn list(conn: &mut DbConnection, f: &Filter, page: i64, per_page: i64) -> QueryResult<(Vec<WithUnit>, i64)> {
    let total: i64 = filtered(f).count().get_result(conn)?;
    let rows = filtered(f)
        .order((disputes::received_on.desc(), disputes::id.desc()))
        .limit(per_page)
        .offset((page - 1) * per_page)
        .select((disputes::all_columns, stations::unit_id))
        .load(conn)?;
    Ok((rows, total))
}

/// Every case matching `f` (exports), oldest first.
pub fn all(conn: &mut DbConnection, f: &Filter) -> QueryResult<Vec<WithUnit>> {
    filtered(f)
        .order((disputes::received_on.asc(), disputes::id.asc()))
        .select((disputes::all_columns, stations::unit_id))
        .load(conn)
}

/// The station a station account is bound to.
pub fn station_of_account(conn: &mut DbConnection, user_id: i32) -> QueryResult<Option<i32>> {
    station_accounts::table
        .find(user_id)
        .select(station_accounts::station_id)
        .first(conn)
        .optional()
}

/// Binds a station account to its station (or unbinds it with None).
pub fn bind_account(conn: &mut DbConnection, user_id: i32, station_id: Option<i32>) -> QueryResult<()> {
    diesel::delete(station_accounts::table.find(user_id)).execute(conn)?;
    if let Some(s) = station_id {
        diesel::insert_into(station_accounts::table)
            .values((
                station_accounts::user_id.eq(user_id),
                station_accounts::station_id.eq(s),
            ))
            .execute(conn)?;
    }
    Ok(())
}

/// Every binding, for the user list: (user, station).
pub fn account_bindings(conn: &mut DbConnection) -> QueryResult<Vec<(i32, i32)>> {
    station_accounts::table
        .select((station_accounts::user_id, station_accounts::station_id))
        .load(conn)
}

#[derive(QueryableByName, Debug)]
struct Agg {
    #[diesel(sql_type = Integer)]
    group_id: i32,
    #[diesel(sql_type = BigInt)]
    received: i64,
    #[diesel(sql_type = BigInt)]
    handled: i64,
    #[diesel(sql_type = BigInt)]
    settled: i64,
    #[diesel(sql_type = BigInt)]
    followed_up: i64,
    #[diesel(sql_type = BigInt)]
    satisfied: i64,
    #[diesel(sql_type = BigInt)]
    on_time: i64,
    #[diesel(sql_type = BigInt)]
    recovered_fen: i64,
    #[diesel(sql_type = BigInt)]
    dispatched: i64,
}

/// The figures of cases received from `from` to `as_of`, as they stood at
/// `as_of`, grouped by unit or by station: one aggregate query, whatever
/// the number of cases. Handled, followed up and answered count only what
/// happened by `as_of`. (PostgreSQL sums a BIGINT as NUMERIC: the money
/// sum is cast back.)
pub fn figures(
    conn: &mut DbConnection,
    from: NaiveDate,
    as_of: NaiveDate,
    by_station: bool,
    only_unit: Option<i32>,
) -> QueryResult<Vec<(i32, Counts)>> {
    let group = if by_station { "d.station_id" } else { "s.unit_id" };
    let (settled, content) = (Handling::SETTLED, Satisfaction::CONTENT);
    let list = |values: Vec<&str>| values.iter().map(|v| format!("'{v}'")).collect::<Vec<_>>().join(", ");
    // The lists are the enums' own stored values, never user text.
    let settled = list(settled.iter().map(|h| h.as_str()).collect());
    let content = list(content.iter().map(|s| s.as_str()).collect());
    let unit_filter = if only_unit.is_some() { " AND s.unit_id = ?" } else { "" };
    let sql = format!(
        "SELECT {group} AS group_id,
       COUNT(*) AS received,
       COALESCE(SUM(CASE WHEN d.handled_on <= ? THEN 1 ELSE 0 END), 0) AS handled,
       COALESCE(SUM(CASE WHEN d.handled_on <= ? AND d.handling IN ({settled}) THEN 1 ELSE 0 END), 0) AS settled,
       COALESCE(SUM(CASE WHEN d.followed_up_on <= ? AND d.satisfaction IS NOT NULL THEN 1 ELSE 0 END), 0) AS followed_up,
       COALESCE(SUM(CASE WHEN d.followed_up_on <= ? AND d.satisfaction IN ({content}) THEN 1 ELSE 0 END), 0) AS satisfied,
       COALESCE(SUM(CASE WHEN d.responded_on <= d.respond_by AND d.responded_on <= ? THEN 1 ELSE 0 END), 0) AS on_time,
       CAST(COALESCE(SUM(CASE WHEN d.handled_on <= ? THEN d.recovered_fen ELSE 0 END), 0) AS BIGINT) AS recovered_fen,
       COALESCE(SUM(CASE WHEN d.channel = '{dispatch}' THEN 1 ELSE 0 END), 0) AS dispatched
FROM disputes d JOIN stations s ON s.id = d.station_id
WHERE d.received_on >= ? AND d.received_on <= ?{unit_filter}
GROUP BY {group}",
        dispatch = Channel::Dispatch.as_str(),
    );
    let sql = super::placeholders(&sql, conn.backend());
    let mut q = diesel::sql_query(sql).into_boxed::<super::MultiBackend>();
    for _ in 0..6 {
        q = q.bind::<Date, _>(as_of);
    }
    q = q.bind::<Date, _>(from).bind::<Date, _>(as_of);
    if let Some(u) = only_unit {
        q = q.bind::<Integer, _>(u);
    }
    let rows: Vec<Agg> = q.load(conn)?;
    Ok(rows
        .into_iter()
        .map(|a| {
            (
                a.group_id,
                Counts {
                    received: a.received,
                    handled: a.handled,
                    settled: a.settled,
                    followed_up: a.followed_up,
                    satisfied: a.satisfied,
                    responded_on_time: a.on_time,
                    recovered_fen: a.recovered_fen,
                    dispatched: a.dispatched,
                },
            )
        })
        .collect())
}

/// Whether any case handled before `cutoff` still holds a name or phone
/// (so that an idle check takes no write lock).
pub fn any_erasable(conn: &mut DbConnection, cutoff: NaiveDate) -> QueryResult<bool> {
    diesel::select(diesel::dsl::exists(
        disputes::table
            .filter(disputes::erased_at.is_null())
            .filter(disputes::handled_on.lt(cutoff)),
    ))
    .get_result(conn)
}

/// Erases consumers' names and phones of cases handled before `cutoff`
/// that still hold them; returns how many cases were erased.
pub fn erase_personal_before(conn: &mut DbConnection, cutoff: NaiveDate, at: NaiveDateTime) -> QueryResult<usize> {
    diesel::update(
        disputes::table
            .filter(disputes::erased_at.is_null())
            .filter(disputes::handled_on.lt(cutoff)),
    )
    .set((
        disputes::consumer_name.eq(None::<String>),
        disputes::consumer_phone.eq(None::<String>),
        disputes::erased_at.eq(Some(at)),
    ))
    .execute(conn)
}

/// The names of these stations, by id.
pub fn station_names(conn: &mut DbConnection, ids: &[i32]) -> QueryResult<std::collections::HashMap<i32, String>> {
    let mut ids = ids.to_vec();
    ids.sort_unstable();
    ids.dedup();
    let mut names = std::collections::HashMap::new();
    for chunk in ids.chunks(500) {
        let rows: Vec<(i32, String)> = stations::table
            .filter(stations::id.eq_any(chunk))
            .select((stations::id, stations::name))
            .load(conn)?;
        names.extend(rows);
    }
    Ok(names)
}

/// Stations built before `date` and standing (the demo's ledger), by id.
pub fn built_before(conn: &mut DbConnection, date: NaiveDate) -> QueryResult<Vec<(i32, String)>> {
    stations::table
        .filter(stations::established_on.lt(date))
        .filter(stations::status.eq_any(crate::domain::StationStatus::BUILT))
        .order(stations::id.asc())
        .select((stations::id, stations::name))
        .load(conn)
}
