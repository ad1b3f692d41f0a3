//! The configuration file: the format's own example and snippet files, errors that name the
//! key's path and line, and what the file does to a pipeline.
#![cfg(feature = "config-file")]

use otel_core::config::ConfigFile;
use otel_core::Env;

const VENDORED: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/data/opentelemetry-configuration");

fn load(text: &str, env: &Env) -> Result<ConfigFile, String> {
    ConfigFile::from_yaml(text, "test.yaml", env).map_err(|e| e.to_string())
}

#[test]
fn every_example_and_snippet_of_the_format_loads_or_is_refused_by_path() {
    // Files with a part this pipeline does not implement, and the path the refusal names.
    let refused = [
        ("ExperimentalMeterConfigurator_kitchen_sink.yaml", "meter_provider.meter_configurator/development"),
        ("ExperimentalOtlpFileMetricExporter_metrics_file.yaml", "meter_provider.readers[0].periodic.exporter.otlp_file/development"),
        ("ExperimentalOtlpFileMetricExporter_metrics_stdout.yaml", "meter_provider.readers[0].periodic.exporter.otlp_file/development"),
        ("View_kitchen_sink.yaml", "meter_provider.views[0].stream.attribute_keys.excluded"),
    ];
    let mut files: Vec<_> = std::fs::read_dir(VENDORED).unwrap().map(|e| e.unwrap().path()).collect();
    files.retain(|p| p.extension().is_some_and(|e| e == "yaml"));
    files.sort();
    assert_eq!(files.len(), 35, "the vendored files of format 1.0.0");
    let (mut loaded, mut refusals) = (0, 0);
    for path in &files {
        let name = path.file_name().unwrap().to_str().unwrap();
        let outcome = ConfigFile::from_path(path, &Env::empty()).map_err(|e| e.to_string());
        match (refused.iter().find(|(file, _)| *file == name), outcome) {
            (None, Ok(_)) => loaded += 1,
            (Some((_, key)), Err(message)) => {
                assert!(message.contains(key) && message.contains("not supported") && message.contains(", line "), "{name}: {message}");
                refusals += 1;
            }
            (None, Err(message)) => panic!("{name} should load: {message}"),
            (Some(_), Ok(_)) => panic!("{name} should be refused"),
        }
    }
    assert_eq!((loaded, refusals), (31, 4));
}

/// Each class of mistake is refused with the path of the key and its line.
#[test]
fn mistakes_name_the_path_and_the_line() {
    let pull = |prometheus: &str| {
        format!("file_format: \"1.0\"\nmeter_provider:\n  readers:\n    - pull:\n        exporter:\n          prometheus/development:\n{prometheus}")
    };
    let env = Env::from_pairs([("PORT", "not-a-port")]);
    let cases = [
        // wrong type, straight or after substitution
        (pull("            port: \"9464\"\n"), "meter_provider.readers[0].pull.exporter.prometheus/development.port", 7, "expected u16"),
        (pull("            port: ${PORT}\n"), "meter_provider.readers[0].pull.exporter.prometheus/development.port", 7, "expected u16"),
        // out of range
        (pull("            port: 70000\n"), "meter_provider.readers[0].pull.exporter.prometheus/development.port", 7, "70000"),
        // unknown key
        (pull("            prot: 9464\n"), "meter_provider.readers[0].pull.exporter.prometheus/development.prot", 7, "unknown field `prot`"),
        // unknown enum value
        (
            pull("            translation_strategy: underscores\n"),
            "meter_provider.readers[0].pull.exporter.prometheus/development.translation_strategy",
            7,
            "unknown variant `underscores`",
        ),
        // wrong type of a whole section
        ("file_format: \"1.0\"\nmeter_provider:\n  readers: {}\n".into(), "meter_provider.readers", 3, "expected a sequence"),
        // a required key missing
        ("file_format: \"1.0\"\nmeter_provider:\n  views: []\n".into(), "meter_provider", 2, "missing field `readers`"),
        // a value outside what the schema allows
        (
            "file_format: \"1.0\"\nmeter_provider:\n  readers:\n    - periodic:\n        interval: 0\n        exporter:\n          console:\n"
                .into(),
            "meter_provider.readers[0].periodic.interval",
            5,
            "more than 0",
        ),
        // an attribute whose value is not its type
        (
            "file_format: \"1.0\"\nresource:\n  attributes:\n    - name: n\n      value: x\n      type: int\n".into(),
            "resource.attributes[0].value",
            5,
            "expected an integer",
        ),
        // the format's version
        ("file_format: \"0.3\"\n".into(), "file_format", 1, "1.x"),
        // an unknown top-level key
        ("file_format: \"1.0\"\nmeter_providr: {}\n".into(), "meter_providr", 2, "unknown field"),
    ];
    for (text, path, line, what) in cases {
        let message = load(&text, &env).err().unwrap_or_else(|| panic!("accepted:\n{text}"));
        let expected_start = format!("test.yaml, line {line}: {path}: ");
        assert!(message.starts_with(&expected_start) && message.contains(what), "{message}\n  expected {expected_start}…{what}");
    }
    // An invalid substitution reference fails the file at its line.
    let message = load("file_format: \"1.0\"\nresource:\n  schema_url: ${URL:?unset}\n", &env).unwrap_err();
    assert!(message.starts_with("test.yaml, line 3: ${URL:?unset} is not a valid substitution"), "{message}");
}

fn write(text: &str) -> (tempdir::Dir, std::path::PathBuf) {
    let dir = tempdir::Dir::new();
    let path = dir.0.join("otel.yaml");
    std::fs::write(&path, text).expect("write the file");
    (dir, path)
}

mod tempdir {
    /// A directory removed on drop.
    pub(crate) struct Dir(pub(crate) std::path::PathBuf);
    impl Dir {
        pub(crate) fn new() -> Self {
            let path = std::env::temp_dir().join(format!("otel-config-{}-{}", std::process::id(), uuid_like()));
            std::fs::create_dir_all(&path).expect("create a directory");
            Dir(path)
        }
    }
    impl Drop for Dir {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }
    fn uuid_like() -> u128 {
        std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_nanos())
    }
}

fn resource_value(telemetry: &otel_core::Telemetry, key: &'static str) -> Option<String> {
    telemetry.resource().get(&opentelemetry::Key::from_static_str(key)).map(|v| v.to_string())
}

/// The file's resource replaces `OTEL_*` variables, which count only through `${...}`; the
/// builder wins over the file; `OTEL_CONFIG_FILE` and `config_file` both name it.
#[test]
fn the_file_replaces_the_variables_and_the_builder_wins() {
    let (_dir, path) = write(
        "file_format: \"1.0\"\nresource:\n  attributes:\n    - name: service.name\n      value: ${NAME:-from-file}\n    - name: team\n      value: payments\n  attributes_list: region=eu%2Dwest,team=ignored\n  schema_url: https://opentelemetry.io/schemas/1.26.0\n",
    );
    let env = Env::from_pairs([
        ("OTEL_CONFIG_FILE", path.to_str().unwrap()),
        ("OTEL_SERVICE_NAME", "from-variable"),
        ("OTEL_RESOURCE_ATTRIBUTES", "stray=1"),
        ("OTEL_METRIC_EXPORT_INTERVAL", "not-read"),
    ]);
    let telemetry = otel_core::Telemetry::builder().env(env.clone()).build().unwrap();
    assert_eq!(resource_value(&telemetry, "service.name").as_deref(), Some("from-file"));
    assert_eq!(resource_value(&telemetry, "team").as_deref(), Some("payments"));
    assert_eq!(resource_value(&telemetry, "region").as_deref(), Some("eu-west"));
    assert_eq!(resource_value(&telemetry, "stray"), None);
    assert_eq!(telemetry.resource().schema_url(), Some("https://opentelemetry.io/schemas/1.26.0"));
    let telemetry = otel_core::Telemetry::builder()
        .env(Env::from_pairs([("NAME", "substituted")]))
        .config_file(&path)
        .resource_attribute(opentelemetry::KeyValue::new("team", "builder"))
        .build()
        .unwrap();
    assert_eq!(resource_value(&telemetry, "service.name").as_deref(), Some("substituted"));
    assert_eq!(resource_value(&telemetry, "team").as_deref(), Some("builder"));
    let telemetry = otel_core::Telemetry::builder().env(Env::empty()).config_file(&path).service_name("mine").build().unwrap();
    assert_eq!(resource_value(&telemetry, "service.name").as_deref(), Some("mine"));
}

#[test]
fn a_missing_file_or_a_broken_one_stops_the_build_with_its_name() {
    let env = Env::from_pairs([("OTEL_CONFIG_FILE", "/nonexistent/otel.yaml")]);
    let message = otel_core::Telemetry::builder().env(env).build().unwrap_err().to_string();
    assert!(message.starts_with("/nonexistent/otel.yaml: cannot read the configuration file"), "{message}");
    let (_dir, path) = write("file_format: \"1.0\"\nmeter_provider:\n  readers:\n    - pull: [\n");
    let message = otel_core::Telemetry::builder().env(Env::empty()).config_file(&path).build().unwrap_err().to_string();
    assert!(message.contains("otel.yaml, line ") && message.contains("not valid YAML"), "{message}");
}

fn series(telemetry: &otel_core::Telemetry) -> Vec<otel_core::facade::SeriesValue> {
    telemetry.snapshot().series.into_iter().filter(|s| !s.name.starts_with("otel")).collect()
}

/// Views: every selector criterion, rename, description, drop, attribute keys, view and reader
/// cardinality limits (which yield to the catalog's own).
#[test]
fn views_and_cardinality_limits_shape_the_streams() {
    let (_dir, path) = write(
        r#"file_format: "1.0"
meter_provider:
  readers:
    - pull:
        exporter:
          prometheus/development:
        cardinality_limits:
          default: 3
          histogram: 2
  views:
    - selector: {instrument_name: "jobs.*", instrument_type: counter, meter_name: shop}
      stream: {attribute_keys: {included: [queue]}}
    - selector: {instrument_name: old.name}
      stream: {name: new.name, description: renamed}
    - selector: {instrument_name: noisy}
      stream: {aggregation: {drop: }}
    - selector: {instrument_name: wide, unit: By}
      stream: {aggregation_cardinality_limit: 5}
    - selector: {meter_name: shop, meter_version: "9.9"}
      stream: {aggregation: {drop: {}}}
"#,
    );
    let telemetry = otel_core::Telemetry::builder().env(Env::empty()).config_file(&path).build().unwrap();
    let meter = telemetry.meter("shop");
    let kv = |k: &'static str, v: String| opentelemetry::KeyValue::new(k, v);
    let jobs = meter.u64_counter("jobs.done").build();
    jobs.add(1, &[kv("queue", "a".into()), kv("worker", "w1".into())]);
    jobs.add(1, &[kv("queue", "a".into()), kv("worker", "w2".into())]);
    meter.u64_counter("old.name").build().add(1, &[]);
    meter.u64_counter("noisy").build().add(1, &[]);
    let wide = meter.u64_counter("wide").with_unit("By").build();
    let plain = meter.u64_counter("plain").build();
    let timing = meter.f64_histogram("timing").build();
    for i in 0..10 {
        wide.add(1, &[kv("i", i.to_string())]);
        plain.add(1, &[kv("i", i.to_string())]);
        timing.record(1.0, &[kv("i", i.to_string())]);
    }
    let versioned = telemetry.meter_with_scope(opentelemetry::InstrumentationScope::builder("shop").with_version("9.9").build());
    versioned.u64_counter("versioned").build().add(1, &[]);
    let all = series(&telemetry);
    let named = |name: &str| all.iter().filter(|s| s.name == name).collect::<Vec<_>>();
    let jobs = named("jobs.done");
    assert_eq!(jobs.len(), 1, "{jobs:?}");
    assert_eq!(jobs[0].value, Some(2.0));
    assert_eq!(jobs[0].labels.keys().collect::<Vec<_>>(), ["queue"]);
    assert!(named("old.name").is_empty() && named("new.name").len() == 1);
    assert!(named("noisy").is_empty() && named("versioned").is_empty());
    // A limit of N keeps N label sets, then the overflow series (the SDK's reading).
    assert_eq!(named("wide").len(), 6);
    assert_eq!(named("plain").len(), 4);
    assert_eq!(named("timing").len(), 3);
    assert!(named("plain").iter().any(|s| s.labels.contains_key("otel.metric.overflow")));
}

#[test]
fn disabled_attaches_no_exporter() {
    struct Counts(std::sync::Arc<std::sync::atomic::AtomicUsize>);
    impl otel_core::export::Exporter for Counts {
        fn name(&self) -> &'static str {
            "counts"
        }
        fn attach(self: Box<Self>, _: &mut otel_core::export::Plug) -> Result<(), otel_core::BuildError> {
            self.0.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            Ok(())
        }
    }
    let attached = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let (_dir, path) = write("file_format: \"1.0\"\ndisabled: ${OFF:-false}\n");
    for (off, expected) in [("true", 0), ("false", 1)] {
        attached.store(0, std::sync::atomic::Ordering::SeqCst);
        let env = Env::from_pairs([("OFF", off)]);
        let _telemetry = otel_core::Telemetry::builder().env(env).config_file(&path).exporter(Counts(attached.clone())).build().unwrap();
        assert_eq!(attached.load(std::sync::atomic::Ordering::SeqCst), expected, "disabled: {off}");
    }
}

/// Every key the format's schema defines for metrics is known: a file that sets it (to a value of
/// its type) either loads or is refused for another reason (a missing sibling, "not supported"),
/// never as an unknown key.
#[test]
fn every_key_the_schema_defines_for_metrics_is_known() {
    use serde_json::{json, Value};
    let schema: Value =
        serde_json::from_str(&std::fs::read_to_string(format!("{VENDORED}/opentelemetry_configuration.json")).expect("schema"))
            .expect("json");
    let resolve = |node: &Value| -> Value {
        match node.get("$ref").and_then(Value::as_str).and_then(|r| r.strip_prefix("#/$defs/")) {
            Some(name) => schema["$defs"][name].clone(),
            None => node.clone(),
        }
    };
    fn sample(node: &Value) -> Value {
        if let Some(first) = node.get("enum").and_then(|e| e.get(0)) {
            return first.clone();
        }
        let types: Vec<&str> = match &node["type"] {
            Value::String(t) => vec![t.as_str()],
            Value::Array(ts) => ts.iter().filter_map(Value::as_str).collect(),
            _ => vec!["string"],
        };
        match types.first().copied().unwrap_or("string") {
            "integer" => node.get("minimum").cloned().unwrap_or(json!(1)),
            "number" => json!(1.5),
            "boolean" => json!(true),
            "object" => json!({}),
            "array" => json!([]),
            "null" => Value::Null,
            _ => json!("x"),
        }
    }
    // Every (path, sample value) under the metrics part of the schema.
    let mut keys: Vec<(Vec<Value>, Value)> = Vec::new();
    let mut stack: Vec<(Vec<Value>, Value)> = ["file_format", "disabled", "resource", "meter_provider"]
        .iter()
        .map(|k| (vec![json!(k)], schema["properties"][k].clone()))
        .collect();
    while let Some((path, node)) = stack.pop() {
        let node = resolve(&node);
        keys.push((path.clone(), sample(&node)));
        if let Some(properties) = node.get("properties").and_then(Value::as_object) {
            for (key, child) in properties {
                let mut child_path = path.clone();
                child_path.push(json!(key));
                stack.push((child_path, child.clone()));
            }
        }
        if let Some(items) = node.get("items") {
            let mut child_path = path.clone();
            child_path.push(json!(0));
            stack.push((child_path, items.clone()));
        }
    }
    fn set(doc: &mut Value, path: &[Value], value: Value) {
        let Some((head, rest)) = path.split_first() else {
            *doc = value;
            return;
        };
        let child = match head {
            Value::String(key) => {
                if !doc.is_object() {
                    *doc = json!({});
                }
                doc.as_object_mut().expect("object").entry(key.clone()).or_insert(Value::Null)
            }
            _ => {
                if !doc.is_array() || doc.as_array().is_some_and(Vec::is_empty) {
                    *doc = json!([{}]);
                }
                &mut doc.as_array_mut().expect("array")[0]
            }
        };
        set(child, rest, value);
    }
    let mut checked = 0;
    for (path, value) in &keys {
        let mut doc = json!({"file_format": "1.0"});
        set(&mut doc, path, value.clone());
        let yaml = serde_json::to_string(&doc).expect("json is yaml");
        let key = path.last().and_then(Value::as_str).unwrap_or_default();
        if let Err(message) = load(&yaml, &Env::empty()) {
            let unknown = message.contains(&format!("unknown field `{key}`")) || message.contains(&format!("unknown variant `{key}`"));
            assert!(!unknown, "{path:?}: {message}");
        }
        checked += 1;
    }
    assert_eq!(checked, 145, "the keys of format 1.0.0 under file_format, disabled, resource and meter_provider");
}

/// `meter_provider.exemplar_filter` sets the filter; the builder's still wins.
#[test]
fn the_file_sets_the_exemplar_filter() {
    let (_dir, path) = write("file_format: \"1.0\"\nmeter_provider:\n  readers:\n    - pull: {exporter: {prometheus/development: }}\n  exemplar_filter: ${FILTER:-always_off}\n");
    let telemetry = otel_core::Telemetry::builder().env(Env::empty()).config_file(&path).build().expect("build");
    assert_eq!(telemetry.exemplars().filter(), otel_core::ExemplarFilter::AlwaysOff);
    let env = Env::from_pairs([("FILTER", "always_on")]);
    let telemetry = otel_core::Telemetry::builder().env(env).config_file(&path).build().expect("build");
    assert_eq!(telemetry.exemplars().filter(), otel_core::ExemplarFilter::AlwaysOn);
    let telemetry = otel_core::Telemetry::builder()
        .env(Env::empty())
        .config_file(&path)
        .exemplar_filter(otel_core::ExemplarFilter::TraceBased)
        .build()
        .expect("build");
    assert_eq!(telemetry.exemplars().filter(), otel_core::ExemplarFilter::TraceBased);
}

#[test]
fn an_alias_bomb_is_refused_at_its_line_without_growing_memory() {
    // Nine levels of ten aliases each: a billion values if expanded; here, under a key the
    // format accepts and does not use, and under one it uses.
    let mut bomb = String::from("file_format: \"1.0\"\ntracer_provider:\n  a0: &a0 [lol, lol, lol, lol, lol, lol, lol, lol, lol, lol]\n");
    for level in 1..9 {
        let previous = format!("*a{}", level - 1);
        bomb += &format!("  a{level}: &a{level} [{}]\n", [previous.as_str(); 10].join(", "));
    }
    let started = std::time::Instant::now();
    let error = load(&bomb, &Env::empty()).expect_err("an alias bomb is refused");
    assert!(started.elapsed() < std::time::Duration::from_secs(2), "took {:?}", started.elapsed());
    assert!(error.contains("test.yaml, line ") && error.contains("expands to more than"), "{error}");
    // Aliases in ordinary measure still work.
    let fine = "file_format: \"1.0\"\ntracer_provider:\n  a: &a [1, 2]\n  b: *a\n  c: *a\n";
    load(fine, &Env::empty()).expect("a few aliases are fine");
}

#[cfg(unix)]
#[test]
fn a_config_file_that_is_a_fifo_or_a_directory_is_refused_naming_it() {
    let dir = std::env::temp_dir().join(format!("otel-config-fifo-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("dir");
    let fifo = dir.join("config.yaml");
    let made = std::process::Command::new("mkfifo").arg(&fifo).status().expect("mkfifo");
    assert!(made.success());
    for path in [fifo.clone(), dir.clone()] {
        let (tx, rx) = std::sync::mpsc::channel();
        let p = path.clone();
        // On a thread: before the fix, opening the FIFO blocked forever.
        std::thread::spawn(move || {
            let _ = tx.send(ConfigFile::from_path(&p, &Env::empty()).map(|_| ()).map_err(|e| e.to_string()));
        });
        let result = rx.recv_timeout(std::time::Duration::from_secs(5)).expect("the read returns");
        let error = result.expect_err("refused");
        assert!(error.contains(&path.display().to_string()) && error.contains("not a regular file"), "{error}");
    }
    let _ = std::fs::remove_dir_all(&dir);
}
