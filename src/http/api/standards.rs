//! `GET /api/standards`, `GET /api/standards/{id}` (read-only checklists).

use actix_web::{HttpResponse, web};
use serde::Deserialize;
use serde_json::json;

use crate::app::Ctx;
use crate::error::{AppError, FieldErrors};
use crate::http::auth::Auth;

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/standards", web::get().to(list))
        .route("/standards/{id}", web::get().to(get));
}

async fn list(ctx: web::Data<Ctx>, _auth: Auth) -> HttpResponse {
    let items: Vec<_> = ctx
        .standards
        .latest_all()
        .into_iter()
        .map(|s| {
            json!({
                "id": s.id, "version": s.version, "versions": ctx.standards.versions(&s.id),
                "title_zh": s.title_zh, "title_en": s.title_en, "source": s.source,
                "item_count": s.items.len(),
            })
        })
        .collect();
    HttpResponse::Ok().json(json!({ "items": items }))
}

#[derive(Deserialize)]
struct VersionQuery {
    version: Option<String>,
}

/// The newest version, or `?version=N`.
async fn get(
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
    Ok(HttpResponse::Ok().json(json!({
        "id": standard.id, "version": standard.version, "versions": ctx.standards.versions(&standard.id),
        "title_zh": standard.title_zh, "title_en": standard.title_en, "source": standard.source,
        "items": standard.items,
    })))
}
