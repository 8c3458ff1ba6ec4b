//! Who is asking, from headers the reverse proxy sets after signing the
//! user in (the dashboard does no authentication of its own):
//!
//! - `X-PMOC-User: <name>`: the operator's name, stored with every alert
//!   action. Without it, the action's JSON body must name the actor.
//! - `X-PMOC-Role: operator | executive | liaison:<committee>`: operators
//!   see everything and act on alerts; executives see everything and act on
//!   nothing; a committee's liaison officer sees, and acts on, only that
//!   committee (`liaison:water`). No header means `operator`, for a
//!   dashboard on loopback; a proxy in front must always set it.
//!
//! The restriction is applied to every API result on the server, never in
//! the browser, so a liaison's browser never receives other committees' data.

use axum::http::HeaderMap;
use pmoc_schemas::{
    api::{Alert, CommitteePanel, MapLayer, RejectCount, SourceFreshness, WallSnapshot},
    committee::Committee,
    metric::MetricId,
};

pub const ROLE_HEADER: &str = "x-pmoc-role";
pub const USER_HEADER: &str = "x-pmoc-user";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    Operator,
    Executive,
    Liaison(Committee),
}

/// A role header that names no known role: refused rather than widened.
#[derive(Debug, thiserror::Error)]
#[error("unknown role {0:?}: expected operator, executive or liaison:<committee>")]
pub struct UnknownRole(String);

impl Role {
    pub fn from_headers(headers: &HeaderMap) -> Result<Self, UnknownRole> {
        let Some(value) = headers.get(ROLE_HEADER) else {
            return Ok(Self::Operator);
        };
        let text = value.to_str().unwrap_or_default().trim();
        match text {
            "operator" => Ok(Self::Operator),
            "executive" => Ok(Self::Executive),
            _ => text
                .strip_prefix("liaison:")
                .and_then(Committee::from_name)
                .map(Self::Liaison)
                .ok_or_else(|| UnknownRole(text.to_owned())),
        }
    }

    /// Whether this role may see `committee`.
    pub fn sees(self, committee: Committee) -> bool {
        match self {
            Self::Operator | Self::Executive => true,
            Self::Liaison(c) => c == committee,
        }
    }

    /// Whether this role may see what a snapshot row names by its
    /// committee's wire name; a name of no committee (rejects read from a
    /// topic the settings no longer use) is for operators and executives.
    fn sees_named(self, committee: &str) -> bool {
        Committee::from_name(committee).map_or(!matches!(self, Self::Liaison(_)), |c| self.sees(c))
    }

    /// Whether this role may acknowledge or resolve an alert of `committee`.
    pub fn acts_on(self, committee: Committee) -> bool {
        self != Self::Executive && self.sees(committee)
    }

    /// The committee a page shows when the URL names none.
    pub fn default_committee(self) -> Committee {
        match self {
            Self::Liaison(c) => c,
            _ => Committee::Water,
        }
    }

    /// The snapshot with only what this role may see.
    pub fn restrict(self, snapshot: &WallSnapshot) -> WallSnapshot {
        if !matches!(self, Self::Liaison(_)) {
            return snapshot.clone();
        }
        let metric_seen =
            |m: &str| MetricId::from_name(m).is_some_and(|id| self.sees(id.def().committee));
        WallSnapshot {
            generated_at_ms: snapshot.generated_at_ms,
            panels: filter(&snapshot.panels, |p: &CommitteePanel| {
                self.sees_named(&p.committee)
            }),
            maps: filter(&snapshot.maps, |m: &MapLayer| metric_seen(&m.metric)),
            alerts: filter(&snapshot.alerts, |a: &Alert| self.sees(a.event.committee)),
            freshness: filter(&snapshot.freshness, |f: &SourceFreshness| {
                self.sees_named(&f.committee)
            }),
            rejects: filter(&snapshot.rejects, |r: &RejectCount| {
                self.sees_named(&r.committee)
            }),
            settings: snapshot.settings.clone(),
        }
    }
}

fn filter<T: Clone>(items: &[T], keep: impl Fn(&T) -> bool) -> Vec<T> {
    items.iter().filter(|i| keep(i)).cloned().collect()
}

/// The actor of an alert action: the proxy's header first, then the body.
pub fn actor(headers: &HeaderMap, from_body: Option<&str>) -> Option<String> {
    headers
        .get(USER_HEADER)
        .and_then(|v| v.to_str().ok())
        .or(from_body)
        .map(str::trim)
        .filter(|a| !a.is_empty())
        .map(str::to_owned)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(role: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert(ROLE_HEADER, role.parse().expect("header value"));
        h
    }

    #[test]
    fn roles_parse_and_liaisons_see_only_their_committee() {
        assert_eq!(
            Role::from_headers(&HeaderMap::new()).ok(),
            Some(Role::Operator)
        );
        let water = Role::from_headers(&headers("liaison:water")).expect("role");
        assert_eq!(water, Role::Liaison(Committee::Water));
        assert!(water.sees(Committee::Water) && !water.sees(Committee::Security));
        assert!(!Role::Executive.acts_on(Committee::Water));
        assert!(Role::Operator.acts_on(Committee::Security));
        assert!(Role::Executive.sees_named("") && !water.sees_named(""));
        assert!(Role::from_headers(&headers("liaison:navy")).is_err());
        assert!(Role::from_headers(&headers("admin")).is_err());
    }
}
