//! Bar charts, rendered at build time as SVG with plotters, each published with the CSV of
//! exactly the values it draws and shown with a text alternative (a caption, a short `alt`
//! and the same values as a table in a `<details>`).
//!
//! A [`BarChart`] is the data; [`render`] turns it into three things: the SVG file, the
//! CSV file and the [`ChartView`] a template shows (`templates/chart.html`). The SVG
//! carries its own `<title>` and `<desc>`; text is drawn as SVG `<text>` and left to the
//! browser's fonts (plotters is built without font files, so label widths are estimates
//! and the label areas are sized generously).

use crate::error::SiteError;
use crate::output::Output;
use crate::urls;
use envgov_dataset::Lang;
use plotters::prelude::*;
use serde::Serialize;

/// One bar: (category label, value, the value as the page writes it).
pub type Bar = (String, f64, String);

/// One bar chart: categories and their values, in the order drawn.
#[derive(Debug, Clone)]
pub struct BarChart {
    /// A slug, unique in the language (`exceedances-by-day`); names the files.
    pub id: &'static str,
    pub title: String,
    /// One sentence saying what the chart shows, for `alt` and the SVG's `<desc>`.
    pub summary: String,
    /// Axis titles, with their units (`Share (%)`).
    pub category_axis: String,
    pub value_axis: String,
    /// CSV column names (in the page's language).
    pub category_column: String,
    pub value_column: String,
    pub bars: Vec<Bar>,
    /// Bars left to right (`false`), or top to bottom with labels on the left (`true`),
    /// for long category names.
    pub horizontal: bool,
    /// The value axis runs from 0 to at least this (100 for percentages).
    pub min_top: f64,
    /// Show every n-th category label (dates on a long axis); 1 shows all.
    pub label_every: usize,
    /// Shorter labels for the axis (`01-31` for `2026-01-31`), one per bar; the CSV and
    /// the table keep the full ones.
    pub axis_labels: Option<Vec<String>>,
}

/// What a template needs to show a chart.
#[derive(Debug, Serialize)]
pub struct ChartView {
    pub id: String,
    pub title: String,
    pub summary: String,
    pub svg_href: String,
    pub csv_href: String,
    pub width: u32,
    pub height: u32,
    pub category_column: String,
    pub value_column: String,
    /// (label, value as written) for the text alternative.
    pub rows: Vec<(String, String)>,
}

const WIDTH: u32 = 760;
const INK: RGBColor = RGBColor(0x1b, 0x1f, 0x24);
const BAR: RGBColor = RGBColor(0x0b, 0x5d, 0x3b);
const GRID: RGBColor = RGBColor(0xc9, 0xd1, 0xcc);

pub(crate) fn chart_error(id: &str, e: impl std::fmt::Display) -> SiteError {
    SiteError::Chart {
        chart: id.to_string(),
        message: e.to_string(),
    }
}

/// A pleasant upper bound for the value axis.
pub(crate) fn axis_top(max: f64, min_top: f64) -> f64 {
    let max = max.max(min_top);
    if max <= 0.0 {
        return 1.0;
    }
    let magnitude = 10f64.powf(max.log10().floor());
    for step in [1.0, 1.2, 1.5, 2.0, 2.5, 3.0, 4.0, 5.0, 6.0, 8.0, 10.0] {
        if step * magnitude >= max {
            return step * magnitude;
        }
    }
    10.0 * magnitude
}

/// Renders the chart's SVG.
pub fn svg(chart: &BarChart) -> Result<String, SiteError> {
    let n = chart.bars.len().max(1) as u32;
    // A segmented range `0..k` has segments 0 to k inclusive: `0..n - 1` gives one per bar.
    let segments = n.saturating_sub(1).max(1);
    let height = if chart.horizontal { 90 + 30 * n } else { 380 };
    let top = axis_top(
        chart.bars.iter().map(|b| b.1).fold(0.0, f64::max),
        chart.min_top,
    );
    let labels: Vec<&str> = match &chart.axis_labels {
        Some(short) => short.iter().map(String::as_str).collect(),
        None => chart.bars.iter().map(|b| b.0.as_str()).collect(),
    };
    let every = chart.label_every.max(1);
    let label_of = |v: &SegmentValue<u32>| -> String {
        match v {
            SegmentValue::CenterOf(i) | SegmentValue::Exact(i) => {
                let i = *i as usize;
                let i = if chart.horizontal {
                    (n as usize - 1).saturating_sub(i)
                } else {
                    i
                };
                if i.is_multiple_of(every) {
                    labels.get(i).map(|s| s.to_string()).unwrap_or_default()
                } else {
                    String::new()
                }
            }
            SegmentValue::Last => String::new(),
        }
    };
    let value_label = |v: &f64| {
        if top >= 5.0 {
            format!("{v:.0}")
        } else {
            format!("{v:.1}")
        }
    };
    let mut out = String::new();
    {
        let root = SVGBackend::with_string(&mut out, (WIDTH, height)).into_drawing_area();
        root.fill(&WHITE).map_err(|e| chart_error(chart.id, e))?;
        let font = |size: u32| ("sans-serif", size).into_font().color(&INK);
        let mut builder = ChartBuilder::on(&root);
        builder
            .caption(&chart.title, font(18))
            .margin(12)
            .margin_right(28);
        if chart.horizontal {
            let mut c = builder
                .x_label_area_size(44)
                .y_label_area_size(250)
                .build_cartesian_2d(0f64..top, (0u32..segments).into_segmented())
                .map_err(|e| chart_error(chart.id, e))?;
            c.configure_mesh()
                .disable_y_mesh()
                .light_line_style(TRANSPARENT)
                .bold_line_style(GRID)
                .axis_style(INK)
                .label_style(font(13))
                .axis_desc_style(font(14))
                .x_desc(&chart.value_axis)
                .y_desc(&chart.category_axis)
                .y_labels(n as usize)
                .y_label_formatter(&label_of)
                .x_label_formatter(&value_label)
                .draw()
                .map_err(|e| chart_error(chart.id, e))?;
            // One series per bar: a histogram of several bars keeps them in a hash map,
            // which would write them in a different order on every build.
            for (i, b) in chart.bars.iter().enumerate() {
                c.draw_series(
                    Histogram::horizontal(&c)
                        .style(BAR.filled())
                        .margin(6)
                        .data([(n - 1 - i as u32, b.1)]),
                )
                .map_err(|e| chart_error(chart.id, e))?;
            }
        } else {
            let mut c = builder
                .x_label_area_size(56)
                .y_label_area_size(64)
                .build_cartesian_2d((0u32..segments).into_segmented(), 0f64..top)
                .map_err(|e| chart_error(chart.id, e))?;
            c.configure_mesh()
                .disable_x_mesh()
                .light_line_style(TRANSPARENT)
                .bold_line_style(GRID)
                .axis_style(INK)
                .label_style(font(13))
                .axis_desc_style(font(14))
                .x_desc(&chart.category_axis)
                .y_desc(&chart.value_axis)
                .x_labels(n as usize)
                .x_label_formatter(&label_of)
                .y_label_formatter(&value_label)
                .draw()
                .map_err(|e| chart_error(chart.id, e))?;
            for (i, b) in chart.bars.iter().enumerate() {
                c.draw_series(
                    Histogram::vertical(&c)
                        .style(BAR.filled())
                        .margin(2)
                        .data([(i as u32, b.1)]),
                )
                .map_err(|e| chart_error(chart.id, e))?;
            }
        }
        root.present().map_err(|e| chart_error(chart.id, e))?;
    }
    Ok(with_title(&out, &chart.title, &chart.summary))
}

/// Adds `role="img"`, `<title>` and `<desc>` to the SVG plotters wrote.
pub(crate) fn with_title(svg: &str, title: &str, summary: &str) -> String {
    let Some(start) = svg.find("<svg") else {
        return svg.to_string();
    };
    let Some(end) = svg[start..].find('>').map(|e| start + e) else {
        return svg.to_string();
    };
    let (head, rest) = svg.split_at(end);
    format!(
        "{head} role=\"img\" aria-labelledby=\"chart-title chart-desc\"><title id=\"chart-title\">{}</title><desc id=\"chart-desc\">{}</desc>{}",
        xml_text(title),
        xml_text(summary),
        &rest[1..]
    )
}

fn xml_text(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// The CSV of exactly the values drawn: UTF-8 with BOM, CRLF, quoted where needed, text
/// cells that could start a spreadsheet formula prefixed with `'`.
pub fn csv(chart: &BarChart) -> Vec<u8> {
    let mut out = String::from("\u{feff}");
    let cell = |s: &str| -> String {
        let s = if s.starts_with(['=', '+', '-', '@', '\t', '\r']) {
            format!("'{s}")
        } else {
            s.to_string()
        };
        if s.contains([',', '"', '\n', '\r']) {
            format!("\"{}\"", s.replace('"', "\"\""))
        } else {
            s
        }
    };
    out.push_str(&format!(
        "{},{}\r\n",
        cell(&chart.category_column),
        cell(&chart.value_column)
    ));
    for (label, value, _) in &chart.bars {
        out.push_str(&format!("{},{}\r\n", cell(label), value));
    }
    out.into_bytes()
}

/// The bars with the lowest and the highest value (the first of equals), for summaries.
pub fn extremes(bars: &[Bar]) -> Option<(&Bar, &Bar)> {
    let low = bars.iter().reduce(|a, b| if b.1 < a.1 { b } else { a })?;
    let high = bars.iter().reduce(|a, b| if b.1 > a.1 { b } else { a })?;
    Some((low, high))
}

/// Writes the chart's SVG and CSV for a language and returns its view.
pub fn render(out: &mut Output, lang: Lang, chart: &BarChart) -> Result<ChartView, SiteError> {
    let svg_href = urls::chart(lang, chart.id, "svg");
    let csv_href = urls::chart(lang, chart.id, "csv");
    let svg = svg(chart)?;
    let height = svg_height(&svg).unwrap_or(380);
    out.add(&svg_href, svg.into_bytes())?;
    out.add(&csv_href, csv(chart))?;
    Ok(ChartView {
        id: chart.id.to_string(),
        title: chart.title.clone(),
        summary: chart.summary.clone(),
        svg_href,
        csv_href,
        width: WIDTH,
        height,
        category_column: chart.category_column.clone(),
        value_column: chart.value_column.clone(),
        rows: chart
            .bars
            .iter()
            .map(|(l, _, shown)| (l.clone(), shown.clone()))
            .collect(),
    })
}

fn svg_height(svg: &str) -> Option<u32> {
    let start = svg.find("height=\"")? + 8;
    svg[start..].split('"').next()?.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn chart() -> BarChart {
        BarChart {
            id: "test",
            title: "Exceedances by day".into(),
            summary: "Three days; the most on 2 January.".into(),
            category_axis: "Date".into(),
            value_axis: "Exceedances (count)".into(),
            category_column: "date".into(),
            value_column: "exceedances".into(),
            bars: vec![
                ("2026-01-01".into(), 3.0, "3".into()),
                ("2026-01-02".into(), 7.0, "7".into()),
                ("=cmd".into(), 0.0, "0".into()),
            ],
            horizontal: false,
            min_top: 0.0,
            label_every: 1,
            axis_labels: None,
        }
    }

    #[test]
    fn svg_has_title_description_axis_titles_and_one_bar_per_nonzero_value() {
        let svg = svg(&chart()).unwrap();
        assert!(svg.starts_with("<svg"), "{}", &svg[..40]);
        assert!(svg.contains("<title id=\"chart-title\">Exceedances by day</title>"));
        assert!(svg.contains("<desc id=\"chart-desc\">Three days; the most on 2 January.</desc>"));
        let texts: Vec<&str> = svg
            .split("<text")
            .skip(1)
            .filter_map(|t| t.split_once('>').and_then(|(_, r)| r.split_once("</text>")))
            .map(|(inner, _)| inner.trim())
            .collect();
        for expected in [
            "Exceedances by day",
            "Date",
            "Exceedances (count)",
            "2026-01-02",
            "=cmd",
        ] {
            assert!(texts.contains(&expected), "{expected} not in {texts:?}");
        }
        // Value axis 0..8 (7 rounded up), labelled in whole numbers.
        assert!(texts.contains(&"8") && !texts.contains(&"9"), "{texts:?}");
        // One rectangle per bar in the bar colour, in the order of the data: heights are
        // proportional to 3, 7 and 0.
        let heights: Vec<f64> = svg
            .split("<rect")
            .filter(|r| r.contains("fill=\"#0B5D3B\""))
            .map(|r| {
                let h = r
                    .split("height=\"")
                    .nth(1)
                    .unwrap()
                    .split('"')
                    .next()
                    .unwrap();
                h.parse().unwrap()
            })
            .collect();
        assert_eq!(heights.len(), 3, "{svg}");
        assert!(
            (heights[1] / heights[0] - 7.0 / 3.0).abs() < 0.05,
            "{heights:?}"
        );
        assert_eq!(heights[2], 0.0);
    }

    #[test]
    fn csv_is_exactly_the_values_drawn_with_formulas_neutralised() {
        let csv = String::from_utf8(csv(&chart())).unwrap();
        assert_eq!(
            csv,
            "\u{feff}date,exceedances\r\n2026-01-01,3\r\n2026-01-02,7\r\n'=cmd,0\r\n"
        );
    }

    #[test]
    fn axis_tops_are_round() {
        assert_eq!(axis_top(7.0, 0.0), 8.0);
        assert_eq!(axis_top(93.0, 100.0), 100.0);
        assert_eq!(axis_top(131.0, 0.0), 150.0);
        assert_eq!(axis_top(0.0, 0.0), 1.0);
    }

    #[test]
    fn same_chart_same_bytes() {
        assert_eq!(svg(&chart()).unwrap(), svg(&chart()).unwrap());
    }
}
