//! The OpenAPI 3 document of the JSON API, generated from the handlers'
//! `#[utoipa::path]` annotations and the types they read and write, served
//! at `/api/openapi.json` with Swagger UI at `/api/docs/` (assets built into
//! the binary).

use utoipa::openapi::security::{ApiKey, ApiKeyValue, HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::openapi::{RefOr, ResponseBuilder, content::ContentBuilder};
use utoipa::{Modify, OpenApi};
use utoipa_swagger_ui::SwaggerUi;

use crate::http::error::{ErrorBody, ErrorDetail};

#[derive(OpenApi)]
#[openapi(
    info(
        title = "bayige",
        description = "12315 消费维权服务站“八个一”建设检查与通报服务的 JSON API。\n\n\
            Authenticate with `Authorization: Bearer <API token>` (`bayige token create`, \
            `POST /api/tokens`) or with the session cookie from `POST /login`; with the cookie, \
            every POST/PUT/PATCH/DELETE must carry the session's `X-CSRF-Token`. \
            Errors are JSON (`ErrorBody`); a 422 names each failing field.",
    ),
    components(schemas(
        ErrorBody, ErrorDetail, crate::domain::Category, crate::domain::StationStatus, crate::domain::UnitKind,
        crate::domain::VisitKind, crate::domain::ItemResult, crate::domain::progress::Basis,
        crate::domain::dispute::Channel, crate::domain::dispute::DisputeStatus,
    )),
    security(("bearer" = []), ("session" = [])),
)]
struct ApiDoc;

/// The document: what `ApiDoc` states for the whole API, the paths and
/// schemas collected from the handlers, and the shared conventions.
pub fn document() -> utoipa::openapi::OpenApi {
    let mut api = ApiDoc::openapi();
    let collected = super::collected();
    api.paths.merge(collected.paths);
    if let Some(found) = collected.components {
        api.components
            .get_or_insert_with(Default::default)
            .schemas
            .extend(found.schemas);
    }
    Conventions.modify(&mut api);
    api
}

/// What every operation shares: the two ways to authenticate, and the
/// error answers (4XX with the error body; 503 when the database is
/// unreachable).
struct Conventions;

impl Modify for Conventions {
    fn modify(&self, api: &mut utoipa::openapi::OpenApi) {
        let components = api.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()),
        );
        components.add_security_scheme(
            "session",
            SecurityScheme::ApiKey(ApiKey::Cookie(ApiKeyValue::new(crate::http::auth::SESSION_COOKIE))),
        );
        let error = |description: &str| {
            RefOr::T(
                ResponseBuilder::new()
                    .description(description)
                    .content(
                        "application/json",
                        ContentBuilder::new()
                            .schema(Some(RefOr::Ref(utoipa::openapi::Ref::from_schema_name("ErrorBody"))))
                            .build(),
                    )
                    .build(),
            )
        };
        for item in api.paths.paths.values_mut() {
            for op in [
                &mut item.get,
                &mut item.post,
                &mut item.put,
                &mut item.patch,
                &mut item.delete,
            ]
            .into_iter()
            .flatten()
            {
                let responses = &mut op.responses.responses;
                responses
                    .entry("4XX".into())
                    .or_insert_with(|| error("请求被拒绝：见 error.code 与 error.message"));
                responses
                    .entry("503".into())
                    .or_insert_with(|| error("数据库暂时不可用，可稍后重试"));
            }
        }
    }
}

/// Swagger UI at `/api/docs/` and the document at `/api/openapi.json`.
pub fn swagger_ui() -> SwaggerUi {
    SwaggerUi::new("/api/docs/{_:.*}").url("/api/openapi.json", document())
}
