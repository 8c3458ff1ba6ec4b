//! What a signed-in role may see: the one place every result is cut down
//! before it leaves the server (routes and each push of the live stream
//! alike), so a browser never receives what its role may not see. Later
//! privacy rules (small-count suppression) belong here too, for the same
//! reason.
//!
//! - Operators and executives see everything (executives act on nothing,
//!   see [`Access::acts_on`]).
//! - A liaison sees its own committees in full, and of the others only the
//!   *headline*: on the wall, each metric's newest nation-level figure
//!   (the number a panel shows in large type), without its sparkline,
//!   map layer, alerts, freshness, rejects or any drill-down.
//! - A liaison with a geographic scope (a region or a list of provinces)
//!   sees only areas inside it: its provinces and their districts, and a
//!   region only when the whole region is inside. Nation-level figures mix
//!   in every province, so such a liaison sees none (no panels on the wall,
//!   no headlines of other committees); its maps and alerts are cut to its
//!   provinces.
//! - Incident-level detail of the security committee (district figures and
//!   one-minute windows, where a window is about one or two incidents) needs
//!   clearance for the incidents' classification. The aggregates do not keep
//!   each incident's classification (the pipeline sums over incidents), so
//!   such detail is treated as the most classified incident it may contain,
//!   [`ASSUMED_DETAIL_CLASSIFICATION`].

use std::collections::BTreeSet;

use pmoc_schemas::{
    api::{Alert, AreaDetail, CommitteePanel, MapLayer, MetricSeries, WallSnapshot, WaterSnapshot},
    area::{province, provinces},
    auth::{RoleKind, RoleSettings},
    committee::{Committee, security::Classification},
    district::district,
    metric::MetricId,
};

/// The classification incident-level detail is assumed to carry (see the
/// module comment): the highest, until aggregates keep it per window.
pub const ASSUMED_DETAIL_CLASSIFICATION: Classification = Classification::Secret;

/// Where a liaison may look.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Geo {
    Nation,
    /// Province codes; districts follow their province.
    Provinces(BTreeSet<String>),
}

/// A role's scope, resolved from its settings once per sign-in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Access {
    /// The role's name in `[auth.roles]`.
    pub role: String,
    pub kind: RoleKind,
    /// Committees seen in full.
    pub committees: Vec<Committee>,
    pub geo: Geo,
    pub clearance: Classification,
}

/// A role whose settings cannot be honoured: refused, never widened.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ScopeError {
    #[error("role {0:?} is not in [auth.roles]")]
    UnknownRole(String),
    #[error("liaison role {0:?} names no committee")]
    NoCommittee(String),
    #[error("role {role:?}: unknown region {region:?}")]
    UnknownRegion { role: String, region: String },
    #[error("role {role:?}: unknown province {code:?}")]
    UnknownProvince { role: String, code: String },
}

impl Access {
    pub fn from_settings(name: &str, role: &RoleSettings) -> Result<Self, ScopeError> {
        let committees = match role.kind {
            RoleKind::Operator | RoleKind::Executive => Committee::ALL.to_vec(),
            RoleKind::Liaison if role.committees.is_empty() => {
                return Err(ScopeError::NoCommittee(name.to_owned()));
            }
            RoleKind::Liaison => role.committees.clone(),
        };
        let mut scope = BTreeSet::new();
        if role.kind == RoleKind::Liaison && !role.region.is_empty() {
            let before = scope.len();
            scope.extend(
                provinces()
                    .iter()
                    .filter(|p| p.region4 == role.region)
                    .map(|p| p.code.clone()),
            );
            if scope.len() == before {
                return Err(ScopeError::UnknownRegion {
                    role: name.to_owned(),
                    region: role.region.clone(),
                });
            }
        }
        if role.kind == RoleKind::Liaison {
            for code in &role.provinces {
                if province(code).is_none() {
                    return Err(ScopeError::UnknownProvince {
                        role: name.to_owned(),
                        code: code.clone(),
                    });
                }
                scope.insert(code.clone());
            }
        }
        Ok(Self {
            role: name.to_owned(),
            kind: role.kind,
            committees,
            geo: if scope.is_empty() {
                Geo::Nation
            } else {
                Geo::Provinces(scope)
            },
            clearance: role.clearance,
        })
    }

    /// Whether this role sees `committee` in full (maps, drill-down, alerts).
    pub fn sees(&self, committee: Committee) -> bool {
        self.committees.contains(&committee)
    }

    fn sees_name(&self, committee: &str) -> bool {
        Committee::from_name(committee).is_some_and(|c| self.sees(c))
    }

    /// Whether this role may acknowledge alerts of `committee` (resolving
    /// is for operators only, see the alerts route).
    pub fn acts_on(&self, committee: Committee) -> bool {
        self.kind != RoleKind::Executive && self.sees(committee)
    }

    pub fn cleared_for(&self, classification: Classification) -> bool {
        self.clearance >= classification
    }

    /// Whether an area (`api::place` levels) is inside the geographic scope.
    pub fn in_geo(&self, level: &str, code: &str) -> bool {
        let Geo::Provinces(mine) = &self.geo else {
            return true;
        };
        match level {
            "province" => mine.contains(code),
            "district" => district(code).is_some_and(|d| mine.contains(&d.province_code)),
            "region4" => {
                let all: Vec<&str> = provinces()
                    .iter()
                    .filter(|p| p.region4 == code)
                    .map(|p| p.code.as_str())
                    .collect();
                !all.is_empty() && all.iter().all(|p| mine.contains(*p))
            }
            _ => false,
        }
    }

    /// Whether figures of `committee` at `level` in windows of `window_s`
    /// seconds are incident-level detail this role is not cleared for.
    pub fn detail_withheld(&self, committee: Committee, level: &str, window_s: u32) -> bool {
        committee == Committee::Security
            && (level == "district" || window_s < 3_600)
            && !self.cleared_for(ASSUMED_DETAIL_CLASSIFICATION)
    }

    /// The wall snapshot as this role may see it.
    pub fn restrict(&self, snapshot: &WallSnapshot) -> WallSnapshot {
        if self.kind != RoleKind::Liaison {
            return snapshot.clone();
        }
        let nation = self.geo == Geo::Nation;
        let metric_seen =
            |m: &str| MetricId::from_name(m).is_some_and(|id| self.sees(id.def().committee));
        WallSnapshot {
            generated_at_ms: snapshot.generated_at_ms,
            panels: if nation {
                snapshot
                    .panels
                    .iter()
                    .filter_map(|p| self.panel(p))
                    .collect()
            } else {
                Vec::new()
            },
            maps: snapshot
                .maps
                .iter()
                .filter(|m| metric_seen(&m.metric))
                .map(|m| self.layer(m, "province"))
                .collect(),
            alerts: self.alerts(&snapshot.alerts),
            freshness: keep(&snapshot.freshness, |f| self.sees_name(&f.committee)),
            rejects: keep(&snapshot.rejects, |r| self.sees_name(&r.committee)),
            settings: snapshot.settings.clone(),
        }
    }

    /// An own committee's panel whole; another's reduced to its headline.
    fn panel(&self, panel: &CommitteePanel) -> Option<CommitteePanel> {
        let committee = Committee::from_name(&panel.committee)?;
        if self.sees(committee) {
            return Some(panel.clone());
        }
        Some(CommitteePanel {
            series: panel
                .series
                .iter()
                .map(|s| MetricSeries {
                    metric: s.metric.clone(),
                    points: s.latest().cloned().into_iter().collect(),
                })
                .collect(),
            ..panel.clone()
        })
    }

    /// Alerts of the committees seen in full, inside the scope.
    pub fn alerts(&self, alerts: &[Alert]) -> Vec<Alert> {
        keep(alerts, |a| {
            self.sees(a.event.committee) && self.in_geo(&a.event.area_level, &a.event.area_code)
        })
    }

    /// A map layer with only the areas (`level`) inside the scope.
    pub fn layer(&self, layer: &MapLayer, level: &str) -> MapLayer {
        MapLayer {
            metric: layer.metric.clone(),
            provinces: keep(&layer.provinces, |(code, _)| self.in_geo(level, code)),
            computed_at_ms: layer.computed_at_ms,
        }
    }

    /// A drill-down with only the child places inside the scope (the place
    /// itself was checked by the route).
    pub fn area(&self, mut detail: AreaDetail) -> AreaDetail {
        detail
            .children
            .retain(|c| self.in_geo(&c.place.level, &c.place.code));
        detail
    }

    /// The water overview with only the provinces inside the scope.
    pub fn water(&self, snapshot: &WaterSnapshot) -> WaterSnapshot {
        WaterSnapshot {
            provinces: keep(&snapshot.provinces, |p| {
                self.in_geo("province", &p.province_code)
            }),
            ..snapshot.clone()
        }
    }
}

fn keep<T: Clone>(items: &[T], keep: impl Fn(&T) -> bool) -> Vec<T> {
    items.iter().filter(|i| keep(i)).cloned().collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn liaison(committees: &[Committee], region: &str, provinces: &[&str]) -> RoleSettings {
        RoleSettings {
            committees: committees.to_vec(),
            region: region.to_owned(),
            provinces: provinces.iter().map(|p| (*p).to_owned()).collect(),
            ..RoleSettings::new(RoleKind::Liaison, Classification::Restricted)
        }
    }

    #[test]
    fn scopes_resolve_and_bad_ones_are_refused() {
        let ne =
            Access::from_settings("ne", &liaison(&[Committee::Water], "NE", &[])).expect("valid");
        assert!(ne.sees(Committee::Water) && !ne.sees(Committee::Security));
        assert!(ne.in_geo("province", "34") && !ne.in_geo("province", "50"));
        assert!(ne.in_geo("district", "3401") && !ne.in_geo("district", "5001"));
        assert!(ne.in_geo("region4", "NE") && !ne.in_geo("region4", "N"));
        assert!(!ne.in_geo("nation", "TH"));
        let two = Access::from_settings("two", &liaison(&[Committee::Water], "", &["34", "35"]))
            .expect("valid");
        assert!(!two.in_geo("region4", "NE"), "a region only when whole");
        assert!(matches!(
            Access::from_settings("x", &liaison(&[], "", &[])),
            Err(ScopeError::NoCommittee(_))
        ));
        assert!(Access::from_settings("x", &liaison(&[Committee::Water], "XX", &[])).is_err());
        assert!(Access::from_settings("x", &liaison(&[Committee::Water], "", &["99"])).is_err());
        let exec = Access::from_settings(
            "executive",
            &RoleSettings::new(RoleKind::Executive, Classification::Secret),
        )
        .expect("valid");
        assert!(!exec.acts_on(Committee::Water) && exec.in_geo("nation", "TH"));
        assert!(ne.detail_withheld(Committee::Security, "district", 3_600));
        assert!(ne.detail_withheld(Committee::Security, "province", 60));
        assert!(!ne.detail_withheld(Committee::Security, "province", 3_600));
        assert!(!exec.detail_withheld(Committee::Security, "district", 60));
    }
}
