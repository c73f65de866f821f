//! The semantic model of the code that every rule, the driver and `init` share.

pub mod cfg;
