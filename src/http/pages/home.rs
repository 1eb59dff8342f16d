//! The inspector's home on the phone (instead of the management
//! dashboard): search, stations due for a visit, open guidance, and the
//! visits waiting on the phone.

use minijinja::context;

use super::{PageResult, Viewer, render, val};
use crate::app::{Ctx, field_home};

pub async fn inspector_home(ctx: &Ctx, v: &Viewer) -> PageResult {
    let p = v.p.clone();
    let home = ctx
        .run(move |conn, ctx| field_home::inspector_home(conn, ctx, &p))
        .await?;
    render(
        "inspector_home.html",
        Some(v),
        "我的检查",
        None,
        context! {
            home => val(&home),
            item_titles => ctx.standards.item_titles(),
        },
    )
}
