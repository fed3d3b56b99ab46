//! REST objects (protocol.md §11, rest.md).
