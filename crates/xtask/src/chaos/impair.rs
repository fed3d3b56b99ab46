//! netem's `loss 10% delay 40ms 20ms` on `lo`, done in this process when the kernel has no
//! `sch_netem` (this machine's kernel is built without it: `tc` answers "Specified qdisc kind is
//! unknown"). An iptables rule sends every UDP packet leaving through `lo` (the call's RTP and
//! RTCP, both ways) to an NFQUEUE; this thread drops 10 % of them and releases the others after
//! 40 ms ± 20 ms (uniform, like netem's jitter without a distribution table, so packets can
//! reorder as they do under netem). TCP (signalling, REST) is left alone.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};

const QUEUE: u16 = 11;
const LOSS: f64 = 0.10;
const DELAY_MS: f64 = 40.0;
const JITTER_MS: f64 = 20.0;

/// The iptables rule, as added and deleted.
fn rule(action: &str) -> Vec<String> {
    let queue = QUEUE.to_string();
    // --queue-bypass: should this thread be gone, packets pass instead of vanishing.
    [action, "OUTPUT", "-o", "lo", "-p", "udp", "-j", "NFQUEUE", "--queue-num", &queue, "--queue-bypass"]
        .iter()
        .map(|s| (*s).to_owned())
        .collect()
}

pub struct Impairment {
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
    pub seen: Arc<AtomicU64>,
    pub dropped: Arc<AtomicU64>,
}

impl Impairment {
    pub fn start() -> anyhow::Result<Self> {
        let mut queue = nfq::Queue::open().context("cannot open an NFQUEUE netlink socket")?;
        queue.bind(QUEUE).context("cannot bind the NFQUEUE")?;
        queue.set_nonblocking(true);
        let added = std::process::Command::new("iptables")
            .args(rule("-I"))
            .status()
            .context("cannot run iptables (apt-get install iptables)")?;
        if !added.success() {
            bail!("iptables refused the NFQUEUE rule");
        }
        let stop = Arc::new(AtomicBool::new(false));
        let seen = Arc::new(AtomicU64::new(0));
        let dropped = Arc::new(AtomicU64::new(0));
        let (thread_stop, thread_seen, thread_dropped) = (stop.clone(), seen.clone(), dropped.clone());
        let thread = std::thread::spawn(move || {
            run(&mut queue, &thread_stop, &thread_seen, &thread_dropped);
            let _ = queue.unbind(QUEUE);
        });
        Ok(Self { stop, thread: Some(thread), seen, dropped })
    }

    pub fn stop(mut self) {
        self.shut();
    }

    fn shut(&mut self) {
        let _ = std::process::Command::new("iptables").args(rule("-D")).status();
        self.stop.store(true, Ordering::Relaxed);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

impl Drop for Impairment {
    fn drop(&mut self) {
        if self.thread.is_some() {
            self.shut();
        }
    }
}

fn run(queue: &mut nfq::Queue, stop: &AtomicBool, seen: &AtomicU64, dropped: &AtomicU64) {
    let mut random = Random::seeded();
    let mut held: Vec<(Instant, nfq::Message)> = Vec::new();
    while !stop.load(Ordering::Relaxed) {
        let mut idle = true;
        while let Ok(mut message) = queue.recv() {
            idle = false;
            seen.fetch_add(1, Ordering::Relaxed);
            if random.unit() < LOSS {
                dropped.fetch_add(1, Ordering::Relaxed);
                message.set_verdict(nfq::Verdict::Drop);
                let _ = queue.verdict(message);
            } else {
                let delay = DELAY_MS + (random.unit() * 2.0 - 1.0) * JITTER_MS;
                held.push((Instant::now() + Duration::from_micros((delay * 1000.0) as u64), message));
            }
        }
        let now = Instant::now();
        let mut index = 0;
        while index < held.len() {
            if held[index].0 <= now {
                let (_, mut message) = held.swap_remove(index);
                message.set_verdict(nfq::Verdict::Accept);
                let _ = queue.verdict(message);
                idle = false;
            } else {
                index += 1;
            }
        }
        if idle {
            std::thread::sleep(Duration::from_micros(500));
        }
    }
    // Whatever is still held goes out now rather than being lost with the queue.
    for (_, mut message) in held {
        message.set_verdict(nfq::Verdict::Accept);
        let _ = queue.verdict(message);
    }
}

/// xorshift64*: enough randomness for dropping packets, without a dependency.
struct Random(u64);

impl Random {
    fn seeded() -> Self {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0x9e37_79b9_7f4a_7c15, |d| d.as_nanos() as u64);
        Self(nanos | 1)
    }

    /// Uniform in [0, 1).
    fn unit(&mut self) -> f64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        (self.0.wrapping_mul(0x2545_f491_4f6c_dd1d) >> 11) as f64 / (1u64 << 53) as f64
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_random_source_stays_in_the_unit_interval_and_drops_about_ten_percent() {
        let mut random = Random(12345);
        let draws: Vec<f64> = (0..100_000).map(|_| random.unit()).collect();
        assert!(draws.iter().all(|d| (0.0..1.0).contains(d)));
        let below = draws.iter().filter(|d| **d < LOSS).count();
        assert!((9_000..11_000).contains(&below), "{below} of 100000 below 0.1");
    }
}
