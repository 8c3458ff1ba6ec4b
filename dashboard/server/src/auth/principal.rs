//! Who is asking. The auth layer (`super::layer`) resolves the caller once
//! per request and leaves a [`Principal`] in the request's extensions; the
//! extractors here hand it to handlers, so a handler that reads data takes
//! one of them and cannot compile without saying who may call it:
//!
//! | extractor | who |
//! | --- | --- |
//! | [`Principal`] | anyone signed in, wall-screen kiosks included (the wall and its push) |
//! | [`Person`] | a signed-in person, not a kiosk |
//! | [`Operator`] | a signed-in operator |

use std::sync::Arc;

use axum::{extract::FromRequestParts, http::request::Parts};
use pmoc_schemas::auth::RoleKind;

use super::{
    refusal::{Reason, Refusal},
    scope::Access,
};

/// How the caller proved who they are.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Via {
    /// A session cookie; `csrf` is the token its state-changing requests carry.
    Session { id: String, csrf: String },
    /// A wall screen's kiosk token (display only).
    Kiosk { id: String },
    /// A reverse proxy's signed identity header (signed per request).
    Proxy,
}

/// The signed-in caller.
#[derive(Debug, Clone)]
pub struct Principal {
    pub user: String,
    pub access: Arc<Access>,
    pub via: Via,
}

impl Principal {
    pub fn is_kiosk(&self) -> bool {
        matches!(self.via, Via::Kiosk { .. })
    }

    /// The CSRF token of a session (empty for kiosks and the proxy).
    pub fn csrf(&self) -> &str {
        match &self.via {
            Via::Session { csrf, .. } => csrf,
            _ => "",
        }
    }
}

impl<S: Send + Sync> FromRequestParts<S> for Principal {
    type Rejection = Refusal;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        parts
            .extensions
            .get::<Principal>()
            .cloned()
            .ok_or_else(|| Refusal::new(Reason::NoSession))
    }
}

/// A signed-in person: kiosks are refused.
#[derive(Debug, Clone)]
pub struct Person(pub Principal);

impl<S: Send + Sync> FromRequestParts<S> for Person {
    type Rejection = Refusal;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let principal = Principal::from_request_parts(parts, state).await?;
        if principal.is_kiosk() {
            return Err(Refusal::new(Reason::KioskDisplayOnly));
        }
        Ok(Self(principal))
    }
}

/// A signed-in operator.
#[derive(Debug, Clone)]
pub struct Operator(pub Principal);

impl<S: Send + Sync> FromRequestParts<S> for Operator {
    type Rejection = Refusal;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let Person(principal) = Person::from_request_parts(parts, state).await?;
        if principal.access.kind != RoleKind::Operator {
            return Err(Refusal::new(Reason::NotOperator));
        }
        Ok(Self(principal))
    }
}
