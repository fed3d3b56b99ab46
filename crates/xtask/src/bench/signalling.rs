//! Figure 7, ds-local signalling: `call.create` → `call.trying` p50/p99 with 1, 100 and 1,000
//! concurrent signed-in sessions (each placing calls back to back), against `ping` → `pong` on
//! the same sockets at the same concurrency as the floor; then idle signed-in sessions held and memory per session up
//! to just under the 20,000 file-descriptor limit. Each part runs a fresh release ds-local; the
//! load client is `ds-loadgen`, its own process.

use serde_json::{Value, json};

use super::report::{Figure, Row, Summary};
use super::server::{FD_LIMIT, Server};
use super::{Options, loadgen};
use crate::process::{Env, step};
use crate::test::TempDir;

pub const TITLE: &str = "ds-local signalling";
pub const SESSIONS_TITLE: &str = "ds-local idle sessions";

pub fn run(env: &Env, options: &Options) -> Vec<Figure> {
    let latency = latency(env, options).unwrap_or_else(|e| Figure::failed(7, TITLE, &e));
    let sessions = sessions(env, options).unwrap_or_else(|e| Figure::failed(7, SESSIONS_TITLE, &e));
    vec![latency, sessions]
}

fn latency(env: &Env, options: &Options) -> anyhow::Result<Figure> {
    let (levels, samples) = if options.quick { ("1,10,100", "200") } else { ("1,100,1000", "1000") };
    step(&format!("bench 7/signalling: call.create → call.trying with {levels} sessions"));
    let data = TempDir::new("ds-bench-signalling")?;
    let server = Server::start(env, &data.0, &[])?;
    let result = loadgen::run(
        env,
        &server,
        "signalling",
        &["--levels".into(), levels.into(), "--samples".into(), samples.into()],
    )?;
    drop(server);
    let mut figure = Figure::new(7, TITLE);
    for level in result["levels"].as_array().into_iter().flatten() {
        let sessions = level["sessions"].as_u64().unwrap_or(0);
        let create = &level["create_to_trying_ms"];
        let ping = &level["ping_to_pong_ms"];
        for (quantile, label) in [("p50", "p50"), ("p99", "p99")] {
            let ours = create[quantile].as_f64().unwrap_or(f64::NAN);
            let floor = ping[quantile].as_f64().unwrap_or(f64::NAN);
            let summary = |q: &Value| {
                let mut s = Summary::single(q[quantile].as_f64().unwrap_or(f64::NAN));
                s.samples = q["count"].as_u64().unwrap_or(0) as usize;
                s
            };
            let mut row = Row::new(
                format!("call.create→call.trying {label}, {sessions} sessions"),
                "ms",
                Some(summary(create)),
            )
            .against("ping→pong", &[ours], &[floor]);
            row.baseline = Some(summary(ping));
            figure.rows.push(row);
        }
        if level["sign_in_failures"].as_u64().unwrap_or(0) > 0 {
            figure.note(format!(
                "{sessions} sessions measured: {} more did not sign in within 30 s: {}",
                level["sign_in_failures"],
                level["first_sign_in_error"].as_str().unwrap_or("?")
            ));
        }
        if level["errors"].as_u64().unwrap_or(0) > 0 {
            figure.note(format!(
                "{sessions} sessions: {} sessions failed: {}",
                level["errors"],
                level["first_error"].as_str().unwrap_or("?")
            ));
        }
    }
    figure.note(format!(
        "All sessions at once: first each pings back to back (the floor), then each places calls to the \
         ringing test number, hanging up after call.trying; about {samples} of each per level. Latency is \
         measured in ds-loadgen from sending the frame to reading the reply."
    ));
    figure.details = result;
    Ok(figure)
}

fn sessions(env: &Env, options: &Options) -> anyhow::Result<Figure> {
    // Just under the fd limit: ds-local needs a few dozen descriptors of its own (listener,
    // SQLite, media socket, epoll, stdio), and the load client holds the other end of each.
    let target = FD_LIMIT - 500;
    let steps = if options.quick { "200,1000".to_owned() } else { format!("1000,5000,10000,{target}") };
    step(&format!("bench 7/sessions: idle signed-in sessions up to {steps}"));
    let data = TempDir::new("ds-bench-sessions")?;
    let server = Server::start(env, &data.0, &[])?;
    let result = loadgen::run(env, &server, "sessions", &["--steps".into(), steps])?;
    drop(server);
    let mut figure = Figure::new(7, SESSIONS_TITLE);
    let held = result["held"].as_f64().unwrap_or(0.0);
    let before = result["rss_before_bytes"].as_f64().unwrap_or(f64::NAN);
    let last = result["steps"].as_array().and_then(|s| s.last()).cloned().unwrap_or(Value::Null);
    figure.rows.push(Row::new("idle signed-in sessions held", "", Some(Summary::single(held))).against(
        "target",
        &[held],
        &[result["target"].as_f64().unwrap_or(f64::NAN)],
    ));
    figure.rows.push(
        Row::new(
            format!("ds-local RSS with {held} sessions"),
            "MB",
            Some(Summary::single(last["rss_bytes"].as_f64().unwrap_or(f64::NAN) / 1e6)),
        )
        .against(
            "no sessions",
            &[last["rss_bytes"].as_f64().unwrap_or(f64::NAN) / 1e6],
            &[before / 1e6],
        ),
    );
    let per_session: Vec<f64> = result["steps"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|s| s["rss_per_session_bytes"].as_f64())
        .collect();
    let mut per = Summary::of(&per_session.iter().map(|b| b / 1000.0).collect::<Vec<_>>());
    if let Some(p) = per.as_mut() {
        p.median = last["rss_per_session_bytes"].as_f64().unwrap_or(p.median) / 1000.0;
    }
    figure.rows.push(Row::new("memory per session (at the last step; range over steps)", "KB", per));
    figure.rows.push(Row::new(
        format!("ds-local CPU while {held} sessions idle"),
        "cores",
        result["idle_server_cores"].as_f64().map(Summary::single),
    ));
    if let Some(error) = result["first_error"].as_str() {
        figure.note(format!("stopped adding sessions at the first failure: {error}"));
    }
    if let Some(why) = result["first_drop_reason"].as_str() {
        figure.note(format!(
            "{} sessions were closed by the server while idle; first: {why}",
            result["dropped_while_idle"]
        ));
    }
    figure.note(
        "Sessions are real WebSockets that authenticated (five per user, the per-user cap) and answer the \
         server's pings; memory is ds-local's VmRSS from /proc after each step settles, minus VmRSS before the \
         first session.",
    );
    figure.details = json!(result);
    Ok(figure)
}
