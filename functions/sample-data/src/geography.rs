//! Where sample units are: Beijing's districts with realistic weights, rough centroids, a
//! point inside each unit's district polygon (`data/boundaries/`), and street addresses in
//! both languages. Pure: no I/O.

use crate::streams::{Stream, pick, uniform};
use envgov_curated::boundaries::{Boundaries, DistrictShape};
use envgov_dataset::ids::{DISTRICTS, District};
use rand::Rng;

/// Facts about one area that the generator needs beyond [`District`].
#[derive(Debug, Clone, Copy)]
pub(crate) struct Area {
    pub district: &'static District,
    /// Relative weight of key polluting units located here.
    pub unit_weight: f64,
    /// Relative weight of large livestock farms located here.
    pub farm_weight: f64,
    /// Medical waste collected on a typical day, t.
    pub medical_t: f64,
    /// Rough centre (WGS 84) and jitter radius in degrees: units are placed near it, inside
    /// the district's polygon (see [`point_in`]).
    pub lon: f64,
    pub lat: f64,
    pub jitter: f64,
    /// Region code used inside USCCs registered here (BDA registers in Daxing).
    pub region: &'static str,
}

/// `weights` = (units, farms, medical waste t/day); `centre` = (lon, lat, jitter).
const fn area(
    i: usize,
    weights: (f64, f64, f64),
    centre: (f64, f64, f64),
    region: &'static str,
) -> Area {
    let (unit_weight, farm_weight, medical_t) = weights;
    let (lon, lat, jitter) = centre;
    Area {
        district: &DISTRICTS[i],
        unit_weight,
        farm_weight,
        medical_t,
        lon,
        lat,
        jitter,
        region,
    }
}

/// The 16 districts and the Yizhuang development area, in [`DISTRICTS`] order.
pub(crate) const AREAS: [Area; 17] = [
    area(0, (1.5, 0.0, 8.0), (116.416, 39.928, 0.02), "110101"),
    area(1, (1.5, 0.0, 10.0), (116.366, 39.912, 0.02), "110102"),
    area(2, (12.0, 0.5, 18.0), (116.486, 39.948, 0.06), "110105"),
    area(3, (7.0, 0.5, 9.0), (116.287, 39.858, 0.05), "110106"),
    area(4, (3.0, 0.0, 3.0), (116.195, 39.914, 0.03), "110107"),
    area(5, (6.0, 0.5, 16.0), (116.298, 39.959, 0.05), "110108"),
    area(6, (3.0, 1.0, 1.2), (116.02, 39.94, 0.08), "110109"),
    area(7, (10.0, 10.0, 3.0), (116.14, 39.73, 0.10), "110111"),
    area(8, (10.0, 9.0, 5.0), (116.66, 39.86, 0.08), "110112"),
    area(9, (10.0, 9.0, 3.5), (116.65, 40.13, 0.08), "110113"),
    area(10, (7.0, 5.0, 5.0), (116.23, 40.22, 0.08), "110114"),
    area(11, (10.0, 8.0, 4.5), (116.34, 39.72, 0.08), "110115"),
    area(12, (4.0, 5.0, 1.0), (116.63, 40.32, 0.08), "110116"),
    area(13, (4.0, 9.0, 0.9), (117.12, 40.14, 0.07), "110117"),
    area(14, (4.0, 8.0, 1.0), (116.84, 40.38, 0.08), "110118"),
    area(15, (3.0, 6.0, 0.6), (115.97, 40.46, 0.08), "110119"),
    area(16, (9.0, 0.0, 1.5), (116.51, 39.79, 0.03), "110115"),
];

/// The district whose boundary holds a unit of area `a`: its own, or for the Yizhuang
/// development area (no GB/T 2260 district, no boundary) the district it lies in, Daxing
/// (the area's `region`).
pub(crate) fn host_district(a: &Area) -> &'static str {
    if a.district.statutory {
        a.district.code
    } else {
        a.region
    }
}

/// Tries near the area's centre (inside its jitter box) before the whole district.
const NEAR_TRIES: usize = 64;
const ANYWHERE_TRIES: usize = 4096;

fn round5(v: f64) -> f64 {
    (v * 1e5).round() / 1e5
}

/// A point inside the area's district polygon (WGS 84, 5 decimals, about 1 m).
///
/// `rng` is the unit's own stream: this takes the same two draws from it as the generator
/// always has (when it put units at the area's centre plus jitter), so every other value of
/// the unit and of the sample stays byte for byte the same. The point itself comes from
/// `place`, a stream of its own: rejection sampling inside the district's polygon, first
/// within the area's jitter box around its centre (units cluster where they did), then
/// anywhere in the district's bounding box; in the (never seen) case that no try lands
/// inside, a fixed interior point of the polygon.
pub(crate) fn point_in(
    rng: &mut Stream,
    place: &mut Stream,
    a: &Area,
    boundaries: &Boundaries,
) -> (f64, f64) {
    let _kept_for_the_stream = (
        uniform(rng, -a.jitter, a.jitter),
        uniform(rng, -a.jitter, a.jitter),
    );
    let Some(shape) = boundaries.get(host_district(a)) else {
        // Unreachable with the embedded boundaries (every statutory code has one).
        return (round5(a.lon), round5(a.lat));
    };
    let b = &shape.bbox;
    for attempt in 0..NEAR_TRIES + ANYWHERE_TRIES {
        let (lon, lat) = if attempt < NEAR_TRIES {
            (
                uniform(place, a.lon - a.jitter, a.lon + a.jitter),
                uniform(place, a.lat - a.jitter, a.lat + a.jitter),
            )
        } else {
            (
                uniform(place, b.min_lon, b.max_lon),
                uniform(place, b.min_lat, b.max_lat),
            )
        };
        let (lon, lat) = (round5(lon), round5(lat));
        if shape.contains(lon, lat) {
            return (lon, lat);
        }
    }
    interior_point(shape).unwrap_or((round5(a.lon), round5(a.lat)))
}

/// The first point of a 32 × 32 grid over the district's box that lies inside it.
fn interior_point(shape: &DistrictShape) -> Option<(f64, f64)> {
    const N: usize = 32;
    let b = &shape.bbox;
    (0..N * N).find_map(|k| {
        let lon = round5(b.min_lon + (b.max_lon - b.min_lon) * ((k % N) as f64 + 0.5) / N as f64);
        let lat = round5(b.min_lat + (b.max_lat - b.min_lat) * ((k / N) as f64 + 0.5) / N as f64);
        shape.contains(lon, lat).then_some((lon, lat))
    })
}

const ROADS: [(&str, &str); 24] = [
    ("科创", "Kechuang"),
    ("兴业", "Xingye"),
    ("京开", "Jingkai"),
    ("安定", "Anding"),
    ("永丰", "Yongfeng"),
    ("金盏", "Jinzhan"),
    ("南苑", "Nanyuan"),
    ("石门", "Shimen"),
    ("马坊", "Mafang"),
    ("林河", "Linhe"),
    ("天竺", "Tianzhu"),
    ("宏达", "Hongda"),
    ("景园", "Jingyuan"),
    ("北清", "Beiqing"),
    ("燕房", "Yanfang"),
    ("窦店", "Doudian"),
    ("马驹桥", "Majuqiao"),
    ("黄村", "Huangcun"),
    ("雁栖", "Yanqi"),
    ("兴谷", "Xinggu"),
    ("檀州", "Tanzhou"),
    ("妫水", "Guishui"),
    ("高碑店", "Gaobeidian"),
    ("小红门", "Xiaohongmen"),
];

const ROAD_KINDS: [(&str, &str); 4] = [
    ("路", "Road"),
    ("街", "Street"),
    ("大街", "Avenue"),
    ("东路", "East Road"),
];

/// A street address in Chinese and English.
pub(crate) fn address(rng: &mut Stream, a: &Area) -> (String, String) {
    let (road_zh, road_en) = pick(rng, &ROADS);
    let (kind_zh, kind_en) = pick(rng, &ROAD_KINDS);
    let no: u32 = rng.random_range(1..300);
    let d = a.district;
    let zh = format!("北京市{}{road_zh}{kind_zh}{no}号", d.zh);
    let en = if d.statutory {
        format!("No. {no} {road_en} {kind_en}, {} District, Beijing", d.en)
    } else {
        format!(
            "No. {no} {road_en} {kind_en}, Beijing Economic-Technological Development Area, Beijing"
        )
    };
    (zh, en)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn areas_follow_the_district_table_and_stay_inside_beijing() {
        for (a, d) in AREAS.iter().zip(DISTRICTS.iter()) {
            assert_eq!(a.district.code, d.code);
            assert!(
                a.lon - a.jitter >= 115.4 && a.lon + a.jitter <= 117.6,
                "{}",
                d.code
            );
            assert!(
                a.lat - a.jitter >= 39.4 && a.lat + a.jitter <= 41.1,
                "{}",
                d.code
            );
        }
    }

    #[test]
    fn each_area_centre_lies_in_the_district_its_units_are_placed_in() {
        let b = Boundaries::beijing().unwrap();
        for a in &AREAS {
            let shape = b.get(host_district(a)).unwrap();
            assert!(shape.contains(a.lon, a.lat), "{}", a.district.code);
        }
    }
}
