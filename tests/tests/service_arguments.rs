//! The supervisor makes each built-in service's command line from its table of services
//! (sockets, peers, folders, settings): every one parses with that service's own argument
//! parser, so a flag renamed on one side cannot go unnoticed until a start fails.

use clap::Parser;

#[test]
fn every_built_in_services_arguments_parse_with_its_own_parser() {
    let dir = tempfile::tempdir().unwrap();
    let config = supervisor::config::Config::development(dir.path(), dir.path().join("bin"));
    let plan = supervisor::services::plan(&config, true).expect("a development plan");
    let names: Vec<&str> = plan.services.iter().map(|s| s.name.as_str()).collect();
    assert_eq!(names, supervisor::config::BUILTIN_SERVICES);
    for spec in &plan.services {
        let argv = std::iter::once(spec.name.clone()).chain(spec.args.iter().cloned());
        let parsed = match spec.name.as_str() {
            "store" => svc_store::Args::try_parse_from(argv).map(drop),
            "axi" => svc_axi::Args::try_parse_from(argv).map(drop),
            "web" => svc_web::Args::try_parse_from(argv).map(drop),
            "maxi" => svc_maxi::Args::try_parse_from(argv).map(drop),
            other => panic!("a built-in service this test does not know: {other}"),
        };
        if let Err(e) = parsed {
            panic!("{}'s arguments {:?}: {e}", spec.name, spec.args);
        }
    }
}
