//! The views.
pub mod breadcrumb;
pub mod chart_view;
pub mod detail;
pub mod function_table;
pub mod thread_select;
pub mod transforms;
pub mod upload;
