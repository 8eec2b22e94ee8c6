//! Open days (企业开放日): the list, upcoming and past relative to the data date, by month
//! and by district; one page per event with its place, time, registration and capacity.

use super::shared::{Site, pick};
use crate::error::SiteError;
use crate::format;
use crate::output::Output;
use crate::urls::{self, Route, Slug};
use envgov_curated::OpenDay;
use envgov_dataset::Lang;
use envgov_dataset::ids::DISTRICTS;
use serde::Serialize;

/// An event in a list.
#[derive(Debug, Serialize)]
pub struct OpenDayItem {
    pub href: String,
    pub title: String,
    pub when: String,
    pub when_iso: String,
    pub district: String,
    pub host: String,
}

#[derive(Serialize)]
struct MonthGroup {
    month: String,
    items: Vec<OpenDayItem>,
}

#[derive(Serialize)]
struct DistrictGroup {
    district: String,
    items: Vec<OpenDayItem>,
}

#[derive(Serialize)]
struct OpenDaysPage {
    note: String,
    upcoming: Vec<MonthGroup>,
    past: Vec<MonthGroup>,
    by_district: Vec<DistrictGroup>,
    calendar_href: String,
}

#[derive(Serialize)]
struct OpenDayPage {
    note: String,
    host: String,
    host_href: Option<String>,
    district: String,
    place: String,
    when: String,
    start_iso: String,
    end_iso: String,
    upcoming: bool,
    audience: String,
    topics: Vec<String>,
    registration_url: String,
    registration_deadline: String,
    registration_deadline_iso: String,
    registration_how: String,
    capacity: String,
    ics_href: String,
    calendar_href: String,
}

pub fn event_slug(e: &OpenDay) -> Result<Slug, SiteError> {
    Slug::new(&e.id).map_err(|reason| SiteError::BadId {
        dataset: "data/open-days.toml".into(),
        field: "id",
        value: e.id.clone(),
        reason,
    })
}

fn times(
    e: &OpenDay,
) -> Result<
    (
        chrono::DateTime<chrono::FixedOffset>,
        chrono::DateTime<chrono::FixedOffset>,
    ),
    SiteError,
> {
    let bad = |v: &str| SiteError::BadDate {
        what: format!("open day {}", e.id),
        value: v.to_string(),
    };
    Ok((
        e.start_time().ok_or_else(|| bad(&e.start))?,
        e.end_time().ok_or_else(|| bad(&e.end))?,
    ))
}

pub fn open_day_item(site: &Site<'_>, lang: Lang, e: &OpenDay) -> Result<OpenDayItem, SiteError> {
    let (start, end) = times(e)?;
    Ok(OpenDayItem {
        href: urls::page(lang, &Route::OpenDay(event_slug(e)?)),
        title: e.title.get(lang).to_string(),
        when: format::time_range(lang, start, end),
        when_iso: e.start.clone(),
        district: site.district_name(lang, &e.district),
        host: e.host.get(lang).to_string(),
    })
}

fn by_month(
    site: &Site<'_>,
    lang: Lang,
    events: &[&OpenDay],
) -> Result<Vec<MonthGroup>, SiteError> {
    let mut groups: Vec<MonthGroup> = Vec::new();
    let mut last_month = String::new();
    for e in events {
        let month_key = e.start[..7].to_string();
        if month_key != last_month {
            let first = format::parse_month(&month_key).ok_or_else(|| SiteError::BadDate {
                what: format!("open day {}", e.id),
                value: e.start.clone(),
            })?;
            groups.push(MonthGroup {
                month: format::month(lang, first),
                items: Vec::new(),
            });
            last_month = month_key;
        }
        groups
            .last_mut()
            .expect("a group was just pushed")
            .items
            .push(open_day_item(site, lang, e)?);
    }
    Ok(groups)
}

pub fn render(site: &Site<'_>, out: &mut Output) -> Result<(), SiteError> {
    let od = &site.curated.open_days;
    let data_date = site.data_date.format("%Y-%m-%d").to_string();
    let upcoming = od.upcoming(&data_date).map_err(|e| SiteError::BadDate {
        what: "data date".into(),
        value: e.0,
    })?;
    let upcoming_ids: Vec<&str> = upcoming.iter().map(|e| e.id.as_str()).collect();
    let mut past: Vec<&OpenDay> = od
        .list
        .iter()
        .filter(|e| !upcoming_ids.contains(&e.id.as_str()))
        .collect();
    // Newest first.
    past.sort_by(|a, b| (&b.start, &b.id).cmp(&(&a.start, &a.id)));

    for lang in Lang::ALL {
        let mut by_district = Vec::new();
        for d in DISTRICTS {
            let mut events: Vec<&OpenDay> = od.in_district(d.code).collect();
            events.sort_by(|a, b| (&a.start, &a.id).cmp(&(&b.start, &b.id)));
            if events.is_empty() {
                continue;
            }
            let mut items = Vec::new();
            for e in events {
                items.push(open_day_item(site, lang, e)?);
            }
            by_district.push(DistrictGroup {
                district: pick(lang, d.zh, d.en).to_string(),
                items,
            });
        }
        let page = OpenDaysPage {
            note: od.note.get(lang).to_string(),
            upcoming: by_month(site, lang, &upcoming)?,
            past: by_month(site, lang, &past)?,
            by_district,
            calendar_href: urls::open_days_ics(),
        };
        site.render_page(
            out,
            lang,
            &Route::OpenDays,
            "open_days.html",
            site.t(lang, "open_days.title")?,
            site.t(lang, "open_days.description")?,
            site.crumbs(lang, &[])?,
            &page,
        )?;
    }

    for e in &od.list {
        let slug = event_slug(e)?;
        let route = Route::OpenDay(slug.clone());
        let (start, end) = times(e)?;
        let deadline =
            format::parse_date(&e.registration.deadline).ok_or_else(|| SiteError::BadDate {
                what: format!("open day {} registration deadline", e.id),
                value: e.registration.deadline.clone(),
            })?;
        for lang in Lang::ALL {
            let mut topics = Vec::new();
            for t in &e.topics {
                topics.push(
                    od.topic(t)
                        .map(|t| t.name.get(lang).to_string())
                        .unwrap_or_else(|| t.clone()),
                );
            }
            let page = OpenDayPage {
                note: od.note.get(lang).to_string(),
                host: e.host.get(lang).to_string(),
                host_href: e.host_uscc.as_deref().and_then(|u| site.unit_href(lang, u)),
                district: site.district_name(lang, &e.district),
                place: e.place.get(lang).to_string(),
                when: format::time_range(lang, start, end),
                start_iso: e.start.clone(),
                end_iso: e.end.clone(),
                upcoming: upcoming_ids.contains(&e.id.as_str()),
                audience: e.audience.get(lang).to_string(),
                topics,
                registration_url: e.registration.url.clone(),
                registration_deadline: format::date(lang, deadline),
                registration_deadline_iso: e.registration.deadline.clone(),
                registration_how: e.registration.how.get(lang).to_string(),
                capacity: site.tf(
                    lang,
                    "open_days.capacity_people",
                    &[("n", &format::integer(lang, e.capacity as i64))],
                )?,
                ics_href: urls::open_day_ics(&slug),
                calendar_href: urls::open_days_ics(),
            };
            site.render_page(
                out,
                lang,
                &route,
                "open_day.html",
                e.title.get(lang).to_string(),
                site.tf(
                    lang,
                    "open_days.event_description",
                    &[
                        ("host", e.host.get(lang)),
                        ("when", &format::time_range(lang, start, end)),
                    ],
                )?,
                site.crumbs(lang, &[(Route::OpenDays, "nav.open_days")])?,
                &page,
            )?;
        }
    }
    Ok(())
}
