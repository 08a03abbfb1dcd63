//! Server hooks: a version's hook config, trigger-based runs fed by the change events, and
//! schedule-based runs with their execution history.

pub mod config;
