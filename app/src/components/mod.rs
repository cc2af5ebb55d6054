//! The views.
pub mod breadcrumb;
pub mod detail;
pub mod function_table;
pub mod icicle;
pub mod thread_select;
