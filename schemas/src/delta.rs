//! Pushes that carry what changed, not the whole snapshot.
//!
//! The wall's snapshot is ~85 KB of JSON and most of it is the same from
//! one refresh to the next: a push sends the [`Delta`] from the state the
//! connection was last sent to the new one, keyed by the JSON path of each
//! changed part (a committee's panel, a metric's point, a province's map
//! value, an alert). The server ([`diff`]) and the browser ([`apply`])
//! share this code, so what the browser rebuilds is, field for field, the
//! snapshot the server cut for it (`tests::deltas_rebuild_the_snapshot`).
//!
//! Sequence: every connection starts with a full snapshot (sequence 0);
//! each delta carries the next number. A client that sees a number out of
//! order has lost its base and must reconnect, which starts with a full
//! snapshot again. The server sends a full snapshot instead of a delta
//! whenever the delta would not be much smaller (a client that fell behind
//! by many refreshes, a new window shifting every sparkline).

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// One step of a path: an object's field or an array's index.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Step {
    Index(usize),
    Field(String),
}

/// One change at a path from the snapshot's root.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "snake_case")]
pub enum Op {
    /// The value at `p` is now `v`: an object's field (added or replaced)
    /// or an array's item (replaced, or appended at index = length).
    Set { p: Vec<Step>, v: Value },
    /// These fields of the object at `p` are now these values (added or
    /// replaced): a point whose value and time moved is one op, one path.
    Merge { p: Vec<Step>, v: Map<String, Value> },
    /// The object field at `p` is gone.
    Del { p: Vec<Step> },
    /// The array at `p` is cut to `n` items.
    Len { p: Vec<Step>, n: usize },
}

/// What changed since the push numbered `seq - 1` of this connection.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Delta {
    pub seq: u64,
    pub ops: Vec<Op>,
}

/// A delta that cannot be applied to the state the client holds.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DeltaError {
    #[error("push {got} does not follow push {held}")]
    OutOfOrder { held: u64, got: u64 },
    #[error("no value at path {0}")]
    NoPath(String),
}

/// The changes that turn `old` into `new`, object fields by name and array
/// items by position.
pub fn diff(old: &Value, new: &Value) -> Vec<Op> {
    let mut ops = Vec::new();
    diff_at(&mut Vec::new(), old, new, &mut ops);
    ops
}

fn diff_at(path: &mut Vec<Step>, old: &Value, new: &Value, ops: &mut Vec<Op>) {
    if old == new {
        return;
    }
    match (old, new) {
        (Value::Object(a), Value::Object(b)) => {
            let (mut merge, mut deeper) = (Map::new(), Vec::new());
            for (k, va) in a {
                match b.get(k) {
                    None => {
                        path.push(Step::Field(k.clone()));
                        deeper.push(Op::Del { p: path.clone() });
                        path.pop();
                    }
                    Some(vb) if va == vb => {}
                    // Containers of the same kind: only what changed inside.
                    Some(vb @ (Value::Object(_) | Value::Array(_)))
                        if std::mem::discriminant(va) == std::mem::discriminant(vb) =>
                    {
                        path.push(Step::Field(k.clone()));
                        diff_at(path, va, vb, &mut deeper);
                        path.pop();
                    }
                    Some(vb) => {
                        merge.insert(k.clone(), vb.clone());
                    }
                }
            }
            for (k, vb) in b.iter().filter(|(k, _)| !a.contains_key(*k)) {
                merge.insert(k.clone(), vb.clone());
            }
            // Most of an object changed: the object itself is shorter.
            if !path.is_empty() && deeper.is_empty() && merge.len() * 2 > b.len() {
                ops.push(Op::Set {
                    p: path.clone(),
                    v: new.clone(),
                });
                return;
            }
            if !merge.is_empty() {
                ops.push(Op::Merge {
                    p: path.clone(),
                    v: merge,
                });
            }
            ops.extend(deeper);
        }
        (Value::Array(a), Value::Array(b)) => {
            for (i, (va, vb)) in a.iter().zip(b).enumerate() {
                path.push(Step::Index(i));
                diff_at(path, va, vb, ops);
                path.pop();
            }
            if b.len() < a.len() {
                ops.push(Op::Len {
                    p: path.clone(),
                    n: b.len(),
                });
            }
            for (i, vb) in b.iter().enumerate().skip(a.len()) {
                path.push(Step::Index(i));
                ops.push(Op::Set {
                    p: path.clone(),
                    v: vb.clone(),
                });
                path.pop();
            }
        }
        _ => ops.push(Op::Set {
            p: path.clone(),
            v: new.clone(),
        }),
    }
}

impl Op {
    pub fn path(&self) -> &[Step] {
        match self {
            Self::Set { p, .. } | Self::Merge { p, .. } | Self::Del { p } | Self::Len { p, .. } => {
                p
            }
        }
    }
}

fn shown(path: &[Step]) -> String {
    path.iter()
        .map(|s| match s {
            Step::Index(i) => i.to_string(),
            Step::Field(f) => f.clone(),
        })
        .collect::<Vec<_>>()
        .join("/")
}

/// The container a path's last step is in.
fn parent<'a>(root: &'a mut Value, path: &[Step]) -> Result<&'a mut Value, DeltaError> {
    let missing = || DeltaError::NoPath(shown(path));
    let mut at = root;
    for step in &path[..path.len().saturating_sub(1)] {
        at = match (step, at) {
            (Step::Field(f), Value::Object(m)) => m.get_mut(f).ok_or_else(missing)?,
            (Step::Index(i), Value::Array(a)) => a.get_mut(*i).ok_or_else(missing)?,
            _ => return Err(missing()),
        };
    }
    Ok(at)
}

/// Applies `ops` (from [`diff`]) to `state`, in order.
pub fn apply(state: &mut Value, ops: &[Op]) -> Result<(), DeltaError> {
    for op in ops {
        let path = op.path();
        let missing = || DeltaError::NoPath(shown(path));
        let Some(last) = path.last() else {
            // The root itself.
            match op {
                Op::Set { v, .. } => *state = v.clone(),
                Op::Merge { v, .. } => match state {
                    Value::Object(m) => m.extend(v.clone()),
                    _ => return Err(missing()),
                },
                Op::Len { n, .. } => match state {
                    Value::Array(a) => a.truncate(*n),
                    _ => return Err(missing()),
                },
                Op::Del { .. } => *state = Value::Object(Map::new()),
            }
            continue;
        };
        let at = parent(state, path)?;
        if let Op::Merge { v, .. } = op {
            let target = match (last, at) {
                (Step::Field(f), Value::Object(m)) => m.get_mut(f),
                (Step::Index(i), Value::Array(a)) => a.get_mut(*i),
                _ => None,
            };
            match target {
                Some(Value::Object(m)) => m.extend(v.clone()),
                _ => return Err(missing()),
            }
            continue;
        }
        match (op, last, at) {
            (Op::Set { v, .. }, Step::Field(f), Value::Object(m)) => {
                m.insert(f.clone(), v.clone());
            }
            (Op::Set { v, .. }, Step::Index(i), Value::Array(a)) if *i < a.len() => {
                a[*i] = v.clone();
            }
            (Op::Set { v, .. }, Step::Index(i), Value::Array(a)) if *i == a.len() => {
                a.push(v.clone());
            }
            (Op::Del { .. }, Step::Field(f), Value::Object(m)) => {
                m.remove(f);
            }
            (Op::Len { n, .. }, Step::Field(f), Value::Object(m)) => match m.get_mut(f) {
                Some(Value::Array(a)) => a.truncate(*n),
                _ => return Err(missing()),
            },
            (Op::Len { n, .. }, Step::Index(i), Value::Array(a)) => match a.get_mut(*i) {
                Some(Value::Array(inner)) => inner.truncate(*n),
                _ => return Err(missing()),
            },
            _ => return Err(missing()),
        }
    }
    Ok(())
}

/// What a client holds of one pushed snapshot: the state as JSON and the
/// number of the last push applied.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Held {
    pub seq: u64,
    pub state: Value,
}

impl Held {
    /// A full snapshot: the new base, sequence 0.
    pub fn full(state: Value) -> Self {
        Self { seq: 0, state }
    }

    /// Applies the next delta; refuses one that does not follow (the
    /// caller then reconnects for a full snapshot).
    pub fn next(&mut self, delta: &Delta) -> Result<(), DeltaError> {
        if delta.seq != self.seq + 1 {
            return Err(DeltaError::OutOfOrder {
                held: self.seq,
                got: delta.seq,
            });
        }
        apply(&mut self.state, &delta.ops)?;
        self.seq = delta.seq;
        Ok(())
    }
}

/// A snapshot as JSON, both as a tree (to diff) and as text (to send whole),
/// made once per refresh and shared by every connection with the same cut.
#[derive(Debug, Clone, PartialEq)]
pub struct Encoded {
    pub value: Value,
    pub json: String,
}

impl Encoded {
    pub fn new(snapshot: &impl Serialize) -> Result<Self, serde_json::Error> {
        let value = serde_json::to_value(snapshot)?;
        let json = serde_json::to_string(&value)?;
        Ok(Self { value, json })
    }
}

/// What the server sends next on one connection for one snapshot kind.
#[derive(Debug, Clone, PartialEq)]
pub enum Push {
    /// The whole snapshot (first push, or a delta would not be smaller).
    Full(String),
    /// The JSON of a [`Delta`].
    Delta(String),
}

/// The sender's side: the state a connection was last sent (shared with
/// the other connections that were sent the same, so a connection costs a
/// pointer, not a copy of the snapshot).
#[derive(Debug, Clone, Default)]
pub struct Sent {
    seq: u64,
    state: Option<std::sync::Arc<Encoded>>,
}

impl Sent {
    /// The push that brings this connection to `new`, `None` when nothing
    /// changed. A delta is sent only when it is under half the snapshot's
    /// size; otherwise the snapshot itself, which restarts the sequence. A
    /// connection that fell behind (its stream was not read while several
    /// refreshes passed) is thus sent the difference to the newest state,
    /// or the whole of it: nothing between is lost, only skipped.
    pub fn push(
        &mut self,
        new: std::sync::Arc<Encoded>,
    ) -> Result<Option<Push>, serde_json::Error> {
        let delta = match &self.state {
            Some(old) if std::sync::Arc::ptr_eq(old, &new) || old.value == new.value => {
                self.state = Some(new);
                return Ok(None);
            }
            Some(old) => Some(serde_json::to_string(&Delta {
                seq: self.seq + 1,
                ops: diff(&old.value, &new.value),
            })?),
            None => None,
        };
        let push = match delta {
            Some(delta) if delta.len() * 2 < new.json.len() => {
                self.seq += 1;
                Push::Delta(delta)
            }
            _ => {
                self.seq = 0;
                Push::Full(new.json.clone())
            }
        };
        self.state = Some(new);
        Ok(Some(push))
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    /// Applying each push to what the client holds gives, every time, the
    /// snapshot the server meant: the merge is the full snapshot.
    fn follow(states: &[Value]) {
        let mut sent = Sent::default();
        let mut held = Held::default();
        for (i, s) in states.iter().enumerate() {
            match sent.push(Encoded::new(s).unwrap().into()).unwrap() {
                None => assert_eq!(held.state, *s, "nothing sent, yet step {i} differs"),
                Some(Push::Full(text)) => held = Held::full(serde_json::from_str(&text).unwrap()),
                Some(Push::Delta(text)) => {
                    let delta: Delta = serde_json::from_str(&text).unwrap();
                    held.next(&delta).unwrap();
                }
            }
            assert_eq!(held.state, *s, "step {i}");
        }
    }

    fn point(start: i64, value: Option<f64>, computed: i64) -> Value {
        json!({"window_start_ms": start, "window_end_ms": start + 60_000, "value": value,
               "count": 3, "final_": false, "suppressed_below": null,
               "computed_at_ms": computed, "late": 0, "p95": null})
    }

    fn wall(points: &[(i64, Option<f64>, i64)], alerts: &[&str], maps: &[(&str, f64)]) -> Value {
        json!({
            "generated_at_ms": 1,
            "panels": [{"committee": "water", "window_seconds": 60, "light": "green",
                        "complete_up_to_ms": null,
                        "series": [{"metric": "water_level_m",
                                    "points": points.iter().map(|(s, v, c)| point(*s, *v, *c)).collect::<Vec<_>>()}]}],
            "maps": [{"metric": "water_level_m",
                      "provinces": maps.iter().map(|(c, v)| json!([c, point(0, Some(*v), 1)])).collect::<Vec<_>>()}],
            "alerts": alerts.iter().map(|a| json!({"alert_id": a, "state": "open"})).collect::<Vec<_>>(),
            "settings": {"rotation": ["water"], "rotation_seconds": 20},
        })
    }

    #[test]
    fn deltas_rebuild_the_snapshot() {
        let many: Vec<(&str, f64)> = (10..90).map(|c| (["10", "11"][c % 2], c as f64)).collect();
        follow(&[
            wall(&[(0, Some(1.0), 1)], &[], &many),
            // A running value moves.
            wall(&[(0, Some(1.5), 2)], &[], &many),
            // Nothing changes.
            wall(&[(0, Some(1.5), 2)], &[], &many),
            // A new window opens, an alert opens, a figure is withheld.
            wall(&[(0, Some(1.5), 2), (60_000, None, 3)], &["a1"], &many),
            // An alert above it, the oldest point drops out.
            wall(&[(60_000, Some(2.0), 4)], &["a0", "a1"], &many),
            // Everything goes.
            wall(&[], &[], &[]),
            json!({"generated_at_ms": 2}),
        ]);
    }

    #[test]
    fn a_small_change_is_sent_as_a_small_delta() {
        let provinces: Vec<(String, f64)> = (0..77).map(|i| (format!("{i:02}"), 1.0)).collect();
        let refs: Vec<(&str, f64)> = provinces.iter().map(|(c, v)| (c.as_str(), *v)).collect();
        let before = wall(&[(0, Some(1.0), 1)], &["a1"], &refs);
        let after = wall(&[(0, Some(1.25), 2)], &["a1"], &refs);
        let mut sent = Sent::default();
        let encode = |v: &Value| std::sync::Arc::new(Encoded::new(v).unwrap());
        assert!(matches!(
            sent.push(encode(&before)).unwrap(),
            Some(Push::Full(_))
        ));
        let Some(Push::Delta(text)) = sent.push(encode(&after)).unwrap() else {
            panic!("a small change must be a delta");
        };
        assert!(text.len() < 150, "{} bytes: {text}", text.len());
        assert!(text.contains(r#""op":"merge""#), "{text}");
        assert!(text.contains("\"seq\":1"), "{text}");
        assert_eq!(sent.push(encode(&after)).unwrap(), None);
    }

    fn any_json() -> impl proptest::strategy::Strategy<Value = Value> {
        use proptest::prelude::*;
        let leaf = prop_oneof![
            Just(Value::Null),
            any::<bool>().prop_map(Value::from),
            (0i64..5).prop_map(Value::from),
            "[ab]{0,2}".prop_map(Value::from),
        ];
        leaf.prop_recursive(4, 40, 5, |inner| {
            prop_oneof![
                proptest::collection::vec(inner.clone(), 0..5).prop_map(Value::Array),
                proptest::collection::btree_map("[a-d]", inner, 0..5)
                    .prop_map(|m| Value::Object(m.into_iter().collect())),
            ]
        })
    }

    proptest::proptest! {
        /// Any sequence of states, however they change shape, is rebuilt
        /// exactly from the pushes.
        #[test]
        fn any_states_are_rebuilt(states in proptest::collection::vec(any_json(), 1..6)) {
            follow(&states);
        }
    }

    #[test]
    fn a_delta_out_of_order_is_refused() {
        let mut held = Held::full(json!({"a": 1}));
        let skip = Delta {
            seq: 2,
            ops: diff(&json!({"a": 1}), &json!({"a": 2})),
        };
        assert_eq!(
            held.next(&skip),
            Err(DeltaError::OutOfOrder { held: 0, got: 2 })
        );
        assert_eq!(held.state, json!({"a": 1}));
    }

    #[test]
    fn a_path_that_is_not_there_is_an_error_not_a_guess() {
        let mut state = json!({"a": [1]});
        let ops = [Op::Set {
            p: vec![Step::Field("a".into()), Step::Index(3)],
            v: json!(2),
        }];
        assert!(matches!(
            apply(&mut state, &ops),
            Err(DeltaError::NoPath(_))
        ));
    }
}
