//! Street geometry, shared by the phone and the server, with no I/O: [`sources`] (one builder and
//! the walkable-way rules every street file goes through; GeoJSON), [`streets`] (the network as
//! a graph: snapping, shortest paths, clipping; the door-to-door matrix through
//! a contraction hierarchy), [`route`] (a volunteer's walking order), [`misplaced`] (doors whose position cannot be right) and [`cut`] (a campaign's
//! turfs along its streets).

pub mod cut;
mod hierarchy;
pub mod misplaced;
pub mod route;
pub mod sources;
pub mod streets;
