//! `vigil serve`, `vigil key` and `vigil user`.

use std::io::{self, Write};
use std::path::Path;
use std::time::Duration;

use anyhow::{Context, bail};
use serde::Deserialize;
use serde_json::json;
use vigil_server::remote::IpNet;
use vigil_server::{Server, ServerConfig};
use vigil_store::Store;

use crate::cli::{KeyCommand, ServeArgs, UserCommand};
use crate::commands::store::{actor, open};
use crate::exit::ExitStatus;

/// The `--config` file: every setting optional (flags and environment variables win).
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileConfig {
    listen: Option<std::net::SocketAddr>,
    max_body: Option<usize>,
    max_remote: Option<u64>,
    allowed_hosts: Option<Vec<String>>,
    allow_private: Option<Vec<String>>,
    refresh_ms: Option<u64>,
    rate_limit: Option<f64>,
    without: Option<Vec<String>>,
    stale_after_secs: Option<u64>,
    fetch_every: Option<u64>,
    bypass_coinflip_on_get: Option<bool>,
    secure_cookies: Option<bool>,
    seconds_per_hash: Option<f64>,
    max_video_size: Option<u64>,
    max_video_seconds: Option<u64>,
    video_time_budget: Option<u64>,
    map_tiles: Option<String>,
    map_tiles_attribution: Option<String>,
}

fn read_file_config(path: &Path) -> anyhow::Result<FileConfig> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("reading the config file {}", path.display()))?;
    toml::from_str(&text).with_context(|| format!("config file {}", path.display()))
}

/// Flags over environment (clap) over the file over the defaults.
fn server_config(args: ServeArgs) -> anyhow::Result<ServerConfig> {
    let file = match &args.config {
        Some(p) => read_file_config(p)?,
        None => FileConfig::default(),
    };
    let mut c = ServerConfig::default();
    if let Some(l) = args.listen.or(file.listen) {
        c.listen = l;
    }
    if let Some(b) = args.max_body.or(file.max_body) {
        c.max_body_bytes = b;
    }
    if let Some(b) = args.max_remote.or(file.max_remote) {
        c.remote.max_bytes = b;
    }
    c.remote.allowed_hosts = if args.allowed_hosts.is_empty() {
        file.allowed_hosts.unwrap_or_default()
    } else {
        args.allowed_hosts
    };
    let private = if args.allow_private.is_empty() {
        file.allow_private.unwrap_or_default()
    } else {
        args.allow_private
    };
    c.remote.private_allowed = private
        .iter()
        .map(|s| {
            s.parse::<IpNet>()
                .map_err(|e| anyhow::anyhow!("allow-private {s:?}: {e}"))
        })
        .collect::<anyhow::Result<_>>()?;
    if let Some(ms) = args.refresh_ms.or(file.refresh_ms) {
        if ms == 0 {
            bail!("refresh-ms must be at least 1");
        }
        c.refresh_every = Duration::from_millis(ms);
    }
    if let Some(r) = args.rate_limit.or(file.rate_limit) {
        if !r.is_finite() || r < 0.0 {
            bail!("rate-limit {r}: must be 0 (no limit) or more");
        }
        c.rate_limit = r;
    }
    if let Some(secs) = args.fetch_every.or(file.fetch_every) {
        if secs == 0 {
            bail!("fetch-every must be at least 1 second");
        }
        c.fetch_every = Some(Duration::from_secs(secs));
    }
    if let Some(s) = file.stale_after_secs {
        c.stale_after = Duration::from_secs(s);
    }
    if let Some(b) = file.bypass_coinflip_on_get {
        c.bypass_coinflip_on_get = b;
    }
    c.secure_cookies = args.secure_cookies || file.secure_cookies.unwrap_or(false);
    if let Some(s) = args.seconds_per_hash.or(file.seconds_per_hash) {
        if !(s.is_finite() && (0.0..=3600.0).contains(&s)) {
            bail!("seconds-per-hash {s}: expected seconds from 0 to 3600");
        }
        c.video.sampling = if s == 0.0 {
            vigil_video::Sampling::EveryFrame
        } else {
            vigil_video::Sampling::SecondsPerHash(s)
        };
    }
    if let Some(n) = args.max_video_size.or(file.max_video_size) {
        c.video.limits.max_file_bytes = n;
    }
    if let Some(s) = args.max_video_seconds.or(file.max_video_seconds) {
        if s == 0 {
            bail!("max-video-seconds must be at least 1");
        }
        c.video.limits.max_duration = Duration::from_secs(s);
    }
    if let Some(s) = args.video_time_budget.or(file.video_time_budget) {
        if s == 0 {
            bail!("video-time-budget must be at least 1 second");
        }
        c.video.limits.time_budget = Duration::from_secs(s);
    }
    if let Some(url) = args.map_tiles.or(file.map_tiles) {
        let attribution = args
            .map_tiles_attribution
            .or(file.map_tiles_attribution)
            .unwrap_or_default();
        c.map_tiles =
            Some(vigil_server::MapTiles::new(&url, &attribution).map_err(anyhow::Error::msg)?);
    }
    let without = if args.without.is_empty() {
        file.without.unwrap_or_default()
    } else {
        args.without
    };
    for part in without {
        match part.trim() {
            "hasher" => c.parts.hasher = false,
            "matcher" => c.parts.matcher = false,
            "curator" => c.parts.curator = false,
            other => bail!("--without {other:?}: use hasher, matcher or curator"),
        }
    }
    Ok(c)
}

/// Runs the server until Ctrl-C or SIGTERM.
pub(crate) fn run(db: &str, args: ServeArgs) -> anyhow::Result<ExitStatus> {
    let config = server_config(args)?;
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")?;
    rt.block_on(async move {
        let store = open(db).await?;
        let server = Server::start(store.clone(), config).await?;
        eprintln!("vigil: serving http://{}", server.addr());
        shutdown_signal().await;
        tracing::info!("shutting down");
        server.shutdown().await;
        store.close().await;
        Ok(ExitStatus::Success)
    })
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {}
        _ = term => {}
    }
}

/// `vigil key …`.
pub(crate) async fn key(store: &Store, cmd: KeyCommand) -> anyhow::Result<ExitStatus> {
    let mut out = io::stdout().lock();
    match cmd {
        KeyCommand::Create(a) => {
            let (secret, hash) = vigil_server::auth::new_key();
            let k = store.add_api_key(&actor(), &a.name, &a.role, &hash).await?;
            writeln!(
                out,
                "{}",
                json!({"name": k.name, "role": k.role, "key": secret})
            )?;
            eprintln!("vigil: the key is shown this once; store it now");
        }
        KeyCommand::List => {
            for k in store.api_keys().await? {
                writeln!(
                    out,
                    "{}",
                    json!({"name": k.name, "role": k.role, "created_at": k.created_at,
                           "revoked_at": k.revoked_at})
                )?;
            }
        }
        KeyCommand::Revoke(a) => {
            store.revoke_api_key(&actor(), &a.name).await?;
            writeln!(out, "{}", json!({"revoked": a.name}))?;
        }
    }
    Ok(ExitStatus::Success)
}

/// A password from standard input: its first line, without the line end.
fn password_from_stdin() -> anyhow::Result<String> {
    let mut line = String::new();
    io::stdin()
        .read_line(&mut line)
        .context("reading the password from standard input")?;
    let password = line.strip_suffix('\n').unwrap_or(&line);
    let password = password.strip_suffix('\r').unwrap_or(password);
    if password.is_empty() {
        bail!("no password on standard input (give it as the first line)");
    }
    Ok(password.to_string())
}

/// A password's argon2id PHC string.
fn hash(password: &str) -> anyhow::Result<String> {
    vigil_server::ui::hash_password(password).map_err(|e| anyhow::anyhow!("{e}"))
}

/// `vigil user …`.
pub(crate) async fn user(store: &Store, cmd: UserCommand) -> anyhow::Result<ExitStatus> {
    let mut out = io::stdout().lock();
    match cmd {
        UserCommand::Create(a) => {
            let password = password_from_stdin()?;
            let phc = hash(&password)?;
            let u = store.add_user(&actor(), &a.name, &a.role, &phc).await?;
            writeln!(
                out,
                "{}",
                json!({"name": u.name, "role": u.role, "created_at": u.created_at})
            )?;
            // A user account closes an open server: from now on logins are required.
        }
        UserCommand::List => {
            for u in store.users().await? {
                writeln!(
                    out,
                    "{}",
                    json!({"name": u.name, "role": u.role, "created_at": u.created_at,
                           "disabled_at": u.disabled_at})
                )?;
            }
        }
        UserCommand::Password(a) => {
            let password = password_from_stdin()?;
            let phc = hash(&password)?;
            store.set_user_password(&actor(), &a.name, &phc).await?;
            writeln!(out, "{}", json!({"password_set": a.name}))?;
        }
        UserCommand::Disable(a) => {
            store.disable_user(&actor(), &a.name).await?;
            writeln!(out, "{}", json!({"disabled": a.name}))?;
        }
    }
    Ok(ExitStatus::Success)
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    fn config(args: &[&str], file: Option<&str>) -> anyhow::Result<ServerConfig> {
        let dir = tempfile::tempdir().unwrap();
        let mut argv = vec!["vigil", "serve"];
        let path = dir.path().join("vigil.toml");
        let path_s = path.to_str().unwrap().to_string();
        if let Some(text) = file {
            std::fs::write(&path, text).unwrap();
            argv.extend(["--config", &path_s]);
        }
        argv.extend(args);
        let parsed = crate::cli::Args::try_parse_from(argv).unwrap();
        let crate::cli::Command::Serve(a) = parsed.command else {
            panic!("not serve")
        };
        server_config(a)
    }

    #[test]
    fn video_settings_come_from_flags_over_the_file_over_the_defaults() {
        let d = config(&[], None).unwrap();
        assert_eq!(d.video, vigil_server::config::default_video_options());
        assert_eq!(d.video.sampling, vigil_video::Sampling::SecondsPerHash(1.0));

        let f = "seconds_per_hash = 0.5\nmax_video_size = 1000\nmax_video_seconds = 60\n\
                 video_time_budget = 5\n";
        let c = config(&[], Some(f)).unwrap();
        assert_eq!(c.video.sampling, vigil_video::Sampling::SecondsPerHash(0.5));
        assert_eq!(c.video.limits.max_file_bytes, 1000);
        assert_eq!(c.video.limits.max_duration, Duration::from_secs(60));
        assert_eq!(c.video.limits.time_budget, Duration::from_secs(5));

        let c = config(
            &[
                "--seconds-per-hash",
                "0",
                "--max-video-size",
                "2K",
                "--max-video-seconds",
                "7",
                "--video-time-budget",
                "9",
            ],
            Some(f),
        )
        .unwrap();
        assert_eq!(c.video.sampling, vigil_video::Sampling::EveryFrame);
        assert_eq!(c.video.limits.max_file_bytes, 2048);
        assert_eq!(c.video.limits.max_duration, Duration::from_secs(7));
        assert_eq!(c.video.limits.time_budget, Duration::from_secs(9));
        // What was not set keeps the server's defaults.
        assert_eq!(
            c.video.limits.max_pixels,
            vigil_server::config::default_video_options()
                .limits
                .max_pixels
        );

        for bad in [
            "seconds_per_hash = -1\n",
            "seconds_per_hash = 5000\n",
            "video_time_budget = 0\n",
            "max_video_seconds = 0\n",
        ] {
            assert!(config(&[], Some(bad)).is_err(), "{bad}");
        }
    }

    #[test]
    fn map_tiles_are_off_by_default_and_checked() {
        assert_eq!(config(&[], None).unwrap().map_tiles, None);
        let f = "map_tiles = \"https://tiles.example.org/{z}/{x}/{y}.png\"\n\
                 map_tiles_attribution = \"© Example\"\n";
        let t = config(&[], Some(f)).unwrap().map_tiles.unwrap();
        assert_eq!(t.url, "https://tiles.example.org/{z}/{x}/{y}.png");
        assert_eq!(t.attribution, "© Example");
        assert_eq!(t.origin(), "https://tiles.example.org");
        let t = config(
            &["--map-tiles", "http://10.0.0.5:8080/t/{z}/{x}/{y}.png"],
            Some(f),
        )
        .unwrap()
        .map_tiles
        .unwrap();
        assert_eq!(t.origin(), "http://10.0.0.5:8080");
        assert_eq!(t.attribution, "© Example", "the file's attribution stays");
        let e = config(&["--map-tiles", "https://tiles.example.org/{z}/{x}"], None).unwrap_err();
        assert!(e.to_string().contains("no {y}"), "{e}");
    }
}
