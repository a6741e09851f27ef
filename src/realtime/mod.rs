//! Real-time chat: the frames of the protocol, the events the chat layer
//! publishes, the hub that fans them out to this node's sockets, and the loop of
//! one socket.

pub mod connection;
pub mod events;
pub mod hub;
pub mod protocol;
pub mod session;
