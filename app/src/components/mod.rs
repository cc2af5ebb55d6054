//! The views.
pub mod function_table;
