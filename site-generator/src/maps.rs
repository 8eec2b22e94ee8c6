//! Static maps of Beijing's districts, drawn as SVG text at build time: no tiles, no script,
//! no third-party request.
//!
//! Stage: rendering (pure). Values in, SVG strings out. The boundaries are
//! [`envgov_curated::boundaries`] (CGCS2000 longitude/latitude, used as WGS 84); unit points
//! are the registry's `lon`/`lat` (WGS 84 as published). The projection is equirectangular
//! around Beijing's mid-latitude ([`Projection`]), which keeps distances true to within 1 %
//! across the city. Every number is written with a fixed number of decimals and every list in
//! a fixed order, so the same inputs give the same bytes. Every text is escaped ([`esc`]).
//!
//! What the pages call:
//! - [`district_choropleth_svg`]: the 16 districts filled by class (the district page and the
//!   map page), with labels and an optional highlighted district;
//! - [`base_map_svg`] and [`points_overlay_svg`]: the districts, and over them every unit
//!   as a linked point (the map page);
//! - [`locator_svg`]: a small map of one point and its district (each unit page).

use envgov_curated::boundaries::{BBox, Boundaries, DistrictShape, Position};
use std::fmt::Write;

/// Width of the big maps' viewBox (user units; the page scales it).
pub const MAP_WIDTH: f64 = 800.0;

/// Width of a locator map's viewBox.
pub const LOCATOR_WIDTH: f64 = 240.0;

/// Margin around the boundaries, in user units.
const MARGIN: f64 = 8.0;

/// Fill colours of the choropleth classes, light to dark (ColorBrewer YlOrRd, 5 classes).
pub const CLASS_COLOURS: [&str; 5] = ["#ffffb2", "#fecc5c", "#fd8d3c", "#f03b20", "#bd0026"];

/// Fill of a district without a class (no units: nothing to compare).
pub const NO_CLASS_COLOUR: &str = "#e4e8e6";

/// Outline and text colours.
const LINE: &str = "#5d6a63";
const INK: &str = "#1b1f24";

/// An equirectangular projection fitted to a box: `x = (lon - west) * k * cos(lat0)`,
/// `y = (north - lat) * k`, with `lat0` the box's middle latitude and `k` chosen so the box
/// (plus a margin) is `width` wide.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Projection {
    west: f64,
    north: f64,
    /// User units per degree of longitude, and of latitude.
    kx: f64,
    ky: f64,
    margin: f64,
    pub width: f64,
    pub height: f64,
}

impl Projection {
    /// Fits `bbox` into a viewBox `width` wide with `margin` on every side.
    pub fn fit(bbox: &BBox, width: f64, margin: f64) -> Projection {
        let lat0 = ((bbox.min_lat + bbox.max_lat) / 2.0).to_radians();
        let span_x = (bbox.max_lon - bbox.min_lon) * lat0.cos();
        let k = (width - 2.0 * margin) / span_x;
        let height = (bbox.max_lat - bbox.min_lat) * k + 2.0 * margin;
        Projection {
            west: bbox.min_lon,
            north: bbox.max_lat,
            kx: k * lat0.cos(),
            ky: k,
            margin,
            width,
            height: round1(height),
        }
    }

    /// The point of the viewBox for a longitude/latitude.
    pub fn project(&self, lon: f64, lat: f64) -> (f64, f64) {
        (
            self.margin + (lon - self.west) * self.kx,
            self.margin + (self.north - lat) * self.ky,
        )
    }
}

fn round1(v: f64) -> f64 {
    (v * 10.0).round() / 10.0
}

/// A number with one decimal, never `-0.0`.
fn n1(v: f64) -> String {
    let r = round1(v);
    if r == 0.0 {
        "0".into()
    } else if r.fract() == 0.0 {
        format!("{r:.0}")
    } else {
        format!("{r:.1}")
    }
}

/// Escapes text for SVG/HTML content and attribute values.
pub fn esc(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// Douglas–Peucker simplification of a closed ring in projected units (keeps its two ends).
fn simplify(points: &[(f64, f64)], tolerance: f64) -> Vec<(f64, f64)> {
    if tolerance <= 0.0 || points.len() < 4 {
        return points.to_vec();
    }
    let mut keep = vec![false; points.len()];
    keep[0] = true;
    keep[points.len() - 1] = true;
    let mut stack = vec![(0, points.len() - 1)];
    while let Some((a, b)) = stack.pop() {
        let (ax, ay) = points[a];
        let (bx, by) = points[b];
        let (dx, dy) = (bx - ax, by - ay);
        let len = (dx * dx + dy * dy).sqrt();
        let mut far = (0.0, 0);
        for (i, &(px, py)) in points.iter().enumerate().take(b).skip(a + 1) {
            let d = if len == 0.0 {
                ((px - ax).powi(2) + (py - ay).powi(2)).sqrt()
            } else {
                ((px - ax) * dy - (py - ay) * dx).abs() / len
            };
            if d > far.0 {
                far = (d, i);
            }
        }
        if far.0 > tolerance {
            keep[far.1] = true;
            stack.push((a, far.1));
            stack.push((far.1, b));
        }
    }
    points
        .iter()
        .zip(keep)
        .filter_map(|(p, k)| k.then_some(*p))
        .collect()
}

/// How a district's outline is written.
#[derive(Debug, Clone, Copy)]
enum Outline {
    /// Every vertex, absolute, one decimal (the big maps).
    Full,
    /// Simplified to `tolerance` user units, whole units, relative moves (the locator).
    Light { tolerance: f64 },
}

/// The SVG path data of a district: every ring a subpath (holes by the even-odd rule).
fn district_path(shape: &DistrictShape, proj: &Projection, outline: Outline) -> String {
    let mut d = String::new();
    let rings = shape
        .polygons
        .iter()
        .flat_map(|p| std::iter::once(&p.exterior).chain(p.holes.iter()));
    for ring in rings {
        let projected: Vec<(f64, f64)> = ring.iter().map(|p| proj.project(p[0], p[1])).collect();
        match outline {
            Outline::Full => full_ring(&mut d, &projected),
            Outline::Light { tolerance } => light_ring(&mut d, &simplify(&projected, tolerance)),
        }
    }
    d
}

fn full_ring(d: &mut String, points: &[(f64, f64)]) {
    // The closing position repeats the first: `Z` draws that edge.
    let open = &points[..points.len().saturating_sub(1)];
    for (i, (x, y)) in open.iter().enumerate() {
        let cmd = if i == 0 { 'M' } else { 'L' };
        let _ = write!(d, "{cmd}{} {}", n1(*x), n1(*y));
    }
    d.push('Z');
}

fn light_ring(d: &mut String, points: &[(f64, f64)]) {
    let open = &points[..points.len().saturating_sub(1)];
    let mut at: Option<(i64, i64)> = None;
    for &(x, y) in open {
        let p = (x.round() as i64, y.round() as i64);
        match at {
            None => {
                let _ = write!(d, "M{} {}l", p.0, p.1);
            }
            Some(q) if q == p => continue,
            Some(q) => {
                let (dx, dy) = (p.0 - q.0, p.1 - q.1);
                // A minus sign separates numbers by itself.
                if !d.ends_with('l') && dx >= 0 {
                    d.push(' ');
                }
                let _ = write!(d, "{dx}");
                if dy >= 0 {
                    d.push(' ');
                }
                let _ = write!(d, "{dy}");
            }
        }
        at = Some(p);
    }
    d.push('z');
}

/// Where to write a district's name: the point of its largest polygon farthest from the
/// polygon's edges, searched on a 24 × 24 grid (a cheap pole of inaccessibility), so the
/// label sits inside even a concave district.
pub fn label_point(shape: &DistrictShape) -> Position {
    let largest = shape
        .polygons
        .iter()
        .max_by(|a, b| ring_area(&a.exterior).total_cmp(&ring_area(&b.exterior)))
        .expect("a district has a polygon");
    let b = BBox::of(largest.exterior.iter());
    const STEPS: usize = 24;
    let mut best = (
        [(b.min_lon + b.max_lon) / 2.0, (b.min_lat + b.max_lat) / 2.0],
        -1.0,
    );
    for i in 0..STEPS {
        for j in 0..STEPS {
            let lon = b.min_lon + (b.max_lon - b.min_lon) * (i as f64 + 0.5) / STEPS as f64;
            let lat = b.min_lat + (b.max_lat - b.min_lat) * (j as f64 + 0.5) / STEPS as f64;
            if !envgov_curated::boundaries::polygon_contains(largest, lon, lat) {
                continue;
            }
            let d = distance_to_ring(&largest.exterior, lon, lat);
            if d > best.1 {
                best = ([lon, lat], d);
            }
        }
    }
    best.0
}

fn ring_area(ring: &[Position]) -> f64 {
    ring.iter()
        .zip(ring.iter().skip(1))
        .map(|(a, b)| a[0] * b[1] - b[0] * a[1])
        .sum::<f64>()
        .abs()
        / 2.0
}

fn distance_to_ring(ring: &[Position], lon: f64, lat: f64) -> f64 {
    ring.iter()
        .zip(ring.iter().skip(1))
        .map(|(a, b)| {
            let (dx, dy) = (b[0] - a[0], b[1] - a[1]);
            let len2 = dx * dx + dy * dy;
            let t = if len2 == 0.0 {
                0.0
            } else {
                (((lon - a[0]) * dx + (lat - a[1]) * dy) / len2).clamp(0.0, 1.0)
            };
            ((lon - a[0] - t * dx).powi(2) + (lat - a[1] - t * dy).powi(2)).sqrt()
        })
        .fold(f64::INFINITY, f64::min)
}

/// The opening tag of a map's `<svg>`: viewBox, scalable width, accessible name from its
/// `<title>` (and `<desc>` when given).
fn svg_open(out: &mut String, id: &str, proj: &Projection, role: &str, title: &str, desc: &str) {
    let described = if desc.is_empty() {
        String::new()
    } else {
        format!(" aria-describedby=\"{id}-desc\"")
    };
    let _ = write!(
        out,
        "<svg xmlns=\"http://www.w3.org/2000/svg\" class=\"map\" id=\"{id}\" viewBox=\"0 0 {} {}\" role=\"{role}\" aria-labelledby=\"{id}-title\"{described}><title id=\"{id}-title\">{}</title>",
        n1(proj.width),
        n1(proj.height),
        esc(title)
    );
    if !desc.is_empty() {
        let _ = write!(out, "<desc id=\"{id}-desc\">{}</desc>", esc(desc));
    }
}

/// District labels (short names), centred on [`label_point`], with a white halo.
fn labels(out: &mut String, boundaries: &Boundaries, proj: &Projection, names: &[(&str, &str)]) {
    out.push_str(
        "<g font-family=\"system-ui, sans-serif\" font-size=\"13\" text-anchor=\"middle\" fill=\"",
    );
    out.push_str(INK);
    out.push_str(
        "\" stroke=\"#fff\" stroke-width=\"3\" paint-order=\"stroke\" aria-hidden=\"true\">",
    );
    for shape in &boundaries.districts {
        let Some((_, name)) = names.iter().find(|(c, _)| *c == shape.district.code) else {
            continue;
        };
        let p = label_point(shape);
        let (x, y) = proj.project(p[0], p[1]);
        // The two small central districts get a smaller font.
        let small = (shape.bbox.max_lon - shape.bbox.min_lon) < 0.15;
        let size = if small { " font-size=\"10\"" } else { "" };
        let _ = write!(
            out,
            "<text x=\"{}\" y=\"{}\"{size}>{}</text>",
            n1(x),
            n1(y + 4.0),
            esc(name)
        );
    }
    out.push_str("</g>");
}

/// One district's fill class on a choropleth: an index into [`CLASS_COLOURS`], or `None`
/// for [`NO_CLASS_COLOUR`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DistrictClass<'a> {
    pub code: &'a str,
    pub class: Option<usize>,
}

/// What a choropleth shows.
#[derive(Debug, Clone)]
pub struct Choropleth<'a> {
    /// The element id (also the prefix of its title's and description's ids).
    pub id: &'a str,
    /// The accessible name (`<title>`), and a longer description (`<desc>`, may be empty)
    /// that says in words what the colours say (e.g. every district's value).
    pub title: &'a str,
    pub description: &'a str,
    pub classes: &'a [DistrictClass<'a>],
    /// (district code, label), e.g. the short names in the page's language.
    pub labels: &'a [(&'a str, &'a str)],
    /// A district to outline heavily (the district page's own district).
    pub highlight: Option<&'a str>,
}

/// A choropleth of Beijing's 16 districts as inline SVG (`role="img"`): each district
/// filled with the colour of its class ([`CLASS_COLOURS`], [`NO_CLASS_COLOUR`] when it has
/// none or is not listed), outlined, labelled; `highlight` outlined in black. The legend
/// and the method belong beside it in HTML (see `templates/map.html`). Pure and
/// deterministic; every text is escaped.
pub fn district_choropleth_svg(boundaries: &Boundaries, map: &Choropleth<'_>) -> String {
    let proj = Projection::fit(&boundaries.bbox, MAP_WIDTH, MARGIN);
    let mut out = String::with_capacity(40_000);
    svg_open(&mut out, map.id, &proj, "img", map.title, map.description);
    let _ = write!(
        out,
        "<g stroke=\"{LINE}\" stroke-width=\"1\" stroke-linejoin=\"round\" fill-rule=\"evenodd\">"
    );
    for shape in &boundaries.districts {
        let class = map
            .classes
            .iter()
            .find(|c| c.code == shape.district.code)
            .and_then(|c| c.class);
        let fill = class
            .and_then(|c| CLASS_COLOURS.get(c))
            .copied()
            .unwrap_or(NO_CLASS_COLOUR);
        let _ = write!(
            out,
            "<path fill=\"{fill}\" d=\"{}\"/>",
            district_path(shape, &proj, Outline::Full)
        );
    }
    out.push_str("</g>");
    if let Some(shape) = map.highlight.and_then(|c| boundaries.get(c)) {
        let _ = write!(
            out,
            "<path fill=\"none\" stroke=\"{INK}\" stroke-width=\"3\" fill-rule=\"evenodd\" d=\"{}\"/>",
            district_path(shape, &proj, Outline::Full)
        );
    }
    labels(&mut out, boundaries, &proj, map.labels);
    out.push_str("</svg>");
    out
}

/// A unit on the points map.
#[derive(Debug, Clone)]
pub struct MapPoint<'a> {
    pub lon: f64,
    pub lat: f64,
    /// The unit page.
    pub href: &'a str,
    /// The id of the element whose text names the point (the unit's link in the list beside
    /// the map): the point's accessible name, without repeating the name in the SVG.
    pub name_id: &'a str,
    /// Index into the colour table `colours` of [`points_map_svg`].
    pub kind: usize,
    /// Drawn as a triangle when true, a circle otherwise (not colour alone).
    pub marked: bool,
}

/// The base of the points map: the districts, light and labelled, as a standalone SVG file
/// (the page shows it as a decorative image under [`points_overlay_svg`], which has the
/// same viewBox). Pure and deterministic; every text is escaped.
pub fn base_map_svg(
    boundaries: &Boundaries,
    id: &str,
    title: &str,
    names: &[(&str, &str)],
) -> String {
    let proj = Projection::fit(&boundaries.bbox, MAP_WIDTH, MARGIN);
    let mut out = String::with_capacity(30_000);
    svg_open(&mut out, id, &proj, "img", title, "");
    let _ = write!(
        out,
        "<g fill=\"#f2f5f3\" stroke=\"{LINE}\" stroke-width=\"1\" stroke-linejoin=\"round\" fill-rule=\"evenodd\">"
    );
    for shape in &boundaries.districts {
        let _ = write!(
            out,
            "<path d=\"{}\"/>",
            district_path(shape, &proj, Outline::Full)
        );
    }
    out.push_str("</g>");
    labels(&mut out, boundaries, &proj, names);
    out.push_str("</svg>");
    out
}

/// The points of the points map, to lay over [`base_map_svg`] (same viewBox, transparent):
/// every unit a link to its page (`<a href>` named by `aria-labelledby`: the list beside the
/// map holds the names), a circle coloured `colours[kind]`, or a larger triangle with a
/// heavy dark outline when `marked` (shape, not colour alone). Points are grouped by kind
/// (one `fill` each), unmarked first, each group in the order given (sort them: the output
/// follows); coordinates in whole user units (1/800 of the map's width). A point outside
/// the boundaries is still drawn, never dropped. Pure and deterministic; texts escaped.
pub fn points_overlay_svg(
    boundaries: &Boundaries,
    id: &str,
    title: &str,
    colours: &[&str],
    points: &[MapPoint<'_>],
) -> String {
    let proj = Projection::fit(&boundaries.bbox, MAP_WIDTH, MARGIN);
    let mut out = String::with_capacity(1_000 + points.len() * 110);
    svg_open(&mut out, id, &proj, "group", title, "");
    for marked in [false, true] {
        for (kind, colour) in colours.iter().enumerate() {
            let mut group = points
                .iter()
                .filter(|p| p.kind == kind && p.marked == marked)
                .peekable();
            if group.peek().is_none() {
                continue;
            }
            let width = if marked { "2" } else { "0.75" };
            let _ = write!(
                out,
                "<g fill=\"{}\" stroke=\"{INK}\" stroke-width=\"{width}\">",
                esc(colour)
            );
            for p in group {
                point(&mut out, &proj, p);
            }
            out.push_str("</g>");
        }
    }
    out.push_str("</svg>");
    out
}

fn point(out: &mut String, proj: &Projection, p: &MapPoint<'_>) {
    let (x, y) = proj.project(p.lon, p.lat);
    let (x, y) = (x.round() as i64, y.round() as i64);
    let _ = write!(
        out,
        "<a href=\"{}\" aria-labelledby=\"{}\">",
        esc(p.href),
        esc(p.name_id)
    );
    if p.marked {
        // An upward triangle around the point: apex 7 above, base 4 below, 14 wide.
        let _ = write!(out, "<path d=\"M{x} {}l7 11h-14z\"/>", y - 7);
    } else {
        let _ = write!(out, "<circle cx=\"{x}\" cy=\"{y}\" r=\"5\"/>");
    }
    out.push_str("</a>");
}

/// The part of every locator map that does not depend on the unit: the projection and each
/// district's simplified outline. Build it once ([`LocatorBase::new`]) and draw each unit's
/// locator with [`LocatorBase::svg`] (4,000 locators redraw the same 16 outlines).
#[derive(Debug, Clone)]
pub struct LocatorBase {
    proj: Projection,
    /// (district code, path data), in the boundaries' order.
    outlines: Vec<(&'static str, String)>,
}

impl LocatorBase {
    pub fn new(boundaries: &Boundaries) -> LocatorBase {
        let proj = Projection::fit(&boundaries.bbox, LOCATOR_WIDTH, 4.0);
        let outlines = boundaries
            .districts
            .iter()
            .map(|shape| {
                let d = district_path(shape, &proj, Outline::Light { tolerance: 0.6 });
                (shape.district.code, d)
            })
            .collect();
        LocatorBase { proj, outlines }
    }

    /// A small locator map (`role="img"`, named by `title`): every district lightly, the
    /// point's `district` (a GB/T 2260 code; none for a unit of a management area without
    /// a boundary) filled, the point as a dark dot in a white ring. Boundaries simplified to
    /// 0.6 user units and written in whole units with relative moves: about 5 KB. `id` must
    /// be unique on the page. Pure and deterministic; the title is escaped.
    pub fn svg(&self, id: &str, district: Option<&str>, lon: f64, lat: f64, title: &str) -> String {
        let mut out = String::with_capacity(6_000);
        svg_open(&mut out, id, &self.proj, "img", title, "");
        let _ = write!(
            out,
            "<g fill=\"#f2f5f3\" stroke=\"{LINE}\" stroke-width=\"0.6\" stroke-linejoin=\"round\" fill-rule=\"evenodd\">"
        );
        for (code, d) in &self.outlines {
            let fill = if Some(*code) == district {
                " fill=\"#b7d3c3\""
            } else {
                ""
            };
            let _ = write!(out, "<path{fill} d=\"{d}\"/>");
        }
        out.push_str("</g>");
        let (x, y) = self.proj.project(lon, lat);
        let _ = write!(
            out,
            "<circle cx=\"{}\" cy=\"{}\" r=\"4\" fill=\"{INK}\" stroke=\"#fff\" stroke-width=\"2\"/></svg>",
            n1(x),
            n1(y)
        );
        out
    }
}

/// One locator map: [`LocatorBase::svg`] of a base built for this call (for a single map;
/// a page per unit should keep one [`LocatorBase`]).
pub fn locator_svg(
    boundaries: &Boundaries,
    id: &str,
    district: Option<&str>,
    lon: f64,
    lat: f64,
    title: &str,
) -> String {
    LocatorBase::new(boundaries).svg(id, district, lon, lat, title)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn boundaries() -> Boundaries {
        Boundaries::beijing().unwrap()
    }

    #[test]
    fn projection_puts_a_hand_computed_point_where_expected() {
        // A box 1° of longitude by 1° of latitude around 60°N: cos(60°) = 0.5, so 1° of
        // longitude is half as wide as 1° of latitude. Width 100 with margin 10: k = 80 / 0.5
        // = 160 user units per degree of latitude, kx = 80; height = 1 * 160 + 20 = 180.
        let b = BBox {
            min_lon: 10.0,
            min_lat: 59.5,
            max_lon: 11.0,
            max_lat: 60.5,
        };
        let p = Projection::fit(&b, 100.0, 10.0);
        assert_eq!(p.height, 180.0);
        let (x, y) = p.project(10.25, 60.0);
        assert!((x - (10.0 + 0.25 * 80.0)).abs() < 1e-9, "{x}");
        assert!((y - (10.0 + 0.5 * 160.0)).abs() < 1e-9, "{y}");
        let (x, y) = p.project(11.0, 59.5);
        assert!(
            (x - 90.0).abs() < 1e-9 && (y - 170.0).abs() < 1e-9,
            "{x},{y}"
        );
    }

    #[test]
    fn numbers_have_one_decimal_and_no_negative_zero() {
        assert_eq!(n1(1.04), "1");
        assert_eq!(n1(1.25), "1.3");
        assert_eq!(n1(-0.04), "0");
        assert_eq!(n1(-2.5), "-2.5");
        assert_eq!(n1(123.0), "123");
    }

    #[test]
    fn names_are_escaped_in_titles_and_labels() {
        let b = boundaries();
        let svg = district_choropleth_svg(
            &b,
            &Choropleth {
                id: "m",
                title: "<script>alert(1)</script>",
                description: "a \"quote\" & 'apostrophe'",
                classes: &[],
                labels: &[("110101", "<b>东城</b>")],
                highlight: None,
            },
        );
        assert!(
            svg.contains("<title id=\"m-title\">&lt;script&gt;alert(1)&lt;/script&gt;</title>")
        );
        assert!(svg.contains("a &quot;quote&quot; &amp; &#39;apostrophe&#39;"));
        assert!(svg.contains(">&lt;b&gt;东城&lt;/b&gt;</text>"));
        assert!(!svg.contains("<script") && !svg.contains("<b>"));
        let loc = locator_svg(&b, "l", Some("110101"), 116.4, 39.9, "A & B <i>");
        assert!(loc.contains("<title id=\"l-title\">A &amp; B &lt;i&gt;</title>"));
    }

    #[test]
    fn a_choropleth_fills_each_district_with_its_class() {
        let b = boundaries();
        let classes = [
            DistrictClass {
                code: "110105",
                class: Some(4),
            },
            DistrictClass {
                code: "110101",
                class: Some(0),
            },
        ];
        let svg = district_choropleth_svg(
            &b,
            &Choropleth {
                id: "c",
                title: "t",
                description: "",
                classes: &classes,
                labels: &[],
                highlight: Some("110105"),
            },
        );
        assert_eq!(svg.matches("<path fill=\"").count(), 16 + 1);
        assert_eq!(svg.matches(CLASS_COLOURS[4]).count(), 1);
        assert_eq!(svg.matches(CLASS_COLOURS[0]).count(), 1);
        assert_eq!(svg.matches(NO_CLASS_COLOUR).count(), 14);
        assert!(svg.contains("stroke-width=\"3\""), "the highlight");
        assert!(!svg.contains("aria-describedby"), "no description given");
    }

    #[test]
    fn labels_fall_inside_their_district() {
        let b = boundaries();
        for shape in &b.districts {
            let p = label_point(shape);
            assert!(shape.contains(p[0], p[1]), "{}", shape.district.code);
        }
    }

    #[test]
    fn points_link_to_their_pages_and_marked_ones_are_triangles() {
        let b = boundaries();
        let points = [
            MapPoint {
                lon: 116.40,
                lat: 39.91,
                href: "/en/enterprises/A.html",
                name_id: "u1",
                kind: 0,
                marked: false,
            },
            MapPoint {
                lon: 116.50,
                lat: 39.95,
                href: "/en/enterprises/B.html",
                name_id: "u2",
                kind: 1,
                marked: true,
            },
        ];
        let colours = ["#111111", "#222222"];
        let svg = points_overlay_svg(&b, "p", "Units", &colours, &points);
        assert!(svg.contains("<a href=\"/en/enterprises/A.html\" aria-labelledby=\"u1\"><circle "));
        assert!(
            svg.contains("<a href=\"/en/enterprises/B.html\" aria-labelledby=\"u2\"><path d=\"M")
        );
        assert_eq!(svg.matches("<a href=").count(), 2);
        assert!(svg.contains("<g fill=\"#222222\" stroke=\"#1b1f24\" stroke-width=\"2\">"));
        // The overlay has the base map's viewBox, so the two line up.
        let base = base_map_svg(&b, "b", "Districts", &[]);
        let view_box = |s: &str| {
            let after = s.split("viewBox=\"").nth(1).unwrap();
            after.split('"').next().unwrap().to_string()
        };
        assert_eq!(view_box(&svg), view_box(&base));
        // Deterministic: the same inputs, the same bytes.
        assert_eq!(svg, points_overlay_svg(&b, "p", "Units", &colours, &points));
    }

    #[test]
    fn maps_stay_within_their_size_budgets_at_2000_units() {
        let b = boundaries();
        let href = |i: usize| format!("/en/enterprises/9111010{i:05}ABCDEF.html");
        let hrefs: Vec<String> = (0..2000).map(href).collect();
        let ids: Vec<String> = (0..2000).map(|i| format!("u{i}")).collect();
        let points: Vec<MapPoint<'_>> = (0..2000)
            .map(|i| MapPoint {
                lon: 115.5 + (i % 50) as f64 * 0.04,
                lat: 39.5 + (i / 50) as f64 * 0.035,
                href: &hrefs[i],
                name_id: &ids[i],
                kind: i % 7,
                marked: i % 5 == 0,
            })
            .collect();
        let colours = [
            "#e69f00", "#0072b2", "#56b4e9", "#d55e00", "#cc79a7", "#000000", "#009e73",
        ];
        let svg = points_overlay_svg(&b, "p", "Units", &colours, &points);
        let base = base_map_svg(&b, "b", "Districts", &[("110105", "Chaoyang")]);
        let map = svg.len() + base.len();
        assert!(map < 300_000, "points map {map} bytes");
        let choro = district_choropleth_svg(
            &b,
            &Choropleth {
                id: "c",
                title: "t",
                description: "",
                classes: &[],
                labels: &[],
                highlight: None,
            },
        );
        assert!(choro.len() < 60_000, "choropleth {} bytes", choro.len());
        let loc = locator_svg(&b, "l", Some("110105"), 116.5, 39.9, "Chaoyang");
        assert!(loc.len() < 8_000, "locator {} bytes", loc.len());
        // Quoted in the commit and the README (`cargo test -p envgov-site maps -- --nocapture`).
        eprintln!(
            "2,000-point overlay {} B, base map {} B, choropleth {} B, locator {} B",
            svg.len(),
            base.len(),
            choro.len(),
            loc.len()
        );
    }
}
