//! The `livesupport` binary: parses the command line and calls the library.

use clap::Parser;
use livesupport::config::{AgentCommand, AgentCreate, Cli, Command, RoleArg};
use livesupport::{Application, Config, auth, store, telemetry};
use std::io::Read;
use std::process::ExitCode;

#[tokio::main]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    let config = cli.config.apply_aliases();
    telemetry::init(config.log_format, &config.rust_log);
    if let Err(problem) = config.validate() {
        eprintln!("livesupport: {problem}");
        return ExitCode::from(2);
    }
    let result = match cli.command.unwrap_or(Command::Serve) {
        Command::Serve => serve(config).await,
        Command::Migrate => store::migrate(config.database_url())
            .await
            .map_err(|e| e.to_string()),
        Command::Agent(AgentCommand::Create(args)) => create_agent(&config, args).await,
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(problem) => {
            eprintln!("livesupport: {problem}");
            ExitCode::FAILURE
        }
    }
}

async fn serve(config: Config) -> Result<(), String> {
    let app = Application::build(config)
        .await
        .map_err(|e| e.to_string())?;
    let origin = app.state().settings.public_origin.clone();
    println!("livesupport is serving on port {}", app.port());
    println!("  dashboard:  {origin}/support/dashboard");
    println!("  demo store: {origin}/support");
    if let Some(admin) = app.first_admin() {
        // Printed once, on the start that created it; never logged.
        println!("  first admin login: {} / {}", admin.email, admin.password);
        println!("  (change it: create your own admin, or set ADMIN_EMAIL and ADMIN_PASSWORD)");
    }
    app.run_until_stopped(shutdown_signal())
        .await
        .map_err(|e| e.to_string())
}

/// Resolves on SIGINT or SIGTERM.
async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {},
        _ = term => {},
    }
    tracing::info!("shutdown signal received");
}

async fn create_agent(config: &Config, args: AgentCreate) -> Result<(), String> {
    let password = match std::env::var("LIVESUPPORT_AGENT_PASSWORD") {
        Ok(p) if !p.is_empty() => p,
        _ => {
            let mut input = String::new();
            std::io::stdin()
                .read_to_string(&mut input)
                .map_err(|e| format!("reading the password from stdin: {e}"))?;
            input.trim_end_matches(['\n', '\r']).to_owned()
        }
    };
    let role = match args.role {
        RoleArg::Admin => livesupport::domain::AgentRole::Admin,
        RoleArg::Agent => livesupport::domain::AgentRole::Agent,
    };
    let limits = config.limits();
    let check = |r: Result<String, livesupport::domain::validation::ValidationError>| {
        r.map_err(|e| e.message)
    };
    let email = check(livesupport::domain::validation::required_email(
        "email",
        Some(&args.email),
        &limits,
    ))?;
    let name = check(livesupport::domain::validation::required_text(
        "name",
        Some(&args.name),
        limits.name_chars,
    ))?;
    let password = check(livesupport::domain::validation::password(
        "password",
        Some(&password),
        &limits,
    ))?;
    let store = store::connect(config.database_url(), 1)
        .await
        .map_err(|e| e.to_string())?;
    let password_hash = auth::hash_password(password)
        .await
        .map_err(|e| e.to_string())?;
    let agent = store
        .create_agent(&store::NewAgent {
            email,
            name,
            role,
            password_hash,
        })
        .await
        .map_err(|e| e.to_string())?;
    println!(
        "created {} agent {} (id {})",
        agent.role.as_str(),
        agent.email,
        agent.id
    );
    Ok(())
}
