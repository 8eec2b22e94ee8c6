//! Maps (issue 11): the map page's points and list, the choropleth, the unit locators.
//! Expected values are computed by hand from the fixture's rows, quoted in each test:
//! `enterprises` (7 units, all with coordinates) and `exceedances` (6 records, none
//! withdrawn).

use super::*;

/// (href, exceedance mark) of every point drawn in the map's overlay.
fn points(html: &str) -> BTreeMap<String, bool> {
    let start = html.find("<svg").expect("the points overlay");
    let svg = &html[start..start + html[start..].find("</svg>").unwrap()];
    let mut out = BTreeMap::new();
    for part in svg.split("<a href=\"").skip(1) {
        let href = part[..part.find('"').unwrap()].to_string();
        let shape = part[part.find('<').unwrap()..].starts_with("<path");
        assert!(out.insert(href, shape).is_none(), "one point per unit");
    }
    out
}

/// (href, id of the element that names it) of every point drawn in the map's overlay.
fn point_names(html: &str) -> BTreeMap<String, String> {
    let start = html.find("<svg").expect("the points overlay");
    let svg = &html[start..start + html[start..].find("</svg>").unwrap()];
    let mut out = BTreeMap::new();
    for part in svg.split("<a href=\"").skip(1) {
        let href = part[..part.find('"').unwrap()].to_string();
        let id = part
            .split("aria-labelledby=\"")
            .nth(1)
            .expect("a named point");
        out.insert(href, id[..id.find('"').unwrap()].to_string());
    }
    out
}

/// (id, name, exceedance mark) of every unit in the list beside the map, from its entries
/// `<li id="uN">name` followed by `marked` when the unit has an exceedance (the type heads
/// each list; an entry ends with its line); the name's character references decoded.
fn listed(html: &str, marked: &str) -> BTreeMap<String, (String, bool)> {
    let list = &html[html.find("id=\"map-list\"").expect("the list")..];
    let mut out = BTreeMap::new();
    for part in list.split("<li id=\"").skip(1) {
        let id = part[..part.find('"').unwrap()].to_string();
        let entry = part[part.find('>').unwrap() + 1..].lines().next().unwrap();
        let (name, mark) = match entry.strip_suffix(marked) {
            Some(name) => (name, true),
            None => (entry, false),
        };
        let name = name
            .replace("&quot;", "\"")
            .replace("&#x27;", "'")
            .replace("&#x2f;", "/")
            .replace("&lt;", "<")
            .replace("&gt;", ">")
            .replace("&amp;", "&");
        assert!(out.insert(id, (name, mark)).is_none(), "one entry per unit");
    }
    out
}

/// A unit's name in the fixture's `enterprises` rows.
fn fixture_name(lang: &str, uscc: &str) -> String {
    let inputs = inputs();
    let row = inputs.tables["enterprises"]
        .iter()
        .find(|r| r["uscc"] == uscc)
        .expect("a unit of the fixture");
    row[&format!("name_{lang}")].as_str().unwrap().to_string()
}

/// The fixture's units (every one has coordinates) and, by hand from `exceedances.json`,
/// whether each has an exceedance in force: 91110108MA0JNQU36F (1 record),
/// 91110105MA0LR69K06 (2), 91110115MA016NC935 (1), 91110105MA0DUA9Y5B (2).
fn expected(lang: &str) -> BTreeMap<String, bool> {
    [
        ("12110000180648321X", false),
        ("91110105MA0DUA9Y5B", true),
        ("91110105MA0LR69K06", true),
        ("91110106177886783N", false),
        ("91110108MA0JNQU36F", true),
        ("91110115MA016NC935", true),
        ("91110114MA0EX10K62", false),
    ]
    .into_iter()
    .map(|(u, e)| (format!("/{lang}/enterprises/{u}.html"), e))
    .collect()
}

#[test]
fn the_map_list_holds_exactly_the_units_on_the_map_with_the_same_marks() {
    for (lang, marked) in [("zh", "（有超标）"), ("en", " (exceedance)")] {
        let html = text(&format!("{lang}/map/index.html"));
        let drawn = points(html);
        assert_eq!(drawn, expected(lang), "{lang}: points");
        // Each point is named by its unit's entry in the list: the unit's name, and the
        // mark's words when the point is a triangle; the list has no other entry.
        let names = point_names(html);
        let list = listed(html, marked);
        assert_eq!(list.len(), drawn.len(), "{lang}: one entry a point");
        for (href, mark) in &drawn {
            let uscc = href.rsplit('/').next().unwrap().trim_end_matches(".html");
            let (name, listed_mark) = &list[&names[href]];
            assert_eq!(name, &fixture_name(lang, uscc), "{lang}: {href}");
            assert_eq!(listed_mark, mark, "{lang}: {href}");
        }
        for id in attrs(html, "aria-labelledby")
            .iter()
            .filter(|i| i.starts_with('u'))
        {
            assert_eq!(
                html.matches(&format!(" id=\"{id}\"")).count(),
                1,
                "{lang}: {id} names one point"
            );
        }
        // Each district's heading links its directory page, which links each unit.
        assert!(html.contains(&format!(
            "<h3 id=\"d-110105\"><a href=\"/{lang}/enterprises/district/110105.html\">"
        )));
        // The base map and the choropleth are files of the site, not third-party requests.
        assert!(site().contains_key(&format!("{lang}/map/districts.svg")));
        assert!(html.contains(&format!("src=\"/{lang}/map/exceedances-per-unit.svg\"")));
        assert!(!html.contains("http://") || !html.contains("<img src=\"http"));
    }
    // The XSS probe's name (a unit of the fixture) is text in the list.
    let html = text("en/map/index.html");
    assert!(html.contains("&quot;&gt;&lt;img src=x onerror=alert(1)&gt;"));
    assert!(!html.contains("<img src=x"));
}

#[test]
fn the_choropleth_classes_compare_each_district_with_the_city() {
    // By hand: the city has 7 units and 6 exceedances, 6 / 7 = 0.857 per unit.
    // Chaoyang 110105: 2 units, 4 records, 2.00 per unit, 2.33 times the city: class 4.
    // Haidian 110108: 1 unit, 1 record, 1.00, 1.17 times: class 2.
    // Changping 110114 (2 units) and Fengtai 110106 (1 unit): none, class 0.
    // Yizhuang (BDA): 1 unit, 1 record, class 2, but no boundary: in the table only.
    // Every other district: no units, no class.
    let svg = text("en/map/exceedances-per-unit.svg");
    let fills: Vec<&str> = svg
        .split("<path fill=\"")
        .skip(1)
        .map(|p| &p[..7])
        .collect();
    let codes = [
        "110101", "110102", "110105", "110106", "110107", "110108", "110109", "110111", "110112",
        "110113", "110114", "110115", "110116", "110117", "110118", "110119",
    ];
    let expected: Vec<&str> = codes
        .iter()
        .map(|c| match *c {
            "110105" => "#bd0026",
            "110108" => "#fd8d3c",
            "110106" | "110114" => "#ffffb2",
            _ => "#e4e8e6",
        })
        .collect();
    assert_eq!(fills, expected);
    let html = text("en/map/index.html");
    assert!(html.contains(
        "<a href=\"/en/enterprises/district/110105.html\">Chaoyang</a></th><td class=\"num\">2</td><td class=\"num\">2</td><td class=\"num\">4</td><td class=\"num\">2.00</td>"
    ));
    assert!(html.contains(
        "Beijing Economic-Technological Development Area (Yizhuang) (no boundary)</a></th><td class=\"num\">1</td><td class=\"num\">1</td><td class=\"num\">1</td><td class=\"num\">1.00</td>"
    ));
    assert!(html.contains(
        "<th scope=\"row\">All of Beijing</th><td class=\"num\">7</td><td class=\"num\">4</td><td class=\"num\">6</td><td class=\"num\">0.86</td>"
    ));
    // The text alternative says every value the colours say.
    assert!(html.contains("Chaoyang 2.00; Fengtai 0.00; Haidian 1.00; Changping 0.00;"));
}

#[test]
fn every_unit_page_has_a_light_locator_naming_its_district_and_coordinates() {
    // 91110105MA0DUA9Y5B: Chaoyang, lon 116.44225, lat 39.89919 (enterprises.json).
    let html = text("en/enterprises/91110105MA0DUA9Y5B.html");
    let start = html.find("<figure class=\"locator\">").expect("a locator");
    let end = start + html[start..].find("</figure>").unwrap();
    let locator = &html[start..end];
    assert!(locator.contains("role=\"img\""));
    assert!(locator.contains(
        ">Location: Chaoyang, latitude 39.89919, longitude 116.44225 (WGS 84, as published)</title>"
    ));
    assert!(locator.len() < 8 * 1024, "{} bytes", locator.len());
    assert!(locator.contains("href=\"/en/map/index.html\""));
    let zh = text("zh/enterprises/91110105MA0DUA9Y5B.html");
    assert!(
        zh.contains(">位置：朝阳区，纬度 39.89919，经度 116.44225（WGS 84，按公布值）</title>")
    );
    // Every unit page has one.
    for (path, html) in pages().filter(|(p, _)| {
        p.contains("/enterprises/") && p.ends_with(".html") && p.split('/').count() == 3
    }) {
        if path.ends_with("index.html") {
            continue;
        }
        assert_eq!(
            html.matches("<figure class=\"locator\">").count(),
            1,
            "{path}"
        );
    }
}

/// A valid credit code of a Beijing enterprise numbered `i`.
fn uscc(i: usize) -> String {
    use envgov_dataset::ids::{org_check_char, uscc_check_char};
    let body = format!("MA{i:06}");
    let org = format!("{body}{}", org_check_char(&body).unwrap());
    let first17 = format!("91110105{org}");
    format!("{first17}{}", uscc_check_char(&first17).unwrap())
}

#[test]
fn the_map_page_stays_under_500_kb_at_2000_units() {
    let mut inputs = inputs();
    let rows = inputs.tables.get_mut("enterprises").unwrap();
    let template = rows[1].clone();
    rows.clear();
    for i in 0..2000 {
        let mut r = template.clone();
        let code = uscc(i);
        r.insert("uscc".into(), serde_json::json!(code));
        r.insert("permit_no".into(), serde_json::json!(format!("{code}001P")));
        // Names a little longer than the default sample's mean (35 characters in English,
        // 30 bytes in Chinese: 300 units, seed 0).
        r.insert(
            "name_en".into(),
            serde_json::json!(format!("Beijing Jianneng Heating Co., Ltd. {i}")),
        );
        r.insert(
            "name_zh".into(),
            serde_json::json!(format!("北京京首热力有限公司{i}")),
        );
        // Spread over every area and type, as a real registry is (each a row group).
        let area = &envgov_dataset::ids::DISTRICTS[i % 17];
        r.insert("district".into(), serde_json::json!(area.code));
        let kinds = [
            "boiler",
            "industrial",
            "sewage-plant",
            "msw-incinerator",
            "hospital",
            "livestock-farm",
            "hazardous-waste",
        ];
        r.insert("source_type".into(), serde_json::json!(kinds[i % 7]));
        r.insert(
            "lon".into(),
            serde_json::json!(116.3 + (i % 40) as f64 * 0.01),
        );
        r.insert(
            "lat".into(),
            serde_json::json!(39.8 + (i / 40) as f64 * 0.004),
        );
        rows.push(r);
    }
    let files: BTreeMap<String, Vec<u8>> = build(&inputs, curated()).unwrap().into_iter().collect();
    for lang in ["zh", "en"] {
        let page = &files[&format!("{lang}/map/index.html")];
        let html = std::str::from_utf8(page).unwrap();
        assert_eq!(points(html).len(), 2000, "{lang}");
        assert!(
            page.len() < 500 * 1024,
            "{lang} map page {} bytes",
            page.len()
        );
        // Measured 345 KB (zh) / 355 KB (en) once the list stopped repeating each unit's
        // link (481 / 489 KB before): keep that room under the budget.
        assert!(
            page.len() < 380 * 1024,
            "{lang} map page {} bytes: the list or the points grew",
            page.len()
        );
        let svg = files[&format!("{lang}/map/districts.svg")].len()
            + html[html.find("<svg").unwrap()..html.find("</svg>").unwrap()].len();
        assert!(svg < 300 * 1024, "{lang} map SVG {svg} bytes");
        eprintln!(
            "{lang}: map page {} B, map SVG {svg} B at 2,000 units",
            page.len()
        );
    }
}
