//! The sans-IO phone core: every decision of the softphone, with no I/O and no clock of its own.

pub mod view_model;
