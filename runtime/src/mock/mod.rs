//! The mock provider.
