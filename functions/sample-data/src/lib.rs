//! Sample data (placeholder; being written).
