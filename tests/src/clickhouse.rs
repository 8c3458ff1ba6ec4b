//! Private ClickHouse servers for one test: a single server, or the
//! replicas of a one-shard cluster that replicate through a ZooKeeper.

use std::{path::Path, process::Command, time::Duration};

use crate::process::{ChildGuard, free_port, require_binary, wait_http_ok};

const SERVER: &str = "/usr/sbin/clickhouse-server";

#[derive(Debug)]
pub struct ClickHouse {
    pub url: String,
    pub process: ChildGuard,
    state: std::path::PathBuf,
}

/// The ports of one server.
#[derive(Debug, Clone, Copy)]
struct Ports {
    http: u16,
    tcp: u16,
    interserver: u16,
}

impl Ports {
    fn free() -> anyhow::Result<Self> {
        Ok(Self {
            http: free_port()?,
            tcp: free_port()?,
            interserver: free_port()?,
        })
    }
}

impl ClickHouse {
    /// Starts ClickHouse with its data under `dir` and waits for `/ping`.
    pub async fn start(dir: &Path) -> anyhow::Result<Self> {
        let state = dir.join("clickhouse");
        let ports = Ports::free()?;
        configure(&state, ports)?;
        Self::spawn(state, ports).await
    }

    /// Starts the `replicas` servers of cluster `cluster` (one shard), each
    /// with its data under `dir/clickhouse-r<N>`, replicating through the
    /// ZooKeeper on `zookeeper_port`; waits for every `/ping`.
    pub async fn start_cluster(
        dir: &Path,
        cluster: &str,
        zookeeper_port: u16,
        replicas: usize,
    ) -> anyhow::Result<Vec<Self>> {
        let ports = (0..replicas)
            .map(|_| Ports::free())
            .collect::<anyhow::Result<Vec<_>>>()?;
        let members: String = ports
            .iter()
            .map(|p| {
                format!(
                    "                <replica><host>127.0.0.1</host><port>{}</port></replica>\n",
                    p.tcp
                )
            })
            .collect();
        let template =
            std::fs::read_to_string(crate::repo_root().join("config/clickhouse/cluster.xml.in"))?;
        let mut servers = Vec::with_capacity(replicas);
        for (i, p) in ports.into_iter().enumerate() {
            let state = dir.join(format!("clickhouse-r{}", i + 1));
            configure(&state, p)?;
            std::fs::create_dir_all(state.join("config.d"))?;
            let cluster_xml = template
                .replace("@INTERSERVER_PORT@", &p.interserver.to_string())
                .replace("@ZOOKEEPER_PORT@", &zookeeper_port.to_string())
                .replace("@CLUSTER@", cluster)
                .replace("@REPLICAS@", members.trim_end())
                .replace("@SHARD@", "01")
                .replace("@REPLICA@", &format!("r{}", i + 1));
            std::fs::write(state.join("config.d/cluster.xml"), cluster_xml)?;
            servers.push(Self::spawn(state, p).await?);
        }
        Ok(servers)
    }

    async fn spawn(state: std::path::PathBuf, ports: Ports) -> anyhow::Result<Self> {
        let url = format!("http://127.0.0.1:{}", ports.http);
        let process = spawn_and_wait(&state, &url).await?;
        Ok(Self {
            url,
            process,
            state,
        })
    }

    /// Kills the server, for outage tests; its data stays.
    pub fn stop(&mut self) {
        self.process.kill();
    }

    /// Starts the server again on the same ports and data.
    pub async fn restart(&mut self) -> anyhow::Result<()> {
        self.process = spawn_and_wait(&self.state, &self.url).await?;
        Ok(())
    }
}

/// Writes the server's `config.xml` and `users.xml` into `state`.
fn configure(state: &Path, ports: Ports) -> anyhow::Result<()> {
    require_binary(
        Path::new(SERVER),
        "scripts/setup.sh (apt-get install clickhouse-server)",
    )?;
    std::fs::create_dir_all(state)?;
    let template =
        std::fs::read_to_string(crate::repo_root().join("config/clickhouse/config.xml.in"))?;
    let config = template
        .replace("@STATE@", &state.to_string_lossy())
        .replace("@HTTP_PORT@", &ports.http.to_string())
        .replace("@TCP_PORT@", &ports.tcp.to_string());
    std::fs::write(state.join("config.xml"), config)?;
    std::fs::copy(
        crate::repo_root().join("config/clickhouse/users.xml"),
        state.join("users.xml"),
    )?;
    Ok(())
}

async fn spawn_and_wait(state: &Path, url: &str) -> anyhow::Result<ChildGuard> {
    let mut command = Command::new(SERVER);
    command.arg(format!(
        "--config-file={}",
        state.join("config.xml").display()
    ));
    let mut process = ChildGuard::spawn("clickhouse-server", command, &state.join("stdout.log"))?;
    wait_http_ok(
        "clickhouse /ping",
        &mut process,
        &format!("{url}/ping"),
        Duration::from_secs(60),
    )
    .await?;
    Ok(process)
}
