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
    /// serves requests (`ruok` answers `imok` earlier, and a ClickHouse
    /// 18.16 whose handshake is refused then crashes).
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
                "tickTime=2000\ndataDir={}\n\
                 clientPort={port}\nclientPortAddress=127.0.0.1\n\
                 admin.enableServer=false\n4lw.commands.whitelist=srvr\n",
                state.join("data").display()
            ),
        )?;
        let mut command = Command::new(JAVA);
        // The jar's manifest names its dependencies in /usr/share/java;
        // slf4j-simple (Debian's libslf4j-java) puts its log in the test's
        // log file rather than nowhere.
        let classpath = format!("{JAR}:/usr/share/java/slf4j-simple.jar");
        command
            .args(["-Xmx256m", "-cp", &classpath])
            .arg("org.apache.zookeeper.server.ZooKeeperServerMain")
            .arg(&config);
        let mut process = ChildGuard::spawn("zookeeper", command, &state.join("zookeeper.log"))?;
        wait_for("zookeeper serving", Duration::from_secs(60), || {
            let running = process.check_running();
            async move {
                running?;
                let status = srvr(port).await.unwrap_or_default();
                Ok(status.contains("Mode: standalone").then_some(()))
            }
        })
        .await?;
        Ok(Self { port, process })
    }
}

/// ZooKeeper's own status: `Mode: standalone` once it serves requests.
/// Bounded: asked while it starts, ZooKeeper can take the connection and
/// never answer nor close it.
async fn srvr(port: u16) -> anyhow::Result<String> {
    let ask = async {
        let mut stream = tokio::net::TcpStream::connect(("127.0.0.1", port)).await?;
        stream.write_all(b"srvr").await?;
        let mut answer = String::new();
        stream.read_to_string(&mut answer).await?;
        anyhow::Ok(answer)
    };
    tokio::time::timeout(Duration::from_secs(2), ask).await?
}
