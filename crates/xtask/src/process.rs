//! Running tools with the project's PATH and printing progress.

use std::ffi::OsStr;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use anyhow::{Context, bail};

/// Where things are, and the PATH every tool is run with: `node_modules/.bin` and cargo's bin
/// folder come first so the pinned wasm-opt and wasm-bindgen win over anything the system has.
pub struct Env {
    pub root: PathBuf,
    pub target_dir: PathBuf,
    /// Where `cargo xtask dist` writes and test servers serve from: `DS_DIST_DIR` when set (so
    /// several checkouts or helpers can build side by side), else `dist/` in the repository.
    pub dist_dir: PathBuf,
    pub cargo_bin: PathBuf,
    pub path: std::ffi::OsString,
}

impl Env {
    pub fn detect() -> anyhow::Result<Self> {
        let root = Path::new(env!("CARGO_MANIFEST_DIR"))
            .ancestors()
            .nth(2)
            .context("xtask lives in crates/xtask")?
            .to_path_buf();
        let target_dir =
            std::env::var_os("CARGO_TARGET_DIR").map_or_else(|| root.join("target"), PathBuf::from);
        let cargo_home = std::env::var_os("CARGO_HOME").map(PathBuf::from).unwrap_or_else(|| {
            PathBuf::from(std::env::var_os("HOME").unwrap_or_else(|| "/root".into())).join(".cargo")
        });
        let cargo_bin = cargo_home.join("bin");
        let mut dirs = vec![root.join("node_modules/.bin"), cargo_bin.clone()];
        dirs.extend(std::env::split_paths(&std::env::var_os("PATH").unwrap_or_default()));
        let path = std::env::join_paths(dirs).context("PATH entries must not contain ':'")?;
        let dist_dir = std::env::var_os("DS_DIST_DIR").map_or_else(|| root.join("dist"), PathBuf::from);
        Ok(Self { root, target_dir, dist_dir, cargo_bin, path })
    }

    pub fn command(&self, program: impl AsRef<OsStr>) -> Cmd {
        let mut command = Command::new(program);
        command.current_dir(&self.root).env("PATH", &self.path).env("TRUNK_SKIP_VERSION_CHECK", "true");
        Cmd(command)
    }

    pub fn cargo(&self, args: &[&str]) -> Cmd {
        let mut cmd = self.command(std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into()));
        cmd.args(args);
        cmd
    }

    /// The first `program` on the project PATH, if any.
    pub fn which(&self, program: &str) -> Option<PathBuf> {
        std::env::split_paths(&self.path).map(|dir| dir.join(program)).find(|p| p.is_file())
    }
}

pub struct Cmd(pub Command);

impl Cmd {
    pub fn arg(&mut self, arg: impl AsRef<OsStr>) -> &mut Self {
        self.0.arg(arg);
        self
    }
    pub fn args<I: IntoIterator<Item = S>, S: AsRef<OsStr>>(&mut self, args: I) -> &mut Self {
        self.0.args(args);
        self
    }
    pub fn env(&mut self, key: impl AsRef<OsStr>, value: impl AsRef<OsStr>) -> &mut Self {
        self.0.env(key, value);
        self
    }

    fn describe(&self) -> String {
        let mut text = self.0.get_program().to_string_lossy().into_owned();
        for arg in self.0.get_args() {
            text.push(' ');
            text.push_str(&arg.to_string_lossy());
        }
        text
    }

    /// Runs with inherited output; fails when the command fails.
    pub fn run(&mut self) -> anyhow::Result<()> {
        let status = self.0.status().with_context(|| format!("cannot start `{}`", self.describe()))?;
        if !status.success() {
            bail!("`{}` failed ({status})", self.describe());
        }
        Ok(())
    }

    /// Runs with inherited output and reports success, without failing.
    pub fn succeeds(&mut self) -> bool {
        self.0.status().is_ok_and(|s| s.success())
    }

    /// Runs quietly and returns stdout when the command succeeds.
    pub fn output(&mut self) -> Option<String> {
        let out = self.0.stderr(Stdio::null()).output().ok()?;
        out.status.success().then(|| String::from_utf8_lossy(&out.stdout).into_owned())
    }

    /// Runs with stdout echoed line by line and also collected; stderr inherited.
    /// Returns (succeeded, collected stdout).
    pub fn tee(&mut self) -> anyhow::Result<(bool, String)> {
        let mut child = self
            .0
            .stdout(Stdio::piped())
            .spawn()
            .with_context(|| format!("cannot start `{}`", self.describe()))?;
        let mut collected = String::new();
        let stdout = child.stdout.take().expect("stdout was configured as piped");
        for line in BufReader::new(stdout).lines() {
            let line = line.unwrap_or_default();
            println!("{line}");
            collected.push_str(&line);
            collected.push('\n');
        }
        let status = child.wait()?;
        Ok((status.success(), collected))
    }
}

/// A visible progress line.
pub fn step(what: &str) {
    println!("==> {what}");
}
