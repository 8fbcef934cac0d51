//! Runs the whole registry in `Mode::Test` into a temporary folder and checks the report's
//! structure: a section per experiment, every referenced SVG present and well-formed.

use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::AtomicBool;

use flow_bench::cache::{ExperimentResult, ResultKey};
use flow_bench::registry::registry;
use flow_bench::{Mode, PaperId, RunOptions, reproduce};
use quick_xml::events::Event;

fn options(out: &Path) -> RunOptions {
    RunOptions {
        papers: Vec::new(),
        experiments: Vec::new(),
        mode: Mode::Test,
        seed: 7,
        out: out.to_path_buf(),
        threads: 2,
        redo: false,
        progress: false,
        overrides: Vec::new(),
    }
}

/// Every `src="..."` value in an HTML page.
fn img_sources(html: &str) -> Vec<String> {
    html.split("<img src=\"")
        .skip(1)
        .map(|rest| rest.split('"').next().unwrap_or("").to_string())
        .collect()
}

/// Parses `path` as XML and returns the name of its root element; panics if malformed.
fn svg_root(path: &Path) -> String {
    let text = std::fs::read_to_string(path).unwrap();
    assert!(!text.trim().is_empty(), "{} is empty", path.display());
    let mut reader = quick_xml::Reader::from_str(&text);
    let mut root = None;
    loop {
        match reader.read_event() {
            Ok(Event::Start(e)) | Ok(Event::Empty(e)) if root.is_none() => {
                root = Some(String::from_utf8_lossy(e.name().as_ref()).to_string());
            }
            Ok(Event::Eof) => break,
            Ok(_) => {}
            Err(e) => panic!("{} is not well-formed XML: {e}", path.display()),
        }
    }
    root.unwrap_or_default()
}

#[test]
fn every_experiment_has_a_section_and_valid_figures() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path();
    let summary = reproduce(&options(out), Arc::new(AtomicBool::new(false))).unwrap();
    let all = registry();
    assert!(summary.failed.is_empty(), "failures: {:?}", summary.failed);
    assert_eq!(summary.ran.len(), all.len());
    let index = std::fs::read_to_string(out.join("index.html")).unwrap();
    for paper in PaperId::ALL {
        let slug = paper.info().slug;
        assert!(
            index.contains(&format!("href=\"{slug}.html\"")),
            "index does not link {slug}"
        );
        assert!(out.join(format!("{slug}.md")).is_file());
    }
    let mut figures = 0;
    for exp in &all {
        let slug = exp.paper().info().slug;
        let html = std::fs::read_to_string(out.join(format!("{slug}.html"))).unwrap();
        let md = std::fs::read_to_string(out.join(format!("{slug}.md"))).unwrap();
        assert!(
            html.contains(&format!(
                "<section class=\"experiment\" id=\"exp-{}\">",
                exp.id()
            )),
            "{} has no HTML section",
            exp.id()
        );
        assert!(
            md.contains(&format!("<a id=\"exp-{}\"></a>", exp.id())),
            "{} has no Markdown section",
            exp.id()
        );
        let key = ResultKey::new(exp.as_ref(), Mode::Test, 7);
        let json = std::fs::read_to_string(key.json_path(out)).unwrap();
        let result: ExperimentResult = serde_json::from_str(&json).unwrap();
        assert_eq!(result.experiment, exp.id());
        assert!(
            !result.outcome.tables.is_empty(),
            "{} has no table",
            exp.id()
        );
        // Timing tables are the only experiments without a plot.
        assert!(
            !result.outcome.figures.is_empty() || exp.id() == "fff-step-time",
            "{} has no figure",
            exp.id()
        );
        assert!(key.csv_path(out).is_file());
        for fig in &result.outcome.figures {
            assert!(
                html.contains(&format!("<img src=\"{}\"", fig.path)),
                "{} missing from {slug}.html",
                fig.path
            );
            assert!(
                md.contains(&format!("]({})", fig.path)),
                "{} missing from {slug}.md",
                fig.path
            );
        }
    }
    for paper in PaperId::ALL {
        let html =
            std::fs::read_to_string(out.join(format!("{}.html", paper.info().slug))).unwrap();
        for src in img_sources(&html) {
            let path = out.join(&src);
            assert!(path.is_file(), "{src} does not exist");
            assert!(
                std::fs::metadata(&path).unwrap().len() > 0,
                "{src} is empty"
            );
            assert_eq!(svg_root(&path), "svg", "{src} has no <svg> root");
            figures += 1;
        }
    }
    assert!(figures >= all.len());
    let staging: Vec<_> = std::fs::read_dir(out.join("figures"))
        .unwrap()
        .filter_map(|e| e.ok())
        .filter(|e| e.file_name().to_string_lossy().starts_with(".staging"))
        .collect();
    assert!(staging.is_empty(), "staging folders left behind");
}
