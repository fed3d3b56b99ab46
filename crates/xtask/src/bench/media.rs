//! Figure 8, ds-local media: concurrent bridged calls (user → user by extension, two WebRTC legs
//! each, Opus forwarded) driven by `ds-loadgen`'s str0m peers; ds-local's CPU and memory per
//! call from /proc, and packet loss under load. The goal is ≥ 300 calls in under one core.

use super::report::{Figure, Row, Summary};
use super::server::Server;
use super::{Options, loadgen};
use crate::process::{Env, step};
use crate::test::TempDir;

pub const TITLE: &str = "ds-local media";
const GOAL_CALLS: f64 = 300.0;

pub fn run(env: &Env, options: &Options) -> anyhow::Result<Figure> {
    let (steps, window) = if options.quick { ("10,20", "3") } else { ("50,100,200,300", "10") };
    step(&format!("bench 8/media: bridged calls at {steps}, {window} s windows"));
    let data = TempDir::new("ds-bench-media")?;
    let server = Server::start(env, &data.0, &[])?;
    let result = loadgen::run(
        env,
        &server,
        "media",
        &["--steps".into(), steps.into(), "--window".into(), window.into()],
    )?;
    drop(server);
    let mut figure = Figure::new(8, TITLE);
    let idle = result["idle_server_cores"].as_f64().unwrap_or(f64::NAN);
    for reading in result["steps"].as_array().into_iter().flatten() {
        let calls = reading["calls"].as_u64().unwrap_or(0);
        let cores = reading["server_cores"].as_f64().unwrap_or(f64::NAN);
        figure.rows.push(
            Row::new(format!("ds-local CPU, {calls} calls"), "cores", Some(Summary::single(cores))).against(
                "idle",
                &[cores],
                &[idle],
            ),
        );
        figure.rows.push(Row::new(
            format!("CPU per call, {calls} calls"),
            "ms/s",
            reading["server_cores_per_call"].as_f64().map(|c| Summary::single(c * 1000.0)),
        ));
        figure.rows.push(Row::new(
            format!("memory per call, {calls} calls"),
            "KB",
            reading["rss_per_call_bytes"].as_f64().map(|b| Summary::single(b / 1000.0)),
        ));
        figure.rows.push(Row::new(
            format!("packet loss, {calls} calls"),
            "%",
            reading["packet_loss"].as_f64().map(|l| Summary::single(l * 100.0)),
        ));
    }
    if let Some(last) = result["steps"].as_array().and_then(|s| s.last()) {
        let calls = last["calls"].as_f64().unwrap_or(0.0);
        let cores = last["server_cores"].as_f64().unwrap_or(f64::NAN);
        let per_call = last["server_cores_per_call"].as_f64().unwrap_or(f64::NAN);
        figure.rows.push(
            Row::new(
                "calls per core (projected from the last step)",
                "",
                Some(Summary::single(1.0 / per_call)),
            )
            .against("goal", &[1.0 / per_call], &[GOAL_CALLS]),
        );
        figure.note(format!(
            "{calls} calls used {cores:.2} cores of ds-local; the load client used {:.2} cores on the same 2-core \
             machine ({:.1} frames/s per leg sent, 50 expected).",
            last["client_cores"].as_f64().unwrap_or(f64::NAN),
            last["frames_per_second_per_leg"].as_f64().unwrap_or(f64::NAN)
        ));
    }
    if let Some(error) = result["first_error"].as_str() {
        figure.note(format!("{} call setups failed; first: {error}", result["failed_setups"]));
    }
    figure.note(
        "Loss = 1 − (Opus frames received by all peers ÷ frames sent by all peers) over the window; every frame \
         a leg sends is forwarded to the other leg. CPU is utime+stime of ds-local from /proc over the window; \
         memory per call is VmRSS growth over the RSS before the first call, divided by the calls.",
    );
    figure.details = result;
    Ok(figure)
}
