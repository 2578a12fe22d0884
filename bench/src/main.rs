//! The benchmark driver, run by `bench/run.sh`: starts the service and the
//! thin service on one PostgreSQL, seeds in-progress two-stage reviews
//! through the API, loads both side by side (`GET` of a stage, `POST
//! …/stop` of a different stage each time) at several connection counts,
//! runs the same SQL through `pgbench`, times stops of stages with many
//! decision items, and prints a table (also written to `--out`).
//!
//! Only the expected statuses count (`200` for a read, `204` for a stop);
//! anything else is reported as an error count beside the figure.

use std::fmt::Write as _;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use clap::Parser;
use reqwest::{Client, StatusCode};
use serde_json::{Value, json};
use sqlx::PgPool;
use sqlx::postgres::PgPoolOptions;

const DEFINITIONS: &str = "/v1.0/identityGovernance/accessReviews/definitions";
const GOVERNANCE_ADMIN: &str = "45d8d3c5-c802-45c6-b32a-1d70b5e1e86e";
const GLOBAL_ADMIN: &str = "62e90394-69f5-4237-9190-012177145e10";
const SECRET: &str = "a-benchmark-secret-of-32-bytes!!";

#[derive(Parser)]
struct Args {
    /// The `access-reviews` binary.
    #[arg(long)]
    service_bin: String,
    /// The thin service's binary.
    #[arg(long)]
    thin_bin: String,
    /// An empty database (the service migrates it).
    #[arg(long)]
    database_url: String,
    /// In-progress two-stage reviews to seed.
    #[arg(long, default_value_t = 20_000)]
    reviews: usize,
    /// Seconds per figure.
    #[arg(long, default_value_t = 5)]
    seconds: u64,
    /// Connection counts of the load generator.
    #[arg(long, value_delimiter = ',', default_value = "8,32,64")]
    connections: Vec<usize>,
    /// Which requests to measure (`definition`, `instance`, `stage`,
    /// `item`, `stop`); all by default. Fewer make a quick side-by-side
    /// comparison of one of them.
    #[arg(
        long,
        value_delimiter = ',',
        default_value = "definition,instance,stage,item,stop"
    )]
    requests: Vec<String>,
    /// Decision item counts of the timed stops.
    #[arg(long, value_delimiter = ',', default_value = "1000,10000,100000")]
    items: Vec<usize>,
    /// Run pgbench in this container (with `--pgbench-url` as seen from
    /// inside it); without it, a local `pgbench` on `--database-url`.
    #[arg(long)]
    pgbench_container: Option<String>,
    /// The database URL pgbench uses.
    #[arg(long)]
    pgbench_url: Option<String>,
    /// Skip pgbench.
    #[arg(long)]
    no_pgbench: bool,
    /// Also write the table here.
    #[arg(long)]
    out: Option<String>,
    /// A label for the service in the table.
    #[arg(long, default_value = "service")]
    label: String,
}

/// A child process killed when dropped.
struct Process(Child);

impl Drop for Process {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// CPU time (user + system) of process `pid` so far, from `/proc`.
fn cpu_of(pid: u32) -> Option<Duration> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The fields after the command name, which may hold spaces.
    let rest = &stat[stat.rfind(')')? + 2..];
    let mut fields = rest.split_whitespace();
    let utime: u64 = fields.nth(11)?.parse().ok()?;
    let stime: u64 = fields.next()?.parse().ok()?;
    // Linux's USER_HZ is 100 on every architecture it runs on.
    Some(Duration::from_millis((utime + stime) * 10))
}

/// CPU time of every `postgres` process this machine shows (a local
/// server, or the container's), so a load's database share can be told
/// from its HTTP server's.
fn postgres_cpu() -> Duration {
    let Ok(dir) = std::fs::read_dir("/proc") else {
        return Duration::ZERO;
    };
    dir.filter_map(Result::ok)
        .filter_map(|e| e.file_name().to_str()?.parse::<u32>().ok())
        .filter(|pid| {
            std::fs::read_to_string(format!("/proc/{pid}/comm"))
                .is_ok_and(|c| c.trim() == "postgres")
        })
        .filter_map(cpu_of)
        .sum()
}

impl Process {
    fn cpu(&self) -> Duration {
        cpu_of(self.0.id()).unwrap_or_default()
    }

    /// Peak resident memory in MiB, from `/proc`.
    fn peak_rss_mib(&self) -> Option<f64> {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.0.id())).ok()?;
        let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
        let kib: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
        Some(kib / 1024.0)
    }
}

fn free_port() -> anyhow::Result<u16> {
    Ok(std::net::TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .port())
}

/// Polls `url` until it answers 200 (the process is starting; there is
/// nothing to wait on but its answer).
async fn wait_ready(client: &Client, url: &str, child: &mut Process) -> anyhow::Result<()> {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        if let Ok(r) = client.get(url).send().await
            && r.status() != StatusCode::SERVICE_UNAVAILABLE
        {
            return Ok(());
        }
        if let Some(status) = child.0.try_wait()? {
            bail!("{url}: the process exited ({status})");
        }
        if Instant::now() > deadline {
            bail!("{url} did not answer within 60 s");
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

fn service_env(args: &Args, port: u16) -> Vec<(&'static str, String)> {
    vec![
        ("DATABASE_URL", args.database_url.clone()),
        ("LISTEN_ADDR", format!("127.0.0.1:{port}")),
        ("AUTH_ISSUER", "https://issuer.bench.test".into()),
        ("AUTH_AUDIENCE", "https://graph.bench.test".into()),
        ("AUTH_HS256_SECRET", SECRET.into()),
        ("SCHEDULER", "disabled".into()),
        ("LOG_FORMAT", "json".into()),
    ]
}

fn token(args: &Args, port: u16, scp: &str, wid: &str) -> anyhow::Result<String> {
    let out = Command::new(&args.service_bin)
        .args(["token", "--scp", scp, "--wids", wid, "--name", "Bench"])
        .envs(service_env(args, port))
        .output()?;
    if !out.status.success() {
        bail!("token: {}", String::from_utf8_lossy(&out.stderr));
    }
    Ok(String::from_utf8(out.stdout)?.trim().to_owned())
}

/// One figure: requests per second and latency percentiles.
#[derive(Clone, Copy, Default)]
struct Figure {
    rate: f64,
    p50_ms: f64,
    p99_ms: f64,
    errors: usize,
    /// Requests counted.
    count: usize,
    /// CPU time per counted request of the HTTP server and of PostgreSQL,
    /// in microseconds.
    server_cpu_us: f64,
    db_cpu_us: f64,
}

impl Figure {
    fn of(mut latencies: Vec<Duration>, elapsed: Duration, errors: usize) -> Self {
        latencies.sort_unstable();
        let at = |q: f64| {
            if latencies.is_empty() {
                return 0.0;
            }
            let i = ((latencies.len() as f64 * q).ceil() as usize).clamp(1, latencies.len()) - 1;
            latencies[i].as_secs_f64() * 1000.0
        };
        Self {
            rate: latencies.len() as f64 / elapsed.as_secs_f64(),
            p50_ms: at(0.50),
            p99_ms: at(0.99),
            errors,
            count: latencies.len(),
            ..Self::default()
        }
    }
}

/// One run of the load generator.
struct Load<'a> {
    method: reqwest::Method,
    urls: Arc<Vec<String>>,
    /// Use the URLs round and round, or each once.
    cycle: bool,
    token: Option<&'a str>,
    connections: usize,
    seconds: u64,
    expected: StatusCode,
}

/// Sends requests from `connections` tasks for `seconds` or until the
/// URLs run out; each URL is used once per pass (`cycle`) or once at all.
async fn load(client: &Client, run: Load<'_>) -> Figure {
    let Load {
        method,
        urls,
        cycle,
        token,
        connections,
        seconds,
        expected,
    } = run;
    let next = Arc::new(AtomicUsize::new(0));
    let start = Instant::now();
    let deadline = start + Duration::from_secs(seconds);
    let tasks: Vec<_> = (0..connections)
        .map(|_| {
            let (client, method, urls, next) =
                (client.clone(), method.clone(), urls.clone(), next.clone());
            let token = token.map(str::to_owned);
            tokio::spawn(async move {
                let mut latencies = Vec::new();
                let mut errors = 0;
                while Instant::now() < deadline {
                    let n = next.fetch_add(1, Ordering::Relaxed);
                    if !cycle && n >= urls.len() {
                        break;
                    }
                    let url = &urls[n % urls.len()];
                    let mut request = client.request(method.clone(), url);
                    if let Some(token) = &token {
                        request = request.bearer_auth(token);
                    }
                    let sent = Instant::now();
                    match request.send().await {
                        Ok(r) if r.status() == expected => {
                            let _ = r.bytes().await;
                            latencies.push(sent.elapsed());
                        }
                        _ => errors += 1,
                    }
                }
                (latencies, errors)
            })
        })
        .collect();
    let mut latencies = Vec::new();
    let mut errors = 0;
    for task in tasks {
        if let Ok((l, e)) = task.await {
            latencies.extend(l);
            errors += e;
        }
    }
    Figure::of(latencies, start.elapsed(), errors)
}

/// [`load`] with `server`'s and PostgreSQL's CPU time per request.
async fn measured(client: &Client, run: Load<'_>, server: &Process) -> Figure {
    let (server_before, db_before) = (server.cpu(), postgres_cpu());
    let mut figure = load(client, run).await;
    let (server_cpu, db_cpu) = (server.cpu() - server_before, postgres_cpu() - db_before);
    let requests = figure.count.max(1) as f64;
    figure.server_cpu_us = server_cpu.as_secs_f64() * 1e6 / requests;
    figure.db_cpu_us = db_cpu.as_secs_f64() * 1e6 / requests;
    figure
}

/// A seeded review's ids: definition, instance, first stage, first item.
struct Seeded {
    definition: String,
    instance: String,
    stage: String,
    item: String,
}

/// The seeded reviews whose first stage is in progress.
async fn seeded(pool: &PgPool) -> anyhow::Result<Vec<Seeded>> {
    let rows: Vec<(uuid::Uuid, uuid::Uuid, uuid::Uuid, uuid::Uuid)> = sqlx::query_as(
        "SELECT i.definition_id, i.id, s.id, \
           (SELECT d.id FROM decision_items d WHERE d.instance_id = i.id ORDER BY d.seq LIMIT 1) \
         FROM access_review_stages s \
         JOIN access_review_instances i ON i.id = s.instance_id \
         WHERE s.status = 'InProgress' AND s.stage_key = '1' ORDER BY s.seq",
    )
    .fetch_all(pool)
    .await?;
    Ok(rows
        .into_iter()
        .map(|(d, i, s, item)| Seeded {
            definition: d.to_string(),
            instance: i.to_string(),
            stage: s.to_string(),
            item: item.to_string(),
        })
        .collect())
}

struct Api {
    client: Client,
    base: String,
    admin: String,
    directory: String,
}

impl Api {
    async fn post(&self, path: &str, token: &str, body: Value) -> anyhow::Result<Value> {
        let r = self
            .client
            .post(format!("{}{path}", self.base))
            .bearer_auth(token)
            .json(&body)
            .send()
            .await?;
        let status = r.status();
        let body: Value = r.json().await.unwrap_or(Value::Null);
        if !status.is_success() {
            bail!("POST {path}: {status} {body}");
        }
        Ok(body)
    }

    async fn user(&self, name: &str) -> anyhow::Result<String> {
        let body = json!({"accountEnabled": true, "displayName": name, "mailNickname": name,
            "userPrincipalName": format!("{name}@bench.test"),
            "passwordProfile": {"password": "Secret-1234"}});
        let user = self.post("/v1.0/users", &self.directory, body).await?;
        Ok(user["id"].as_str().unwrap_or_default().to_owned())
    }

    async fn group(&self, name: &str) -> anyhow::Result<String> {
        let body = json!({"displayName": name, "mailEnabled": false, "mailNickname": name,
            "securityEnabled": true});
        let group = self.post("/v1.0/groups", &self.directory, body).await?;
        Ok(group["id"].as_str().unwrap_or_default().to_owned())
    }

    /// A two-stage review of `group`'s members, reviewed by `reviewer`.
    async fn review(&self, group: &str, reviewer: &str) -> anyhow::Result<()> {
        let stage = |id: &str, depends_on: &[&str]| {
            json!({"stageId": id, "dependsOn": depends_on, "durationInDays": 2,
                   "recommendationsEnabled": false,
                   "reviewers": [{"query": format!("/users/{reviewer}"), "queryType": "MicrosoftGraph"}]})
        };
        let body = json!({
            "displayName": "Benchmark review",
            "scope": {"@odata.type": "#microsoft.graph.accessReviewQueryScope",
                      "query": format!("/groups/{group}/transitiveMembers"),
                      "queryType": "MicrosoftGraph"},
            "stageSettings": [stage("1", &[]), stage("2", &["1"])],
            "settings": {"instanceDurationInDays": 4}
        });
        self.post(DEFINITIONS, &self.admin, body).await.map(drop)
    }
}

/// Runs `script` through pgbench with `connections` clients for `seconds`,
/// with the service's session settings (no JIT); its per-transaction log
/// gives the percentiles.
fn pgbench(args: &Args, script: &str, connections: usize, seconds: u64) -> anyhow::Result<Figure> {
    let url = args.pgbench_url.as_deref().unwrap_or(&args.database_url);
    let shell = format!(
        "d=$(mktemp -d) && cd \"$d\" && cat > script.sql && \
         PGOPTIONS='-c jit=off' pgbench -n -M prepared -c {connections} -j 2 -T {seconds} -l -f script.sql '{url}' \
         > out.txt 2>&1; status=$?; cat out.txt >&2; cat pgbench_log.* 2>/dev/null; \
         cd / && rm -rf \"$d\"; exit $status"
    );
    let mut command = match &args.pgbench_container {
        Some(container) => {
            let mut c = Command::new("docker");
            c.args(["exec", "-i", container, "sh", "-c", &shell]);
            c
        }
        None => {
            let mut c = Command::new("sh");
            c.args(["-c", &shell]);
            c
        }
    };
    let mut child = command
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .context("cannot run pgbench")?;
    if let Some(mut stdin) = child.stdin.take() {
        use std::io::Write;
        stdin.write_all(script.as_bytes())?;
    }
    let out = child.wait_with_output()?;
    if !out.status.success() {
        bail!("pgbench failed: {}", String::from_utf8_lossy(&out.stderr));
    }
    // client_id transaction_no time_us script_no epoch epoch_us
    let latencies: Vec<Duration> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| l.split_whitespace().nth(2)?.parse::<u64>().ok())
        .map(Duration::from_micros)
        .collect();
    Ok(Figure::of(latencies, Duration::from_secs(seconds), 0))
}

/// pgbench's scripts: the thin service's SQL, on stages picked at random
/// from the seeded ones (`bench_stages`). The stop keeps the stage
/// `InProgress` (it writes its end and an extra stage row to a scratch
/// table) so that every transaction does the full work however many
/// run: the same statements, locks and row writes as the thin stop.
const PGBENCH_SETUP: &str = "DROP TABLE IF EXISTS bench_stages, bench_next_stages; \
    CREATE TABLE bench_stages (n int PRIMARY KEY, id uuid NOT NULL, instance_id uuid NOT NULL); \
    INSERT INTO bench_stages SELECT row_number() OVER (ORDER BY s.seq), s.id, s.instance_id \
      FROM access_review_stages s WHERE s.stage_key = '1'; \
    CREATE TABLE bench_next_stages (LIKE access_review_stages INCLUDING DEFAULTS); \
    ANALYZE bench_stages";

fn pgbench_get(count: usize) -> String {
    format!(
        "\\set n random(1, {count})\n\
         SELECT id, instance_id, stage_key, start_date_time, end_date_time, status \
         FROM access_review_stages WHERE id = (SELECT id FROM bench_stages WHERE n = :n);\n"
    )
}

fn pgbench_stop(count: usize) -> String {
    format!(
        "\\set n random(1, {count})\n\
         BEGIN;\n\
         SELECT instance_id, status FROM access_review_stages \
           WHERE id = (SELECT id FROM bench_stages WHERE n = :n) FOR UPDATE;\n\
         UPDATE access_review_stages SET end_date_time = end_date_time \
           WHERE id = (SELECT id FROM bench_stages WHERE n = :n);\n\
         INSERT INTO bench_next_stages (id, seq, instance_id, stage_key, start_date_time, \
           end_date_time, reviewers, fallback_reviewers, status) \
           SELECT gen_random_uuid(), 0, instance_id, '2', now(), now(), '[]', '[]', 'InProgress' \
           FROM bench_stages WHERE n = :n;\n\
         UPDATE access_review_instances SET status = 'InProgress' \
           WHERE id = (SELECT instance_id FROM bench_stages WHERE n = :n);\n\
         INSERT INTO access_review_audit (occurred_at, actor_id, action, definition_id, \
           instance_id, stage_id, created_stage_id, instance_completed) \
           SELECT now(), gen_random_uuid(), 'stageStopped', i.definition_id, i.id, b.id, NULL, false \
           FROM bench_stages b JOIN access_review_instances i ON i.id = b.instance_id WHERE b.n = :n;\n\
         COMMIT;\n"
    )
}

/// Adds `count` users to `group` directly in the database (the API would
/// take minutes for 100,000).
async fn add_members(pool: &PgPool, group: &str, count: usize, tag: &str) -> anyhow::Result<()> {
    let group: uuid::Uuid = group.parse()?;
    let count = i64::try_from(count)?;
    sqlx::query(
        "WITH u AS (INSERT INTO directory_users (id, display_name, user_principal_name, \
           mail_nickname, account_enabled) \
           SELECT gen_random_uuid(), 'member ' || g, $3 || g || '@bench.test', $3 || g, true \
           FROM generate_series(1, $2) g RETURNING id) \
         INSERT INTO group_members (group_id, member_id, member_kind) \
         SELECT $1, id, 'user' FROM u",
    )
    .bind(group)
    .bind(count)
    .bind(tag)
    .execute(pool)
    .await?;
    Ok(())
}

fn ms(d: Duration) -> String {
    format!("{:.0} ms", d.as_secs_f64() * 1000.0)
}

fn machine() -> String {
    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|c| {
            c.lines()
                .find(|l| l.starts_with("model name"))
                .and_then(|l| l.split(':').nth(1))
                .map(|m| m.trim().to_owned())
        })
        .unwrap_or_else(|| "unknown CPU".into());
    let cores = std::thread::available_parallelism().map_or(0, |n| n.get());
    format!("{cores} cores ({cpu})")
}

/// Writes the table into `out` between the markers `<!-- table -->` and
/// `<!-- /table -->` when the file has them, else as the whole file.
fn write_table(out: &str, table: &str) -> anyhow::Result<()> {
    const START: &str = "<!-- table -->\n";
    const END: &str = "<!-- /table -->";
    let text = std::fs::read_to_string(out).unwrap_or_default();
    let replaced = text.find(START).and_then(|start| {
        let end = text[start..].find(END)? + start;
        Some(format!("{}{START}{table}{}", &text[..start], &text[end..]))
    });
    std::fs::write(out, replaced.unwrap_or_else(|| table.to_owned()))?;
    Ok(())
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let client = Client::builder()
        .pool_max_idle_per_host(256)
        .timeout(Duration::from_secs(600))
        .build()?;
    let pool = PgPoolOptions::new()
        .max_connections(4)
        .connect(&args.database_url)
        .await?;

    let (port, thin_port) = (free_port()?, free_port()?);
    let log = std::fs::File::create(std::env::temp_dir().join("access-reviews-bench.log"))?;
    let mut service = Process(
        Command::new(&args.service_bin)
            .arg("serve")
            .envs(service_env(&args, port))
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .context("cannot start the service")?,
    );
    let base = format!("http://127.0.0.1:{port}");
    wait_ready(&client, &format!("{base}/readyz"), &mut service).await?;
    let mut thin = Process(
        Command::new(&args.thin_bin)
            .env("DATABASE_URL", &args.database_url)
            .env("LISTEN_ADDR", format!("127.0.0.1:{thin_port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .context("cannot start the thin service")?,
    );
    let thin_base = format!("http://127.0.0.1:{thin_port}");
    wait_ready(
        &client,
        &format!("{thin_base}/stages/00000000-0000-0000-0000-000000000000"),
        &mut thin,
    )
    .await?;

    let api = Arc::new(Api {
        client: client.clone(),
        base: base.clone(),
        admin: token(&args, port, "AccessReview.ReadWrite.All", GOVERNANCE_ADMIN)?,
        directory: token(&args, port, "Directory.ReadWrite.All", GLOBAL_ADMIN)?,
    });

    // Seed through the API: the reviews the load works on.
    let seeding = Instant::now();
    let reviewer = api.user("reviewer").await?;
    let group = api.group("bench").await?;
    for name in ["ann", "bob"] {
        let member = api.user(name).await?;
        let body = json!({"@odata.id": format!("https://graph.microsoft.com/v1.0/directoryObjects/{member}")});
        let path = format!("/v1.0/groups/{group}/members/$ref");
        let r = client
            .post(format!("{base}{path}"))
            .bearer_auth(&api.directory)
            .json(&body)
            .send()
            .await?;
        if r.status() != StatusCode::NO_CONTENT {
            bail!("POST {path}: {}", r.status());
        }
    }
    let next = Arc::new(AtomicUsize::new(0));
    let seeders: Vec<_> = (0..16)
        .map(|_| {
            let (api, next, group, reviewer) =
                (api.clone(), next.clone(), group.clone(), reviewer.clone());
            let total = args.reviews;
            tokio::spawn(async move {
                while next.fetch_add(1, Ordering::Relaxed) < total {
                    api.review(&group, &reviewer).await?;
                }
                anyhow::Ok(())
            })
        })
        .collect();
    for seeder in seeders {
        seeder.await??;
    }
    let seeded_in = seeding.elapsed();
    sqlx::query("ANALYZE").execute(&pool).await?;
    let stages = seeded(&pool).await?;
    if stages.len() < args.reviews {
        bail!("seeded {} reviews of {}", stages.len(), args.reviews);
    }
    println!(
        "seeded {} two-stage reviews through the API in {}",
        stages.len(),
        ms(seeded_in)
    );

    // The four reads: the service's Graph path, the thin service's row.
    type Url = fn(&str, &Seeded) -> String;
    let instance_of = |base: &str, r: &Seeded| {
        format!(
            "{base}{DEFINITIONS}/{}/instances/{}",
            r.definition, r.instance
        )
    };
    let measures = |name: &str| {
        let short = name.rsplit(' ').next().unwrap_or(name);
        args.requests.iter().any(|r| r == short)
    };
    let reads: [(&str, Url, Url); 4] = [
        (
            "GET definition",
            |base, r| format!("{base}{DEFINITIONS}/{}", r.definition),
            |thin, r| format!("{thin}/definitions/{}", r.definition),
        ),
        (
            "GET instance",
            |base, r| {
                format!(
                    "{base}{DEFINITIONS}/{}/instances/{}",
                    r.definition, r.instance
                )
            },
            |thin, r| format!("{thin}/instances/{}", r.instance),
        ),
        (
            "GET stage",
            |base, r| {
                format!(
                    "{base}{DEFINITIONS}/{}/instances/{}/stages/{}",
                    r.definition, r.instance, r.stage
                )
            },
            |thin, r| format!("{thin}/stages/{}", r.stage),
        ),
        (
            "GET decision item",
            |base, r| {
                format!(
                    "{base}{DEFINITIONS}/{}/instances/{}/decisions/{}",
                    r.definition, r.instance, r.item
                )
            },
            |thin, r| format!("{thin}/items/{}", r.item),
        ),
    ];
    let urls = |base: &str, url: Url| Arc::new(stages.iter().map(|r| url(base, r)).collect());

    // Stops take stages from disjoint slices: one per (connections, side).
    let slices = args.connections.len() * 2;
    let per_slice = stages.len() / slices;
    let mut slice = 0;
    let mut take = |url: &dyn Fn(&Seeded) -> String| {
        let part: Vec<String> = stages[slice * per_slice..(slice + 1) * per_slice]
            .iter()
            .map(url)
            .collect();
        slice += 1;
        Arc::new(part)
    };

    // (request, connections, service, thin)
    let mut rows: Vec<(&str, usize, Figure, Figure)> = Vec::new();
    for &connections in &args.connections {
        let run = |method, urls, cycle, token, expected| Load {
            method,
            urls,
            cycle,
            token,
            connections,
            seconds: args.seconds,
            expected,
        };
        let (get, post, ok, done) = (
            reqwest::Method::GET,
            reqwest::Method::POST,
            StatusCode::OK,
            StatusCode::NO_CONTENT,
        );
        let token = Some(api.admin.as_str());
        for (name, service_url, thin_url) in reads {
            if !measures(name) {
                continue;
            }
            let s = measured(
                &client,
                run(get.clone(), urls(&base, service_url), true, token, ok),
                &service,
            )
            .await;
            let t = measured(
                &client,
                run(get.clone(), urls(&thin_base, thin_url), true, None, ok),
                &thin,
            )
            .await;
            rows.push((name, connections, s, t));
        }
        if !measures("POST stop") {
            continue;
        }
        let service_stops = take(&|r| format!("{}/stages/{}/stop", instance_of(&base, r), r.stage));
        let thin_stops = take(&|r| format!("{thin_base}/stages/{}/stop", r.stage));
        let s = measured(
            &client,
            run(post.clone(), service_stops, false, token, done),
            &service,
        )
        .await;
        let t = measured(&client, run(post, thin_stops, false, None, done), &thin).await;
        rows.push(("POST stop", connections, s, t));
    }
    let peak_under_load = service.peak_rss_mib();

    let mut pgbench_rows = Vec::new();
    if !args.no_pgbench {
        sqlx::raw_sql(PGBENCH_SETUP).execute(&pool).await?;
        let count = stages.len();
        for &c in &args.connections {
            let run = |wanted: bool, script: String| {
                wanted
                    .then(|| pgbench(&args, &script, c, args.seconds))
                    .transpose()
            };
            let g = run(measures("GET stage"), pgbench_get(count))?;
            let s = run(measures("POST stop"), pgbench_stop(count))?;
            pgbench_rows.push((c, g, s));
        }
    }

    // Stops of stages with many decision items, timed through the API.
    let mut item_rows = Vec::new();
    for (n, &items) in args.items.iter().enumerate() {
        let group = api.group(&format!("big{n}")).await?;
        add_members(&pool, &group, items, &format!("b{n}x")).await?;
        let created = Instant::now();
        api.review(&group, &reviewer).await?;
        let created = created.elapsed();
        let (d, i, s): (uuid::Uuid, uuid::Uuid, uuid::Uuid) = sqlx::query_as(
            "SELECT i.definition_id, i.id, s.id FROM access_review_stages s \
             JOIN access_review_instances i ON i.id = s.instance_id \
             WHERE s.status = 'InProgress' AND s.stage_key = '1' ORDER BY s.seq DESC LIMIT 1",
        )
        .fetch_one(&pool)
        .await?;
        let url = format!("{base}{DEFINITIONS}/{d}/instances/{i}/stages/{s}/stop");
        let stopped = Instant::now();
        let r = client.post(&url).bearer_auth(&api.admin).send().await?;
        let stopped = stopped.elapsed();
        if r.status() != StatusCode::NO_CONTENT {
            bail!("stop of the {items}-item stage: {}", r.status());
        }
        item_rows.push((items, created, stopped));
    }
    let peak = service.peak_rss_mib();

    let mut table = String::new();
    let label = &args.label;
    writeln!(
        table,
        "Machine: {}. Date: {}. {} reviews seeded; {} s per figure.\n",
        machine(),
        chrono::Utc::now().format("%Y-%m-%d %H:%M UTC"),
        stages.len(),
        args.seconds
    )?;
    writeln!(
        table,
        "| request | conns | {label} req/s | p50 | p99 | thin req/s | p50 | p99 | pgbench tx/s | p50 | p99 | {label}/thin | p99 {label}/thin |"
    )?;
    writeln!(
        table,
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
    )?;
    for (name, c, s, t) in &rows {
        let pg = pgbench_rows.iter().find(|(pc, _, _)| pc == c);
        let p = match *name {
            "GET stage" => pg.and_then(|(_, g, _)| *g),
            "POST stop" => pg.and_then(|(_, _, s)| *s),
            _ => None,
        };
        let p = p.map_or("| | ".to_owned(), |p| {
            format!("{:.0} | {:.2} | {:.2}", p.rate, p.p50_ms, p.p99_ms)
        });
        let errors = if s.errors + t.errors > 0 {
            format!(" (errors: {} / {})", s.errors, t.errors)
        } else {
            String::new()
        };
        writeln!(
            table,
            "| {name}{errors} | {c} | {:.0} | {:.2} | {:.2} | {:.0} | {:.2} | {:.2} | {p} | **{:.2}×** | {:.2}× |",
            s.rate,
            s.p50_ms,
            s.p99_ms,
            t.rate,
            t.p50_ms,
            t.p99_ms,
            s.rate / t.rate.max(f64::MIN_POSITIVE),
            s.p99_ms / t.p99_ms.max(f64::MIN_POSITIVE),
        )?;
    }
    writeln!(table)?;
    writeln!(
        table,
        "CPU time per request, in µs (`/proc`, the HTTP server's process and all of PostgreSQL's):\n"
    )?;
    writeln!(
        table,
        "| request | conns | {label} | its PostgreSQL | thin | its PostgreSQL | {label} + PostgreSQL / thin + PostgreSQL |"
    )?;
    writeln!(table, "|---|---:|---:|---:|---:|---:|---:|")?;
    for (name, c, s, t) in &rows {
        writeln!(
            table,
            "| {name} | {c} | {:.0} | {:.0} | {:.0} | {:.0} | {:.2}× |",
            s.server_cpu_us,
            s.db_cpu_us,
            t.server_cpu_us,
            t.db_cpu_us,
            (s.server_cpu_us + s.db_cpu_us)
                / (t.server_cpu_us + t.db_cpu_us).max(f64::MIN_POSITIVE),
        )?;
    }
    writeln!(table)?;
    let mib = |m: Option<f64>| m.map_or("n/a".into(), |m| format!("{m:.1} MiB"));
    writeln!(
        table,
        "Peak RSS of the {label}: {} after the load above; {} after the stops below.\n",
        mib(peak_under_load),
        mib(peak)
    )?;
    writeln!(table, "| decision items | create (API) | stop (API) |")?;
    writeln!(table, "|---:|---:|---:|")?;
    for (items, created, stopped) in &item_rows {
        writeln!(table, "| {items} | {} | {} |", ms(*created), ms(*stopped))?;
    }
    print!("{table}");
    if let Some(out) = &args.out {
        write_table(out, &table)?;
    }
    drop(thin);
    drop(service);
    Ok(())
}
