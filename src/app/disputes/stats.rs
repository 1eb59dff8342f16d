//! The ledger's figures for a year up to a date: per unit (or for one
//! station) and for everything the reader may read, from one GROUP BY.

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

use crate::app::progress::{PeriodQuery, resolve};
use crate::app::{Ctx, int_param};
use crate::auth::Principal;
use crate::auth::policy;
use crate::db::DbConnection;
use crate::db::disputes as store;
use crate::domain::dispute_figures::{Counts, Rates, spoken, spoken_yuan};
use crate::domain::money::serde_yuan;
use crate::error::{AppError, FieldErrors};

#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(default)]
pub struct StatsQuery {
    /// The year; the current year when left out.
    #[param(value_type = Option<i32>, minimum = 2000, maximum = 2100)]
    pub year: Option<String>,
    /// Figures as they stood on this day (YYYY-MM-DD) of cases received
    /// from 1 January; today (or the year's end) when left out.
    #[param(value_type = Option<NaiveDate>)]
    pub as_of: Option<String>,
    /// Only this unit.
    #[param(value_type = Option<i32>, minimum = 1)]
    pub unit_id: Option<String>,
    /// Only this station (a station account gets its own by default).
    #[param(value_type = Option<i32>, minimum = 1)]
    pub station_id: Option<String>,
}

/// One row: a unit, a station or the totals.
#[derive(Debug, Clone, Serialize, PartialEq, utoipa::ToSchema)]
pub struct FigureRow {
    pub unit_id: Option<i32>,
    pub station_id: Option<i32>,
    /// The unit's or station's name; 合计 for the totals.
    pub name: String,
    #[serde(flatten)]
    pub counts: Counts,
    /// 挽回经济损失, yuan with two decimals.
    #[serde(serialize_with = "serde_yuan::one")]
    #[schema(value_type = String, example = "40123.50")]
    pub recovered: i64,
    #[serde(flatten)]
    pub rates: Rates,
}

impl FigureRow {
    fn new(unit_id: Option<i32>, station_id: Option<i32>, name: String, counts: Counts) -> Self {
        FigureRow {
            unit_id,
            station_id,
            name,
            recovered: counts.recovered_fen,
            rates: Rates::from(&counts),
            counts,
        }
    }
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Figures {
    pub year: i32,
    pub as_of: NaiveDate,
    pub rows: Vec<FigureRow>,
    pub totals: FigureRow,
}

/// The figures `p` may read: one row per unit in scope (units without
/// cases included, at zero), or one station's.
pub fn stats(conn: &mut DbConnection, ctx: &Ctx, p: &Principal, query: StatsQuery) -> Result<Figures, AppError> {
    let mut errors = FieldErrors::new();
    let unit_id = int_param(&mut errors, "unit_id", query.unit_id, 1..=i32::MAX as i64).map(|u| u as i32);
    let station_id = int_param(&mut errors, "station_id", query.station_id, 1..=i32::MAX as i64).map(|s| s as i32);
    errors.into_result()?;
    let period = PeriodQuery {
        year: query.year,
        as_of: query.as_of,
    }
    .parse()?;
    let (year, as_of) = resolve(ctx, &period)?;
    let from = NaiveDate::from_ymd_opt(year, 1, 1).unwrap_or(as_of);
    let own = policy::own_station(p)?;
    if let Some(station_id) = station_id.or(own) {
        if unit_id.is_some() {
            return Err(FieldErrors::single("unit_id", "unit_id 与 station_id 只能用其一"));
        }
        let row = station_figures(conn, p, station_id, from, as_of)?;
        return Ok(Figures {
            year,
            as_of,
            totals: FigureRow {
                name: "合计".into(),
                ..row.clone()
            },
            rows: vec![row],
        });
    }
    if let Some(u) = unit_id {
        policy::can_read_unit(p, u)?;
        if crate::db::units::get(conn, u)?.is_none() {
            return Err(FieldErrors::single("unit_id", format!("单位 {u} 不存在")));
        }
    }
    let scope = policy::read_scope(p);
    let units: Vec<_> = crate::db::units::list(conn)?
        .into_iter()
        .filter(|u| scope.contains(u.id) && unit_id.is_none_or(|only| only == u.id))
        .collect();
    let by_unit = store::figures(conn, from, as_of, false, unit_id)?;
    let mut totals = Counts::default();
    let rows = units
        .into_iter()
        .map(|u| {
            let counts = by_unit
                .iter()
                .find(|(id, _)| *id == u.id)
                .map(|(_, c)| *c)
                .unwrap_or_default();
            totals.add(&counts);
            FigureRow::new(Some(u.id), None, u.name, counts)
        })
        .collect();
    Ok(Figures {
        year,
        as_of,
        rows,
        totals: FigureRow::new(None, None, "合计".into(), totals),
    })
}

/// One station's figures, if `p` may read its ledger.
pub fn station_figures(
    conn: &mut DbConnection,
    p: &Principal,
    station_id: i32,
    from: NaiveDate,
    as_of: NaiveDate,
) -> Result<FigureRow, AppError> {
    let station = crate::db::stations::get(conn, station_id)?
        .ok_or_else(|| FieldErrors::single("station_id", format!("服务站 {station_id} 不存在")))?;
    policy::can_read_disputes(p, station_id, station.unit_id)?;
    let counts = store::figures(conn, from, as_of, true, Some(station.unit_id))?
        .into_iter()
        .find(|(id, _)| *id == station_id)
        .map(|(_, c)| c)
        .unwrap_or_default();
    Ok(FigureRow::new(
        Some(station.unit_id),
        Some(station_id),
        station.name,
        counts,
    ))
}

/// The city's figures for the circular, with the sentence a clerk writes
/// (no names: figures only).
#[derive(Debug, Clone, Serialize)]
pub struct CityFigures {
    pub counts: Counts,
    pub rates: Rates,
    pub sentence: String,
}

/// The city's figures for year `year` up to `as_of` (no scope: the
/// circular is the bureau's document).
pub fn city_figures(conn: &mut DbConnection, year: i32, as_of: NaiveDate) -> Result<CityFigures, AppError> {
    let from = NaiveDate::from_ymd_opt(year, 1, 1).unwrap_or(as_of);
    let mut counts = Counts::default();
    for (_, c) in store::figures(conn, from, as_of, false, None)? {
        counts.add(&c);
    }
    let rates = Rates::from(&counts);
    let sentence = if counts.handled == 0 {
        "今年以来，消费维权服务站尚无办结的消费纠纷。".to_owned()
    } else {
        let dispatched = if counts.dispatched > 0 {
            format!("；受理12315派单{}件", counts.dispatched)
        } else {
            String::new()
        };
        format!(
            "今年以来，消费维权服务站自行调解消费纠纷共{}件，和解率{}，为消费者挽回经济损失{}{dispatched}，按时响应率{}。",
            counts.handled,
            spoken(&rates.settlement_rate),
            spoken_yuan(counts.recovered_fen),
            spoken(&rates.on_time_rate),
        )
    };
    Ok(CityFigures {
        counts,
        rates,
        sentence,
    })
}
