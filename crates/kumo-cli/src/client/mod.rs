//! The client commands of `kumo`: Kii's `kii-servercode.js` and `kii-logs.js` with the same
//! names, flags, wire and output, plus `login`, `invoke` and `run-job`. They speak Kii's REST
//! API only, so they work against any Kumo server and against Kii Cloud.

mod api;
mod conn;
mod dates;
mod executions;
mod invoke;
mod login;
mod logs;
mod out;
mod profile;
mod tail;
mod versions;

use std::process::ExitCode;

use clap::Subcommand;

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Check credentials against a server and save them as a profile.
    #[command(after_help = "Example:\n  kumo login --data-dir ./kumo-data\n  \
        kumo login --site-url http://127.0.0.1:8080/api --app-id ID --app-key KEY \\\n    \
        --client-id CID --client-secret SECRET --profile staging")]
    Login(login::Login),
    /// Deploy server code (and its hook config); it becomes current unless --no-set-current.
    #[command(
        after_help = "Example:\n  kumo deploy-file --file server.js --hook-config hooks.json \
        --environment-version 6"
    )]
    DeployFile(versions::DeployFile),
    /// List the deployed versions.
    #[command(after_help = "Example:\n  kumo list --utc-time")]
    List(versions::List),
    /// Download a version's code.
    #[command(after_help = "Example:\n  kumo get --code-version VERSION --output-file server.js")]
    Get(versions::Download),
    /// Download a version's hook config.
    #[command(after_help = "Example:\n  kumo get-hook-config --code-version VERSION")]
    GetHookConfig(versions::Download),
    /// Delete a version and its hook config.
    #[command(after_help = "Example:\n  kumo delete --code-version VERSION")]
    Delete(versions::Version),
    /// Make a version current.
    #[command(after_help = "Example:\n  kumo set-current --code-version VERSION")]
    SetCurrent(versions::Version),
    /// List scheduled executions (server hook jobs) started in a time range.
    #[command(
        after_help = "Example:\n  kumo list-scheduled-execution --from 2014-02-08 \
        --to '2014-04-30 12:00' --utc-time"
    )]
    ListScheduledExecution(executions::ListExecutions),
    /// Show one scheduled execution.
    #[command(after_help = "Example:\n  kumo get-scheduled-execution --id EXECUTION_ID")]
    GetScheduledExecution(executions::GetExecution),
    /// Run a job of the current version's hook config now and show its execution.
    #[command(after_help = "Example:\n  kumo run-job nightlyCleanup")]
    RunJob(executions::RunJob),
    /// Run an endpoint and show its returned value.
    #[command(
        after_help = "Example:\n  kumo invoke main --params '{\"name\":\"kumo\"}'\n  \
        kumo invoke main --params @params.json --code-version VERSION --token USER_TOKEN"
    )]
    Invoke(invoke::Invoke),
    /// Print the developer log; with -t, follow it live.
    #[command(after_help = "Example:\n  kumo logs -n 20 --level ERROR\n  \
        kumo logs --date-from '2015-01-08 07:40' --date-to 2015-01-09 --use-utc\n  \
        kumo logs -t")]
    Logs(logs::Logs),
}

/// Runs a client command; failures are one line on stderr and exit code 1.
pub async fn run(command: Command) -> ExitCode {
    die_quietly_on_closed_pipe();
    let result = match command {
        Command::Login(a) => login::login(a).await,
        Command::DeployFile(a) => versions::deploy_file(a).await,
        Command::List(a) => versions::list(a).await,
        Command::Get(a) => versions::get(a).await,
        Command::GetHookConfig(a) => versions::get_hook_config(a).await,
        Command::Delete(a) => versions::delete(a).await,
        Command::SetCurrent(a) => versions::set_current(a).await,
        Command::ListScheduledExecution(a) => executions::list(a).await,
        Command::GetScheduledExecution(a) => executions::get(a).await,
        Command::RunJob(a) => executions::run_job(a).await,
        Command::Invoke(a) => invoke::invoke(a).await,
        Command::Logs(a) => logs::logs(a).await,
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            out::error(&format!("{e:#}"));
            ExitCode::FAILURE
        }
    }
}

/// `kumo logs | head` must end quietly when `head` exits, as other command-line tools do,
/// instead of failing on the closed pipe (Rust ignores SIGPIPE by default). Only client
/// commands do this; the server keeps ignoring it.
fn die_quietly_on_closed_pipe() {
    #[cfg(unix)]
    {
        extern "C" {
            fn signal(signum: i32, handler: usize) -> usize;
        }
        const SIGPIPE: i32 = 13;
        const SIG_DFL: usize = 0;
        // SAFETY: restores the default disposition of one signal before any output; no
        // handler of ours is involved.
        unsafe {
            signal(SIGPIPE, SIG_DFL);
        }
    }
}
