//! The admin API's routes: the health check and the dashboard's files without a token,
//! everything under `/api/v1/` with one.

use std::sync::Arc;

use axum::extract::{DefaultBodyLimit, Path, Query, Request, State};
use axum::http::{header, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get, post, put, MethodRouter};
use axum::{Json, Router};
use darkstar_protocol::DisconnectReason;
use serde::Deserialize;
use serde_json::json;

use super::assets;
use super::error::ApiError;
use super::status::{self, PlacementStatus, SessionsList, Status};
use super::token::AdminToken;
use super::view::View;

/// Largest request body taken (account changes are tiny).
const MAX_BODY: usize = 16 * 1024;
/// Most sessions one listing returns.
pub(crate) const MAX_SESSIONS_LISTED: usize = 10_000;

/// What every handler shares.
pub(crate) struct Admin {
    pub view: View,
    pub token: AdminToken,
}

type Shared = State<Arc<Admin>>;

/// One route of the listener.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Route {
    pub method: &'static str,
    /// Its path; `{name}` stands for a path segment.
    pub path: &'static str,
    /// Whether it needs the admin token.
    pub token: bool,
}

const fn open(method: &'static str, path: &'static str) -> Route {
    Route {
        method,
        path,
        token: false,
    }
}

const fn guarded(method: &'static str, path: &'static str) -> Route {
    Route {
        method,
        path,
        token: true,
    }
}

/// Every route, in the order the book's admin API chapter lists them (a test compares the
/// chapter's table with this one).
pub(crate) const ROUTES: &[Route] = &[
    open("GET", "/health"),
    open("GET", "/"),
    open("GET", "/dashboard.js"),
    open("GET", "/dashboard.css"),
    guarded("GET", "/api/v1/status"),
    guarded("GET", "/api/v1/placement"),
    guarded("GET", "/api/v1/sessions"),
    guarded("POST", "/api/v1/sessions/{id}/kick"),
    guarded("POST", "/api/v1/accounts"),
    guarded("GET", "/api/v1/accounts/{name}"),
    guarded("PUT", "/api/v1/accounts/{name}/password"),
    guarded("GET", "/api/v1/cluster/nodes"),
    guarded("POST", "/api/v1/cluster/nodes/{name}/drain"),
    guarded("DELETE", "/api/v1/cluster/nodes/{name}/drain"),
];

/// Where the routes that need the token live.
const API: &str = "/api/v1";

/// The handler of `route`.
fn handler(route: &Route) -> MethodRouter<Arc<Admin>> {
    match (
        route.method,
        route.path.strip_prefix(API).unwrap_or(route.path),
    ) {
        ("GET", "/health") => get(health),
        ("GET", "/") => get(|| async { page(assets::INDEX_HTML, "text/html; charset=utf-8") }),
        ("GET", "/dashboard.js") => {
            get(|| async { page(assets::DASHBOARD_JS, "text/javascript; charset=utf-8") })
        }
        ("GET", "/dashboard.css") => {
            get(|| async { page(assets::DASHBOARD_CSS, "text/css; charset=utf-8") })
        }
        ("GET", "/status") => get(status),
        ("GET", "/placement") => get(placement),
        ("GET", "/sessions") => get(sessions),
        ("POST", "/sessions/{id}/kick") => post(kick),
        ("POST", "/accounts") => post(create_account),
        ("GET", "/accounts/{name}") => get(account),
        ("PUT", "/accounts/{name}/password") => put(set_password),
        ("GET", "/cluster/nodes") => get(nodes),
        ("POST", "/cluster/nodes/{name}/drain") => post(drain),
        ("DELETE", "/cluster/nodes/{name}/drain") => delete(undrain),
        (method, path) => unreachable!("no handler for {method} {path}"),
    }
}

/// Every route of [`ROUTES`].
pub(crate) fn router(admin: Arc<Admin>) -> Router {
    let mut api = Router::new();
    let mut public = Router::new();
    for route in ROUTES {
        // Token or not is decided by where a route lives, so the two cannot disagree.
        assert_eq!(route.token, route.path.starts_with(API), "{route:?}");
        match route.path.strip_prefix(API) {
            Some(path) => api = api.route(path, handler(route)),
            None => public = public.route(route.path, handler(route)),
        }
    }
    let api = api
        .fallback(|| async { ApiError::not_found("no such admin API path") })
        // `layer`, not `route_layer`: unknown paths need the token too.
        .layer(middleware::from_fn_with_state(admin.clone(), authorize));
    public
        .nest(API, api)
        .layer(DefaultBodyLimit::max(MAX_BODY))
        .with_state(admin)
}

fn page(body: &'static str, content_type: &'static str) -> Response {
    (
        [
            (header::CONTENT_TYPE, content_type),
            (header::CACHE_CONTROL, "no-cache"),
            // The page talks only to this server, and nothing may frame it.
            (
                header::CONTENT_SECURITY_POLICY,
                "default-src 'self'; frame-ancestors 'none'",
            ),
        ],
        body,
    )
        .into_response()
}

async fn authorize(State(admin): Shared, request: Request, next: Next) -> Response {
    let given = request
        .headers()
        .get(header::AUTHORIZATION)
        .map(|v| v.as_bytes());
    if !admin.token.admits(given) {
        return ApiError::new(
            StatusCode::UNAUTHORIZED,
            "this needs the admin token: send the header \"Authorization: Bearer <token>\"",
        )
        .into_response();
    }
    next.run(request).await
}

async fn health(State(admin): Shared) -> Response {
    if admin.view.shared.stopping() {
        return (
            StatusCode::SERVICE_UNAVAILABLE,
            Json(json!({ "status": "stopping" })),
        )
            .into_response();
    }
    Json(json!({ "status": "ok" })).into_response()
}

async fn draining(admin: &Admin) -> Result<Vec<String>, ApiError> {
    match &admin.view.cluster {
        Some(c) => c
            .draining()
            .await
            .map_err(|e| ApiError::new(StatusCode::BAD_GATEWAY, e.to_string())),
        None => Ok(Vec::new()),
    }
}

async fn status(State(admin): Shared) -> Json<Status> {
    // The local figures matter most when the cluster's services struggle: an etcd that
    // does not answer within a moment leaves only the drains unknown.
    let draining = tokio::time::timeout(ETCD_PATIENCE, draining(&admin))
        .await
        .ok()
        .and_then(Result::ok)
        .unwrap_or_default();
    Json(Status::read(&admin.view, &draining))
}

/// How long `/status` waits for etcd's list of drained nodes.
const ETCD_PATIENCE: std::time::Duration = std::time::Duration::from_secs(2);

async fn placement(State(admin): Shared) -> Json<PlacementStatus> {
    Json(PlacementStatus::read(&admin.view))
}

#[derive(Deserialize)]
struct Page {
    offset: Option<usize>,
    limit: Option<usize>,
}

async fn sessions(State(admin): Shared, Query(page): Query<Page>) -> Json<SessionsList> {
    let limit = page.limit.unwrap_or(100).min(MAX_SESSIONS_LISTED);
    Json(SessionsList::read(
        &admin.view,
        page.offset.unwrap_or(0),
        limit,
    ))
}

fn session_id(text: &str) -> Result<u64, ApiError> {
    text.parse()
        .map_err(|_| ApiError::bad_request(format!("{text:?} is not a session id")))
}

async fn kick(State(admin): Shared, Path(id): Path<String>) -> Result<Response, ApiError> {
    let id = session_id(&id)?;
    let shared = &admin.view.shared;
    let Some(link) = shared.sessions.get(id) else {
        return Err(ApiError::not_found(format!(
            "this server holds no session {id}"
        )));
    };
    tracing::info!(session = id, identity = %link.identity, "an operator ended a session");
    shared.end_link(
        &link,
        DisconnectReason::Kicked,
        "an operator ended the session",
        true,
    );
    Ok(Json(json!({ "kicked": id.to_string(), "identity": link.identity })).into_response())
}

fn operator(admin: &Admin) -> Result<&crate::cluster::Operator, ApiError> {
    admin.view.cluster.as_ref().ok_or_else(|| {
        ApiError::new(
            StatusCode::CONFLICT,
            "this server is not a cluster node (cluster_etcd and cluster_postgres are unset)",
        )
    })
}

async fn nodes(State(admin): Shared) -> Result<Response, ApiError> {
    let operator = operator(&admin)?;
    let draining = draining(&admin).await?;
    let nodes = status::nodes(&admin.view, &operator.node, &draining);
    Ok(Json(json!({ "nodes": nodes, "draining": draining })).into_response())
}

async fn change_drain(admin: &Admin, name: &str, on: bool) -> Result<Response, ApiError> {
    let operator = operator(admin)?;
    let known = status::nodes(&admin.view, &operator.node, &[]);
    if on && !known.iter().any(|n| n.name == name) {
        return Err(ApiError::not_found(format!(
            "the placement table names no node {name:?}"
        )));
    }
    operator
        .set_draining(name, on)
        .await
        .map_err(|e| ApiError::new(StatusCode::BAD_GATEWAY, e.to_string()))?;
    tracing::info!(
        node = name,
        draining = on,
        "an operator changed a node's drain"
    );
    Ok((
        StatusCode::ACCEPTED,
        Json(json!({ "node": name, "draining": on })),
    )
        .into_response())
}

async fn drain(State(admin): Shared, Path(name): Path<String>) -> Result<Response, ApiError> {
    change_drain(&admin, &name, true).await
}

async fn undrain(State(admin): Shared, Path(name): Path<String>) -> Result<Response, ApiError> {
    change_drain(&admin, &name, false).await
}

#[derive(Deserialize)]
struct NewAccount {
    name: String,
    password: String,
}

#[derive(Deserialize)]
struct NewPassword {
    password: String,
}

/// Hashing a password takes tens of milliseconds: off the listener's thread.
async fn hashing<T: Send + 'static>(
    work: impl FnOnce() -> Result<T, crate::net::AccountError> + Send + 'static,
) -> Result<T, ApiError> {
    use crate::net::AccountError;
    tokio::task::spawn_blocking(work)
        .await
        .map_err(|_| ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, "the hashing failed"))?
        .map_err(|e| {
            let status = match &e {
                AccountError::Exists(_) => StatusCode::CONFLICT,
                AccountError::Missing(_) => StatusCode::NOT_FOUND,
                AccountError::Hash(_) | AccountError::Store(_) => StatusCode::INTERNAL_SERVER_ERROR,
                _ => StatusCode::BAD_REQUEST,
            };
            ApiError::new(status, e.to_string())
        })
}

async fn create_account(
    State(admin): Shared,
    Json(new): Json<NewAccount>,
) -> Result<Response, ApiError> {
    let accounts = admin.view.accounts.clone();
    let name = new.name.clone();
    hashing(move || accounts.create(&new.name, &new.password)).await?;
    tracing::info!(account = %name, "an operator created an account");
    Ok((StatusCode::CREATED, Json(json!({ "created": name }))).into_response())
}

async fn set_password(
    State(admin): Shared,
    Path(name): Path<String>,
    Json(new): Json<NewPassword>,
) -> Result<Response, ApiError> {
    let accounts = admin.view.accounts.clone();
    let named = name.clone();
    hashing(move || accounts.set_password(&named, &new.password)).await?;
    tracing::info!(account = %name, "an operator changed an account's password");
    Ok(Json(json!({ "changed": name })).into_response())
}

async fn account(State(admin): Shared, Path(name): Path<String>) -> Json<serde_json::Value> {
    let exists = admin.view.accounts.exists(&name);
    Json(json!({ "name": name, "exists": exists }))
}

#[cfg(test)]
mod tests {
    use super::ROUTES;

    /// The rows of the chapter's route table: method, path, and whether a token is needed.
    fn chapter_routes() -> Vec<(String, String, bool)> {
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../book/src/admin-api.md");
        let chapter = std::fs::read_to_string(path).expect("the admin API chapter");
        let table = chapter
            .split("## Routes")
            .nth(1)
            .expect("a ## Routes section")
            .lines()
            .skip_while(|l| !l.starts_with('|'))
            .take_while(|l| l.starts_with('|'))
            .skip(2)
            .map(|row| {
                let cells: Vec<&str> = row.split('|').map(str::trim).collect();
                let path = cells[2].trim_matches('`').to_owned();
                (cells[1].to_owned(), path, cells[3] == "yes")
            })
            .collect();
        table
    }

    #[test]
    fn the_book_lists_every_route_as_the_code_serves_it() {
        let code: Vec<(String, String, bool)> = ROUTES
            .iter()
            .map(|r| (r.method.to_owned(), r.path.to_owned(), r.token))
            .collect();
        assert_eq!(
            chapter_routes(),
            code,
            "book/src/admin-api.md's table under ## Routes must list ROUTES of \
             darkstar-runtime/src/admin/routes.rs, in order"
        );
    }
}
