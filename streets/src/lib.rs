//! Street geometry, shared by the phone and the server, with no I/O: [`streets`] (the network as
//! a graph: snapping, shortest paths, GeoJSON import, clipping; the door-to-door matrix through
//! a contraction hierarchy), [`route`] (a volunteer's walking order) and [`cut`] (a campaign's
//! turfs along its streets).

pub mod cut;
mod hierarchy;
pub mod route;
pub mod streets;
