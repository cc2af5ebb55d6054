//! One module per route.
pub mod collection;
pub mod compare;
pub mod home;
pub mod profile;
