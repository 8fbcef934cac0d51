//! Markdown versions of the pages (GitHub-flavoured tables; figures as image links).

use std::fmt::Write;

use super::{Entry, RunInfo, Status, format_number, format_seconds, format_unix, papers_in_order};
use crate::cache::RESULTS_DIR;
use crate::experiment::Table;
use crate::paper::PaperInfo;

/// Escapes text for a Markdown table cell or paragraph (pipes, backslashes, line breaks, and
/// characters that would start HTML or emphasis).
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '|' | '\\' | '*' | '_' | '`' | '[' | ']' => {
                out.push('\\');
                out.push(c);
            }
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '\n' | '\r' => out.push(' '),
            _ => out.push(c),
        }
    }
    out
}

/// Wraps text in an inline code span that survives backticks inside it.
fn code(text: &str) -> String {
    let fence = if text.contains('`') { "``" } else { "`" };
    format!("{fence}{}{fence}", text.replace(['\n', '\r'], " "))
}

/// The page of one paper.
pub fn paper_page(info: &PaperInfo, entries: &[&Entry<'_>], run: &RunInfo) -> String {
    let mut b = String::from("[← all papers](index.md)\n\n");
    let _ = writeln!(b, "# {}\n", escape(info.title));
    let mut meta = escape(info.venue);
    if let Some(id) = info.arxiv {
        let _ = write!(meta, " · arXiv [{id}](https://arxiv.org/abs/{id})");
    }
    let _ = writeln!(
        meta,
        " · crate {} · note {}",
        code(info.krate),
        code(&format!("shared/papers/{}", info.note))
    );
    let _ = writeln!(b, "{meta}\n## What the paper claims\n");
    for claim in info.claims {
        let _ = writeln!(b, "- {}", escape(claim));
    }
    let _ = writeln!(b, "\n## What we measured\n");
    if entries.is_empty() {
        let _ = writeln!(
            b,
            "No experiments registered yet; they arrive with crate {}.",
            code(info.krate)
        );
    }
    for entry in entries {
        b.push_str(&section(entry, run));
    }
    b
}

fn section(entry: &Entry<'_>, run: &RunInfo) -> String {
    let exp = entry.experiment;
    let mut b = String::new();
    let _ = writeln!(
        b,
        "<a id=\"exp-{}\"></a>\n\n### {} ({})\n",
        exp.id(),
        escape(exp.title()),
        code(exp.id())
    );
    let _ = writeln!(b, "*Claim:* {}\n", escape(exp.claim()));
    let Some(result) = &entry.result else {
        let text = match &entry.status {
            Status::Failed(why) => format!("Failed in this run: {why}"),
            _ => format!(
                "No result for {} with seed {} yet.",
                run.mode.flag(),
                run.seed
            ),
        };
        let _ = writeln!(b, "{}\n\n```\n{}\n```\n", escape(&text), entry.command);
        return b;
    };
    let _ = writeln!(
        b,
        "{} · mode {} · seed {} · wall time {} · finished {}\n",
        entry.status.label(),
        code(result.mode.flag()),
        result.seed,
        format_seconds(result.seconds),
        format_unix(result.finished_unix)
    );
    if let Some(machine) = &result.machine {
        let _ = writeln!(b, "*Machine:* {}\n", escape(&machine.describe()));
    }
    for fig in &result.outcome.figures {
        let _ = writeln!(b, "![{0}]({1})\n\n*{0}*\n", escape(&fig.caption), fig.path);
    }
    for table in &result.outcome.tables {
        b.push_str(&table_md(table));
    }
    for note in &result.outcome.notes {
        let _ = writeln!(b, "{}\n", escape(note));
    }
    let stem = entry.key.stem();
    let _ = writeln!(b, "Rerun:\n\n```\n{}\n```\n", result.command);
    let _ = writeln!(
        b,
        "Raw results: [JSON]({RESULTS_DIR}/{stem}.json) · [CSV]({RESULTS_DIR}/{stem}.csv)\n"
    );
    b
}

fn table_md(table: &Table) -> String {
    let mut b = format!("**{}**\n\n", escape(&table.caption));
    let _ = writeln!(
        b,
        "| {} | {} (ours) | paper / prediction | verdict |",
        escape(&table.setting),
        escape(&table.quantity)
    );
    b.push_str("|---|---:|---|---|\n");
    for row in &table.rows {
        let _ = writeln!(
            b,
            "| {} | {} | {} | {} |",
            escape(&row.setting),
            format_number(row.ours),
            escape(&row.paper),
            row.verdict.label()
        );
    }
    b.push('\n');
    b
}

/// The index page.
pub fn index(entries: &[Entry<'_>], run: &RunInfo) -> String {
    let mut b = String::from("# flows: reproduction report\n\n");
    let _ = writeln!(
        b,
        "mode {} · seed {} · this call took {}\n\n```\n{}\n```\n",
        code(run.mode.flag()),
        run.seed,
        format_seconds(run.seconds),
        run.command()
    );
    b.push_str("## Papers\n\n| page | venue | arXiv | experiments (with results) | passed | failed |\n|---|---|---|---:|---:|---:|\n");
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
        let _ = writeln!(
            b,
            "| [{}]({}.md) | {} | {} | {} ({done}) | {pass} | {fail} |",
            escape(info.title),
            info.slug,
            escape(info.venue),
            info.arxiv.unwrap_or("—"),
            mine.len()
        );
    }
    b.push_str("\n## Experiments\n\n| experiment | page | status | wall time | passed / failed |\n|---|---|---|---:|---:|\n");
    for e in entries {
        let slug = e.experiment.paper().info().slug;
        let time = e
            .result
            .as_ref()
            .map_or("—".to_string(), |r| format_seconds(r.seconds));
        let (pass, fail) = e.verdicts();
        let id = e.experiment.id();
        let _ = writeln!(
            b,
            "| [{}]({slug}.md#exp-{id}) | {slug} | {} | {time} | {pass} / {fail} |",
            code(id),
            e.status.label()
        );
    }
    let _ = writeln!(
        b,
        "\nRaw results: [summary.csv]({RESULTS_DIR}/summary.csv) and one JSON/CSV pair per experiment in {}.",
        code(RESULTS_DIR)
    );
    b
}

#[cfg(test)]
mod tests {
    use super::{code, escape};

    #[test]
    fn escape_keeps_table_cells_intact() {
        assert_eq!(escape("a|b_c\n<x>"), "a\\|b\\_c &lt;x&gt;");
        assert_eq!(code("a`b"), "``a`b``");
    }
}
