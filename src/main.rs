//! manifest-tool: inspect image manifests and push multi-platform manifest lists to OCI /
//! Docker v2 registries. A drop-in replacement for the Go `estesp/manifest-tool`.
//!
//! `main` parses the command line, runs the command, and turns any error into the one line
//! `manifest-tool failed with error: …` on stderr with exit code 1, with any secret the
//! registry quoted redacted and any control character it sent escaped.

use manifest_tool::cli::{self, Cli, Command, GlobalOptions};
use manifest_tool::error::{Error, Result};
use manifest_tool::escape::escape_controls;
use manifest_tool::redact::redact;
use manifest_tool::reference::ImageRef;
use manifest_tool::registry::Connector;
use manifest_tool::registry::auth::CredentialSource;
use manifest_tool::registry::credentials::Secret;
use manifest_tool::registry::options::{DEFAULT_CERTS_D, TransportOptions};
use manifest_tool::store::{Access, Store};
use manifest_tool::{inspect, push, spec, test_registry};
use std::io::{IsTerminal, Read, Write};
use std::path::PathBuf;
use std::process::ExitCode;

fn main() -> ExitCode {
    manifest_tool::debug::start();
    match cli::parse(std::env::args_os().skip(1)).and_then(run) {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            manifest_tool::debug::finish();
            let message = error.to_string().replace(['\n', '\r'], " ");
            let message = escape_controls(&redact(&message));
            eprintln!("manifest-tool failed with error: {message}");
            ExitCode::from(1)
        }
    }
}

fn run(cli: Cli) -> Result<()> {
    match cli.command {
        Command::Help(text) | Command::Completion(text) => print(text.as_bytes()),
        Command::Version => print(
            format!(
                "manifest-tool version {} (commit: {})\n",
                env!("CARGO_PKG_VERSION"),
                env!("MANIFEST_TOOL_COMMIT")
            )
            .as_bytes(),
        ),
        Command::Inspect {
            reference: name,
            format,
            expand_config,
        } => {
            let image = ImageRef::parse(&name)?;
            let connector = connector(&cli.global, image.registry())?;
            let store = Store::open(&connector, &image, Access::Read)?;
            let inspected = inspect::fetch(&store, &image, &name, format)?;
            let color = std::io::stdout().is_terminal() && std::env::var_os("NO_COLOR").is_none();
            print(&inspect::render(&inspected, format, expand_config, color)?)
        }
        Command::TestRegistry {
            repository,
            format,
            keep,
        } => {
            let reference = test_registry::repository(&repository)?;
            let connector = connector(&cli.global, Some(&reference.registry))?;
            let report = test_registry::run(&connector, &reference, keep)?;
            print(report.render(format).as_bytes())?;
            report.verdict()
        }
        Command::PushFromSpec { file, options } => {
            push(&cli.global, &spec::from_spec_file(&file, &options)?)
        }
        Command::PushFromArgs {
            platforms,
            template,
            target,
            tags,
            annotations,
            options,
        } => {
            let plan = spec::from_args(
                &platforms,
                &template,
                &target,
                &tags,
                &annotations,
                &options,
            )?;
            push(&cli.global, &plan)
        }
    }
}

/// Push `plan` and print `Digest: <digest> <size>`, or with `--dry-run` the list bytes on
/// stdout and the planned writes on stderr.
fn push(global: &GlobalOptions, plan: &spec::PushPlan) -> Result<()> {
    // Command-line credentials are for the target's registry, or, for a layout target, for
    // the first source in a registry.
    let flags_registry = plan
        .target
        .registry()
        .or_else(|| plan.sources.iter().find_map(|s| s.reference.registry()));
    let connector = connector(global, flags_registry)?;
    // A progress line on a terminal, unless --debug lines are going there too.
    let show_progress = std::io::stderr().is_terminal() && !global.debug;
    let pushed = push::run(plan, &connector, show_progress)?;
    if plan.dry_run {
        for write in &pushed.writes {
            eprintln!("would {write}");
        }
        return print(&pushed.list.bytes);
    }
    print(format!("Digest: {} {}\n", pushed.digest, pushed.list.bytes.len()).as_bytes())
}

/// Build the registry connector from the global flags and the environment, which is read here
/// and nowhere below. Command-line credentials are for `flags_registry` only (the registry of
/// the image inspected or the list pushed).
fn connector(global: &GlobalOptions, flags_registry: Option<&str>) -> Result<Connector> {
    use manifest_tool::registry::credentials::{
        ConfigLocation, HELPER_TIMEOUT, HELPER_TIMEOUT_ENV, HOME_ENV,
    };
    use manifest_tool::registry::options::{IO_TIMEOUT, TIMEOUT_ENV, parse_timeout};
    use manifest_tool::registry::scheme_cache::{NO_CACHE_ENV, SchemeCache};
    use std::env::{var, var_os};
    let options = TransportOptions {
        insecure: global.insecure,
        plain_http: global.plain_http,
        debug: global.debug,
        cacert: global.cacert.clone(),
        ssl_cert_file: var_os("SSL_CERT_FILE")
            .filter(|v| !v.is_empty())
            .map(PathBuf::from),
        certs_d: var_os("MANIFEST_TOOL_CERTS_D")
            .map(PathBuf::from)
            .unwrap_or_else(|| PathBuf::from(DEFAULT_CERTS_D)),
        io_timeout: var(TIMEOUT_ENV)
            .ok()
            .and_then(|v| parse_timeout(&v))
            .unwrap_or(IO_TIMEOUT),
        // ALL_PROXY, HTTPS_PROXY, HTTP_PROXY (or lowercase), and NO_PROXY, as ureq reads them.
        proxy: ureq::Proxy::try_from_env(),
    };
    let docker_config = ConfigLocation::new(
        global.docker_cfg.clone(),
        var_os("DOCKER_CONFIG"),
        var_os(HOME_ENV),
        var(HELPER_TIMEOUT_ENV)
            .ok()
            .and_then(|v| parse_timeout(&v))
            .unwrap_or(HELPER_TIMEOUT),
    );
    // Windows keeps a user's caches in %LOCALAPPDATA%, where Unix has XDG_CACHE_HOME.
    #[cfg(not(windows))]
    let scheme_cache = SchemeCache::new(
        var_os(NO_CACHE_ENV),
        var_os("XDG_CACHE_HOME"),
        var_os("HOME"),
    );
    #[cfg(windows)]
    let scheme_cache = SchemeCache::new(var_os(NO_CACHE_ENV), var_os("LOCALAPPDATA"), None);
    let password = if global.password_stdin {
        Some(read_password_stdin()?)
    } else {
        global.password.clone()
    };
    let flag_credentials = match (&global.username, password) {
        (Some(_), Some(_)) if flags_registry.is_none() => None,
        (Some(username), Some(password)) => Some((
            flags_registry.unwrap_or_default().to_string(),
            CredentialSource::Flags {
                username: username.clone(),
                password,
            },
        )),
        (None, None) => None,
        (Some(_), None) => {
            return Err(Error::Usage(
                "--username needs --password or --password-stdin".to_string(),
            ));
        }
        (None, Some(_)) => {
            return Err(Error::Usage("--password needs --username".to_string()));
        }
    };
    Ok(Connector::new(
        options,
        flag_credentials,
        docker_config,
        scheme_cache,
    ))
}

/// The password from standard input, without its trailing newline.
fn read_password_stdin() -> Result<Secret> {
    let mut text = String::new();
    std::io::stdin()
        .read_to_string(&mut text)
        .map_err(|e| Error::Input(format!("reading the password from standard input: {e}")))?;
    let password = text.trim_end_matches(['\n', '\r']).to_string();
    if password.is_empty() {
        return Err(Error::Input(
            "--password-stdin: standard input is empty".to_string(),
        ));
    }
    Ok(Secret::new(password))
}

/// Write to stdout; a closed pipe (`| head`) is not an error.
fn print(bytes: &[u8]) -> Result<()> {
    let mut stdout = std::io::stdout().lock();
    match stdout.write_all(bytes).and_then(|()| stdout.flush()) {
        Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => Err(Error::Io {
            path: "standard output".to_string(),
            detail: e.to_string(),
        }),
        _ => Ok(()),
    }
}
