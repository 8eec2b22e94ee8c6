//! The charts of a unit page, rendered at build time as SVG with plotters: for each outlet
//! and pollutant its daily means against the limit in force each day (a dashed line that
//! steps where the limit changes, a second one for the lower bound of a range limit such as
//! pH's), exceedance days marked with triangles on the line, and the valid hours of each day
//! as a strip below; and the unit's monthly masses emitted, a panel per pollutant.
//!
//! The SVGs carry no words, only numbers, ISO dates, codes and units (the pages give the
//! titles, legends and text summaries in both languages), so one file serves both languages.
//! Stage: rendering, pure. Colour is never the only cue: the limit is dashed, the mean solid,
//! exceedances are triangles.

use crate::charts::{axis_top, chart_error, with_title};
use crate::error::SiteError;
use crate::unit_series::{LimitStep, Period, Series};
use plotters::prelude::*;

pub const WIDTH: u32 = 760;
/// The daily chart: the means above, the valid hours below.
pub const DAILY_HEIGHT: u32 = 330;
const MEANS_HEIGHT: u32 = 240;

const INK: RGBColor = RGBColor(0x1b, 0x1f, 0x24);
const GRID: RGBColor = RGBColor(0xd5, 0xdb, 0xd8);
const MEAN: RGBColor = RGBColor(0x0b, 0x5d, 0x3b);
/// Used by the limit lines only: [`dashed`] finds them by it.
const LIMIT: RGBColor = RGBColor(0xa3, 0x1f, 0x1a);
const EXCEEDED: RGBColor = RGBColor(0xc0, 0x39, 0x2b);
const HOURS: RGBColor = RGBColor(0x6b, 0x8f, 0x7d);
const MASS: RGBColor = RGBColor(0x0b, 0x5d, 0x3b);

/// What the daily chart of one outlet and pollutant draws.
pub struct DailyChart<'a> {
    /// Names the chart in errors (`{uscc} {outlet} {pollutant}`).
    pub id: String,
    /// The SVG's `<title>` (codes and unit: it serves both languages).
    pub title: String,
    pub series: &'a Series,
    pub period: Period,
    /// The unit of the values (`mg/m3`), the value axis's title.
    pub unit: &'a str,
    pub limit: &'a [LimitStep],
    /// The lower bound of a range limit (pH 6–9), over the same days as the upper one.
    pub lower: Option<f64>,
}

/// A date on the day axis: `MM-DD`, or `YYYY-MM-DD` on the period's first day.
fn day_label(period: Period, x: f64) -> String {
    let i = x.round();
    if (x - i).abs() > 1e-6 || i < 0.0 || i as usize >= period.days() {
        return String::new();
    }
    let d = period.day(i as usize);
    if i == 0.0 {
        d.format("%Y-%m-%d").to_string()
    } else {
        d.format("%m-%d").to_string()
    }
}

fn value_label(top: f64) -> impl Fn(&f64) -> String {
    move |v: &f64| {
        if top >= 5.0 {
            format!("{v:.0}")
        } else if top >= 0.5 {
            format!("{v:.1}")
        } else {
            format!("{v:.2}")
        }
    }
}

/// The polylines of the limit: adjacent steps joined by a vertical segment, a gap between
/// others (x in day positions, a step covering its days whole).
fn limit_paths(steps: &[LimitStep], value: impl Fn(&LimitStep) -> f64) -> Vec<Vec<(f64, f64)>> {
    let mut paths: Vec<Vec<(f64, f64)>> = Vec::new();
    let mut previous: Option<&LimitStep> = None;
    for s in steps {
        let (x0, x1, y) = (s.from as f64 - 0.5, s.to as f64 + 0.5, value(s));
        match (previous, paths.last_mut()) {
            (Some(p), Some(path)) if p.to + 1 == s.from => path.extend([(x0, y), (x1, y)]),
            _ => paths.push(vec![(x0, y), (x1, y)]),
        }
        previous = Some(s);
    }
    paths
}

/// The runs of consecutive days with a daily mean (a missing day or mean breaks the line).
fn mean_paths(series: &Series, period: Period) -> Vec<Vec<(f64, f64)>> {
    let mut paths: Vec<Vec<(f64, f64)>> = Vec::new();
    let mut last: Option<usize> = None;
    for d in &series.days {
        let (Some(i), Some(m)) = (period.index(d.date), d.mean) else {
            last = None;
            continue;
        };
        match (last, paths.last_mut()) {
            (Some(l), Some(path)) if l + 1 == i => path.push((i as f64, m)),
            _ => paths.push(vec![(i as f64, m)]),
        }
        last = Some(i);
    }
    paths
}

/// The valid hours of each day as the outline of bars (a day without a row has none).
fn hours_outline(series: &Series, period: Period) -> Vec<(f64, f64)> {
    let mut hours = vec![0u32; period.days()];
    for d in &series.days {
        if let Some(i) = period.index(d.date) {
            hours[i] = d.valid_hours;
        }
    }
    // A run of days with the same hours is one stretch of the outline (a year of full days
    // is four points, not 730).
    let mut points = vec![(-0.5, 0.0)];
    for (i, h) in hours.iter().enumerate() {
        if i > 0 && hours[i - 1] == *h {
            if let Some(last) = points.last_mut() {
                last.0 = i as f64 + 0.5;
            }
            continue;
        }
        let h = f64::from(*h);
        points.extend([(i as f64 - 0.5, h), (i as f64 + 0.5, h)]);
    }
    points.push((period.days() as f64 - 0.5, 0.0));
    points
}

/// Renders the daily chart's SVG.
pub fn daily_svg(chart: &DailyChart<'_>) -> Result<String, SiteError> {
    let err = |e: &dyn std::fmt::Display| chart_error(&chart.id, e);
    let days = chart.period.days();
    let x_range = -0.5f64..(days as f64 - 0.5);
    let highest = (chart.series.days.iter().filter_map(|d| d.mean))
        .chain(chart.limit.iter().map(|s| s.value))
        .fold(0.0, f64::max);
    let top = axis_top(highest * 1.05, 0.0);
    let label = |x: &f64| day_label(chart.period, *x);
    let mut out = String::new();
    {
        let root = SVGBackend::with_string(&mut out, (WIDTH, DAILY_HEIGHT)).into_drawing_area();
        root.fill(&WHITE).map_err(|e| err(&e))?;
        let (upper, lower) = root.split_vertically(MEANS_HEIGHT);
        let font = |size: u32| ("sans-serif", size).into_font().color(&INK);
        let mut c = ChartBuilder::on(&upper)
            .margin(8)
            .margin_right(24)
            .x_label_area_size(24)
            .y_label_area_size(64)
            .build_cartesian_2d(x_range.clone(), 0f64..top)
            .map_err(|e| err(&e))?;
        c.configure_mesh()
            .disable_x_mesh()
            .light_line_style(TRANSPARENT)
            .bold_line_style(GRID)
            .axis_style(INK)
            .label_style(font(15))
            .axis_desc_style(font(15))
            .y_desc(chart.unit)
            .x_labels(8)
            .y_labels(6)
            .x_label_formatter(&label)
            .y_label_formatter(&value_label(top))
            .draw()
            .map_err(|e| err(&e))?;
        let limit_style = LIMIT.stroke_width(2);
        for path in limit_paths(chart.limit, |s| s.value) {
            c.draw_series([PathElement::new(path, limit_style)])
                .map_err(|e| err(&e))?;
        }
        if let Some(lower) = chart.lower {
            for path in limit_paths(chart.limit, |_| lower) {
                c.draw_series([PathElement::new(path, limit_style)])
                    .map_err(|e| err(&e))?;
            }
        }
        for path in mean_paths(chart.series, chart.period) {
            if let [only] = path[..] {
                c.draw_series([Circle::new(only, 3, MEAN.filled())])
                    .map_err(|e| err(&e))?;
            } else {
                c.draw_series([PathElement::new(path, MEAN.stroke_width(2))])
                    .map_err(|e| err(&e))?;
            }
        }
        let exceeded = (chart.series.days.iter())
            .filter(|d| d.exceeded())
            .filter_map(|d| Some((chart.period.index(d.date)? as f64, d.mean?)));
        for point in exceeded {
            c.draw_series([TriangleMarker::new(point, 8, EXCEEDED.filled())])
                .map_err(|e| err(&e))?;
        }
        let mut h = ChartBuilder::on(&lower)
            .margin(8)
            .margin_right(24)
            .margin_top(0)
            .x_label_area_size(24)
            .y_label_area_size(64)
            .build_cartesian_2d(x_range, 0f64..24.0)
            .map_err(|e| err(&e))?;
        h.configure_mesh()
            .disable_x_mesh()
            .light_line_style(TRANSPARENT)
            .bold_line_style(GRID)
            .axis_style(INK)
            .label_style(font(15))
            .axis_desc_style(font(15))
            .y_desc("h")
            .x_labels(8)
            .y_labels(3)
            .x_label_formatter(&label)
            .y_label_formatter(&|v: &f64| format!("{v:.0}"))
            .draw()
            .map_err(|e| err(&e))?;
        h.draw_series([Polygon::new(
            hours_outline(chart.series, chart.period),
            HOURS.filled(),
        )])
        .map_err(|e| err(&e))?;
        root.present().map_err(|e| err(&e))?;
    }
    let desc = format!(
        "{} – {}",
        chart.period.first.format("%Y-%m-%d"),
        chart.period.last.format("%Y-%m-%d")
    );
    Ok(compact(&dashed(&with_title(&out, &chart.title, &desc))))
}

/// Drops what the SVG says twice: `opacity="1"` is every element's default.
fn compact(svg: &str) -> String {
    svg.replace(" opacity=\"1\"", "")
}

/// Dashes the limit lines (plotters draws every line solid).
fn dashed(svg: &str) -> String {
    let limit = format!(
        "stroke=\"#{:02X}{:02X}{:02X}\" stroke-width=\"2\"",
        LIMIT.0, LIMIT.1, LIMIT.2
    );
    svg.replace(&limit, &format!("{limit} stroke-dasharray=\"7 4\""))
}

/// One pollutant's masses by month, for [`monthly_svg`].
pub struct MassPanel {
    /// The panel's caption: the pollutant's names in both languages and `kg`.
    pub caption: String,
    /// (`YYYY-MM`, kg), in month order.
    pub months: Vec<(String, f64)>,
}

const PANEL_HEIGHT: u32 = 150;

/// The height of [`monthly_svg`] of `panels` pollutants.
pub fn mass_height(panels: usize) -> u32 {
    PANEL_HEIGHT * panels.max(1) as u32
}

/// Renders the monthly masses: a bar chart a pollutant, one above the other.
pub fn monthly_svg(id: &str, title: &str, panels: &[MassPanel]) -> Result<String, SiteError> {
    let err = |e: &dyn std::fmt::Display| chart_error(id, e);
    let height = mass_height(panels.len());
    let mut out = String::new();
    {
        let root = SVGBackend::with_string(&mut out, (WIDTH, height)).into_drawing_area();
        root.fill(&WHITE).map_err(|e| err(&e))?;
        let areas = root.split_evenly((panels.len().max(1), 1));
        let font = |size: u32| ("sans-serif", size).into_font().color(&INK);
        for (area, panel) in areas.iter().zip(panels) {
            let n = panel.months.len().max(1);
            let top = axis_top(panel.months.iter().map(|m| m.1).fold(0.0, f64::max), 0.0);
            let labels: Vec<&str> = panel.months.iter().map(|m| m.0.as_str()).collect();
            let label = |x: &f64| {
                let i = x.round();
                if (x - i).abs() > 1e-6 || i < 0.0 {
                    return String::new();
                }
                labels
                    .get(i as usize)
                    .map_or(String::new(), |s| s.to_string())
            };
            let mut c = ChartBuilder::on(area)
                .caption(&panel.caption, font(14))
                .margin(6)
                .margin_right(24)
                .x_label_area_size(22)
                .y_label_area_size(64)
                .build_cartesian_2d(-0.5f64..(n as f64 - 0.5), 0f64..top)
                .map_err(|e| err(&e))?;
            c.configure_mesh()
                .disable_x_mesh()
                .light_line_style(TRANSPARENT)
                .bold_line_style(GRID)
                .axis_style(INK)
                .label_style(font(15))
                .axis_desc_style(font(15))
                .y_desc("kg")
                .x_labels(n.min(12))
                .y_labels(4)
                .x_label_formatter(&label)
                .y_label_formatter(&value_label(top))
                .draw()
                .map_err(|e| err(&e))?;
            let bars = (panel.months.iter().enumerate()).map(|(i, (_, kg))| {
                let x = i as f64;
                Rectangle::new([(x - 0.3, 0.0), (x + 0.3, *kg)], MASS.filled())
            });
            c.draw_series(bars).map_err(|e| err(&e))?;
        }
        root.present().map_err(|e| err(&e))?;
    }
    Ok(compact(&with_title(&out, title, "")))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::unit_series::{Day, limit_steps};
    use chrono::NaiveDate;

    fn d(s: &str) -> NaiveDate {
        NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
    }

    fn day(date: &str, hours: u32, mean: Option<f64>, limit: f64, ok: Option<bool>) -> Day {
        Day {
            cells: Default::default(),
            date: d(date),
            valid_hours: hours,
            value_sum: mean.map(|m| m * f64::from(hours)),
            mean,
            limit: Some(limit),
            compliant: ok,
            standard: String::new(),
        }
    }

    /// Five days of NH3-N: winter limit 2.5 to 31 March, 1.5 from 1 April; 2 April over.
    fn series() -> Series {
        Series {
            outlet: "DW001".into(),
            pollutant: "w21003".into(),
            days: vec![
                day("2026-03-30", 24, Some(2.0), 2.5, Some(true)),
                day("2026-03-31", 24, Some(2.2), 2.5, Some(true)),
                day("2026-04-01", 24, Some(1.2), 1.5, Some(true)),
                day("2026-04-02", 24, Some(1.8), 1.5, Some(false)),
                day("2026-04-03", 12, None, 1.5, None),
            ],
        }
    }

    fn period() -> Period {
        Period {
            first: d("2026-03-30"),
            last: d("2026-04-03"),
        }
    }

    #[test]
    fn the_limit_steps_and_joins_and_the_mean_breaks_where_a_day_has_none() {
        let s = series();
        let steps = limit_steps(&s, period(), |_| None);
        // One path: 2.5 over days 0-1, a step down at x = 1.5, 1.5 over days 2-4.
        assert_eq!(
            limit_paths(&steps, |s| s.value),
            [vec![(-0.5, 2.5), (1.5, 2.5), (1.5, 1.5), (4.5, 1.5)]]
        );
        assert_eq!(
            mean_paths(&s, period()),
            [vec![(0.0, 2.0), (1.0, 2.2), (2.0, 1.2), (3.0, 1.8)]]
        );
        assert_eq!(
            hours_outline(&s, period()),
            // 24 hours on days 0-3, 12 on day 4.
            [
                (-0.5, 0.0),
                (-0.5, 24.0),
                (3.5, 24.0),
                (3.5, 12.0),
                (4.5, 12.0),
                (4.5, 0.0)
            ]
        );
    }

    #[test]
    fn the_svg_has_a_dashed_limit_a_triangle_per_exceedance_and_no_words() {
        let s = series();
        let steps = limit_steps(&s, period(), |_| None);
        let chart = DailyChart {
            id: "U1 DW001 w21003".into(),
            title: "DW001 · w21003 (mg/L)".into(),
            series: &s,
            period: period(),
            unit: "mg/L",
            limit: &steps,
            lower: None,
        };
        let svg = daily_svg(&chart).unwrap();
        assert!(svg.contains("role=\"img\""), "{}", &svg[..200]);
        assert!(svg.contains("<title id=\"chart-title\">DW001 · w21003 (mg/L)</title>"));
        assert_eq!(svg.matches("stroke-dasharray=\"7 4\"").count(), 1, "{svg}");
        // The triangle of 2 April, filled in the exceedance colour.
        assert_eq!(svg.matches("fill=\"#C0392B\"").count(), 1, "{svg}");
        assert!(svg.contains("2026-03-30") && svg.contains("mg/L"));
        assert_eq!(daily_svg(&chart).unwrap(), svg, "same chart, same bytes");
        // pH's range: a second dashed line.
        let chart = DailyChart {
            lower: Some(0.5),
            ..chart
        };
        let svg = daily_svg(&chart).unwrap();
        assert_eq!(svg.matches("stroke-dasharray").count(), 2);
    }

    #[test]
    fn monthly_masses_draw_a_bar_a_month_in_each_panel() {
        let panels = [
            MassPanel {
                caption: "颗粒物 Particulate matter (kg)".into(),
                months: vec![("2026-01".into(), 10.0), ("2026-02".into(), 30.0)],
            },
            MassPanel {
                caption: "COD (kg)".into(),
                months: vec![("2026-01".into(), 2.0)],
            },
        ];
        let svg = monthly_svg("m", "U1", &panels).unwrap();
        let bars: Vec<f64> = svg
            .split("<rect")
            .filter(|r| r.contains("fill=\"#0B5D3B\""))
            .map(|r| {
                r.split("height=\"")
                    .nth(1)
                    .unwrap()
                    .split('"')
                    .next()
                    .unwrap()
            })
            .map(|h| h.parse().unwrap())
            .collect();
        assert_eq!(bars.len(), 3, "{svg}");
        // 10 and 30 kg on one axis: a third of the height (to the pixel).
        assert!((bars[0] * 3.0 - bars[1]).abs() <= 3.0, "{bars:?}");
        assert!(svg.contains("颗粒物 Particulate matter (kg)"));
    }
}
