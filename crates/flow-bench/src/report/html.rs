//! HTML pages: self-contained (inline CSS, no scripts, no external assets), figures as
//! `<img src>` links to the SVG files next to the page.

use std::fmt::Write;

use super::{Entry, RunInfo, Status, format_number, format_seconds, format_unix, papers_in_order};
use crate::cache::RESULTS_DIR;
use crate::experiment::{Table, Verdict};
use crate::paper::PaperInfo;

const CSS: &str = "body{font-family:system-ui,-apple-system,'Segoe UI',sans-serif;max-width:1200px;\
margin:2rem auto;padding:0 1.2rem;color:#1d1d1f;line-height:1.5}h1{font-size:1.7rem;margin-bottom:.2rem}\
h2{border-bottom:1px solid #ddd;padding-bottom:.2rem;margin-top:2rem}h3{margin-bottom:.3rem}\
.meta,.status{color:#555;font-size:.92rem}.claim{font-style:italic}\
table{border-collapse:collapse;margin:.6rem 0 1rem;font-size:.92rem}caption{text-align:left;\
font-weight:600;padding:.3rem 0}th,td{border:1px solid #d5d5d5;padding:.25rem .6rem;text-align:left}\
th{background:#f3f3f5}td.num{text-align:right;font-variant-numeric:tabular-nums}\
.pass{color:#17702f;font-weight:600}.fail{color:#b3261e;font-weight:700}.info{color:#666}\
figure{display:inline-table;margin:.5rem 1rem .5rem 0;vertical-align:top;max-width:100%}\
figure img{max-width:100%;border:1px solid #e3e3e3}figcaption{display:table-caption;caption-side:bottom;font-size:.88rem;color:#444;padding-top:.2rem}\
pre{background:#f6f8fa;padding:.6rem;overflow-x:auto;font-size:.85rem}code{font-size:.9em}\
section.experiment{border-top:2px solid #eee;margin-top:1.6rem}.missing{color:#8a5a00}\
.failed{color:#b3261e}nav{font-size:.9rem}";

/// Escapes text for HTML element content and attribute values.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            _ => out.push(c),
        }
    }
    out
}

fn page(title: &str, body: &str) -> String {
    format!(
        "<!doctype html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
         <title>{}</title>\n<style>{CSS}</style>\n</head>\n<body>\n{body}</body>\n</html>\n",
        escape(title)
    )
}

fn paper_meta(info: &PaperInfo) -> String {
    let mut meta = escape(info.venue);
    if let Some(id) = info.arxiv {
        let _ = write!(
            meta,
            " · arXiv <a href=\"https://arxiv.org/abs/{0}\">{0}</a>",
            escape(id)
        );
    }
    let _ = write!(
        meta,
        " · crate <code>{}</code> · note <code>shared/papers/{}</code>",
        escape(info.krate),
        escape(info.note)
    );
    meta
}

/// The page of one paper.
pub fn paper_page(info: &PaperInfo, entries: &[&Entry<'_>], run: &RunInfo) -> String {
    let mut b = String::new();
    let _ = writeln!(b, "<nav><a href=\"index.html\">← all papers</a></nav>");
    let _ = writeln!(
        b,
        "<h1>{}</h1>\n<p class=\"meta\">{}</p>",
        escape(info.title),
        paper_meta(info)
    );
    let _ = writeln!(b, "<h2>What the paper claims</h2>\n<ul>");
    for claim in info.claims {
        let _ = writeln!(b, "<li>{}</li>", escape(claim));
    }
    let _ = writeln!(b, "</ul>\n<h2>What we measured</h2>");
    if entries.is_empty() {
        let _ = writeln!(
            b,
            "<p class=\"missing\">No experiments registered yet; they arrive with crate <code>{}</code>.</p>",
            escape(info.krate)
        );
    }
    for entry in entries {
        b.push_str(&section(entry, run));
    }
    page(info.title, &b)
}

fn section(entry: &Entry<'_>, run: &RunInfo) -> String {
    let exp = entry.experiment;
    let mut b = String::new();
    let _ = writeln!(
        b,
        "<section class=\"experiment\" id=\"exp-{}\">",
        escape(exp.id())
    );
    let _ = writeln!(
        b,
        "<h3>{} <code>{}</code></h3>",
        escape(exp.title()),
        escape(exp.id())
    );
    let _ = writeln!(b, "<p class=\"claim\">Claim: {}</p>", escape(exp.claim()));
    let Some(result) = &entry.result else {
        let (class, text) = match &entry.status {
            Status::Failed(why) => ("failed", format!("Failed in this run: {why}")),
            _ => (
                "missing",
                format!(
                    "No result for {} with seed {} yet.",
                    run.mode.flag(),
                    run.seed
                ),
            ),
        };
        let cmd = &entry.command;
        let _ = writeln!(
            b,
            "<p class=\"{class}\">{}</p>\n<pre><code>{}</code></pre>\n</section>",
            escape(&text),
            escape(cmd)
        );
        return b;
    };
    let _ = writeln!(
        b,
        "<p class=\"status\">{} · mode <code>{}</code> · seed {} · wall time {} · finished {}</p>",
        escape(entry.status.label()),
        result.mode.flag(),
        result.seed,
        format_seconds(result.seconds),
        format_unix(result.finished_unix)
    );
    if let Some(machine) = &result.machine {
        let _ = writeln!(
            b,
            "<p class=\"machine\">Machine: {}</p>",
            escape(&machine.describe())
        );
    }
    for fig in &result.outcome.figures {
        let _ = writeln!(
            b,
            "<figure><img src=\"{0}\" alt=\"{1}\"><figcaption>{1}</figcaption></figure>",
            escape(&fig.path),
            escape(&fig.caption)
        );
    }
    for table in &result.outcome.tables {
        b.push_str(&table_html(table));
    }
    if !result.outcome.notes.is_empty() {
        let _ = writeln!(b, "<h4>Notes</h4>");
        for note in &result.outcome.notes {
            let _ = writeln!(b, "<p>{}</p>", escape(note));
        }
    }
    let stem = entry.key.stem();
    let _ = writeln!(
        b,
        "<p>Rerun this experiment and its figures:</p>\n<pre><code>{}</code></pre>",
        escape(&result.command)
    );
    let _ = writeln!(
        b,
        "<p>Raw results: <a href=\"{RESULTS_DIR}/{0}.json\">JSON</a> · <a href=\"{RESULTS_DIR}/{0}.csv\">CSV</a></p>",
        escape(&stem)
    );
    let preset = serde_json::to_string_pretty(&result.preset).unwrap_or_default();
    let _ = writeln!(
        b,
        "<details><summary>Preset</summary><pre>{}</pre></details>\n</section>",
        escape(&preset)
    );
    b
}

fn table_html(table: &Table) -> String {
    let mut b = String::from("<table>\n");
    let _ = writeln!(
        b,
        "<caption>{}</caption>\n<tr><th>{}</th><th>{} (ours)</th><th>paper / prediction</th><th>verdict</th></tr>",
        escape(&table.caption),
        escape(&table.setting),
        escape(&table.quantity)
    );
    for row in &table.rows {
        let class = match row.verdict {
            Verdict::Pass => "pass",
            Verdict::Fail => "fail",
            Verdict::Info => "info",
        };
        let _ = writeln!(
            b,
            "<tr><td>{}</td><td class=\"num\">{}</td><td>{}</td><td class=\"{class}\">{}</td></tr>",
            escape(&row.setting),
            escape(&format_number(row.ours)),
            escape(&row.paper),
            row.verdict.label()
        );
    }
    b.push_str("</table>\n");
    b
}

/// The index page linking every paper page.
pub fn index(entries: &[Entry<'_>], run: &RunInfo) -> String {
    let mut b = String::from("<h1>flows: reproduction report</h1>\n");
    let _ = writeln!(
        b,
        "<p class=\"meta\">mode <code>{}</code> · seed {} · this call took {}</p>\n<pre><code>{}</code></pre>",
        run.mode.flag(),
        run.seed,
        format_seconds(run.seconds),
        escape(&run.command())
    );
    let _ = writeln!(
        b,
        "<h2>Papers</h2>\n<table>\n<tr><th>page</th><th>venue</th><th>arXiv</th><th>experiments (with results)</th><th>checks passed</th><th>failed</th></tr>"
    );
    for info in papers_in_order(entries) {
        let mine: Vec<&Entry> = entries
            .iter()
            .filter(|e| e.experiment.paper() == info.id)
            .collect();
        let done = mine.iter().filter(|e| e.result.is_some()).count();
        let (pass, fail) = mine
            .iter()
            .map(|e| e.verdicts())
            .fold((0, 0), |a, v| (a.0 + v.0, a.1 + v.1));
        let fail_class = if fail > 0 { "fail" } else { "pass" };
        let _ = writeln!(
            b,
            "<tr><td><a href=\"{}.html\">{}</a></td><td>{}</td><td>{}</td><td class=\"num\">{} ({done})</td><td class=\"num\">{pass}</td><td class=\"num {fail_class}\">{fail}</td></tr>",
            escape(info.slug),
            escape(info.title),
            escape(info.venue),
            escape(info.arxiv.unwrap_or("—")),
            mine.len()
        );
    }
    let _ = writeln!(
        b,
        "</table>\n<h2>Experiments</h2>\n<table>\n<tr><th>experiment</th><th>page</th><th>status</th><th>wall time</th><th>checks passed / failed</th></tr>"
    );
    for e in entries {
        let slug = e.experiment.paper().info().slug;
        let time = e
            .result
            .as_ref()
            .map_or("—".to_string(), |r| format_seconds(r.seconds));
        let (pass, fail) = e.verdicts();
        let _ = writeln!(
            b,
            "<tr><td><a href=\"{0}.html#exp-{1}\"><code>{1}</code></a></td><td>{0}</td><td>{2}</td><td class=\"num\">{time}</td><td class=\"num\">{pass} / {fail}</td></tr>",
            escape(slug),
            escape(e.experiment.id()),
            escape(e.status.label())
        );
    }
    let _ = writeln!(
        b,
        "</table>\n<p>Raw results: <a href=\"{RESULTS_DIR}/summary.csv\">summary.csv</a> and one JSON/CSV pair per experiment in <code>{RESULTS_DIR}/</code>. Markdown versions of every page sit next to the HTML files.</p>"
    );
    page("flows: reproduction report", &b)
}

#[cfg(test)]
mod tests {
    use super::escape;

    #[test]
    fn escape_neutralises_markup_and_quotes() {
        assert_eq!(
            escape("<b a=\"x\">&'</b>"),
            "&lt;b a=&quot;x&quot;&gt;&amp;&#39;&lt;/b&gt;"
        );
        assert_eq!(escape("vᵀ J_f · sg(J_g v)"), "vᵀ J_f · sg(J_g v)");
    }
}
