//! The pages of the site. Each submodule renders one kind of page in both languages from
//! typed view structs; [`shared`] holds what they share (the [`shared::Site`] they read
//! from, the layout every page gets, the views several pages show).

pub mod content;
pub mod corrections;
pub mod datasets;
pub mod districts;
pub mod enterprises;
pub mod exceedances;
pub mod figures;
pub mod home;
pub mod industries;
pub mod map;
pub mod open_days;
pub mod plan;
pub mod query;
pub mod search;
pub mod sectors;
pub mod shared;
pub mod special;
