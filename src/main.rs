use clap::Parser;
use tracing_subscriber::EnvFilter;

#[actix_web::main]
async fn main() -> std::process::ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(EnvFilter::try_from_env("BAYIGE_LOG").unwrap_or_else(|_| EnvFilter::new("info")))
        .with_writer(std::io::stderr)
        .init();
    let cli = bayige::cli::Cli::parse();
    match bayige::cli::run(cli).await {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            // One line naming the cause, then the chain of causes.
            eprintln!("bayige: error: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}
