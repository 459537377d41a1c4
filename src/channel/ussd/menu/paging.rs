//! Lists cut into pages by encoded length, and screens fitted to the budget.

use super::{pick, MenuConfig, NavKeys};
use crate::channel::ussd::gateway::Screen;
use crate::channel::ussd::gsm::{self, sanitize, Budget};

pub(super) enum ListInput {
    Page(usize),
    Picked(usize),
    Invalid,
}

/// Paging keys and global item numbers (item numbers stay the same on every
/// page). `head` is what the screen shows above the items, without any error
/// line: the pages are cut as [`list_screen_with`] cuts them. Labels and
/// head are only built when a paging key needs the pages: a plain number
/// (most answers, and a returning customer's bank choice; a new
/// customer's is read in `on_input`) is read from `count` alone.
pub(super) fn list_input(
    count: usize,
    labels: impl FnOnce() -> Vec<String>,
    page: usize,
    head: impl FnOnce() -> Vec<String>,
    input: &str,
    config: &MenuConfig,
) -> ListInput {
    if !is_paging_key(input, &config.keys) {
        // A plain number needs no pages: item numbers are the same on every page.
        return match pick(input, count) {
            Some(i) => ListInput::Picked(i),
            None => ListInput::Invalid,
        };
    }
    let pages = paginate(&head(), &labels(), config);
    let page = page.min(pages.len().saturating_sub(1));
    if input == config.keys.more && page + 1 < pages.len() {
        return ListInput::Page(page + 1);
    }
    if input == config.keys.back && page > 0 {
        return ListInput::Page(page - 1);
    }
    if input == config.keys.home {
        return ListInput::Page(0);
    }
    match pick(input, count) {
        Some(i) => ListInput::Picked(i),
        None => ListInput::Invalid,
    }
}

/// Whether `input` is one of the keys that move between a list's pages.
pub(super) fn is_paging_key(input: &str, keys: &NavKeys) -> bool {
    input == keys.more || input == keys.back || input == keys.home
}

/// Page `page` of a list under `head`, with `lead` lines (an error) shown
/// above `head` but not counted when cutting pages: the same page holds the same items with or
/// without the error, and `fit` shortens the head to make room for it.
pub(super) fn list_screen_with(
    lead: Vec<String>,
    head: Vec<String>,
    labels: &[String],
    page: usize,
    config: &MenuConfig,
) -> Screen {
    let pages = paginate(&head, labels, config);
    let mut head = head;
    if !lead.is_empty() {
        head.splice(0..0, lead);
    }
    let page = page.min(pages.len().saturating_sub(1));
    let range = pages.get(page).cloned().unwrap_or(0..0);
    let mut body: Vec<String> = range
        .clone()
        .map(|i| format!("{}. {}", i + 1, labels[i]))
        .collect();
    body.extend(footer(page, pages.len(), &config.keys));
    fit(head, body, config, false)
}

/// A short numbered menu (all options on one screen) with extra lines after.
pub(super) fn menu(
    head: Vec<String>,
    options: &[String],
    extra: &[String],
    config: &MenuConfig,
) -> Screen {
    let mut body: Vec<String> = options
        .iter()
        .enumerate()
        .map(|(i, o)| format!("{}. {o}", i + 1))
        .collect();
    body.extend(extra.iter().cloned());
    fit(head, body, config, false)
}

fn footer(page: usize, pages: usize, keys: &NavKeys) -> Vec<String> {
    let mut f = Vec::new();
    if page + 1 < pages {
        f.push(format!("{}. More", keys.more));
    }
    if page > 0 {
        f.push(format!("{}. Back", keys.back));
    }
    f
}

/// Splits `labels` into pages whose whole screen (head, items, the widest
/// footer) fits the budget. Cut by encoded length, not a fixed count: a page
/// of short bank names holds more than a page of long ones.
///
/// Each line is measured once and the costs summed (a newline is one unit in
/// either encoding; one non-GSM line makes the whole screen UCS-2), so this
/// is linear in the list: it runs on every hop that shows a list.
fn paginate(
    head: &[String],
    labels: &[String],
    config: &MenuConfig,
) -> Vec<std::ops::Range<usize>> {
    let head_cost = head
        .iter()
        .map(|l| LineCost::of(l))
        .fold(LineCost::EMPTY, LineCost::join);
    let reserve = LineCost::of(&format!("{}. More", config.keys.more))
        .join(LineCost::of(&format!("{}. Back", config.keys.back)));
    let items: Vec<LineCost> = labels
        .iter()
        .enumerate()
        .map(|(i, l)| LineCost::of(&format!("{}. {l}", i + 1)))
        .collect();
    let mut pages = Vec::new();
    let mut start = 0;
    while start < labels.len() {
        // A page always holds at least one item, even one too long to fit:
        // `fit` then shortens the head rather than lose the option.
        let mut total = head_cost.join(items[start]);
        let mut end = start + 1;
        while end < labels.len() {
            let next = total.join(items[end]);
            if !next.join(reserve).fits(&config.budget) {
                break;
            }
            total = next;
            end += 1;
        }
        pages.push(start..end);
        start = end;
    }
    if pages.is_empty() {
        pages.push(0..0);
    }
    pages
}

/// The encoded size of one or more lines joined with newlines.
#[derive(Debug, Clone, Copy)]
struct LineCost {
    /// GSM-7 septets, or `None` once any character needs UCS-2.
    gsm: Option<usize>,
    /// UTF-16 code units.
    ucs2: usize,
    lines: usize,
}

impl LineCost {
    const EMPTY: LineCost = LineCost {
        gsm: Some(0),
        ucs2: 0,
        lines: 0,
    };

    fn of(line: &str) -> LineCost {
        let clean = sanitize(line);
        let m = gsm::measure(&clean);
        let ucs2 = clean.encode_utf16().count();
        LineCost {
            gsm: (m.encoding == gsm::Encoding::Gsm7).then_some(m.units),
            ucs2,
            lines: 1,
        }
    }

    fn join(self, other: LineCost) -> LineCost {
        let newline = usize::from(self.lines > 0 && other.lines > 0);
        LineCost {
            gsm: self.gsm.zip(other.gsm).map(|(a, b)| a + b + newline),
            ucs2: self.ucs2 + other.ucs2 + newline,
            lines: self.lines + other.lines,
        }
    }

    fn fits(self, budget: &Budget) -> bool {
        match self.gsm {
            Some(septets) => septets <= budget.gsm7,
            None => self.ucs2 <= budget.ucs2,
        }
    }
}

/// Joins `head` (may be shortened) and `body` (never cut: every option line
/// stays whole) into a screen within the budget. Head lines are dropped from
/// the top, then the last one is shortened, until it fits.
pub(super) fn fit(head: Vec<String>, body: Vec<String>, config: &MenuConfig, end: bool) -> Screen {
    fit_from(head, body, config, end, head_bound(&config.budget))
}

/// The longest head line, in characters, worth shortening word by word: no
/// longer line can be on a screen. A line of plain text is at least as long
/// once sanitized, and any character costs at least one unit; twice the
/// larger limit leaves room for text whose combining marks sanitizing
/// removes (decomposed accents: one mark a letter).
fn head_bound(budget: &Budget) -> usize {
    budget.gsm7.max(budget.ucs2).saturating_mul(2)
}

/// [`fit`], with head lines longer than `bound` characters first brought
/// under it by the same cuts `fit` makes.
///
/// Why: `fit` drops one word per pass and re-joins and re-measures the whole
/// screen each time, which is quadratic in a long line (a partner's 100 KB
/// form title or refusal stalled a worker for seconds on every hop). Lines
/// over the bound cannot fit, so the loop would cut them, and only them,
/// down to the bound before touching anything else (it always cuts the
/// longest line); doing that first, in one linear pass per line, reaches the
/// same state, and the loop then works on short lines. (A line that is
/// mostly invisible characters may be cut shorter than before: still within
/// the budget, never longer.)
fn fit_from(
    head: Vec<String>,
    body: Vec<String>,
    config: &MenuConfig,
    end: bool,
    bound: usize,
) -> Screen {
    let mut head: Vec<String> = head
        .into_iter()
        .filter_map(|line| cut_to(line, bound))
        .collect();
    let join = |head: &[String], body: &[String]| -> String {
        let text: Vec<&str> = head.iter().chain(body.iter()).map(String::as_str).collect();
        sanitize(&text.join("\n")).into_owned()
    };
    let mut text = join(&head, &body);
    while !config.budget.fits(&text) && !head.is_empty() {
        // Shorten the longest head line by a word; drop it when it is one word.
        let longest = (0..head.len())
            .max_by_key(|&i| head[i].chars().count())
            .unwrap_or(0);
        let line = &mut head[longest];
        match line.trim_end_matches("...").rfind(' ') {
            Some(cut) if cut > 0 => {
                line.truncate(cut);
                line.push_str("...");
            }
            _ => {
                head.remove(longest);
            }
        }
        text = join(&head, &body);
    }
    if !config.budget.fits(&text) {
        // A body that alone exceeds the budget (a huge option list from a
        // partner): keep whole lines while they fit rather than cut one.
        let mut kept = Vec::new();
        for line in &body {
            let mut candidate = kept.clone();
            candidate.push(line.clone());
            if !config.budget.fits(&join(&[], &candidate)) {
                break;
            }
            kept = candidate;
        }
        // Not even the first line fits (a partner's prompt longer than a
        // screen): shorten it rather than show an empty screen.
        if kept.is_empty() {
            if let Some(first) = body.first() {
                kept.push(shorten(first, config));
            }
        }
        text = join(&[], &kept);
    }
    Screen {
        text,
        end,
        masked: false,
    }
}

/// `line` after as many of `fit`'s cuts (drop the last word, end with
/// `...`) as bring it to at most `max_chars` characters, or `None` when a
/// cut would leave no word (`fit` then drops the line). Linear: each cut
/// scans only the word it drops.
fn cut_to(mut line: String, max_chars: usize) -> Option<String> {
    if line.chars().nth(max_chars).is_none() {
        return Some(line);
    }
    // A cut at byte `end` (a space, so a character boundary) leaves
    // `line[..end]` plus `...`: short enough once `end` is at most the
    // offset of character `max_chars - 3`.
    let limit = line
        .char_indices()
        .nth(max_chars.saturating_sub(3))
        .map_or(line.len(), |(i, _)| i);
    let mut end = line.len();
    loop {
        // As `fit` does: any `...` a previous cut left (or the text had) is
        // not a word, and a space at the very start leaves nothing.
        match line.get(..end)?.trim_end_matches("...").rfind(' ') {
            Some(cut) if cut > 0 => end = cut,
            _ => return None,
        }
        if end <= limit {
            break;
        }
    }
    line.truncate(end);
    line.push_str("...");
    Some(line)
}

/// `line` cut at a character boundary, with `...`, to the longest prefix
/// that fits the budget.
fn shorten(line: &str, config: &MenuConfig) -> String {
    let clean = sanitize(line);
    let chars: Vec<char> = clean.chars().collect();
    // Binary search over the number of characters kept: the encoded length
    // grows with it, so the longest fitting prefix is well defined.
    let (mut lo, mut hi) = (0usize, chars.len());
    while lo < hi {
        let mid = (lo + hi).div_ceil(2);
        let mut candidate: String = chars[..mid].iter().collect();
        candidate.push_str("...");
        if config.budget.fits(&candidate) {
            lo = mid;
        } else {
            hi = mid - 1;
        }
    }
    let mut out: String = chars[..lo].iter().collect();
    out.push_str("...");
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::channel::ussd::gsm::Budget;
    use proptest::strategy::Strategy;

    /// Finding: a prompt longer than the whole budget used to be dropped,
    /// leaving an empty screen; it is shortened at a character boundary.
    #[test]
    fn a_line_longer_than_the_screen_is_shortened_not_dropped() {
        let config = MenuConfig {
            budget: Budget::new(40),
            ..MenuConfig::default()
        };
        let long = "Enter the one-time code we sent to your registered phone number ending 0005";
        let screen = fit(Vec::new(), vec![long.to_owned()], &config, false);
        assert!(!screen.text.is_empty());
        assert!(screen.text.ends_with("..."), "{}", screen.text);
        assert!(config.budget.fits(&screen.text), "{}", screen.text);
        assert!(long.starts_with(screen.text.trim_end_matches("...")));
        // Multi-byte text is cut between characters, never inside one.
        let ucs = "Entrez le code à usage unique envoyé à votre téléphone €€€€€€€€€€";
        let screen = fit(Vec::new(), vec![ucs.to_owned()], &config, false);
        assert!(config.budget.fits(&screen.text), "{}", screen.text);
        assert!(screen.text.ends_with("..."));
    }

    /// Finding: a partner's ~100 KB head line with many spaces (a form title
    /// or a refusal) was shortened one word per pass, re-measuring the whole
    /// screen each time: quadratic, a worker stalled for seconds on every
    /// hop showing it. It is cut to what could ever fit first; the screen
    /// still fits, keeps its options whole and shows the line shortened.
    #[test]
    fn a_huge_head_line_is_shortened_to_a_screen_that_fits() {
        let config = MenuConfig::default();
        let huge = "a ".repeat(100_000);
        let options = vec!["1. Yes".to_owned(), "2. No".to_owned()];
        let screen = fit(vec![huge.clone()], options, &config, false);
        assert!(config.budget.fits(&screen.text), "{}", screen.text);
        assert!(screen.text.ends_with("\n1. Yes\n2. No"), "{}", screen.text);
        let Some((head, _)) = screen.text.split_once('\n') else {
            panic!("the head line is kept: {}", screen.text);
        };
        assert!(head.ends_with("..."), "{head}");
        assert!(huge.starts_with(head.trim_end_matches("...")));
        // A line of one 100 KB word cannot be shortened by words: dropped,
        // as before, leaving the options.
        let screen = fit(
            vec!["w".repeat(100_000)],
            vec!["1. Yes".into()],
            &config,
            false,
        );
        assert_eq!(screen.text, "1. Yes");
    }

    proptest::proptest! {
        /// Finding (kept): cutting long head lines before fitting must not
        /// change any screen a person sees for ordinary text: the screen is
        /// the same as when every line is shortened word by word.
        #[test]
        fn cutting_long_head_lines_first_changes_no_screen(
            head in proptest::collection::vec(
                proptest::collection::vec(
                    proptest::sample::select(vec![
                        "a", "word", "Bank", "é", "ç", "€", "ж", "...", "wait...", "long-word",
                        "x\u{a0}y", "\u{2014}", "Entrez", "le", "code", "",
                    ]),
                    0..220,
                )
                .prop_map(|words| words.join(" ")),
                0..4,
            ),
            body in proptest::collection::vec("[a-z0-9. ]{0,30}", 0..4),
            gsm7 in 20usize..=182,
        ) {
            let config = MenuConfig {
                budget: Budget::new(gsm7),
                ..MenuConfig::default()
            };
            let bounded = fit(head.clone(), body.clone(), &config, false);
            let word_by_word = fit_from(head, body, &config, false, usize::MAX);
            proptest::prop_assert_eq!(bounded.text, word_by_word.text);
        }
    }
}
