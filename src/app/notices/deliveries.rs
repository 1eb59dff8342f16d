//! The outbox of every kind, for administrators: where each email stands,
//! and putting a failed one back in the queue.

use crate::app::audit::{self, snapshot};
use crate::app::circulars::Delivery;
use crate::app::{Ctx, Page};
use crate::auth::Principal;
use crate::auth::policy::{self, Admin};
use crate::db::circulars as circular_store;
use crate::db::notices as store;
use crate::db::{self, DbConnection};
use crate::domain::{DeliveryKind, DeliveryStatus};
use crate::error::{AppError, FieldErrors};

/// One page of deliveries, newest first, optionally of one kind.
pub fn list(
    conn: &mut DbConnection,
    p: &Principal,
    kind: Option<String>,
    page: Option<String>,
    per_page: Option<String>,
) -> Result<Page<Delivery>, AppError> {
    policy::require_admin(p, Admin::Circulars)?;
    let mut errors = FieldErrors::new();
    let kind = match crate::app::query_param(&mut errors, "kind", kind) {
        Some(k) => match DeliveryKind::parse(&k) {
            Some(k) => Some(k),
            None => {
                errors.add("kind", format!("未知的邮件类别，可选：{}", DeliveryKind::expected()));
                None
            }
        },
        None => None,
    };
    let (page, per_page) = crate::app::paging(&mut errors, page, per_page);
    errors.into_result()?;
    let (rows, total) = store::deliveries_page(conn, kind, per_page, (page - 1) * per_page)?;
    Ok(Page {
        items: rows.into_iter().map(Delivery::from).collect(),
        total: Some(total),
        total_exact: true,
        page,
        per_page,
        next_after: None,
    })
}

/// Puts a failed delivery of any kind back in the queue (audited).
pub fn retry(conn: &mut DbConnection, ctx: &Ctx, p: &Principal, delivery_id: i32) -> Result<Delivery, AppError> {
    policy::require_admin(p, Admin::Circulars)?;
    let d = db::write_tx(conn, |conn| {
        let d = circular_store::get_delivery(conn, delivery_id)?
            .map(Delivery::from)
            .ok_or_else(|| AppError::NotFound(format!("投递记录 {delivery_id} 不存在")))?;
        if d.status != DeliveryStatus::Failed {
            return Err(AppError::conflict(format!(
                "只有发送失败的邮件可以重发（当前状态：{}）",
                d.status.label_zh()
            )));
        }
        circular_store::requeue(conn, delivery_id, db::now())?;
        let after = circular_store::get_delivery(conn, delivery_id)?.map(Delivery::from);
        audit::record(
            conn,
            p,
            "delivery.retry",
            "delivery",
            delivery_id,
            snapshot(&d),
            after.as_ref().and_then(snapshot),
        )?;
        Ok(after)
    })?;
    ctx.outbox.notify_one();
    tracing::info!(delivery_id, "failed delivery queued again");
    d.ok_or_else(|| AppError::NotFound(format!("投递记录 {delivery_id} 不存在")))
}
