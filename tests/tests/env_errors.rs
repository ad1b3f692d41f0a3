//! Every variable of the textfile, Pushgateway and line-protocol exporters: a bad value is
//! refused at build time with an error that names the variable that was set, never a secret.

use otel_core::{Env, Telemetry};

/// `(exporter, variables that make it valid)`.
fn valid(exporter: &str, dir: &str) -> Vec<(String, String)> {
    let base: Vec<(&str, String)> = match exporter {
        "textfile" => vec![("OTEL_EXPORTER_TEXTFILE_DIRECTORY", dir.to_owned())],
        "pushgateway" => vec![("OTEL_EXPORTER_PUSHGATEWAY_ENDPOINT", "http://127.0.0.1:9".to_owned())],
        _ => vec![("OTEL_EXPORTER_INFLUX_ENDPOINT", "http://127.0.0.1:9/write".to_owned())],
    };
    let mut pairs: Vec<(String, String)> = base.into_iter().map(|(k, v)| (k.to_owned(), v)).collect();
    pairs.push(("OTEL_METRICS_EXPORTER".to_owned(), exporter.to_owned()));
    pairs
}

fn build(pairs: Vec<(String, String)>) -> Result<Telemetry, otel_core::BuildError> {
    Telemetry::builder().env(Env::from_pairs(pairs)).service_name("env-errors").exporter(otel_exporters::from_env()).build()
}

#[test]
fn every_bad_exporter_variable_is_refused_naming_the_variable_and_never_a_secret() {
    let dir = otel_tests::scratch_dir("env-errors");
    let file = dir.join("a-file");
    std::fs::write(&file, "").expect("write");
    let file = file.to_string_lossy().into_owned();
    // (exporter, variable, bad values); `None` means the variable is missing.
    let cases: Vec<(&str, &str, Vec<Option<&str>>)> = vec![
        ("textfile", "OTEL_EXPORTER_TEXTFILE_DIRECTORY", vec![None, Some("/no/such/dir"), Some(&file), Some("relative/missing")]),
        ("textfile", "OTEL_EXPORTER_TEXTFILE_NAME", vec![Some("a/b"), Some(".hidden"), Some("../up"), Some("bell\u{7}")]),
        ("textfile", "OTEL_EXPORTER_TEXTFILE_INTERVAL", vec![Some("10s"), Some("0"), Some("-1")]),
        ("textfile", "OTEL_EXPORTER_TEXTFILE_REMOVE_STALE", vec![Some("yes")]),
        (
            "pushgateway",
            "OTEL_EXPORTER_PUSHGATEWAY_ENDPOINT",
            vec![
                None,
                Some("pushgateway:9091"),
                Some("ftp://pushgateway:9091"),
                Some("http://"),
                Some("http:///metrics"),
                Some("http://user:s3cret@"),
                Some("ftp://user:s3cret@pushgateway:9091"),
                Some("http://user:s3cret@host name:9091"),
            ],
        ),
        (
            "pushgateway",
            "OTEL_EXPORTER_PUSHGATEWAY_GROUPING",
            vec![Some("novalue"), Some("=x"), Some("bad-name=x"), Some("job=x"), Some("__reserved=1"), Some("a=%ZZ")],
        ),
        ("pushgateway", "OTEL_EXPORTER_PUSHGATEWAY_INTERVAL", vec![Some("soon"), Some("0")]),
        ("pushgateway", "OTEL_EXPORTER_PUSHGATEWAY_METHOD", vec![Some("patch")]),
        ("pushgateway", "OTEL_EXPORTER_PUSHGATEWAY_DELETE_ON_SHUTDOWN", vec![Some("maybe")]),
        (
            "influx",
            "OTEL_EXPORTER_INFLUX_ENDPOINT",
            vec![
                None,
                Some("ftp://vm:8428/write"),
                Some("http:///write"),
                Some("http://user:s3cret@/write"),
                Some("udp://user:s3cret@vm:8089"),
                Some("/no/such/dir/lines.txt"),
            ],
        ),
        ("influx", "OTEL_EXPORTER_INFLUX_INTERVAL", vec![Some("1m"), Some("0")]),
    ];
    let mut checked = 0;
    let mut wrong = Vec::new();
    for (exporter, var, values) in &cases {
        for value in values {
            let mut pairs: Vec<(String, String)> = valid(exporter, &dir.to_string_lossy()).into_iter().filter(|(k, _)| k != var).collect();
            if let Some(value) = value {
                pairs.push(((*var).to_owned(), (*value).to_owned()));
            }
            let err = match build(pairs) {
                Ok(_) => {
                    wrong.push(format!("{var}={value:?}: accepted"));
                    continue;
                }
                Err(e) => e.to_string(),
            };
            let named = if value.is_some() { err.contains(&format!("{var}=")) } else { err.contains(var) };
            if !named || err.contains("s3cret") {
                wrong.push(format!("{var}={value:?}: {err}"));
            }
            if std::env::var_os("SHOW").is_some() {
                println!("{err}");
            }
            checked += 1;
        }
    }
    assert!(wrong.is_empty(), "errors that do not name the variable (or show a secret):\n{}", wrong.join("\n"));
    println!("{checked} bad values across {} variables, each refused naming its variable", cases.len());
    // The same settings made on a builder name the builder setting instead.
    let err = Telemetry::builder()
        .env(Env::empty())
        .exporter(otel_exporters::PushgatewayExporter::new().endpoint("ftp://user:s3cret@pg:9091"))
        .build()
        .expect_err("wrong scheme")
        .to_string();
    assert!(err.contains("invalid setting `endpoint`") && err.contains("<redacted>@pg") && !err.contains("s3cret"), "{err}");
}

#[test]
fn an_error_returned_from_main_prints_its_message_and_causes_not_a_struct() {
    let run = |args: &[&str]| {
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_main_error")).args(args).output().expect("run main_error");
        assert!(!out.status.success());
        String::from_utf8_lossy(&out.stderr).into_owned()
    };
    let env = run(&["env"]);
    assert!(env.starts_with("Error: OTEL_METRIC_EXPORT_INTERVAL=\"ninety\" is not valid: expected "), "{env}");
    let taken = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let addr = taken.local_addr().expect("addr").to_string();
    let bind = run(&["bind", &addr]);
    assert!(bind.starts_with(&format!("Error: cannot listen on {addr}")), "{bind}");
    for printed in [&env, &bind] {
        assert!(
            !printed.contains(" { ") && !printed.contains("InvalidEnv") && !printed.contains("Bind"),
            "a struct was printed: {printed}"
        );
    }
}
