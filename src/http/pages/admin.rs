//! Administration pages: users.

use std::collections::HashMap;

use actix_web::http::StatusCode;
use actix_web::web;
use minijinja::{Value, context};

use super::{PageResult, Viewer, flash_for, redirect, render, render_status, val};
use crate::app::{Ctx, users};
use crate::auth::Role;

use crate::error::{AppError, FieldErrors};

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/users", web::get().to(users_page))
        .route("/users", web::post().to(create_user))
        .route("/users/{id}/active", web::post().to(set_active));
    super::user_edit::routes(cfg);
}

async fn users_view(
    ctx: &Ctx,
    v: &Viewer,
    status: StatusCode,
    flash: Option<&str>,
    form: HashMap<String, String>,
    err: Option<FieldErrors>,
) -> PageResult {
    let p = v.p.clone();
    let (list, units, stations) = ctx
        .run(move |conn, _| {
            let list = users::list(conn, &p)?;
            let bound: Vec<i32> = list.iter().filter_map(|u| u.station_id).collect();
            let stations = crate::app::disputes::station_names(conn, &bound)?;
            Ok((list, crate::app::units::list(conn)?, stations))
        })
        .await?;
    let station_names: HashMap<String, String> = stations.into_iter().map(|(id, n)| (id.to_string(), n)).collect();
    let unit_names: HashMap<String, String> = units.iter().map(|u| (u.id.to_string(), u.name.clone())).collect();
    let roles: HashMap<&str, &str> = Role::ALL.iter().map(|r| (r.as_str(), r.label_zh())).collect();
    let role_list: Vec<(&str, &str)> = Role::ALL.iter().map(|r| (r.as_str(), r.label_zh())).collect();
    let users_flat: Vec<Value> = list
        .iter()
        .map(|u| {
            let station = u.station_id.and_then(|s| station_names.get(&s.to_string()).cloned());
            context! { units => u.units.clone(), can_sign_in => u.can_sign_in, station, ..val(&u.user) }
        })
        .collect();
    let message = err.as_ref().map(|_| "请修改标红的项目后再提交。");
    let chosen: Vec<i32> = form
        .get("units")
        .map(|u| u.split(',').filter_map(|x| x.parse().ok()).collect())
        .unwrap_or_default();
    let mut form = form;
    for key in ["username", "display_name", "email", "station_id"] {
        form.entry(key.to_owned()).or_default();
    }
    form.entry("role".to_owned())
        .or_insert_with(|| Role::Inspector.as_str().to_owned());
    render_status(
        status,
        "users.html",
        Some(v),
        "用户管理",
        flash,
        context! {
            users => users_flat, units => val(&units), unit_names, roles, role_list,
            form, chosen, errors => val(err.unwrap_or_default()), message,
        },
    )
}

async fn users_page(ctx: web::Data<Ctx>, v: Viewer, query: web::Query<HashMap<String, String>>) -> PageResult {
    users_view(&ctx, &v, StatusCode::OK, flash_for(&query), HashMap::new(), None).await
}

async fn create_user(ctx: web::Data<Ctx>, v: Viewer, super::Body(body): super::Body) -> PageResult {
    let pairs = super::parse_pairs(&body)?;
    let f = super::form_map(&pairs);
    v.check_csrf(f.get("csrf_token").map(String::as_str))?;
    let units: Vec<i32> = pairs
        .iter()
        .filter(|(k, _)| k == "units")
        .filter_map(|(_, u)| u.parse().ok())
        .collect();
    let nonempty = |k: &str| f.get(k).cloned().filter(|s| !s.trim().is_empty());
    let input = users::UserInput {
        username: nonempty("username"),
        display_name: nonempty("display_name"),
        email: nonempty("email"),
        role: nonempty("role"),
        units: Some(units),
        password: nonempty("password"),
        active: Some(true),
        station_id: nonempty("station_id").map(|s| s.trim().parse().unwrap_or(0)),
    };
    let p = v.p.clone();
    match ctx.run(move |conn, _| users::create(conn, &p, input)).await {
        Ok(_) => Ok(redirect("/users?ok=user")),
        Err(AppError::Validation(errors)) => {
            let mut form = f.clone();
            form.remove("password");
            // The boxes ticked stay ticked.
            let ticked: Vec<String> = pairs
                .iter()
                .filter(|(k, _)| k == "units")
                .map(|(_, u)| u.clone())
                .collect();
            form.insert("units".to_owned(), ticked.join(","));
            users_view(&ctx, &v, StatusCode::UNPROCESSABLE_ENTITY, None, form, Some(errors)).await
        }
        Err(e) => Err(e.into()),
    }
}

/// Disables or enables an account (the same use case as `PATCH
/// /api/users/{id}`), after a page that asks first: the form on the list
/// leads there, its button sends `confirmed=yes`.
async fn set_active(
    ctx: web::Data<Ctx>,
    v: Viewer,
    path: web::Path<String>,
    super::Body(body): super::Body,
) -> PageResult {
    let f = super::parse_form(&body)?;
    v.check_csrf(f.get("csrf_token").map(String::as_str))?;
    let id = crate::http::api::id(&path, "用户")?;
    let active = f.get("active").map(String::as_str) == Some("true");
    let p = v.p.clone();
    if f.get("confirmed").map(String::as_str) != Some("yes") {
        let u = ctx.run(move |conn, _| users::get(conn, &p, id)).await?;
        return render(
            "user_confirm.html",
            Some(&v),
            if active { "启用账号" } else { "停用账号" },
            None,
            context! { u => val(&u.user), active },
        );
    }
    let input = users::UserInput {
        active: Some(active),
        ..users::UserInput::default()
    };
    ctx.run(move |conn, _| users::update(conn, &p, id, input)).await?;
    Ok(redirect(if active {
        "/users?ok=user_enabled"
    } else {
        "/users?ok=user_disabled"
    }))
}
