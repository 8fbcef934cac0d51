//! The binary's error handling: clear messages, non-zero exits, no finished result lost.

use std::path::Path;
use std::process::{Command, Output};

fn flows(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_flows"))
        .args(args)
        .output()
        .expect("run flows")
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).to_string()
}

fn smoke_run(out: &Path) -> Output {
    flows(&[
        "reproduce",
        "--smoke",
        "-e",
        "autodiff-gradcheck",
        "--no-progress",
        "--out",
        out.to_str().unwrap(),
    ])
}

fn results(out: &Path) -> Vec<(String, Vec<u8>)> {
    let mut files: Vec<(String, Vec<u8>)> = std::fs::read_dir(out.join("results"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "json"))
        .map(|p| (p.display().to_string(), std::fs::read(&p).unwrap()))
        .collect();
    files.sort();
    files
}

#[test]
fn unknown_experiment_is_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    let o = flows(&[
        "reproduce",
        "--smoke",
        "-e",
        "no-such-thing",
        "--out",
        dir.path().to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(2));
    let err = stderr(&o);
    assert!(
        err.contains("error: unknown experiment `no-such-thing`"),
        "{err}"
    );
    assert!(
        err.contains("autodiff-gradcheck"),
        "the message should list known ids: {err}"
    );
    assert!(
        !dir.path().join("results").exists(),
        "nothing should run or be created"
    );
}

#[test]
fn bad_options_are_rejected() {
    for args in [
        &["reproduce", "--quick", "--full"][..],
        &["reproduce", "--paper", "not-a-paper"],
        &["reproduce", "--threads", "0"],
        &["reproduce", "--seed", "minus-one"],
        &["frobnicate"],
    ] {
        let o = flows(args);
        assert_eq!(o.status.code(), Some(2), "{args:?} should be a usage error");
        assert!(stderr(&o).contains("error:"), "{args:?}: {}", stderr(&o));
    }
}

#[test]
fn output_path_that_is_a_file_is_an_error() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("taken");
    std::fs::write(&file, b"keep me").unwrap();
    let o = flows(&["reproduce", "--smoke", "--out", file.to_str().unwrap()]);
    // A usage error that says what is wrong, not "not writable: File exists".
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("is a file"), "{}", stderr(&o));
    assert!(!stderr(&o).contains("File exists"), "{}", stderr(&o));
    assert_eq!(std::fs::read(&file).unwrap(), b"keep me");
}

#[test]
fn unwritable_output_keeps_finished_results() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("report");
    assert!(smoke_run(&out).status.success());
    let before = results(&out);
    assert_eq!(before.len(), 1);
    // Make the figures folder unusable (a file in its place: unwritable even for root).
    std::fs::rename(out.join("figures"), dir.path().join("figures-moved")).unwrap();
    std::fs::write(out.join("figures"), b"").unwrap();
    let o = flows(&[
        "reproduce",
        "--smoke",
        "--redo",
        "--no-progress",
        "--out",
        out.to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(1));
    let err = stderr(&o);
    assert!(
        err.contains("error: output folder") && err.contains("figures"),
        "{err}"
    );
    assert_eq!(results(&out), before, "a finished result changed");
}

#[test]
fn read_only_output_folder_is_an_error_when_permissions_apply() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("report");
    assert!(smoke_run(&out).status.success());
    let before = results(&out);
    for sub in ["", "results", "figures"] {
        std::fs::set_permissions(out.join(sub), std::fs::Permissions::from_mode(0o555)).unwrap();
    }
    // Root ignores permission bits; detect that and check the weaker property only.
    let enforced = std::fs::write(out.join("probe"), b"").is_err();
    let o = flows(&[
        "reproduce",
        "--smoke",
        "--redo",
        "--no-progress",
        "--out",
        out.to_str().unwrap(),
    ]);
    for sub in ["", "results", "figures"] {
        std::fs::set_permissions(out.join(sub), std::fs::Permissions::from_mode(0o755)).unwrap();
    }
    if enforced {
        assert_eq!(o.status.code(), Some(1));
        assert!(stderr(&o).contains("is not writable"), "{}", stderr(&o));
        assert_eq!(results(&out), before);
    } else {
        assert!(o.status.success(), "{}", stderr(&o));
    }
}

#[test]
fn list_names_every_experiment() {
    let o = flows(&["list", "--presets", "quick"]);
    assert!(o.status.success());
    let text = String::from_utf8_lossy(&o.stdout);
    for id in [
        "autodiff-gradcheck",
        "fff-linear-hutchinson",
        "data-gallery",
    ] {
        assert!(text.contains(id), "{id} missing from `flows list`");
    }
    assert!(text.contains("preset: {"));
}

#[test]
fn reference_data_is_cached_and_a_corrupt_cache_is_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path().to_str().unwrap();
    let args = [
        "reference",
        "--system",
        "dw4",
        "--samples",
        "300",
        "--seed",
        "3",
        "--dir",
        d,
    ];
    let first = flows(&args);
    assert!(first.status.success(), "{}", stderr(&first));
    assert!(String::from_utf8_lossy(&first.stdout).contains("generated"));
    let file = dir.path().join("dw4-n300-s3.f64");
    let bytes = std::fs::read(&file).unwrap();
    let second = flows(&args);
    assert!(String::from_utf8_lossy(&second.stdout).contains("loaded from the cache"));
    assert_eq!(
        std::fs::read(&file).unwrap(),
        bytes,
        "the cache is not rewritten"
    );
    std::fs::write(&file, &bytes[..bytes.len() / 2]).unwrap();
    let corrupt = flows(&args);
    assert_eq!(corrupt.status.code(), Some(1));
    assert!(
        stderr(&corrupt).contains("dw4-n300-s3.f64"),
        "{}",
        stderr(&corrupt)
    );
}

#[test]
fn an_out_of_range_preset_exits_2_with_a_message_and_no_report() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("r");
    for set in [
        "data-gallery:/grid=1.5",
        "data-gallery:/toys/2/EightGaussians/sigma=0",
        "data-gallery:/samples=18446744073709551615",
    ] {
        let o = flows(&[
            "reproduce",
            "--smoke",
            "-e",
            "data-gallery",
            "--no-progress",
            "--set",
            set,
            "--out",
            out.to_str().unwrap(),
        ]);
        let err = stderr(&o);
        assert_eq!(o.status.code(), Some(2), "{set}: {err}");
        assert!(
            err.contains("allowed:") && err.contains("data-gallery"),
            "{set}: {err}"
        );
        assert!(
            !err.contains("panicked") && !err.contains("backtrace"),
            "{err}"
        );
        assert!(
            !out.join("index.html").exists(),
            "{set}: a report was written"
        );
    }
}

#[test]
fn smoke_mode_is_called_smoke_everywhere() {
    let dir = tempfile::tempdir().unwrap();
    assert!(smoke_run(dir.path()).status.success());
    for (path, bytes) in results(dir.path()) {
        let json: serde_json::Value = serde_json::from_slice(&bytes).unwrap();
        assert_eq!(json["mode"], "smoke", "{path}");
    }
    for name in ["smoke", "test"] {
        let o = flows(&["list", "--presets", name]);
        assert!(o.status.success(), "--presets {name}: {}", stderr(&o));
    }
    let help = flows(&["list", "--help"]);
    let text = String::from_utf8_lossy(&help.stdout);
    assert!(text.contains("smoke") && !text.contains("test]"), "{text}");
}

#[test]
fn default_out_is_the_folder_the_readme_opens() {
    let readme = include_str!("../../../README.md");
    let default = flow_bench::runner::DEFAULT_OUT;
    assert!(
        readme.contains(&format!("`{default}/index.html`")),
        "README does not open {default}/index.html"
    );
}

#[test]
fn reference_with_zero_samples_exits_2() {
    let dir = tempfile::tempdir().unwrap();
    let o = flows(&[
        "reference",
        "--system",
        "dw4",
        "--samples",
        "0",
        "--dir",
        dir.path().to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(stderr(&o).contains("--samples 0"), "{}", stderr(&o));
}
