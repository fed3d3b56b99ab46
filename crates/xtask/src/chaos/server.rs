//! The ds-local under test: started with the demo account, the built bundle and the chaos pages
//! (`tests/chaos/` under `/examples/`), SIGKILLed and restarted on the same port and data dir.

use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use anyhow::{Context, bail};

use crate::process::Env;

pub struct DsLocal {
    binary: PathBuf,
    data_dir: PathBuf,
    static_dir: PathBuf,
    pages_dir: PathBuf,
    root: PathBuf,
    path: std::ffi::OsString,
    addr: Option<SocketAddr>,
    child: Option<Child>,
    pub starts: u32,
}

impl DsLocal {
    pub fn start(env: &Env, data_dir: &Path) -> anyhow::Result<Self> {
        let mut server = Self {
            binary: env.target_dir.join("debug/ds-local"),
            data_dir: data_dir.to_path_buf(),
            static_dir: env.dist_dir.clone(),
            pages_dir: env.root.join("tests/chaos"),
            root: env.root.clone(),
            path: env.path.clone(),
            addr: None,
            child: None,
            starts: 0,
        };
        server.spawn()?;
        Ok(server)
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr.expect("started")
    }

    /// Starts ds-local (again): the first time on a free port, then on the same one, so the
    /// proxy, the pages and the webhook endpoint keep their addresses across a kill.
    pub fn spawn(&mut self) -> anyhow::Result<()> {
        if self.child.is_some() {
            bail!("ds-local is already running");
        }
        let listen = self.addr.map_or_else(|| "127.0.0.1:0".to_owned(), |a| a.to_string());
        // Real timers (30 s survival grace, 1 s answer delay): the scenarios test the shipped
        // behaviour, not the compressed one of the test tiers.
        let mut child = std::process::Command::new(&self.binary)
            .current_dir(&self.root)
            .env("PATH", &self.path)
            .args(["--listen", &listen, "--demo", "--data-dir"])
            .arg(&self.data_dir)
            .arg("--static-dir")
            .arg(&self.static_dir)
            .arg("--examples-dir")
            .arg(&self.pages_dir)
            .stdout(Stdio::piped())
            .spawn()
            .with_context(|| format!("cannot start {}", self.binary.display()))?;
        let stdout = child.stdout.take().expect("stdout was configured as piped");
        let (tx, rx) = mpsc::channel();
        let generation = self.starts + 1;
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if let Some(url) = line.strip_prefix("ds-local listening on ") {
                    let _ = tx.send(url.trim().to_owned());
                }
                if line.starts_with("ds-local") {
                    println!("    [ds-local #{generation}] {line}");
                }
            }
        });
        let url = match rx.recv_timeout(Duration::from_secs(60)) {
            Ok(url) => url,
            Err(_) => {
                let _ = child.kill();
                let _ = child.wait();
                bail!("ds-local did not start listening on {listen} within 60 s");
            }
        };
        let addr: SocketAddr = url
            .trim_start_matches("http://")
            .trim_end_matches('/')
            .parse()
            .with_context(|| format!("ds-local printed an odd address: {url}"))?;
        self.addr = Some(addr);
        self.child = Some(child);
        self.starts += 1;
        Ok(())
    }

    /// SIGKILL: no shutdown hook runs, as after a crash or an OOM kill.
    pub fn kill(&mut self) -> anyhow::Result<u32> {
        let mut child = self.child.take().context("ds-local is not running")?;
        let pid = child.id();
        child.kill().context("SIGKILL failed")?;
        let _ = child.wait();
        Ok(pid)
    }
}

impl Drop for DsLocal {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = std::process::Command::new("kill").args(["-TERM", &child.id().to_string()]).status();
            let _ = child.wait();
        }
    }
}
