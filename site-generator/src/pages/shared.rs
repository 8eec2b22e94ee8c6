//! What the pages share: the [`Site`] they read from, the layout every page gets
//! (alternates, language switch, navigation, footer), and the views several pages show
//! (exceedance rows, indicator values, lists split into pages).
//!
//! Stage: rendering. Values in, strings out; numbers and dates are formatted here, in Rust,
//! so templates only print text.

use crate::error::SiteError;
use crate::format;
use crate::i18n::I18n;
use crate::inputs::SiteInputs;
use crate::output::Output;
use crate::registry::Registry;
use crate::rows::{Exceedance, IndicatorValue, Rows};
use crate::templates::Templates;
use crate::urls::{self, Feed, Route, Slug};
use chrono::NaiveDate;
use envgov_curated::Curated;
use envgov_dataset::Lang;
use serde::Serialize;

/// Everything a page is rendered from.
pub struct Site<'a> {
    pub inputs: &'a SiteInputs,
    pub curated: &'a Curated,
    pub i18n: &'a I18n,
    pub templates: &'a Templates,
    pub rows: &'a Rows<'a>,
    pub registry: &'a Registry<'a>,
    pub data_date: NaiveDate,
    pub origin: &'a str,
    /// See [`crate::SiteOptions::development_key`].
    pub development_key: bool,
    /// Reads a unit's month files for the charts of its page (see
    /// [`crate::build_owned_charting`]); `None` draws no daily chart.
    pub month_files: Option<&'a dyn crate::inputs::MonthFiles>,
    /// See [`crate::SiteOptions::query_engine`].
    pub query_engine: bool,
}

/// A link with its text.
#[derive(Debug, Clone, Serialize)]
pub struct Link {
    pub href: String,
    pub text: String,
}

/// A link to a filtered list, with the number of items it holds.
#[derive(Debug, Clone, Serialize)]
pub struct FilterLink {
    pub href: String,
    pub text: String,
    pub count: String,
    pub current: bool,
}

/// The links between the pages of a list split across pages (absent on a one-page list).
#[derive(Debug, Serialize)]
pub struct Pager {
    /// "Page 2 of 5: rows 101–200 of 480".
    pub status: String,
    pub pages: Vec<PageLink>,
    pub previous: Option<String>,
    pub next: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct PageLink {
    pub href: String,
    pub text: String,
    pub current: bool,
}

/// One page of a list split into pages of `size` items (a list always has a first page).
pub struct ListPage<'a, T> {
    /// 1-based.
    pub number: usize,
    pub of: usize,
    pub items: &'a [T],
    /// 1-based position of the first item, and of the last.
    pub from: usize,
    pub to: usize,
    pub total: usize,
}

/// Splits `items` into pages of `size` (at least one page, possibly empty).
pub fn list_pages<T>(items: &[T], size: usize) -> Vec<ListPage<'_, T>> {
    let size = size.max(1);
    let of = items.len().div_ceil(size).max(1);
    (0..of)
        .map(|i| {
            let start = (i * size).min(items.len());
            let end = ((i + 1) * size).min(items.len());
            ListPage {
                number: i + 1,
                of,
                items: items.get(start..end).unwrap_or_default(),
                from: start + 1,
                to: end,
                total: items.len(),
            }
        })
        .collect()
}

#[derive(Debug, Serialize)]
pub struct Alternate {
    pub hreflang: &'static str,
    pub href: String,
}

#[derive(Debug, Serialize)]
pub struct NavItem {
    pub href: String,
    pub text: String,
    pub current: bool,
}

/// The link to the same page in the other language.
#[derive(Debug, Serialize)]
pub struct Twin {
    pub href: String,
    pub hreflang: &'static str,
    /// The other language's name in that language (`English`, `中文`).
    pub text: &'static str,
}

#[derive(Debug, Serialize)]
pub struct Layout {
    pub lang_tag: &'static str,
    pub title: String,
    pub description: String,
    pub url: String,
    pub alternates: Vec<Alternate>,
    pub twin: Twin,
    pub home: String,
    pub nav: Vec<NavItem>,
    pub footer_links: Vec<Link>,
    pub feeds: Vec<Link>,
    pub breadcrumbs: Vec<Link>,
    pub stylesheet: String,
    pub data_date: String,
    pub data_date_iso: String,
    pub licence_url: &'static str,
    pub sample: bool,
    pub development_key: bool,
    /// The page on verifying downloads (`/{lang}/verify/`).
    pub verify_url: String,
    /// The search page (`/{lang}/search/`), the target of the header's search box.
    pub search: String,
}

#[derive(Serialize)]
struct PageContext<'c, T: Serialize> {
    lang: &'static str,
    layout: Layout,
    page: &'c T,
}

/// The top-level sections, for the navigation's `aria-current`.
#[derive(Debug, PartialEq, Eq)]
enum Section {
    Home,
    Enterprises,
    Exceedances,
    OpenDays,
    Plan,
    Sectors,
    Datasets,
    Content(String),
    Search,
    Map,
}

fn section(route: &Route) -> Section {
    match route {
        Route::Home => Section::Home,
        Route::Enterprises
        | Route::EnterprisesByDistrict(_)
        | Route::EnterprisesByIndustry(_)
        | Route::EnterprisesByType(_)
        | Route::Enterprise(_) => Section::Enterprises,
        Route::OpenDays | Route::OpenDay(_) => Section::OpenDays,
        Route::Plan | Route::Measure(_) => Section::Plan,
        Route::Sectors | Route::Sector(_) | Route::Industry(_) => Section::Sectors,
        Route::Districts | Route::District(_) => Section::Enterprises,
        Route::Exceedances
        | Route::ExceedancesByDistrict(_)
        | Route::ExceedancesByPollutant(_)
        | Route::ExceedancesByPeriod(_) => Section::Exceedances,
        Route::Datasets | Route::Dataset(_) | Route::DatasetQuery(_) => Section::Datasets,
        Route::Content(slug) => Section::Content(slug.as_str().to_string()),
        Route::Search => Section::Search,
        Route::Map => Section::Map,
        Route::Page(of, _) => section(of),
    }
}

pub fn other(lang: Lang) -> Lang {
    match lang {
        Lang::Zh => Lang::En,
        Lang::En => Lang::Zh,
    }
}

/// Picks the text of a language from a zh/en pair.
pub fn pick<'x>(lang: Lang, zh: &'x str, en: &'x str) -> &'x str {
    match lang {
        Lang::Zh => zh,
        Lang::En => en,
    }
}

pub(crate) fn content_slug(slug: &str) -> Slug {
    Slug::new(slug).expect("content slugs are ASCII")
}

impl<'a> Site<'a> {
    /// A UI string.
    pub fn t(&self, lang: Lang, key: &str) -> Result<String, SiteError> {
        self.i18n.get(lang, key, "page code").map(str::to_string)
    }

    /// A UI string with `{name}` placeholders filled.
    pub fn tf(&self, lang: Lang, key: &str, args: &[(&str, &str)]) -> Result<String, SiteError> {
        self.i18n.format(lang, key, args, "page code")
    }

    pub fn link(&self, lang: Lang, route: &Route, key: &str) -> Result<Link, SiteError> {
        Ok(Link {
            href: urls::page(lang, route),
            text: self.t(lang, key)?,
        })
    }

    fn layout(
        &self,
        lang: Lang,
        route: &Route,
        title: String,
        description: String,
        breadcrumbs: Vec<Link>,
    ) -> Result<Layout, SiteError> {
        let current = section(route);
        let nav_items: [(Route, &str, Section); 10] = [
            (Route::Home, "nav.home", Section::Home),
            (Route::Enterprises, "nav.enterprises", Section::Enterprises),
            (Route::Map, "map.nav", Section::Map),
            (Route::Exceedances, "nav.exceedances", Section::Exceedances),
            (Route::OpenDays, "nav.open_days", Section::OpenDays),
            (Route::Plan, "nav.plan", Section::Plan),
            (Route::Sectors, "nav.sectors", Section::Sectors),
            (Route::Datasets, "nav.datasets", Section::Datasets),
            (
                Route::Content(content_slug("methodology")),
                "nav.methodology",
                Section::Content("methodology".into()),
            ),
            (Route::Search, "nav.search", Section::Search),
        ];
        let mut nav = Vec::with_capacity(nav_items.len());
        for (r, key, s) in nav_items {
            nav.push(NavItem {
                href: urls::page(lang, &r),
                text: self.t(lang, key)?,
                current: s == current,
            });
        }
        let mut footer_links = Vec::new();
        for (slug, key) in [
            ("about", "nav.about"),
            ("methodology", "nav.methodology"),
            ("contact", "nav.contact"),
            ("verify", "nav.verify"),
        ] {
            footer_links.push(self.link(lang, &Route::Content(content_slug(slug)), key)?);
        }
        footer_links.push(self.link(lang, &Route::Datasets, "nav.datasets")?);
        let feeds = vec![
            Link {
                href: urls::feed(lang, Feed::Updates),
                text: self.t(lang, "feeds.updates")?,
            },
            Link {
                href: urls::feed(lang, Feed::Exceedances),
                text: self.t(lang, "feeds.exceedances")?,
            },
            Link {
                href: urls::feed(lang, Feed::Corrections),
                text: self.t(lang, "corrections.feed")?,
            },
        ];
        let twin_lang = other(lang);
        Ok(Layout {
            lang_tag: lang.bcp47(),
            title,
            description,
            url: urls::page(lang, route),
            alternates: vec![
                Alternate {
                    hreflang: Lang::Zh.bcp47(),
                    href: urls::page(Lang::Zh, route),
                },
                Alternate {
                    hreflang: Lang::En.bcp47(),
                    href: urls::page(Lang::En, route),
                },
                Alternate {
                    hreflang: "x-default",
                    href: urls::language_choice(),
                },
            ],
            twin: Twin {
                href: urls::page(twin_lang, route),
                hreflang: twin_lang.bcp47(),
                text: match twin_lang {
                    Lang::Zh => "中文",
                    Lang::En => "English",
                },
            },
            home: urls::page(lang, &Route::Home),
            search: urls::page(lang, &Route::Search),
            nav,
            footer_links,
            feeds,
            breadcrumbs,
            stylesheet: urls::stylesheet(),
            data_date: format::date(lang, self.data_date),
            data_date_iso: self.data_date.format("%Y-%m-%d").to_string(),
            licence_url: urls::licence(lang),
            sample: self.inputs.sample,
            development_key: self.development_key,
            verify_url: urls::page(lang, &Route::Content(content_slug("verify"))),
        })
    }

    /// A chart's summary naming its lowest and highest bar (`{low}`, `{low_name}`, `{high}`,
    /// `{high_name}` in the string `key`); `None` for a chart without bars.
    pub fn extremes_summary(
        &self,
        lang: Lang,
        key: &str,
        bars: &[crate::charts::Bar],
    ) -> Result<Option<String>, SiteError> {
        let Some((low, high)) = crate::charts::extremes(bars) else {
            return Ok(None);
        };
        self.tf(
            lang,
            key,
            &[
                ("low", &low.2),
                ("low_name", &low.0),
                ("high", &high.2),
                ("high_name", &high.0),
            ],
        )
        .map(Some)
    }

    /// Breadcrumbs from the home page through `parents` (route, i18n key of its name).
    pub fn crumbs(&self, lang: Lang, parents: &[(Route, &str)]) -> Result<Vec<Link>, SiteError> {
        let mut v = vec![self.link(lang, &Route::Home, "nav.home")?];
        for (route, key) in parents {
            v.push(self.link(lang, route, key)?);
        }
        Ok(v)
    }

    /// Renders one page in one language.
    #[allow(clippy::too_many_arguments)]
    pub fn render_page<T: Serialize>(
        &self,
        out: &mut Output,
        lang: Lang,
        route: &Route,
        template: &str,
        title: String,
        description: String,
        breadcrumbs: Vec<Link>,
        page: &T,
    ) -> Result<(), SiteError> {
        let layout = self.layout(lang, route, title, description, breadcrumbs)?;
        let url = layout.url.clone();
        let ctx = PageContext {
            lang: lang.code(),
            layout,
            page,
        };
        let html = self.templates.render(template, &url, &ctx)?;
        out.add(&url, html.into_bytes())?;
        out.add_route(route.clone());
        Ok(())
    }

    /// The pager of one page of a list at `route` (`None` when the list fits on one page),
    /// and the page's title.
    pub fn pager<T>(
        &self,
        lang: Lang,
        route: &Route,
        page: &ListPage<'_, T>,
        title: String,
    ) -> Result<(Option<Pager>, String), SiteError> {
        if page.of <= 1 {
            return Ok((None, title));
        }
        let n = |v: usize| format::integer(lang, v as i64);
        let href = |k: usize| urls::page(lang, &urls::nth_page(route, k));
        let status = self.tf(
            lang,
            "pager.status",
            &[
                ("page", &n(page.number)),
                ("pages", &n(page.of)),
                ("from", &n(page.from)),
                ("to", &n(page.to)),
                ("total", &n(page.total)),
            ],
        )?;
        let titled = if page.number == 1 {
            title
        } else {
            self.tf(
                lang,
                "pager.title",
                &[("title", &title), ("page", &n(page.number))],
            )?
        };
        Ok((
            Some(Pager {
                status,
                pages: (1..=page.of)
                    .map(|k| PageLink {
                        href: href(k),
                        text: n(k),
                        current: k == page.number,
                    })
                    .collect(),
                previous: (page.number > 1).then(|| href(page.number - 1)),
                next: (page.number < page.of).then(|| href(page.number + 1)),
            }),
            titled,
        ))
    }

    /// A pollutant's name in a language, from the curated table (the code when unknown).
    pub fn pollutant_name(&self, lang: Lang, code: &str) -> String {
        self.curated
            .pollutants
            .get(code)
            .map(|p| p.name.get(lang).to_string())
            .unwrap_or_else(|| code.to_string())
    }

    pub fn pollutant_unit(&self, code: &str) -> String {
        self.curated
            .pollutants
            .get(code)
            .map(|p| p.unit.clone())
            .unwrap_or_default()
    }

    /// A standard's printed code (`GB 18485-2014`), from its id.
    /// The clause (table) of a standard (by id or printed code) that sets a pollutant's
    /// limit for a period (`hourly`, `daily`, `sample`), in `lang`, and whether it is
    /// illustrative (`data/standards.toml`).
    pub fn clause(
        &self,
        lang: Lang,
        standard: &str,
        pollutant: &str,
        period: &str,
    ) -> Option<(String, bool)> {
        let s = self
            .curated
            .standards
            .get(standard)
            .or_else(|| self.curated.standards.by_code(standard))?;
        let l = s
            .limits
            .iter()
            .find(|l| l.pollutant == pollutant && l.period.as_str() == period)?;
        Some((
            l.clause.text().get(lang).to_string(),
            l.clause.illustrative(),
        ))
    }

    pub fn standard_code(&self, id: &str) -> String {
        self.curated
            .standards
            .get(id)
            .map(|s| s.code.clone())
            .unwrap_or_else(|| id.to_string())
    }

    pub fn district_name(&self, lang: Lang, code: &str) -> String {
        envgov_dataset::ids::district(code)
            .map(|d| pick(lang, d.zh, d.en).to_string())
            .unwrap_or_else(|| code.to_string())
    }

    /// The link to a unit's page, when the unit is in the registry.
    pub fn unit_href(&self, lang: Lang, uscc: &str) -> Option<String> {
        self.registry
            .get(uscc)
            .map(|u| urls::page(lang, &Route::Enterprise(u.uscc.clone())))
    }

    /// Views of exceedance rows.
    pub fn exceedance_views(
        &self,
        lang: Lang,
        rows: &[&Exceedance<'_>],
    ) -> Result<Vec<ExceedanceView>, SiteError> {
        rows.iter().map(|r| self.exceedance_view(lang, r)).collect()
    }

    pub fn exceedance_view(
        &self,
        lang: Lang,
        r: &Exceedance<'_>,
    ) -> Result<ExceedanceView, SiteError> {
        let unit = self.pollutant_unit(r.pollutant);
        let clause = self.clause(lang, r.standard, r.pollutant, r.period);
        Ok(ExceedanceView {
            when: format::observed(lang, r.observed_at),
            when_iso: r.observed_at.to_string(),
            unit_name: pick(lang, r.name_zh, r.name_en).to_string(),
            unit_href: self.unit_href(lang, r.uscc),
            district: self.district_name(lang, r.district),
            outlet: r.outlet.to_string(),
            pollutant: self.pollutant_name(lang, r.pollutant),
            period: self.t(lang, &format!("period.{}", r.period))?,
            value: format::measurement(lang, r.value),
            limit: format::measurement(lang, r.limit),
            unit,
            multiple: format::decimal(lang, r.exceedance_multiple, 2),
            standard: self.standard_code(r.standard),
            clause_illustrative: clause.as_ref().is_some_and(|c| c.1),
            clause: clause.map(|c| c.0),
            illustrative: r.limit_illustrative,
            record_source: self.t(lang, &format!("record_source.{}", r.record_source))?,
            raw_key: r.raw_key.to_string(),
            raw_line: r.raw_line.map(|l| format::integer(lang, l as i64)),
            withdrawn: if r.withdrawn() {
                Some(self.tf(
                    lang,
                    "corrections.withdrawn_by",
                    &[
                        ("key", r.withdrawn_by.unwrap_or("")),
                        ("night", r.withdrawn_night.unwrap_or("")),
                    ],
                )?)
            } else {
                None
            },
        })
    }

    /// The latest value of each plan indicator.
    pub fn indicator_value(&self, id: &str) -> Option<&'a IndicatorValue<'a>> {
        self.rows
            .indicators
            .iter()
            .filter(|r| r.indicator == id)
            .max_by(|a, b| a.period.cmp(b.period))
    }

    /// A view of an indicator and its current value.
    pub fn indicator_view(&self, lang: Lang, id: &str) -> Result<IndicatorView, SiteError> {
        let def = self.curated.plan.indicator(id);
        let name = def
            .map(|d| d.name.get(lang).to_string())
            .unwrap_or_else(|| id.to_string());
        let description = def
            .map(|d| d.description.get(lang).to_string())
            .unwrap_or_default();
        let row = self.indicator_value(id);
        let (value, detail, period) = match row {
            Some(r) => {
                let value = match (r.unit, r.value) {
                    (_, None) => None,
                    ("ratio", Some(v)) => Some(format::percent(lang, v)),
                    ("t", Some(v)) => Some(self.tf(
                        lang,
                        "unit.tonnes",
                        &[("n", &format::decimal(lang, v, 1))],
                    )?),
                    (_, Some(v)) => Some(format::count(lang, v)),
                };
                let detail = match (r.numerator, r.denominator) {
                    (Some(n), Some(d)) => Some(self.tf(
                        lang,
                        "indicator.fraction",
                        &[
                            ("n", &format::count(lang, n)),
                            ("d", &format::count(lang, d)),
                        ],
                    )?),
                    _ => None,
                };
                let period = match r.period.split_once('/') {
                    Some((a, b)) => match (format::parse_date(a), format::parse_date(b)) {
                        (Some(a), Some(b)) => self.tf(
                            lang,
                            "indicator.period",
                            &[
                                ("from", &format::date(lang, a)),
                                ("to", &format::date(lang, b)),
                            ],
                        )?,
                        _ => r.period.to_string(),
                    },
                    None => r.period.to_string(),
                };
                (value, detail, Some(period))
            }
            None => (None, None, None),
        };
        let target = match def.and_then(|d| d.target.as_ref()) {
            Some(t) => Some(self.tf(
                lang,
                if t.illustrative {
                    "indicator.target_illustrative"
                } else {
                    "indicator.target"
                },
                &[
                    ("value", &format!("{}%", format::decimal(lang, t.value, 0))),
                    ("year", &t.year.to_string()),
                ],
            )?),
            None => None,
        };
        Ok(IndicatorView {
            id: id.to_string(),
            name,
            description,
            value,
            detail,
            period,
            target,
            source_href: row.and_then(|r| {
                Slug::new(r.source_dataset)
                    .ok()
                    .filter(|s| self.inputs.packages.contains_key(s.as_str()))
                    .map(|s| urls::page(lang, &Route::Dataset(s)))
            }),
            year_ago: None,
        })
    }
}

/// One exceedance, formatted.
#[derive(Debug, Serialize)]
pub struct ExceedanceView {
    pub when: String,
    pub when_iso: String,
    pub unit_name: String,
    pub unit_href: Option<String>,
    pub district: String,
    pub outlet: String,
    pub pollutant: String,
    pub period: String,
    pub value: String,
    pub limit: String,
    pub unit: String,
    pub multiple: String,
    pub standard: String,
    /// The standard's clause (table) that sets the limit, and whether it is illustrative.
    pub clause: Option<String>,
    pub clause_illustrative: bool,
    pub illustrative: bool,
    pub record_source: String,
    pub raw_key: String,
    pub raw_line: Option<String>,
    /// For an exceedance a correction withdrew: which revision withdrew it, and when.
    pub withdrawn: Option<String>,
}

/// A plan indicator with its current value.
#[derive(Debug, Serialize)]
pub struct IndicatorView {
    pub id: String,
    pub name: String,
    pub description: String,
    /// `None`: no value published (shown as "no data").
    pub value: Option<String>,
    /// `5,795 of 5,914` for rates.
    pub detail: Option<String>,
    pub period: Option<String>,
    pub target: Option<String>,
    pub source_href: Option<String>,
    /// Against the same period last year (the plan pages fill it; `None`: not shown).
    pub year_ago: Option<IndicatorYearAgo>,
}

/// An indicator's value over the year to the same day last year, and the change.
#[derive(Debug, Serialize)]
pub struct IndicatorYearAgo {
    /// "Same period last year (1 January to 31 January 2025): 99.5%, change +0.49
    /// percentage points", or that there is no data then.
    pub text: String,
    pub no_data: bool,
}
