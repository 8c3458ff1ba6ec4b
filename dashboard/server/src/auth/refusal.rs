//! Every refusal goes through [`Refusal`]: one place that logs it, counts it
//! (`pmoc_dashboard_refusals_total{reason}`) and marks the response so the
//! audit layer records why (see `crate::audit`).

use axum::{
    http::StatusCode,
    response::{IntoResponse, Response},
};

/// Why a request was refused; `as_str` is the metric label and the audit's
/// `reason` column.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reason {
    /// No valid session, kiosk token or signed proxy header.
    NoSession,
    /// The Host header names a host this server does not serve (DNS rebinding).
    BadHost,
    /// A state-changing request without the session's CSRF token.
    Csrf,
    /// A kiosk asked for more than the wall.
    KioskDisplayOnly,
    /// Only operators may do this.
    NotOperator,
    /// Executives act on nothing.
    ReadOnly,
    /// A committee or area outside the role's scope.
    OutOfScope,
    /// Incident-level detail above the role's clearance.
    NotCleared,
    /// Wrong user name or password, or an OIDC sign-in that failed.
    BadCredentials,
    /// Too many sign-in attempts from one address.
    RateLimited,
    /// The account is locked after failed sign-ins.
    LockedOut,
    /// A proxy identity header whose signature does not verify.
    BadProxySignature,
}

impl Reason {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::NoSession => "no_session",
            Self::BadHost => "bad_host",
            Self::Csrf => "csrf",
            Self::KioskDisplayOnly => "kiosk_display_only",
            Self::NotOperator => "not_operator",
            Self::ReadOnly => "read_only",
            Self::OutOfScope => "out_of_scope",
            Self::NotCleared => "not_cleared",
            Self::BadCredentials => "bad_credentials",
            Self::RateLimited => "rate_limited",
            Self::LockedOut => "locked_out",
            Self::BadProxySignature => "bad_proxy_signature",
        }
    }

    pub fn status(self) -> StatusCode {
        match self {
            Self::NoSession | Self::BadCredentials | Self::BadProxySignature => {
                StatusCode::UNAUTHORIZED
            }
            Self::BadHost => StatusCode::MISDIRECTED_REQUEST,
            Self::RateLimited | Self::LockedOut => StatusCode::TOO_MANY_REQUESTS,
            Self::Csrf
            | Self::KioskDisplayOnly
            | Self::NotOperator
            | Self::ReadOnly
            | Self::OutOfScope
            | Self::NotCleared => StatusCode::FORBIDDEN,
        }
    }

    fn message(self) -> &'static str {
        match self {
            Self::NoSession => "sign in first",
            Self::BadHost => "this server does not serve that host name",
            Self::Csrf => "missing or wrong CSRF token",
            Self::KioskDisplayOnly => "a wall screen may only display the wall",
            Self::NotOperator => "only operators may do this",
            Self::ReadOnly => "your role may look but not act",
            Self::OutOfScope => "outside your role's scope",
            Self::NotCleared => "incident detail above your clearance",
            Self::BadCredentials => "sign-in failed",
            Self::RateLimited => "too many attempts; wait a minute",
            Self::LockedOut => "account locked after failed sign-ins; try later",
            Self::BadProxySignature => "proxy identity not proven",
        }
    }
}

/// A refused request; its response carries the [`Reason`] as an extension.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Refusal(pub Reason);

impl Refusal {
    /// Logs and counts; the response built from it is audited by the layer.
    pub fn new(reason: Reason) -> Self {
        metrics::counter!("pmoc_dashboard_refusals_total", "reason" => reason.as_str())
            .increment(1);
        tracing::info!(reason = reason.as_str(), "request refused");
        Self(reason)
    }
}

impl From<Reason> for Refusal {
    fn from(reason: Reason) -> Self {
        Self::new(reason)
    }
}

impl IntoResponse for Refusal {
    fn into_response(self) -> Response {
        let mut response = (self.0.status(), self.0.message()).into_response();
        response.extensions_mut().insert(self.0);
        response
    }
}
