//! `GET /expiringCertificates?withinDays=N`: the certificates that expire within N days
//! (default 30), soonest first, each with the gateway hostnames configured to serve it, so
//! operators see what a renewal must reach. The instances view shows which certificate each
//! running instance actually serves.

use super::routes::Distributor;
use crate::api::{check_admin, ApiError};
use crate::declarative::document_of;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use axum::response::{IntoResponse, Response};
use axum::Json;
use http::HeaderMap;
use serde::Deserialize;
use serde_json::{json, Value};
use std::time::{SystemTime, UNIX_EPOCH};

const DEFAULT_DAYS: u32 = 30;
/// Ten years: anything further out is not "expiring".
const MAX_DAYS: u32 = 3650;
const DAY: i64 = 86_400;

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ExpiryQuery {
    within_days: Option<u32>,
}

/// The answer (described for `GET /openapi.json`; built as JSON below).
#[derive(Debug, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
#[allow(dead_code)]
pub struct ExpiringCertificates {
    within_days: u32,
    value: Vec<ExpiringCertificate>,
}

#[derive(Debug, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
#[allow(dead_code)]
struct ExpiringCertificate {
    id: String,
    subject: String,
    thumbprint: String,
    expiration_date: String,
    /// Negative once expired.
    days_remaining: i64,
    served_by: Vec<ServedBy>,
}

#[derive(Debug, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
#[allow(dead_code)]
struct ServedBy {
    gateway_id: String,
    hostname: String,
}

pub async fn expiring(
    State(state): State<Distributor>,
    query: Result<Query<ExpiryQuery>, QueryRejection>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    check_admin(&state.api.admin_token, &headers)?;
    let Query(query) = query.map_err(|e| ApiError::bad_request(e.body_text()))?;
    let days = query.within_days.unwrap_or(DEFAULT_DAYS);
    if days > MAX_DAYS {
        return Err(ApiError::bad_request(format!(
            "withinDays may be at most {MAX_DAYS}"
        )));
    }
    let (_, resources) = state.api.store.all().await?;
    let document = document_of(&resources).map_err(|e| ApiError::bad_request(e.to_string()))?;
    let now = i64::try_from(
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap_or_default()
            .as_secs(),
    )
    .unwrap_or(i64::MAX);
    let horizon = now.saturating_add(i64::from(days) * DAY);
    let mut value: Vec<(i64, Value)> = document
        .certificates
        .iter()
        .filter_map(|cert| {
            let info = cert.parse().ok()?.info;
            let expires = info.not_after_unix();
            (expires <= horizon).then(|| {
                let served_by: Vec<Value> = document
                    .gateways
                    .iter()
                    .flat_map(|g| {
                        g.hostname_configurations
                            .iter()
                            .filter(|h| {
                                h.certificate_id
                                    .as_deref()
                                    .is_some_and(|id| id.eq_ignore_ascii_case(&cert.id))
                            })
                            .map(|h| json!({"gatewayId": g.id, "hostname": h.hostname}))
                    })
                    .collect();
                let entry = json!({
                    "id": cert.id,
                    "subject": info.subject,
                    "thumbprint": info.thumbprint,
                    "expirationDate": info.expiration_date,
                    "daysRemaining": (expires - now).div_euclid(DAY),
                    "servedBy": served_by,
                });
                (expires, entry)
            })
        })
        .collect();
    value.sort_by_key(|(expires, _)| *expires);
    let value: Vec<Value> = value.into_iter().map(|(_, v)| v).collect();
    Ok(Json(json!({ "withinDays": days, "value": value })).into_response())
}
