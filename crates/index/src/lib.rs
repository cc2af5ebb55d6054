//! Index and queries over a [`Profile`]: built once, then answers every view with a small slice.
//!
//! Pure code: no I/O, builds for `wasm32-unknown-unknown`. Queries cannot fail; an unknown id
//! gives `None`.
#![deny(missing_docs)]

use profview_model::{FuncId, Profile};

mod table;

pub use table::{FunctionQuery, FunctionStats, SortKey, SortOrder, TextFilter};

/// An immutable index over one profile.
#[derive(Debug)]
pub struct ProfileIndex {
    profile: Profile,
    funcs: Vec<FunctionStats>,
}

impl ProfileIndex {
    /// Builds the index. Takes ownership so that queries can borrow the profile freely.
    pub fn build(profile: Profile) -> Self {
        let funcs = table::function_stats(&profile);
        ProfileIndex { profile, funcs }
    }

    /// The indexed profile.
    pub fn profile(&self) -> &Profile {
        &self.profile
    }

    /// Aggregates for every function, indexed by [`FuncId`].
    pub fn function_stats(&self) -> &[FunctionStats] {
        &self.funcs
    }

    /// Aggregates of one function.
    pub fn function(&self, id: FuncId) -> Option<&FunctionStats> {
        self.funcs.get(id.idx())
    }

    /// The function table: filter, sort, then page. Returns the number of matching rows and the
    /// ids of the requested page.
    pub fn query_functions(&self, q: &FunctionQuery) -> (usize, Vec<FuncId>) {
        table::query(&self.profile, &self.funcs, q)
    }
}
