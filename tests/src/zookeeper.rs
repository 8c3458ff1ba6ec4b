//! A private ZooKeeper (Debian's `zookeeper` package, standalone) for the
//! replicated ClickHouse tests: a Java process on a free loopback port with
//! its own data directory, like every other server of the harness.

use std::{path::Path, process::Command, time::Duration};

use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::process::{ChildGuard, free_port, require_binary, wait_for};

const JAR: &str = "/usr/share/java/zookeeper.jar";
const JAVA: &str = "/usr/bin/java";

#[derive(Debug)]
pub struct ZooKeeper {
    pub port: u16,
    pub process: ChildGuard,
}

impl ZooKeeper {
    /// Starts ZooKeeper with its data under `dir` and waits until it
    /// answers `ruok` with `imok`.
    pub async fn start(dir: &Path) -> anyhow::Result<Self> {
        let install = "scripts/setup.sh (apt-get install zookeeper)";
        require_binary(Path::new(JAR), install)?;
        require_binary(Path::new(JAVA), install)?;
        let state = dir.join("zookeeper");
        std::fs::create_dir_all(state.join("data"))?;
        let port = free_port()?;
        let config = state.join("zoo.cfg");
        std::fs::write(
            &config,
            format!(
                "tickTime=500\ninitLimit=10\nsyncLimit=5\ndataDir={}\n\
                 clientPort={port}\nclientPortAddress=127.0.0.1\n\
                 admin.enableServer=false\n4lw.commands.whitelist=ruok\n",
                state.join("data").display()
            ),
        )?;
        let mut command = Command::new(JAVA);
        // The jar's manifest names its dependencies in /usr/share/java.
        command
            .args(["-Xmx256m", "-cp", JAR])
            .arg("org.apache.zookeeper.server.ZooKeeperServerMain")
            .arg(&config);
        let mut process = ChildGuard::spawn("zookeeper", command, &state.join("zookeeper.log"))?;
        wait_for("zookeeper ruok", Duration::from_secs(60), || {
            let running = process.check_running();
            async move {
                running?;
                Ok((ruok(port).await.ok().as_deref() == Some("imok")).then_some(()))
            }
        })
        .await?;
        Ok(Self { port, process })
    }
}

/// ZooKeeper's own health check: send `ruok`, read the answer.
async fn ruok(port: u16) -> anyhow::Result<String> {
    let mut stream = tokio::net::TcpStream::connect(("127.0.0.1", port)).await?;
    stream.write_all(b"ruok").await?;
    let mut answer = String::new();
    stream.read_to_string(&mut answer).await?;
    Ok(answer)
}
