//! The `loadtest` binary: parses the options, runs, prints the report, and
//! exits 0 when the run was clean, 1 when anything was lost, duplicated, out of
//! order or an error happened, and 2 when the run could not be done.

use clap::Parser;
use loadtest::{Options, output};
use std::process::ExitCode;

#[tokio::main]
async fn main() -> ExitCode {
    let options = Options::parse();
    match loadtest::run(&options).await {
        Ok(outcome) => {
            if options.json {
                eprintln!("{}", output::json_side_note(&outcome));
                println!("{}", outcome.report.to_json());
            } else {
                println!("{}", output::table(&outcome));
            }
            if outcome.report.is_clean() {
                ExitCode::SUCCESS
            } else {
                ExitCode::from(1)
            }
        }
        Err(err) => {
            eprintln!("loadtest: {err}");
            ExitCode::from(2)
        }
    }
}
