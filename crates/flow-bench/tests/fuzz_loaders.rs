//! Property-based fuzzing of every loader of outside input flow-bench reads: safetensors
//! checkpoints, result JSON, reference-set caches, the digits CSV and `--set` values. Each gets
//! arbitrary bytes and mutations of a valid input (flipped bytes, truncation, a huge length
//! field) and must return a value or a typed error, never panic (proptest fails on a panic) or
//! allocate without bound (a length field of 2⁶⁴ − 1 would abort the test process).
//! Case counts are small so the normal test run (and CI) stays fast.

use std::io::Cursor;
use std::path::Path;

use flow_bench::cache::{self, ExperimentResult, ResultKey};
use flow_bench::overrides::{self, PresetOverride};
use flow_bench::registry::registry;
use flow_bench::{Mode, validate};
use flow_core::Tensor;
use flow_core::io::Checkpoint;
use flow_data::digits::Digits;
use flow_data::mcmc::{ReferenceTarget, load_or_generate_reference};
use proptest::prelude::*;

fn config() -> ProptestConfig {
    ProptestConfig {
        cases: 48,
        failure_persistence: None,
        ..ProptestConfig::default()
    }
}

/// Applies `edits` (position, byte) and truncates to `keep` (a fraction of the length).
fn mutate(mut bytes: Vec<u8>, edits: &[(usize, u8)], keep: f64) -> Vec<u8> {
    for &(i, b) in edits {
        if !bytes.is_empty() {
            let n = bytes.len();
            bytes[i % n] = b;
        }
    }
    let len = ((bytes.len() as f64) * keep).ceil() as usize;
    bytes.truncate(len.min(bytes.len()));
    bytes
}

fn edits() -> impl Strategy<Value = Vec<(usize, u8)>> {
    prop::collection::vec((any::<usize>(), any::<u8>()), 0..6)
}

fn valid_checkpoint() -> Vec<u8> {
    let mut c = Checkpoint::new();
    c.insert("w", Tensor::from_vec(vec![1.0f64, 2.0, 3.0, 4.0], &[2, 2]));
    c.insert("b", Tensor::from_vec(vec![0.5f32; 3], &[3]));
    c.set_metadata("step", "7");
    c.to_bytes()
}

fn valid_result() -> Vec<u8> {
    let exp = registry().into_iter().next().unwrap();
    let key = ResultKey::new(exp.as_ref(), Mode::Test, 0);
    let result = ExperimentResult {
        experiment: key.experiment.clone(),
        paper: exp.paper(),
        mode: Mode::Test,
        seed: 0,
        preset_hash: key.preset_hash.clone(),
        version: key.version,
        preset: exp.preset(Mode::Test),
        seconds: 1.0,
        finished_unix: 0,
        command: "flows".into(),
        outcome: Default::default(),
        machine: None,
    };
    serde_json::to_vec(&result).unwrap()
}

fn digits_csv(rows: &[(Vec<u8>, u8)]) -> String {
    rows.iter()
        .map(|(px, label)| {
            let mut fields: Vec<String> = px.iter().map(|p| (p % 17).to_string()).collect();
            fields.resize(64, "0".into());
            fields.push((label % 10).to_string());
            fields.join(",") + "\n"
        })
        .collect()
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn checkpoints_from_arbitrary_and_mutated_bytes(
        noise in prop::collection::vec(any::<u8>(), 0..256),
        edits in edits(),
        keep in 0.0f64..=1.0,
        header_len in any::<u64>(),
    ) {
        let _ = Checkpoint::from_bytes(&noise, "noise");
        let _ = Checkpoint::from_bytes(&mutate(valid_checkpoint(), &edits, keep), "mutated");
        let mut lying = valid_checkpoint();
        lying[..8].copy_from_slice(&header_len.to_le_bytes());
        let _ = Checkpoint::from_bytes(&lying, "lying header");
    }

    #[test]
    fn result_json_from_mutated_bytes(edits in edits(), keep in 0.0f64..=1.0) {
        let dir = tempfile::tempdir().unwrap();
        let exp = registry().into_iter().next().unwrap();
        let key = ResultKey::new(exp.as_ref(), Mode::Test, 0);
        std::fs::create_dir_all(dir.path().join(cache::RESULTS_DIR)).unwrap();
        let bytes = mutate(valid_result(), &edits, keep);
        std::fs::write(key.json_path(dir.path()), &bytes).unwrap();
        if let Ok(Some(r)) = cache::load_checked(dir.path(), &key) {
            // Whatever survived the mutation and loaded still matches its key.
            prop_assert_eq!(r.seed, 0);
            prop_assert_eq!(&r.preset_hash, &key.preset_hash);
        }
    }

    #[test]
    fn reference_caches_from_arbitrary_and_mutated_bytes(
        noise in prop::collection::vec(any::<u8>(), 0..200),
        edits in edits(),
        keep in 0.0f64..=1.0,
        rows in any::<u64>(),
    ) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("dw4-n3-s0.f64");
        let mut valid: Vec<u8> = [3u64, 8].iter().flat_map(|v| v.to_le_bytes()).collect();
        valid.extend((0..24).flat_map(|i| f64::from(i).to_le_bytes()));
        let mut huge = valid.clone();
        huge[..8].copy_from_slice(&rows.to_le_bytes());
        for bytes in [noise, mutate(valid, &edits, keep), huge] {
            std::fs::write(&path, &bytes).unwrap();
            match load_or_generate_reference(ReferenceTarget::Dw4, 3, 0, dir.path()) {
                Ok(set) => prop_assert_eq!(set.samples.shape(), &[3, 8][..]),
                Err(e) => prop_assert!(!e.to_string().is_empty()),
            }
            // A bad cache is reported, never silently regenerated over.
            prop_assert_eq!(std::fs::read(&path).unwrap(), bytes);
        }
    }

    #[test]
    fn digits_csv_from_arbitrary_and_mutated_text(
        noise in "[0-9,.\\-\n a-z]{0,300}",
        rows in prop::collection::vec((prop::collection::vec(any::<u8>(), 64), any::<u8>()), 1..4),
        edits in edits(),
        keep in 0.0f64..=1.0,
    ) {
        let name = Path::new("fuzz.csv");
        let _ = Digits::parse_csv(Cursor::new(noise.as_bytes()), name);
        let valid = digits_csv(&rows);
        prop_assert_eq!(Digits::parse_csv(Cursor::new(valid.as_bytes()), name).unwrap().len(), rows.len());
        let mutated = mutate(valid.into_bytes(), &edits, keep);
        if let Ok(d) = Digits::parse_csv(Cursor::new(&mutated[..]), name) {
            prop_assert!(d.len() <= rows.len() + 1);
        }
        let _ = Digits::parse_gz(Cursor::new(&mutated[..]), name);
    }

    #[test]
    fn set_values_never_panic(
        text in "[a-z-]{0,12}:?/?[a-z_/0-9]{0,16}=?.{0,16}",
        which in any::<prop::sample::Index>(),
        value in prop_oneof![
            any::<i64>().prop_map(|v| v.to_string()),
            any::<u64>().prop_map(|v| v.to_string()),
            any::<f64>().prop_map(|v| v.to_string()),
            "[\\[\\]{}\",:a-z0-9.]{0,12}",
        ],
    ) {
        let all = registry();
        let exp = all[which.index(all.len())].as_ref();
        let preset = exp.preset(Mode::Test);
        let pointers = leaf_pointers(&preset, String::new());
        let pointer = &pointers[which.index(pointers.len())];
        for raw in [text, format!("{}:{pointer}={value}", exp.id())] {
            let Ok(o) = raw.parse::<PresetOverride>() else { continue };
            if let Ok(p) = overrides::resolved_preset(exp, Mode::Test, &[o]) {
                let _ = validate::check(exp, &p, 8 << 30);
            }
        }
    }
}

/// Every JSON pointer to a leaf of `v`.
fn leaf_pointers(v: &serde_json::Value, here: String) -> Vec<String> {
    match v {
        serde_json::Value::Object(m) => m
            .iter()
            .flat_map(|(k, c)| leaf_pointers(c, format!("{here}/{k}")))
            .collect(),
        serde_json::Value::Array(a) => a
            .iter()
            .enumerate()
            .flat_map(|(i, c)| leaf_pointers(c, format!("{here}/{i}")))
            .collect(),
        _ => vec![here],
    }
}

#[test]
fn a_digits_line_without_end_is_refused_at_the_cap() {
    let line = "1,".repeat(flow_data::digits::MAX_LINE);
    let err = Digits::parse_csv(Cursor::new(line.as_bytes()), Path::new("long.csv")).unwrap_err();
    assert!(err.to_string().contains("longer than"), "{err}");
}
