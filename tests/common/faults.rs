//! The pieces of the fault-injection suites: a cluster whose every node reaches
//! its dependencies through [`FaultProxy`]s of its own, and [`PrivateRedis`], a
//! `redis-server` of the test's own to kill, freeze and restart.

use super::*;

/// A cluster whose every node reaches Redis and PostgreSQL through fault proxies
/// of its own, so that a test can break one node's link and leave the others'.
/// Dropping it kills the nodes, then the proxies.
pub struct FaultyCluster {
    pub nodes: Vec<TestApp>,
    /// `links[i]` stands between `nodes[i]` and its dependencies.
    pub links: Vec<NodeLinks>,
    /// The schema as the test reaches it directly, around every proxy.
    pub database_url: String,
    /// The proxies' runtime: neither the test's nor a node's, so that killing a
    /// node or a busy test never stalls another node's link.
    _proxies: ProxyRuntime,
}

/// One node's links to its dependencies.
pub struct NodeLinks {
    /// Between the node and Redis (its publisher and subscriber connections).
    pub redis: FaultProxy,
    /// Between the node and PostgreSQL (its whole pool).
    pub postgres: FaultProxy,
}

struct ProxyRuntime(Option<tokio::runtime::Runtime>);

impl Drop for ProxyRuntime {
    fn drop(&mut self) {
        if let Some(runtime) = self.0.take() {
            runtime.shutdown_background();
        }
    }
}

/// Starts `nodes` nodes as [`spawn_cluster_on`] does (one fresh schema, the Redis
/// at `redis_upstream` under a channel prefix of their own), each node's
/// `redis_url` pointing at a Redis proxy of its own and its database URL at a
/// PostgreSQL proxy of its own. `None` when PostgreSQL is not configured here.
pub async fn spawn_faulty_cluster(
    nodes: usize,
    redis_upstream: &str,
    configure: impl Fn(usize, &mut Config),
) -> Option<FaultyCluster> {
    init_logging();
    let base = postgres_base()?;
    let schema = fresh_schema(&base).await;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .thread_name("fault-proxies")
        .enable_all()
        .build()
        .expect("proxy runtime");
    let mut links = Vec::with_capacity(nodes);
    let mut urls = Vec::with_capacity(nodes);
    for _ in 0..nodes {
        let redis = start_proxy(&runtime, upstream_of(redis_upstream, 6379)).await;
        let postgres = start_proxy(&runtime, upstream_of(&base, 5432)).await;
        urls.push((
            schema_url(&through(&base, &postgres), &schema),
            through(redis_upstream, &redis),
        ));
        links.push(NodeLinks { redis, postgres });
    }
    let database_url = schema_url(&base, &schema);
    let nodes = spawn_nodes(&database_url, urls, configure).await;
    Some(FaultyCluster {
        nodes,
        links,
        database_url,
        _proxies: ProxyRuntime(Some(runtime)),
    })
}

async fn start_proxy(runtime: &tokio::runtime::Runtime, upstream: SocketAddr) -> FaultProxy {
    runtime
        .spawn(FaultProxy::start(upstream))
        .await
        .expect("proxy task")
        .expect("fault proxy listens")
}

/// The address a `postgres://` or `redis://` URL connects to.
fn upstream_of(url: &str, default_port: u16) -> SocketAddr {
    let parsed = reqwest::Url::parse(url).unwrap_or_else(|e| panic!("{url}: {e}"));
    parsed
        .socket_addrs(|| Some(default_port))
        .ok()
        .and_then(|addrs| addrs.into_iter().find(SocketAddr::is_ipv4))
        .unwrap_or_else(|| panic!("{url} names no reachable IPv4 address"))
}

/// `url` with its host and port replaced by the proxy's.
fn through(url: &str, proxy: &FaultProxy) -> String {
    let mut parsed = reqwest::Url::parse(url).unwrap_or_else(|e| panic!("{url}: {e}"));
    parsed
        .set_host(Some("127.0.0.1"))
        .expect("a URL with a host");
    parsed
        .set_port(Some(proxy.port()))
        .expect("a URL with a port");
    parsed.to_string()
}

/// A private `redis-server` that the test may kill, freeze and start again on
/// its port.
pub struct PrivateRedis {
    pub port: u16,
    /// Extra arguments (cluster mode).
    args: Vec<String>,
    /// Its working directory (a cluster node writes its nodes.conf there).
    dir: TempDir,
    child: Option<Child>,
}

impl PrivateRedis {
    /// `None` (with a notice) when no `redis-server` can run here.
    pub async fn start(args: &[&str]) -> Option<PrivateRedis> {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("a free port")
            .port();
        let mut redis = PrivateRedis {
            port,
            args: args.iter().map(|a| a.to_string()).collect(),
            dir: tempfile::tempdir().expect("temp dir"),
            child: None,
        };
        if let Err(err) = redis.restart().await {
            if redis_required() {
                panic!("LIVESUPPORT_REQUIRE_REDIS=1 but redis-server cannot run: {err}");
            }
            eprintln!("\n*** SKIPPED: private Redis test (redis-server: {err}) ***\n");
            return None;
        }
        Some(redis)
    }

    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}", self.port)
    }

    pub async fn restart(&mut self) -> Result<(), String> {
        let port = self.port.to_string();
        let child = Command::new("redis-server")
            .args(["--port", &port, "--bind", "127.0.0.1", "--save", ""])
            .args(["--appendonly", "no"])
            .args(&self.args)
            .current_dir(self.dir.path())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .map_err(|e| e.to_string())?;
        self.child = Some(child);
        let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
        while tokio::net::TcpStream::connect(("127.0.0.1", self.port))
            .await
            .is_err()
        {
            if tokio::time::Instant::now() > deadline {
                return Err(format!("not listening on port {port}"));
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        Ok(())
    }

    /// SIGKILL: no goodbye to its clients.
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// SIGSTOP or SIGCONT: a frozen Redis keeps its connections open and answers
    /// nothing, as behind a network that silently drops packets.
    pub fn signal(&self, signal: &str) {
        let pid = self.child.as_ref().expect("running").id().to_string();
        let sent = Command::new("kill")
            .args([signal, &pid])
            .status()
            .expect("kill runs");
        assert!(sent.success(), "kill {signal} {pid}");
    }

    /// `redis-cli -p PORT ARGS…`, its output.
    pub fn cli(&self, args: &[&str]) -> String {
        let output = Command::new("redis-cli")
            .args(["-p", &self.port.to_string()])
            .args(args)
            .output()
            .expect("redis-cli runs");
        String::from_utf8_lossy(&output.stdout).into_owned()
    }
}

impl Drop for PrivateRedis {
    fn drop(&mut self) {
        // SIGKILL ends a stopped (frozen) server too.
        self.kill();
    }
}
