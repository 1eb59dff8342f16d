//! `GET /api/standards`, `GET /api/standards/{id}` (read-only checklists).

use actix_web::{HttpResponse, web};
use serde::{Deserialize, Serialize};

use crate::app::Ctx;
use crate::error::{AppError, FieldErrors};
use crate::http::auth::Auth;
use crate::standard::{Item, Standard};

handlers! {
    list_standards,
    get_standard,
}

/// What identifies a checklist standard.
#[derive(Serialize, utoipa::ToSchema)]
pub(super) struct StandardHead<'a> {
    id: &'a str,
    version: i32,
    /// Every version of this standard, oldest first.
    versions: Vec<i32>,
    title_zh: &'a str,
    title_en: &'a str,
    source: &'a str,
}

impl<'a> StandardHead<'a> {
    fn of(ctx: &Ctx, s: &'a Standard) -> Self {
        StandardHead {
            id: &s.id,
            version: s.version,
            versions: ctx.standards.versions(&s.id),
            title_zh: &s.title_zh,
            title_en: &s.title_en,
            source: &s.source,
        }
    }
}

/// A checklist standard without its items.
#[derive(Serialize, utoipa::ToSchema)]
pub(super) struct StandardSummary<'a> {
    #[serde(flatten)]
    head: StandardHead<'a>,
    item_count: usize,
}

/// A checklist standard with its items.
#[derive(Serialize, utoipa::ToSchema)]
pub(super) struct StandardView<'a> {
    #[serde(flatten)]
    head: StandardHead<'a>,
    items: &'a [Item],
}

/// The checklist standards (八个一 versions), newest version of each.
#[utoipa::path(get, path = "/api/standards", tag = "standards",
    responses((status = 200, description = "检查标准", body = super::Items<StandardSummary>)))]
pub(super) async fn list_standards(ctx: web::Data<Ctx>, _auth: Auth) -> HttpResponse {
    let items: Vec<_> = ctx
        .standards
        .latest_all()
        .into_iter()
        .map(|s| StandardSummary {
            head: StandardHead::of(&ctx, s),
            item_count: s.items.len(),
        })
        .collect();
    HttpResponse::Ok().json(super::Items { items })
}

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub(super) struct VersionQuery {
    /// A version number; the newest when left out.
    #[param(value_type = Option<i32>)]
    version: Option<String>,
}

/// The newest version, or `?version=N`.
#[utoipa::path(get, path = "/api/standards/{id}", tag = "standards",
    params(("id" = String, Path, description = "标准编号，如 baxiangyi-common"), VersionQuery),
    responses((status = 200, description = "检查标准", body = StandardView)))]
pub(super) async fn get_standard(
    ctx: web::Data<Ctx>,
    _auth: Auth,
    path: web::Path<String>,
    query: web::Query<VersionQuery>,
) -> Result<HttpResponse, AppError> {
    let id = path.into_inner();
    let standard = match query.version.as_deref() {
        None => ctx.standards.latest(&id),
        Some(v) => {
            let v = v
                .parse::<i32>()
                .map_err(|_| FieldErrors::single("version", "版本号应为整数"))?;
            ctx.standards.get(&id, v)
        }
    }
    .ok_or_else(|| AppError::NotFound(format!("检查标准 {id} 不存在")))?;
    Ok(HttpResponse::Ok().json(StandardView {
        head: StandardHead::of(&ctx, standard),
        items: &standard.items,
    }))
}
