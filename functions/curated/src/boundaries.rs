//! Beijing's district boundaries (`data/boundaries/beijing-districts.geojson`, see its
//! `SOURCE.md`): polygons in longitude/latitude degrees (CGCS2000, used as WGS 84), and the
//! point-in-polygon test the site's maps and the sample-data generator share.
//!
//! Stage: reference data (pure). The GeoJSON is parsed strictly: unknown members fail, every
//! feature must be a statutory district of [`envgov_dataset::ids::DISTRICTS`], each of the 16
//! exactly once, every ring closed with at least four finite positions.

use crate::error::CuratedError;
use envgov_dataset::ids::{DISTRICTS, District, district};
use serde::Deserialize;

const FILE: &str = "boundaries/beijing-districts.geojson";

/// A position: `[longitude, latitude]` in degrees.
pub type Position = [f64; 2];

/// A closed ring (first position repeated last).
pub type Ring = Vec<Position>;

/// A polygon: its outer ring and its holes.
#[derive(Debug, Clone, PartialEq)]
pub struct Polygon {
    pub exterior: Ring,
    pub holes: Vec<Ring>,
}

/// The smallest longitude/latitude box holding a set of positions.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct BBox {
    pub min_lon: f64,
    pub min_lat: f64,
    pub max_lon: f64,
    pub max_lat: f64,
}

impl BBox {
    /// The box around `positions` (inverted infinities when there are none).
    pub fn of<'p>(positions: impl Iterator<Item = &'p Position>) -> BBox {
        positions.fold(
            BBox {
                min_lon: f64::INFINITY,
                min_lat: f64::INFINITY,
                max_lon: f64::NEG_INFINITY,
                max_lat: f64::NEG_INFINITY,
            },
            |b, p| BBox {
                min_lon: b.min_lon.min(p[0]),
                min_lat: b.min_lat.min(p[1]),
                max_lon: b.max_lon.max(p[0]),
                max_lat: b.max_lat.max(p[1]),
            },
        )
    }
}

/// One district's boundary.
#[derive(Debug, Clone)]
pub struct DistrictShape {
    pub district: &'static District,
    pub polygons: Vec<Polygon>,
    pub bbox: BBox,
}

impl DistrictShape {
    /// True when `(lon, lat)` lies inside one of the district's polygons (not in a hole).
    pub fn contains(&self, lon: f64, lat: f64) -> bool {
        self.polygons.iter().any(|p| polygon_contains(p, lon, lat))
    }
}

/// Beijing's 16 districts, in [`DISTRICTS`] order.
#[derive(Debug, Clone)]
pub struct Boundaries {
    pub districts: Vec<DistrictShape>,
    /// The box around all of them.
    pub bbox: BBox,
}

impl Boundaries {
    /// The boundaries embedded at build time from `data/boundaries/`.
    pub fn beijing() -> Result<Boundaries, CuratedError> {
        Boundaries::parse(include_str!(
            "../../../data/boundaries/beijing-districts.geojson"
        ))
    }

    /// Parses and checks a GeoJSON FeatureCollection of the 16 districts.
    pub fn parse(text: &str) -> Result<Boundaries, CuratedError> {
        let raw: RawCollection = serde_json::from_str(text)
            .map_err(|source| CuratedError::Json { file: FILE, source })?;
        let mut districts = Vec::with_capacity(raw.features.len());
        for f in raw.features {
            districts.push(shape(f)?);
        }
        districts.sort_by_key(|d| DISTRICTS.iter().position(|x| x.code == d.district.code));
        for (i, d) in districts.iter().enumerate() {
            if i > 0 && districts[i - 1].district.code == d.district.code {
                return Err(invalid(format!(
                    "district {} listed twice",
                    d.district.code
                )));
            }
        }
        let statutory = DISTRICTS.iter().filter(|d| d.statutory).count();
        if districts.len() != statutory {
            return Err(invalid(format!(
                "{} districts, expected Beijing's {statutory}",
                districts.len()
            )));
        }
        let bbox = BBox::of(
            districts
                .iter()
                .flat_map(|d| d.polygons.iter())
                .flat_map(|p| p.exterior.iter()),
        );
        Ok(Boundaries { districts, bbox })
    }

    /// The boundary of a district by its GB/T 2260 code.
    pub fn get(&self, code: &str) -> Option<&DistrictShape> {
        self.districts.iter().find(|d| d.district.code == code)
    }

    /// The district whose polygon holds `(lon, lat)`, if any.
    pub fn locate(&self, lon: f64, lat: f64) -> Option<&DistrictShape> {
        self.districts.iter().find(|d| d.contains(lon, lat))
    }
}

/// Even-odd ray casting: true when `(lon, lat)` is inside the closed `ring`. A point exactly
/// on an edge may fall either side (boundaries are drawn, not surveyed, at that scale).
pub fn ring_contains(ring: &[Position], lon: f64, lat: f64) -> bool {
    let mut inside = false;
    for (a, b) in ring.iter().zip(ring.iter().skip(1)) {
        if (a[1] > lat) != (b[1] > lat) {
            let cross = a[0] + (lat - a[1]) * (b[0] - a[0]) / (b[1] - a[1]);
            if lon < cross {
                inside = !inside;
            }
        }
    }
    inside
}

/// True when `(lon, lat)` is inside the polygon's outer ring and in none of its holes.
pub fn polygon_contains(p: &Polygon, lon: f64, lat: f64) -> bool {
    ring_contains(&p.exterior, lon, lat) && !p.holes.iter().any(|h| ring_contains(h, lon, lat))
}

fn invalid(message: String) -> CuratedError {
    CuratedError::Invalid {
        file: FILE,
        message,
    }
}

fn shape(f: RawFeature) -> Result<DistrictShape, CuratedError> {
    let code = f.properties.code;
    let district = district(&code).filter(|d| d.statutory).ok_or_else(|| {
        invalid(format!(
            "code {code:?} is not a Beijing district (GB/T 2260)"
        ))
    })?;
    if district.zh != f.properties.name_zh {
        return Err(invalid(format!(
            "{code}: name_zh {:?}, expected {:?}",
            f.properties.name_zh, district.zh
        )));
    }
    let polygons = match f.geometry {
        RawGeometry::Polygon { coordinates } => vec![coordinates],
        RawGeometry::MultiPolygon { coordinates } => coordinates,
    };
    let mut out = Vec::with_capacity(polygons.len());
    for rings in polygons {
        for ring in &rings {
            check_ring(&code, ring)?;
        }
        let mut rings = rings.into_iter();
        let exterior = rings
            .next()
            .ok_or_else(|| invalid(format!("{code}: a polygon without rings")))?;
        out.push(Polygon {
            exterior,
            holes: rings.collect(),
        });
    }
    if out.is_empty() {
        return Err(invalid(format!("{code}: no polygon")));
    }
    let bbox = BBox::of(out.iter().flat_map(|p| p.exterior.iter()));
    Ok(DistrictShape {
        district,
        polygons: out,
        bbox,
    })
}

fn check_ring(code: &str, ring: &[Position]) -> Result<(), CuratedError> {
    if ring.len() < 4 || ring.first() != ring.last() {
        return Err(invalid(format!(
            "{code}: a ring of {} positions that is not closed (GeoJSON needs at least 4, the first repeated last)",
            ring.len()
        )));
    }
    // NaN and infinities are in neither range.
    if let Some(p) = ring
        .iter()
        .find(|p| !((-180.0..=180.0).contains(&p[0]) && (-90.0..=90.0).contains(&p[1])))
    {
        return Err(invalid(format!(
            "{code}: position {p:?} is not a longitude/latitude in degrees"
        )));
    }
    Ok(())
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawCollection {
    #[serde(rename = "type")]
    _type: CollectionTag,
    #[serde(rename = "crs")]
    _crs: Option<serde::de::IgnoredAny>,
    features: Vec<RawFeature>,
}

#[derive(Deserialize)]
enum CollectionTag {
    FeatureCollection,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawFeature {
    #[serde(rename = "type")]
    _type: FeatureTag,
    properties: RawProperties,
    geometry: RawGeometry,
}

#[derive(Deserialize)]
enum FeatureTag {
    Feature,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawProperties {
    code: String,
    name_zh: String,
}

#[derive(Deserialize)]
#[serde(tag = "type", deny_unknown_fields)]
enum RawGeometry {
    Polygon { coordinates: Vec<Ring> },
    MultiPolygon { coordinates: Vec<Vec<Ring>> },
}

#[cfg(test)]
mod tests {
    use super::*;

    fn square(x0: f64, y0: f64, x1: f64, y1: f64) -> Ring {
        vec![[x0, y0], [x1, y0], [x1, y1], [x0, y1], [x0, y0]]
    }

    #[test]
    fn ray_casting_tells_inside_from_outside_and_respects_holes() {
        let p = Polygon {
            exterior: square(0.0, 0.0, 4.0, 4.0),
            holes: vec![square(1.0, 1.0, 2.0, 2.0)],
        };
        assert!(polygon_contains(&p, 3.0, 3.0));
        assert!(polygon_contains(&p, 0.5, 3.5));
        assert!(!polygon_contains(&p, 1.5, 1.5), "in the hole");
        assert!(!polygon_contains(&p, 5.0, 1.0), "east of it");
        assert!(!polygon_contains(&p, -0.1, 2.0), "west of it");
        assert!(!polygon_contains(&p, 2.0, 4.5), "north of it");
        // A concave ring (a U opening north): its notch is outside.
        let u = vec![
            [0.0, 0.0],
            [3.0, 0.0],
            [3.0, 3.0],
            [2.0, 3.0],
            [2.0, 1.0],
            [1.0, 1.0],
            [1.0, 3.0],
            [0.0, 3.0],
            [0.0, 0.0],
        ];
        assert!(ring_contains(&u, 0.5, 2.5));
        assert!(ring_contains(&u, 2.5, 2.5));
        assert!(!ring_contains(&u, 1.5, 2.0), "in the notch");
        assert!(ring_contains(&u, 1.5, 0.5), "below the notch");
    }

    #[test]
    fn the_embedded_boundaries_hold_well_known_places() {
        let b = Boundaries::beijing().unwrap();
        assert_eq!(b.districts.len(), 16);
        // Places whose district is common knowledge (WGS 84, rounded to 1e-3 degree).
        for (lon, lat, code) in [
            (116.397, 39.908, "110101"), // Tiananmen Square: Dongcheng
            (116.310, 39.992, "110108"), // Peking University: Haidian
            (116.587, 40.080, "110105"), // Capital Airport: Chaoyang's exclave, inside Shunyi
            (116.396, 39.993, "110105"), // the Bird's Nest stadium: Chaoyang
            (116.016, 40.356, "110119"), // Badaling Great Wall: Yanqing
            (116.341, 39.727, "110115"), // Huangcun, Daxing's seat: Daxing
        ] {
            assert_eq!(
                b.locate(lon, lat).map(|d| d.district.code),
                Some(code),
                "{lon},{lat}"
            );
        }
        // Tianjin's centre and Langfang are outside Beijing.
        assert!(b.locate(117.200, 39.133).is_none());
        assert!(b.locate(116.683, 39.538).is_none());
        assert!(b.bbox.min_lon > 115.4 && b.bbox.max_lon < 117.6);
        assert!(b.bbox.min_lat > 39.4 && b.bbox.max_lat < 41.1);
    }

    #[test]
    fn rejects_unknown_codes_open_rings_and_unknown_members() {
        let feature = |code: &str, name: &str, ring: &str| {
            format!(
                r#"{{"type":"FeatureCollection","features":[{{"type":"Feature","properties":{{"code":"{code}","name_zh":"{name}"}},"geometry":{{"type":"Polygon","coordinates":[{ring}]}}}}]}}"#
            )
        };
        let closed = "[[116,39],[117,39],[117,40],[116,39]]";
        let e = Boundaries::parse(&feature("110110", "x", closed)).unwrap_err();
        assert!(
            e.to_string()
                .contains("\"110110\" is not a Beijing district"),
            "{e}"
        );
        let e = Boundaries::parse(&feature(
            "110101",
            "东城区",
            "[[116,39],[117,39],[117,40],[116,40]]",
        ))
        .unwrap_err();
        assert!(e.to_string().contains("not closed"), "{e}");
        let e = Boundaries::parse(&feature("110101", "东城区", closed)).unwrap_err();
        assert!(
            e.to_string().contains("1 districts, expected Beijing's 16"),
            "{e}"
        );
        let e = Boundaries::parse(r#"{"type":"FeatureCollection","features":[],"extra":1}"#)
            .unwrap_err();
        assert!(e.to_string().contains("unknown field `extra`"), "{e}");
    }
}
