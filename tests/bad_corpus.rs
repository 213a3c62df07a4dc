//! The bad-input corpus: every file in tests/bad_input/bundles is a broken bundle and
//! every file in tests/bad_input/commands a broken command line. Each must fail with one
//! line naming the problem, a non-zero exit, and leave nothing behind.

mod common;
use common::*;
use serde_json::Value;
use std::path::{Path, PathBuf};

fn corpus(kind: &str) -> Vec<(String, Value)> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/bad_input")
        .join(kind);
    let mut cases: Vec<(String, Value)> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|entry| {
            let path = entry.unwrap().path();
            let text = std::fs::read_to_string(&path).unwrap();
            let name = path.file_stem().unwrap().to_string_lossy().into_owned();
            (
                name,
                serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display())),
            )
        })
        .collect();
    cases.sort_by(|a, b| a.0.cmp(&b.0));
    cases
}

/// Sets (or with null removes) a dotted path in the config.
fn set_path(config: &mut Value, dotted: &str, value: &Value) {
    let mut parts: Vec<&str> = dotted.split('.').collect();
    let last = parts.pop().unwrap();
    let mut node = config;
    for part in parts {
        if !node[part].is_object() {
            node[part] = Value::Object(Default::default());
        }
        node = &mut node[part];
    }
    let object = node.as_object_mut().expect("an object");
    if value.is_null() {
        object.remove(last);
    } else {
        object.insert(last.to_string(), value.clone());
    }
}

fn expected_words(case: &Value) -> Vec<String> {
    case["expect"]
        .as_array()
        .unwrap()
        .iter()
        .map(|w| w.as_str().unwrap().to_string())
        .collect()
}

#[test]
fn every_broken_bundle_fails_clearly_and_leaves_nothing() {
    let cases = corpus("bundles");
    assert!(cases.len() >= 50, "the corpus has {} bundles", cases.len());
    let rt = Runtime::new();
    let mut failures = Vec::new();
    for (name, case) in &cases {
        let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            check_bundle(&rt, name, case)
        }));
        if let Err(panic) = outcome {
            let message = panic
                .downcast_ref::<String>()
                .cloned()
                .unwrap_or_else(|| format!("{panic:?}"));
            failures.push(format!("{name}: {message}"));
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} cases failed:\n{}",
        failures.len(),
        cases.len(),
        failures.join("\n")
    );
    println!("{} broken bundles refused, nothing left", cases.len());
}

fn check_bundle(rt: &Runtime, name: &str, case: &Value) {
    {
        let mut bundle = Bundle::new(&["true"]);
        if let Some(raw) = case["raw"].as_str() {
            std::fs::write(bundle.config_path(), raw).unwrap();
        } else {
            for (path, value) in case["set"].as_object().unwrap() {
                set_path(&mut bundle.config, path, value);
            }
            bundle.write_config();
        }
        let id = unique_id(name);
        let stderr = rt.fail(&["create", "--bundle", bundle.path(), &id]);
        let words = expected_words(case);
        let words: Vec<&str> = words.iter().map(String::as_str).collect();
        assert_one_line_error(&stderr, &words, name);
        assert_no_leaks(rt, &bundle, &[&id]);
    }
}

#[test]
fn every_broken_command_line_fails_clearly_and_leaves_nothing() {
    let cases = corpus("commands");
    let rt = Runtime::new();
    let bundle = Bundle::new(&["true"]);
    let empty: PathBuf = bundle.dir.join("empty-bundle");
    std::fs::create_dir_all(&empty).unwrap();
    for (name, case) in &cases {
        let args: Vec<String> = case["args"]
            .as_array()
            .unwrap()
            .iter()
            .map(|a| {
                a.as_str()
                    .unwrap()
                    .replace("{bundle}", bundle.path())
                    .replace("{empty}", &empty.to_string_lossy())
            })
            .collect();
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let stderr = rt.fail(&args);
        let words = expected_words(case);
        let words: Vec<&str> = words.iter().map(String::as_str).collect();
        assert_one_line_error(&stderr, &words, name);
    }
    assert_no_leaks(&rt, &bundle, &["x", "a", ".."]);
    println!("{} broken command lines refused, nothing left", cases.len());
}
