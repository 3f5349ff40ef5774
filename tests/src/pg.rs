//! A throwaway PostgreSQL server for tests: Debian's PostgreSQL 15 started in a temp dir on a
//! free loopback port, spoken to through `psql`, and torn down on drop.
//!
//! Missing binaries are a test failure with the command that installs them, never a skip.

use std::fs;
use std::net::TcpListener;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

/// Where Debian's `postgresql-15` package puts the server binaries.
pub const BIN_DIR: &str = "/usr/lib/postgresql/15/bin";

/// The command that installs what this harness needs.
pub const INSTALL: &str = "apt-get install -y postgresql";

/// The generated migrations, in order: `generated/sql/*.sql` sorted by name.
pub fn generated_files() -> Vec<PathBuf> {
    let dir = crate::root().join("generated/sql");
    let mut files: Vec<PathBuf> = fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", dir.display()))
        .map(|e| e.expect("directory entry").path())
        .filter(|p| p.extension().is_some_and(|x| x == "sql"))
        .collect();
    files.sort();
    assert!(
        !files.is_empty(),
        "no generated SQL in {}: run `cargo run -p codegen`",
        dir.display()
    );
    files
}

/// What `psql` said.
#[derive(Debug)]
pub struct PsqlOutput {
    /// Exit status was 0.
    pub ok: bool,
    /// Standard output (unaligned, tuples only).
    pub stdout: String,
    /// Standard error: errors, warnings and notices.
    pub stderr: String,
}

impl PsqlOutput {
    fn from(out: Output) -> Self {
        PsqlOutput {
            ok: out.status.success(),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        }
    }
}

/// A running throwaway server. Stopped and deleted on drop.
pub struct Pg {
    dir: PathBuf,
    data: PathBuf,
    port: u16,
    as_postgres: bool,
}

fn bin(name: &str) -> PathBuf {
    let path = Path::new(BIN_DIR).join(name);
    assert!(
        path.exists(),
        "PostgreSQL 15 is not installed: {} is missing. Install it with `{INSTALL}` (Debian), then run the tests again.",
        path.display()
    );
    path
}

fn psql_bin() -> PathBuf {
    // Debian's /usr/bin/psql is a wrapper; the server package's own psql is the same version.
    let own = Path::new(BIN_DIR).join("psql");
    if own.exists() {
        own
    } else {
        PathBuf::from("psql")
    }
}

fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
        .unwrap_or(false)
}

fn free_port() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind a free loopback port");
    listener.local_addr().expect("local address").port()
}

impl Pg {
    /// Create a cluster in a fresh temp dir and start it. Panics with a clear message when
    /// PostgreSQL is not installed or does not start.
    pub fn start() -> Pg {
        static COUNTER: AtomicU32 = AtomicU32::new(0);
        let initdb = bin("initdb");
        let pg_ctl = bin("pg_ctl");
        let as_postgres = is_root();
        let dir = std::env::temp_dir().join(format!(
            "registry-pg-{}-{}",
            std::process::id(),
            COUNTER.fetch_add(1, Ordering::Relaxed)
        ));
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(&dir).expect("create the temp dir");
        // initdb refuses to run as root: the server runs as `postgres`, which must be able to
        // enter the dir and own the data and socket dirs.
        fs::set_permissions(&dir, fs::Permissions::from_mode(0o755)).expect("chmod the temp dir");
        let data = dir.join("data");
        let mut pg = Pg {
            dir,
            data,
            port: 0,
            as_postgres,
        };
        if as_postgres {
            let status = Command::new("chown")
                .arg("postgres:postgres")
                .arg(&pg.dir)
                .status();
            assert!(
                status.is_ok_and(|s| s.success()),
                "cannot chown {} to postgres",
                pg.dir.display()
            );
        }
        pg.run_checked(
            &initdb,
            &[
                "-D",
                &pg.data.to_string_lossy(),
                "-U",
                "postgres",
                "--auth=trust",
                "--no-sync",
                "-E",
                "UTF8",
                "--locale=C",
            ],
        );
        // A free port can be taken between the probe and the start: try a few.
        let mut last_error = String::new();
        for _ in 0..5 {
            pg.port = free_port();
            let options = format!(
                "-c listen_addresses=127.0.0.1 -p {} -c unix_socket_directories={} -c fsync=off -c synchronous_commit=off -c full_page_writes=off",
                pg.port,
                pg.dir.display()
            );
            let log = pg.dir.join("server.log");
            let out = pg
                .command(&pg_ctl)
                .args([
                    "-D",
                    &pg.data.to_string_lossy(),
                    "-w",
                    "-t",
                    "60",
                    "-l",
                    &log.to_string_lossy(),
                    "-o",
                    &options,
                    "start",
                ])
                .output()
                .expect("run pg_ctl");
            if out.status.success() {
                return pg;
            }
            last_error = format!(
                "{}{}\n{}",
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr),
                fs::read_to_string(&log).unwrap_or_default()
            );
        }
        panic!("PostgreSQL did not start:\n{last_error}");
    }

    /// A command run as the server's user.
    fn command(&self, program: &Path) -> Command {
        if self.as_postgres {
            let mut c = Command::new("runuser");
            c.args(["-u", "postgres", "--"]).arg(program);
            c
        } else {
            Command::new(program)
        }
    }

    fn run_checked(&self, program: &Path, args: &[&str]) {
        let out = self
            .command(program)
            .args(args)
            .output()
            .unwrap_or_else(|e| panic!("run {}: {e}", program.display()));
        assert!(
            out.status.success(),
            "{} failed:\n{}{}",
            program.display(),
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }

    /// The port the server listens on (127.0.0.1).
    pub fn port(&self) -> u16 {
        self.port
    }

    /// The directory holding the server's socket.
    pub fn socket_dir(&self) -> &Path {
        &self.dir
    }

    /// `psql` connected to `database` with `ON_ERROR_STOP`, no psqlrc, quiet, unaligned,
    /// tuples only.
    pub fn psql_command(&self, database: &str) -> Command {
        let mut c = Command::new(psql_bin());
        c.args(["-v", "ON_ERROR_STOP=1", "-X", "-q", "-At", "-h"])
            .arg(&self.dir)
            .args([
                "-p",
                &self.port.to_string(),
                "-U",
                "postgres",
                "-d",
                database,
            ])
            .env("PGTZ", "UTC")
            .env_remove("PGOPTIONS");
        c
    }

    /// Run `sql` (any number of statements) in `database`.
    pub fn psql_in(&self, database: &str, sql: &str) -> PsqlOutput {
        use std::io::Write;
        let mut child = self
            .psql_command(database)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("run psql");
        let mut stdin = child.stdin.take().expect("psql stdin");
        let sql = sql.to_owned();
        let writer = std::thread::spawn(move || {
            let _ = stdin.write_all(sql.as_bytes());
        });
        let out = child.wait_with_output().expect("wait for psql");
        let _ = writer.join();
        PsqlOutput::from(out)
    }

    /// Run `sql` in the `postgres` database.
    pub fn psql(&self, sql: &str) -> PsqlOutput {
        self.psql_in("postgres", sql)
    }

    /// Run `sql` and return its output; panics with psql's errors when it fails or prints
    /// anything on standard error (a warning or a notice counts).
    pub fn query(&self, sql: &str) -> String {
        let out = self.psql(sql);
        if !(out.ok && out.stderr.is_empty()) {
            let shown: String = sql.chars().take(2000).collect();
            let more = if shown.len() < sql.len() {
                "\n... (SQL shortened)"
            } else {
                ""
            };
            panic!(
                "psql failed or was noisy:\n{}\nSQL:\n{shown}{more}",
                out.stderr
            );
        }
        out.stdout
    }

    /// Run a file with `psql -f`.
    pub fn psql_file(&self, database: &str, file: &Path) -> PsqlOutput {
        let out = self
            .psql_command(database)
            .arg("-f")
            .arg(file)
            .output()
            .expect("run psql -f");
        PsqlOutput::from(out)
    }

    /// Apply every generated migration once, in order; panics on an error or any message.
    pub fn apply_generated(&self) {
        for file in generated_files() {
            let out = self.psql_file("postgres", &file);
            assert!(
                out.ok && out.stderr.is_empty(),
                "applying {} failed or was noisy:\n{}",
                file.display(),
                out.stderr
            );
        }
    }
}

/// The process exists and is not a zombie waiting for a parent to reap it.
fn alive(pid: u32) -> bool {
    match fs::read_to_string(format!("/proc/{pid}/stat")) {
        // The state follows the parenthesized command name.
        Ok(stat) => stat
            .rsplit_once(')')
            .is_some_and(|(_, rest)| !rest.trim_start().starts_with(['Z', 'X'])),
        Err(_) => false,
    }
}

impl Drop for Pg {
    fn drop(&mut self) {
        let pid: Option<u32> = fs::read_to_string(self.data.join("postmaster.pid"))
            .ok()
            .and_then(|t| t.lines().next().and_then(|l| l.trim().parse().ok()));
        let pg_ctl = Path::new(BIN_DIR).join("pg_ctl");
        if pg_ctl.exists() {
            let _ = self
                .command(&pg_ctl)
                .args([
                    "-D",
                    &self.data.to_string_lossy(),
                    "-m",
                    "fast",
                    "-w",
                    "-t",
                    "30",
                    "stop",
                ])
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .status();
        }
        // pg_ctl returns once the pid file is gone; wait for the process itself before
        // deleting the directory under it.
        if let Some(pid) = pid {
            let deadline = Instant::now() + Duration::from_secs(30);
            while alive(pid) && Instant::now() < deadline {
                std::thread::sleep(Duration::from_millis(20));
            }
        }
        let _ = fs::remove_dir_all(&self.dir);
    }
}
