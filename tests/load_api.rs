//! `kicer load api` against the in-process server: every RPC with two
//! clients for a fraction of a second, through the library function.

mod common;

use clap::Parser;
use common::spawn_app;
use kicer::cli::load::{api, LoadCommand};
use kicer::cli::{Cli, Command};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_rpc_answers_ok_under_load_and_is_reported() {
    let app = spawn_app().await;
    let url = format!("http://{}", app.address);
    let cli = Cli::try_parse_from([
        "kicer",
        "load",
        "api",
        "--rpc",
        "all",
        "--clients",
        "2",
        "--duration",
        "0.3",
        "--server",
        &url,
    ])
    .expect("the command line parses");
    let Command::Load(LoadCommand::Api(args)) = cli.command else {
        panic!("not `load api`: {:?}", cli.command);
    };
    let report = api::run_load(&cli.remote, &args, false)
        .await
        .expect("the load runs");
    let rpcs: Vec<_> = report.rpcs.iter().map(|r| r.rpc.as_str()).collect();
    assert_eq!(
        rpcs,
        ["submit", "classify", "get", "queue", "similar", "leadtimes"]
    );
    assert_eq!((report.clients, report.connections), (2, 2));
    for r in &report.rpcs {
        for s in [&r.health, &r.stats] {
            assert!(s.requests > 0, "{}: no calls", r.rpc);
            assert_eq!(s.ok, s.requests, "{}: {:?}", r.rpc, s.errors);
            assert!(s.errors.is_empty(), "{}: {:?}", r.rpc, s.errors);
            assert!(s.p50_us <= s.p99_us && s.p99_us <= s.max_us, "{}", r.rpc);
        }
        assert!(r.ratio > 0.0, "{}", r.rpc);
    }
    assert!(report.problems(&api::Limits::default()).is_empty());
    let table = report.table();
    for r in &report.rpcs {
        assert!(table.contains(&r.rpc), "{table}");
    }
    // A fixed number of calls instead of a duration, on a server that now
    // has questions to get.
    let cli = Cli::try_parse_from([
        "kicer",
        "load",
        "api",
        "--rpc",
        "get",
        "--clients",
        "2",
        "--requests",
        "20",
        "--server",
        &url,
    ])
    .expect("the command line parses");
    let Command::Load(LoadCommand::Api(args)) = cli.command else {
        panic!("not `load api`");
    };
    let report = api::run_load(&cli.remote, &args, false)
        .await
        .expect("the load runs");
    assert_eq!(report.rpcs[0].stats.requests, 20);
    assert_eq!(report.rpcs[0].stats.ok, 20);
    app.shutdown().await.expect("clean stop");
}
