//! ds-routing: the call-routing core of ds-local, without any IO.
//!
//! - [`model`]: the platform's JSON objects for routing configuration (rest.md §5–§10).
//! - [`plan`]: dial-plan nodes (rest.md §9.3), parsed from JSON with pointer-named errors and
//!   validated as a graph (rest.md §9.4).
//! - [`schedule`]: schedule validation and `open` / `closed` / `holiday` evaluation in the
//!   schedule's IANA zone (rest.md §7.3); the instant is always passed in.
//! - [`walker`]: a state machine that walks a call through a plan (rest.md §9.5), plus DID and
//!   target dispatch (rest.md §12.2) and the call-log outcome (rest.md §12.3). It never rings
//!   anything: it returns [`walker::Step`] instructions and is told their [`walker::Outcome`].

pub mod ids;
pub mod model;
pub mod plan;
pub mod schedule;
pub mod walker;

pub use ids::{TargetKind, is_schedule_id};
pub use model::{
    Extension, Holiday, InboundRouting, PhoneNumber, RingGroup, RingGroupMember, Schedule, TimeoutAction,
    WeeklyRange,
};
pub use plan::{
    DialPlan, Exit, MenuOption, NoLookup, Node, NodeKind, PlanError, PlanProblem, ReferenceCheck,
    RoutingLookup, VoiceAppMode,
};
pub use schedule::{CompiledSchedule, FieldError, ScheduleState};
pub use walker::{CallOutcome, CallStatus, Outcome, RoutingSnapshot, Step, Walker};
