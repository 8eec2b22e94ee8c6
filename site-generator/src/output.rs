//! The files one build produces, keyed by URL path, and the list of pages rendered (for the
//! sitemap). A path can be written once only. Holds values; writes nothing to disk.

use crate::error::SiteError;
use crate::urls::{Route, file_path};
use std::collections::{BTreeMap, BTreeSet};

#[derive(Debug, Default)]
pub struct Output {
    files: BTreeMap<String, Vec<u8>>,
    routes: BTreeSet<Route>,
}

impl Output {
    /// Adds a file at a URL path (`/zh/index.html`).
    pub fn add(&mut self, url: &str, bytes: Vec<u8>) -> Result<(), SiteError> {
        let path = file_path(url).to_string();
        if self.files.contains_key(&path) {
            return Err(SiteError::DuplicatePath(path));
        }
        self.files.insert(path, bytes);
        Ok(())
    }

    /// Records that a route was rendered (in both languages).
    pub fn add_route(&mut self, route: Route) {
        self.routes.insert(route);
    }

    /// The routes rendered, in a stable order.
    pub fn routes(&self) -> impl Iterator<Item = &Route> {
        self.routes.iter()
    }

    /// Adds the files and routes of another build part (a path may still be written once
    /// only).
    pub fn absorb(&mut self, other: Output) -> Result<(), SiteError> {
        for (path, bytes) in other.files {
            if self.files.contains_key(&path) {
                return Err(SiteError::DuplicatePath(path));
            }
            self.files.insert(path, bytes);
        }
        self.routes.extend(other.routes);
        Ok(())
    }

    /// The files, sorted by path.
    pub fn into_files(self) -> Vec<(String, Vec<u8>)> {
        self.files.into_iter().collect()
    }
}
