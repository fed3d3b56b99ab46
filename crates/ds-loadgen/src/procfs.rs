//! A process's CPU time and memory from /proc (Linux).

use anyhow::Context;

/// Clock ticks per second of /proc/PID/stat times (`getconf CLK_TCK`; 100 on Linux x86).
const TICKS_PER_SECOND: f64 = 100.0;

/// user + system CPU seconds used so far by `pid`.
pub fn cpu_seconds(pid: u32) -> anyhow::Result<f64> {
    let stat =
        std::fs::read_to_string(format!("/proc/{pid}/stat")).with_context(|| format!("process {pid}"))?;
    // The command name may contain spaces; fields are counted after its closing parenthesis.
    let after = &stat[stat.rfind(')').context("malformed stat")? + 2..];
    let fields: Vec<&str> = after.split_whitespace().collect();
    // utime and stime are fields 14 and 15 of the whole line: 11 and 12 after `) state`.
    let utime: f64 = fields.get(11).context("no utime")?.parse()?;
    let stime: f64 = fields.get(12).context("no stime")?.parse()?;
    Ok((utime + stime) / TICKS_PER_SECOND)
}

/// Resident memory of `pid`, bytes.
pub fn rss_bytes(pid: u32) -> anyhow::Result<u64> {
    let status =
        std::fs::read_to_string(format!("/proc/{pid}/status")).with_context(|| format!("process {pid}"))?;
    let kib: u64 = status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|r| r.split_whitespace().next())
        .context("no VmRSS")?
        .parse()?;
    Ok(kib * 1024)
}

/// Open file descriptors of `pid`.
pub fn open_fds(pid: u32) -> anyhow::Result<usize> {
    Ok(std::fs::read_dir(format!("/proc/{pid}/fd"))?.count())
}

/// Datagrams the kernel dropped because the socket's receive buffer was full, summed over the
/// UDP sockets `pid` holds (the `drops` column of /proc/net/udp and udp6, matched by inode).
/// This tells loss at the server's socket apart from loss elsewhere (e.g. a starved client).
pub fn udp_receive_drops(pid: u32) -> anyhow::Result<u64> {
    let mut inodes = std::collections::HashSet::new();
    for entry in std::fs::read_dir(format!("/proc/{pid}/fd")).with_context(|| format!("process {pid}"))? {
        let Ok(link) = std::fs::read_link(entry?.path()) else { continue };
        if let Some(inode) =
            link.to_str().and_then(|l| l.strip_prefix("socket:[")).and_then(|l| l.strip_suffix(']'))
        {
            inodes.insert(inode.to_owned());
        }
    }
    let mut drops = 0;
    for table in ["/proc/net/udp", "/proc/net/udp6"] {
        let Ok(text) = std::fs::read_to_string(table) else { continue };
        drops += udp_drops_of(&text, &inodes);
    }
    Ok(drops)
}

/// Sums the `drops` column (the last) of the rows of a /proc/net/udp table whose inode (the
/// tenth column) is in `inodes`.
fn udp_drops_of(table: &str, inodes: &std::collections::HashSet<String>) -> u64 {
    table
        .lines()
        .skip(1)
        .filter_map(|line| {
            let fields: Vec<&str> = line.split_whitespace().collect();
            let inode = fields.get(9)?;
            inodes.contains(*inode).then(|| fields.last()?.parse::<u64>().ok()).flatten()
        })
        .sum()
}

/// CPU use of `pid` between two readings.
pub struct CpuWindow {
    pid: u32,
    cpu: f64,
    at: std::time::Instant,
}

impl CpuWindow {
    pub fn start(pid: u32) -> anyhow::Result<Self> {
        Ok(Self { pid, cpu: cpu_seconds(pid)?, at: std::time::Instant::now() })
    }

    /// Cores used on average since `start` (1.0 = one core fully busy).
    pub fn cores(&self) -> anyhow::Result<f64> {
        let elapsed = self.at.elapsed().as_secs_f64();
        Ok((cpu_seconds(self.pid)? - self.cpu) / elapsed.max(1e-9))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn this_process_has_cpu_time_memory_and_descriptors() {
        let pid = std::process::id();
        let busy = (0..2_000_000u64).fold(0u64, |a, b| a.wrapping_add(b * b));
        assert!(busy > 0);
        assert!(cpu_seconds(pid).unwrap() >= 0.0);
        assert!(rss_bytes(pid).unwrap() > 100_000);
        assert!(open_fds(pid).unwrap() >= 3);
    }

    #[test]
    fn udp_drops_are_summed_over_the_sockets_of_the_process_only() {
        let table = "   sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode ref pointer drops\n\
             6713: 0100007F:D989 00000000:0000 07 00000000:00000000 00:00000000 00000000     0        0 1739002 2 00000000110f99f6 12\n\
             9167: 0100007F:A31F 00000000:0000 07 00000000:00000000 00:00000000 00000000     0        0 1738181 2 00000000de8da82e 30\n";
        let ours: std::collections::HashSet<String> = ["1739002".to_owned()].into();
        assert_eq!(udp_drops_of(table, &ours), 12);
        assert_eq!(udp_drops_of(table, &std::collections::HashSet::new()), 0);
    }

    #[test]
    fn an_unknown_process_is_an_error_not_a_zero() {
        assert!(cpu_seconds(u32::MAX).is_err());
        assert!(rss_bytes(u32::MAX).is_err());
    }
}
