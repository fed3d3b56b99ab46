//! Figures 2–6, in headless Chromium (tests/bench/browser.mjs drives the pages of tests/bench/):
//! - 2 Ready (navigation → signalling connected) and 3 Call setup (Call clicked → call `active`
//!   on the echo number): the `<ds-softphone>` element (its Call button clicked by role and
//!   name) and the headless `DialStackPhone` API, each against a plain-JS page doing the same
//!   HTTP, WebSocket and RTCPeerConnection work (tests/bench/baseline.js);
//! - 4 Screen pop: test call sent → caller visible in `<ds-screen-pop>`, p50/p95, against a
//!   plain `EventSource` page;
//! - 5 Call history: `<ds-call-history>` on an account seeded with 10,000 calls (ds-loadgen seed,
//!   direct SQL as figure 9): first render, loading every row, scroll frame times, JS heap
//!   and WASM memory;
//! - 6 Leaks: JS heap (after a forced GC over CDP) and WASM memory after 100 sequential echo
//!   calls through `<ds-softphone>` in one page, against after 1.
//!
//! Like the e2e tier, ds-local and Chromium run together in a loopback-only network namespace
//! when possible.

use std::path::Path;

use anyhow::{Context, bail};
use serde_json::{Value, json};

use super::report::{Figure, Row, Status, Summary, percentile};
use super::server::Server;
use super::{Options, loadgen};
use crate::process::{Env, step};
use crate::test::TempDir;

pub const READY: &str = "Ready";
pub const CALL_SETUP: &str = "Call setup";
pub const SCREEN_POP: &str = "Screen pop";
pub const HISTORY: &str = "Call history";
pub const LEAKS: &str = "Leaks";

/// A frame slower than one 60 Hz frame (16.7 ms) beyond the timer's ±0.1 ms jitter.
const SLOW_FRAME_MS: f64 = 17.5;

/// How much each figure does: full runs, or `--quick` to check the harness.
struct Load {
    pop_calls: usize,
    history_rows: usize,
    leak_calls: usize,
}

impl Load {
    fn of(options: &Options) -> Self {
        if options.quick {
            Self { pop_calls: 3, history_rows: 1_000, leak_calls: 10 }
        } else {
            Self { pop_calls: 10, history_rows: 10_000, leak_calls: 100 }
        }
    }
}

pub fn run(env: &Env, options: &Options) -> Vec<Figure> {
    match measure(env, options) {
        Ok(figures) => figures,
        Err(e) => failed_all(&e),
    }
}

/// Every browser figure, failed with the same error (the bundle did not build, Chromium did not
/// start, …).
pub fn failed_all(e: &anyhow::Error) -> Vec<Figure> {
    [(2, READY), (3, CALL_SETUP), (4, SCREEN_POP), (5, HISTORY), (6, LEAKS)]
        .into_iter()
        .map(|(number, title)| Figure::failed(number, title, e))
        .collect()
}

fn measure(env: &Env, options: &Options) -> anyhow::Result<Vec<Figure>> {
    let load = Load::of(options);
    step(&format!(
        "bench 2-6/browser: Ready and Call setup ({} runs each), screen pop ({} × {} calls), call history \
         ({} rows, {} runs), leaks ({} calls), headless Chromium",
        options.browser_runs,
        options.browser_runs,
        load.pop_calls,
        load.history_rows,
        options.browser_runs,
        load.leak_calls
    ));
    let out = TempDir::new("ds-bench-browser")?;
    let file = out.0.join("browser.json");
    let exe = std::env::current_exe().context("cannot locate the xtask binary")?;
    let runs = options.browser_runs.to_string();
    let quick = if options.quick { "--quick" } else { "" };
    let isolated = env.command("unshare").args(["--net", "--", "true"]).output().is_some();
    if isolated {
        env.command("unshare")
            .args([
                "--net",
                "--",
                "sh",
                "-c",
                "ip link set lo up && exec \"$0\" bench --browser-in-namespace \"$1\" --runs \"$2\" $3",
            ])
            .arg(&exe)
            .arg(&file)
            .arg(&runs)
            .arg(quick)
            .run()?;
    } else {
        println!(
            "    WARNING: cannot create a network namespace (needs root and unshare); using host loopback"
        );
        in_namespace(env, options, &file)?;
    }
    let text = std::fs::read_to_string(&file).context("the browser run wrote no result")?;
    let result: Value = serde_json::from_str(&text).context("the browser run's result is not JSON")?;
    Ok(figures(&result, isolated))
}

/// The part that runs inside the namespace: the measured ds-local serving dist/ and tests/bench/,
/// an account seeded with the call history's rows, then the Playwright driver, whose JSON goes
/// to `out`.
pub fn in_namespace(env: &Env, options: &Options, out: &Path) -> anyhow::Result<()> {
    let load = Load::of(options);
    let data = TempDir::new("ds-bench-browser-data")?;
    let static_dir = env.dist_dir.clone();
    let pages = env.root.join("tests/bench");
    let server = Server::start(
        env,
        &data.0,
        &[
            "--fast-timers",
            "--static-dir",
            &static_dir.display().to_string(),
            "--examples-dir",
            &pages.display().to_string(),
        ],
    )?;
    let database = data.0.join("ds-local.sqlite3");
    let seeded = loadgen::run(
        env,
        &server,
        "seed",
        &[
            "--database".into(),
            database.display().to_string(),
            "--count".into(),
            load.history_rows.to_string(),
        ],
    )
    .context("seeding the call history's account")?;
    let history_account = seeded["account"].as_str().context("seed returned no account")?.to_owned();
    let output = env
        .command("node")
        .arg(env.root.join("tests/bench/browser.mjs"))
        .env("DS_BASE_URL", &server.base_url)
        .env("BENCH_RUNS", options.browser_runs.to_string())
        .env("BENCH_POP_CALLS", load.pop_calls.to_string())
        .env("BENCH_LEAK_CALLS", load.leak_calls.to_string())
        .env("DS_HISTORY_ACCOUNT", &history_account)
        .env("DS_HISTORY_ROWS", load.history_rows.to_string())
        .0
        .stderr(std::process::Stdio::inherit())
        .output()
        .context("cannot start node")?;
    drop(server);
    let stdout = String::from_utf8_lossy(&output.stdout);
    if !output.status.success() {
        bail!("tests/bench/browser.mjs failed ({}): {stdout}", output.status);
    }
    let last = stdout.lines().rev().find(|l| !l.trim().is_empty()).context("browser.mjs printed nothing")?;
    let mut result: Value = serde_json::from_str(last).context("browser.mjs printed no JSON")?;
    result["seed"] = seeded;
    std::fs::write(out, result.to_string())?;
    Ok(())
}

/// `key` of every entry of the array at `path` (NaN where missing: a failed run).
fn samples(result: &Value, path: &[&str], key: &str) -> Vec<f64> {
    let mut node = result;
    for part in path {
        node = &node[*part];
    }
    node.as_array().into_iter().flatten().map(|r| r[key].as_f64().unwrap_or(f64::NAN)).collect()
}

fn figures(result: &Value, isolated: bool) -> Vec<Figure> {
    let mut figures = ready_and_call(result);
    figures.push(screen_pop(result));
    figures.push(call_history(result));
    figures.push(leaks(result));
    let place = if isolated { "a loopback-only network namespace" } else { "host loopback (no namespace)" };
    let errors: Vec<&str> =
        result["errors"].as_array().into_iter().flatten().filter_map(Value::as_str).collect();
    for figure in &mut figures {
        figure.note(format!("Headless Chromium and the measured ds-local build (--fast-timers) in {place}."));
        let prefixes: &[&str] = match figure.number {
            2 | 3 => &["baseline:", "ours:", "element:"],
            4 => &["screen-pop"],
            5 => &["history:"],
            _ => &["leaks:"],
        };
        let mine: Vec<&&str> = errors.iter().filter(|e| prefixes.iter().any(|p| e.starts_with(p))).collect();
        if let Some(first) = mine.first() {
            figure.note(format!("{} failed runs; first: {first}", mine.len()));
        }
        if figure.rows.iter().all(|r| r.ours.is_none()) && figure.status == Status::Measured {
            figure.status = Status::Failed;
        }
    }
    figures
}

/// Figures 2 and 3: the element and the headless API, each against the plain-JS page.
fn ready_and_call(result: &Value) -> Vec<Figure> {
    let mut ready = Figure::new(2, READY);
    let mut call = Figure::new(3, CALL_SETUP);
    for (figure, key, metric) in [
        (&mut ready, "ready", "navigation → connected"),
        (&mut call, "call", "Call clicked → active (echo number)"),
    ] {
        let baseline = samples(result, &["baseline"], key);
        let mut details = json!({ "baseline_ms": baseline });
        for (page, what) in [("element", "<ds-softphone>"), ("ours", "headless API")] {
            let ours = samples(result, &[page], key);
            // Pair run i of ours with run i of the baseline (they ran back to back); a failed run
            // of either drops the pair from the ratio.
            let (paired_ours, paired_base): (Vec<f64>, Vec<f64>) = ours
                .iter()
                .zip(&baseline)
                .filter(|(o, b)| !o.is_nan() && !b.is_nan())
                .map(|(o, b)| (*o, *b))
                .unzip();
            let mut row = Row::new(format!("{metric}, {what}"), "ms", Summary::of(&ours)).against(
                "plain JS",
                &paired_ours,
                &paired_base,
            );
            row.baseline = Summary::of(&baseline);
            figure.rows.push(row);
            details[format!("{page}_ms")] = json!(ours);
        }
        figure.details = details;
    }
    ready.note(
        "<ds-softphone>: tests/bench/element.js, navigation start → the element's ds-connection-change \
         {status: connected}; the page loads the embed bundle as /elements/index.js does (init, defineAll). \
         Headless API: tests/bench/ours.js, navigation start → DialStackPhone.connect() resolved. Both include \
         fetching and compiling the wasm. Baseline: tests/bench/baseline.js, one fetch for the token and the \
         WebSocket authenticate handshake. Fresh browser context per run (empty cache), pages alternating, \
         one uncounted warm-up each.",
    );
    call.note(
        "<ds-softphone>: the driver types +15005550001 into the element's 'Number to call' box and clicks \
         its 'Call' button (by role and name); measured in the page from the click (capture listener) to the \
         element's call state showing active (MutationObserver on the shadow root). Headless API: call() → \
         callUpdated with state active. Baseline: a real RTCPeerConnection, complete offer in call.create, \
         call.answered. All open the fake microphone; ds-local's --fast-timers echo number answers after \
         300 ms, which all pay.",
    );
    vec![ready, call]
}

/// Figure 4: p50/p95 over every test call of every run, ours vs the plain EventSource page.
fn screen_pop(result: &Value) -> Figure {
    let mut figure = Figure::new(4, SCREEN_POP);
    let pop = &result["pop"];
    let ours_sent = samples(pop, &["ours"], "sentToShown");
    let base_sent = samples(pop, &["baseline"], "sentToShown");
    let ours_received = samples(pop, &["ours"], "receivedToShown");
    let base_received = samples(pop, &["baseline"], "receivedToShown");
    let server = samples(pop, &["ours"], "sentToReceived");
    for (metric, ours, base) in [
        ("test call sent → caller visible", &ours_sent, &base_sent),
        ("SSE message in the page → caller visible", &ours_received, &base_received),
    ] {
        figure.rows.push(
            Row::new(format!("{metric}, p50 [min–max]"), "ms", Summary::of(ours))
                .against_summary("plain EventSource", Summary::of(base)),
        );
        figure.rows.push(
            Row::new(format!("{metric}, p95"), "ms", Summary::percentile(ours, 95.0))
                .against_summary("plain EventSource", Summary::percentile(base, 95.0)),
        );
    }
    figure.note(format!(
        "{} calls per page (POST /v1/test_helpers/calls sent from the page, no-answer, 1 s ring, 100 ms apart), \
         runs alternating the pages, each in a fresh browser context. ds-local does not expose the event's \
         emit time in ms (the envelope's created_at has whole seconds), so the emit is bounded by the \
         request's send time on the page's clock (performance.now()): 'sent → visible' includes the HTTP \
         request, the hub, the event's SQLite commit and the SSE write (sent → SSE message in the page: \
         p50 {:.1} ms for ours). 'SSE message → visible' starts when the call.incoming message is dispatched \
         to the page (a listener added first to every EventSource) and is the element's own work. Visible = \
         the caller's name in the element's shadow DOM (MutationObserver). <ds-screen-pop> runs with its \
         defaults (it also fetches the caller's 5 recent calls).",
        ours_sent.len(),
        Summary::of(&server).map_or(f64::NAN, |s| s.median),
    ));
    figure.details = json!({
        "ours": pop["ours"],
        "baseline": pop["baseline"],
    });
    figure
}

/// Figure 5: one value per run (a fresh page each), median [min–max] over runs.
fn call_history(result: &Value) -> Figure {
    let rows_wanted = result["settings"]["historyRows"].as_u64().unwrap_or(0);
    let mut figure = Figure::new(5, HISTORY);
    let runs: Vec<&Value> = result["history"].as_array().into_iter().flatten().collect();
    let each = |f: &dyn Fn(&Value) -> Option<f64>| -> Vec<f64> {
        runs.iter().map(|r| f(r).unwrap_or(f64::NAN)).collect()
    };
    let deltas = |r: &Value| -> Vec<f64> {
        r["frameDeltas"].as_array().into_iter().flatten().filter_map(Value::as_f64).collect()
    };
    let mb = |v: Option<f64>| v.map(|b| b / 1e6);
    let rows_loaded = each(&|r| r["rows"].as_f64());
    figure.rows.push(Row::new(
        "navigation → first rows rendered",
        "ms",
        Summary::of(&each(&|r| r["firstRender"].as_f64())),
    ));
    figure.rows.push(Row::new(
        format!("load every row ({rows_wanted}, 'Load more' × 100 rows)"),
        "ms",
        Summary::of(&each(&|r| r["loadAllMs"].as_f64())),
    ));
    for (metric, p) in [("scroll frame time p50", 50.0), ("scroll frame time p95", 95.0)] {
        figure.rows.push(Row::new(metric, "ms", Summary::of(&each(&|r| percentile(&deltas(r), p)))));
    }
    figure.rows.push(Row::new(
        "scroll frame time max",
        "ms",
        Summary::of(&each(&|r| deltas(r).into_iter().reduce(f64::max))),
    ));
    let frames = runs.first().map_or(0, |r| deltas(r).len());
    // A 60 Hz timer's deltas jitter by ±0.1 ms around 16.7; a frame over 17.5 ms missed a vsync.
    figure.rows.push(Row::new(
        format!("scroll frames over 16.7 ms (of {frames})"),
        "",
        Summary::of(&each(&|r| Some(deltas(r).iter().filter(|d| **d > SLOW_FRAME_MS).count() as f64))),
    ));
    let heap_all = each(&|r| mb(r["heapAll"].as_f64()));
    let heap_first = each(&|r| mb(r["heapFirstPage"].as_f64()));
    figure.rows.push(
        Row::new(format!("JS heap after GC, {rows_wanted} rows loaded"), "MB", Summary::of(&heap_all))
            .against("first page (100 rows)", &heap_all, &heap_first),
    );
    let wasm_all = each(&|r| mb(r["wasmAll"].as_f64()));
    let wasm_first = each(&|r| mb(r["wasmFirstPage"].as_f64()));
    figure.rows.push(
        Row::new(format!("WASM memory, {rows_wanted} rows loaded"), "MB", Summary::of(&wasm_all)).against(
            "first page (100 rows)",
            &wasm_all,
            &wasm_first,
        ),
    );
    if rows_loaded.iter().any(|n| *n as u64 != rows_wanted) {
        figure.note(format!("rows loaded per run: {rows_loaded:?}, expected {rows_wanted} each"));
    }
    figure.note(format!(
        "{} runs, each a fresh page on an account seeded with {rows_wanted} calls by direct SQL insert \
         (ds-loadgen seed, as figure 9); the element uses an account session and limit=100 (its maximum \
         page). First render: navigation start → the first row in the shadow DOM (includes the wasm). \
         Scroll: the list's scrollTop set from top to bottom in 240 equal steps, one per \
         requestAnimationFrame (each step jumps ~{} rows, so every frame renders a new window: the worst \
         case), frame time = rAF-to-rAF delta; 'over 16.7 ms' counts deltas over 17.5 ms (a missed vsync, \
         not the 60 Hz timer's ±0.1 ms jitter). Heap: Runtime.getHeapUsage after HeapProfiler.collectGarbage \
         over CDP; WASM memory: the module's memory.buffer.byteLength (the page initialises the bundle \
         itself to keep the module's exports). Headless Chromium without a GPU: frames are paced by its \
         own 60 Hz timer.",
        runs.len(),
        rows_wanted / 240,
    ));
    figure.details = json!({ "runs": result["history"], "seed": result["seed"] });
    figure
}

/// A figure-6 run's reading (`heap` or `wasm`, in MB) after `calls` calls, if checkpointed.
fn leak_checkpoint(run: &Value, calls: u64, key: &str) -> Option<f64> {
    run["checkpoints"]
        .as_array()?
        .iter()
        .find(|c| c["calls"].as_u64() == Some(calls))
        .and_then(|c| c[key].as_f64())
        .map(|bytes| bytes / 1e6)
}

/// The number of calls of a figure-6 run's last checkpoint.
fn leak_calls(run: &Value) -> u64 {
    run["checkpoints"].as_array().and_then(|c| c.last()).and_then(|c| c["calls"].as_u64()).unwrap_or(0)
}

/// Per run: (reading after its last call, reading after 1 call, growth per call in KB).
fn leak_growth(runs: &[&Value], key: &str) -> (Vec<f64>, Vec<f64>, Vec<f64>) {
    let mut after_n = Vec::new();
    let mut after_1 = Vec::new();
    let mut growth = Vec::new();
    for run in runs {
        let n = leak_calls(run);
        let last = leak_checkpoint(run, n, key).unwrap_or(f64::NAN);
        let first = leak_checkpoint(run, 1, key).unwrap_or(f64::NAN);
        after_n.push(last);
        after_1.push(first);
        growth.push((last - first) * 1e3 / (n.saturating_sub(1).max(1)) as f64);
    }
    (after_n, after_1, growth)
}

/// Figure 6: checkpoints of one page making sequential calls; after N calls vs after 1, and the
/// JS heap's growth per call against the plain-JS page making the same calls.
fn leaks(result: &Value) -> Figure {
    let mut figure = Figure::new(6, LEAKS);
    let runs: Vec<&Value> = result["leaks"].as_array().into_iter().flatten().collect();
    let floor: Vec<&Value> = result["leaksBaseline"].as_array().into_iter().flatten().collect();
    let n = runs.first().map_or(0, |r| leak_calls(r));
    for (key, what) in [("heap", "JS heap after GC"), ("wasm", "WASM memory")] {
        let (after_n, after_1, growth) = leak_growth(&runs, key);
        figure.rows.push(Row::new(format!("{what} after {n} calls"), "MB", Summary::of(&after_n)).against(
            "after 1 call",
            &after_n,
            &after_1,
        ));
        let row = Row::new(format!("{what}: growth per call, 1 → {n}"), "KB", Summary::of(&growth));
        figure.rows.push(if key == "heap" && !floor.is_empty() {
            let (_, _, floor_growth) = leak_growth(&floor, key);
            row.against("plain-JS page", &growth, &floor_growth)
        } else {
            row
        });
    }
    let setup: Vec<f64> = runs
        .iter()
        .flat_map(|r| r["callMs"].as_array().into_iter().flatten().filter_map(Value::as_f64))
        .collect();
    let first_ten: Vec<f64> = setup.iter().take(10).copied().collect();
    let last_ten: Vec<f64> = setup.iter().rev().take(10).copied().collect();
    figure.rows.push(
        Row::new(format!("call setup, last 10 of {n} calls"), "ms", Summary::of(&last_ten))
            .against_summary("first 10 calls", Summary::of(&first_ten)),
    );
    figure.note(format!(
        "{} run(s): one page with <ds-softphone> places {n} calls to the echo number one after another through \
         its Call button (by role and name), hanging up with its Hang up button and waiting for ds-call-ended \
         and the Call button to be back. JS heap: Runtime.getHeapUsage after two \
         HeapProfiler.collectGarbage over CDP; WASM memory: the module's memory.buffer.byteLength (it never \
         shrinks: it is the high-water mark of the wasm heap). The baseline of the JS heap's growth is the \
         plain-JS page (baseline.js) making the same {n} calls with a bare RTCPeerConnection each, closed at \
         call.ended: what the browser itself keeps per call. Checkpoints after 0, 1, 10, 25, 50, 75 and {n} \
         calls are in report.json.",
        runs.len()
    ));
    figure.details = json!({ "runs": result["leaks"], "baseline_runs": result["leaksBaseline"] });
    figure
}
