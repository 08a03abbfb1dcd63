//! Runs the real `kumo` binary as a child process.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

pub fn kumo() -> Command {
    Command::new(env!("CARGO_BIN_EXE_kumo"))
}

pub fn temp_dir(tag: &str) -> PathBuf {
    let n: u64 = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos() as u64;
    let dir = std::env::temp_dir().join(format!("kumo-cli-{tag}-{}-{n:x}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// A `kumo serve` child on an ephemeral port. Dropping it kills the process.
pub struct Server {
    pub child: Option<Child>,
    pub data_dir: PathBuf,
    pub creds: Value,
}

impl Server {
    /// Starts `kumo serve --listen 127.0.0.1:0` with `args`/`envs` and waits until `/health`
    /// answers. The port is read from the siteURL of `default-app.json`, so the data dir
    /// must either be fresh or hold that file from an earlier run on the same port.
    pub fn start(data_dir: &Path, args: &[&str], envs: &[(&str, &str)]) -> Server {
        Self::start_on("127.0.0.1:0", data_dir, args, envs)
    }

    pub fn start_on(listen: &str, data_dir: &Path, args: &[&str], envs: &[(&str, &str)]) -> Server {
        let mut cmd = kumo();
        cmd.arg("serve")
            .args(["--listen", listen, "--data-dir"])
            .arg(data_dir)
            .args(args)
            .envs(envs.iter().copied())
            .env("KUMO_LOG", "warn")
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let child = cmd.spawn().expect("spawn kumo serve");
        let file = data_dir.join("default-app.json");
        let deadline = Instant::now() + Duration::from_secs(20);
        let creds = loop {
            if let Ok(text) = std::fs::read_to_string(&file) {
                if let Ok(v) = serde_json::from_str::<Value>(&text) {
                    break v;
                }
            }
            assert!(
                Instant::now() < deadline,
                "kumo serve did not write {}",
                file.display()
            );
            std::thread::sleep(Duration::from_millis(20));
        };
        let server = Server {
            child: Some(child),
            data_dir: data_dir.to_owned(),
            creds,
        };
        server.wait_healthy();
        server
    }

    pub fn site(&self) -> String {
        self.creds["siteURL"].as_str().unwrap().to_owned()
    }

    pub fn listen_addr(&self) -> String {
        self.site()
            .trim_start_matches("http://")
            .trim_end_matches("/api")
            .to_owned()
    }

    pub fn health_url(&self) -> String {
        format!("{}/health", self.site().trim_end_matches("/api"))
    }

    fn wait_healthy(&self) {
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            if let Ok(body) = http_get(&self.health_url()) {
                if body.contains("\"ok\"") {
                    return;
                }
            }
            assert!(Instant::now() < deadline, "kumo never became healthy");
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Sends SIGTERM and returns what the process printed and how it exited.
    pub fn terminate(mut self) -> Output {
        let child = self.child.take().unwrap();
        let status = Command::new("kill")
            .args(["-TERM", &child.id().to_string()])
            .status()
            .unwrap();
        assert!(status.success());
        child.wait_with_output().unwrap()
    }
}

impl Server {
    /// SIGKILL, as a crash: the server gets no chance to finish anything.
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            child.kill().expect("SIGKILL");
            let _ = child.wait();
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

/// A tiny blocking GET over a raw socket, so these tests need no HTTP runtime.
pub fn http_get(url: &str) -> std::io::Result<String> {
    use std::io::{Read, Write};
    let rest = url.strip_prefix("http://").expect("http URL");
    let (host, path) = rest
        .split_once('/')
        .map_or((rest, "/".to_owned()), |(h, p)| (h, format!("/{p}")));
    let mut s = std::net::TcpStream::connect(host)?;
    s.set_read_timeout(Some(Duration::from_secs(5)))?;
    write!(
        s,
        "GET {path} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n"
    )?;
    let mut out = String::new();
    s.read_to_string(&mut out)?;
    Ok(out)
}
