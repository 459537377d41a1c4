//! The check report as text, and the flow's picture as Mermaid, DOT, SVG
//! (laid out in process by layout-rs) or one self-contained HTML page.

use super::Report;
use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write;

/// The picture formats `--format` offers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub(crate) enum Format {
    /// A Mermaid `stateDiagram-v2` (renders on GitHub).
    Mermaid,
    /// Graphviz DOT.
    Dot,
    /// An SVG picture, drawn in process.
    Svg,
    /// One self-contained HTML report: picture, problems, paths, coverage.
    Html,
}

/// Edge labels grouped per (from, to), at most a few per edge so the
/// picture stays readable.
fn grouped(report: &Report) -> BTreeMap<(&str, &str), Vec<&str>> {
    let mut labels: BTreeMap<(&str, &str), BTreeSet<&str>> = BTreeMap::new();
    for (from, label, to) in &report.edges {
        labels
            .entry((from.as_str(), to.as_str()))
            .or_default()
            .insert(label.as_str());
    }
    labels
        .into_iter()
        .map(|(k, v)| (k, v.into_iter().collect()))
        .collect()
}

fn short(labels: &[&str]) -> String {
    if labels.len() <= 3 {
        labels.join(", ")
    } else {
        format!("{}, +{}", labels[..2].join(", "), labels.len() - 2)
    }
}

pub(crate) fn picture(report: &Report, format: Format) -> String {
    match format {
        Format::Mermaid => mermaid(report),
        Format::Dot => dot(report, true),
        Format::Svg => svg(report),
        Format::Html => html(report),
    }
}

fn mermaid(report: &Report) -> String {
    let mut out = String::from("stateDiagram-v2\n    [*] --> LoadingInstitutions\n");
    for ((from, to), labels) in grouped(report) {
        let _ = writeln!(out, "    {from} --> {to}: {}", labels.join(", "));
    }
    for terminal in ["Done", "Failed", "Exited"] {
        if report.states.contains_key(terminal) {
            let _ = writeln!(out, "    {terminal} --> [*]");
        }
    }
    out
}

fn dot(report: &Report, self_loops: bool) -> String {
    let dead: BTreeSet<&str> = report
        .dead_ends
        .iter()
        .filter_map(|p| p.split_whitespace().next())
        .collect();
    let mut out = String::from("digraph connectflow {\n");
    for state in report.states.keys() {
        let style = if dead.contains(state.as_str()) {
            " style=filled fillcolor=\"#f4b6b6\""
        } else if matches!(state.as_str(), "Done") {
            " style=filled fillcolor=\"#c8ecc8\""
        } else {
            ""
        };
        let _ = writeln!(out, "  {state} [label=\"{state}\"{style}];");
    }
    for ((from, to), labels) in grouped(report) {
        if from == to && !self_loops {
            continue;
        }
        let _ = writeln!(
            out,
            "  {from} -> {to} [label=\"{}\"];",
            short(&labels).replace('"', "'")
        );
    }
    out.push_str("}\n");
    out
}

/// The state graph drawn in process: DOT → layout-rs (layered layout,
/// crossing reduction) → SVG. Self-loops (an invalid submission stays on
/// its form) are left out of the drawing: they carry no path, and
/// layout-rs draws them over the node.
pub(crate) fn svg(report: &Report) -> String {
    use layout::backends::svg::SVGWriter;
    use layout::gv::{DotParser, GraphBuilder};
    let source = dot(report, false);
    let drawn = std::panic::catch_unwind(|| {
        let graph = DotParser::new(&source).process().ok()?;
        let mut builder = GraphBuilder::new();
        builder.visit_graph(&graph);
        let mut visual = builder.get();
        let mut writer = SVGWriter::new();
        visual.do_it(false, false, false, &mut writer);
        Some(writer.finalize())
    });
    match drawn {
        Ok(Some(svg)) => svg,
        // Never expected (the DOT is ours); a picture is not worth a crash.
        _ => String::from(
            "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"400\" height=\"40\"><text x=\"10\" y=\"25\">the graph could not be laid out</text></svg>",
        ),
    }
}

pub(crate) fn problem_lines(report: &Report) -> Vec<String> {
    let mut lines: Vec<String> = report.defects.clone();
    lines.extend(report.problems.iter().cloned());
    lines.extend(
        report
            .unreachable
            .iter()
            .map(|s| format!("{s} is unreachable")),
    );
    lines.extend(report.dead_ends.iter().cloned());
    lines.extend(report.coverage.iter().filter(|c| !c.linked).map(|c| {
        format!(
            "{} {}: cannot reach a linked account",
            c.institution, c.method
        )
    }));
    // A broken property case is a problem like the others: the HTML
    // report's verdict and the pictures' `problem:` lines come from here.
    if let Some(f) = report.cases.as_ref().and_then(|c| c.failure.as_ref()) {
        lines.push(format!(
            "property case {} broke {}; shortest failing sequence: {}",
            f.case,
            f.rule,
            f.shortest.join(" → ")
        ));
    }
    lines
}

pub(crate) fn text(report: &Report) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "connectflow check: {} institutions, {} institution × method pairs, {} vocabulary, {} abstract states explored",
        report.institutions,
        report.coverage.len(),
        report.partner,
        report.nodes
    );
    for (title, items) in [
        ("Catalogue defects", &report.defects),
        ("Flow problems", &report.problems),
        ("Unreachable states", &report.unreachable),
        ("Dead ends", &report.dead_ends),
    ] {
        let _ = writeln!(out, "\n{title} ({}):", items.len());
        for item in items {
            let _ = writeln!(out, "  ✗ {item}");
        }
    }
    let _ = writeln!(
        out,
        "\nStates and their shortest paths ({}):",
        report.states.len()
    );
    for (state, path) in &report.states {
        let _ = writeln!(out, "  {state:<22} {}", display_path(path));
    }
    let _ = writeln!(out, "\nCoverage per method:");
    for (method, (linked, total)) in &report.methods {
        let _ = writeln!(out, "  {method:<18} {linked}/{total} link");
    }
    let failing: Vec<_> = report.coverage.iter().filter(|c| !c.linked).collect();
    let _ = writeln!(
        out,
        "\nCoverage per institution: {} of {} pairs link",
        report.coverage.len() - failing.len(),
        report.coverage.len()
    );
    for c in failing {
        let _ = writeln!(out, "  ✗ {} {}", c.institution, c.method);
    }
    if let Some(cases) = &report.cases {
        let _ = writeln!(
            out,
            "\nProperty runs: {} cases, {} steps",
            cases.cases, cases.steps
        );
        match &cases.failure {
            None => {
                let _ = writeln!(out, "  every invariant held");
            }
            Some(f) => {
                let _ = writeln!(
                    out,
                    "  ✗ case {} broke: {}\n    shortest failing sequence ({} steps, from {}): {}",
                    f.case,
                    f.rule,
                    f.shortest.len(),
                    f.original_len,
                    f.shortest.join(" → ")
                );
            }
        }
    }
    let n = report.problem_count();
    let _ = writeln!(
        out,
        "\n{}",
        if n == 0 {
            "OK: no problems".to_owned()
        } else {
            format!("FAILED: {n} problem(s)")
        }
    );
    out
}

fn display_path(path: &[String]) -> String {
    if path.is_empty() {
        "(start)".to_owned()
    } else {
        path.join(" → ")
    }
}

fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// One self-contained page: no script, no external stylesheet or font, so
/// it opens the same from an e-mail attachment as from CI artefacts.
pub(crate) fn html(report: &Report) -> String {
    let problems = problem_lines(report);
    let mut out = String::new();
    out.push_str("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n");
    let _ = writeln!(
        out,
        "<title>connectflow check: {}</title>",
        if problems.is_empty() { "OK" } else { "FAILED" }
    );
    out.push_str(
        "<style>body{font-family:system-ui,sans-serif;margin:2em;max-width:80em}\
         .ok{color:#176317}.bad{color:#a01515}table{border-collapse:collapse}\
         td,th{border:1px solid #ccc;padding:.2em .6em;text-align:left}\
         figure{overflow:auto;border:1px solid #ddd;padding:1em}</style>\n</head>\n<body>\n",
    );
    let _ = writeln!(
        out,
        "<h1>Flow check: <span class=\"{}\">{}</span></h1>",
        if problems.is_empty() { "ok" } else { "bad" },
        if problems.is_empty() {
            "no problems".to_owned()
        } else {
            format!("{} problem(s)", problems.len())
        }
    );
    let _ = writeln!(
        out,
        "<p>{} institutions, {} institution × method pairs, {} vocabulary, {} abstract states explored.</p>",
        report.institutions,
        report.coverage.len(),
        escape(report.partner),
        report.nodes
    );
    out.push_str("<h2>Problems</h2>\n<ul id=\"problems\">\n");
    for p in &problems {
        let _ = writeln!(out, "<li class=\"bad\">{}</li>", escape(p));
    }
    if problems.is_empty() {
        out.push_str("<li class=\"ok\">none</li>\n");
    }
    out.push_str("</ul>\n");
    if let Some(cases) = &report.cases {
        let _ = writeln!(
            out,
            "<h2>Property runs</h2>\n<p id=\"cases\">{} cases, {} steps: {}</p>",
            cases.cases,
            cases.steps,
            match &cases.failure {
                None => "<span class=\"ok\">every invariant held</span>".to_owned(),
                Some(f) => format!(
                    "<span class=\"bad\">case {} broke {}</span>; shortest failing sequence ({} steps, from {}): {}",
                    f.case,
                    escape(&f.rule),
                    f.shortest.len(),
                    f.original_len,
                    escape(&f.shortest.join(" → "))
                ),
            }
        );
    }
    out.push_str("<h2>The flow</h2>\n<figure id=\"picture\">\n");
    let svg = svg(report);
    // The drawing inline, without its XML declaration.
    let svg = match svg.find("<svg") {
        Some(i) => &svg[i..],
        None => &svg,
    };
    out.push_str(svg);
    out.push_str("\n</figure>\n<h2>States and their shortest paths</h2>\n<table id=\"paths\">\n<tr><th>state</th><th>shortest path</th></tr>\n");
    for (state, path) in &report.states {
        let _ = writeln!(
            out,
            "<tr><td>{}</td><td>{}</td></tr>",
            escape(state),
            escape(&display_path(path))
        );
    }
    out.push_str("</table>\n<h2>Coverage</h2>\n<table id=\"coverage\">\n<tr><th>institution</th><th>method</th><th>links</th></tr>\n");
    for c in &report.coverage {
        let _ = writeln!(
            out,
            "<tr><td>{}</td><td>{}</td><td class=\"{}\">{}</td></tr>",
            escape(&c.institution),
            escape(&c.method),
            if c.linked { "ok" } else { "bad" },
            if c.linked { "yes" } else { "no" }
        );
    }
    out.push_str("</table>\n</body>\n</html>\n");
    out
}

#[cfg(test)]
mod tests {
    use super::super::{check, CaseFailure, Cases};
    use super::*;
    use connectflow::flow::explore::{demo_catalogue, Vocabulary};
    use std::sync::Arc;

    /// Finding (review, 2026-12-05): a `--cases` run that broke a rule
    /// failed the exit code, but the HTML report's verdict came from a
    /// list without it: "OK / no problems", and no word of the cases.
    /// Now the page says FAILED, names the rule and shows the sequence,
    /// and a clean run says every invariant held.
    #[test]
    fn a_broken_property_case_fails_the_html_report() {
        let mut report = check(Arc::new(demo_catalogue()), &Vocabulary::mono(), "mono");
        report.cases = Some(Cases {
            cases: 500,
            steps: 4_000,
            failure: None,
        });
        let clean = html(&report);
        assert!(clean.contains("<title>connectflow check: OK</title>"));
        assert!(clean.contains("every invariant held"), "{clean}");
        assert_eq!(report.problem_count(), 0);

        report.cases = Some(Cases {
            cases: 17,
            steps: 120,
            failure: Some(CaseFailure {
                case: 16,
                rule: "rule 2: a login <sent> twice".into(),
                shortest: vec!["institutions".into(), "session".into()],
                original_len: 40,
            }),
        });
        let failed = html(&report);
        assert!(failed.contains("<title>connectflow check: FAILED</title>"));
        assert!(failed.contains("1 problem(s)"), "{failed}");
        assert!(
            failed.contains("case 16 broke rule 2: a login &lt;sent&gt; twice"),
            "{failed}"
        );
        assert!(failed.contains("institutions → session"), "{failed}");
        assert_eq!(report.problem_count(), 1);
        assert!(problem_lines(&report)[0].contains("rule 2"));
    }
}
