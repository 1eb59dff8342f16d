//! Editing one account (用户管理 → 编辑): name, email, role and units (by
//! checkbox), and a new password made by the service and shown once.

use std::collections::HashMap;

use actix_web::http::{StatusCode, header};
use actix_web::web;
use minijinja::context;

use super::{PageResult, Viewer, redirect, render_status, val};
use crate::app::{Ctx, users};
use crate::auth::Role;
use crate::error::{AppError, FieldErrors};

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/users/{id}", web::get().to(edit_page))
        .route("/users/{id}", web::post().to(save))
        .route("/users/{id}/password", web::post().to(reset_password));
}

/// The edit form, with what was sent (`form`, `units`) after an error.
async fn edit_view(
    ctx: &Ctx,
    v: &Viewer,
    id: i32,
    status: StatusCode,
    sent: Option<(HashMap<String, String>, Vec<i32>)>,
    err: Option<FieldErrors>,
) -> PageResult {
    let p = v.p.clone();
    let (user, units) = ctx
        .run(move |conn, _| Ok::<_, AppError>((users::get(conn, &p, id)?, crate::app::units::list(conn)?)))
        .await?;
    let (form, chosen) = sent.unwrap_or_else(|| {
        let form = HashMap::from([
            ("display_name".to_owned(), user.user.display_name.clone()),
            ("email".to_owned(), user.user.email.clone().unwrap_or_default()),
            ("role".to_owned(), user.user.role.as_str().to_owned()),
        ]);
        (form, user.units.clone())
    });
    let role_list: Vec<(&str, &str)> = Role::ALL.iter().map(|r| (r.as_str(), r.label_zh())).collect();
    let own = v.p.user_id == Some(id);
    render_status(
        status,
        "user_edit.html",
        Some(v),
        "编辑用户",
        None,
        context! {
            u => val(&user.user), form, chosen, units => val(&units), role_list, own,
            errors => val(err.clone().unwrap_or_default()),
            message => err.map(|_| "请修改标红的项目后再提交。"),
        },
    )
}

async fn edit_page(ctx: web::Data<Ctx>, v: Viewer, path: web::Path<String>) -> PageResult {
    let id = crate::http::api::id(&path, "用户")?;
    edit_view(&ctx, &v, id, StatusCode::OK, None, None).await
}

async fn save(ctx: web::Data<Ctx>, v: Viewer, path: web::Path<String>, super::Body(body): super::Body) -> PageResult {
    let id = crate::http::api::id(&path, "用户")?;
    let pairs = super::parse_pairs(&body)?;
    let f = super::form_map(&pairs);
    v.check_csrf(f.get("csrf_token").map(String::as_str))?;
    let mut errors = FieldErrors::new();
    let mut units = Vec::new();
    for (_, u) in pairs.iter().filter(|(k, _)| k == "units") {
        match u.parse::<i32>() {
            Ok(n) => units.push(n),
            Err(_) => errors.add("units", "单位选择有误"),
        }
    }
    if !errors.0.is_empty() {
        return edit_view(
            &ctx,
            &v,
            id,
            StatusCode::UNPROCESSABLE_ENTITY,
            Some((f, units)),
            Some(errors),
        )
        .await;
    }
    let own = v.p.user_id == Some(id);
    let input = users::UserInput {
        display_name: f.get("display_name").cloned(),
        // A blank email clears it (a county lead's is refused as required).
        email: f.get("email").cloned(),
        role: if own { None } else { f.get("role").cloned() },
        units: if own { None } else { Some(units.clone()) },
        ..users::UserInput::default()
    };
    let p = v.p.clone();
    match ctx.run(move |conn, _| users::update(conn, &p, id, input)).await {
        Ok(_) => Ok(redirect("/users?ok=user_saved")),
        Err(AppError::Validation(errors)) => {
            edit_view(
                &ctx,
                &v,
                id,
                StatusCode::UNPROCESSABLE_ENTITY,
                Some((f, units)),
                Some(errors),
            )
            .await
        }
        Err(e) => Err(e.into()),
    }
}

/// A new password, shown on this answer only (never cached).
async fn reset_password(
    ctx: web::Data<Ctx>,
    v: Viewer,
    path: web::Path<String>,
    super::Body(body): super::Body,
) -> PageResult {
    let id = crate::http::api::id(&path, "用户")?;
    let f = super::parse_form(&body)?;
    v.check_csrf(f.get("csrf_token").map(String::as_str))?;
    let p = v.p.clone();
    let (new, user) = ctx
        .run(move |conn, _| {
            let new = users::reset_password(conn, &p, id)?;
            Ok::<_, AppError>((new, users::get(conn, &p, id)?))
        })
        .await?;
    let mut page = render_status(
        StatusCode::OK,
        "user_password.html",
        Some(&v),
        "新密码",
        None,
        context! { u => val(&user.user), password => new.password },
    )?;
    page.headers_mut()
        .insert(header::CACHE_CONTROL, header::HeaderValue::from_static("no-store"));
    Ok(page)
}
