//! The raw vocabularies, defined once: vehicle sectors, fuels and inspection methods,
//! emission stages, waste treatment methods and recycled products, livestock species, unit
//! source types and facility statuses. Each term has the code published in the datasets
//! and the Chinese label written in the raw files (`data/raw-formats.md`); the registry
//! writes source types and facility statuses as codes, and their Chinese names are for
//! display. The validators
//! map labels to codes with these tables, the sample generator writes the labels from
//! them, and the aggregation names the codes through them.
//!
//! Stage: contract (pure values).

use serde::{Deserialize, Serialize};
use std::fmt;

macro_rules! vocabulary {
    ($(#[$meta:meta])* $name:ident { $($variant:ident = $code:literal, $zh:literal;)+ }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
        pub enum $name {
            $(#[serde(rename = $code)] $variant,)+
        }

        impl $name {
            /// Every term, in the order of `data/raw-formats.md`.
            pub const ALL: &'static [$name] = &[$($name::$variant,)+];
            /// (code, label in the raw files) of every term.
            pub const PAIRS: &'static [(&'static str, &'static str)] = &[$(($code, $zh),)+];

            /// The code published in the datasets.
            pub fn code(self) -> &'static str {
                match self {
                    $($name::$variant => $code,)+
                }
            }

            /// The label written in the raw files.
            pub fn zh(self) -> &'static str {
                match self {
                    $($name::$variant => $zh,)+
                }
            }

            pub fn from_code(code: &str) -> Option<Self> {
                Self::ALL.iter().copied().find(|t| t.code() == code)
            }

            pub fn from_zh(label: &str) -> Option<Self> {
                Self::ALL.iter().copied().find(|t| t.zh() == label)
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.code())
            }
        }
    };
}

vocabulary! {
    /// The enterprise fleets of `vehicles.csv` (行业).
    Sector {
        Bus = "bus", "公交";
        RoadTransport = "road-transport", "道路运输";
        Sanitation = "sanitation", "环卫";
        Postal = "postal", "邮政";
        Express = "express", "快递";
        Taxi = "taxi", "出租";
    }
}

vocabulary! {
    /// Fuel types of `vehicles.csv` (燃料类型).
    Fuel {
        Gasoline = "gasoline", "汽油";
        Diesel = "diesel", "柴油";
        NaturalGas = "natural-gas", "天然气";
        Bev = "bev", "纯电动";
        Phev = "phev", "插电式混合动力";
        Fcev = "fcev", "燃料电池";
    }
}

impl Fuel {
    /// Battery-electric and fuel-cell vehicles have no tailpipe emission stage.
    pub fn zero_emission(self) -> bool {
        matches!(self, Fuel::Bev | Fuel::Fcev)
    }

    /// Counted in the electrification share (BEV, FCEV and PHEV, kept apart in the data).
    pub fn electrified(self) -> bool {
        matches!(self, Fuel::Bev | Fuel::Fcev | Fuel::Phev)
    }
}

vocabulary! {
    /// Periodic emission inspection methods of `vehicles.csv` (检测方法).
    InspectionMethod {
        TwoSpeedIdle = "two-speed-idle", "双怠速法";
        SimpleTransient = "simple-transient", "简易瞬态工况法";
        FreeAcceleration = "free-acceleration", "自由加速法";
        LugDown = "lug-down", "加载减速法";
        Obd = "obd", "OBD检查";
        NotApplicable = "not-applicable", "不适用";
    }
}

vocabulary! {
    /// Emission stages (排放阶段) as published; see [`EmissionStage::normalise`] for the
    /// spellings accepted in the raw files.
    EmissionStage {
        China3 = "china3", "国III";
        China4 = "china4", "国IV";
        China5 = "china5", "国V";
        China6 = "china6", "国VI";
        China6a = "china6a", "国VIa";
        China6b = "china6b", "国VIb";
        NotApplicable = "not-applicable", "不适用";
    }
}

impl EmissionStage {
    /// Reads a stage as written in the files: Roman numerals in ASCII (国VIb) or as the
    /// Unicode numerals (国Ⅵb), or Arabic digits, half or full width (国6b, 国６b).
    pub fn normalise(s: &str) -> Option<Self> {
        let t: String = s
            .trim()
            .replace('Ⅲ', "III")
            .replace('Ⅳ', "IV")
            .replace('Ⅴ', "V")
            .replace(['Ⅵ', '６'], "VI")
            .to_ascii_lowercase();
        Some(match t.as_str() {
            "国iii" | "国3" => EmissionStage::China3,
            "国iv" | "国4" => EmissionStage::China4,
            "国v" | "国5" => EmissionStage::China5,
            "国vi" | "国6" => EmissionStage::China6,
            "国via" | "国6a" => EmissionStage::China6a,
            "国vib" | "国6b" => EmissionStage::China6b,
            "不适用" => EmissionStage::NotApplicable,
            _ => return None,
        })
    }

    /// China VI in any of its phases.
    pub fn china6(self) -> bool {
        matches!(
            self,
            EmissionStage::China6 | EmissionStage::China6a | EmissionStage::China6b
        )
    }
}

vocabulary! {
    /// Treatment methods of `msw.csv` (处理方式).
    MswMethod {
        Incineration = "incineration", "焚烧";
        Landfill = "landfill", "卫生填埋";
        KitchenCompost = "kitchen-compost", "厨余堆肥";
        KitchenAnaerobic = "kitchen-anaerobic", "厨余厌氧消化";
    }
}

vocabulary! {
    /// Recycled products of `construction-waste.csv` (产品类型).
    ProductType {
        RecycledAggregate = "recycled-aggregate", "再生骨料";
        RecycledBrick = "recycled-brick", "再生砖";
        RecycledConcrete = "recycled-concrete", "再生混凝土";
        RecycledInorganic = "recycled-inorganic", "再生无机料";
    }
}

vocabulary! {
    /// Livestock species of `livestock.csv` (畜种).
    Species {
        Pig = "pig", "生猪";
        Dairy = "dairy", "奶牛";
        Beef = "beef", "肉牛";
        Layer = "layer", "蛋鸡";
        Broiler = "broiler", "肉鸡";
    }
}

impl Species {
    /// Head of this species per pig equivalent's worth (GB 18596-2001 conversion: 30 layers
    /// or 60 broilers = 1 pig; 1 dairy cow = 10 pigs; 1 beef cattle = 5 pigs).
    pub fn pig_equivalent(self) -> f64 {
        match self {
            Species::Pig => 1.0,
            Species::Dairy => 10.0,
            Species::Beef => 5.0,
            Species::Layer => 1.0 / 30.0,
            Species::Broiler => 1.0 / 60.0,
        }
    }
}

vocabulary! {
    /// Kinds of key polluting unit (`source_type` in the registry, written as the code).
    SourceType {
        Boiler = "boiler", "锅炉";
        Industrial = "industrial", "工业企业";
        SewagePlant = "sewage-plant", "污水处理厂";
        MswIncinerator = "msw-incinerator", "生活垃圾焚烧厂";
        Hospital = "hospital", "医疗机构";
        LivestockFarm = "livestock-farm", "畜禽养殖场";
        HazardousWaste = "hazardous-waste", "危险废物处置单位";
    }
}

vocabulary! {
    /// Status of a treatment facility in the registry (written as the code).
    FacilityStatus {
        Operating = "operating", "运行";
        Stopped = "stopped", "停运";
        Maintenance = "maintenance", "检修";
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_and_labels_are_unique_and_round_trip() {
        fn check<T: Copy + PartialEq + fmt::Debug>(
            all: &[T],
            code: fn(T) -> &'static str,
            zh: fn(T) -> &'static str,
            from_code: fn(&str) -> Option<T>,
            from_zh: fn(&str) -> Option<T>,
        ) {
            for &t in all {
                assert_eq!(from_code(code(t)), Some(t));
                assert_eq!(from_zh(zh(t)), Some(t));
            }
        }
        check(
            Sector::ALL,
            Sector::code,
            Sector::zh,
            Sector::from_code,
            Sector::from_zh,
        );
        check(
            Fuel::ALL,
            Fuel::code,
            Fuel::zh,
            Fuel::from_code,
            Fuel::from_zh,
        );
        check(
            InspectionMethod::ALL,
            InspectionMethod::code,
            InspectionMethod::zh,
            InspectionMethod::from_code,
            InspectionMethod::from_zh,
        );
        check(
            MswMethod::ALL,
            MswMethod::code,
            MswMethod::zh,
            MswMethod::from_code,
            MswMethod::from_zh,
        );
        check(
            ProductType::ALL,
            ProductType::code,
            ProductType::zh,
            ProductType::from_code,
            ProductType::from_zh,
        );
        check(
            Species::ALL,
            Species::code,
            Species::zh,
            Species::from_code,
            Species::from_zh,
        );
        check(
            SourceType::ALL,
            SourceType::code,
            SourceType::zh,
            SourceType::from_code,
            SourceType::from_zh,
        );
        assert_eq!(Sector::PAIRS.len(), Sector::ALL.len());
        assert_eq!(Sector::from_zh("公交车"), None);
    }

    #[test]
    fn emission_stages_are_read_in_every_spelling_of_the_files() {
        assert_eq!(
            EmissionStage::normalise("国Ⅵb"),
            Some(EmissionStage::China6b)
        );
        assert_eq!(
            EmissionStage::normalise("国VIa"),
            Some(EmissionStage::China6a)
        );
        assert_eq!(
            EmissionStage::normalise(" 国６ "),
            Some(EmissionStage::China6)
        );
        assert_eq!(EmissionStage::normalise("国V"), Some(EmissionStage::China5));
        assert_eq!(EmissionStage::normalise("国Ⅲ"), Some(EmissionStage::China3));
        assert_eq!(
            EmissionStage::normalise("不适用"),
            Some(EmissionStage::NotApplicable)
        );
        assert_eq!(EmissionStage::normalise("欧VI"), None);
        // Every published label reads back as itself.
        for &s in EmissionStage::ALL {
            assert_eq!(EmissionStage::normalise(s.zh()), Some(s));
        }
    }

    #[test]
    fn serde_uses_the_published_codes() {
        assert_eq!(
            serde_json::to_string(&Fuel::NaturalGas).unwrap(),
            "\"natural-gas\""
        );
        let s: SourceType = serde_json::from_str("\"msw-incinerator\"").unwrap();
        assert_eq!(s, SourceType::MswIncinerator);
    }
}
