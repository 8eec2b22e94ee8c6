//! Comparisons (issue 11): industry rankings, districts against the city, year on year.
//! Expected values are computed by hand from the fixture's rows (`emission-totals`, year
//! rows, quoted in each test) and from the rows written here.

use super::*;
use serde_json::{Map, Value, json};

/// The fixture's registered name of a unit (the CSVs carry both names).
fn names(uscc: &str) -> (String, String) {
    let rows: Vec<Map<String, Value>> =
        read_json(&fixtures().join("datasets/enterprises/enterprises.json"));
    let r = rows.iter().find(|r| r["uscc"] == uscc).unwrap();
    (
        r["name_zh"].as_str().unwrap().to_string(),
        r["name_en"].as_str().unwrap().to_string(),
    )
}

fn quoted(s: &str) -> String {
    if s.contains([',', '"']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_string()
    }
}

#[test]
fn an_industry_ranks_its_units_by_compliance_with_no_data_last_and_the_csv_beside() {
    // Industry 4620: 91110108MA0JNQU36F has w01018 (31 days checked, 0 over) and w21001
    // (31 days checked, 1 daily exceedance): (62 − 1) / 62 = 0.983871; 91110114MA0EX10K62
    // has no emission-totals row: no data, unranked.
    let (zh, en) = names("91110108MA0JNQU36F");
    let (zh2, en2) = names("91110114MA0EX10K62");
    let expected = format!(
        "\u{feff}rank,uscc,name_zh,name_en,hours_checked,hourly_exceedances,days_checked,daily_exceedances,checks,exceedances,compliance_rate,sample_exceedances\r\n\
         1,91110108MA0JNQU36F,{},{},0,0,62,1,62,1,0.983871,0\r\n\
         ,91110114MA0EX10K62,{},{},,,,,,,,0\r\n",
        quoted(&zh),
        quoted(&en),
        quoted(&zh2),
        quoted(&en2)
    );
    for lang in ["zh", "en"] {
        assert_eq!(
            text(&format!("{lang}/sectors/industry/4620/compliance.csv")),
            expected,
            "{lang}"
        );
    }
    let page = text("en/sectors/industry/4620/index.html");
    // The ranked unit first with its figures, then the unit without data, unranked.
    let ranked = page
        .find("/en/enterprises/91110108MA0JNQU36F.html")
        .unwrap();
    let no_data = page
        .find("/en/enterprises/91110114MA0EX10K62.html")
        .unwrap();
    assert!(ranked < no_data);
    assert!(page.contains("<td class=\"num\">1</td><th scope=\"row\"><a href=\"/en/enterprises/91110108MA0JNQU36F.html\">"));
    assert!(
        page.contains("<td class=\"num\">98.4%</td>"),
        "61/62 shown as 98.4%"
    );
    assert!(page.contains("<tr class=\"no-data\"><td class=\"num\">—</td>"));
    assert!(page.contains("href=\"/en/sectors/industry/4620/compliance.csv\""));
    assert!(page.contains("href=\"#method\""));
    assert!(page.contains("(checks − exceedances) / checks"));
    assert!(
        text("zh/sectors/industry/4620/index.html").contains("（受检次数 − 超标次数）/ 受检次数")
    );
    // Industry 2710: 91110105MA0DUA9Y5B, 741 + 737 hours checked, none over (1.000000), and
    // two self-monitoring sample exceedances in the register (10 and 31 January), shown
    // beside the rate and not part of it.
    let csv = text("en/sectors/industry/2710/compliance.csv");
    assert!(csv.contains(",1478,0,0,0,1478,0,1.000000,2\r\n"), "{csv}");
    // The sectors index links every industry's page.
    assert!(
        text("en/sectors/index.html").contains("href=\"/en/sectors/industry/4620/index.html\"")
    );
}

#[test]
fn mass_rankings_are_per_pollutant_with_the_published_masses() {
    // Industry 4620, year rows: w01018 131359.18 kg and w21001 68455.016 kg, both of
    // 91110108MA0JNQU36F; 91110114MA0EX10K62 has none.
    let (zh, en) = names("91110108MA0JNQU36F");
    let (zh2, en2) = names("91110114MA0EX10K62");
    let (zh, en, zh2, en2) = (quoted(&zh), quoted(&en), quoted(&zh2), quoted(&en2));
    let expected = format!(
        "\u{feff}pollutant,rank,uscc,name_zh,name_en,mass_kg\r\n\
         w01018,1,91110108MA0JNQU36F,{zh},{en},131359.18\r\n\
         w01018,,91110114MA0EX10K62,{zh2},{en2},\r\n\
         w21001,1,91110108MA0JNQU36F,{zh},{en},68455.016\r\n\
         w21001,,91110114MA0EX10K62,{zh2},{en2},\r\n"
    );
    assert_eq!(text("en/sectors/industry/4620/mass.csv"), expected);
    let page = text("en/sectors/industry/4620/index.html");
    assert!(page.contains("<td class=\"num\">131,359.2</td>"));
    assert!(page.contains("<td class=\"num\">68,455.0</td>"));
    // Industry 8411 (a hospital): pH (w01001) has no mass and no ranking; COD has one.
    let hospital = text("en/sectors/industry/8411/mass.csv");
    assert!(!hospital.contains("w01001"), "{hospital}");
    assert!(hospital.contains("w01018,1,12110000180648321X,"));
}

#[test]
fn a_district_against_the_city_by_hand() {
    // Year rows. District 110105: 91110105MA0DUA9Y5B (a21002 741 h, a21026 737 h, no
    // exceedance; NOx 579.953 kg, SO2 55.392 kg) and 91110105MA0LR69K06 (2213 h and
    // 2224 h, 1 hourly exceedance; NOx 942.238 kg, SO2 136.996 kg).
    // City: 7 registered units, 5 with rows; hours checked 7,391, days checked 124,
    // exceedances 2 (the one above and a daily one of 91110108MA0JNQU36F).
    let page = text("en/districts/110105/index.html");
    let row = |name: &str, d: &str, c: &str, s: &str| {
        format!(
            "<tr><th scope=\"row\">{name}</th><td class=\"num\">{d}</td><td class=\"num\">{c}</td><td class=\"num\">{s}</td></tr>"
        )
    };
    for expected in [
        // 2 of 7 units; 2 of 5 monitored; 1 of 2 exceedances.
        row("Key polluting units", "2", "7", "28.6%"),
        row("Units with online monitoring", "2", "5", "40.0%"),
        row("Online-monitoring exceedances", "1", "2", "50.0%"),
        // 1 / 2 and 2 / 5.
        row(
            "Exceedances per unit with online monitoring",
            "0.50",
            "0.40",
            "",
        ),
        // (5,915 − 1) / 5,915 = 99.983% and (7,515 − 2) / 7,515 = 99.973%.
        row("Compliance rate", "99.98%", "99.97%", ""),
        // NOx: 1,522.191 of 2,306.317 kg = 66.0%; SO2 192.388 of 260.705 kg = 73.8%.
        row(
            "Mass emitted, Nitrogen oxides (as NO2) (kg)",
            "1,522.2",
            "2,306.3",
            "66.0%",
        ),
        row(
            "Mass emitted, Sulphur dioxide (SO2) (kg)",
            "192.4",
            "260.7",
            "73.8%",
        ),
    ] {
        assert!(page.contains(&expected), "{expected}");
    }
    // COD: the city's 132,580.458 kg, none of it in a row of the district: no data there,
    // not a zero, and no share.
    assert!(page.contains(&row(
        "Mass emitted, Chemical oxygen demand (COD) (kg)",
        "No data",
        "132,580.5",
        "—"
    )));
    // The district on the map page's choropleth, outlined; Yizhuang has no boundary.
    assert!(page.contains("<svg") && page.contains("id=\"district-map\""));
    assert!(page.contains("href=\"/en/map/index.html\""));
    assert!(!text("en/districts/BDA/index.html").contains("id=\"district-map\""));
    // Its two units are listed and linked; a district without units says so.
    assert!(page.contains("href=\"/en/enterprises/91110105MA0LR69K06.html\""));
    assert!(text("en/districts/110101/index.html").contains("No key polluting unit is registered"));
    // The index lists the 17 districts and the city, with the CSV of the sums beside it.
    let index = text("en/districts/index.html");
    assert_eq!(
        index.matches("href=\"/en/districts/1").count()
            + index.matches("href=\"/en/districts/BDA/").count(),
        17
    );
    let csv = text("en/districts/districts.csv");
    assert!(
        csv.contains("\r\n110105,朝阳区,Chaoyang,2,2,5915,1,0,0,1,0.999831\r\n"),
        "{csv}"
    );
    assert!(
        csv.ends_with("\r\ncity,北京市,Beijing,7,5,7391,1,124,1,2,0.999734\r\n"),
        "{csv}"
    );
    assert!(text("zh/districts/110105/index.html").contains("朝阳区与全市比较"));
}

#[test]
fn year_on_year_says_when_last_year_has_no_data_and_never_shows_a_zero() {
    // The fixture has no archive of last year.
    let page = text("en/districts/110105/index.html");
    assert!(page.contains("no data for January last year"));
    let home = text("en/index.html");
    assert!(home.contains("no data for January last year"));
    assert!(text("zh/index.html").contains("去年1月无数据"));
    assert!(!home.contains("<td class=\"num no-data\">0</td>"));
}

fn year_ago_total(
    uscc: &str,
    district: &str,
    pollutant: &str,
    mass: f64,
    hours: u64,
    over: u64,
    checks: bool,
) -> Map<String, Value> {
    let mut r = json!({
        "uscc": uscc, "district": district, "industry_code": "4430", "pollutant": pollutant,
        "period": "2025-01", "period_type": "month", "mass_kg": mass, "valid_hours": hours,
        "days_with_data": 31, "hourly_exceedances": over, "daily_exceedances": 0,
    });
    if checks {
        r["hours_checked"] = json!(hours);
        r["days_checked"] = json!(0);
    }
    r.as_object().unwrap().clone()
}

fn build_with_year_ago(tables: Vec<(&str, Vec<Map<String, Value>>)>) -> BTreeMap<String, Vec<u8>> {
    let mut inputs = inputs();
    inputs.year_ago = envgov_site::YearAgo {
        month: "2025-01".into(),
        tables: tables
            .into_iter()
            .map(|(id, rows)| {
                (
                    id.to_string(),
                    envgov_site::YearAgoTable {
                        archive: "2025-12-31".into(),
                        rows,
                    },
                )
            })
            .collect(),
    };
    build(&inputs, curated()).unwrap().into_iter().collect()
}

#[test]
fn year_on_year_against_last_years_archive_by_hand() {
    // January 2025 in 110105: one unit, NOx 1,000 kg, 700 hours checked, 3 over; and a
    // unit of another district. Two rows of last January's register.
    let site = build_with_year_ago(vec![
        (
            "emission-totals",
            vec![
                year_ago_total(
                    "91110105MA0LR69K06",
                    "110105",
                    "a21002",
                    1000.0,
                    700,
                    3,
                    true,
                ),
                year_ago_total(
                    "91110106177886783N",
                    "110106",
                    "a21002",
                    500.0,
                    300,
                    0,
                    true,
                ),
            ],
        ),
        (
            "exceedances",
            vec![json!({"date": "2025-01-03"}).as_object().unwrap().clone(); 2],
        ),
    ]);
    let page = std::str::from_utf8(&site["en/districts/110105/index.html"]).unwrap();
    let row = |name: &str, this: &str, last: &str, change: &str| {
        format!(
            "<tr><th scope=\"row\">{name}</th><td class=\"num\">{this}</td><td class=\"num\">{last}</td><td class=\"num\">{change}</td></tr>"
        )
    };
    for expected in [
        // 2 units this January, 1 last: +1 (+100.0%).
        row("Units with online monitoring", "2", "1", "+1 (+100.0%)"),
        // 1 exceedance against 3: −2 (−66.7%).
        row("Online-monitoring exceedances", "1", "3", "−2 (−66.7%)"),
        // 5,914 / 5,915 = 99.983% against 697 / 700 = 99.571% (99.6%): +0.41 points.
        row(
            "Compliance rate",
            "99.98%",
            "99.6%",
            "+0.41 percentage points",
        ),
        // NOx 1,522.191 kg against 1,000: +522.2 (+52.2%).
        row(
            "Mass emitted, Nitrogen oxides (as NO2) (kg)",
            "1,522.2",
            "1,000.0",
            "+522.2 (+52.2%)",
        ),
    ] {
        assert!(page.contains(&expected), "{expected}");
    }
    // SO2: this January 192.388 kg; no row of it last January: no data, not a zero.
    assert!(
        page.contains(
            &row(
                "Mass emitted, Sulphur dioxide (SO2) (kg)",
                "192.4",
                "no data for January last year",
                ""
            )
            .replace(
                "<td class=\"num\">no data",
                "<td class=\"num no-data\">no data"
            )
        )
    );
    // The city: hourly compliance (7,391 − 1) / 7,391 = 99.99% against (1,000 − 3) / 1,000
    // = 99.7%; the register: the fixture's 6 rows of January 2026 against 2.
    let home = std::str::from_utf8(&site["en/index.html"]).unwrap();
    assert!(home.contains("<td class=\"num\">99.99%</td><td class=\"num\">99.7%</td><td class=\"num\">+0.29 percentage points</td>"), "{home}");
    assert!(home.contains(
        "<td class=\"num\">6</td><td class=\"num\">2</td><td class=\"num\">+4 (+200.0%)</td>"
    ));
    // Indicators of the year to date only (plan-indicators) against the same period last
    // year: the fixture's permit coverage is 300 of 300 (100.0%); no archive of 31 January
    // 2025 is given, so no data, not a zero.
    assert!(home.contains("<tr><th scope=\"row\">Permit coverage (year to 31 January 2026, against the same period last year)</th><td class=\"num\">100.0%</td><td class=\"num no-data\">no data for the same period last year</td><td class=\"num\"></td></tr>"), "{home}");
}

#[test]
fn an_archive_without_the_checks_gives_no_rate_but_its_counts() {
    let site = build_with_year_ago(vec![(
        "emission-totals",
        vec![year_ago_total(
            "91110105MA0LR69K06",
            "110105",
            "a21002",
            1000.0,
            700,
            3,
            false,
        )],
    )]);
    let page = std::str::from_utf8(&site["en/districts/110105/index.html"]).unwrap();
    assert!(page.contains("<tr><th scope=\"row\">Compliance rate</th><td class=\"num\">99.98%</td><td class=\"num no-data\">no data for January last year</td><td class=\"num\"></td></tr>"));
    assert!(page.contains("<td class=\"num\">1</td><td class=\"num\">3</td>"));
}

fn indicator_row(
    indicator: &str,
    period: &str,
    value: Option<f64>,
    unit: &str,
) -> Map<String, Value> {
    json!({
        "indicator": indicator, "period": period, "value": value, "numerator": value,
        "denominator": null, "unit": unit, "source_dataset": "exceedances",
    })
    .as_object()
    .unwrap()
    .clone()
}

#[test]
fn plan_indicators_against_the_same_period_last_year_by_hand() {
    // Data date 31 January 2026: this year's rows are of 2026-01-01/2026-01-31, last
    // year's (the archive of 31 January 2025) of 2025-01-01/2025-01-31.
    let this = "2026-01-01/2026-01-31";
    let then = "2025-01-01/2025-01-31";
    let mut inputs = inputs();
    inputs.tables.insert(
        "plan-indicators".into(),
        vec![
            indicator_row("cems_hourly_compliance_rate", this, Some(0.99), "ratio"),
            indicator_row("exceedance_count", this, Some(12.0), "count"),
            indicator_row("kitchen_waste_compost_t", this, Some(250.0), "t"),
            indicator_row("permit_coverage", this, Some(0.8), "ratio"),
            indicator_row("units_disclosing", this, None, "ratio"),
            indicator_row("self_monitoring_completeness", this, Some(0.9), "ratio"),
        ],
    );
    inputs.year_ago = envgov_site::YearAgo {
        month: "2025-01".into(),
        tables: BTreeMap::from([(
            "plan-indicators".to_string(),
            envgov_site::YearAgoTable {
                archive: "2025-01-31".into(),
                rows: vec![
                    indicator_row("cems_hourly_compliance_rate", then, Some(0.98), "ratio"),
                    indicator_row("exceedance_count", then, Some(8.0), "count"),
                    indicator_row("kitchen_waste_compost_t", then, Some(200.0), "t"),
                    // Of another period (the whole year 2025): not the same period.
                    indicator_row(
                        "permit_coverage",
                        "2025-01-01/2025-12-31",
                        Some(0.5),
                        "ratio",
                    ),
                    indicator_row("units_disclosing", then, Some(0.7), "ratio"),
                    indicator_row("self_monitoring_completeness", then, Some(0.75), "ratio"),
                ],
            },
        )]),
    };
    let site: BTreeMap<String, Vec<u8>> = build(&inputs, curated()).unwrap().into_iter().collect();
    let page = |p: &str| std::str::from_utf8(&site[p]).unwrap().to_string();
    let yoy = |text: &str| format!("<p class=\"indicator-yoy\">{text}</p>");
    let en_then = "Same period last year (1 January 2025 to 31 January 2025)";
    let zh_then = "去年同期（2025年1月1日至2025年1月31日）";
    // 99.0% against 98.0%: 0.99 − 0.98 = +1.00 percentage points.
    let rate_en = yoy(&format!("{en_then}: 98.0%; change +1.00 percentage points"));
    let rate_zh = yoy(&format!("{zh_then}：98.0%；变化 +1.00 个百分点"));
    // 12 against 8: +4, 4 / 8 = +50.0%.
    let count_en = yoy(&format!("{en_then}: 8; change +4 (+50.0%)"));
    let count_zh = yoy(&format!("{zh_then}：8；变化 +4（+50.0%）"));
    // 250 t against 200 t: +50.0, 50 / 200 = +25.0%.
    let mass_en = yoy(&format!("{en_then}: 200.0 t; change +50.0 (+25.0%)"));
    let mass_zh = yoy(&format!("{zh_then}：200.0 吨；变化 +50.0（+25.0%）"));
    // Permit coverage: last year's archive has no row of the period, so no data, not 0.
    let none_en = format!("<p class=\"indicator-yoy no-data\">{en_then}: no data</p>");
    let none_zh = format!("<p class=\"indicator-yoy no-data\">{zh_then}：无数据</p>");
    let (plan_en, plan_zh) = (page("en/plan/index.html"), page("zh/plan/index.html"));
    for (p, expected) in [
        (&plan_en, &rate_en),
        (&plan_en, &count_en),
        (&plan_en, &mass_en),
        (&plan_en, &none_en),
        (&plan_zh, &rate_zh),
        (&plan_zh, &count_zh),
        (&plan_zh, &mass_zh),
        (&plan_zh, &none_zh),
    ] {
        assert!(p.contains(expected.as_str()), "{expected}");
    }
    // The measure pages: (六) m06 has the rate and permit coverage, (九) m09 the count.
    let m06 = page("en/plan/m06.html");
    assert!(m06.contains(&rate_en) && m06.contains(&none_en));
    assert!(page("zh/plan/m09.html").contains(&count_zh));
    // (八) m08: units disclosing has no value this year, open days held no row: no line.
    assert!(!page("en/plan/m08.html").contains("indicator-yoy"));
    assert!(!page("zh/plan/m08.html").contains("indicator-yoy"));
    // The home page's headline indicators of the year to date only, named so: 90.0% against
    // 75.0% is +15.00 points; permit coverage has no row of the period last year.
    let row = |name: &str, this: &str, last: &str, change: &str| {
        format!(
            "<tr><th scope=\"row\">{name}</th><td class=\"num\">{this}</td><td class=\"num\">{last}</td><td class=\"num\">{change}</td></tr>"
        )
    };
    let (home_en, home_zh) = (page("en/index.html"), page("zh/index.html"));
    for (p, expected) in [
        (
            &home_en,
            row(
                "Self-monitoring completeness (year to 31 January 2026, against the same period last year)",
                "90.0%",
                "75.0%",
                "+15.00 percentage points",
            ),
        ),
        (
            &home_zh,
            row(
                "自行监测完整率（今年截至2026年1月31日，与去年同期比较）",
                "90.0%",
                "75.0%",
                "+15.00 个百分点",
            ),
        ),
        (
            &home_en,
            row(
                "Permit coverage (year to 31 January 2026, against the same period last year)",
                "80.0%",
                "no data for the same period last year",
                "",
            )
            .replace(
                "<td class=\"num\">no data",
                "<td class=\"num no-data\">no data",
            ),
        ),
        (
            &home_zh,
            row(
                "排污许可覆盖率（今年截至2026年1月31日，与去年同期比较）",
                "80.0%",
                "去年同期无数据",
                "",
            )
            .replace("<td class=\"num\">去年", "<td class=\"num no-data\">去年"),
        ),
    ] {
        assert!(p.contains(&expected), "{expected}");
    }
    // The vehicle share has no row this year: not compared, as before.
    assert!(home_en.contains("no monthly figure: not compared"));
}
