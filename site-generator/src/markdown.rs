//! Markdown to HTML: the one function that owns the pulldown-cmark options.
//!
//! - A soft line break between two CJK characters becomes nothing (Chinese does not put
//!   spaces between words), and so does one next to full-width punctuation (`，` `。` `、`
//!   never take a space on either side); any other soft break becomes one space.
//! - Raw HTML is never passed through: inline HTML and HTML blocks are turned into text,
//!   which the renderer escapes.
//! - Level-1 headings are refused (a page's only `h1` comes from its front-matter title),
//!   and so are links and images with a scheme other than `http`, `https`, `mailto`, `tel`.
//!
//! The HTML this module returns is the only content the templates mark `safe`.

use pulldown_cmark::{CowStr, Event, HeadingLevel, Options, Parser, Tag, TagEnd, html};

/// Renders markdown to HTML, or explains why the markdown is refused.
pub fn render(markdown: &str) -> Result<String, String> {
    let mut options = Options::empty();
    options.insert(Options::ENABLE_TABLES);
    options.insert(Options::ENABLE_STRIKETHROUGH);
    let events: Vec<Event<'_>> = Parser::new_ext(markdown, options).collect();

    let mut out_events: Vec<Event<'_>> = Vec::with_capacity(events.len());
    for (i, event) in events.iter().enumerate() {
        let event = match event {
            Event::SoftBreak => {
                let joined = last_char_before(&events, i)
                    .zip(first_char_after(&events, i))
                    .is_some_and(|(a, b)| {
                        (is_cjk(a) && is_cjk(b)) || is_cjk_punctuation(a) || is_cjk_punctuation(b)
                    });
                if joined {
                    continue;
                }
                Event::Text(CowStr::Borrowed(" "))
            }
            Event::Html(s) | Event::InlineHtml(s) => Event::Text(s.clone()),
            Event::Start(Tag::HtmlBlock) => Event::Start(Tag::Paragraph),
            Event::End(TagEnd::HtmlBlock) => Event::End(TagEnd::Paragraph),
            Event::Start(Tag::Heading {
                level: HeadingLevel::H1,
                ..
            }) => {
                return Err(
                    "level-1 heading in the body: the page title comes from the front matter"
                        .to_string(),
                );
            }
            Event::Start(Tag::Link { dest_url, .. })
            | Event::Start(Tag::Image { dest_url, .. }) => {
                check_url(dest_url)?;
                event.clone()
            }
            other => other.clone(),
        };
        out_events.push(event);
    }
    let mut out = String::with_capacity(markdown.len() * 3 / 2);
    html::push_html(&mut out, out_events.into_iter());
    Ok(out)
}

fn check_url(url: &str) -> Result<(), String> {
    let scheme = url
        .split_once(':')
        .map(|(s, _)| s)
        .filter(|s| !s.contains('/') && !s.contains('#') && !s.contains('?'));
    match scheme {
        None => Ok(()),
        Some(s)
            if ["http", "https", "mailto", "tel"].contains(&s.to_ascii_lowercase().as_str()) =>
        {
            Ok(())
        }
        Some(s) => Err(format!("link with scheme {s:?} is not allowed: {url:?}")),
    }
}

fn text_of<'a>(event: &'a Event<'_>) -> Option<&'a str> {
    match event {
        Event::Text(s) | Event::Code(s) => Some(s),
        _ => None,
    }
}

/// Inline start/end tags (emphasis, links) are skipped; anything else ends the search.
fn is_inline_tag(event: &Event<'_>) -> bool {
    matches!(
        event,
        Event::Start(Tag::Emphasis | Tag::Strong | Tag::Strikethrough | Tag::Link { .. })
            | Event::End(TagEnd::Emphasis | TagEnd::Strong | TagEnd::Strikethrough | TagEnd::Link)
    )
}

fn last_char_before(events: &[Event<'_>], i: usize) -> Option<char> {
    events[..i]
        .iter()
        .rev()
        .find(|e| !is_inline_tag(e))
        .and_then(text_of)
        .and_then(|s| s.chars().next_back())
}

fn first_char_after(events: &[Event<'_>], i: usize) -> Option<char> {
    events[i + 1..]
        .iter()
        .find(|e| !is_inline_tag(e))
        .and_then(text_of)
        .and_then(|s| s.chars().next())
}

/// Full-width punctuation (`，。、：；！？（）「」《》`), which takes no space beside it.
pub fn is_cjk_punctuation(c: char) -> bool {
    matches!(c as u32, 0x3000..=0x303F | 0xFE30..=0xFE4F | 0xFF01..=0xFF0F | 0xFF1A..=0xFF20 | 0xFF3B..=0xFF40 | 0xFF5B..=0xFF65)
}

/// Han ideographs, CJK punctuation, kana and full-width forms: scripts written without
/// spaces between words.
pub fn is_cjk(c: char) -> bool {
    matches!(c as u32,
        0x2E80..=0x2FDF     // radicals
        | 0x3000..=0x303F   // CJK symbols and punctuation (。、「」)
        | 0x3040..=0x30FF   // hiragana, katakana
        | 0x3100..=0x312F   // bopomofo
        | 0x31C0..=0x31EF   // strokes
        | 0x3400..=0x4DBF   // extension A
        | 0x4E00..=0x9FFF   // unified ideographs
        | 0xF900..=0xFAFF   // compatibility ideographs
        | 0xFE30..=0xFE4F   // compatibility forms
        | 0xFF00..=0xFFEF   // full-width forms (，：；！？（）)
        | 0x20000..=0x2FA1F // extensions B-F, compatibility supplement
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn soft_break_between_cjk_characters_disappears() {
        let html = render("日均值需要至少二十个\n有效小时均值。").unwrap();
        assert_eq!(html, "<p>日均值需要至少二十个有效小时均值。</p>\n");
        let html = render("超标倍数的计算，\n见下文。").unwrap();
        assert!(html.contains("计算，见下文"), "{html}");
        let html = render("含组织机构代码校验）、\n22位编号").unwrap();
        assert!(html.contains("校验）、22位"), "{html}");
    }

    #[test]
    fn soft_break_next_to_latin_text_becomes_a_space() {
        assert_eq!(
            render("a daily mean needs\n20 valid hours").unwrap(),
            "<p>a daily mean needs 20 valid hours</p>\n"
        );
        assert_eq!(
            render("标准为 DB11/139\n规定的限值").unwrap(),
            "<p>标准为 DB11/139 规定的限值</p>\n"
        );
        assert_eq!(
            render("数据来自 envgov\n平台").unwrap(),
            "<p>数据来自 envgov 平台</p>\n"
        );
    }

    #[test]
    fn soft_break_after_emphasis_between_cjk_disappears() {
        let html = render("这是**重点**\n内容").unwrap();
        assert_eq!(html, "<p>这是<strong>重点</strong>内容</p>\n");
    }

    #[test]
    fn raw_html_is_escaped() {
        let html =
            render("hello <script>alert(1)</script>\n\n<div onclick=x>block</div>\n").unwrap();
        assert!(!html.contains("<script"), "{html}");
        assert!(!html.contains("<div"), "{html}");
        assert!(html.contains("&lt;script&gt;"), "{html}");
    }

    #[test]
    fn refuses_h1_and_script_links() {
        assert!(render("# Title\n").is_err());
        assert!(render("[x](javascript:alert(1))").is_err());
        assert!(render("[x](/zh/about.html) [y](https://example.org) [z](mailto:a@b.c)").is_ok());
    }
}
