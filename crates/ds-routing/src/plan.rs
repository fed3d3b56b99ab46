//! Dial plans (rest.md §9): typed nodes parsed from the wire JSON, serialised back with both
//! spellings of renamed reference keys, and graph validation (rest.md §9.4).
//!
//! Errors carry a JSON pointer into the request body (`/nodes/1/config/next`) because the React
//! editor parses that prefix to highlight the node; they also carry the node id for humans.

use std::collections::{HashMap, HashSet};

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};

use crate::ids::{TargetKind, is_e164, is_schedule_id};

/// An exit that the editor can leave unwired (absent / `null`) or point at a node.
pub type Exit = Option<String>;

/// What went wrong, independent of where.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PlanProblem {
    #[error("must have at least one item")]
    NoNodes,
    #[error("must match ^[a-zA-Z0-9_-]+$")]
    BadNodeId,
    #[error("duplicate node id {0:?}")]
    DuplicateNodeId(String),
    #[error("unknown node type {0:?}")]
    UnknownType(String),
    #[error("references unknown node {0:?}")]
    UnknownNode(String),
    #[error("a {0} node may not exit to itself (only menu may)")]
    SelfLoop(&'static str),
    #[error("is required")]
    Missing,
    #[error("must not be empty")]
    Empty,
    #[error("must be {0}")]
    WrongType(&'static str),
    #[error("must be from {min} to {max}")]
    OutOfRange { min: i64, max: i64 },
    #[error("{0:?} must start with {1}")]
    WrongPrefix(String, &'static str),
    #[error("must be a valid E.164 phone number")]
    BadPhoneNumber,
    #[error("must be one of 0-9, * or #")]
    BadDigit,
    #[error("digit {0:?} is used twice")]
    DuplicateDigit(String),
    #[error("must be at most 20 characters")]
    LabelTooLong,
    #[error("must be control or notify")]
    BadMode,
    #[error("an internal_dial may not target its own plan {0:?}")]
    TargetsOwnPlan(String),
    #[error("references unknown {kind} {id:?}")]
    UnknownReference { kind: &'static str, id: String },
    /// rest.md §9.3: the one 422 of dial-plan validation.
    #[error("voice_app notify mode is not supported on AI agent voice apps: [{}]", .0.join(", "))]
    NotifyOnAiAgent(Vec<String>),
}

/// A refused dial plan: where (JSON pointer and node id) and what.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}", self.message())]
pub struct PlanError {
    /// JSON pointer into the request body, e.g. `/nodes/1/config/next`.
    pub pointer: String,
    /// The id of the node the pointer is inside, when it is inside one.
    pub node: Option<String>,
    pub problem: PlanProblem,
}

impl PlanError {
    fn at(pointer: impl Into<String>, node: Option<&str>, problem: PlanProblem) -> Self {
        Self { pointer: pointer.into(), node: node.map(str::to_owned), problem }
    }

    /// The wire message: pointer, `": "`, reason (rest.md §1.6) — except the AI-agent notify
    /// refusal, whose text is fixed by rest.md §9.3.
    pub fn message(&self) -> String {
        match &self.problem {
            PlanProblem::NotifyOnAiAgent(_) => self.problem.to_string(),
            problem => format!("{}: {problem}", self.pointer),
        }
    }

    /// 422 for the AI-agent notify refusal, 400 `validation_error` for everything else (§9.4).
    pub fn is_unprocessable(&self) -> bool {
        matches!(self.problem, PlanProblem::NotifyOnAiAgent(_))
    }
}

/// `voice_app` node mode (rest.md §9.3).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum VoiceAppMode {
    #[default]
    Control,
    Notify,
}

/// One IVR option.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MenuOption {
    pub digit: char,
    pub next_node: Exit,
    pub label: Option<String>,
}

/// Per-type configuration, with exits as node ids (rest.md §9.3).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NodeKind {
    Schedule {
        schedule: String,
        open: Exit,
        closed: Exit,
        /// `Some(None)`: key present with `null` (editor checkbox ticked), routes like absent.
        holiday: Option<Exit>,
    },
    InternalDial {
        target: String,
        /// Absent → 30 s for users; for ring groups, the group's own time (see the walker).
        timeout: Option<u32>,
        next: Exit,
    },
    RingAllUsers {
        timeout: u32,
        next: Exit,
    },
    ExternalDial {
        phone_number: String,
        timeout: u32,
        next: Exit,
    },
    Menu {
        prompt_clip: String,
        timeout: u32,
        options: Vec<MenuOption>,
        timeout_next_node: Exit,
        invalid_next_node: Exit,
    },
    AudioClip {
        clip: String,
        next: Exit,
        /// Sent as `sound_clip`; stored and echoed as sent (rest.md §9.3 \[compat\]).
        legacy_name: bool,
    },
    VoiceApp {
        voice_app: String,
        mode: VoiceAppMode,
        next: Exit,
    },
    HangUp,
}

impl NodeKind {
    /// The wire `type`.
    pub fn type_name(&self) -> &'static str {
        match self {
            Self::Schedule { .. } => "schedule",
            Self::InternalDial { .. } => "internal_dial",
            Self::RingAllUsers { .. } => "ring_all_users",
            Self::ExternalDial { .. } => "external_dial",
            Self::Menu { .. } => "menu",
            Self::AudioClip { legacy_name: false, .. } => "audio_clip",
            Self::AudioClip { legacy_name: true, .. } => "sound_clip",
            Self::VoiceApp { .. } => "voice_app",
            Self::HangUp => "hang_up",
        }
    }

    /// Every wired exit with the config key path it sits under (`next`, `options/2/next_node`).
    pub fn exits(&self) -> Vec<(String, &str)> {
        fn add<'a>(exits: &mut Vec<(String, &'a str)>, key: &str, exit: &'a Exit) {
            if let Some(node) = exit {
                exits.push((key.to_owned(), node.as_str()));
            }
        }
        let mut exits = Vec::new();
        match self {
            Self::Schedule { open, closed, holiday, .. } => {
                add(&mut exits, "open", open);
                add(&mut exits, "closed", closed);
                if let Some(holiday) = holiday {
                    add(&mut exits, "holiday", holiday);
                }
            }
            Self::InternalDial { next, .. }
            | Self::RingAllUsers { next, .. }
            | Self::ExternalDial { next, .. }
            | Self::AudioClip { next, .. }
            | Self::VoiceApp { next, .. } => add(&mut exits, "next", next),
            Self::Menu { options, timeout_next_node, invalid_next_node, .. } => {
                for (index, option) in options.iter().enumerate() {
                    add(&mut exits, &format!("options/{index}/next_node"), &option.next_node);
                }
                add(&mut exits, "timeout_next_node", timeout_next_node);
                add(&mut exits, "invalid_next_node", invalid_next_node);
            }
            Self::HangUp => {}
        }
        exits
    }

    /// The config as emitted: canonical keys plus their deprecated twins (rest.md §9.3).
    pub fn config_json(&self) -> Value {
        let mut config = Map::new();
        let exit = |config: &mut Map<String, Value>, key: &str, exit: &Exit| {
            if let Some(node) = exit {
                config.insert(key.to_owned(), json!(node));
            }
        };
        match self {
            Self::Schedule { schedule, open, closed, holiday } => {
                config.insert("schedule".into(), json!(schedule));
                config.insert("schedule_id".into(), json!(schedule));
                exit(&mut config, "open", open);
                exit(&mut config, "closed", closed);
                if let Some(holiday) = holiday {
                    config.insert("holiday".into(), json!(holiday));
                }
            }
            Self::InternalDial { target, timeout, next } => {
                config.insert("target".into(), json!(target));
                config.insert("target_id".into(), json!(target));
                if let Some(timeout) = timeout {
                    config.insert("timeout".into(), json!(timeout));
                }
                exit(&mut config, "next", next);
            }
            Self::RingAllUsers { timeout, next } => {
                config.insert("timeout".into(), json!(timeout));
                exit(&mut config, "next", next);
            }
            Self::ExternalDial { phone_number, timeout, next } => {
                config.insert("phone_number".into(), json!(phone_number));
                config.insert("timeout".into(), json!(timeout));
                exit(&mut config, "next", next);
            }
            Self::Menu { prompt_clip, timeout, options, timeout_next_node, invalid_next_node } => {
                config.insert("prompt_clip".into(), json!(prompt_clip));
                config.insert("prompt_clip_id".into(), json!(prompt_clip));
                config.insert("timeout".into(), json!(timeout));
                let options: Vec<Value> = options
                    .iter()
                    .map(|option| {
                        let mut object = Map::new();
                        object.insert("digit".into(), json!(option.digit.to_string()));
                        if let Some(next) = &option.next_node {
                            object.insert("next_node".into(), json!(next));
                        }
                        if let Some(label) = &option.label {
                            object.insert("label".into(), json!(label));
                        }
                        Value::Object(object)
                    })
                    .collect();
                config.insert("options".into(), Value::Array(options));
                exit(&mut config, "timeout_next_node", timeout_next_node);
                exit(&mut config, "invalid_next_node", invalid_next_node);
            }
            Self::AudioClip { clip, next, .. } => {
                config.insert("clip".into(), json!(clip));
                config.insert("clip_id".into(), json!(clip));
                exit(&mut config, "next", next);
            }
            Self::VoiceApp { voice_app, mode, next } => {
                config.insert("voice_app".into(), json!(voice_app));
                config.insert("voice_app_id".into(), json!(voice_app));
                config.insert("mode".into(), json!(mode));
                exit(&mut config, "next", next);
            }
            Self::HangUp => {}
        }
        Value::Object(config)
    }
}

/// One node of a plan.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Node {
    pub id: String,
    pub kind: NodeKind,
    /// Editor layout `{x, y}`: stored and echoed untouched, never interpreted.
    pub position: Option<Value>,
}

impl Node {
    pub fn to_json(&self) -> Value {
        let mut node = Map::new();
        node.insert("id".into(), json!(self.id));
        node.insert("type".into(), json!(self.kind.type_name()));
        node.insert("config".into(), self.kind.config_json());
        if let Some(position) = &self.position {
            node.insert("position".into(), position.clone());
        }
        Value::Object(node)
    }
}

/// A validated graph: entry node plus nodes (the plan's id, name and timestamps live beside it).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DialPlan {
    pub id: String,
    pub name: String,
    pub entry_node: String,
    pub nodes: Vec<Node>,
    pub created_at: String,
    pub updated_at: String,
}

impl DialPlan {
    pub fn node(&self, id: &str) -> Option<&Node> {
        self.nodes.iter().find(|node| node.id == id)
    }

    /// Every node-level reference (schedule, target, voice app) — e.g. for "in use" checks.
    pub fn references(&self) -> Vec<&str> {
        self.nodes
            .iter()
            .filter_map(|node| match &node.kind {
                NodeKind::Schedule { schedule, .. } => Some(schedule.as_str()),
                NodeKind::InternalDial { target, .. } => Some(target.as_str()),
                NodeKind::VoiceApp { voice_app, .. } => Some(voice_app.as_str()),
                _ => None,
            })
            .collect()
    }

    /// The nodes as wire JSON.
    pub fn nodes_json(&self) -> Value {
        Value::Array(self.nodes.iter().map(Node::to_json).collect())
    }
}

impl Serialize for DialPlan {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        json!({
            "id": self.id,
            "name": self.name,
            "entry_node": self.entry_node,
            "nodes": self.nodes_json(),
            "created_at": self.created_at,
            "updated_at": self.updated_at,
        })
        .serialize(serializer)
    }
}

impl<'de> Deserialize<'de> for DialPlan {
    /// Reads a stored plan. It is parsed and graph-checked like input (without references), so a
    /// hand-edited database row cannot smuggle a broken graph into the walker.
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let value = Value::deserialize(deserializer)?;
        let text = |key: &str| value.get(key).and_then(Value::as_str).unwrap_or_default().to_owned();
        let (entry_node, nodes) = parse_graph(value.get("entry_node"), value.get("nodes"))
            .map_err(|error| serde::de::Error::custom(error.message()))?;
        Ok(Self {
            id: text("id"),
            name: text("name"),
            entry_node,
            nodes,
            created_at: text("created_at"),
            updated_at: text("updated_at"),
        })
    }
}

/// What the validator may ask about the account (rest.md §9.4 rules 7 and 8).
pub trait RoutingLookup {
    fn schedule_exists(&self, id: &str) -> bool;
    /// Users, ring groups, dial plans, voice apps, queues, shared voicemail boxes.
    fn target_exists(&self, id: &str) -> bool;
    /// True when the voice app belongs to an AI agent (notify mode is refused, §9.3).
    fn is_ai_agent_voice_app(&self, id: &str) -> bool;
}

/// A lookup that knows nothing: everything exists, no AI agents.
#[derive(Debug, Clone, Copy, Default)]
pub struct NoLookup;

impl RoutingLookup for NoLookup {
    fn schedule_exists(&self, _id: &str) -> bool {
        true
    }
    fn target_exists(&self, _id: &str) -> bool {
        true
    }
    fn is_ai_agent_voice_app(&self, _id: &str) -> bool {
        false
    }
}

/// Whether referenced ids must exist when a plan is saved. rest.md §9.4 rule 7 \[open\]: they
/// need not (seed ids such as `va_ai_receptionist` save before the voice app exists), which is
/// what ds-local uses; `MustExist` is for callers that want the stricter check.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ReferenceCheck {
    #[default]
    PrefixOnly,
    MustExist,
}

fn valid_node_id(id: &str) -> bool {
    !id.is_empty() && id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
}

/// Validates `entry_node` + `nodes` from a request body (rest.md §9.4) and returns the typed
/// graph. `own_plan` is the plan's id when updating (an `internal_dial` may not target it).
pub fn validate(
    entry_node: Option<&Value>,
    nodes: Option<&Value>,
    own_plan: Option<&str>,
    lookup: &dyn RoutingLookup,
    check: ReferenceCheck,
) -> Result<(String, Vec<Node>), PlanError> {
    let (entry, nodes) = parse_graph(entry_node, nodes)?;
    check_references(&nodes, own_plan, lookup, check)?;
    Ok((entry, nodes))
}

/// Schema and graph rules 1–6 (everything that needs no account lookup).
pub fn parse_graph(
    entry_node: Option<&Value>,
    nodes: Option<&Value>,
) -> Result<(String, Vec<Node>), PlanError> {
    let entry = match entry_node {
        None | Some(Value::Null) => return Err(PlanError::at("/entry_node", None, PlanProblem::Missing)),
        Some(Value::String(entry)) if valid_node_id(entry) => entry.clone(),
        Some(Value::String(_)) => return Err(PlanError::at("/entry_node", None, PlanProblem::BadNodeId)),
        Some(_) => return Err(PlanError::at("/entry_node", None, PlanProblem::WrongType("a string"))),
    };
    let raw_nodes = match nodes {
        None | Some(Value::Null) => return Err(PlanError::at("/nodes", None, PlanProblem::Missing)),
        Some(Value::Array(nodes)) if nodes.is_empty() => {
            return Err(PlanError::at("/nodes", None, PlanProblem::NoNodes));
        }
        Some(Value::Array(nodes)) => nodes,
        Some(_) => return Err(PlanError::at("/nodes", None, PlanProblem::WrongType("an array"))),
    };
    let mut parsed = Vec::with_capacity(raw_nodes.len());
    let mut seen = HashSet::new();
    for (index, raw) in raw_nodes.iter().enumerate() {
        let node = parse_node(raw, index)?;
        if !seen.insert(node.id.clone()) {
            return Err(PlanError::at(
                format!("/nodes/{index}/id"),
                Some(&node.id),
                PlanProblem::DuplicateNodeId(node.id.clone()),
            ));
        }
        parsed.push(node);
    }
    if !seen.contains(&entry) {
        return Err(PlanError::at("/entry_node", None, PlanProblem::UnknownNode(entry)));
    }
    for (index, node) in parsed.iter().enumerate() {
        for (key, target) in node.kind.exits() {
            let pointer = format!("/nodes/{index}/config/{key}");
            if !seen.contains(target) {
                return Err(PlanError::at(
                    pointer,
                    Some(&node.id),
                    PlanProblem::UnknownNode(target.to_owned()),
                ));
            }
            if target == node.id && !matches!(node.kind, NodeKind::Menu { .. }) {
                return Err(PlanError::at(
                    pointer,
                    Some(&node.id),
                    PlanProblem::SelfLoop(node.kind.type_name()),
                ));
            }
        }
    }
    Ok((entry, parsed))
}

/// Rules 7 (prefixes; existence when asked; no self-targeting) and 8 (notify on AI agents).
fn check_references(
    nodes: &[Node],
    own_plan: Option<&str>,
    lookup: &dyn RoutingLookup,
    check: ReferenceCheck,
) -> Result<(), PlanError> {
    let mut ai_notify = Vec::new();
    let mut first_ai_notify = None;
    for (index, node) in nodes.iter().enumerate() {
        let at = |key: &str, problem| {
            PlanError::at(format!("/nodes/{index}/config/{key}"), Some(&node.id), problem)
        };
        match &node.kind {
            NodeKind::Schedule { schedule, .. }
                if check == ReferenceCheck::MustExist && !lookup.schedule_exists(schedule) =>
            {
                return Err(at(
                    "schedule",
                    PlanProblem::UnknownReference { kind: "schedule", id: schedule.clone() },
                ));
            }
            NodeKind::InternalDial { target, .. } => {
                if own_plan.is_some_and(|own| own == target) {
                    return Err(at("target", PlanProblem::TargetsOwnPlan(target.clone())));
                }
                if check == ReferenceCheck::MustExist && !lookup.target_exists(target) {
                    return Err(at(
                        "target",
                        PlanProblem::UnknownReference { kind: "target", id: target.clone() },
                    ));
                }
            }
            NodeKind::VoiceApp { voice_app, mode, .. } => {
                if check == ReferenceCheck::MustExist && !lookup.target_exists(voice_app) {
                    return Err(at(
                        "voice_app",
                        PlanProblem::UnknownReference { kind: "voice app", id: voice_app.clone() },
                    ));
                }
                if *mode == VoiceAppMode::Notify && lookup.is_ai_agent_voice_app(voice_app) {
                    first_ai_notify.get_or_insert((index, node.id.clone()));
                    if !ai_notify.contains(voice_app) {
                        ai_notify.push(voice_app.clone());
                    }
                }
            }
            _ => {}
        }
    }
    if let Some((index, node)) = first_ai_notify {
        return Err(PlanError::at(
            format!("/nodes/{index}/config/mode"),
            Some(&node),
            PlanProblem::NotifyOnAiAgent(ai_notify),
        ));
    }
    Ok(())
}

/// Reads one node's config with pointer-aware errors.
struct Config<'a> {
    object: Option<&'a Map<String, Value>>,
    base: String,
    node: &'a str,
}

impl Config<'_> {
    fn error(&self, key: &str, problem: PlanProblem) -> PlanError {
        PlanError::at(format!("{}/{key}", self.base), Some(self.node), problem)
    }

    fn get(&self, key: &str) -> Option<&Value> {
        self.object.and_then(|object| object.get(key)).filter(|value| !value.is_null())
    }

    /// A reference with a renamed twin: the unsuffixed key wins when both are sent (§9.3).
    fn reference(&self, canonical: &str, twin: &str) -> Result<String, PlanError> {
        let (key, value) = match (self.get(canonical), self.get(twin)) {
            (Some(value), _) => (canonical, value),
            (None, Some(value)) => (twin, value),
            (None, None) => return Err(self.error(twin, PlanProblem::Missing)),
        };
        match value {
            Value::String(text) if text.trim().is_empty() => Err(self.error(key, PlanProblem::Empty)),
            Value::String(text) => Ok(text.clone()),
            _ => Err(self.error(key, PlanProblem::WrongType("a string"))),
        }
    }

    fn reference_with_prefix(
        &self,
        canonical: &str,
        twin: &str,
        fits: impl Fn(&str) -> bool,
        expected: &'static str,
    ) -> Result<String, PlanError> {
        let id = self.reference(canonical, twin)?;
        if fits(&id) {
            Ok(id)
        } else {
            let key = if self.get(canonical).is_some() { canonical } else { twin };
            Err(self.error(key, PlanProblem::WrongPrefix(id, expected)))
        }
    }

    fn exit(&self, key: &str) -> Result<Exit, PlanError> {
        match self.get(key) {
            None => Ok(None),
            Some(Value::String(node)) => Ok(Some(node.clone())),
            Some(_) => Err(self.error(key, PlanProblem::WrongType("a node id or null"))),
        }
    }

    fn seconds(&self, key: &str, min: i64, max: i64, default: Option<i64>) -> Result<Option<u32>, PlanError> {
        let Some(value) = self.get(key) else {
            return match default {
                Some(default) => Ok(Some(default as u32)),
                None => Ok(None),
            };
        };
        let Some(seconds) = value.as_i64() else {
            return Err(self.error(key, PlanProblem::WrongType("an integer number of seconds")));
        };
        if !(min..=max).contains(&seconds) {
            return Err(self.error(key, PlanProblem::OutOfRange { min, max }));
        }
        Ok(Some(seconds as u32))
    }

    fn required_seconds(&self, key: &str, min: i64, max: i64) -> Result<u32, PlanError> {
        self.seconds(key, min, max, None)?.ok_or_else(|| self.error(key, PlanProblem::Missing))
    }
}

/// Parses one wire node (`{id, type, config, position?}`) at index `index` of `/nodes`.
pub fn parse_node(raw: &Value, index: usize) -> Result<Node, PlanError> {
    let base = format!("/nodes/{index}");
    let Some(object) = raw.as_object() else {
        return Err(PlanError::at(base, None, PlanProblem::WrongType("an object")));
    };
    let id = match object.get("id") {
        Some(Value::String(id)) if valid_node_id(id) => id.clone(),
        Some(Value::String(_)) => {
            return Err(PlanError::at(format!("{base}/id"), None, PlanProblem::BadNodeId));
        }
        None | Some(Value::Null) => {
            return Err(PlanError::at(format!("{base}/id"), None, PlanProblem::Missing));
        }
        Some(_) => return Err(PlanError::at(format!("{base}/id"), None, PlanProblem::WrongType("a string"))),
    };
    let node_type = match object.get("type") {
        Some(Value::String(node_type)) => node_type.as_str(),
        None | Some(Value::Null) => {
            return Err(PlanError::at(format!("{base}/type"), Some(&id), PlanProblem::Missing));
        }
        Some(_) => {
            return Err(PlanError::at(format!("{base}/type"), Some(&id), PlanProblem::WrongType("a string")));
        }
    };
    let config_object = match object.get("config") {
        None | Some(Value::Null) => None,
        Some(Value::Object(config)) => Some(config),
        Some(_) => {
            return Err(PlanError::at(
                format!("{base}/config"),
                Some(&id),
                PlanProblem::WrongType("an object"),
            ));
        }
    };
    let config = Config { object: config_object, base: format!("{base}/config"), node: &id };
    if config_object.is_none() && node_type != "hang_up" {
        return Err(PlanError::at(format!("{base}/config"), Some(&id), PlanProblem::Missing));
    }
    let kind = match node_type {
        "schedule" => NodeKind::Schedule {
            schedule: config.reference_with_prefix("schedule", "schedule_id", is_schedule_id, "sched_")?,
            open: config.exit("open")?,
            closed: config.exit("closed")?,
            holiday: match config_object.and_then(|object| object.get("holiday")) {
                None => None,
                Some(_) => Some(config.exit("holiday")?),
            },
        },
        "internal_dial" => NodeKind::InternalDial {
            target: config.reference_with_prefix(
                "target",
                "target_id",
                |id| TargetKind::of(id).is_some(),
                "user_, rg_, qu_, dp_, svm_ or va_",
            )?,
            timeout: config.seconds("timeout", 0, 300, None)?,
            next: config.exit("next")?,
        },
        "ring_all_users" => NodeKind::RingAllUsers {
            timeout: config.required_seconds("timeout", 1, 300)?,
            next: config.exit("next")?,
        },
        "external_dial" => {
            let phone_number = match config.get("phone_number") {
                None => return Err(config.error("phone_number", PlanProblem::Missing)),
                Some(Value::String(number)) if is_e164(number) => number.clone(),
                Some(_) => return Err(config.error("phone_number", PlanProblem::BadPhoneNumber)),
            };
            NodeKind::ExternalDial {
                phone_number,
                timeout: config.required_seconds("timeout", 1, 120)?,
                next: config.exit("next")?,
            }
        }
        "menu" => NodeKind::Menu {
            prompt_clip: config.reference("prompt_clip", "prompt_clip_id")?,
            timeout: config.required_seconds("timeout", 1, 30)?,
            options: parse_options(&config)?,
            timeout_next_node: config.exit("timeout_next_node")?,
            invalid_next_node: config.exit("invalid_next_node")?,
        },
        "audio_clip" | "sound_clip" => NodeKind::AudioClip {
            clip: config.reference("clip", "clip_id")?,
            next: config.exit("next")?,
            legacy_name: node_type == "sound_clip",
        },
        "voice_app" => NodeKind::VoiceApp {
            voice_app: config.reference_with_prefix(
                "voice_app",
                "voice_app_id",
                |id| TargetKind::of(id) == Some(TargetKind::VoiceApp),
                "va_",
            )?,
            mode: match config.get("mode") {
                None => VoiceAppMode::Control,
                Some(Value::String(mode)) if mode == "control" => VoiceAppMode::Control,
                Some(Value::String(mode)) if mode == "notify" => VoiceAppMode::Notify,
                Some(_) => return Err(config.error("mode", PlanProblem::BadMode)),
            },
            next: config.exit("next")?,
        },
        "hang_up" => NodeKind::HangUp,
        other => {
            return Err(PlanError::at(
                format!("{base}/type"),
                Some(&id),
                PlanProblem::UnknownType(other.to_owned()),
            ));
        }
    };
    let position = object.get("position").filter(|value| !value.is_null()).cloned();
    Ok(Node { id, kind, position })
}

fn parse_options(config: &Config<'_>) -> Result<Vec<MenuOption>, PlanError> {
    let raw = match config.get("options") {
        None => return Err(config.error("options", PlanProblem::Missing)),
        Some(Value::Array(options)) => options,
        Some(_) => return Err(config.error("options", PlanProblem::WrongType("an array"))),
    };
    if !(1..=12).contains(&raw.len()) {
        return Err(config.error("options", PlanProblem::OutOfRange { min: 1, max: 12 }));
    }
    let mut digits: HashMap<char, usize> = HashMap::new();
    let mut options = Vec::with_capacity(raw.len());
    for (index, option) in raw.iter().enumerate() {
        let key = |field: &str| format!("options/{index}/{field}");
        let Some(object) = option.as_object() else {
            return Err(config.error(&format!("options/{index}"), PlanProblem::WrongType("an object")));
        };
        let digit = match object.get("digit") {
            Some(Value::String(text)) => {
                let mut chars = text.chars();
                match (chars.next(), chars.next()) {
                    (Some(digit), None) if digit.is_ascii_digit() || digit == '*' || digit == '#' => digit,
                    _ => return Err(config.error(&key("digit"), PlanProblem::BadDigit)),
                }
            }
            None | Some(Value::Null) => return Err(config.error(&key("digit"), PlanProblem::Missing)),
            Some(_) => return Err(config.error(&key("digit"), PlanProblem::BadDigit)),
        };
        if digits.insert(digit, index).is_some() {
            return Err(config.error(&key("digit"), PlanProblem::DuplicateDigit(digit.to_string())));
        }
        let next_node = match object.get("next_node") {
            None | Some(Value::Null) => None,
            Some(Value::String(node)) => Some(node.clone()),
            Some(_) => {
                return Err(config.error(&key("next_node"), PlanProblem::WrongType("a node id or null")));
            }
        };
        let label = match object.get("label") {
            None | Some(Value::Null) => None,
            Some(Value::String(label)) if label.chars().count() <= 20 => Some(label.clone()),
            Some(Value::String(_)) => return Err(config.error(&key("label"), PlanProblem::LabelTooLong)),
            Some(_) => return Err(config.error(&key("label"), PlanProblem::WrongType("a string"))),
        };
        options.push(MenuOption { digit, next_node, label });
    }
    Ok(options)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_unsuffixed_key_wins_and_both_are_emitted() {
        let raw = json!({ "id": "a", "type": "internal_dial",
            "config": { "target": "user_1", "target_id": "user_2", "surprise": 1 } });
        let node = parse_node(&raw, 0).unwrap();
        let out = node.to_json();
        assert_eq!(out["config"]["target"], "user_1");
        assert_eq!(out["config"]["target_id"], "user_1");
        assert!(out["config"].get("surprise").is_none(), "unknown config keys are not echoed");
    }

    #[test]
    fn hang_up_accepts_an_omitted_config_and_emits_an_empty_object() {
        let node = parse_node(&json!({ "id": "bye", "type": "hang_up" }), 0).unwrap();
        assert_eq!(node.to_json(), json!({ "id": "bye", "type": "hang_up", "config": {} }));
    }
}
